//! The page for an unknown address.
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <div class="center-page">
            <h1>{t!(i18n, "not-found-title")}</h1>
            <p><a href="/">{t!(i18n, "not-found-home")}</a></p>
        </div>
    }
}
