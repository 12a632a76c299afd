//! `/api/v1/vms`: virtual machines across hosts.
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, BatchItem, BatchRequest, UpdateVm, Vm, VmDeleted, VmDetail, VmPage, VmQuery};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

/// VMs the caller may see (a `user`: their own), filtered, sorted and paged.
#[utoipa::path(get, path = "/api/v1/vms", operation_id = "vm.list", tag = "vms",
    params(VmQuery), responses((status = 200, body = VmPage), (status = 400, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<VmQuery>,
) -> Result<Json<VmPage>> {
    Ok(Json(services::vms::list(&state, &caller, &q).await?))
}

/// One VM: state, resources, disks, NICs, graphics, boot order, and its history.
#[utoipa::path(get, path = "/api/v1/vms/{id}", operation_id = "vm.get", tag = "vms",
    params(("id" = String, Path, description = "domain UUID")),
    responses((status = 200, body = VmDetail), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 503, description = "host offline", body = ApiError)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VmDetail>> {
    Ok(Json(services::vms::get(&state, &caller, &id).await?))
}

/// Edits name, description, tags, autostart, vCPUs and memory (quota checked); admins assign an owner.
#[utoipa::path(patch, path = "/api/v1/vms/{id}", operation_id = "vm.update", tag = "vms",
    params(("id" = String, Path)), request_body = UpdateVm,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 409, body = ApiError)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateVm>,
) -> Result<Json<VmDetail>> {
    Ok(Json(services::vm_edit::update(&state, &caller, &id, req).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also delete the VM's disk volumes.
    #[serde(default)]
    disks: bool,
}

/// Deletes a VM (forcing it off first), with or without its disk volumes; says which disks were deleted and
/// which were kept, and why.
#[utoipa::path(delete, path = "/api/v1/vms/{id}", operation_id = "vm.delete", tag = "vms",
    params(("id" = String, Path), DeleteQuery),
    responses((status = 200, body = VmDeleted), (status = 404, body = ApiError),
        (status = 409, description = "the XML cannot be read, so disks cannot be found", body = ApiError)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Json<VmDeleted>> {
    Ok(Json(services::vm_actions::delete(&state, &caller, &id, q.disks).await?))
}

/// The domain XML, read-only.
#[utoipa::path(get, path = "/api/v1/vms/{id}/xml", operation_id = "vm.xml", tag = "vms",
    params(("id" = String, Path)),
    responses((status = 200, description = "the XML as a JSON string", body = String, content_type = "application/json"),
        (status = 404, body = ApiError)))]
pub async fn xml(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<String>) -> Result<Json<String>> {
    Ok(Json(services::vms::xml_of(&state, &caller, &id).await?))
}

/// `start`, `shutdown` (ACPI), `poweroff` (force), `reboot`, `reset`, `pause` or `resume`.
#[utoipa::path(post, path = "/api/v1/vms/{id}/actions/{action}", operation_id = "vm.{action}", tag = "vms",
    params(("id" = String, Path), ("action" = String, Path)),
    responses((status = 200, body = Vm), (status = 409, description = "does not fit the VM's state", body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> Result<Json<Vm>> {
    Ok(Json(services::vm_actions::action(&state, &caller, &id, &action).await?))
}

/// One action on many VMs, with a result for each.
#[utoipa::path(post, path = "/api/v1/vms/batch", operation_id = "vm.batch", tag = "vms",
    request_body = BatchRequest, responses((status = 200, body = [BatchItem]), (status = 400, body = ApiError)))]
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<Json<Vec<BatchItem>>> {
    Ok(Json(services::vm_actions::batch(&state, &caller, req).await?))
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list, super::vm_create::create))
        .routes(utoipa_axum::routes!(batch))
        .routes(utoipa_axum::routes!(get, update, delete))
        .routes(utoipa_axum::routes!(xml))
        .routes(utoipa_axum::routes!(action))
}
