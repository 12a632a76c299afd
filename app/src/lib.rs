//! Hangar's web UI: pages, components and the API client, rendered on the server and hydrated in the browser.
#![recursion_limit = "256"]
pub mod api;
pub mod i18n;

use leptos::prelude::*;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <HydrationScripts options/>
            </head>
            <body><App/></body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    use leptos_router::components::*;
    use leptos_router::path;
    view! { <Router><Routes fallback=|| "not found"><Route path=path!("/") view=|| "hi"/></Routes></Router> }
}
