//! The image library: filters, the upload panel, and every image the caller may use.
use crate::api::{Image, ImageQuery, StreamEvent, TaskState};
use crate::components::layout::use_me;
use crate::components::live::use_live_events;
use crate::components::widgets::{fmt_bytes, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

pub fn kind_label(i18n: crate::i18n::I18n, kind: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("images-kind-{kind}"), kind)
}

pub fn visibility_label(i18n: crate::i18n::I18n, v: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("images-{v}"), v)
}

#[component]
pub fn ImageList() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let uploads_version = RwSignal::new(0u32);
    let unfinished = Resource::new(move || uploads_version.get(), |_| crate::api::images::list_uploads());
    let changed = Callback::new(move |_| uploads_version.update(|v| *v += 1));
    let kind = RwSignal::new(String::new());
    let visibility = RwSignal::new(String::new());
    let q = RwSignal::new(String::new());
    let images = Resource::new(
        move || (version.get(), kind.get(), visibility.get(), q.get()),
        |(_, kind, visibility, q)| {
            let opt = |s: String| (!s.is_empty()).then_some(s);
            crate::api::images::list_images(ImageQuery {
                kind: opt(kind),
                visibility: opt(visibility),
                q: opt(q),
                host_id: None,
            })
        },
    );
    // A finished import (or copy) changes the library.
    use_live_events(move |ev| {
        if let StreamEvent::Task { task } = ev {
            if task.kind.starts_with("image.") && task.state == TaskState::Succeeded {
                version.update(|v| *v += 1);
            }
            if task.state.is_finished() {
                uploads_version.update(|v| *v += 1);
            }
        }
    });
    let me = use_me();
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
        <h1>{t!(i18n, "images-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(m) if m.can.upload_images || m.can.manage_public_images => {
                        view! { <super::upload::UploadPanel can_public=m.can.manage_public_images hosts unfinished changed/> }.into_any()
                    }
                    _ => ().into_any(),
                }
            })}
        </Suspense>
        <div class="toolbar">
            <label>{t!(i18n, "images-kind")}
                <select bind:value=kind data-testid="images-filter-kind">
                    <option value="">{t!(i18n, "filter-all")}</option>
                    <option value="iso">{t!(i18n, "images-kind-iso")}</option>
                    <option value="template">{t!(i18n, "images-kind-template")}</option>
                </select>
            </label>
            <label>{t!(i18n, "images-visibility")}
                <select bind:value=visibility data-testid="images-filter-visibility">
                    <option value="">{t!(i18n, "filter-all")}</option>
                    <option value="public">{t!(i18n, "images-public")}</option>
                    <option value="private">{t!(i18n, "images-private")}</option>
                </select>
            </label>
            <label>{t!(i18n, "label-query")}<input type="search" bind:value=q data-testid="images-filter-q"/></label>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match images.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="images-empty">{t!(i18n, "images-empty")}</p> }.into_any(),
                    Ok(list) => view! { <ImageTable list/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ImageTable(list: Vec<Image>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="table" data-testid="images-table">
            <thead><tr>
                <th>{t!(i18n, "vms-name")}</th><th>{t!(i18n, "images-kind")}</th><th>{t!(i18n, "images-visibility")}</th>
                <th>{t!(i18n, "images-size")}</th><th>{t!(i18n, "images-hosts")}</th><th>{t!(i18n, "images-used-by")}</th>
                <th>"SHA-256"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|img| {
                    let (k, v) = (img.kind.clone(), img.visibility.clone());
                    view! {
                        <tr data-testid=format!("image-row-{}", img.name)>
                            <td><a href=format!("/images/{}", img.id)>{img.name.clone()}</a>
                                {(!img.facts.os_family.is_empty()).then(|| view! { <div class="muted small">{format!("{} {}", img.facts.os_family, img.facts.os_version)}</div> })}</td>
                            <td>{move || kind_label(i18n, &k)}</td>
                            <td><span class="badge">{move || visibility_label(i18n, &v)}</span>
                                {img.owner.clone().map(|o| view! { <div class="muted small">{o}</div> })}</td>
                            <td class="num">{fmt_bytes(img.size_bytes.max(0) as u64)}</td>
                            <td>{img.copies.iter().map(|c| c.host_name.clone()).collect::<Vec<_>>().join(", ")}</td>
                            <td class="num">{img.used_by}</td>
                            <td><code class="small hash" data-testid="image-sha256">{img.sha256.chars().take(16).collect::<String>()}</code></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
