//! Wire types of hosts, virtual machines and the event stream.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Online,
    #[default]
    Connecting,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Host {
    pub id: i64,
    pub name: String,
    pub uri: String,
    pub description: String,
    pub maintenance: bool,
    pub status: HostStatus,
    /// Unix ms of the last status change.
    pub status_since: i64,
    pub last_error: Option<String>,
    /// libvirt's built-in fake hypervisor (`test://`): a demo, not real machines.
    pub demo: bool,
    pub vm_count: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NodeFacts {
    pub hostname: String,
    pub cpu_model: String,
    pub cpus: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
    pub mhz: u32,
    pub numa_cells: u32,
    pub memory_total_mib: u64,
    pub memory_free_mib: u64,
    pub hypervisor: String,
    pub hypervisor_version: String,
    pub libvirt_version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct HostDetail {
    pub host: Host,
    /// Absent while the host is not online.
    pub node: Option<NodeFacts>,
    /// VM count by state.
    pub vms_by_state: Vec<(String, i64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreateHost {
    pub name: String,
    pub uri: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdateHost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Vm {
    /// The domain UUID.
    pub id: String,
    pub name: String,
    /// `running`, `paused`, `shutoff`, `shutdown`, `crashed`, `pmsuspended`, `blocked` or `nostate`.
    pub state: String,
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
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct VmQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<i64>,
    /// A user id, or `none` for unowned VMs.
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
    pub ok: bool,
    pub error: Option<super::ApiError>,
}

/// One message of `GET /api/v1/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum StreamEvent {
    Vm {
        vm: Vm,
        event: String,
    },
    VmRemoved {
        id: String,
        host_id: i64,
        owner_id: Option<i64>,
    },
    Host {
        host: Host,
    },
}
