//! All VMs the user may see, across hosts: filters in the address (applied as you type), sortable columns,
//! paging, live state, and batch actions on the selected rows.
use super::actions::{action_label, ActionBar, StateBadge};
use crate::api::{client, ApiError, BatchItem, BatchRequest, StreamEvent, Vm, VmAction, VmQuery, VmState};
use crate::components::live::use_live_events;
use crate::components::widgets::{ErrorBox, PageError, Pager};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use std::collections::BTreeSet;

fn query_from_url() -> Memo<VmQuery> {
    let q = use_query_map();
    Memo::new(move |_| {
        let q = q.read();
        let s = |k: &str| q.get(k).filter(|v| !v.is_empty());
        VmQuery {
            state: s("state"),
            host: s("host").and_then(|h| h.parse().ok()),
            owner: s("owner"),
            tag: s("tag"),
            q: s("q"),
            sort: s("sort"),
            page: s("page").and_then(|p| p.parse().ok()),
            per_page: Some(50),
        }
    })
}

fn link(q: &VmQuery) -> String {
    let mut q = q.clone();
    q.per_page = None;
    format!("/vms{}", client::query_string(&q))
}

#[component]
pub fn VmList() -> impl IntoView {
    let i18n = use_i18n();
    let query = query_from_url();
    let me = crate::components::layout::use_me();
    let page = Resource::new(move || query.get(), crate::api::vms::list_vms);
    // Users may not list hosts: for them the host filter is simply absent.
    let hosts = Resource::new(|| (), |_| crate::api::hosts::list_hosts());
    let v = move |f: fn(&VmQuery) -> Option<String>| move || f(&query.get_untracked()).unwrap_or_default();
    let state = move || query.get().state.unwrap_or_default();
    // Filters apply as you type: the address changes (replacing the entry, so Back leaves the page) and the
    // list follows it. Typing fast sends only the latest.
    let navigate = use_navigate();
    let typed = RwSignal::new(0u64);
    // Every edit builds on the previous ones, even before the address has caught up with them.
    let pending = RwSignal::new(query.get_untracked());
    Effect::new(move |_| pending.set(query.get()));
    let apply = move |set: fn(&mut VmQuery, Option<String>), value: String| {
        let mut q = pending.get_untracked();
        set(&mut q, Some(value).filter(|v| !v.trim().is_empty()));
        q.page = None;
        pending.set(q.clone());
        let nav = navigate.clone();
        typed.update(|n| *n += 1);
        let mine = typed.get_untracked();
        leptos::task::spawn_local(async move {
            #[cfg(feature = "hydrate")]
            crate::components::widgets::sleep_ms(250).await;
            if typed.try_get_untracked() == Some(mine) {
                nav(
                    &link(&q),
                    leptos_router::NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                );
            }
        });
    };
    let on = move |set: fn(&mut VmQuery, Option<String>)| {
        let apply = apply.clone();
        move |ev: leptos::ev::Event| apply(set, event_target_value(&ev))
    };
    let on_host = on.clone();
    view! {
        <h1>{t!(i18n, "vms-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let can = me.await.map(|m| m.can.create_vms).unwrap_or(false);
                can.then(|| view! { <p><a class="btn primary" href="/vms/new" data-testid="vm-create">{t!(i18n, "create-title")}</a></p> })
            })}
        </Suspense>
        <form class="card filters" method="get" action="/vms" data-testid="vm-filters">
            <label>{t!(i18n, "vms-search")}<input name="q" prop:value=v(|q| q.q.clone()) on:input=on(|q, v| q.q = v) data-testid="vm-search"/></label>
            <label>{t!(i18n, "vms-state")}
                <select name="state" data-testid="vm-filter-state" on:change=on(|q, v| q.state = v)>
                    <option value="" selected=move || state().is_empty()>{t!(i18n, "audit-any")}</option>
                    {VmState::ALL.into_iter().map(|s| s.as_str()).map(|s| view! {
                        <option value=s selected=move || state() == s>{move || crate::i18n::lookup(i18n.0.get(), &format!("vm-state-{s}"), s)}</option>
                    }).collect_view()}
                </select>
            </label>
            <Suspense fallback=|| ()>
                {move || { let on = on_host.clone(); Suspend::new(async move {
                    let selected = query.get_untracked().host;
                    hosts.await.ok().map(|list| view! {
                        <label>{t!(i18n, "vms-host")}
                            <select name="host" data-testid="vm-filter-host" on:change=on(|q, v| q.host = v.and_then(|h| h.parse().ok()))>
                                <option value="" selected=selected.is_none()>{t!(i18n, "audit-any")}</option>
                                {list.into_iter().map(|h| view! {
                                    <option value=h.id.to_string() selected=selected == Some(h.id)>{h.name}</option>
                                }).collect_view()}
                            </select>
                        </label>
                    })
                })}}
            </Suspense>
            <label>{t!(i18n, "vms-tag")}<input name="tag" prop:value=v(|q| q.tag.clone()) on:input=on(|q, v| q.tag = v) data-testid="vm-filter-tag"/></label>
            <label>{t!(i18n, "vms-owner")}<input name="owner" placeholder=move || crate::i18n::lookup(i18n.0.get(), "vm-owner-filter-placeholder", "") prop:value=v(|q| q.owner.clone()) on:input=on(|q, v| q.owner = v) data-testid="vm-filter-owner"/></label>
            <input type="hidden" name="sort" prop:value=v(|q| q.sort.clone())/>
            <div class="actions"><button class="btn primary" type="submit">{t!(i18n, "action-filter")}</button></div>
        </form>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let q = query.get_untracked();
                        let at = {
                            let q = q.clone();
                            move |n: i64| { let mut q = q.clone(); q.page = Some(n); link(&q) }
                        };
                        view! {
                            <VmTable initial=p.items query=q/>
                            <Pager page=p.page per_page=p.per_page total=p.total link=at/>
                        }.into_any()
                    }
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn VmTable(initial: Vec<Vm>, query: VmQuery) -> impl IntoView {
    let i18n = use_i18n();
    let vms = RwSignal::new(initial);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let error = RwSignal::new(None::<ApiError>);
    let results = RwSignal::new(Vec::<BatchItem>::new());
    let confirm_delete = RwSignal::new(false);
    use_live_events(move |ev| match ev {
        StreamEvent::Vm { vm, .. } => vms.update(|list| {
            if let Some(row) = list.iter_mut().find(|r| r.id == vm.id) {
                *row = vm;
            }
        }),
        StreamEvent::VmRemoved { id, .. } => {
            vms.update(|list| list.retain(|r| r.id != id));
            selected.update(|s| {
                s.remove(&id);
            });
        }
        StreamEvent::Host { .. } | StreamEvent::Task { .. } => {}
    });
    let sort_link = move |key: &'static str| {
        let mut q = query.clone();
        q.sort = Some(if q.sort.as_deref() == Some(key) {
            format!("-{key}")
        } else {
            key.to_string()
        });
        q.page = None;
        link(&q)
    };
    let running = RwSignal::new(false);
    let confirm_poweroff = RwSignal::new(false);
    let batch = move |action: &'static str| {
        confirm_poweroff.set(false);
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        if ids.is_empty() {
            return;
        }
        confirm_delete.set(false);
        running.set(true);
        let req = BatchRequest {
            action: action.into(),
            ids,
            delete_disks: false,
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::vms::vm_batch(req).await;
            if running.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(items) => {
                    error.set(None);
                    results.set(items);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let header = move |key: &'static str, label: &'static str| {
        view! { <th><a href=sort_link(key)>{move || crate::i18n::lookup(i18n.0.get(), label, label)}</a></th> }
    };
    view! {
        <div class="toolbar" data-testid="batch-bar">
            <span class="muted">{move || crate::tr!(i18n, "vms-selected", n = selected.get().len())}</span>
            {[VmAction::Start, VmAction::Shutdown, VmAction::Reboot].into_iter().map(|a| view! {
                <button class="btn" disabled=move || selected.get().is_empty() || running.get() data-testid=format!("batch-{}", a.as_str()) on:click=move |_| batch(a.as_str())>
                    {move || action_label(i18n, a)}
                </button>
            }).collect_view()}
            // Forcing off loses the guests' unsaved work: asked first, as for one VM.
            <Show when=move || confirm_poweroff.get() fallback=move || view! {
                <button class="btn danger" disabled=move || selected.get().is_empty() || running.get() data-testid="batch-poweroff" on:click=move |_| confirm_poweroff.set(true)>
                    {move || action_label(i18n, VmAction::Poweroff)}
                </button>
            }>
                <span class="confirm">
                    {t!(i18n, "vm-batch-poweroff-confirm")} " "
                    <button class="btn small danger" data-testid="batch-poweroff-confirm" on:click=move |_| batch("poweroff")>{move || action_label(i18n, VmAction::Poweroff)}</button>
                    <button class="btn small" on:click=move |_| confirm_poweroff.set(false)>{t!(i18n, "action-cancel")}</button>
                </span>
            </Show>
            <Show when=move || running.get()>
                <span class="working" data-testid="batch-working"><span class="spinner"></span>{t!(i18n, "vm-batch-working")}</span>
            </Show>
            <Show when=move || confirm_delete.get() fallback=move || view! {
                <button class="btn danger" disabled=move || selected.get().is_empty() || running.get() data-testid="batch-delete" on:click=move |_| confirm_delete.set(true)>
                    {t!(i18n, "action-delete")}
                </button>
            }>
                <span>{t!(i18n, "vms-batch-delete-confirm")}</span>
                <button class="btn danger" data-testid="batch-delete-confirm" on:click=move |_| batch("delete")>{t!(i18n, "action-delete")}</button>
                <button class="btn" on:click=move |_| confirm_delete.set(false)>{t!(i18n, "action-cancel")}</button>
            </Show>
        </div>
        <ErrorBox error/>
        <Show when=move || !results.get().is_empty()>
            <ul class="card batch-results" data-testid="batch-results">
                {move || results.get().into_iter().map(|r| {
                    let text = match (&r.error, r.state) {
                        (None, Some(s)) => format!(
                            "{} ({})",
                            crate::i18n::lookup(i18n.0.get(), "result-ok", "OK"),
                            crate::i18n::lookup(i18n.0.get(), &format!("vm-state-{}", s.as_str()), s.as_str())
                        ),
                        (None, None) => crate::i18n::lookup(i18n.0.get(), "result-ok", "OK"),
                        (Some(e), _) => i18n.error(e),
                    };
                    // Named by name: from the answer, else from the rows shown; by id only when neither knows it.
                    let who = r.name.clone()
                        .or_else(|| vms.with_untracked(|l| l.iter().find(|v| v.id == r.id).map(|v| v.name.clone())))
                        .unwrap_or_else(|| r.id.clone());
                    view! { <li data-ok=r.ok.to_string()><strong>{who}</strong>" — "{text}</li> }
                }).collect_view()}
            </ul>
        </Show>
        <table class="table" data-testid="vms-table">
            <thead>
                <tr>
                    <th><input type="checkbox" aria-label="all" data-testid="vm-select-all"
                        prop:checked=move || { let (all, sel) = (vms.get(), selected.get()); !all.is_empty() && all.iter().all(|v| sel.contains(&v.id)) }
                        on:change=move |ev| {
                        let all = event_target_checked(&ev);
                        selected.set(if all { vms.get_untracked().into_iter().map(|v| v.id).collect() } else { BTreeSet::new() });
                    }/></th>
                    {header("name", "vms-name")}
                    {header("state", "vms-state")}
                    {header("host", "vms-host")}
                    {header("owner", "vms-owner")}
                    {header("vcpus", "quota-vcpus")}
                    {header("memory", "quota-memory")}
                    <th>{t!(i18n, "vms-ips")}</th>
                    <th>{t!(i18n, "vms-tags")}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                <For each=move || vms.get() key=|v| (v.id.clone(), v.state, v.name.clone()) let:vm>
                    <VmRow vm selected error vms/>
                </For>
            </tbody>
        </table>
        {move || vms.get().is_empty().then(|| view! { <p class="muted" data-testid="vms-empty">{t!(i18n, "vms-empty")}</p> })}
    }
}

#[component]
fn VmRow(
    vm: Vm,
    selected: RwSignal<BTreeSet<String>>,
    error: RwSignal<Option<ApiError>>,
    vms: RwSignal<Vec<Vm>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = vm.id.clone();
    // Rows are keyed by state: a console link for running VMs, rendered again when the state changes.
    let up = vm.state.is_up();
    let state = Signal::derive({
        let s = vm.state;
        move || s
    });
    // The one action that moves the VM on from its state, and force off (asked first, disabled when off).
    let quick = [VmAction::Start, VmAction::Shutdown, VmAction::Resume]
        .into_iter()
        .filter(|a| a.allowed_in(vm.state))
        .take(1)
        .chain([VmAction::Poweroff])
        .collect::<Vec<_>>();
    let on_done = Callback::new(move |(_, r): (VmAction, Result<Vm, ApiError>)| match r {
        Ok(v) => vms.update(|list| {
            if let Some(row) = list.iter_mut().find(|x| x.id == v.id) {
                *row = v;
            }
        }),
        Err(e) => error.set(Some(e)),
    });
    let check_id = id.clone();
    let checked_id = id.clone();
    view! {
        <tr data-testid=format!("vm-row-{}", vm.name) data-id=id.clone()>
            <td><input type="checkbox" data-testid="vm-select"
                prop:checked=move || selected.get().contains(&checked_id)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    let id = check_id.clone();
                    selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                }/></td>
            <td class="name"><a href=format!("/vms/{id}")>{vm.name.clone()}</a></td>
            <td><StateBadge state/></td>
            <td>{vm.host_name.clone()}</td>
            <td>{vm.owner.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="num">{vm.vcpus}</td>
            <td class="num">{format!("{} MiB", vm.memory_mib)}</td>
            <td>{vm.ips.join(", ")}</td>
            <td>{vm.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
            <td class="nowrap"><ActionBar id=id.clone() state actions=quick on_done small=true/>
                {up.then(|| view! {
                    " " <a class="btn small" href=format!("/vms/{id}/console") target="_blank" data-testid="vm-console">{t!(i18n, "console-title")}</a>
                })}</td>
        </tr>
    }
}
