//! Long operations (copies, imports, creation) as tasks with progress. Wire types (with OpenAPI schemas under
//! `ssr`) and the typed client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::{IntoParams, ToSchema};

#[allow(unused_imports)]
use super::client::{get, query_string, request, send, ApiResult, Method};
use std::future::Future;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl TaskState {
    pub const ALL: [TaskState; 5] = [
        TaskState::Queued,
        TaskState::Running,
        TaskState::Succeeded,
        TaskState::Failed,
        TaskState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the task will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled)
    }
}

/// One long operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Task {
    pub id: i64,
    /// `volume.clone`, `image.import`, `image.copy`, …
    pub kind: String,
    /// What it works on: `pool:<uuid>/<volume>`, `image:<id>`, `upload:<id>`.
    pub target: String,
    pub owner_id: Option<i64>,
    pub state: TaskState,
    /// 0.0 to 1.0.
    pub progress: f64,
    pub bytes_done: Option<i64>,
    pub bytes_total: Option<i64>,
    /// The current step, a stable word (`copying`, `checking`, `cleaning_up`, …).
    pub step: String,
    pub message: String,
    /// The error code of a failed task (the same codes as API errors).
    pub error_code: Option<String>,
    /// The error's details (as in API errors), e.g. `{"expected": "iso"}`.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    #[serde(default)]
    pub error_details: Option<serde_json::Value>,
    /// Whether `POST /api/v1/tasks/{id}/cancel` can stop it now.
    pub cancellable: bool,
    /// What it made, e.g. `{"image_id": 4}`.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub result: Option<serde_json::Value>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct TaskQuery {
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled`, or `active` (queued or running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Exact target, e.g. `image:4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// At most this many, newest first (default 100, at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

pub fn list_tasks(q: TaskQuery) -> impl Future<Output = ApiResult<Vec<Task>>> + Send {
    get(format!("/api/v1/tasks{}", query_string(&q)))
}

pub fn get_task(id: i64) -> impl Future<Output = ApiResult<Task>> + Send {
    get(format!("/api/v1/tasks/{id}"))
}

pub fn cancel_task(id: i64) -> impl Future<Output = ApiResult<Task>> + Send {
    request::<(), Task>(Method::Post, format!("/api/v1/tasks/{id}/cancel"), None)
}
