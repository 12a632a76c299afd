//! One account: edit, role, disable, quota with usage, their VMs, password reset, delete.
use super::list::RoleSelect;
use super::quota_form::{QuotaFields, QuotaInputs};
use crate::api::{ApiError, QuotaLimits, UpdateUser, User};
use crate::components::layout::use_me;
use crate::components::widgets::{fmt_time, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

#[component]
pub fn UserDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let user = Resource::new(id, crate::api::users::get_user);
    let vms = Resource::new(id, |id| {
        crate::api::vms::list_vms(crate::api::VmQuery {
            owner: Some(id.to_string()),
            per_page: Some(1000),
            ..Default::default()
        })
    });
    let me = use_me();
    let i18n = use_i18n();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = matches!(me.await, Ok(m) if m.can.manage_users);
                match user.await {
                    Ok(u) => view! { <UserView user=u admin/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                // Only beside an account the caller may see.
                let shown = user.await.is_ok();
                vms.await.ok().filter(|_| shown).map(|p| view! {
                    <section class="card" data-testid="user-vms">
                        <h2>{t!(i18n, "users-vms")} " " <span class="muted">{p.total}</span></h2>
                        <ul class="vm-links">
                            {p.items.into_iter().map(|v| {
                                let state = v.state;
                                view! {
                                    <li><a href=format!("/vms/{}", v.id) class="wrap">{v.name}</a> " "
                                        <crate::pages::vms::actions::StateBadge state=Signal::derive(move || state)/></li>
                                }
                            }).collect_view()}
                        </ul>
                        {(p.total == 0).then(|| view! { <p class="muted">{t!(i18n, "vms-empty")}</p> })}
                    </section>
                })
            })}
        </Suspense>
    }
}

#[component]
fn UserView(user: User, admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    let id = user.id;
    let q = &user.quota;
    let usage = [q.used_vms, q.used_vcpus, q.used_memory_mib, q.used_disk_gib];
    let quota = QuotaInputs::new(&QuotaLimits {
        max_vms: q.max_vms,
        max_vcpus: q.max_vcpus,
        max_memory_mib: q.max_memory_mib,
        max_disk_gib: q.max_disk_gib,
    });
    let display_name = RwSignal::new(user.display_name.clone());
    let email = RwSignal::new(user.email.clone());
    let role = RwSignal::new(user.role);
    let disabled = RwSignal::new(user.disabled);
    let new_password = RwSignal::new(String::new());
    let keep_tokens = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);

    let finish = move |r: Result<(), ApiError>| match r {
        Ok(()) => {
            error.set(None);
            saved.set(true);
        }
        Err(e) => {
            saved.set(false);
            error.set(Some(e));
        }
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = UpdateUser {
            display_name: Some(display_name.get_untracked()),
            email: Some(email.get_untracked()),
            role: Some(role.get_untracked()),
            disabled: Some(disabled.get_untracked()),
            ..Default::default()
        };
        leptos::task::spawn_local(async move { finish(crate::api::users::update_user(id, req).await.map(|_| ())) });
    };
    let save_quota = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match quota.limits() {
            Ok(l) => {
                leptos::task::spawn_local(async move { finish(crate::api::users::set_quota(id, l).await.map(|_| ())) })
            }
            Err(field) => finish(Err(ApiError {
                code: "invalid_input".into(),
                message: field.into(),
                details: serde_json::json!({ "field": field, "reason": "not_a_number" }),
            })),
        }
    };
    let reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = UpdateUser {
            password: Some(new_password.get_untracked()),
            keep_tokens: Some(keep_tokens.get_untracked()),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::users::update_user(id, req).await.map(|_| ());
            if r.is_ok() {
                new_password.set(String::new());
            }
            finish(r)
        });
    };
    let navigate = use_navigate();
    let delete = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match crate::api::users::delete_user(id).await {
                Ok(()) => navigate("/users", Default::default()),
                Err(e) => finish(Err(e)),
            }
        });
    };
    let ro = !admin;
    view! {
        <p><a href="/users">{t!(i18n, "users-back")}</a></p>
        <h1 data-testid="user-title">{user.username.clone()}</h1>
        <p class="muted">{t!(i18n, "users-created-at", time = fmt_time(user.created_at))}</p>
        <ErrorBox error/>
        <Show when=move || saved.get()>
            <div class="alert ok" data-testid="saved">{t!(i18n, "saved")}</div>
        </Show>
        <form class="card form" on:submit=save data-testid="user-form">
            <h2>{t!(i18n, "users-account")}</h2>
            <fieldset disabled=ro>
                <div class="grid3">
                    <label>{t!(i18n, "field-display-name")}<input maxlength="100" bind:value=display_name/></label>
                    <label>{t!(i18n, "field-email")}<input type="email" maxlength="254" bind:value=email/></label>
                    <label>{t!(i18n, "field-role")}<RoleSelect role testid="edit-role"/></label>
                </div>
                <label class="check">
                    <input type="checkbox" data-testid="edit-disabled" bind:checked=disabled/>
                    {t!(i18n, "users-disabled")}
                </label>
                <div class="actions"><button class="btn primary" type="submit" data-testid="save-user">{t!(i18n, "action-save")}</button></div>
            </fieldset>
        </form>
        <form class="card form" on:submit=save_quota data-testid="quota-form">
            <h2>{t!(i18n, "quota-title")}</h2>
            <fieldset disabled=ro>
                <QuotaFields inputs=quota usage=usage/>
                <div class="actions"><button class="btn primary" type="submit" data-testid="save-quota">{t!(i18n, "action-save")}</button></div>
            </fieldset>
        </form>
        {admin.then(|| view! {
            <form class="card form" on:submit=reset data-testid="reset-form">
                <h2>{t!(i18n, "users-reset-password")}</h2>
                <label>{t!(i18n, "field-new-password")}
                    <input type="password" required autocomplete="new-password" data-testid="reset-password" bind:value=new_password/>
                </label>
                <p class="muted">{t!(i18n, "users-reset-ends-sessions")}</p>
                <label class="check">
                    <input type="checkbox" data-testid="reset-keep-tokens" bind:checked=keep_tokens/>
                    {t!(i18n, "users-reset-keep-tokens")}
                </label>
                <div class="actions"><button class="btn" type="submit" data-testid="reset-submit">{t!(i18n, "users-reset-password")}</button></div>
            </form>
            <section class="card danger">
                <h2>{t!(i18n, "users-delete")}</h2>
                <Show when=move || confirm_delete.get() fallback=move || view! {
                    <button class="btn danger" data-testid="delete-user" on:click=move |_| confirm_delete.set(true)>
                        {t!(i18n, "users-delete")}
                    </button>
                }>
                    <p>{t!(i18n, "users-delete-confirm")}</p>
                    <button class="btn danger" data-testid="delete-confirm" on:click=delete.clone()>{t!(i18n, "action-delete")}</button>
                    <button class="btn" on:click=move |_| confirm_delete.set(false)>{t!(i18n, "action-cancel")}</button>
                </Show>
            </section>
        })}
    }
}
