//! One VM: live state, actions (with force off when the guest ignores a shutdown), facts, edit, owner,
//! delete, the domain XML and the VM's history.
use super::actions::{action_label, actions_for, run_action, StateBadge};
use crate::api::{client, ApiError, Role, StreamEvent, UpdateVm, VmDeleted, VmDetail};
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
    let vm = Resource::new(id, client::get_vm);
    let me = use_me();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.user.role).unwrap_or(Role::User);
                match vm.await {
                    Ok(d) => view! { <VmView detail=d role/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn VmView(detail: VmDetail, role: Role) -> impl IntoView {
    let i18n = use_i18n();
    let id = detail.vm.id.clone();
    let state = RwSignal::new(detail.vm.state.clone());
    let error = RwSignal::new(None::<ApiError>);
    let shutting_down = RwSignal::new(false);
    let saved = RwSignal::new(false);
    {
        let id = id.clone();
        use_live_events(move |ev| {
            if let StreamEvent::Vm { vm, .. } = ev {
                if vm.id == id {
                    if vm.state != "running" {
                        shutting_down.set(false);
                    }
                    state.set(vm.state);
                }
            }
        });
    }
    let act = {
        let id = id.clone();
        move |a: &'static str| {
            if a == "shutdown" {
                shutting_down.set(true);
            }
            run_action(id.clone(), a, move |r| match r {
                Ok(v) => {
                    error.set(None);
                    state.set(v.state);
                }
                Err(e) => {
                    shutting_down.set(false);
                    error.set(Some(e));
                }
            });
        }
    };
    let d = detail.clone();
    let name = RwSignal::new(d.vm.name.clone());
    let description = RwSignal::new(d.description.clone());
    let tags = RwSignal::new(d.vm.tags.join(", "));
    let autostart = RwSignal::new(d.autostart);
    let vcpus = RwSignal::new(d.vm.vcpus.to_string());
    let max_vcpus = RwSignal::new(d.max_vcpus.to_string());
    let memory = RwSignal::new(d.vm.memory_mib.to_string());
    let max_memory = RwSignal::new(d.max_memory_mib.to_string());
    let owner = RwSignal::new(d.vm.owner_id.map(|o| o.to_string()).unwrap_or_default());
    let save = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let num = |s: RwSignal<String>| s.get_untracked().trim().parse::<i64>().ok();
            let before = d.clone();
            let changed = |new: Option<i64>, old: i64| new.filter(|n| *n != old);
            let req = UpdateVm {
                name: Some(name.get_untracked()).filter(|n| *n != before.vm.name),
                description: Some(description.get_untracked()).filter(|x| *x != before.description),
                tags: Some(
                    tags.get_untracked()
                        .split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect(),
                ),
                autostart: Some(autostart.get_untracked()).filter(|a| *a != before.autostart),
                vcpus: changed(num(vcpus), before.vm.vcpus),
                max_vcpus: changed(num(max_vcpus), before.max_vcpus),
                memory_mib: changed(num(memory), before.vm.memory_mib),
                max_memory_mib: changed(num(max_memory), before.max_memory_mib),
                owner_id: if role == Role::Admin {
                    changed(num(owner).or(Some(0)), before.vm.owner_id.unwrap_or(0))
                } else {
                    None
                },
            };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match client::update_vm(id, req).await {
                    Ok(_) => {
                        error.set(None);
                        saved.set(true);
                    }
                    Err(e) => {
                        saved.set(false);
                        error.set(Some(e));
                    }
                }
            });
        }
    };
    let confirm_delete = RwSignal::new(false);
    let with_disks = RwSignal::new(false);
    let deleted = RwSignal::new(None::<VmDeleted>);
    let delete = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match client::delete_vm(id, with_disks.get_untracked()).await {
                    Ok(report) => deleted.set(Some(report)),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let xml = RwSignal::new(None::<String>);
    let show_xml = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match client::vm_xml(id).await {
                    Ok(x) => xml.set(Some(x)),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let can_act = role != Role::Auditor;
    let act_buttons = act.clone();
    view! {
        <p><a href="/vms">{t!(i18n, "vms-back")}</a></p>
        <h1 data-testid="vm-title">{detail.vm.name.clone()} " " <StateBadge state=state.into()/></h1>
        <ErrorBox error/>
        {move || deleted.get().map(|r| view! { <DeleteReport report=r/> })}
        {can_act.then(|| view! {
            <div class="toolbar" data-testid="vm-actions">
                {move || actions_for(&state.get()).iter().map(|&a| {
                    let act = act_buttons.clone();
                    view! { <button class="btn" data-testid=format!("action-{a}") on:click=move |_| act(a)>{move || action_label(i18n, a)}</button> }
                }).collect_view()}
            </div>
            <Show when=move || shutting_down.get() && state.get() == "running">
                <div class="alert" data-testid="force-off-offer">
                    {t!(i18n, "vm-shutting-down")} " "
                    <button class="btn danger" data-testid="force-off" on:click={let act = act.clone(); move |_| act("poweroff")}>
                        {t!(i18n, "vm-force-off")}
                    </button>
                </div>
            </Show>
        })}
        <section class="card">
            <dl class="facts">
                <dt>{t!(i18n, "vms-host")}</dt><dd>{detail.vm.host_name.clone()}</dd>
                <dt>{t!(i18n, "vms-owner")}</dt><dd data-testid="vm-owner">{detail.vm.owner.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>{t!(i18n, "vms-uptime")}</dt><dd>{detail.uptime_seconds.map(|s| format!("{}h {}m {}s", s / 3600, s / 60 % 60, s % 60)).unwrap_or_else(|| "—".into())}</dd>
                <dt>{t!(i18n, "quota-vcpus")}</dt><dd>{format!("{} / {}", detail.vm.vcpus, detail.max_vcpus)}</dd>
                <dt>{t!(i18n, "quota-memory")}</dt><dd>{format!("{} / {} MiB", detail.vm.memory_mib, detail.max_memory_mib)}</dd>
                <dt>{t!(i18n, "vms-autostart")}</dt><dd>{if detail.autostart { "✓" } else { "—" }}</dd>
                <dt>{t!(i18n, "vms-boot-order")}</dt><dd>{detail.boot_order.join(", ")}</dd>
                <dt>{t!(i18n, "vms-graphics")}</dt><dd>{detail.graphics.join(", ")}</dd>
                <dt>{t!(i18n, "vms-description")}</dt><dd data-testid="vm-description">{detail.description.clone()}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>{t!(i18n, "vms-disks")}</h2>
            <table class="table">
                <thead><tr><th>{t!(i18n, "vms-target")}</th><th>{t!(i18n, "vms-path")}</th><th>{t!(i18n, "vms-pool")}</th><th>{t!(i18n, "vms-format")}</th><th>{t!(i18n, "vms-capacity")}</th><th>{t!(i18n, "vms-allocation")}</th></tr></thead>
                <tbody>{detail.disks.iter().map(|k| view! {
                    <tr><td>{format!("{} ({})", k.target, k.device)}</td><td><code>{k.path.clone().unwrap_or_default()}</code></td><td>{k.pool.clone().unwrap_or_default()}</td>
                    <td>{k.format.clone().unwrap_or_default()}</td><td>{k.capacity_bytes.map(|b| format!("{:.1} GiB", b as f64 / 1073741824.0)).unwrap_or_default()}</td>
                    <td>{k.allocation_bytes.map(|b| format!("{:.1} GiB", b as f64 / 1073741824.0)).unwrap_or_default()}</td></tr>
                }).collect_view()}</tbody>
            </table>
            <h2>{t!(i18n, "vms-nics")}</h2>
            <table class="table">
                <thead><tr><th>"MAC"</th><th>{t!(i18n, "vms-network")}</th><th>{t!(i18n, "vms-model")}</th></tr></thead>
                <tbody>{detail.nics.iter().map(|n| view! {
                    <tr><td><code>{n.mac.clone().unwrap_or_default()}</code></td><td>{n.source.clone()}</td><td>{n.model.clone().unwrap_or_default()}</td></tr>
                }).collect_view()}</tbody>
            </table>
        </section>
        {can_act.then(|| view! {
            <form class="card form" on:submit=save data-testid="vm-edit">
                <h2>{t!(i18n, "vms-edit")}</h2>
                <div class="grid3">
                    <label>{t!(i18n, "vms-name")}<input bind:value=name data-testid="vm-edit-name"/></label>
                    <label>{t!(i18n, "vms-tags")}<input bind:value=tags placeholder="web, prod" data-testid="vm-edit-tags"/></label>
                    {(role == Role::Admin).then(|| view! { <label>{t!(i18n, "vms-owner-id")}<input bind:value=owner data-testid="vm-edit-owner"/></label> })}
                </div>
                <label>{t!(i18n, "vms-description")}<textarea prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) data-testid="vm-edit-description"></textarea></label>
                <div class="grid4">
                    <label>{t!(i18n, "vms-vcpus-current")}<input type="number" min="1" bind:value=vcpus/></label>
                    <label>{t!(i18n, "vms-vcpus-max")}<input type="number" min="1" bind:value=max_vcpus/></label>
                    <label>{t!(i18n, "vms-memory-current")}<input type="number" min="16" bind:value=memory/></label>
                    <label>{t!(i18n, "vms-memory-max")}<input type="number" min="16" bind:value=max_memory/></label>
                </div>
                <label class="check"><input type="checkbox" bind:checked=autostart/>{t!(i18n, "vms-autostart")}</label>
                <Show when=move || saved.get()><div class="alert ok" data-testid="vm-saved">{t!(i18n, "saved")}</div></Show>
                <div class="actions"><button class="btn primary" type="submit" data-testid="vm-save">{t!(i18n, "action-save")}</button></div>
            </form>
            <section class="card danger">
                <h2>{t!(i18n, "vms-delete")}</h2>
                <Show when=move || confirm_delete.get() fallback=move || view! {
                    <button class="btn danger" data-testid="vm-delete" on:click=move |_| confirm_delete.set(true)>{t!(i18n, "vms-delete")}</button>
                }>
                    <p>{t!(i18n, "vms-delete-confirm")}</p>
                    <label class="check"><input type="checkbox" bind:checked=with_disks data-testid="vm-delete-disks"/>{t!(i18n, "vms-delete-disks")}</label>
                    <button class="btn danger" data-testid="vm-delete-confirm" on:click=delete.clone()>{t!(i18n, "action-delete")}</button>
                    <button class="btn" on:click=move |_| confirm_delete.set(false)>{t!(i18n, "action-cancel")}</button>
                </Show>
            </section>
        })}
        <section class="card">
            <h2>{t!(i18n, "vms-history")}</h2>
            <table class="table" data-testid="vm-history">
                <tbody>{detail.events.iter().map(|e| view! {
                    <tr><td class="nowrap">{fmt_time(e.at)}</td><td><code>{e.kind.clone()}</code></td><td>{e.actor.clone().unwrap_or_default()}</td><td>{e.detail.clone()}</td></tr>
                }).collect_view()}</tbody>
            </table>
        </section>
        <section class="card">
            <button class="btn" on:click=show_xml data-testid="vm-show-xml">{t!(i18n, "vms-show-xml")}</button>
            {move || xml.get().map(|x| view! { <pre class="xml" data-testid="vm-xml">{x}</pre> })}
        </section>
    }
}

/// What deleting the VM did with each disk: deleted, or kept and why.
#[component]
fn DeleteReport(report: VmDeleted) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" data-testid="vm-deleted-report">
            <div class="alert ok">{t!(i18n, "vms-deleted")}</div>
            <ul class="disk-report">
                {report.disks_deleted.into_iter().map(|p| view! {
                    <li data-testid="disk-deleted"><code>{p}</code> " " {t!(i18n, "vms-disk-deleted")}</li>
                }).collect_view()}
                {report.disks_kept.into_iter().map(|k| {
                    let reason = k.reason.clone();
                    view! {
                        <li data-testid="disk-kept"><code>{k.path}</code> " " {move || kept_reason(i18n, &reason)}</li>
                    }
                }).collect_view()}
            </ul>
            <p><a class="btn" href="/vms" data-testid="vm-deleted-back">{t!(i18n, "vms-back")}</a></p>
        </section>
    }
}

fn kept_reason(i18n: crate::i18n::I18n, reason: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("vms-disk-kept-{reason}"), reason)
}
