//! The signed-in frame: navigation, language switcher, user menu; sends strangers to the login page.
use crate::api::{ApiError, Me, UpdateProfile};
use crate::i18n::{use_i18n, I18n, Lang};
use crate::t;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

/// The signed-in user, fetched once per page load and shared by every page.
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Result<Me, ApiError>>);

pub fn use_me() -> Resource<Result<Me, ApiError>> {
    use_context::<MeResource>()
        .map(|m| m.0)
        .unwrap_or_else(|| Resource::new(|| (), |_| crate::api::auth::me()))
}

#[component]
pub fn Layout() -> impl IntoView {
    let me = Resource::new(|| (), |_| crate::api::auth::me());
    provide_context(MeResource(me));
    view! {
        <Suspense fallback=|| view! { <div class="loading">"…"</div> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <Frame me/> }.into_any(),
                    Err(_) => view! { <Redirect path="/login"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Frame(me: Me) -> impl IntoView {
    let i18n = use_i18n();
    let (sees_hosts, sees_users, sees_audit) = (me.can.read_hosts, me.can.list_users, me.can.read_audit);
    let sees_storage = me.can.read_storage;
    let name = if me.user.display_name.is_empty() {
        me.user.username.clone()
    } else {
        me.user.display_name.clone()
    };
    let soon = move || crate::tr!(i18n, "nav-coming-soon");
    view! {
        <div class="app">
            <aside class="sidebar">
                <div class="brand">"Hangar"</div>
                <nav data-testid="nav">
                    <A href="/" exact=true>{t!(i18n, "nav-dashboard")}</A>
                    <A href="/vms" attr:data-testid="nav-vms">{t!(i18n, "nav-vms")}</A>
                    {sees_hosts.then(|| view! { <A href="/hosts" attr:data-testid="nav-hosts">{t!(i18n, "nav-hosts")}</A> })}
                    {sees_storage.then(|| view! { <A href="/storage" attr:data-testid="nav-storage">{t!(i18n, "nav-storage")}</A> })}
                    <span class="nav-disabled" title=soon aria-disabled="true">{t!(i18n, "nav-networks")}</span>
                    <A href="/images" attr:data-testid="nav-images">{t!(i18n, "nav-images")}</A>
                    <A href="/tasks" attr:data-testid="nav-tasks">{t!(i18n, "nav-tasks")}</A>
                    <A href="/alerts" attr:data-testid="nav-alerts">{t!(i18n, "nav-alerts")}</A>
                    {sees_users.then(|| view! { <A href="/users" attr:data-testid="nav-users">{t!(i18n, "nav-users")}</A> })}
                    {sees_audit.then(|| view! { <A href="/audit" attr:data-testid="nav-audit">{t!(i18n, "nav-audit")}</A> })}
                    <A href="/profile" attr:data-testid="nav-profile">{t!(i18n, "nav-profile")}</A>
                    <a href="/api/docs" rel="external">{t!(i18n, "nav-api-docs")}</a>
                </nav>
            </aside>
            <div class="main">
                <header class="topbar">
                    <span class="spacer"></span>
                    <crate::components::tasks_indicator::TasksIndicator/>
                    <LanguageSwitcher signed_in=true/>
                    <span class="who" data-testid="whoami">{name}</span>
                    <button class="btn link" data-testid="logout" on:click=move |_| logout()>
                        {t!(i18n, "action-sign-out")}
                    </button>
                </header>
                <main class="content">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

fn logout() {
    leptos::task::spawn_local(async move {
        let _ = crate::api::auth::logout().await;
        go_to("/login");
    });
}

/// A full page load: after sign-in and sign-out every resource must be fetched again.
pub fn go_to(_path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(_path);
    }
}

/// Switches the language at once; remembers it in a cookie and, when signed in, in the profile.
#[component]
pub fn LanguageSwitcher(signed_in: bool) -> impl IntoView {
    let I18n(lang) = use_i18n();
    let label = t!(use_i18n(), "language");
    let on_change = move |ev: leptos::ev::Event| {
        let Some(l) = Lang::parse(&event_target_value(&ev)) else {
            return;
        };
        lang.set(l);
        #[cfg(feature = "hydrate")]
        {
            crate::i18n::write_lang_cookie(l);
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                let _ = el.set_attribute("lang", l.code());
            }
        }
        if signed_in {
            let req = UpdateProfile {
                language: Some(l.code().to_string()),
                ..Default::default()
            };
            leptos::task::spawn_local(async move {
                let _ = crate::api::users::update_profile(req).await;
            });
        }
    };
    view! {
        <select class="lang" aria-label=label data-testid="language" on:change=on_change>
            {Lang::ALL
                .into_iter()
                .map(|l| {
                    view! {
                        <option value=l.code() selected=move || lang.get() == l>
                            {l.native_name()}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    }
}
