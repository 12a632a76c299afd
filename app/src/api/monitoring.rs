//! Monitoring: CPU, memory, disk and network figures of VMs and hosts over time (hour to year), the figures of
//! now per disk and NIC, and the dashboard's overview. Wire types and client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

/// The time ranges charts offer, and the step of their points.
pub const RANGES: [&str; 5] = ["hour", "day", "week", "month", "year"];

/// Columns of a VM's points, in this order.
pub const VM_SERIES: [&str; 11] = [
    "cpu_percent",
    "memory_used_bytes",
    "memory_total_bytes",
    "disk_read_bytes_per_second",
    "disk_write_bytes_per_second",
    "disk_read_iops",
    "disk_write_iops",
    "net_rx_bytes_per_second",
    "net_tx_bytes_per_second",
    "net_rx_packets_per_second",
    "net_tx_packets_per_second",
];

/// Columns of a host's points, in this order.
pub const HOST_SERIES: [&str; 4] = ["cpu_percent", "memory_used_bytes", "memory_total_bytes", "online"];

/// `?range=hour|day|week|month|year` (default `hour`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct MetricsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
}

/// One moment: the average and the maximum of each series over the point's step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MetricPoint {
    /// Start of the step, Unix milliseconds.
    pub t: i64,
    pub avg: Vec<f64>,
    pub max: Vec<f64>,
}

/// Samples over a range; `series` names the columns of every point's `avg` and `max`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MetricSeries {
    pub range: String,
    pub step_seconds: i64,
    pub series: Vec<String>,
    pub points: Vec<MetricPoint>,
}

/// A disk's figures of the last collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DiskNow {
    /// The target device (`vda`).
    pub name: String,
    pub read_bytes_per_second: f64,
    pub write_bytes_per_second: f64,
    pub read_iops: f64,
    pub write_iops: f64,
}

/// A NIC's figures of the last collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NicNow {
    /// The host-side interface (`vnet3`).
    pub name: String,
    pub rx_bytes_per_second: f64,
    pub tx_bytes_per_second: f64,
    pub rx_packets_per_second: f64,
    pub tx_packets_per_second: f64,
}

/// `GET /api/v1/vms/{id}/metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmMetrics {
    pub vm_id: String,
    /// Unix milliseconds of the last collection that saw the VM running (none: not yet).
    pub collected_at: Option<i64>,
    pub history: MetricSeries,
    pub disks: Vec<DiskNow>,
    pub nics: Vec<NicNow>,
}

/// A storage pool's fill of the last collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PoolUsage {
    pub name: String,
    pub capacity_bytes: u64,
    pub allocation_bytes: u64,
    pub percent: f64,
}

/// `GET /api/v1/hosts/{id}/metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct HostMetrics {
    pub host_id: i64,
    pub online: bool,
    pub collected_at: Option<i64>,
    pub history: MetricSeries,
    pub pools: Vec<PoolUsage>,
}

/// A host's figures of now, for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct HostNow {
    pub id: i64,
    pub name: String,
    pub online: bool,
    pub cpu_percent: f64,
    pub memory_used_bytes: f64,
    pub memory_total_bytes: f64,
}

/// A running VM's figures of now, for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmNow {
    pub id: String,
    pub name: String,
    pub host: String,
    pub cpu_percent: f64,
    pub memory_percent: f64,
}

/// `GET /api/v1/metrics/overview`: hosts (for those who see hosts) and the ten busiest VMs the caller sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MetricsOverview {
    pub hosts: Vec<HostNow>,
    pub busiest: Vec<VmNow>,
}

fn range_query(range: &str) -> String {
    query_string(&MetricsQuery {
        range: Some(range.to_string()),
    })
}

pub fn vm_metrics(id: String, range: String) -> impl Future<Output = ApiResult<VmMetrics>> + Send {
    get(format!("/api/v1/vms/{id}/metrics{}", range_query(&range)))
}

pub fn host_metrics(id: i64, range: String) -> impl Future<Output = ApiResult<HostMetrics>> + Send {
    get(format!("/api/v1/hosts/{id}/metrics{}", range_query(&range)))
}

pub fn metrics_overview() -> impl Future<Output = ApiResult<MetricsOverview>> + Send {
    get("/api/v1/metrics/overview".to_string())
}
