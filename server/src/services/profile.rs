//! Self-service: one's own name, e-mail, language, password and avatar.
use crate::auth::session::{SessionAuth, AUTH_KEY};
use crate::auth::{authorize, password, Action, Caller, Resource};
use crate::db;
use crate::error::{Error, Result};
use crate::services::{audit, validate};
use crate::state::AppState;
use app::api::{ChangePassword, UpdateProfile, User};
use serde_json::json;

pub async fn update(state: &AppState, caller: &Caller, req: UpdateProfile) -> Result<User> {
    let p = caller.require()?;
    authorize(p, Action::ProfileUpdate, Resource::User(p.id))?;
    if let Some(d) = &req.display_name {
        validate::display_name(d)?;
    }
    if let Some(e) = &req.email {
        validate::email(e)?;
    }
    if let Some(l) = &req.language {
        validate::language(l)?;
    }
    let mut tx = db::begin_write(&state.db).await?;
    let cur = db::users::by_id(&mut tx, p.id).await?.ok_or(Error::NotFound("user"))?;
    db::users::set_profile(
        &mut tx,
        p.id,
        req.display_name.as_deref().unwrap_or(&cur.display_name),
        req.email.as_deref().unwrap_or(&cur.email),
        req.language.as_deref().unwrap_or(&cur.language),
    )
    .await?;
    let target = format!("user:{}", p.id);
    let user = db::users::by_id(&mut tx, p.id).await?.ok_or(Error::NotFound("user"))?;
    audit::commit(tx, caller, "profile.update", &target, &json!(req)).await?;
    Ok(user.to_api())
}

pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    session: Option<&tower_sessions::Session>,
    req: ChangePassword,
) -> Result<()> {
    let p = caller.require()?;
    authorize(p, Action::ProfileUpdate, Resource::User(p.id))?;
    let mut conn = state.db.acquire().await?;
    let cur = db::users::by_id(&mut conn, p.id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    drop(conn);
    if !password::verify(req.current_password, Some(cur.password_hash)).await? {
        return Err(Error::invalid("current_password", "wrong"));
    }
    password::check_policy(&req.new_password, state.config.password_min_length)?;
    let hash = password::hash(req.new_password).await?;
    let mut tx = db::begin_write(&state.db).await?;
    db::users::set_password(&mut tx, p.id, &hash).await?;
    let target = format!("user:{}", p.id);
    let changed_at = db::users::by_id(&mut tx, p.id).await?.map(|u| u.password_changed_at);
    audit::commit(tx, caller, "profile.password", &target, &json!({})).await?;
    let _ = state.principals.send(p.id);
    // Other sessions end with the old password; this one carries on.
    if let (Some(session), Some(at)) = (session, changed_at) {
        if let Ok(Some(mut auth)) = session.get::<SessionAuth>(AUTH_KEY).await {
            auth.password_changed_at = at;
            session
                .insert(AUTH_KEY, &auth)
                .await
                .map_err(|e| Error::Internal(e.into()))?;
        }
    }
    Ok(())
}

/// The image type from the file's first bytes; the declared type is ignored.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub async fn set_avatar(state: &AppState, caller: &Caller, bytes: &[u8]) -> Result<User> {
    let p = caller.require()?;
    authorize(p, Action::ProfileUpdate, Resource::User(p.id))?;
    if bytes.len() > state.config.avatar_max_bytes {
        return Err(Error::PayloadTooLarge);
    }
    let mime = sniff_image(bytes).ok_or(Error::InvalidImage)?;
    let mut tx = db::begin_write(&state.db).await?;
    db::users::set_avatar(&mut tx, p.id, bytes, mime).await?;
    let target = format!("user:{}", p.id);
    let details = json!({ "type": mime, "bytes": bytes.len() });
    let user = db::users::by_id(&mut tx, p.id).await?.ok_or(Error::NotFound("user"))?;
    audit::commit(tx, caller, "profile.avatar", &target, &details).await?;
    Ok(user.to_api())
}

pub async fn avatar(state: &AppState, caller: &Caller, user_id: i64) -> Result<(Vec<u8>, String)> {
    authorize(caller.require()?, Action::UserRead, Resource::User(user_id))?;
    db::users::avatar(&state.db, user_id)
        .await?
        .ok_or(Error::NotFound("avatar"))
}

#[cfg(test)]
mod tests {
    use super::sniff_image;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
    }
}
