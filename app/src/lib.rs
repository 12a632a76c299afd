//! Hangar's web UI: pages, components and the API client, rendered on the server and hydrated in the browser.
#![recursion_limit = "256"]
pub mod api;
pub mod components;
pub mod i18n;
pub mod pages;

use i18n::I18n;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = i18n::initial_lang();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg"/>
                <link rel="stylesheet" href="/style/hangar.css"/>
                <HydrationScripts options/>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(I18n(RwSignal::new(i18n::initial_lang())));
    view! {
        <Title text="Hangar"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/console-share") view=pages::vms::console::ConsoleSharePage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=components::layout::Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::dashboard::Dashboard ssr=SsrMode::Async/>
                    <Route path=path!("vms") view=pages::vms::list::VmList ssr=SsrMode::Async/>
                    <Route path=path!("vms/new") view=pages::vms::create::CreateVmPage ssr=SsrMode::Async/>
                    <Route path=path!("vms/:id") view=pages::vms::detail::VmDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("vms/:id/console") view=pages::vms::console::ConsolePage ssr=SsrMode::Async/>
                    <Route path=path!("hosts") view=pages::hosts::list::HostList ssr=SsrMode::Async/>
                    <Route path=path!("hosts/:id") view=pages::hosts::detail::HostDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("storage") view=pages::storage::list::PoolList ssr=SsrMode::Async/>
                    <Route path=path!("storage/:id") view=pages::storage::pool::PoolPage ssr=SsrMode::Async/>
                    <Route path=path!("images") view=pages::images::list::ImageList ssr=SsrMode::Async/>
                    <Route path=path!("images/:id") view=pages::images::detail::ImageDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("tasks") view=pages::tasks::TasksPage ssr=SsrMode::Async/>
                    <Route path=path!("alerts") view=pages::alerts::list::AlertsPage ssr=SsrMode::Async/>
                    <Route path=path!("alerts/channels") view=pages::alerts::channels::ChannelsPage ssr=SsrMode::Async/>
                    <Route path=path!("users") view=pages::users::list::UserList ssr=SsrMode::Async/>
                    <Route path=path!("users/:id") view=pages::users::detail::UserDetail ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=pages::audit::list::AuditList ssr=SsrMode::Async/>
                    <Route path=path!("profile") view=pages::profile::ProfilePage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Browser tests wait for this before they click.
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
