//! Every host's storage pools with usage bars, actions, and the form that creates a pool.
use crate::api::{ApiError, Pool, PoolQuery};
use crate::components::layout::use_me;
use crate::components::widgets::{fmt_bytes, ErrorBox, PageError, UsageBar};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

/// A pool state in words.
pub fn pool_state(i18n: crate::i18n::I18n, s: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("pool-state-{s}"), s)
}

#[component]
pub fn PoolList() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let pools = Resource::new(
        move || version.get(),
        |_| crate::api::storage::list_pools(PoolQuery::default()),
    );
    let me = use_me();
    let reload = Callback::new(move |_| version.update(|v| *v += 1));
    let hosts = Resource::new(|| (), |_| crate::api::hosts::list_hosts());
    view! {
        <h1>{t!(i18n, "storage-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = matches!(me.await, Ok(m) if m.can.manage_storage);
                manage.then(|| view! { <super::create::CreatePool on_created=reload hosts/> })
            })}
        </Suspense>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = matches!(me.await, Ok(m) if m.can.manage_storage);
                match pools.await {
                    Ok(list) => view! { <PoolTable pools=list manage reload/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn PoolTable(pools: Vec<Pool>, manage: bool, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    if pools.is_empty() {
        return view! { <p class="muted" data-testid="pools-empty">{t!(i18n, "storage-empty")}</p> }.into_any();
    }
    view! {
        <table class="table" data-testid="pools-table">
            <thead><tr>
                <th>{t!(i18n, "vms-host")}</th><th>{t!(i18n, "vms-name")}</th><th>{t!(i18n, "storage-type")}</th>
                <th>{t!(i18n, "field-status")}</th><th>{t!(i18n, "storage-autostart")}</th>
                <th>{t!(i18n, "storage-usage")}</th><th>{t!(i18n, "storage-volumes")}</th><th></th>
            </tr></thead>
            <tbody>
                {pools.into_iter().map(|p| view! { <PoolRow pool=p manage reload/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn PoolRow(pool: Pool, manage: bool, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let confirm = RwSignal::new(false);
    let contents = RwSignal::new(false);
    let id = pool.id.clone();
    let act = move |action: &'static str| {
        let id = id.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = match action {
                "delete" => crate::api::storage::delete_pool(id, contents.get_untracked()).await,
                a => crate::api::storage::pool_action(id, a).await.map(|_| ()),
            };
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(()) => reload.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let running = pool.state == "running";
    let state = pool.state.clone();
    let act2 = act.clone();
    let act3 = act.clone();
    view! {
        <tr data-testid=format!("pool-row-{}", pool.name) data-state=pool.state.clone()>
            <td>{pool.host_name.clone()}</td>
            <td><a href=format!("/storage/{}", pool.id)>{pool.name.clone()}</a>
                {pool.images_pool.then(|| view! { " " <span class="badge">{t!(i18n, "storage-images-pool")}</span> })}
                {pool.target_path.clone().map(|p| view! { <div class="muted small"><code>{p}</code></div> })}</td>
            <td>{pool.kind.clone()}</td>
            <td><span class=format!("badge pool-{}", pool.state)>{move || pool_state(i18n, &state)}</span></td>
            <td>{move || if pool.autostart { crate::tr!(i18n, "yes") } else { crate::tr!(i18n, "no") }}</td>
            <td class="usage">
                <UsageBar used=pool.allocation total=pool.capacity/>
                <div class="muted small">{t!(i18n, "storage-free", free = fmt_bytes(pool.available), total = fmt_bytes(pool.capacity))}</div>
            </td>
            <td class="num">{pool.volume_count.map(|n| n.to_string()).unwrap_or_else(|| "–".into())}</td>
            <td class="nowrap">
                {manage.then(|| view! {
                    <span class="action-bar">
                        {if running {
                            let a = act.clone();
                            let b = act.clone();
                            view! {
                                <button class="btn small" disabled=move || busy.get() on:click=move |_| a("refresh")>{t!(i18n, "storage-refresh")}</button>
                                <button class="btn small" disabled=move || busy.get() on:click=move |_| b("stop")>{t!(i18n, "storage-stop")}</button>
                            }.into_any()
                        } else {
                            let a = act2.clone();
                            view! { <button class="btn small" disabled=move || busy.get() on:click=move |_| a("start")>{t!(i18n, "storage-start")}</button> }.into_any()
                        }}
                        <Show when=move || confirm.get() fallback=move || view! {
                            <button class="btn small danger" data-testid="pool-delete" on:click=move |_| confirm.set(true)>{t!(i18n, "action-delete")}</button>
                        }>
                            {let a = act3.clone(); view! {
                                <span class="confirm">
                                    <label class="check"><input type="checkbox" bind:checked=contents/>{t!(i18n, "storage-delete-contents")}</label>
                                    <button class="btn small danger" data-testid="pool-delete-confirm" disabled=move || busy.get() on:click=move |_| a("delete")>{t!(i18n, "action-delete")}</button>
                                    <button class="btn small" on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
                                </span>
                            }}
                        </Show>
                    </span>
                    <ErrorBox error/>
                })}
            </td>
        </tr>
    }
    .into_any()
}
