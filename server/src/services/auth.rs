//! Sign-in, sign-out and "who am I", with throttling and an audit record for every attempt.
use crate::auth::session::{SessionAuth, AUTH_KEY};
use crate::auth::{password, tokens, Caller};
use crate::db;
use crate::error::{Error, Result};
use crate::services::audit::{self, Outcome};
use crate::state::AppState;
use app::api::{LoginRequest, Me};
use serde_json::json;
use tower_sessions::Session;

fn session_err(e: tower_sessions::session::Error) -> Error {
    Error::Internal(e.into())
}

pub async fn login(state: &AppState, caller: &Caller, session: &Session, req: LoginRequest) -> Result<Me> {
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
    let attempt = match state.throttle.begin(&req.username, &caller.source, db::now_ms()) {
        Ok(a) => a,
        Err(refusal) => {
            let retry_after = refusal.retry_after;
            // A compact record, at most one a minute per refusing key: refusals cannot grow the log without bound.
            match state.throttle.record_denial(&refusal.key, db::now_ms()) {
                Some(suppressed) => {
                    let details = json!({ "code": "too_many_attempts", "unrecorded_before": suppressed });
                    audit::record_alone(state, caller, "auth.login", Some(&target), Outcome::Denied, &details).await?
                }
                None => caller.slot.mark_written(),
            }
            return Err(Error::TooManyAttempts { retry_after });
        }
    };
    let user = db::users::by_username(&state.db, &req.username).await?;
    let ok = match password::verify(req.password, user.as_ref().map(|u| u.password_hash.clone())).await {
        Ok(ok) => ok,
        Err(e) => {
            // Too busy to check: the attempt is not held against anyone.
            attempt.abandon();
            return Err(e);
        }
    };
    let user = match user {
        Some(u) if ok => u,
        _ => {
            attempt.failed(db::now_ms());
            fail(Outcome::Failed, "invalid_credentials").await?;
            return Err(Error::InvalidCredentials);
        }
    };
    attempt.succeeded();
    caller.slot.set_actor(user.id, &user.username);
    if user.disabled {
        fail(Outcome::Denied, "account_disabled").await?;
        return Err(Error::AccountDisabled);
    }
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
    // The username lets a restart see that this success forgave the failures before it.
    let details = json!({ "username": user.username });
    audit::record_alone(state, caller, "auth.login", Some(&target), Outcome::Ok, &details).await?;
    let principal = crate::auth::Principal {
        id: user.id,
        username: user.username.clone(),
        role: user.role(),
        via_token: false,
    };
    Ok(Me {
        user: user.to_api(),
        csrf_token: Some(csrf),
        can: capabilities(state, &principal),
    })
}

/// Re-reads the failed sign-ins of the last window from the audit log, so a restart does not lift a lockout.
pub async fn seed_throttle(state: &AppState) -> Result<()> {
    let since = db::now_ms() - state.config.login_throttle.window_seconds as i64 * 1000;
    let rows = db::audit::logins_since(&state.db, since).await?;
    // A failure counts only if no success of the same account came after it.
    let mut last_success = std::collections::HashMap::new();
    for (_, _, at, ok, username) in &rows {
        if let (true, Some(u)) = (*ok, username) {
            last_success.insert(u.to_lowercase(), *at);
        }
    }
    for (target, source, at, ok, _) in rows {
        let Some(account) = target.as_deref().and_then(|t| t.strip_prefix("user:")) else {
            continue;
        };
        if !ok && last_success.get(&account.to_lowercase()).is_none_or(|s| *s < at) {
            state.throttle.seed(account, source.as_deref(), at);
        }
    }
    Ok(())
}

pub async fn logout(state: &AppState, caller: &Caller, session: &Session) -> Result<()> {
    let p = caller.require()?;
    session.flush().await.map_err(session_err)?;
    let target = format!("user:{}", p.id);
    audit::record_alone(state, caller, "auth.logout", Some(&target), Outcome::Ok, &json!({})).await?;
    let _ = state.principals.send(p.id);
    Ok(())
}

/// The policy's answer, plus the settings the UI needs for what the caller may do.
fn capabilities(state: &AppState, p: &crate::auth::Principal) -> app::api::Capabilities {
    let mut can = crate::auth::policy::capabilities(p);
    if can.manage_users {
        can.default_quota = Some(crate::services::users::default_quota(state));
    }
    can
}

pub async fn me(state: &AppState, caller: &Caller, session: &Session) -> Result<Me> {
    let p = caller.require()?;
    let user = {
        let mut conn = state.db.acquire().await?;
        db::users::by_id(&mut conn, p.id).await?.ok_or(Error::SessionExpired)?
    };
    let csrf_token = match p.via_token {
        false => session
            .get::<SessionAuth>(AUTH_KEY)
            .await
            .map_err(session_err)?
            .map(|a| a.csrf),
        _ => None,
    };
    Ok(Me {
        user: user.to_api(),
        csrf_token,
        can: capabilities(state, p),
    })
}
