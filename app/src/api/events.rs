//! Messages of the live event stream (`GET /api/v1/events`). Wire types (with OpenAPI schemas under `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

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
    /// A task was created, made progress, or finished.
    Task {
        task: Task,
    },
}
