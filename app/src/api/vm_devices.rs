//! A VM's devices after creation: disks (attach, detach, grow), the CD-ROM, NICs, the boot order; cloning a
//! VM; resetting a guest password. Wire types (with OpenAPI schemas under `ssr`) and client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{request, send, ApiResult, Method};
use super::{NetworkRef, Task, VmDetail, VolumeRef};
use std::future::Future;

/// A new, empty volume for a disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NewDisk {
    /// The pool's UUID (default: the pool of the VM's first disk).
    #[serde(default)]
    pub pool: Option<String>,
    pub size_gib: i64,
}

/// `POST /api/v1/vms/{id}/disks`: exactly one of `volume` (existing, admins and operators) and `new`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(default)]
pub struct AttachDisk {
    pub volume: Option<VolumeRef>,
    pub new: Option<NewDisk>,
    /// `virtio` (default), `scsi`, `sata` or `ide`.
    pub bus: Option<String>,
    /// Only in the configuration (from the next start) even when the VM runs.
    pub config_only: bool,
}

/// `POST /api/v1/vms/{id}/disks/{target}/actions/resize`: grow only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ResizeDisk {
    pub size_gib: i64,
}

/// `PUT /api/v1/vms/{id}/cdrom`: an ISO of the library in the drive, or none (eject).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(default)]
pub struct SetCdrom {
    /// The drive (default: the first CD-ROM).
    pub target: Option<String>,
    /// An ISO image id; `null` ejects.
    pub iso: Option<i64>,
}

/// `POST /api/v1/vms/{id}/nics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AddNic {
    pub network: NetworkRef,
    /// `virtio` (default), `e1000` or `rtl8139`.
    #[serde(default)]
    pub model: Option<String>,
    /// Generated (`52:54:00:…`) when not given.
    #[serde(default)]
    pub mac: Option<String>,
}

/// `PATCH /api/v1/vms/{id}/nics/{mac}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdateNic {
    pub link_up: bool,
}

/// `PUT /api/v1/vms/{id}/boot-order`: disk targets (`vda`, `hdc`) and NIC MACs, first to boot first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BootOrder {
    pub order: Vec<String>,
}

/// `POST /api/v1/vms/{id}/actions/clone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CloneVm {
    pub name: String,
    /// Full copies of the disks; otherwise linked (both VMs get an overlay on the disks as they are now).
    #[serde(default)]
    pub full: bool,
    /// Start the clone once made.
    #[serde(default)]
    pub start: bool,
}

/// `202` for a clone: the task and the new VM's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmCloned {
    pub vm_id: String,
    pub task: Task,
}

/// `POST /api/v1/vms/{id}/actions/reset-password`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ResetPassword {
    /// Default: the user the VM was made with.
    #[serde(default)]
    pub user: Option<String>,
    pub password: String,
}

/// How the password was changed: `agent` (done now) or `cloud_init` (at the next boot: `reboot_required`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PasswordReset {
    pub method: String,
    pub user: String,
    pub reboot_required: bool,
}

pub fn attach_disk(id: String, a: AttachDisk) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/disks"), a)
}

pub fn detach_disk(
    id: String,
    target: String,
    delete_volume: bool,
) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    request::<(), VmDetail>(
        Method::Delete,
        format!("/api/v1/vms/{id}/disks/{target}?delete_volume={delete_volume}"),
        None,
    )
}

pub fn resize_disk(id: String, target: String, r: ResizeDisk) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(
        Method::Post,
        format!("/api/v1/vms/{id}/disks/{target}/actions/resize"),
        r,
    )
}

pub fn set_cdrom(id: String, c: SetCdrom) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Put, format!("/api/v1/vms/{id}/cdrom"), c)
}

pub fn add_nic(id: String, n: AddNic) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/nics"), n)
}

pub fn remove_nic(id: String, mac: String) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    request::<(), VmDetail>(Method::Delete, format!("/api/v1/vms/{id}/nics/{mac}"), None)
}

pub fn update_nic(id: String, mac: String, u: UpdateNic) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Patch, format!("/api/v1/vms/{id}/nics/{mac}"), u)
}

pub fn set_boot_order(id: String, b: BootOrder) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Put, format!("/api/v1/vms/{id}/boot-order"), b)
}

pub fn clone_vm(id: String, c: CloneVm) -> impl Future<Output = ApiResult<VmCloned>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/actions/clone"), c)
}

pub fn reset_password(id: String, r: ResetPassword) -> impl Future<Output = ApiResult<PasswordReset>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/actions/reset-password"), r)
}
