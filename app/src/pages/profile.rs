//! One's own account: name, language, password, avatar and API tokens.
use crate::api::{ApiError, ApiToken, ChangePassword, CreateToken, UpdateProfile};
use crate::components::layout::use_me;
use crate::components::widgets::{fmt_time, role_label, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let i18n = use_i18n();
    let me = use_me();
    let (token_version, tokens) = token_list();
    view! {
        <h1>{t!(i18n, "profile-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(m) => view! {
                        <p class="muted" data-testid="profile-role">{m.user.username.clone()} " · " {role_label(i18n, m.user.role)}</p>
                        <ProfileForm display_name=m.user.display_name.clone() email=m.user.email.clone()/>
                        <AvatarForm user_id=m.user.id has_avatar=m.user.has_avatar/>
                        <PasswordForm/>
                        <Tokens version=token_version tokens/>
                    }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProfileForm(display_name: String, email: String) -> impl IntoView {
    let i18n = use_i18n();
    let display_name = RwSignal::new(display_name);
    let email = RwSignal::new(email);
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = UpdateProfile {
            display_name: Some(display_name.get_untracked()),
            email: Some(email.get_untracked()),
            language: None,
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::users::update_profile(req).await;
            saved.set(r.is_ok());
            error.set(r.err());
        });
    };
    view! {
        <form class="card form" on:submit=submit data-testid="profile-form">
            <h2>{t!(i18n, "profile-details")}</h2>
            <div class="grid3">
                <label>{t!(i18n, "field-display-name")}<input maxlength="100" data-testid="profile-display-name" bind:value=display_name/></label>
                <label>{t!(i18n, "field-email")}<input type="email" maxlength="254" bind:value=email/></label>
            </div>
            <ErrorBox error/>
            <Show when=move || saved.get()><div class="alert ok">{t!(i18n, "saved")}</div></Show>
            <div class="actions"><button class="btn primary" type="submit">{t!(i18n, "action-save")}</button></div>
        </form>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let i18n = use_i18n();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = ChangePassword {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::users::change_password(req).await;
            if r.is_ok() {
                current.set(String::new());
                new.set(String::new());
            }
            saved.set(r.is_ok());
            error.set(r.err());
        });
    };
    view! {
        <form class="card form" on:submit=submit data-testid="password-form">
            <h2>{t!(i18n, "profile-password")}</h2>
            <div class="grid3">
                <label>{t!(i18n, "field-current-password")}
                    <input type="password" required autocomplete="current-password" data-testid="current-password" bind:value=current/>
                </label>
                <label>{t!(i18n, "field-new-password")}
                    <input type="password" required autocomplete="new-password" data-testid="new-password" bind:value=new/>
                </label>
            </div>
            <ErrorBox error/>
            <Show when=move || saved.get()><div class="alert ok" data-testid="password-saved">{t!(i18n, "profile-password-changed")}</div></Show>
            <div class="actions"><button class="btn primary" type="submit" data-testid="password-submit">{t!(i18n, "profile-change-password")}</button></div>
        </form>
    }
}

#[component]
fn AvatarForm(user_id: i64, has_avatar: bool) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(if has_avatar { 1u32 } else { 0 });
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let on_file = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = _ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            leptos::task::spawn_local(async move {
                let buf = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                    Ok(b) => b,
                    Err(_) => return,
                };
                let bytes = js_sys::Uint8Array::new(&buf);
                let kind = file.type_();
                // The answer is the updated account.
                match crate::api::client::put_bytes::<crate::api::User>("/api/v1/profile/avatar", &kind, bytes).await {
                    Ok(_) => {
                        error.set(None);
                        saved.set(true);
                        version.update(|v| *v += 1);
                    }
                    Err(e) => {
                        saved.set(false);
                        error.set(Some(e));
                    }
                }
            });
        }
    };
    view! {
        <section class="card form" data-testid="avatar-form">
            <h2>{t!(i18n, "profile-avatar")}</h2>
            <div class="avatar-row">
                {move || (version.get() > 0).then(|| view! {
                    <img class="avatar" alt="" data-testid="avatar-img"
                        src=format!("/api/v1/users/{user_id}/avatar?v={}", version.get())/>
                })}
                <label>{t!(i18n, "profile-avatar-hint")}
                    <input type="file" accept="image/png,image/jpeg,image/webp" data-testid="avatar-input" on:change=on_file/>
                </label>
            </div>
            <ErrorBox error/>
            <Show when=move || saved.get()><div class="alert ok" data-testid="avatar-saved">{t!(i18n, "profile-avatar-saved")}</div></Show>
        </section>
    }
}

/// The token list, made when the page is made (not inside another resource's loading), so that its place in
/// the server-rendered page is the same on every load and hydration finds it there.
fn token_list() -> (RwSignal<u32>, Resource<Result<Vec<ApiToken>, ApiError>>) {
    let version = RwSignal::new(0u32);
    (
        version,
        Resource::new(move || version.get(), |_| crate::api::tokens::list_tokens()),
    )
}

#[component]
fn Tokens(version: RwSignal<u32>, tokens: Resource<Result<Vec<ApiToken>, ApiError>>) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    // The secret of the token just made (shown once), with its id, so revoking it also hides it.
    let secret = RwSignal::new(None::<(i64, String)>);
    let error = RwSignal::new(None::<ApiError>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = CreateToken {
            name: name.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match crate::api::tokens::create_token(req).await {
                Ok(t) => {
                    secret.set(Some((t.token.id, t.secret)));
                    name.set(String::new());
                    error.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let revoke = move |id: i64| {
        leptos::task::spawn_local(async move {
            match crate::api::tokens::delete_token(id).await {
                Ok(()) => {
                    if secret.get_untracked().is_some_and(|(s, _)| s == id) {
                        secret.set(None);
                    }
                    version.update(|v| *v += 1)
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card form" data-testid="tokens">
            <h2>{t!(i18n, "tokens-title")}</h2>
            <p class="muted">{t!(i18n, "tokens-hint")}</p>
            <form class="inline" on:submit=create>
                <input required maxlength="100" placeholder=move || crate::tr!(i18n, "tokens-name") data-testid="token-name" bind:value=name/>
                <button class="btn primary" type="submit" data-testid="token-create">{t!(i18n, "tokens-create")}</button>
            </form>
            {move || secret.get().map(|(_, s)| view! {
                <div class="alert ok"><p>{t!(i18n, "tokens-shown-once")}</p><code class="secret" data-testid="token-secret">{s}</code></div>
            })}
            <ErrorBox error/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) => view! { <TokenTable list revoke/> }.into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TokenTable(list: Vec<ApiToken>, revoke: impl Fn(i64) + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = RwSignal::new(None::<i64>);
    view! {
        <table class="table">
            <thead><tr>
                <th>{t!(i18n, "tokens-name")}</th><th>{t!(i18n, "tokens-prefix")}</th>
                <th>{t!(i18n, "tokens-created")}</th><th>{t!(i18n, "tokens-last-used")}</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|tk| {
                    let id = tk.id;
                    view! {
                        <tr data-testid="token-row">
                            <td>{tk.name.clone()}</td>
                            <td><code>{format!("{}…", tk.prefix)}</code></td>
                            <td>{fmt_time(tk.created_at)}</td>
                            <td>{tk.last_used_at.map(fmt_time).unwrap_or_else(|| "—".into())}</td>
                            <td class="nowrap">
                                // Scripts using the token stop working at once: asked first.
                                <Show when=move || confirm.get() == Some(id) fallback=move || view! {
                                    <button class="btn link" data-testid="token-revoke" on:click=move |_| confirm.set(Some(id))>{t!(i18n, "tokens-revoke")}</button>
                                }>
                                    <span class="confirm">{t!(i18n, "tokens-revoke-confirm")} " "
                                        <button class="btn small danger" data-testid="token-revoke-confirm" on:click=move |_| { confirm.set(None); revoke(id) }>{t!(i18n, "tokens-revoke")}</button>
                                        <button class="btn small" on:click=move |_| confirm.set(None)>{t!(i18n, "action-cancel")}</button>
                                    </span>
                                </Show>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
