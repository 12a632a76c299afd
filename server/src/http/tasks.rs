//! `/api/v1/tasks`: long operations and their progress.
use super::extract::{ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, Task, TaskQuery};
use axum::extract::State;
use axum::Json;

/// Tasks, newest first: a caller's own, or every one for those who see everything (admins, operators,
/// auditors). Filters by state (`active` = queued or running), kind and target.
#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "task.list", tag = "tasks",
    params(TaskQuery), responses((status = 200, body = [Task]), (status = 400, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<Task>>> {
    Ok(Json(services::tasks::list(&state, &caller, &q).await?))
}

/// One task (someone else's answers 404).
#[utoipa::path(get, path = "/api/v1/tasks/{id}", operation_id = "task.get", tag = "tasks",
    params(("id" = i64, Path)), responses((status = 200, body = Task), (status = 404, body = ApiError)))]
pub async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<Task>> {
    Ok(Json(services::tasks::get(&state, &caller, id).await?))
}

/// Asks the task to stop; it ends `cancelled` and removes what it half made.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", operation_id = "task.cancel", tag = "tasks",
    params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ApiError),
        (status = 409, description = "finished, or cannot be stopped", body = ApiError)))]
pub async fn cancel(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<Task>> {
    Ok(Json(services::tasks::cancel(&state, &caller, id).await?))
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(get))
        .routes(utoipa_axum::routes!(cancel))
}
