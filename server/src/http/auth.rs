//! `/api/v1/auth`: sign in, sign out, who am I.
use super::extract::ApiJson;
use crate::auth::session;
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, LoginRequest, Me};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Signs in with a username and password; sets the session cookie and the CSRF cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "auth.login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    session: tower_sessions::Session,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response> {
    let me = services::auth::login(&state, &caller, &session, req).await?;
    let mut headers = HeaderMap::new();
    if let Some(t) = &me.csrf_token {
        session::set_csrf_cookie(&mut headers, t, &state.config);
    }
    session::set_lang_cookie(&mut headers, &me.user.language);
    Ok((headers, Json(me)).into_response())
}

/// Ends the session.
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "auth.logout", tag = "auth",
    responses((status = 204), (status = 401, body = ApiError)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    session: tower_sessions::Session,
) -> Result<Response> {
    services::auth::logout(&state, &caller, &session).await?;
    let mut headers = HeaderMap::new();
    session::clear_csrf_cookie(&mut headers);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// The signed-in user, with the CSRF token for cookie sessions.
#[utoipa::path(get, path = "/api/v1/auth/me", operation_id = "auth.me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ApiError)))]
pub async fn me(State(state): State<AppState>, caller: Caller, session: tower_sessions::Session) -> Result<Json<Me>> {
    Ok(Json(services::auth::me(&state, &caller, &session).await?))
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(login))
        .routes(utoipa_axum::routes!(logout))
        .routes(utoipa_axum::routes!(me))
}
