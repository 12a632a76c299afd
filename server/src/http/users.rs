//! `/api/v1/users`: accounts and their quotas.
use super::extract::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, CreateUser, Quota, QuotaLimits, UpdateUser, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// Every account (admins, operators and auditors).
#[utoipa::path(get, path = "/api/v1/users", operation_id = "user.list", tag = "users",
    responses((status = 200, body = [User]), (status = 403, body = ApiError)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<User>>> {
    Ok(Json(services::users::list(&state, &caller).await?))
}

/// Creates an account with a role and, optionally, a quota (else the configured default).
#[utoipa::path(post, path = "/api/v1/users", operation_id = "user.create", tag = "users",
    request_body = CreateUser,
    responses((status = 201, body = User), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>)> {
    Ok((
        StatusCode::CREATED,
        Json(services::users::create(&state, &caller, req).await?),
    ))
}

/// One account: anyone may read their own.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "user.get", tag = "users",
    params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<User>> {
    Ok(Json(services::users::get(&state, &caller, id).await?))
}

/// Edits an account: name, e-mail, role, disabled, or a new password (a reset).
#[utoipa::path(patch, path = "/api/v1/users/{id}", operation_id = "user.update", tag = "users",
    params(("id" = i64, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> Result<Json<User>> {
    Ok(Json(services::users::update(&state, &caller, id, req).await?))
}

/// Deletes an account (never one's own, never the last administrator).
#[utoipa::path(delete, path = "/api/v1/users/{id}", operation_id = "user.delete", tag = "users",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode> {
    services::users::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets an account's limits; usage is kept.
#[utoipa::path(put, path = "/api/v1/users/{id}/quota", operation_id = "user.quota", tag = "users",
    params(("id" = i64, Path)), request_body = QuotaLimits,
    responses((status = 200, body = Quota), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub async fn set_quota(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<QuotaLimits>,
) -> Result<Json<Quota>> {
    Ok(Json(services::quota::set_limits(&state, &caller, id, req).await?))
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, create))
        .routes(utoipa_axum::routes!(get, update, delete))
        .routes(utoipa_axum::routes!(set_quota))
}
