//! `/api/v1/pools`: storage pools on every host, and their volumes.
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::Result;
use crate::services::{self, volumes};
use crate::state::AppState;
use app::api::{
    ApiError, CloneVolume, CreatePool, CreateVolume, Pool, PoolDetail, PoolQuery, ResizeVolume, Task, UpdatePool,
    Volume, VolumeQuery,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

/// Pools of every online host (or one host), with usage and volume counts.
#[utoipa::path(get, path = "/api/v1/pools", operation_id = "pool.list", tag = "storage",
    params(PoolQuery), responses((status = 200, body = [Pool]), (status = 403, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PoolQuery>,
) -> Result<Json<Vec<Pool>>> {
    Ok(Json(services::pools::list(&state, &caller, &q).await?))
}

/// Creates a pool of any supported type (validated, built from typed fields), builds and starts it.
#[utoipa::path(post, path = "/api/v1/pools", operation_id = "pool.create", tag = "storage",
    request_body = CreatePool,
    responses((status = 201, body = Pool), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreatePool>,
) -> Result<(StatusCode, Json<Pool>)> {
    Ok((
        StatusCode::CREATED,
        Json(services::pools::create(&state, &caller, req).await?),
    ))
}

/// One pool: facts, source and XML.
#[utoipa::path(get, path = "/api/v1/pools/{id}", operation_id = "pool.get", tag = "storage",
    params(("id" = String, Path, description = "the pool's libvirt UUID")),
    responses((status = 200, body = PoolDetail), (status = 404, body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PoolDetail>> {
    Ok(Json(services::pools::get(&state, &caller, &id).await?))
}

/// Autostart on or off; make it the host's images pool.
#[utoipa::path(patch, path = "/api/v1/pools/{id}", operation_id = "pool.update", tag = "storage",
    params(("id" = String, Path)), request_body = UpdatePool,
    responses((status = 200, body = Pool), (status = 404, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdatePool>,
) -> Result<Json<Pool>> {
    Ok(Json(services::pools::update(&state, &caller, &id, req).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeletePoolQuery {
    /// Also delete the pool's contents (its directory, volume group…).
    #[serde(default)]
    contents: bool,
}

/// Stops and removes the pool; refused (`in_use`) while a VM uses one of its volumes or images are kept in it.
#[utoipa::path(delete, path = "/api/v1/pools/{id}", operation_id = "pool.delete", tag = "storage",
    params(("id" = String, Path), DeletePoolQuery),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeletePoolQuery>,
) -> Result<StatusCode> {
    services::pools::delete(&state, &caller, &id, q.contents).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `start`, `stop` (refused while a volume is in use) or `refresh`.
#[utoipa::path(post, path = "/api/v1/pools/{id}/actions/{action}", operation_id = "pool.{action}", tag = "storage",
    params(("id" = String, Path), ("action" = String, Path)),
    responses((status = 200, body = Pool), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> Result<Json<Pool>> {
    Ok(Json(services::pools::action(&state, &caller, &id, &action).await?))
}

/// The pool's volumes with who uses each; filters by format and in-use.
#[utoipa::path(get, path = "/api/v1/pools/{id}/volumes", operation_id = "volume.list", tag = "storage",
    params(("id" = String, Path), VolumeQuery),
    responses((status = 200, body = [Volume]), (status = 404, body = ApiError)))]
pub async fn volumes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VolumeQuery>,
) -> Result<Json<Vec<Volume>>> {
    Ok(Json(volumes::list(&state, &caller, &id, &q).await?))
}

/// A new qcow2 or raw volume, optionally an overlay of another volume of the pool.
#[utoipa::path(post, path = "/api/v1/pools/{id}/volumes", operation_id = "volume.create", tag = "storage",
    params(("id" = String, Path)), request_body = CreateVolume,
    responses((status = 201, body = Volume), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn create_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CreateVolume>,
) -> Result<(StatusCode, Json<Volume>)> {
    Ok((
        StatusCode::CREATED,
        Json(volumes::create(&state, &caller, &id, req).await?),
    ))
}

/// One volume.
#[utoipa::path(get, path = "/api/v1/pools/{id}/volumes/{name}", operation_id = "volume.get", tag = "storage",
    params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Volume), (status = 404, body = ApiError)))]
pub async fn get_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Json<Volume>> {
    Ok(Json(volumes::get(&state, &caller, &id, &name).await?))
}

/// Changes a volume: its size (`{capacity_bytes, shrink}`), the one property libvirt changes in place; the same
/// as `actions/resize`.
#[utoipa::path(patch, path = "/api/v1/pools/{id}/volumes/{name}", operation_id = "volume.update", tag = "storage",
    params(("id" = String, Path), ("name" = String, Path)), request_body = ResizeVolume,
    responses((status = 200, body = Volume), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub async fn update_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ResizeVolume>,
) -> Result<Json<Volume>> {
    Ok(Json(volumes::resize(&state, &caller, &id, &name, req).await?))
}

/// Deletes a volume; refused (`in_use`) while a VM or an image uses it.
#[utoipa::path(delete, path = "/api/v1/pools/{id}/volumes/{name}", operation_id = "volume.delete", tag = "storage",
    params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn delete_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    volumes::delete(&state, &caller, &id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Grows a volume (shrinking only raw volumes, only with `shrink`).
#[utoipa::path(post, path = "/api/v1/pools/{id}/volumes/{name}/actions/resize", operation_id = "volume.resize",
    tag = "storage", params(("id" = String, Path), ("name" = String, Path)), request_body = ResizeVolume,
    responses((status = 200, body = Volume), (status = 400, body = ApiError)))]
pub async fn resize(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ResizeVolume>,
) -> Result<Json<Volume>> {
    Ok(Json(volumes::resize(&state, &caller, &id, &name, req).await?))
}

/// A full copy into a new volume of the pool, as a task (`202`).
#[utoipa::path(post, path = "/api/v1/pools/{id}/volumes/{name}/actions/clone", operation_id = "volume.clone",
    tag = "storage", params(("id" = String, Path), ("name" = String, Path)), request_body = CloneVolume,
    responses((status = 202, body = Task), (status = 409, body = ApiError)))]
pub async fn clone(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<CloneVolume>,
) -> Result<(StatusCode, Json<Task>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(volumes::clone(&state, &caller, &id, &name, req).await?),
    ))
}

/// Overwrites the volume with zeros; refused while in use.
#[utoipa::path(post, path = "/api/v1/pools/{id}/volumes/{name}/actions/wipe", operation_id = "volume.wipe",
    tag = "storage", params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Volume), (status = 409, body = ApiError)))]
pub async fn wipe(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Json<Volume>> {
    Ok(Json(volumes::wipe(&state, &caller, &id, &name).await?))
}

/// The volume's bytes, streamed; supports `Range: bytes=…`.
#[utoipa::path(get, path = "/api/v1/pools/{id}/volumes/{name}/content", operation_id = "volume.download",
    tag = "storage", params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = ApiError), (status = 416, description = "range not satisfiable")))]
pub async fn content(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Response> {
    let (host, size) = volumes::content_source(&state, &caller, &id, &name).await?;
    super::download::volume(&state, host, id, name.clone(), size, &name, &headers).await
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, create))
        .routes(utoipa_axum::routes!(get, update, delete))
        .routes(utoipa_axum::routes!(action))
        .routes(utoipa_axum::routes!(volumes, create_volume))
        .routes(utoipa_axum::routes!(get_volume, update_volume, delete_volume))
        .routes(utoipa_axum::routes!(resize))
        .routes(utoipa_axum::routes!(clone))
        .routes(utoipa_axum::routes!(wipe))
        .routes(utoipa_axum::routes!(content))
}
