//! One host: status, CPU and memory facts, versions, VM counts by state, maintenance, removal.
use super::list::status_label;
use crate::api::{ApiError, HostDetail, UpdateHost};
use crate::components::layout::{go_to, use_me};
use crate::components::widgets::{fmt_time, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn HostDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let host = Resource::new(id, crate::api::hosts::get_host);
    let me = use_me();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = matches!(me.await, Ok(m) if m.can.manage_hosts);
                match host.await {
                    Ok(d) => view! { <HostView detail=d manage/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn HostView(detail: HostDetail, manage: bool) -> impl IntoView {
    let i18n = use_i18n();
    let h = detail.host.clone();
    let id = h.id;
    let error = RwSignal::new(None::<ApiError>);
    let maintenance = RwSignal::new(h.maintenance);
    let toggle = move |_| {
        let req = UpdateHost {
            maintenance: Some(!maintenance.get_untracked()),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match crate::api::hosts::update_host(id, req).await {
                Ok(h) => maintenance.set(h.maintenance),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let confirm = RwSignal::new(false);
    let remove = move |_| {
        leptos::task::spawn_local(async move {
            match crate::api::hosts::delete_host(id).await {
                Ok(()) => go_to("/hosts"),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let status = h.status;
    view! {
        <p><a href="/hosts">{t!(i18n, "hosts-back")}</a></p>
        <h1 data-testid="host-title">{h.name.clone()}</h1>
        <ErrorBox error/>
        <section class="card">
            <dl class="facts">
                <dt>"URI"</dt><dd><code>{h.uri.clone()}</code></dd>
                <dt>{t!(i18n, "field-status")}</dt><dd data-testid="host-status">{move || status_label(i18n, status)} " · " {fmt_time(h.status_since)}</dd>
                {h.last_error.clone().map(|e| view! { <dt>{t!(i18n, "hosts-last-error")}</dt><dd>{e}</dd> })}
                {detail.node.clone().map(|n| view! {
                    <dt>{t!(i18n, "hosts-hostname")}</dt><dd data-testid="host-hostname">{n.hostname.clone()}</dd>
                    <dt>{t!(i18n, "hosts-cpu")}</dt><dd data-testid="host-cpu">{n.cpu_model.clone()} " · " {t!(i18n, "host-cpu-topology", cpus = n.cpus, sockets = n.sockets, cores = n.cores, threads = n.threads, mhz = n.mhz)}</dd>
                    <dt>{t!(i18n, "hosts-numa")}</dt><dd>{n.numa_cells}</dd>
                    <dt>{t!(i18n, "quota-memory")}</dt><dd data-testid="host-memory">{t!(i18n, "host-memory-free", free = n.memory_free_mib, total = n.memory_total_mib)}</dd>
                    <dt>{t!(i18n, "hosts-versions")}</dt><dd>{format!("{} {} · libvirt {}", n.hypervisor, n.hypervisor_version, n.libvirt_version)}</dd>
                })}
                <dt>{t!(i18n, "nav-vms")}</dt>
                <dd>{detail.vms_by_state.iter().map(|(s, n)| {
                    let (s, n) = (s.clone(), *n);
                    view! { <span class="count">{move || crate::i18n::lookup(i18n.0.get(), &format!("vm-state-{s}"), &s)} ": " {n}</span> " " }
                }).collect_view()}</dd>
            </dl>
        </section>
        <crate::pages::monitoring::HostMonitoringPanel host_id=id/>
        {manage.then(|| view! {
            <section class="card">
                <label class="check"><input type="checkbox" prop:checked=move || maintenance.get() on:change=toggle data-testid="host-maintenance"/>
                    {t!(i18n, "hosts-maintenance-hint")}</label>
            </section>
            <section class="card danger">
                <Show when=move || confirm.get() fallback=move || view! {
                    <button class="btn danger" on:click=move |_| confirm.set(true) data-testid="host-remove">{t!(i18n, "hosts-remove")}</button>
                }>
                    <p>{t!(i18n, "hosts-remove-confirm")}</p>
                    <button class="btn danger" on:click=remove data-testid="host-remove-confirm">{t!(i18n, "hosts-remove")}</button>
                    <button class="btn" on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
                </Show>
            </section>
        })}
    }
}
