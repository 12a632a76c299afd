//! `POST /api/v1/vms` and its plan: making VMs; and ending an installation from an ISO.
use super::extract::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, CreateVm, Vm, VmCreated, VmPlan};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// Makes a VM from a template (linked or full clone), an ISO (blank disk, CD-ROM first) or an existing
/// volume, with an optional cloud-init seed. The quota is reserved at once (refused with the numbers when it
/// does not fit); the rest runs as a `vm.create` task (`202`), which removes everything it made if a step fails.
#[utoipa::path(post, path = "/api/v1/vms", operation_id = "vm.create", tag = "vms", request_body = CreateVm,
    responses((status = 202, body = VmCreated), (status = 400, body = ApiError),
        (status = 403, body = ApiError), (status = 404, description = "image, pool or volume", body = ApiError),
        (status = 409, description = "quota exceeded, name taken, no host can take it, volume in use", body = ApiError),
        (status = 503, body = ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateVm>,
) -> Result<(StatusCode, Json<VmCreated>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(services::vm_create::create(&state, &caller, req).await?),
    ))
}

/// What `POST /api/v1/vms` would do with this body (host, pool, disk, seed, quota before and after), without
/// doing it.
#[utoipa::path(post, path = "/api/v1/vms/plan", operation_id = "vm.plan", tag = "vms", request_body = CreateVm,
    responses((status = 200, body = VmPlan), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 503, body = ApiError)))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateVm>,
) -> Result<Json<VmPlan>> {
    Ok(Json(services::vm_create::plan(&state, &caller, &req).await?))
}

/// Ejects the installation ISO and, when the VM runs, power-cycles it to boot from its disk.
#[utoipa::path(post, path = "/api/v1/vms/{id}/actions/finish-install", operation_id = "vm.finish_install",
    tag = "vms", params(("id" = String, Path)),
    responses((status = 200, body = Vm), (status = 404, body = ApiError),
        (status = 409, description = "no media to eject", body = ApiError), (status = 503, body = ApiError)))]
pub async fn finish_install(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vm>> {
    Ok(Json(services::vm_media::finish_install(&state, &caller, &id).await?))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(plan))
        .routes(utoipa_axum::routes!(finish_install))
}
