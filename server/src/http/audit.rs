//! `/api/v1/audit`: the audit log, as JSON pages and as CSV.
use super::extract::ApiQuery;
use crate::auth::Caller;
use crate::error::Result;
use crate::services;
use crate::state::AppState;
use app::api::{ApiError, AuditPage, AuditQuery};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Records, newest first, filtered by actor, action (prefix), result and time range.
#[utoipa::path(get, path = "/api/v1/audit", operation_id = "audit.list", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>> {
    Ok(Json(services::audit::list(&state, &caller, &q).await?))
}

/// The same records as a CSV download: every record matching the filters, newest first, at most 100,000
/// (`page` and `per_page` are ignored).
#[utoipa::path(get, path = "/api/v1/audit.csv", operation_id = "audit.csv", tag = "audit",
    params(AuditQuery),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = ApiError)))]
pub async fn csv(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<AuditQuery>) -> Result<Response> {
    let body = services::audit::csv(&state, &caller, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"hangar-audit.csv\""),
        ],
        body,
    )
        .into_response())
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(csv))
}
