//! The upload panel: where the files go (host, kind, visibility, expected checksum, template facts), a drop zone,
//! and the queue that `/js/uploader.js` fills (tus-js-client: pause, resume, cancel, resume after a reload).
use crate::api::{ApiError, Host, Upload};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn UploadPanel(
    can_public: bool,
    /// Created by the page, outside any Suspense (a resource made inside one breaks hydration).
    hosts: Resource<Result<Vec<Host>, ApiError>>,
    unfinished: Resource<Result<Vec<Upload>, ApiError>>,
    /// Called after an upload was discarded or retried, so the page reloads its lists.
    changed: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let kind = RwSignal::new("iso".to_string());
    let labels = move || {
        let l = |k: &str| crate::i18n::lookup(i18n.0.get(), &format!("upload-{k}"), k);
        serde_json::json!({
            "waiting": l("waiting"), "pause": l("pause"), "resume": l("resume"), "cancel": l("cancel"),
            "paused": l("paused"), "resuming": l("resuming"), "importing": l("importing"), "done": l("done"),
            "open": l("open"), "left": l("left"), "cancel_confirm": l("cancel-confirm"),
        })
        .to_string()
    };
    view! {
        <script src="/vendor/tus/tus.min.js"></script>
        <script type="module" src="/js/uploader.js"></script>
        <section class="card" data-uploader="" data-labels=labels data-testid="uploader">
            <h2>{t!(i18n, "images-upload")}</h2>
            <form class="form" on:submit=|ev| ev.prevent_default()>
                <div class="grid3">
                    <label>{t!(i18n, "images-kind")}
                        <select name="kind" bind:value=kind data-testid="upload-kind">
                            <option value="iso">{t!(i18n, "images-kind-iso")}</option>
                            <option value="template">{t!(i18n, "images-kind-template")}</option>
                        </select>
                    </label>
                    // (Whole selects inside Suspense and branches: markers inside a <select> break hydration.)
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let options = match hosts.await {
                                Ok(list) => list.into_iter().map(|h| (h.id.to_string(), h.name)).collect::<Vec<_>>(),
                                // Those who cannot list hosts upload to the first host online.
                                Err(_) => vec![(String::new(), crate::tr!(i18n, "upload-any-host"))],
                            };
                            view! {
                                <label>{t!(i18n, "vms-host")}
                                    <select name="host" data-testid="upload-host">
                                        {options.into_iter().map(|(v, n)| view! { <option value=v>{n}</option> }).collect_view()}
                                    </select>
                                </label>
                            }
                        })}
                    </Suspense>
                    {if can_public {
                        view! {
                            <label>{t!(i18n, "images-visibility")}
                                <select name="visibility" data-testid="upload-visibility">
                                    <option value="private">{t!(i18n, "images-private")}</option>
                                    <option value="public">{t!(i18n, "images-public")}</option>
                                </select>
                            </label>
                        }.into_any()
                    } else {
                        view! {
                            <label>{t!(i18n, "images-visibility")}
                                <select name="visibility" data-testid="upload-visibility">
                                    <option value="private">{t!(i18n, "images-private")}</option>
                                </select>
                            </label>
                        }.into_any()
                    }}
                    <label>{t!(i18n, "upload-expected-sha256")}
                        <input name="sha256" maxlength="64" pattern="[0-9a-fA-F]{64}" autocomplete="off" data-testid="upload-sha256"/>
                    </label>
                    <Show when=move || kind.get() == "template">
                        <label>{t!(i18n, "images-os-family")}<input name="os_family" maxlength="40" placeholder="debian"/></label>
                        <label>{t!(i18n, "images-os-version")}<input name="os_version" maxlength="40" placeholder="12"/></label>
                        <label>{t!(i18n, "images-default-user")}<input name="default_user" maxlength="64" placeholder="debian"/></label>
                        <label>{t!(i18n, "images-min-disk")}<input name="min_disk_gib" type="number" min="0"/></label>
                        <label>{t!(i18n, "images-min-memory")}<input name="min_memory_mib" type="number" min="0"/></label>
                        <label>{t!(i18n, "images-firmware")}
                            <select name="firmware"><option value="bios">"BIOS"</option><option value="uefi">"UEFI"</option></select>
                        </label>
                        <label class="check"><input type="checkbox" name="cloud_init"/>{t!(i18n, "images-cloud-init")}</label>
                    </Show>
                </div>
                <label class="dropzone" tabindex="0" data-testid="dropzone">
                    <input type="file" multiple class="visually-hidden" tabindex="-1" data-testid="upload-file"/>
                    {t!(i18n, "upload-drop")}
                </label>
            </form>
            <ul class="upload-queue" data-testid="upload-queue"></ul>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let all = unfinished.await.unwrap_or_default();
                    let waiting: Vec<Upload> = all.iter().filter(|u| u.state == "receiving").cloned().collect();
                    let failed: Vec<Upload> = all.into_iter().filter(|u| u.state == "failed").collect();
                    view! {
                        {(!waiting.is_empty()).then(|| view! {
                            <div class="alert" data-testid="unfinished-uploads">
                                <strong>{t!(i18n, "upload-unfinished")}</strong>
                                <ul>{waiting.into_iter().map(|u| {
                                    let name = u.metadata.get("filename").cloned().unwrap_or_default();
                                    let pct = if u.length > 0 { u.offset * 100 / u.length } else { 0 };
                                    view! { <li>{name}" — "{format!("{pct} %")}" "<DiscardButton id=u.id.clone() changed/></li> }
                                }).collect_view()}</ul>
                            </div>
                        })}
                        {(!failed.is_empty()).then(|| view! {
                            <div class="alert" data-testid="failed-uploads">
                                <strong>{t!(i18n, "upload-failed")}</strong>
                                <ul>{failed.into_iter().map(|u| {
                                    let name = u.metadata.get("filename").cloned().unwrap_or_default();
                                    let id = u.id.clone();
                                    let retry = move |_| {
                                        let id = id.clone();
                                        leptos::task::spawn_local(async move {
                                            let _ = crate::api::images::retry_upload(id).await;
                                            changed.run(());
                                        });
                                    };
                                    view! { <li>{name}" — "<a href="/tasks">{t!(i18n, "upload-why")}</a>" "
                                        <button class="btn small" type="button" on:click=retry>{t!(i18n, "upload-retry")}</button>" "
                                        <DiscardButton id=u.id.clone() changed/></li> }
                                }).collect_view()}</ul>
                            </div>
                        })}
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// Discards an upload (its bytes and its reserved quota), after asking.
#[component]
fn DiscardButton(id: String, changed: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = RwSignal::new(false);
    let discard = move |_| {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let _ = crate::api::images::discard_upload(id).await;
            changed.run(());
        });
    };
    view! {
        <Show when=move || confirm.get() fallback=move || view! {
            <button class="btn small" type="button" data-testid="upload-discard" on:click=move |_| confirm.set(true)>{t!(i18n, "upload-discard")}</button>
        }>
            <span class="confirm">{t!(i18n, "upload-cancel-confirm")}" "
                <button class="btn small danger" type="button" data-testid="upload-discard-confirm" on:click=discard.clone()>{t!(i18n, "action-delete")}</button>
                <button class="btn small" type="button" on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
            </span>
        </Show>
    }
}
