//! What a signed-in session holds, and the cookies that go with it.
use crate::config::Config;
use axum::http::{header, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

pub const SESSION_COOKIE: &str = "hangar_session";
pub const CSRF_COOKIE: &str = "hangar_csrf";
pub const LANG_COOKIE: &str = "hangar_lang";
pub const AUTH_KEY: &str = "auth";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    /// Unix ms of sign-in, for the absolute expiry.
    pub login_at: i64,
    pub csrf: String,
    /// The account's `password_changed_at` at sign-in: a later change ends the session.
    pub password_changed_at: i64,
    /// Unix ms of the last time activity pushed the idle expiry forward.
    #[serde(default)]
    pub touched_at: i64,
}

/// How often activity re-saves a session to push its idle expiry forward (saving on every request would
/// turn every read into a write).
pub const TOUCH_EVERY_MS: i64 = 60_000;

pub fn layer(store: SqliteStore, cfg: &Config) -> SessionManagerLayer<SqliteStore> {
    SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(cfg.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(cfg.session_idle_minutes)))
}

fn push_cookie(headers: &mut HeaderMap, cookie: String) {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The CSRF token in a cookie the page's script can read (the session keeps the reference copy).
pub fn set_csrf_cookie(headers: &mut HeaderMap, token: &str, cfg: &Config) {
    let secure = if cfg.secure_cookies { "; Secure" } else { "" };
    push_cookie(
        headers,
        format!("{CSRF_COOKIE}={token}; Path=/; SameSite=Strict{secure}"),
    );
}

pub fn clear_csrf_cookie(headers: &mut HeaderMap) {
    push_cookie(headers, format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict"));
}

pub fn set_lang_cookie(headers: &mut HeaderMap, lang: &str) {
    push_cookie(
        headers,
        format!("{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax"),
    );
}

/// True when the request carried a session cookie (so a missing session means it expired).
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim().starts_with(&format!("{SESSION_COOKIE}=")))
}
