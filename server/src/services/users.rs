//! Accounts: list, create, edit, disable, delete, reset passwords and assign roles.
use crate::auth::{authorize, password, Action, Caller, Resource};
use crate::db::{self, users::NewUser};
use crate::error::{Error, Result};
use crate::services::{audit, validate};
use crate::state::AppState;
use app::api::{CreateUser, QuotaLimits, Role, UpdateUser, User};
use serde_json::json;

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<User>> {
    authorize(caller.require()?, Action::UserList, Resource::System)?;
    Ok(db::users::list(&state.db).await?.iter().map(|u| u.to_api()).collect())
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<User> {
    authorize(caller.require()?, Action::UserRead, Resource::User(id))?;
    let mut conn = state.db.acquire().await?;
    Ok(db::users::by_id(&mut conn, id)
        .await?
        .ok_or(Error::NotFound("user"))?
        .to_api())
}

pub fn default_quota(state: &AppState) -> QuotaLimits {
    let d = &state.config.default_quota;
    QuotaLimits {
        max_vms: d.max_vms,
        max_vcpus: d.max_vcpus,
        max_memory_mib: d.max_memory_mib,
        max_disk_gib: d.max_disk_gib,
    }
}

pub async fn create(state: &AppState, caller: &Caller, req: CreateUser) -> Result<User> {
    authorize(caller.require()?, Action::UserCreate, Resource::System)?;
    validate::username(&req.username)?;
    validate::display_name(&req.display_name)?;
    validate::email(&req.email)?;
    password::check_policy(&req.password, state.config.password_min_length)?;
    let quota = req.quota.clone().unwrap_or_else(|| default_quota(state));
    validate::quota(&quota)?;
    if db::users::by_username(&state.db, &req.username).await?.is_some() {
        return Err(Error::UsernameTaken);
    }
    let hash = password::hash(req.password.clone()).await?;
    insert_user(state, caller, &req, &hash, &quota).await
}

async fn insert_user(
    state: &AppState,
    caller: &Caller,
    req: &CreateUser,
    hash: &str,
    quota: &QuotaLimits,
) -> Result<User> {
    let mut tx = db::begin_write(&state.db).await?;
    let new = NewUser {
        username: &req.username,
        display_name: &req.display_name,
        email: &req.email,
        password_hash: hash,
        role: req.role,
        language: "en",
    };
    let id = db::users::insert(&mut tx, &new, db::now_ms())
        .await?
        .ok_or(Error::UsernameTaken)?;
    db::quotas::set_limits(&mut tx, id, quota).await?;
    let target = format!("user:{id}");
    let details = json!({ "username": req.username, "role": req.role, "quota": quota });
    let user = db::users::by_id(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    audit::commit(tx, caller, "user.create", &target, &details).await?;
    Ok(user.to_api())
}

/// Creates the first administrator when the database has no users; returns the password if it was generated.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<Option<String>> {
    if db::users::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (pw, generated) = match &state.config.admin_password {
        Some(s) => (s.0.clone(), false),
        None => (crate::auth::tokens::random_urlsafe(15), true),
    };
    let hash = password::hash(pw.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let req = CreateUser {
        username: "admin".into(),
        password: String::new(),
        display_name: "Administrator".into(),
        email: String::new(),
        role: Role::Admin,
        quota: None,
    };
    let caller = Caller::system("startup");
    insert_user(state, &caller, &req, &hash, &default_quota(state))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(generated.then_some(pw))
}

pub async fn update(state: &AppState, caller: &Caller, id: i64, req: UpdateUser) -> Result<User> {
    let me = caller.require()?;
    authorize(me, Action::UserUpdate, Resource::User(id))?;
    if let Some(d) = &req.display_name {
        validate::display_name(d)?;
    }
    if let Some(e) = &req.email {
        validate::email(e)?;
    }
    let new_hash = match &req.password {
        Some(p) => {
            password::check_policy(p, state.config.password_min_length)?;
            Some(password::hash(p.clone()).await?)
        }
        None => None,
    };
    let mut tx = db::begin_write(&state.db).await?;
    let cur = db::users::by_id(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    let role = req.role.unwrap_or(cur.role());
    let disabled = req.disabled.unwrap_or(cur.disabled);
    let loses_admin = cur.role() == Role::Admin && !cur.disabled && (role != Role::Admin || disabled);
    if loses_admin && db::users::other_active_admins(&mut tx, id).await? == 0 {
        return Err(Error::LastAdmin);
    }
    db::users::set_profile(
        &mut tx,
        id,
        req.display_name.as_deref().unwrap_or(&cur.display_name),
        req.email.as_deref().unwrap_or(&cur.email),
        &cur.language,
    )
    .await?;
    db::users::set_role_disabled(&mut tx, id, role, disabled).await?;
    // A reset ends every session (they carry the old password's time) and, unless kept, every API token.
    let mut tokens_revoked = 0;
    if let Some(h) = &new_hash {
        db::users::set_password(&mut tx, id, h).await?;
        if req.keep_tokens != Some(true) {
            tokens_revoked = db::tokens::delete_all_of(&mut tx, id).await?;
        }
    }
    let mut details = json!({
        "username": cur.username,
        "display_name": req.display_name,
        "email": req.email,
        "role": req.role,
        "disabled": req.disabled,
    });
    if new_hash.is_some() {
        details["password_reset"] = json!(true);
        details["tokens_revoked"] = json!(tokens_revoked);
    }
    let target = format!("user:{id}");
    let user = db::users::by_id(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    audit::commit(tx, caller, "user.update", &target, &details).await?;
    let _ = state.principals.send(id);
    Ok(user.to_api())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let me = caller.require()?;
    authorize(me, Action::UserDelete, Resource::User(id))?;
    if me.id == id {
        return Err(Error::CannotDeleteSelf);
    }
    let mut tx = db::begin_write(&state.db).await?;
    let cur = db::users::by_id(&mut tx, id).await?.ok_or(Error::NotFound("user"))?;
    if cur.role() == Role::Admin && !cur.disabled && db::users::other_active_admins(&mut tx, id).await? == 0 {
        return Err(Error::LastAdmin);
    }
    db::users::delete(&mut tx, id).await?;
    let target = format!("user:{id}");
    let details = json!({ "username": cur.username, "role": cur.role() });
    audit::commit(tx, caller, "user.delete", &target, &details).await?;
    let _ = state.principals.send(id);
    Ok(())
}

/// `hangar reset-password`: works on the database directly, for when nobody can sign in.
pub async fn cli_reset_password(cfg: &crate::config::Config, username: &str) -> anyhow::Result<String> {
    let pool = db::open(&cfg.db_path()).await?;
    let user = db::users::by_username(&pool, username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {username:?}"))?;
    let pw = crate::auth::tokens::random_urlsafe(15);
    let hash = password::hash(pw.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = db::begin_write(&pool).await?;
    db::users::set_password(&mut tx, user.id, &hash).await?;
    let caller = Caller::system("cli");
    let target = format!("user:{}", user.id);
    audit::record(
        &mut tx,
        &caller,
        "user.reset_password",
        Some(&target),
        audit::Outcome::Ok,
        &json!({ "via": "cli" }),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(pw)
}
