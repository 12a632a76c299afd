//! Sign-in, sign-out and "who am I", with throttling and an audit record for every attempt.
use crate::auth::session::{SessionAuth, AUTH_KEY};
use crate::auth::{password, tokens, Caller};
use crate::db;
use crate::error::{Error, Result};
use crate::services::audit::{self, Outcome};
use crate::state::AppState;
use app::api::{LoginRequest, Me};
use serde_json::json;

fn session_err(e: tower_sessions::session::Error) -> Error {
    Error::Internal(e.into())
}

pub async fn login(state: &AppState, caller: &Caller, req: LoginRequest) -> Result<Me> {
    let target = format!("user:{}", req.username);
    let fail = |outcome: Outcome, code: &'static str| {
        let target = target.clone();
        async move {
            audit::record_alone(
                state,
                caller,
                "auth.login",
                Some(&target),
                outcome,
                &json!({ "code": code }),
            )
            .await
        }
    };
    if let Some(retry_after) = state.throttle.retry_after(&req.username, &caller.source) {
        fail(Outcome::Denied, "too_many_attempts").await?;
        return Err(Error::TooManyAttempts { retry_after });
    }
    let user = db::users::by_username(&state.db, &req.username).await?;
    let ok = password::verify(req.password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let user = match user {
        Some(u) if ok => u,
        _ => {
            state.throttle.record_failure(&req.username, &caller.source);
            fail(Outcome::Failed, "invalid_credentials").await?;
            return Err(Error::InvalidCredentials);
        }
    };
    caller.slot.set_actor(user.id, &user.username);
    if user.disabled {
        fail(Outcome::Denied, "account_disabled").await?;
        return Err(Error::AccountDisabled);
    }
    state.throttle.record_success(&req.username);
    let session = caller
        .session
        .as_ref()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("no session layer")))?;
    // A new id at sign-in: an id planted before sign-in is worthless after it.
    session.cycle_id().await.map_err(session_err)?;
    let csrf = tokens::random_urlsafe(32);
    let auth = SessionAuth {
        user_id: user.id,
        login_at: db::now_ms(),
        csrf: csrf.clone(),
        password_changed_at: user.password_changed_at,
        touched_at: db::now_ms(),
    };
    session.insert(AUTH_KEY, &auth).await.map_err(session_err)?;
    let target = format!("user:{}", user.id);
    audit::record_alone(state, caller, "auth.login", Some(&target), Outcome::Ok, &json!({})).await?;
    Ok(Me {
        user: user.to_api(),
        csrf_token: Some(csrf),
    })
}

pub async fn logout(state: &AppState, caller: &Caller) -> Result<()> {
    let p = caller.require()?;
    if let Some(session) = &caller.session {
        session.flush().await.map_err(session_err)?;
    }
    let target = format!("user:{}", p.id);
    audit::record_alone(state, caller, "auth.logout", Some(&target), Outcome::Ok, &json!({})).await
}

pub async fn me(state: &AppState, caller: &Caller) -> Result<Me> {
    let p = caller.require()?;
    let mut conn = state.db.acquire().await?;
    let user = db::users::by_id(&mut conn, p.id).await?.ok_or(Error::SessionExpired)?;
    let csrf_token = match (&caller.session, p.via_token) {
        (Some(s), false) => s
            .get::<SessionAuth>(AUTH_KEY)
            .await
            .map_err(session_err)?
            .map(|a| a.csrf),
        _ => None,
    };
    Ok(Me {
        user: user.to_api(),
        csrf_token,
    })
}
