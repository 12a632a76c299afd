//! One VM: live state, actions (with force off when the guest ignores a shutdown), facts, disks and NICs,
//! edit, delete, the domain XML and the VM's history. Every panel reads one signal that is refreshed from the
//! server on every event about the VM and after every change, so nothing shown is stale.
use super::actions::{ActionBar, StateBadge};
use super::delete::DeleteSection;
use super::edit::EditForm;
use crate::api::{ApiError, Capabilities, StreamEvent, VmAction, VmDetail};
use crate::components::layout::use_me;
use crate::components::live::use_live_events;
use crate::components::widgets::{fmt_time, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn VmDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let vm = Resource::new(id, crate::api::vms::get_vm);
    let me = use_me();
    let isos = Resource::new(
        || (),
        |_| {
            crate::api::images::list_images(crate::api::ImageQuery {
                kind: Some("iso".into()),
                ..Default::default()
            })
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let me = me.await.ok();
                let can = me.as_ref().map(|m| m.can.clone()).unwrap_or_default();
                let is_admin = me.as_ref().is_some_and(|m| m.user.role == crate::api::Role::Admin);
                let my_name = me.map(|m| m.user.username).unwrap_or_default();
                match vm.await {
                    Ok(d) => view! { <VmView detail=d can isos is_admin my_name/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> <p><a href="/vms">{t!(use_i18n(), "vms-back")}</a></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Seconds as "2 h 5 min 7 s" (days when there are any), in the UI's language.
fn uptime_text(i18n: crate::i18n::I18n, secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let args = [
        ("d", d.to_string()),
        ("h", h.to_string()),
        ("m", m.to_string()),
        ("s", s.to_string()),
    ];
    let key = if d > 0 { "vm-uptime-days" } else { "vm-uptime-hours" };
    crate::i18n::lookup_args(i18n.0.get(), key, &args)
}

/// What a history entry says, in words (libvirt events and Hangar's own audit names alike).
fn event_text(i18n: crate::i18n::I18n, kind: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("vm-event-{}", kind.replace('.', "-")), kind)
}

#[component]
fn VmView(
    detail: VmDetail,
    can: Capabilities,
    isos: Resource<Result<Vec<crate::api::Image>, ApiError>>,
    is_admin: bool,
    my_name: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = detail.vm.id.clone();
    let detail = RwSignal::new(detail);
    let error = RwSignal::new(None::<ApiError>);
    let shutting_down = RwSignal::new(false);
    let removed = RwSignal::new(false);
    // Seconds since the detail was read, so the uptime counts on between refreshes.
    let since = RwSignal::new(0u64);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(h) = set_interval_with_handle(move || since.update(|s| *s += 1), std::time::Duration::from_secs(1)) {
            on_cleanup(move || h.clear());
        }
    }
    let refresh = {
        let id = id.clone();
        move || {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                // The page may have been left meanwhile: then there is nothing to update.
                if let Ok(d) = crate::api::vms::get_vm(id).await {
                    if !d.vm.state.is_up() {
                        shutting_down.try_set(false);
                    }
                    since.try_set(0);
                    detail.try_set(d);
                }
            });
        }
    };
    let task_feed = RwSignal::new(None::<crate::api::Task>);
    {
        let (id, refresh) = (id.clone(), refresh.clone());
        use_live_events(move |ev| match ev {
            StreamEvent::Task { task } => task_feed.set(Some(task)),
            StreamEvent::Vm { vm, .. } if vm.id == id => refresh(),
            StreamEvent::VmRemoved { id: gone, .. } if gone == id => removed.set(true),
            _ => {}
        });
    }
    let state = Signal::derive(move || detail.with(|d| d.vm.state));
    let on_done = {
        let refresh = refresh.clone();
        Callback::new(move |(a, r): (VmAction, Result<crate::api::Vm, ApiError>)| match r {
            Ok(vm) => {
                error.set(None);
                shutting_down.set(a == VmAction::Shutdown && vm.state.is_up());
                detail.update(|d| d.vm.state = vm.state);
                refresh();
            }
            Err(e) => {
                shutting_down.set(false);
                error.set(Some(e));
                refresh();
            }
        })
    };
    // Whoever sees the VM and may operate VMs may act on this one (a `user` sees only their own).
    let can_act = can.operate_vms;
    let can_assign = can.assign_vms;
    let force_off = {
        let id = id.clone();
        move || {
            view! {
                <div class="alert" data-testid="force-off-offer">
                    {t!(i18n, "vm-shutting-down")} " "
                    <ActionBar id=id.clone() state actions=vec![VmAction::Poweroff] on_done small=true/>
                </div>
            }
        }
    };
    let d = move || detail.get();
    let (id_install, id_devices, id_clone) = (id.clone(), id.clone(), id.clone());
    let refresh_install = refresh.clone();
    view! {
        <p><a href="/vms">{t!(i18n, "vms-back")}</a></p>
        <h1 data-testid="vm-title" class="wrap">{move || d().vm.name} " " <StateBadge state/></h1>
        <Show when=move || removed.get()>
            <div class="alert" data-testid="vm-removed">{t!(i18n, "vm-removed")}</div>
        </Show>
        <ErrorBox error/>
        {can_act.then(|| view! {
            <div class="toolbar" class:hidden=move || removed.get()>
                <ActionBar id=id.clone() state actions=VmAction::ALL.to_vec() on_done/>
            </div>
            <Show when=move || shutting_down.get() && state.get().is_up()>{force_off.clone()}</Show>
        })}
        {can_act.then(|| view! {
            <super::console::ConsolePanel id=id.clone() is_admin my_name=my_name.clone()/>
        })}
        <crate::pages::monitoring::VmMonitoringPanel vm_id=id.clone()/>
        {can.edit_vms.then(|| view! {
            <super::devices::InstallBanner id=id_install detail error on_change=Callback::new(move |_| refresh_install())/>
        })}
        <Facts detail since/>
        <Hardware detail/>
        <super::devices::CloudInitPanel detail/>
        {can.edit_vms.then(|| view! {
            <Show when=move || !removed.get()>
                <super::devices::DevicesPanel id=id_devices.clone() detail isos on_change=Callback::new(move |d| detail.set(d))/>
                <super::devices::ClonePasswordPanel id=id_clone.clone() detail tasks=task_feed/>
            </Show>
        })}
        {can_act.then(|| view! {
            <Show when=move || !removed.get()>
                <EditForm detail can_assign on_saved=Callback::new({ let refresh = refresh.clone(); move |_| { since.set(0); refresh(); } })/>
            </Show>
            <DeleteSection id=id.clone() on_deleted=Callback::new(move |_| removed.set(true))/>
        })}
        <History detail/>
        <XmlPanel id=id.clone() error/>
    }
}

/// Host, owner, uptime (counting on between refreshes), resources and the rest of what the VM is.
#[component]
fn Facts(detail: RwSignal<VmDetail>, since: RwSignal<u64>) -> impl IntoView {
    let i18n = use_i18n();
    let d = move || detail.get();
    view! {
        <section class="card">
            <dl class="facts">
                <dt>{t!(i18n, "vms-host")}</dt><dd>{move || d().vm.host_name}</dd>
                <dt>{t!(i18n, "vms-owner")}</dt><dd data-testid="vm-owner">{move || d().vm.owner.unwrap_or_else(|| "—".into())}</dd>
                <dt>{t!(i18n, "vms-uptime")}</dt>
                <dd data-testid="vm-uptime">{move || d().uptime_seconds.map(|s| uptime_text(i18n, s + since.get())).unwrap_or_else(|| "—".into())}</dd>
                <dt>{t!(i18n, "quota-vcpus")}</dt><dd data-testid="vm-vcpus">{move || format!("{} / {}", d().vm.vcpus, d().max_vcpus)}</dd>
                <dt>{t!(i18n, "quota-memory")}</dt><dd data-testid="vm-memory">{move || format!("{} / {} MiB", d().vm.memory_mib, d().max_memory_mib)}</dd>
                <dt>{t!(i18n, "vms-autostart")}</dt><dd>{move || if d().autostart { "✓" } else { "—" }}</dd>
                <dt>{t!(i18n, "vms-boot-order")}</dt><dd>{move || d().boot_order.join(", ")}</dd>
                <dt>{t!(i18n, "vms-graphics")}</dt><dd data-testid="vm-graphics">{move || d().graphics.join(", ")}</dd>
                <dt>{t!(i18n, "vms-ips")}</dt><dd>{move || d().vm.ips.join(", ")}</dd>
                <dt>{t!(i18n, "vms-tags")}</dt><dd data-testid="vm-tags">{move || d().vm.tags.into_iter().map(|t| view! { <span class="tag">{t}</span> }).collect_view()}</dd>
                <dt>{t!(i18n, "vms-description")}</dt><dd data-testid="vm-description" class="wrap">{move || d().description}</dd>
            </dl>
        </section>
    }
    .into_any()
}

/// Disks and network interfaces.
#[component]
fn Hardware(detail: RwSignal<VmDetail>) -> impl IntoView {
    let i18n = use_i18n();
    let d = move || detail.get();
    view! {
        <section class="card">
            <h2>{t!(i18n, "vms-disks")}</h2>
            <table class="table">
                <thead><tr><th>{t!(i18n, "vms-target")}</th><th>{t!(i18n, "vms-path")}</th><th>{t!(i18n, "vms-pool")}</th><th>{t!(i18n, "vms-format")}</th><th>{t!(i18n, "vms-capacity")}</th><th>{t!(i18n, "vms-allocation")}</th></tr></thead>
                <tbody>{move || d().disks.into_iter().map(|k| view! {
                    <tr><td>{k.target.clone()} " (" {let dev = k.device.clone(); move || crate::i18n::lookup(i18n.0.get(), &format!("vm-device-{dev}"), &dev)} ")"</td><td class="wrap"><code>{k.path.unwrap_or_default()}</code></td><td>{k.pool.unwrap_or_default()}</td>
                    <td>{k.format.unwrap_or_default()}</td><td>{k.capacity_bytes.map(|b| format!("{:.1} GiB", b as f64 / 1073741824.0)).unwrap_or_default()}</td>
                    <td>{k.allocation_bytes.map(|b| format!("{:.1} GiB", b as f64 / 1073741824.0)).unwrap_or_default()}</td></tr>
                }).collect_view()}</tbody>
            </table>
            <h2>{t!(i18n, "vms-nics")}</h2>
            <table class="table">
                <thead><tr><th>"MAC"</th><th>{t!(i18n, "vms-network")}</th><th>{t!(i18n, "vms-model")}</th></tr></thead>
                <tbody>{move || d().nics.into_iter().map(|n| view! {
                    <tr><td><code>{n.mac.unwrap_or_default()}</code></td><td>{n.source}</td><td>{n.model.unwrap_or_default()}</td></tr>
                }).collect_view()}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// What happened to the VM: libvirt's events and Hangar's audit records, newest first, in words.
#[component]
fn History(detail: RwSignal<VmDetail>) -> impl IntoView {
    let i18n = use_i18n();
    let d = move || detail.get();
    view! {
        <section class="card">
            <h2>{t!(i18n, "vms-history")}</h2>
            <table class="table" data-testid="vm-history">
                <tbody>{move || d().events.into_iter().map(|e| {
                    let kind = e.kind.clone();
                    view! {
                        <tr data-kind=e.kind.clone()><td class="nowrap">{fmt_time(e.at)}</td><td>{move || event_text(i18n, &kind)}</td>
                        <td>{e.actor.unwrap_or_default()}</td><td>{move || crate::i18n::lookup(i18n.0.get(), &format!("audit-result-{}", e.detail), &e.detail)}</td></tr>
                    }
                }).collect_view()}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// The domain XML, read on request.
#[component]
fn XmlPanel(id: String, error: RwSignal<Option<ApiError>>) -> impl IntoView {
    let i18n = use_i18n();
    let xml = RwSignal::new(None::<String>);
    let show_xml = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match crate::api::vms::vm_xml(id).await {
                    Ok(x) => xml.set(Some(x)),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    view! {
        <section class="card">
            <button class="btn" on:click=show_xml data-testid="vm-show-xml">{t!(i18n, "vms-show-xml")}</button>
            {move || xml.get().map(|x| view! { <pre class="xml" data-testid="vm-xml">{x}</pre> })}
        </section>
    }
    .into_any()
}
