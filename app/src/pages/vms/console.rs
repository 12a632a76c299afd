//! Consoles in the browser: the full-window console page (noVNC or xterm.js, driven by `/js/console.js`), the
//! share page for people without an account, and the VM page's panel (open a console, sessions open now, share
//! links).
use crate::api::{ApiError, ConsoleKind, ConsoleLink, ConsoleSession, NewConsoleLink};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// What `/js/console.js` says, in the page's language.
fn labels(i18n: crate::i18n::I18n) -> impl Fn() -> String {
    move || {
        let l = |k: &str| crate::i18n::lookup(i18n.0.get(), &format!("console-{k}"), k);
        let mut m = serde_json::Map::new();
        for k in [
            "connecting",
            "connected",
            "connected-view-only",
            "disconnected",
            "typed",
            "copied",
            "copy-failed",
            "nothing-selected",
            "link-invalid",
            "reason-ended_by_user",
            "reason-vm_closed",
            "reason-idle",
            "reason-ended_by_admin",
            "reason-signed_out",
            "reason-host_offline",
            "reason-link_expired",
            "reason-link_revoked",
            "reason-frame_too_large",
            "reason-bad_input",
            "reason-vm_off",
            "reason-paused",
            "reason-no_graphics",
            "reason-no_serial",
            "reason-vnc_loopback_only",
            "reason-vnc_unreachable",
            "reason-vnc_password_refused",
            "reason-serial_unavailable",
            "reason-serial_busy",
        ] {
            m.insert(k.to_string(), serde_json::Value::String(l(&k.replace('_', "-"))));
        }
        serde_json::Value::Object(m).to_string()
    }
}

fn kind_label(i18n: crate::i18n::I18n, k: ConsoleKind) -> impl Fn() -> String {
    let key = match k {
        ConsoleKind::Vnc => "console-screen",
        ConsoleKind::Serial => "console-serial",
    };
    move || crate::i18n::lookup(i18n.0.get(), key, key)
}

fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// The toolbar and the screen; `vm` is empty on the share page.
#[component]
fn ConsoleView(vm: String, kind: String, share: bool) -> impl IntoView {
    let i18n = use_i18n();
    let is_vnc = kind == "vnc";
    let back = (!share).then(|| {
        let href = format!("/vms/{vm}");
        view! { <a href=href class="btn small">{t!(i18n, "console-back")}</a> }
    });
    let screenshot = (!share).then(|| {
        let href = format!("/api/v1/vms/{vm}/screenshot");
        view! { <a href=href download="" class="btn small" data-testid="console-screenshot">{t!(i18n, "console-screenshot")}</a> }
    });
    let switch = (!share).then(|| {
        view! {
            <a href="?kind=vnc" class="btn small" class:active=is_vnc data-kind-switch="vnc">{t!(i18n, "console-screen")}</a>
            <a href="?kind=serial" class="btn small" class:active=!is_vnc data-kind-switch="serial">{t!(i18n, "console-serial")}</a>
        }
    });
    let fkeys = (1..=12)
        .map(|n| {
            let v = format!("caf{n}");
            view! { <option value=v>{format!("Ctrl+Alt+F{n}")}</option> }
        })
        .collect_view();
    view! {
        <link rel="stylesheet" href="/vendor/xterm/xterm.css"/>
        <script type="module" src="/js/console.js"></script>
        <section class="console" data-console="" data-vm=vm data-kind=kind data-share=share.then_some("")
            data-labels=labels(i18n) data-testid="console">
            <div class="console-toolbar">
                {back}
                <strong data-vm-name=""></strong>
                {switch}
                <span class="console-status" data-status="" data-testid="console-status" role="status" aria-live="polite"></span>
                <span class="grow"></span>
                <label class="inline vnc-only">{t!(i18n, "console-scale")}
                    <select data-scale="" data-testid="console-scale">
                        <option value="fit">{t!(i18n, "console-scale-fit")}</option>
                        <option value="1:1">"1:1"</option>
                        <option value="remote">{t!(i18n, "console-scale-remote")}</option>
                    </select>
                </label>
                <button class="btn small vnc-only input-only" data-keys="cad" data-testid="console-cad">"Ctrl+Alt+Del"</button>
                <select class="vnc-only input-only" data-keys-menu="" aria-label=move || crate::tr!(i18n, "console-keys") data-testid="console-keys">
                    <option value="alt-tab">"Alt+Tab"</option>
                    <option value="print">"PrintScreen"</option>
                    {fkeys}
                </select>
                <button class="btn small vnc-only input-only" data-keys-send="" data-testid="console-keys-send">{t!(i18n, "console-send-keys")}</button>
                {screenshot}
                <button class="btn small serial-only" data-copy="">{t!(i18n, "console-copy")}</button>
                <button class="btn small" data-fullscreen="">{t!(i18n, "console-fullscreen")}</button>
                <button class="btn small" data-reconnect="" data-testid="console-reconnect">{t!(i18n, "console-reconnect")}</button>
            </div>
            <details class="console-paste input-only">
                <summary>{t!(i18n, "console-paste")}</summary>
                <textarea data-paste-text="" rows="3" data-testid="console-paste-text"
                    placeholder=move || crate::tr!(i18n, "console-paste-hint")></textarea>
                <label class="inline">{t!(i18n, "console-layout")}
                    <select data-layout="">
                        <option value="us">"English (US)"</option>
                        <option value="de">"Deutsch (QWERTZ)"</option>
                        <option value="fr">"Français (AZERTY)"</option>
                    </select>
                </label>
                <button class="btn small" data-paste="" data-testid="console-paste">{t!(i18n, "console-type-it")}</button>
            </details>
            <div class="console-screen" data-screen="" data-testid="console-screen"></div>
        </section>
    }
    .into_any()
}

/// `/vms/:id/console?kind=vnc|serial`.
#[component]
pub fn ConsolePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let vm = params.read_untracked().get("id").unwrap_or_default();
    let kind = match query.read_untracked().get("kind").as_deref() {
        Some("serial") => "serial",
        _ => "vnc",
    };
    view! { <ConsoleView vm kind=kind.to_string() share=false/> }
}

/// `/console-share#<secret>`: a share link's console, for anyone holding the link.
#[component]
pub fn ConsoleSharePage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <main class="share-page">
            <p class="muted">{t!(i18n, "console-shared-notice")}</p>
            <ConsoleView vm=String::new() kind="vnc".to_string() share=true/>
        </main>
    }
}

/// The VM page's console panel: open the screen or the serial line, the sessions open now (ending them), and the
/// share links (for the VM's owner and admins: the server says who by answering the list).
#[component]
pub fn ConsolePanel(id: String, is_admin: bool, my_name: String) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<ApiError>);
    let sessions = RwSignal::new(Vec::<ConsoleSession>::new());
    let links = RwSignal::new(None::<Vec<ConsoleLink>>);
    let created = RwSignal::new(None::<String>);
    let load = {
        let id = id.clone();
        move || {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                if let Ok(s) = crate::api::consoles::console_sessions(id.clone()).await {
                    sessions.try_set(s);
                }
                // Refused (not the owner, not an admin): no share section.
                links.try_set(crate::api::consoles::console_links(id).await.ok());
            });
        }
    };
    #[cfg(feature = "hydrate")]
    {
        load();
        let again = load.clone();
        if let Ok(h) = set_interval_with_handle(again, std::time::Duration::from_secs(5)) {
            on_cleanup(move || h.clear());
        }
    }
    let my_name = StoredValue::new(my_name);
    let end = {
        let load = load.clone();
        move |sid: i64| {
            let load = load.clone();
            leptos::task::spawn_local(async move {
                match crate::api::consoles::end_console_session(sid).await {
                    Ok(()) => load(),
                    Err(e) => {
                        error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let end = StoredValue::new(end);
    let kind = RwSignal::new("vnc".to_string());
    let view_only = RwSignal::new(true);
    let minutes = RwSignal::new("60".to_string());
    let create = {
        let (id, load) = (id.clone(), load.clone());
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let (id, load) = (id.clone(), load.clone());
            let l = NewConsoleLink {
                kind: ConsoleKind::parse(&kind.get_untracked()).unwrap_or(ConsoleKind::Vnc),
                view_only: view_only.get_untracked(),
                expires_minutes: minutes.get_untracked().trim().parse().unwrap_or(0),
            };
            leptos::task::spawn_local(async move {
                match crate::api::consoles::create_console_link(id, l).await {
                    Ok(c) => {
                        error.try_set(None);
                        #[cfg(feature = "hydrate")]
                        let url = format!("{}{}", window().location().origin().unwrap_or_default(), c.url);
                        #[cfg(not(feature = "hydrate"))]
                        let url = c.url;
                        created.try_set(Some(url));
                        load();
                    }
                    Err(e) => {
                        error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let revoke = {
        let load = load.clone();
        move |lid: i64| {
            if !super::devices::confirmed(i18n, "console-revoke-confirm", &[]) {
                return;
            }
            let load = load.clone();
            leptos::task::spawn_local(async move {
                match crate::api::consoles::revoke_console_link(lid).await {
                    Ok(()) => load(),
                    Err(e) => {
                        error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let (vnc_href, serial_href) = (
        format!("/vms/{id}/console?kind=vnc"),
        format!("/vms/{id}/console?kind=serial"),
    );
    view! {
        <section class="card" data-testid="console-panel">
            <h2>{t!(i18n, "console-title")}</h2>
            <crate::components::widgets::ErrorBox error/>
            <div class="toolbar">
                <a class="btn" href=vnc_href target="_blank" data-testid="open-vnc">{t!(i18n, "console-open-screen")}</a>
                <a class="btn" href=serial_href target="_blank" data-testid="open-serial">{t!(i18n, "console-open-serial")}</a>
            </div>
            <h3>{t!(i18n, "console-sessions")}</h3>
            <Show when=move || !sessions.with(Vec::is_empty) fallback=move || view! { <p class="muted">{t!(i18n, "console-no-sessions")}</p> }>
                <table class="table" data-testid="console-sessions">
                    <thead><tr><th>{t!(i18n, "console-who")}</th><th>{t!(i18n, "console-kind")}</th><th>{t!(i18n, "console-from")}</th>
                        <th>{t!(i18n, "console-since")}</th><th>{t!(i18n, "console-bytes")}</th><th></th></tr></thead>
                    <tbody>{move || sessions.get().into_iter().map(|s| {
                        let end = end.get_value();
                        // Admins end anyone's session, everyone their own (the server checks again).
                        let mine = s.link_id.is_none() && my_name.with_value(|n| *n == s.user);
                        let may_end = is_admin || mine;
                        view! {
                            <tr>
                                <td>{s.user.clone()} {s.view_only.then(|| view! { " " <span class="tag">{t!(i18n, "console-view-only")}</span> })}</td>
                                <td>{kind_label(i18n, s.kind)}</td>
                                <td>{s.source.clone()}</td>
                                <td class="nowrap">{crate::components::widgets::fmt_time(s.started_at)}</td>
                                <td>{format!("↑ {} ↓ {}", crate::components::widgets::fmt_bytes(s.bytes_to_vm), crate::components::widgets::fmt_bytes(s.bytes_from_vm))}</td>
                                <td>{may_end.then(|| view! {
                                    <button class="btn small danger" on:click=move |_| end(s.id) data-testid="console-end">{t!(i18n, "console-end")}</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            </Show>
            {move || links.get().map(|list| {
                let revoke = revoke.clone();
                let create = create.clone();
                view! {
                    <h3>{t!(i18n, "console-links")}</h3>
                    <p class="muted">{t!(i18n, "console-links-hint")}</p>
                    <form class="form inline-form" on:submit=create data-testid="console-link-form">
                        <label>{t!(i18n, "console-kind")}
                            <select bind:value=kind data-testid="console-link-kind">
                                <option value="vnc">{t!(i18n, "console-screen")}</option>
                                <option value="serial">{t!(i18n, "console-serial")}</option>
                            </select>
                        </label>
                        <label class="inline"><input type="checkbox" bind:checked=view_only data-testid="console-link-view-only"/>
                            {t!(i18n, "console-view-only")}</label>
                        <label>{t!(i18n, "console-expires-minutes")}
                            <input type="number" min="1" bind:value=minutes required data-testid="console-link-minutes"/></label>
                        <button class="btn primary" type="submit" data-testid="console-link-create">{t!(i18n, "console-link-create")}</button>
                    </form>
                    {move || created.get().map(|url| view! {
                        <div class="alert ok" data-testid="console-link-url">
                            {t!(i18n, "console-link-once")} " " <code class="wrap">{url}</code>
                        </div>
                    })}
                    <table class="table" data-testid="console-links">
                        <thead><tr><th>"#"</th><th>{t!(i18n, "console-kind")}</th><th>{t!(i18n, "console-by")}</th>
                            <th>{t!(i18n, "console-expires")}</th><th>{t!(i18n, "console-uses")}</th><th></th></tr></thead>
                        <tbody>{list.into_iter().map(|l| {
                            let revoke = revoke.clone();
                            let now = now_ms();
                            let live = l.revoked_at.is_none() && l.expires_at > now;
                            let state = if l.revoked_at.is_some() { "console-revoked" } else if !live { "console-expired" } else { "" };
                            view! {
                                <tr class:muted=!live>
                                    <td>{l.id}</td>
                                    <td>{kind_label(i18n, l.kind)} " "
                                        {if l.view_only {
                                            view! { <span class="tag">{t!(i18n, "console-view-only")}</span> }.into_any()
                                        } else {
                                            view! { <span class="tag">{t!(i18n, "console-interactive")}</span> }.into_any()
                                        }}</td>
                                    <td>{l.created_by.clone()}</td>
                                    <td class="nowrap">{crate::components::widgets::fmt_time(l.expires_at)} " "
                                        {(!state.is_empty()).then(|| view! { <span class="tag">{move || crate::i18n::lookup(i18n.0.get(), state, state)}</span> })}</td>
                                    <td>{l.uses}</td>
                                    <td>{live.then(|| view! {
                                        <button class="btn small danger" on:click=move |_| revoke(l.id) data-testid="console-link-revoke">{t!(i18n, "console-revoke")}</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }
                .into_any()
            })}
        </section>
    }
    .into_any()
}
