//! `/api/v1/images`: the image library (ISOs and templates).
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::Result;
use crate::services::images;
use crate::state::AppState;
use app::api::{ApiError, CopyImage, Image, ImageQuery, ImportImage, Task, UpdateImage};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;

/// Images the caller may use: every public one and their own private ones (all, for admins, operators and
/// auditors). Filters by kind, visibility, host and part of the name.
#[utoipa::path(get, path = "/api/v1/images", operation_id = "image.list", tag = "images",
    params(ImageQuery), responses((status = 200, body = [Image])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> Result<Json<Vec<Image>>> {
    Ok(Json(images::list(&state, &caller, &q).await?))
}

/// Makes an existing volume an image (uploads go through `/api/v1/uploads`).
#[utoipa::path(post, path = "/api/v1/images", operation_id = "image.import", tag = "images",
    request_body = ImportImage,
    responses((status = 201, body = Image), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ImportImage>,
) -> Result<(StatusCode, Json<Image>)> {
    Ok((StatusCode::CREATED, Json(images::import(&state, &caller, req).await?)))
}

/// One image: facts, checksums, hosts holding a copy, and how many VMs use it.
#[utoipa::path(get, path = "/api/v1/images/{id}", operation_id = "image.get", tag = "images",
    params(("id" = i64, Path)), responses((status = 200, body = Image), (status = 404, body = ApiError)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<Image>> {
    Ok(Json(images::get(&state, &caller, id).await?))
}

/// Renames, re-describes or changes the visibility of an image.
#[utoipa::path(patch, path = "/api/v1/images/{id}", operation_id = "image.update", tag = "images",
    params(("id" = i64, Path)), request_body = UpdateImage,
    responses((status = 200, body = Image), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UpdateImage>,
) -> Result<Json<Image>> {
    Ok(Json(images::update(&state, &caller, id, req).await?))
}

/// Deletes the image and every copy's volume; refused (`in_use`) while VMs use it.
#[utoipa::path(delete, path = "/api/v1/images/{id}", operation_id = "image.delete", tag = "images",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode> {
    images::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Copies the image to another host, streamed host to host through libvirt, as a task (`202`).
#[utoipa::path(post, path = "/api/v1/images/{id}/actions/copy", operation_id = "image.copy", tag = "images",
    params(("id" = i64, Path)), request_body = CopyImage,
    responses((status = 202, body = Task), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn copy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<CopyImage>,
) -> Result<(StatusCode, Json<Task>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(images::copy(&state, &caller, id, req).await?),
    ))
}

/// The image's bytes (export), streamed from a host holding a copy; supports `Range`.
#[utoipa::path(get, path = "/api/v1/images/{id}/content", operation_id = "image.download", tag = "images",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ApiError)))]
pub async fn content(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response> {
    let (host, pool, volume, filename, size) = images::content_source(&state, &caller, id).await?;
    super::download::volume(&state, host, pool, volume, size, &filename, &headers).await
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, import))
        .routes(utoipa_axum::routes!(get, update, delete))
        .routes(utoipa_axum::routes!(copy))
        .routes(utoipa_axum::routes!(content))
}
