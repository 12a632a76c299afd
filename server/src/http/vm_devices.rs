//! A VM's disks, CD-ROM, NICs and boot order; cloning it; resetting a guest password.
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::Result;
use crate::services::{vm_clone, vm_devices, vm_password};
use crate::state::AppState;
use app::api::{
    AddNic, ApiError, AttachDisk, BootOrder, CloneVm, PasswordReset, ResetPassword, ResizeDisk, SetCdrom, UpdateNic,
    VmCloned, VmDetail,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

/// Attaches a disk: an existing volume (admins and operators) or a new empty one of `new.size_gib` (counted
/// against the owner's disk quota); live when the VM runs, unless `config_only`.
#[utoipa::path(post, path = "/api/v1/vms/{id}/disks", operation_id = "vm.disk_attach", tag = "vms",
    params(("id" = String, Path)), request_body = AttachDisk,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "quota exceeded, volume in use", body = ApiError),
        (status = 502, body = ApiError), (status = 503, body = ApiError)))]
pub async fn attach_disk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AttachDisk>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::attach_disk(&state, &caller, &id, req).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetachQuery {
    /// Also delete the disk's volume (its size is given back to the owner's quota).
    #[serde(default)]
    delete_volume: bool,
}

/// Detaches a disk (live and from the configuration).
#[utoipa::path(delete, path = "/api/v1/vms/{id}/disks/{target}", operation_id = "vm.disk_detach", tag = "vms",
    params(("id" = String, Path), ("target" = String, Path), DetachQuery),
    responses((status = 200, body = VmDetail), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 502, body = ApiError), (status = 503, body = ApiError)))]
pub async fn detach_disk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, target)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DetachQuery>,
) -> Result<Json<VmDetail>> {
    Ok(Json(
        vm_devices::detach_disk(&state, &caller, &id, &target, q.delete_volume).await?,
    ))
}

/// Grows a disk (live with a block resize when the VM runs).
#[utoipa::path(post, path = "/api/v1/vms/{id}/disks/{target}/actions/resize", operation_id = "vm.disk_resize",
    tag = "vms", params(("id" = String, Path), ("target" = String, Path)), request_body = ResizeDisk,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 502, body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn resize_disk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, target)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ResizeDisk>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::resize_disk(&state, &caller, &id, &target, req).await?))
}

/// Inserts an ISO of the library into the CD-ROM drive, or ejects it (`iso: null`); live with force.
#[utoipa::path(put, path = "/api/v1/vms/{id}/cdrom", operation_id = "vm.cdrom", tag = "vms",
    params(("id" = String, Path)), request_body = SetCdrom,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 502, body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn set_cdrom(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetCdrom>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::set_cdrom(&state, &caller, &id, req).await?))
}

/// Adds a NIC on a libvirt network or a bridge of the host (MAC generated unless given).
#[utoipa::path(post, path = "/api/v1/vms/{id}/nics", operation_id = "vm.nic_add", tag = "vms",
    params(("id" = String, Path)), request_body = AddNic,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 502, body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn add_nic(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AddNic>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::add_nic(&state, &caller, &id, req).await?))
}

/// Removes a NIC (by MAC).
#[utoipa::path(delete, path = "/api/v1/vms/{id}/nics/{mac}", operation_id = "vm.nic_remove", tag = "vms",
    params(("id" = String, Path), ("mac" = String, Path)),
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 502, body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn remove_nic(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, mac)): ApiPath<(String, String)>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::remove_nic(&state, &caller, &id, &mac).await?))
}

/// Sets a NIC's link up or down.
#[utoipa::path(patch, path = "/api/v1/vms/{id}/nics/{mac}", operation_id = "vm.nic_link", tag = "vms",
    params(("id" = String, Path), ("mac" = String, Path)), request_body = UpdateNic,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 502, body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn update_nic(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, mac)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdateNic>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::update_nic(&state, &caller, &id, &mac, req).await?))
}

/// Sets the boot order (disk targets and NIC MACs, first boots first), from the next start.
#[utoipa::path(put, path = "/api/v1/vms/{id}/boot-order", operation_id = "vm.boot_order", tag = "vms",
    params(("id" = String, Path)), request_body = BootOrder,
    responses((status = 200, body = VmDetail), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 502, body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn set_boot_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<BootOrder>,
) -> Result<Json<VmDetail>> {
    Ok(Json(vm_devices::set_boot_order(&state, &caller, &id, req).await?))
}

/// Clones a shut-off VM on its host (full copies or linked overlays; new name, UUID, MACs and cloud-init
/// instance-id), owned by the caller and counted against their quota; runs as a `vm.clone` task (`202`).
#[utoipa::path(post, path = "/api/v1/vms/{id}/actions/clone", operation_id = "vm.clone", tag = "vms",
    params(("id" = String, Path)), request_body = CloneVm,
    responses((status = 202, body = VmCloned), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "running, name taken, quota", body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn clone(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CloneVm>,
) -> Result<(StatusCode, Json<VmCloned>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(vm_clone::clone(&state, &caller, &id, req).await?),
    ))
}

/// Resets a guest user's password: by the guest agent when it answers (done now), else through cloud-init
/// (applied at the next boot: `reboot_required`). The password is recorded nowhere.
#[utoipa::path(post, path = "/api/v1/vms/{id}/actions/reset-password", operation_id = "vm.reset_password",
    tag = "vms", params(("id" = String, Path)), request_body = ResetPassword,
    responses((status = 200, body = PasswordReset), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "neither an agent nor a seed", body = ApiError),
        (status = 502, body = ApiError), (status = 503, body = ApiError)))]
pub async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ResetPassword>,
) -> Result<Json<PasswordReset>> {
    Ok(Json(vm_password::reset(&state, &caller, &id, req).await?))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(attach_disk))
        .routes(utoipa_axum::routes!(detach_disk))
        .routes(utoipa_axum::routes!(resize_disk))
        .routes(utoipa_axum::routes!(set_cdrom))
        .routes(utoipa_axum::routes!(add_nic))
        .routes(utoipa_axum::routes!(remove_nic, update_nic))
        .routes(utoipa_axum::routes!(set_boot_order))
        .routes(utoipa_axum::routes!(clone))
        .routes(utoipa_axum::routes!(reset_password))
}
