//! One image: facts, checksums, the hosts holding a copy, the VMs using it; edit, copy to a host, download,
//! delete.
use crate::api::{ApiError, CopyImage, Host, Image, ImageFacts, UpdateImage};
use crate::components::layout::use_me;
use crate::components::widgets::{fmt_bytes, fmt_time, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ImageDetailPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0));
    let version = RwSignal::new(0u32);
    let image = Resource::new(
        move || (id(), version.get()),
        |(id, _)| crate::api::images::get_image(id),
    );
    let me = use_me();
    let reload = Callback::new(move |_| version.update(|v| *v += 1));
    // Only those who may list hosts ask for them (a user's page makes no request that would be refused).
    let hosts = Resource::new(
        move || me.get().and_then(|m| m.ok()).map(|m| m.can.read_hosts),
        |can| async move {
            match can {
                Some(true) => crate::api::hosts::list_hosts().await,
                _ => Err(crate::api::ApiError::new("forbidden", "")),
            }
        },
    );
    view! {
        <p><a href="/images">{t!(i18n, "images-back")}</a></p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let me = me.await.ok();
                match image.await {
                    Ok(img) => {
                        let manage = me.as_ref().is_some_and(|m| {
                            if img.visibility == "public" { m.can.manage_public_images }
                            else { m.can.manage_any_image || (m.can.upload_images && img.owner_id == Some(m.user.id)) }
                        });
                        let can_public = me.as_ref().is_some_and(|m| m.can.manage_public_images);
                        let storage = me.as_ref().is_some_and(|m| m.can.read_storage);
                        view! { <ImageView img manage can_public storage reload hosts/> }.into_any()
                    }
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ImageView(
    img: Image,
    manage: bool,
    can_public: bool,
    /// Whether the caller may open pool pages.
    storage: bool,
    reload: Callback<()>,
    hosts: Resource<Result<Vec<Host>, ApiError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (k, v) = (img.kind.clone(), img.visibility.clone());
    let f = img.facts.clone();
    view! {
        <h1 data-testid="image-name">{img.name.clone()}</h1>
        <p><a class="btn primary" data-testid="image-create-vm"
            href=format!("/vms/new?{}={}", if img.kind == "iso" { "iso" } else { "template" }, img.id)>{t!(i18n, "create-title")}</a></p>
        <div class="card">
            <dl class="facts">
                <dt>{t!(i18n, "images-kind")}</dt><dd>{move || super::list::kind_label(i18n, &k)}{(img.kind != "iso").then(|| format!(" · {}", img.format))}</dd>
                <dt>{t!(i18n, "images-visibility")}</dt><dd>{move || super::list::visibility_label(i18n, &v)}
                    {img.owner.clone().map(|o| view! { " · " {o} })}</dd>
                <dt>{t!(i18n, "images-size")}</dt><dd>{fmt_bytes(img.size_bytes.max(0) as u64)}
                    {(img.virtual_size_bytes != img.size_bytes).then(|| view! { " · " {t!(i18n, "images-virtual-size")} " " {fmt_bytes(img.virtual_size_bytes.max(0) as u64)} })}</dd>
                <dt>"SHA-256"</dt><dd><code class="hash" data-testid="image-sha256-full">{if img.sha256.is_empty() { "–".to_string() } else { img.sha256.clone() }}</code></dd>
                <dt>"MD5"</dt><dd><code class="hash">{if img.md5.is_empty() { "–".to_string() } else { img.md5.clone() }}</code></dd>
                <dt>{t!(i18n, "images-created")}</dt><dd>{fmt_time(img.created_at)}</dd>
                <dt>{t!(i18n, "images-used-by")}</dt><dd data-testid="image-used-by">{img.used_by}</dd>
                {(img.kind == "template").then(|| view! {
                    <dt>{t!(i18n, "images-os-family")}</dt><dd>{format!("{} {}", f.os_family, f.os_version)}</dd>
                    <dt>{t!(i18n, "images-firmware")}</dt><dd>{f.firmware.to_uppercase()}" · "{f.arch.clone()}" · "{f.disk_bus.clone()}</dd>
                    <dt>{t!(i18n, "images-min-disk")}</dt><dd>{f.min_disk_gib}</dd>
                    <dt>{t!(i18n, "images-min-memory")}</dt><dd>{f.min_memory_mib}</dd>
                    <dt>{t!(i18n, "images-cloud-init")}</dt><dd>{move || if f.cloud_init { crate::tr!(i18n, "yes") } else { crate::tr!(i18n, "no") }}</dd>
                    <dt>{t!(i18n, "images-default-user")}</dt><dd>{f.default_user.clone()}</dd>
                })}
                {(!img.facts.description.is_empty()).then(|| view! { <dt>{t!(i18n, "vms-description")}</dt><dd>{img.facts.description.clone()}</dd> })}
            </dl>
            <p><a class="btn" href=format!("/api/v1/images/{}/content", img.id) download="" data-testid="image-download">{t!(i18n, "action-download")}</a></p>
        </div>
        <h2>{t!(i18n, "images-hosts")}</h2>
        <table class="table" data-testid="image-copies">
            <thead><tr><th>{t!(i18n, "vms-host")}</th><th>{t!(i18n, "storage-pool")}</th><th>{t!(i18n, "storage-volume")}</th></tr></thead>
            <tbody>{img.copies.iter().map(|c| view! {
                <tr><td>{c.host_name.clone()}</td><td>{if storage {
                    view! { <a href=format!("/storage/{}", c.pool_id)>{c.pool_name.clone()}</a> }.into_any()
                } else {
                    view! { <span>{c.pool_name.clone()}</span> }.into_any()
                }}</td><td><code>{c.volume.clone()}</code></td></tr>
            }).collect_view()}</tbody>
        </table>
        {manage.then(|| view! {
            <EditImage img=img.clone() can_public reload/>
            <CopyToHost id=img.id hosts holders=img.copies.iter().map(|c| c.host_id).collect()/>
            <DeleteImage id=img.id/>
        })}
    }
    .into_any()
}

#[component]
fn EditImage(img: Image, can_public: bool, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(img.name.clone());
    let visibility = RwSignal::new(img.visibility.clone());
    let description = RwSignal::new(img.facts.description.clone());
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let facts = img.facts.clone();
    let id = img.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = UpdateImage {
            name: Some(name.get_untracked()),
            visibility: can_public.then(|| visibility.get_untracked()),
            facts: Some(ImageFacts {
                description: description.get_untracked(),
                ..facts.clone()
            }),
        };
        leptos::task::spawn_local(async move {
            match crate::api::images::update_image(id, req).await {
                Ok(_) => {
                    let _ = error.try_set(None);
                    let _ = saved.try_set(true);
                    reload.run(());
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <form class="card form" on:submit=submit data-testid="image-edit">
            <h2>{t!(i18n, "action-edit")}</h2>
            <div class="grid3">
                <label>{t!(i18n, "vms-name")}<input required maxlength="100" bind:value=name data-testid="image-edit-name"/></label>
                {can_public.then(|| view! {
                    <label>{t!(i18n, "images-visibility")}
                        <select bind:value=visibility>
                            <option value="private">{t!(i18n, "images-private")}</option>
                            <option value="public">{t!(i18n, "images-public")}</option>
                        </select>
                    </label>
                })}
                <label>{t!(i18n, "vms-description")}<input maxlength="2000" bind:value=description/></label>
            </div>
            <ErrorBox error/>
            {move || saved.get().then(|| view! { <div class="alert ok">{t!(i18n, "saved")}</div> })}
            <div class="actions"><button class="btn primary" type="submit">{t!(i18n, "action-save")}</button></div>
        </form>
    }
    .into_any()
}

#[component]
fn CopyToHost(id: i64, hosts: Resource<Result<Vec<Host>, ApiError>>, holders: Vec<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let host = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let started = RwSignal::new(None::<i64>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = CopyImage {
            host_id: host.get_untracked().parse().unwrap_or(0),
            pool_id: None,
        };
        leptos::task::spawn_local(async move {
            match crate::api::images::copy_image(id, req).await {
                Ok(t) => {
                    let _ = started.try_set(Some(t.id));
                    let _ = error.try_set(None);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let holders = holders.clone();
                Suspend::new(async move {
                // Only hosts that hold no copy yet; nothing to offer when every host has one.
                let list: Vec<Host> = hosts.await.unwrap_or_default().into_iter().filter(|h| !holders.contains(&h.id)).collect();
                (!list.is_empty()).then(|| view! {
                    <form class="card form" on:submit=submit data-testid="image-copy">
                        <h2>{t!(i18n, "images-copy")}</h2>
                        <label>{t!(i18n, "vms-host")}
                            <select required bind:value=host>
                                <option value="">"—"</option>
                                {list.into_iter().map(|h| view! { <option value=h.id.to_string()>{h.name}</option> }).collect_view()}
                            </select>
                        </label>
                        <ErrorBox error/>
                        {move || started.get().map(|t| view! { <div class="alert ok"><a href="/tasks">{t!(i18n, "tasks-started", id = t)}</a></div> })}
                        <div class="actions"><button class="btn" type="submit">{t!(i18n, "images-copy")}</button></div>
                    </form>
                })
            })}}
        </Suspense>
    }
    .into_any()
}

#[component]
fn DeleteImage(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let delete = move |_| {
        leptos::task::spawn_local(async move {
            match crate::api::images::delete_image(id).await {
                Ok(()) => crate::components::layout::go_to("/images"),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card danger">
            <h2>{t!(i18n, "images-delete")}</h2>
            <ErrorBox error/>
            <Show when=move || confirm.get() fallback=move || view! {
                <button class="btn danger" data-testid="image-delete" on:click=move |_| confirm.set(true)>{t!(i18n, "images-delete")}</button>
            }>
                <p>{t!(i18n, "images-delete-confirm")}</p>
                <button class="btn danger" data-testid="image-delete-confirm" on:click=delete>{t!(i18n, "action-delete")}</button>
                <button class="btn" on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
            </Show>
        </section>
    }
    .into_any()
}
