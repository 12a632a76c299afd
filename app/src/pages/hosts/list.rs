//! All hosts with live status, and the form that registers one.
use crate::api::{ApiError, CreateHost, Host, HostStatus, StreamEvent};
use crate::components::layout::use_me;
use crate::components::live::use_live_events;
use crate::components::widgets::{fmt_time, ErrorBox, PageError};
use crate::i18n::{use_i18n, I18n};
use crate::t;
use leptos::prelude::*;

pub fn status_label(i18n: I18n, s: HostStatus) -> String {
    let key = match s {
        HostStatus::Online => "host-online",
        HostStatus::Connecting => "host-connecting",
        HostStatus::Offline => "host-offline",
    };
    crate::i18n::lookup(i18n.0.get(), key, key)
}

#[component]
pub fn HostList() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let hosts = Resource::new(move || version.get(), |_| crate::api::hosts::list_hosts());
    let me = use_me();
    view! {
        <h1>{t!(i18n, "hosts-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = matches!(me.await, Ok(m) if m.can.manage_hosts);
                manage.then(|| view! { <AddHost on_added=move || version.update(|v| *v += 1)/> })
            })}
        </Suspense>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match hosts.await {
                    Ok(list) => view! { <HostTable initial=list/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn HostTable(initial: Vec<Host>) -> impl IntoView {
    let i18n = use_i18n();
    let hosts = RwSignal::new(initial);
    use_live_events(move |ev| {
        if let StreamEvent::Host { host } = ev {
            hosts.update(|l| {
                if let Some(h) = l.iter_mut().find(|h| h.id == host.id) {
                    *h = host;
                }
            });
        }
    });
    view! {
        {move || hosts.get().iter().any(|h| h.demo).then(|| view! { <div class="alert" data-testid="demo-banner">{t!(i18n, "hosts-demo-banner")}</div> })}
        <table class="table" data-testid="hosts-table">
            <thead><tr>
                <th>{t!(i18n, "vms-name")}</th><th>"URI"</th><th>{t!(i18n, "field-status")}</th><th>{t!(i18n, "hosts-since")}</th>
                <th>{t!(i18n, "nav-vms")}</th><th>{t!(i18n, "vms-description")}</th>
            </tr></thead>
            <tbody>
                <For each=move || hosts.get() key=|h| (h.id, h.status, h.status_since) let:h>
                    <tr data-testid=format!("host-row-{}", h.name) data-status=format!("{:?}", h.status).to_lowercase()>
                        <td><a href=format!("/hosts/{}", h.id)>{h.name.clone()}</a>
                            {h.maintenance.then(|| view! { " " <span class="badge">{t!(i18n, "hosts-maintenance")}</span> })}</td>
                        <td><code>{h.uri.clone()}</code></td>
                        <td><span class=format!("badge host-{:?}", h.status).to_lowercase()>{move || status_label(i18n, h.status)}</span>
                            {h.last_error.clone().map(|e| view! { <div class="muted small">{e}</div> })}</td>
                        <td class="nowrap">{fmt_time(h.status_since)}</td>
                        <td class="num">{h.vm_count}</td>
                        <td>{h.description.clone()}</td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn AddHost(on_added: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    let uri = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let req = CreateHost {
            name: name.get_untracked(),
            uri: uri.get_untracked(),
            description: description.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match crate::api::hosts::create_host(req).await {
                Ok(_) => {
                    error.set(None);
                    name.set(String::new());
                    uri.set(String::new());
                    description.set(String::new());
                    on_added();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card form" on:submit=submit data-testid="add-host">
            <h2>{t!(i18n, "hosts-add")}</h2>
            <div class="grid3">
                <label>{t!(i18n, "vms-name")}<input required maxlength="64" bind:value=name data-testid="host-name"/></label>
                <label>"URI"<input required placeholder="qemu+tcp://10.0.0.2/system" bind:value=uri data-testid="host-uri"/></label>
                <label>{t!(i18n, "vms-description")}<input maxlength="1000" bind:value=description/></label>
            </div>
            <ErrorBox error/>
            <div class="actions"><button class="btn primary" type="submit" disabled=move || busy.get() data-testid="host-add">
                {move || if busy.get() { crate::tr!(i18n, "hosts-connecting-wait") } else { crate::tr!(i18n, "hosts-add") }}
            </button></div>
        </form>
    }
}
