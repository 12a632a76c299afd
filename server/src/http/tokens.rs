//! `/api/v1/tokens`: the caller's API tokens.
use super::extract::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, ApiToken, CreateToken, CreatedToken};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// The caller's tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "token.list", tag = "tokens",
    responses((status = 200, body = [ApiToken]), (status = 401, body = ApiError)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ApiToken>>> {
    Ok(Json(services::tokens::list(&state, &caller).await?))
}

/// Creates a token; the secret is in this response only. Use it as `Authorization: Bearer <secret>`.
#[utoipa::path(post, path = "/api/v1/tokens", operation_id = "token.create", tag = "tokens",
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(services::tokens::create(&state, &caller, req).await?),
    ))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", operation_id = "token.delete", tag = "tokens",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiError)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode> {
    services::tokens::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, create))
        .routes(utoipa_axum::routes!(delete))
}
