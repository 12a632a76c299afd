//! One pool: its facts and its volumes (who uses each), with create, resize, clone, wipe, delete and download.
use crate::api::{ApiError, CloneVolume, CreateVolume, PoolDetail, ResizeVolume, Volume, VolumeQuery};
use crate::components::layout::use_me;
use crate::components::widgets::{fmt_bytes, ErrorBox, PageError, UsageBar};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn PoolPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let version = RwSignal::new(0u32);
    let format = RwSignal::new(String::new());
    let in_use = RwSignal::new(String::new());
    let pool = Resource::new(
        move || (id(), version.get()),
        |(id, _)| crate::api::storage::get_pool(id),
    );
    let vols = Resource::new(
        move || (id(), version.get(), format.get(), in_use.get()),
        |(id, _, format, in_use)| {
            crate::api::storage::list_volumes(
                id,
                VolumeQuery {
                    format: (!format.is_empty()).then_some(format),
                    in_use: in_use.parse().ok(),
                },
            )
        },
    );
    let me = use_me();
    let reload = Callback::new(move |_| version.update(|v| *v += 1));
    view! {
        <p><a href="/storage">{t!(i18n, "storage-back")}</a></p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = matches!(me.await, Ok(m) if m.can.manage_storage);
                match pool.await {
                    Ok(p) => view! {
                        <PoolFacts detail=p.clone()/>
                        {(manage && p.pool.state == "running").then(|| view! { <CreateVolumeForm pool=p.pool.id.clone() on_created=reload/> })}
                    }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
        <h2>{t!(i18n, "storage-volumes")}</h2>
        <div class="toolbar">
            <label>{t!(i18n, "storage-format")}
                <select bind:value=format data-testid="vol-filter-format">
                    <option value="">{t!(i18n, "filter-all")}</option>
                    <option value="qcow2">"qcow2"</option><option value="raw">"raw"</option><option value="iso">"iso"</option>
                </select>
            </label>
            <label>{t!(i18n, "storage-in-use")}
                <select bind:value=in_use data-testid="vol-filter-in-use">
                    <option value="">{t!(i18n, "filter-all")}</option>
                    <option value="true">{t!(i18n, "storage-used")}</option>
                    <option value="false">{t!(i18n, "storage-available")}</option>
                </select>
            </label>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let manage = matches!(me.await, Ok(m) if m.can.manage_storage);
                match vols.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="volumes-empty">{t!(i18n, "storage-no-volumes")}</p> }.into_any(),
                    Ok(list) => view! { <VolumeTable pool=id() list manage reload/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn PoolFacts(detail: PoolDetail) -> impl IntoView {
    let i18n = use_i18n();
    let p = detail.pool;
    let state = p.state.clone();
    view! {
        <h1 data-testid="pool-name">{p.name.clone()}</h1>
        <div class="card">
            <dl class="facts">
                <dt>{t!(i18n, "vms-host")}</dt><dd>{p.host_name.clone()}</dd>
                <dt>{t!(i18n, "storage-type")}</dt><dd>{p.kind.clone()}</dd>
                <dt>{t!(i18n, "field-status")}</dt><dd>{move || super::list::pool_state(i18n, &state)}</dd>
                <dt>{t!(i18n, "storage-usage")}</dt>
                <dd><UsageBar used=p.allocation total=p.capacity/>
                    {t!(i18n, "storage-free", free = fmt_bytes(p.available), total = fmt_bytes(p.capacity))}</dd>
                {p.target_path.clone().map(|t| view! { <dt>{t!(i18n, "label-target_path")}</dt><dd><code>{t}</code></dd> })}
                {detail.source.into_iter().map(|(k, v)| view! {
                    <dt>{move || crate::i18n::lookup(i18n.0.get(), &format!("pool-source-{k}"), &k)}</dt><dd><code>{v}</code></dd>
                }).collect_view()}
            </dl>
        </div>
    }
    .into_any()
}

#[component]
fn CreateVolumeForm(pool: String, on_created: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    let format = RwSignal::new("qcow2".to_string());
    let size = RwSignal::new("10".to_string());
    let unit = RwSignal::new("GiB".to_string());
    let backing = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n: f64 = size.get_untracked().trim().parse().unwrap_or(0.0);
        let mult = if unit.get_untracked() == "MiB" {
            1u64 << 20
        } else {
            1u64 << 30
        };
        let req = CreateVolume {
            name: name.get_untracked().trim().to_string(),
            format: format.get_untracked(),
            capacity_bytes: (n * mult as f64) as u64,
            backing: Some(backing.get_untracked().trim().to_string()).filter(|b| !b.is_empty()),
        };
        let pool = pool.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::storage::create_volume(pool, req).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(_) => {
                    error.set(None);
                    name.set(String::new());
                    on_created.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form" on:submit=submit data-testid="volume-create">
            <h2>{t!(i18n, "storage-volume-create")}</h2>
            <div class="grid3">
                <label>{t!(i18n, "vms-name")}<input required maxlength="200" bind:value=name data-testid="volume-name"/></label>
                <label>{t!(i18n, "storage-format")}
                    <select bind:value=format data-testid="volume-format"><option value="qcow2">"qcow2"</option><option value="raw">"raw"</option></select>
                </label>
                <label>{t!(i18n, "storage-capacity")}
                    <span class="inline"><input type="number" min="0.001" step="any" required bind:value=size data-testid="volume-size"/>
                    <select bind:value=unit><option>"GiB"</option><option>"MiB"</option></select></span>
                </label>
                <Show when=move || format.get() == "qcow2">
                    <label>{t!(i18n, "storage-backing")}<input maxlength="200" bind:value=backing data-testid="volume-backing"/></label>
                </Show>
            </div>
            <ErrorBox error/>
            <div class="actions"><button class="btn primary" type="submit" disabled=move || busy.get() data-testid="volume-create-submit">{t!(i18n, "action-create")}</button></div>
        </form>
    }
    .into_any()
}

#[component]
fn VolumeTable(pool: String, list: Vec<Volume>, manage: bool, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="table" data-testid="volumes-table">
            <thead><tr>
                <th>{t!(i18n, "vms-name")}</th><th>{t!(i18n, "storage-format")}</th><th>{t!(i18n, "storage-capacity")}</th>
                <th>{t!(i18n, "storage-allocation")}</th><th>{t!(i18n, "storage-used-by")}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|v| view! { <VolumeRow pool=pool.clone() vol=v manage reload/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    None,
    Resize,
    Clone,
    Wipe,
    Delete,
}

#[component]
fn VolumeRow(pool: String, vol: Volume, manage: bool, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let op = RwSignal::new(Op::None);
    let input = RwSignal::new(String::new());
    let shrink = RwSignal::new(false);
    let unit = RwSignal::new("GiB".to_string());
    let raw = vol.format == "raw";
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let started = RwSignal::new(None::<i64>);
    let in_use = !vol.used_by.is_empty();
    let (p, n) = (pool.clone(), vol.name.clone());
    let capacity = vol.capacity;
    let run = move || {
        let (p, n) = (p.clone(), n.clone());
        let which = op.get_untracked();
        let text = input.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r: Result<bool, ApiError> = match which {
                Op::Resize => {
                    let amount: f64 = text.trim().parse().unwrap_or(0.0);
                    let mult = if unit.get_untracked() == "MiB" {
                        1u64 << 20
                    } else {
                        1u64 << 30
                    };
                    let req = ResizeVolume {
                        capacity_bytes: (amount * mult as f64).round() as u64,
                        shrink: shrink.get_untracked(),
                    };
                    crate::api::storage::resize_volume(p, n, req).await.map(|_| true)
                }
                Op::Clone => crate::api::storage::clone_volume(
                    p,
                    n,
                    CloneVolume {
                        name: text.trim().into(),
                    },
                )
                .await
                .map(|t| {
                    started.set(Some(t.id));
                    false
                }),
                Op::Wipe => crate::api::storage::wipe_volume(p, n).await.map(|_| true),
                Op::Delete => crate::api::storage::delete_volume(p, n).await.map(|_| true),
                Op::None => Ok(false),
            };
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(again) => {
                    error.set(None);
                    op.set(Op::None);
                    if again {
                        reload.run(());
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let open = move |o: Op| {
        error.set(None);
        // Sizes are shown in whole MiB below 1 GiB, so that OK without a change changes nothing.
        let in_gib = capacity >= 1 << 30 && capacity.is_multiple_of(1 << 30);
        unit.set(if in_gib { "GiB" } else { "MiB" }.to_string());
        input.set(match o {
            Op::Resize if in_gib => (capacity >> 30).to_string(),
            Op::Resize => format!("{}", (capacity as f64 / (1u64 << 20) as f64 * 1000.0).round() / 1000.0),
            _ => String::new(),
        });
        op.set(o);
    };
    let url = crate::api::storage::volume_content_url(&pool, &vol.name);
    let op_name = vol.name.clone();
    let inner = move || {
        view! {
                    {move || {
                        let run = run.clone();
                        let go = move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            run();
                        };
                        match op.get() {
                            Op::None => ().into_any(),
                            o => view! {
                                <form class="confirm" on:submit=go>
                                    {match o {
                                        Op::Resize => view! {
                                            <label>{t!(i18n, "storage-new-size")}<input type="number" step="any" min="0.001" required bind:value=input/></label>
                                            <select bind:value=unit><option>"GiB"</option><option>"MiB"</option></select>
                                            {raw.then(|| view! { <label class="check"><input type="checkbox" bind:checked=shrink/>{t!(i18n, "storage-allow-shrink")}</label> })}
                                        }.into_any(),
                                        Op::Clone => view! {
                                            <label>{t!(i18n, "storage-clone-name")}<input required maxlength="200" bind:value=input data-testid="volume-clone-name"/></label>
                                        }.into_any(),
                                        Op::Wipe => view! { <span>{t!(i18n, "storage-wipe-confirm")}</span> }.into_any(),
                                        _ => view! { <span>{t!(i18n, "storage-delete-volume-confirm")}</span> }.into_any(),
                                    }}
                                    <button class="btn small primary" type="submit" disabled=move || busy.get() data-testid="volume-op-confirm">{t!(i18n, "action-ok")}</button>
                                    <button class="btn small" type="button" on:click=move |_| op.set(Op::None)>{t!(i18n, "action-cancel")}</button>
                                </form>
                            }.into_any(),
                        }
                    }}
                    {move || started.get().map(|id| view! { <div class="small"><a href="/tasks">{t!(i18n, "tasks-started", id = id)}</a></div> })}
                    <ErrorBox error/>
        }
    };

    view! {
        <tr data-testid=format!("volume-row-{}", vol.name)>
            <td><code>{vol.name.clone()}</code>
                {vol.backing.clone().map(|b| view! { <div class="muted small">{t!(i18n, "storage-backing")}": " <code>{b}</code></div> })}</td>
            <td>{vol.format.clone()}</td>
            <td class="num">{fmt_bytes(vol.capacity)}</td>
            <td class="num">{fmt_bytes(vol.allocation)}</td>
            <td>{if in_use {
                vol.used_by.iter().map(|u| {
                    let href = if let Some(img) = u.id.strip_prefix("image:") { format!("/images/{img}") } else { format!("/vms/{}", u.id) };
                    view! { <a href=href>{u.name.clone()}</a>" " }
                }).collect_view().into_any()
            } else {
                view! { <span class="muted">{t!(i18n, "storage-available")}</span> }.into_any()
            }}</td>
            <td class="nowrap">
                <span class="action-bar">
                    <a class="btn small" href=url download="" data-testid="volume-download">{t!(i18n, "action-download")}</a>
                    {manage.then(|| view! {
                        <button class="btn small" on:click=move |_| open(Op::Resize)>{t!(i18n, "storage-resize")}</button>
                        <button class="btn small" data-testid="volume-clone" on:click=move |_| open(Op::Clone)>{t!(i18n, "storage-clone")}</button>
                        <button class="btn small" disabled=in_use on:click=move |_| open(Op::Wipe)>{t!(i18n, "storage-wipe")}</button>
                        <button class="btn small danger" disabled=in_use data-testid="volume-delete" on:click=move |_| open(Op::Delete)>{t!(i18n, "action-delete")}</button>
                    })}
                </span>
            </td>
        </tr>
        // The form of the chosen action, and what came of it, in a row of their own below (never off-screen).
        {move || {
            let shown = op.get() != Op::None || error.with(Option::is_some) || started.get().is_some();
            let inner = inner.clone();
            shown.then(|| view! {
                <tr class="op-row" data-testid=format!("volume-op-{op_name}")><td colspan="6">{inner()}</td></tr>
            })
        }}
    }
    .into_any()
}
