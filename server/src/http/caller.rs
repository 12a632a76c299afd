//! The `Caller` extractor: resolves a bearer token or the session into a principal and checks CSRF.
use crate::auth::session::{self, SessionAuth, AUTH_KEY};
use crate::auth::{tokens, Caller, NoPrincipal, Principal};
use crate::db;
use crate::error::{Error, Result};
use crate::services::audit::AuditSlot;
use crate::state::AppState;
use app::api::Role;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts, Method};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_sessions::Session;

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let slot = parts.extensions.get::<Arc<AuditSlot>>().cloned().unwrap_or_default();
        let source = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_string())
            .unwrap_or_else(|| "local".into());
        let session = parts.extensions.get::<Session>().cloned();
        let mut caller = Caller {
            principal: None,
            source,
            why_none: NoPrincipal::Anonymous,
            csrf_ok: is_safe(&parts.method),
            slot,
        };

        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
        if let Some(secret) = bearer {
            from_token(&mut caller, state, &secret).await?;
        } else if let Some(session) = session {
            from_session(&mut caller, state, &session, parts).await?;
        }
        if let Some(p) = &caller.principal {
            caller.slot.set_actor(p.id, &p.username);
        }
        Ok(caller)
    }
}

async fn from_token(caller: &mut Caller, state: &AppState, secret: &str) -> Result<()> {
    caller.why_none = NoPrincipal::InvalidToken;
    // One query, and no connection held while the next is acquired: the pool can never starve itself.
    let found = db::tokens::owner_by_hash(&state.db, &tokens::hash_token(secret)).await?;
    let Some((token_id, last_used, user_id, username, role, disabled)) = found else {
        return Ok(());
    };
    if disabled {
        caller.why_none = NoPrincipal::AccountDisabled;
        return Ok(());
    }
    let now = db::now_ms();
    if last_used.is_none_or(|t| now - t >= session::TOUCH_EVERY_MS) {
        db::tokens::touch(&state.db, token_id, now, session::TOUCH_EVERY_MS).await?;
    }
    // Tokens are not sent by browsers on their own, so they need no CSRF token.
    caller.csrf_ok = true;
    caller.principal = Some(Principal {
        id: user_id,
        username,
        role: Role::parse(&role).unwrap_or(Role::User),
        via_token: true,
    });
    Ok(())
}

async fn from_session(caller: &mut Caller, state: &AppState, session: &Session, parts: &Parts) -> Result<()> {
    let auth: Option<SessionAuth> = session.get(AUTH_KEY).await.map_err(|e| Error::Internal(e.into()))?;
    let Some(auth) = auth else {
        if session::has_session_cookie(&parts.headers) {
            caller.why_none = NoPrincipal::SessionExpired;
        }
        return Ok(());
    };
    let absolute_ms = state.config.session_absolute_hours * 3_600_000;
    // The connection goes back before the session store (the same pool) is written below.
    let user = {
        let mut conn = state.db.acquire().await?;
        db::users::by_id(&mut conn, auth.user_id).await?
    };
    let why = match &user {
        _ if db::now_ms() - auth.login_at > absolute_ms => Some(NoPrincipal::SessionExpired),
        None => Some(NoPrincipal::SessionExpired),
        Some(u) if u.disabled => Some(NoPrincipal::AccountDisabled),
        Some(u) if u.password_changed_at != auth.password_changed_at => Some(NoPrincipal::SessionExpired),
        Some(_) => None,
    };
    if let Some(why) = why {
        session.flush().await.map_err(|e| Error::Internal(e.into()))?;
        caller.why_none = why;
        return Ok(());
    }
    let Some(user) = user else { return Ok(()) };
    if db::now_ms() - auth.touched_at > session::TOUCH_EVERY_MS {
        let touched = SessionAuth {
            touched_at: db::now_ms(),
            ..auth.clone()
        };
        session
            .insert(AUTH_KEY, &touched)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
    }
    if !caller.csrf_ok {
        caller.csrf_ok = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| tokens::constant_time_eq(t, &auth.csrf));
    }
    let role = user.role();
    caller.principal = Some(Principal {
        id: user.id,
        username: user.username,
        role,
        via_token: false,
    });
    Ok(())
}
