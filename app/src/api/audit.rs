//! The audit log. Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

#[allow(unused_imports)]
use super::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor: Option<String>,
    pub source: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub result: String,
    pub details: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Filters of `GET /api/v1/audit`; times are Unix milliseconds or RFC 3339.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<i64>,
}

pub fn audit(q: AuditQuery) -> impl Future<Output = ApiResult<AuditPage>> + Send {
    get(format!("/api/v1/audit{}", query_string(&q)))
}

/// The CSV export of the same filters, for a download link.
pub fn audit_csv_url(q: &AuditQuery) -> String {
    let mut q = q.clone();
    q.page = None;
    q.per_page = None;
    format!("/api/v1/audit.csv{}", query_string(&q))
}
