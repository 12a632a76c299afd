//! All accounts, and the form that creates one.
use super::quota_form::{QuotaFields, QuotaInputs};
use crate::api::{ApiError, CreateUser, QuotaLimits, Role, User};
use crate::components::layout::use_me;
use crate::components::widgets::{role_label, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn UserList() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let users = Resource::new(move || version.get(), |_| crate::api::users::list_users());
    let me = use_me();
    view! {
        <h1>{t!(i18n, "users-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                // The form starts from the configured default quota, as the server applies it.
                me.await.ok().filter(|m| m.can.manage_users).map(|m| {
                    let defaults = m.can.default_quota.unwrap_or(QuotaLimits { max_vms: 0, max_vcpus: 0, max_memory_mib: 0, max_disk_gib: 0 });
                    view! { <CreateUserForm defaults on_created=move || version.update(|v| *v += 1)/> }
                })
            })}
        </Suspense>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! { <UserTable users=list/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserTable(users: Vec<User>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="table" data-testid="users-table">
            <thead>
                <tr>
                    <th>{t!(i18n, "field-username")}</th>
                    <th>{t!(i18n, "field-display-name")}</th>
                    <th>{t!(i18n, "field-role")}</th>
                    <th>{t!(i18n, "field-status")}</th>
                    <th>{t!(i18n, "quota-vms")}</th>
                    <th>{t!(i18n, "quota-vcpus")}</th>
                    <th>{t!(i18n, "quota-memory")}</th>
                    <th>{t!(i18n, "quota-disk")}</th>
                </tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|u| {
                        let q = u.quota.clone();
                        let status = if u.disabled { t!(i18n, "status-disabled").into_any() } else { t!(i18n, "status-active").into_any() };
                        view! {
                            <tr data-testid=format!("user-row-{}", u.username)>
                                <td><a href=format!("/users/{}", u.id)>{u.username.clone()}</a></td>
                                <td>{u.display_name.clone()}</td>
                                <td>{role_label(i18n, u.role)}</td>
                                <td>{status}</td>
                                <td class="num">{format!("{} / {}", q.used_vms, q.max_vms)}</td>
                                <td class="num">{format!("{} / {}", q.used_vcpus, q.max_vcpus)}</td>
                                <td class="num">{format!("{} / {} MiB", q.used_memory_mib, q.max_memory_mib)}</td>
                                <td class="num">{format!("{} / {} GiB", q.used_disk_gib, q.max_disk_gib)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn CreateUserForm(defaults: QuotaLimits, on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::User);
    let quota = QuotaInputs::new(&defaults);
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(None);
        let limits = match quota.limits() {
            Ok(l) => l,
            Err(field) => {
                error.set(Some(ApiError {
                    code: "invalid_input".into(),
                    message: field.into(),
                    details: serde_json::json!({ "field": field, "reason": "not_a_number" }),
                }));
                return;
            }
        };
        let req = CreateUser {
            username: username.get_untracked().trim().to_string(),
            password: password.get_untracked(),
            display_name: display_name.get_untracked(),
            email: String::new(),
            role: role.get_untracked(),
            quota: Some(limits),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match crate::api::users::create_user(req).await {
                Ok(u) => {
                    done.set(Some(u.username));
                    username.set(String::new());
                    password.set(String::new());
                    display_name.set(String::new());
                    on_created();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="toolbar">
            <button class="btn primary" data-testid="new-user" on:click=move |_| open.update(|o| *o = !*o)>
                {t!(i18n, "users-new")}
            </button>
            {move || done.get().map(|name| view! {
                <span class="alert ok" data-testid="user-created">{t!(i18n, "users-created", name = name.clone())}</span>
            })}
        </div>
        <Show when=move || open.get()>
            <form class="card form" on:submit=submit data-testid="create-user-form">
                <h2>{t!(i18n, "users-new")}</h2>
                <div class="grid3">
                    <label>
                        {t!(i18n, "field-username")}
                        <input required maxlength="64" autocomplete="off" data-testid="new-username" bind:value=username/>
                    </label>
                    <label>
                        {t!(i18n, "field-display-name")}
                        <input maxlength="100" data-testid="new-display-name" bind:value=display_name/>
                    </label>
                    <label>
                        {t!(i18n, "field-password")}
                        <input type="password" required autocomplete="new-password" data-testid="new-password" bind:value=password/>
                    </label>
                    <label>
                        {t!(i18n, "field-role")}
                        <RoleSelect role testid="new-role"/>
                    </label>
                </div>
                <h3>{t!(i18n, "quota-title")}</h3>
                <QuotaFields inputs=quota/>
                <ErrorBox error/>
                <div class="actions">
                    <button class="btn primary" type="submit" disabled=move || busy.get() data-testid="create-user-submit">
                        {t!(i18n, "action-create")}
                    </button>
                    <button class="btn" type="button" on:click=move |_| open.set(false)>{t!(i18n, "action-cancel")}</button>
                </div>
            </form>
        </Show>
    }
}

#[component]
pub fn RoleSelect(role: RwSignal<Role>, testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <select data-testid=testid on:change=move |ev| {
            if let Some(r) = Role::parse(&event_target_value(&ev)) {
                role.set(r);
            }
        }>
            {Role::ALL
                .into_iter()
                .map(|r| view! { <option value=r.as_str() selected=move || role.get() == r>{role_label(i18n, r)}</option> })
                .collect_view()}
        </select>
    }
}
