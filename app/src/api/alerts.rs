//! Alerts: rules (a metric, a comparison and threshold held for a duration, over a scope), the alerts they raise
//! (pending → firing → resolved, acknowledged, silenced), and the notification channels that tell people
//! (email, DingTalk, WeCom, Feishu, webhooks) with their delivery log. Wire types and client calls.

use serde::{Deserialize, Deserializer, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

/// What a rule watches. `vm_*` are per VM, `host_*` per host, `pool_usage_percent` per storage pool;
/// `host_offline`, `vm_crashed` (crashed or stopped without anyone asking) and `task_failed` are conditions (value 1 while true; threshold and comparison
/// are ignored).
pub const ALERT_METRICS: [&str; 12] = [
    "vm_cpu_percent",
    "vm_memory_percent",
    "vm_disk_read_bytes_per_second",
    "vm_disk_write_bytes_per_second",
    "vm_net_rx_bytes_per_second",
    "vm_net_tx_bytes_per_second",
    "vm_crashed",
    "host_cpu_percent",
    "host_memory_percent",
    "host_offline",
    "pool_usage_percent",
    "task_failed",
];

/// `gt` (>), `ge` (≥), `lt` (<), `le` (≤).
pub const COMPARISONS: [&str; 4] = ["gt", "ge", "lt", "le"];
pub const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];
pub const SCOPE_KINDS: [&str; 5] = ["all", "host", "vm", "tag", "owner"];
pub const CHANNEL_KINDS: [&str; 5] = ["email", "dingtalk", "wecom", "feishu", "webhook"];

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a string or a number, got {other}"
            )))
        }
    })
}

/// Which targets a rule covers: `all` (every target the rule's owner may see), `host` (`id`: a host id; its VMs
/// or itself), `vm` (`id`: a VM id), `tag` (`value`: VMs with that tag), `owner` (`id`: a user id; their VMs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertScope {
    pub kind: String,
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `POST /api/v1/alert-rules`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAlertRule {
    pub name: String,
    pub metric: String,
    #[serde(default = "default_comparison")]
    pub comparison: String,
    #[serde(default)]
    pub threshold: f64,
    /// How long the condition must hold before the alert fires (1 s to 7 days).
    pub for_seconds: i64,
    pub scope: AlertScope,
    #[serde(default = "default_severity")]
    pub severity: String,
    #[serde(default)]
    pub channels: Vec<i64>,
    /// Notify again while still firing, every this many seconds (0: once).
    #[serde(default)]
    pub repeat_seconds: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_comparison() -> String {
    "gt".into()
}
fn default_severity() -> String {
    "warning".into()
}
fn yes() -> bool {
    true
}

/// `PATCH /api/v1/alert-rules/{id}`: the fields to change. `silence_seconds` silences the rule for that long from
/// now (0 lifts a silence).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertRulePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<AlertScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_seconds: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AlertRule {
    pub id: i64,
    pub name: String,
    pub metric: String,
    pub comparison: String,
    pub threshold: f64,
    pub for_seconds: i64,
    pub scope: AlertScope,
    pub severity: String,
    pub channels: Vec<i64>,
    pub repeat_seconds: i64,
    pub enabled: bool,
    /// Unix milliseconds until which the rule notifies no one (none: not silenced).
    pub silenced_until: Option<i64>,
    pub owner_id: i64,
    pub owner: String,
    pub created_at: i64,
}

/// One notification attempt series: to which channel, for which event, with what result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub channel_id: i64,
    pub channel: String,
    /// `firing`, `resolved` or `test`.
    pub event: String,
    /// `pending` (retrying), `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// What the remote end answered last (status and the start of the body, or the error).
    pub response: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Alert {
    pub id: i64,
    pub rule_id: i64,
    pub rule: String,
    pub metric: String,
    pub severity: String,
    /// `vm`, `host`, `pool` or `task`.
    pub target_kind: String,
    pub target_id: String,
    pub target_name: String,
    /// `pending`, `firing` or `resolved`.
    pub state: String,
    pub value: f64,
    pub peak: f64,
    pub threshold: f64,
    pub comparison: String,
    pub started_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    pub deliveries: Vec<Delivery>,
}

/// Filters of `GET /api/v1/alerts`: `state` is `active` (pending or firing), `pending`, `firing` or `resolved`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AlertQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Only alerts with a smaller id (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AlertPage {
    pub items: Vec<Alert>,
    /// `before` for the next page (none: this is the last).
    pub next_before: Option<i64>,
}

/// `POST /api/v1/notification-channels`. `config` by kind: email `{"to": ["a@b"]}`; webhook `{"url", "secret"}`;
/// dingtalk `{"url", "secret"}` (secret `SEC…`); feishu `{"url", "secret"}`; wecom `{"url"}` (its key is the
/// secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    pub name: String,
    pub kind: String,
    pub config: serde_json::Value,
    /// Language of the messages, `en` or `zh-CN` (default: the creator's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `PATCH /api/v1/notification-channels/{id}`. In `config`, a secret left out keeps the saved one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A channel as shown after saving: secrets never come back; `target` says where messages go with the secret
/// parts hidden (`https://oapi.dingtalk.com/…`, the mail addresses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub has_secret: bool,
    pub language: String,
    pub owner_id: i64,
    pub owner: String,
    pub created_at: i64,
}

/// `POST /api/v1/notification-channels/{id}/test`: the delivery of the test message (already attempted once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TestResult {
    pub delivery: Delivery,
}

/// `PUT /api/v1/vms/{id}/alert-silence`: no notifications about the VM for `seconds` from now (0 lifts it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VmSilence {
    pub seconds: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct VmSilenced {
    pub vm_id: String,
    /// Unix milliseconds (none: not silenced).
    pub silenced_until: Option<i64>,
}

pub fn silence_vm(id: String, seconds: i64) -> impl Future<Output = ApiResult<VmSilenced>> + Send {
    send(
        Method::Put,
        format!("/api/v1/vms/{id}/alert-silence"),
        VmSilence { seconds },
    )
}

pub fn alert_rules() -> impl Future<Output = ApiResult<Vec<AlertRule>>> + Send {
    get("/api/v1/alert-rules".to_string())
}

pub fn create_alert_rule(r: NewAlertRule) -> impl Future<Output = ApiResult<AlertRule>> + Send {
    send(Method::Post, "/api/v1/alert-rules".to_string(), r)
}

pub fn update_alert_rule(id: i64, p: AlertRulePatch) -> impl Future<Output = ApiResult<AlertRule>> + Send {
    send(Method::Patch, format!("/api/v1/alert-rules/{id}"), p)
}

pub fn delete_alert_rule(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/alert-rules/{id}"), None)
}

pub fn alerts(q: AlertQuery) -> impl Future<Output = ApiResult<AlertPage>> + Send {
    get(format!("/api/v1/alerts{}", query_string(&q)))
}

pub fn acknowledge_alert(id: i64) -> impl Future<Output = ApiResult<Alert>> + Send {
    request::<(), Alert>(Method::Post, format!("/api/v1/alerts/{id}/acknowledge"), None)
}

pub fn channels() -> impl Future<Output = ApiResult<Vec<Channel>>> + Send {
    get("/api/v1/notification-channels".to_string())
}

pub fn create_channel(c: NewChannel) -> impl Future<Output = ApiResult<Channel>> + Send {
    send(Method::Post, "/api/v1/notification-channels".to_string(), c)
}

pub fn update_channel(id: i64, p: ChannelPatch) -> impl Future<Output = ApiResult<Channel>> + Send {
    send(Method::Patch, format!("/api/v1/notification-channels/{id}"), p)
}

pub fn delete_channel(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/notification-channels/{id}"), None)
}

pub fn test_channel(id: i64) -> impl Future<Output = ApiResult<TestResult>> + Send {
    request::<(), TestResult>(Method::Post, format!("/api/v1/notification-channels/{id}/test"), None)
}

pub fn channel_deliveries(id: i64) -> impl Future<Output = ApiResult<Vec<Delivery>>> + Send {
    get(format!("/api/v1/notification-channels/{id}/deliveries"))
}
