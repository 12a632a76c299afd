//! Creating VMs (from a template, an ISO or an existing volume, with a cloud-init seed) and what a creation
//! would do before it is asked for (the plan). Wire types (with OpenAPI schemas under `ssr`) and client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{send, ApiResult, Method};
use super::Task;
use std::future::Future;

/// What the new VM's disk is made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VmSource {
    /// A template of the image library (id): cloned, then grown to `disk_gib`.
    Template(i64),
    /// An ISO of the image library (id): a blank disk of `disk_gib`, the ISO on a CD-ROM, booted first.
    Iso(i64),
    /// A disk already in a pool, used as it is.
    Volume(VolumeRef),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VolumeRef {
    /// The pool's UUID.
    pub pool: String,
    pub name: String,
}

/// Where a NIC is plugged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NetworkRef {
    /// A libvirt network of the host, by name.
    Network(String),
    /// A Linux bridge of the host, by name.
    Bridge(String),
}

/// The guest's network as cloud-init configures it (network-config v2): DHCP unless addresses are given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(default)]
pub struct CloudInitNetwork {
    /// IPv4 address with prefix, e.g. `192.168.122.50/24` (empty: DHCP).
    pub address: String,
    pub gateway: String,
    /// IPv6 address with prefix (empty: none, or router advertisements).
    pub address6: String,
    pub gateway6: String,
    pub dns: Vec<String>,
}

/// The cloud-init (NoCloud) seed given to the new VM.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(default)]
pub struct CloudInit {
    /// Host name (default: the VM's name).
    pub hostname: String,
    /// The default user to create (default: the template's default user, else `hangar`).
    pub user: String,
    /// That user's password: stored only as a SHA-512 crypt hash in the seed.
    pub password: String,
    /// OpenSSH public keys, one per entry.
    pub ssh_keys: Vec<String>,
    pub network: Option<CloudInitNetwork>,
    /// Grow the root partition to the disk (default true).
    pub grow_root: Option<bool>,
    pub packages: Vec<String>,
    /// Shell commands run once at first boot.
    pub runcmd: Vec<String>,
    /// Extra `#cloud-config` merged over what Hangar writes (it must be a valid cloud-config mapping).
    pub user_data: String,
}

/// `POST /api/v1/vms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreateVm {
    pub name: String,
    /// Default: Hangar places the VM (an online host with the memory and the source).
    #[serde(default)]
    pub host_id: Option<i64>,
    /// The pool (UUID) for the new disk and seed. Default: the host's `default` pool when it is running,
    /// else its image pool.
    #[serde(default)]
    pub pool: Option<String>,
    pub source: VmSource,
    pub vcpus: i64,
    pub memory_mib: i64,
    /// Disk size; at least the template's minimum and its current size. Ignored for a volume source.
    #[serde(default)]
    pub disk_gib: i64,
    /// Default: the host's `default` network, when it has one.
    #[serde(default)]
    pub network: Option<NetworkRef>,
    /// A full copy of the template instead of a linked clone (an overlay backed by it).
    #[serde(default)]
    pub full_clone: bool,
    /// `bios` or `uefi` (default: the template's).
    #[serde(default)]
    pub firmware: Option<String>,
    /// The owner (default: the caller; another user needs the right to assign VMs).
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub cloud_init: Option<CloudInit>,
    /// Start it once made (default true).
    #[serde(default)]
    pub start: Option<bool>,
}

/// A host Hangar did not choose, and why (`offline`, `maintenance`, `not_enough_memory`, `name_taken`,
/// `network_missing`, `no_source`, `not_requested`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SkippedHost {
    pub host_id: i64,
    pub host_name: String,
    pub reason: String,
}

/// One quota resource before and after the creation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct QuotaImpact {
    /// `vms`, `vcpus`, `memory_mib` or `disk_gib`.
    pub resource: String,
    pub limit: i64,
    pub before: i64,
    pub after: i64,
}

/// What a creation will do: `POST /api/v1/vms/plan` answers it without doing anything, and `POST /api/v1/vms`
/// does it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmPlan {
    /// The new VM's UUID.
    pub vm_id: String,
    pub host_id: i64,
    pub host_name: String,
    pub pool_id: String,
    pub pool_name: String,
    /// The disk volume to make (or the one used, for a volume source).
    pub disk_volume: String,
    /// `linked` (overlay on the template), `full` (copy), `blank` (ISO) or `existing`.
    pub disk_kind: String,
    pub disk_gib: i64,
    /// The cloud-init seed volume, when there is one.
    pub seed_volume: Option<String>,
    /// Whether the template is first copied to the host.
    pub copies_template: bool,
    pub network: Option<NetworkRef>,
    pub firmware: String,
    pub machine: String,
    pub disk_bus: String,
    pub skipped: Vec<SkippedHost>,
    pub quota: Vec<QuotaImpact>,
    pub owner_id: i64,
}

/// `POST /api/v1/vms` answers `202` with the task that makes the VM, and the VM's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmCreated {
    pub vm_id: String,
    pub task: Task,
    pub plan: VmPlan,
}

/// The cloud-init settings a VM was made with, as its page shows them (the password masked).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmCloudInit {
    pub hostname: String,
    pub user: String,
    pub password_set: bool,
    pub ssh_keys: Vec<String>,
    pub network: Option<CloudInitNetwork>,
    pub packages: Vec<String>,
    pub runcmd: Vec<String>,
    pub user_data: bool,
    pub instance_id: String,
    pub seed_volume: String,
}

/// The rules the server enforces and the wizard shows as you type (one definition for both).
/// A VM name: what libvirt and the VM list accept.
pub fn vm_name_ok(n: &str) -> bool {
    (1..=64).contains(&n.chars().count())
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

/// A host name as RFC 1123 allows: dot-separated labels of letters, digits and inner hyphens.
pub fn hostname_ok(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// A Linux user name: lower-case letters, digits, `_` and `-`, starting with a letter or `_`, up to 32; not root.
pub fn user_name_ok(u: &str) -> bool {
    let mut chars = u.chars();
    u.len() <= 32
        && u != "root"
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
}

pub fn create_vm(c: CreateVm) -> impl Future<Output = ApiResult<VmCreated>> + Send {
    send(Method::Post, "/api/v1/vms".to_string(), c)
}

pub fn plan_vm(c: CreateVm) -> impl Future<Output = ApiResult<VmPlan>> + Send {
    send(Method::Post, "/api/v1/vms/plan".to_string(), c)
}

/// Ejects the installation ISO and boots from the disk.
pub fn finish_install(id: String) -> impl Future<Output = ApiResult<super::Vm>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/actions/finish-install"), ())
}
