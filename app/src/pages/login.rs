//! The sign-in page.
use crate::api::{ApiError, LoginRequest};
use crate::components::layout::{go_to, LanguageSwitcher};
use crate::components::widgets::ErrorBox;
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let req = LoginRequest {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match crate::api::auth::login(req).await {
                Ok(me) => {
                    #[cfg(feature = "hydrate")]
                    if let Some(l) = crate::i18n::Lang::parse(&me.user.language) {
                        crate::i18n::write_lang_cookie(l);
                    }
                    let _ = me;
                    go_to("/");
                }
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <div class="login-page">
            <form class="card login" on:submit=submit data-testid="login-form">
                <div class="login-head">
                    <h1>"Hangar"</h1>
                    <LanguageSwitcher signed_in=false/>
                </div>
                <p class="muted">{t!(i18n, "login-subtitle")}</p>
                <label>
                    {t!(i18n, "field-username")}
                    <input name="username" autocomplete="username" required autofocus data-testid="login-username"
                        bind:value=username/>
                </label>
                <label>
                    {t!(i18n, "field-password")}
                    <input name="password" type="password" autocomplete="current-password" required
                        data-testid="login-password" bind:value=password/>
                </label>
                <ErrorBox error/>
                <button class="btn primary" type="submit" disabled=move || busy.get() data-testid="login-submit">
                    {t!(i18n, "action-sign-in")}
                </button>
            </form>
        </div>
    }
}
