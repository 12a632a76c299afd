//! `/api/v1/hosts`: libvirt hosts.
use super::extract::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, CreateHost, Host, HostDetail, UpdateHost};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// Every host with its connection status (admins, operators, auditors).
#[utoipa::path(get, path = "/api/v1/hosts", operation_id = "host.list", tag = "hosts",
    responses((status = 200, body = [Host]), (status = 403, body = ApiError)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Host>>> {
    Ok(Json(services::hosts::list(&state, &caller).await?))
}

/// Registers a host by libvirt URI; the URI is tried first, and nothing is saved if it does not answer.
#[utoipa::path(post, path = "/api/v1/hosts", operation_id = "host.create", tag = "hosts",
    request_body = CreateHost,
    responses((status = 201, body = Host), (status = 400, body = ApiError), (status = 409, body = ApiError),
        (status = 422, description = "unreachable or wrong credentials", body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateHost>,
) -> Result<(StatusCode, Json<Host>)> {
    Ok((
        StatusCode::CREATED,
        Json(services::hosts::create(&state, &caller, req).await?),
    ))
}

/// The host with CPU, memory, NUMA and version facts (when online) and VM counts by state.
#[utoipa::path(get, path = "/api/v1/hosts/{id}", operation_id = "host.get", tag = "hosts",
    params(("id" = i64, Path)), responses((status = 200, body = HostDetail), (status = 404, body = ApiError)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<HostDetail>> {
    Ok(Json(services::hosts::get(&state, &caller, id).await?))
}

/// Renames, re-points (a new URI is tried first), describes or flags a host for maintenance.
#[utoipa::path(patch, path = "/api/v1/hosts/{id}", operation_id = "host.update", tag = "hosts",
    params(("id" = i64, Path)), request_body = UpdateHost,
    responses((status = 200, body = Host), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateHost>,
) -> Result<Json<Host>> {
    Ok(Json(services::hosts::update(&state, &caller, id, req).await?))
}

/// Forgets a host; its domains stay on it, untouched.
#[utoipa::path(delete, path = "/api/v1/hosts/{id}", operation_id = "host.delete", tag = "hosts",
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ApiError)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode> {
    services::hosts::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, create))
        .routes(utoipa_axum::routes!(get, update, delete))
}
