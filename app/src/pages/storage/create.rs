//! The form that creates a storage pool: the fields shown follow the chosen type.
use crate::api::{ApiError, CreatePool, Host, PoolType};
use crate::components::widgets::ErrorBox;
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn CreatePool(
    on_created: Callback<()>,
    /// Created by the page, outside any Suspense (a resource made inside one breaks hydration).
    hosts: Resource<Result<Vec<Host>, ApiError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let host = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("dir".to_string());
    let fields: [(&'static str, RwSignal<String>); 7] = [
        ("target_path", RwSignal::new(String::new())),
        ("source_device", RwSignal::new(String::new())),
        ("source_host", RwSignal::new(String::new())),
        ("source_dir", RwSignal::new(String::new())),
        ("source_name", RwSignal::new(String::new())),
        ("auth_username", RwSignal::new(String::new())),
        ("secret_uuid", RwSignal::new(String::new())),
    ];
    let build = RwSignal::new(true);
    let autostart = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let current = move || PoolType::parse(&kind.get()).unwrap_or_default();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let k = PoolType::parse(&kind.get_untracked()).unwrap_or_default();
        let get = |f: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, s)| s.get_untracked())
                .filter(|v| !v.trim().is_empty() && k.fields().contains(&f))
        };
        let req = CreatePool {
            host_id: host.get_untracked().parse().unwrap_or(0),
            name: name.get_untracked().trim().to_string(),
            kind: k,
            target_path: get("target_path"),
            source_device: get("source_device"),
            source_host: get("source_host"),
            source_dir: get("source_dir"),
            source_name: get("source_name"),
            auth_username: get("auth_username"),
            secret_uuid: get("secret_uuid"),
            autostart: autostart.get_untracked(),
            build: build.get_untracked() && matches!(k, PoolType::Dir | PoolType::Logical),
            define_only: false,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::storage::create_pool(req).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(_) => {
                    error.set(None);
                    name.set(String::new());
                    open.set(false);
                    on_created.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Show when=move || open.get() fallback=move || view! {
            <p><button class="btn primary" data-testid="pool-create-open" on:click=move |_| open.set(true)>{t!(i18n, "storage-create")}</button></p>
        }>
            <form class="card form" on:submit=submit data-testid="pool-create">
                <h2>{t!(i18n, "storage-create")}</h2>
                <div class="grid3">
                    // (The whole select inside Suspense: markers inside a <select> break hydration.)
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = hosts.await.unwrap_or_default();
                            if host.get_untracked().is_empty() {
                                if let Some(first) = list.first() {
                                    host.set(first.id.to_string());
                                }
                            }
                            view! {
                                <label>{t!(i18n, "vms-host")}
                                    <select required bind:value=host data-testid="pool-host">
                                        <option value="">"—"</option>
                                        {list.into_iter().map(|h| view! { <option value=h.id.to_string()>{h.name}</option> }).collect_view()}
                                    </select>
                                </label>
                            }
                        })}
                    </Suspense>
                    <label>{t!(i18n, "vms-name")}<input required maxlength="64" pattern="[A-Za-z0-9_][A-Za-z0-9_.\\-]*" title=move || crate::tr!(i18n, "storage-name-rule") bind:value=name data-testid="pool-name"/></label>
                    <label>{t!(i18n, "storage-type")}
                        <select bind:value=kind data-testid="pool-kind">
                            {PoolType::ALL.into_iter().map(|k| view! {
                                <option value=k.as_str()>{move || crate::i18n::lookup(i18n.0.get(), &format!("pool-type-{}", k.as_str()), k.as_str())}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {fields.into_iter().map(|(f, sig)| view! {
                        <Show when=move || current().fields().contains(&f)>
                            <label>{move || crate::i18n::lookup(i18n.0.get(), &format!("label-{f}"), f)}
                                <input required=f != "source_device" || current() != PoolType::Logical bind:value=sig data-testid=format!("pool-{f}")
                                    placeholder=move || crate::i18n::lookup(i18n.0.get(), &format!("placeholder-{f}-{}", current().as_str()), "")/>
                            </label>
                        </Show>
                    }).collect_view()}
                </div>
                <label class="check"><input type="checkbox" bind:checked=autostart/>{t!(i18n, "storage-autostart")}</label>
                <Show when=move || matches!(current(), PoolType::Dir | PoolType::Logical)>
                    <label class="check"><input type="checkbox" bind:checked=build/>{t!(i18n, "storage-build")}</label>
                </Show>
                <ErrorBox error/>
                <div class="actions">
                    <button class="btn primary" type="submit" disabled=move || busy.get() data-testid="pool-create-submit">{t!(i18n, "storage-create")}</button>
                    <button class="btn" type="button" on:click=move |_| open.set(false)>{t!(i18n, "action-cancel")}</button>
                </div>
            </form>
        </Show>
    }
    .into_any()
}
