//! Virtual machines across hosts. Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

#[allow(unused_imports)]
use super::*;

/// What libvirt says a domain is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VmState {
    Running,
    Blocked,
    Paused,
    /// Shutting down (the guest was asked and has not finished).
    Shutdown,
    Shutoff,
    Crashed,
    Pmsuspended,
    #[default]
    Nostate,
}

impl VmState {
    pub const ALL: [VmState; 8] = [
        VmState::Running,
        VmState::Blocked,
        VmState::Paused,
        VmState::Shutdown,
        VmState::Shutoff,
        VmState::Crashed,
        VmState::Pmsuspended,
        VmState::Nostate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Running => "running",
            VmState::Blocked => "blocked",
            VmState::Paused => "paused",
            VmState::Shutdown => "shutdown",
            VmState::Shutoff => "shutoff",
            VmState::Crashed => "crashed",
            VmState::Pmsuspended => "pmsuspended",
            VmState::Nostate => "nostate",
        }
    }

    /// Unknown text reads as `nostate`.
    pub fn parse(s: &str) -> VmState {
        VmState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .unwrap_or(VmState::Nostate)
    }

    /// Running in any sense (its CPU may be scheduled).
    pub fn is_up(self) -> bool {
        matches!(self, VmState::Running | VmState::Blocked)
    }
}

/// A lifecycle action; which states it fits is written here once, for the server and the UI alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VmAction {
    Start,
    Shutdown,
    Reboot,
    Pause,
    Resume,
    Reset,
    Poweroff,
}

impl VmAction {
    /// In the order the UI shows them.
    pub const ALL: [VmAction; 7] = [
        VmAction::Start,
        VmAction::Shutdown,
        VmAction::Reboot,
        VmAction::Pause,
        VmAction::Resume,
        VmAction::Reset,
        VmAction::Poweroff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VmAction::Start => "start",
            VmAction::Shutdown => "shutdown",
            VmAction::Reboot => "reboot",
            VmAction::Pause => "pause",
            VmAction::Resume => "resume",
            VmAction::Reset => "reset",
            VmAction::Poweroff => "poweroff",
        }
    }

    pub fn parse(s: &str) -> Option<VmAction> {
        VmAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether the action fits a VM in `state`; the server refuses the others with `invalid_state`.
    pub fn allowed_in(self, state: VmState) -> bool {
        use VmState::*;
        match self {
            VmAction::Start => matches!(state, Shutoff | Crashed | Nostate),
            VmAction::Shutdown | VmAction::Reboot | VmAction::Reset | VmAction::Pause => {
                matches!(state, Running | Blocked)
            }
            VmAction::Resume => matches!(state, Paused | Pmsuspended),
            VmAction::Poweroff => matches!(state, Running | Blocked | Paused | Shutdown | Crashed | Pmsuspended),
        }
    }

    /// Loses the guest's unsaved work: the UI asks before doing it.
    pub fn needs_confirmation(self) -> bool {
        matches!(self, VmAction::Poweroff | VmAction::Reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_allows_something_and_start_only_when_off() {
        for s in VmState::ALL {
            assert!(VmAction::ALL.iter().any(|a| a.allowed_in(s)), "{s:?} allows nothing");
            assert_eq!(VmState::parse(s.as_str()), s);
        }
        assert!(!VmAction::Start.allowed_in(VmState::Shutdown));
        assert!(VmAction::Poweroff.allowed_in(VmState::Shutdown));
        assert_eq!(serde_json::to_string(&VmState::Pmsuspended).unwrap(), "\"pmsuspended\"");
        assert_eq!(VmAction::parse("bogus"), None);
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Vm {
    /// The domain UUID.
    pub id: String,
    pub name: String,
    pub state: VmState,
    pub host_id: i64,
    pub host_name: String,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub vcpus: i64,
    pub memory_mib: i64,
    pub ips: Vec<String>,
    pub tags: Vec<String>,
    /// The owner the domain's own metadata names when Hangar does not honour it (written by another
    /// installation, or naming a user who no longer exists). Informational: it grants nothing.
    #[serde(default)]
    pub claimed_owner: Option<ClaimedOwner>,
}

/// An owner named in a domain's metadata that is not this installation's record of its owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ClaimedOwner {
    pub name: String,
    pub user_id: i64,
    /// The installation that wrote the metadata, if it said.
    pub installation: Option<String>,
    /// Written by another Hangar installation (or by hand), not by this one.
    pub foreign: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmPage {
    pub items: Vec<Vm>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// How many VMs match every filter except the state, per state.
    #[serde(default)]
    pub by_state: Vec<(VmState, i64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct VmQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<i64>,
    /// A user id (a number), a username, or `none` for unowned VMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Part of the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `name`, `state`, `host`, `owner`, `vcpus` or `memory`; prefix `-` for descending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmDisk {
    pub target: String,
    pub device: String,
    pub path: Option<String>,
    pub pool: Option<String>,
    pub format: Option<String>,
    pub capacity_bytes: Option<u64>,
    pub allocation_bytes: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmNic {
    pub mac: Option<String>,
    /// `network:default`, `bridge:br0`, …
    pub source: String,
    pub model: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmEvent {
    pub at: i64,
    /// `started`, `stopped`, … for libvirt events; the audit action for things people did.
    pub kind: String,
    pub detail: String,
    pub actor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmDetail {
    pub vm: Vm,
    pub description: String,
    pub uptime_seconds: Option<u64>,
    pub max_vcpus: i64,
    pub max_memory_mib: i64,
    pub disks: Vec<VmDisk>,
    pub nics: Vec<VmNic>,
    pub graphics: Vec<String>,
    pub boot_order: Vec<String>,
    pub autostart: bool,
    pub persistent: bool,
    pub events: Vec<VmEvent>,
    /// The cloud-init settings it was made with (by Hangar), secrets masked.
    #[serde(default)]
    pub cloud_init: Option<super::VmCloudInit>,
    /// A CD-ROM holds media and boots first: an installation that "finish installation" ends.
    #[serde(default)]
    pub installing: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdateVm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_vcpus: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_mib: Option<i64>,
    /// Admins only: assign the VM to a user (counted against their quota); `0` removes the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
}

/// What deleting a VM did with each of its disks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmDeleted {
    pub id: String,
    pub name: String,
    /// Paths of the storage volumes that were deleted.
    pub disks_deleted: Vec<String>,
    /// Disks left in place, each with the reason.
    pub disks_kept: Vec<KeptDisk>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct KeptDisk {
    /// The disk's source path (or its target device when it has none).
    pub path: String,
    /// `not_requested` (deleted without disks), `not_a_disk` (CD-ROM or floppy media), `no_source`,
    /// `not_a_volume` (a file outside every storage pool: Hangar never deletes those), `delete_failed`.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BatchRequest {
    /// `start`, `shutdown`, `poweroff`, `reboot` or `delete`.
    pub action: String,
    pub ids: Vec<String>,
    /// For `delete`: also delete the VMs' disk volumes.
    #[serde(default)]
    pub delete_disks: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BatchItem {
    pub id: String,
    /// The VM's name, when the caller may see it.
    #[serde(default)]
    pub name: Option<String>,
    /// Its state after the action, when the caller may see it.
    #[serde(default)]
    pub state: Option<VmState>,
    pub ok: bool,
    pub error: Option<super::ApiError>,
}

pub fn list_vms(q: VmQuery) -> impl Future<Output = ApiResult<VmPage>> + Send {
    get(format!("/api/v1/vms{}", query_string(&q)))
}

pub fn get_vm(id: String) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    get(format!("/api/v1/vms/{id}"))
}

pub fn vm_xml(id: String) -> impl Future<Output = ApiResult<String>> + Send {
    get(format!("/api/v1/vms/{id}/xml"))
}

pub fn update_vm(id: String, u: UpdateVm) -> impl Future<Output = ApiResult<VmDetail>> + Send {
    send(Method::Patch, format!("/api/v1/vms/{id}"), u)
}

pub fn delete_vm(id: String, disks: bool) -> impl Future<Output = ApiResult<VmDeleted>> + Send {
    request::<(), VmDeleted>(Method::Delete, format!("/api/v1/vms/{id}?disks={disks}"), None)
}

pub fn vm_action(id: String, action: VmAction) -> impl Future<Output = ApiResult<Vm>> + Send {
    request::<(), Vm>(
        Method::Post,
        format!("/api/v1/vms/{id}/actions/{}", action.as_str()),
        None,
    )
}

pub fn vm_batch(b: BatchRequest) -> impl Future<Output = ApiResult<Vec<BatchItem>>> + Send {
    send(Method::Post, "/api/v1/vms/batch".into(), b)
}
