//! API tokens: shown once at creation, stored hashed, revocable by their owner (or an admin).
use crate::auth::{authorize, tokens, Action, Caller, Resource};
use crate::db;
use crate::error::{Error, Result};
use crate::services::{audit, validate};
use crate::state::AppState;
use app::api::{ApiToken, CreateToken, CreatedToken};
use serde_json::json;

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<ApiToken>> {
    let p = caller.require()?;
    authorize(p, Action::TokenManage, Resource::User(p.id))?;
    Ok(db::tokens::list_for(&state.db, p.id)
        .await?
        .iter()
        .map(|t| t.to_api())
        .collect())
}

pub async fn create(state: &AppState, caller: &Caller, req: CreateToken) -> Result<CreatedToken> {
    let p = caller.require()?;
    authorize(p, Action::TokenManage, Resource::User(p.id))?;
    validate::token_name(&req.name)?;
    let secret = tokens::new_api_token();
    let prefix: String = secret.chars().take(tokens::TOKEN_PREFIX.len() + 6).collect();
    let mut tx = db::begin_write(&state.db).await?;
    let now = db::now_ms();
    let id = db::tokens::insert(
        &mut tx,
        p.id,
        req.name.trim(),
        &prefix,
        &tokens::hash_token(&secret),
        now,
    )
    .await?;
    let target = format!("token:{id}");
    let details = json!({ "name": req.name.trim(), "prefix": prefix });
    let row = db::tokens::by_id(&mut tx, id).await?.ok_or(Error::NotFound("token"))?;
    audit::commit(tx, caller, "token.create", &target, &details).await?;
    Ok(CreatedToken {
        token: row.to_api(),
        secret,
    })
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let p = caller.require()?;
    let mut tx = db::begin_write(&state.db).await?;
    // Someone else's token is "not found" to a non-admin, so ids reveal nothing.
    let row = db::tokens::by_id(&mut tx, id).await?.ok_or(Error::NotFound("token"))?;
    if row.user_id != p.id && p.role != app::api::Role::Admin {
        return Err(Error::NotFound("token"));
    }
    authorize(p, Action::TokenManage, Resource::User(row.user_id))?;
    db::tokens::delete(&mut tx, id).await?;
    let target = format!("token:{id}");
    let details = json!({ "name": row.name, "owner": row.user_id });
    audit::commit(tx, caller, "token.delete", &target, &details).await?;
    // Streams opened with the token end; the owner's other streams simply reconnect.
    let _ = state.principals.send(row.user_id);
    Ok(())
}
