//! Storage pools and their volumes on every host. Wire types (with OpenAPI schemas under `ssr`) and the typed
//! client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::{IntoParams, ToSchema};

#[allow(unused_imports)]
use super::client::{encode, get, query_string, request, send, ApiResult, Method};
use super::Task;
use std::future::Future;

/// The pool types Hangar can create (any type libvirt reports is listed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PoolType {
    #[default]
    Dir,
    Fs,
    Netfs,
    Logical,
    Zfs,
    Rbd,
    Iscsi,
}

impl PoolType {
    pub const ALL: [PoolType; 7] = [
        PoolType::Dir,
        PoolType::Fs,
        PoolType::Netfs,
        PoolType::Logical,
        PoolType::Zfs,
        PoolType::Rbd,
        PoolType::Iscsi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PoolType::Dir => "dir",
            PoolType::Fs => "fs",
            PoolType::Netfs => "netfs",
            PoolType::Logical => "logical",
            PoolType::Zfs => "zfs",
            PoolType::Rbd => "rbd",
            PoolType::Iscsi => "iscsi",
        }
    }

    pub fn parse(s: &str) -> Option<PoolType> {
        PoolType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The fields a form asks for this type (besides name and host).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            PoolType::Dir => &["target_path"],
            PoolType::Fs => &["source_device", "target_path"],
            PoolType::Netfs => &["source_host", "source_dir", "target_path"],
            PoolType::Logical => &["source_name", "source_device"],
            PoolType::Zfs => &["source_name", "source_device"],
            PoolType::Rbd => &["source_host", "source_name", "auth_username", "secret_uuid"],
            PoolType::Iscsi => &["source_host", "source_device"],
        }
    }
}

/// A storage pool as libvirt reports it. Its id is libvirt's UUID.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Pool {
    pub id: String,
    pub host_id: i64,
    pub host_name: String,
    pub name: String,
    /// libvirt's type word (`dir`, `fs`, `logical`, …).
    pub kind: String,
    /// `running`, `inactive`, `building`, `degraded` or `inaccessible`.
    pub state: String,
    pub autostart: bool,
    pub persistent: bool,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
    /// Absent while the pool is not running.
    pub volume_count: Option<u32>,
    /// Where its volumes are (a directory or a device path).
    pub target_path: Option<String>,
    /// The pool holding this host's images.
    pub images_pool: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PoolDetail {
    pub pool: Pool,
    /// Where the pool's data comes from (device, host and directory, volume group…), as `(field, value)`.
    pub source: Vec<(String, String)>,
    /// The pool's XML, read-only.
    pub xml: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct PoolQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<i64>,
}

/// A new pool. Which fields are needed depends on `kind` (see `PoolType::fields`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreatePool {
    pub host_id: i64,
    pub name: String,
    pub kind: PoolType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    /// A block device (`/dev/…`), an iSCSI target IQN, or a ZFS/LVM physical device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_device: Option<String>,
    /// NFS server, Ceph monitor or iSCSI portal host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_host: Option<String>,
    /// The exported directory of an NFS server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dir: Option<String>,
    /// LVM volume group, ZFS pool or Ceph pool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Ceph user (rbd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// The libvirt secret holding the Ceph key (rbd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_uuid: Option<String>,
    #[serde(default)]
    pub autostart: bool,
    /// Build the pool (make the directory, format the device) before starting it.
    #[serde(default)]
    pub build: bool,
    /// Define only, do not start.
    #[serde(default)]
    pub define_only: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UpdatePool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<bool>,
    /// Make this the host's images pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images_pool: Option<bool>,
}

/// Who uses a volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VolumeUser {
    /// A VM's UUID, or `image:<id>`.
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Volume {
    pub name: String,
    pub pool_id: String,
    pub path: String,
    /// `qcow2`, `raw`, `iso`, … as libvirt reports it.
    pub format: String,
    pub capacity: u64,
    pub allocation: u64,
    /// The volume this one is an overlay of.
    pub backing: Option<String>,
    /// VMs whose disks are this volume (or an overlay of it), and an image it holds.
    pub used_by: Vec<VolumeUser>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct VolumeQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreateVolume {
    pub name: String,
    /// `qcow2` (default) or `raw`.
    #[serde(default)]
    pub format: String,
    pub capacity_bytes: u64,
    /// A volume of the same pool to use as the backing file (qcow2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backing: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ResizeVolume {
    pub capacity_bytes: u64,
    /// Allow shrinking a raw volume (data past the new end is lost).
    #[serde(default)]
    pub shrink: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CloneVolume {
    pub name: String,
}

pub fn list_pools(q: PoolQuery) -> impl Future<Output = ApiResult<Vec<Pool>>> + Send {
    get(format!("/api/v1/pools{}", query_string(&q)))
}

pub fn get_pool(id: String) -> impl Future<Output = ApiResult<PoolDetail>> + Send {
    get(format!("/api/v1/pools/{}", encode(&id)))
}

pub fn create_pool(p: CreatePool) -> impl Future<Output = ApiResult<Pool>> + Send {
    send(Method::Post, "/api/v1/pools".into(), p)
}

pub fn update_pool(id: String, p: UpdatePool) -> impl Future<Output = ApiResult<Pool>> + Send {
    send(Method::Patch, format!("/api/v1/pools/{}", encode(&id)), p)
}

pub fn delete_pool(id: String, contents: bool) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(
        Method::Delete,
        format!("/api/v1/pools/{}?contents={contents}", encode(&id)),
        None,
    )
}

/// `start`, `stop` or `refresh`.
pub fn pool_action(id: String, action: &'static str) -> impl Future<Output = ApiResult<Pool>> + Send {
    request::<(), Pool>(
        Method::Post,
        format!("/api/v1/pools/{}/actions/{action}", encode(&id)),
        None,
    )
}

pub fn list_volumes(pool: String, q: VolumeQuery) -> impl Future<Output = ApiResult<Vec<Volume>>> + Send {
    get(format!("/api/v1/pools/{}/volumes{}", encode(&pool), query_string(&q)))
}

pub fn create_volume(pool: String, v: CreateVolume) -> impl Future<Output = ApiResult<Volume>> + Send {
    send(Method::Post, format!("/api/v1/pools/{}/volumes", encode(&pool)), v)
}

pub fn delete_volume(pool: String, name: String) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(
        Method::Delete,
        format!("/api/v1/pools/{}/volumes/{}", encode(&pool), encode(&name)),
        None,
    )
}

pub fn resize_volume(pool: String, name: String, r: ResizeVolume) -> impl Future<Output = ApiResult<Volume>> + Send {
    send(
        Method::Post,
        format!(
            "/api/v1/pools/{}/volumes/{}/actions/resize",
            encode(&pool),
            encode(&name)
        ),
        r,
    )
}

pub fn clone_volume(pool: String, name: String, c: CloneVolume) -> impl Future<Output = ApiResult<Task>> + Send {
    send(
        Method::Post,
        format!(
            "/api/v1/pools/{}/volumes/{}/actions/clone",
            encode(&pool),
            encode(&name)
        ),
        c,
    )
}

pub fn wipe_volume(pool: String, name: String) -> impl Future<Output = ApiResult<Volume>> + Send {
    request::<(), Volume>(
        Method::Post,
        format!("/api/v1/pools/{}/volumes/{}/actions/wipe", encode(&pool), encode(&name)),
        None,
    )
}

/// Where the browser downloads a volume's bytes.
pub fn volume_content_url(pool: &str, name: &str) -> String {
    format!("/api/v1/pools/{}/volumes/{}/content", encode(pool), encode(name))
}
