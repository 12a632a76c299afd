//! libvirt hosts. Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

#[allow(unused_imports)]
use super::*;

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

pub fn list_hosts() -> impl Future<Output = ApiResult<Vec<Host>>> + Send {
    get("/api/v1/hosts".into())
}

pub fn get_host(id: i64) -> impl Future<Output = ApiResult<HostDetail>> + Send {
    get(format!("/api/v1/hosts/{id}"))
}

pub fn create_host(h: CreateHost) -> impl Future<Output = ApiResult<Host>> + Send {
    send(Method::Post, "/api/v1/hosts".into(), h)
}

pub fn update_host(id: i64, h: UpdateHost) -> impl Future<Output = ApiResult<Host>> + Send {
    send(Method::Patch, format!("/api/v1/hosts/{id}"), h)
}

pub fn delete_host(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/hosts/{id}"), None)
}
