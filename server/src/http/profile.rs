//! `/api/v1/profile`: the signed-in user's own settings, password and avatar.
use super::extract::{ApiBytes, ApiJson, ApiPath};
use crate::auth::{session, Caller};
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, ChangePassword, UpdateProfile, User};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Changes one's display name, e-mail or language.
#[utoipa::path(patch, path = "/api/v1/profile", operation_id = "profile.update", tag = "profile",
    request_body = UpdateProfile,
    responses((status = 200, body = User), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<UpdateProfile>,
) -> Result<Response> {
    let user = services::profile::update(&state, &caller, req).await?;
    let mut headers = HeaderMap::new();
    session::set_lang_cookie(&mut headers, &user.language);
    Ok((headers, Json(user)).into_response())
}

/// Changes one's password (the current one is required); other sessions end.
#[utoipa::path(put, path = "/api/v1/profile/password", operation_id = "profile.password", tag = "profile",
    request_body = ChangePassword,
    responses((status = 204), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn password(
    State(state): State<AppState>,
    caller: Caller,
    session: tower_sessions::Session,
    ApiJson(req): ApiJson<ChangePassword>,
) -> Result<StatusCode> {
    services::profile::change_password(&state, &caller, Some(&session), req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Uploads an avatar: the raw bytes of a PNG, JPEG or WebP image.
#[utoipa::path(put, path = "/api/v1/profile/avatar", operation_id = "profile.avatar", tag = "profile",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, body = User), (status = 400, body = ApiError), (status = 413, body = ApiError)))]
pub async fn avatar_put(State(state): State<AppState>, caller: Caller, ApiBytes(body): ApiBytes) -> Result<Json<User>> {
    Ok(Json(services::profile::set_avatar(&state, &caller, &body).await?))
}

/// A user's avatar, served with its sniffed type and headers that stop browsers from reinterpreting it.
#[utoipa::path(get, path = "/api/v1/users/{id}/avatar", operation_id = "user.avatar", tag = "users",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/png"), (status = 404, body = ApiError)))]
pub async fn avatar_get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Response> {
    let (bytes, mime) = services::profile::avatar(&state, &caller, id).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok((headers, bytes).into_response())
}

/// This resource's routes (the avatar upload has its own body limit).
pub fn routes(cfg: &crate::config::Config) -> utoipa_axum::router::OpenApiRouter<AppState> {
    let avatar = utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(avatar_put))
        .layer(axum::extract::DefaultBodyLimit::max(cfg.avatar_max_bytes));
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(update))
        .routes(utoipa_axum::routes!(password))
        .routes(utoipa_axum::routes!(avatar_get))
        .merge(avatar)
}
