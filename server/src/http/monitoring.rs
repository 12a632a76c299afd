//! Monitoring: VM and host series over a range, the dashboard's overview, and `/metrics` for Prometheus.
use super::extract::{ApiPath, ApiQuery};
use crate::auth::{policy, Action, Caller, Resource};
use crate::error::{Error, Result};
use crate::services::{metrics, prometheus};
use crate::state::AppState;
use app::api::{ApiError, HostMetrics, MetricsOverview, MetricsQuery, VmMetrics};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A VM's CPU, memory, disk and network figures over `range` (hour: 10 s samples; day: 1 min; week and month:
/// 30 min; year: 6 h; each point the average and maximum of its step), and each disk's and NIC's of now.
#[utoipa::path(get, path = "/api/v1/vms/{id}/metrics", operation_id = "vm.metrics", tag = "monitoring",
    params(("id" = String, Path), MetricsQuery),
    responses((status = 200, body = VmMetrics), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
pub async fn vm(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<VmMetrics>> {
    Ok(Json(metrics::vm(&state, &caller, &id, q.range.as_deref()).await?))
}

/// A host's CPU and memory over `range`, whether it is online, and its pools' fill.
#[utoipa::path(get, path = "/api/v1/hosts/{id}/metrics", operation_id = "host.metrics", tag = "monitoring",
    params(("id" = i64, Path), MetricsQuery),
    responses((status = 200, body = HostMetrics), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError)))]
pub async fn host(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<HostMetrics>> {
    Ok(Json(metrics::host(&state, &caller, id, q.range.as_deref()).await?))
}

/// Hosts' usage now (for those who see hosts) and the ten busiest VMs the caller sees.
#[utoipa::path(get, path = "/api/v1/metrics/overview", operation_id = "metrics.overview", tag = "monitoring",
    responses((status = 200, body = MetricsOverview), (status = 401, body = ApiError)))]
pub async fn overview(State(state): State<AppState>, caller: Caller) -> Result<Json<MetricsOverview>> {
    Ok(Json(metrics::overview(&state, &caller).await?))
}

fn text(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /metrics` on the main address: with `Authorization: Bearer <monitoring.metrics_token>`, or as a signed-in
/// account or API token that sees hosts (admins, operators, auditors).
pub async fn scrape(State(state): State<AppState>, caller: Result<Caller>, headers: HeaderMap) -> Result<Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let by_token = match (&state.config.monitoring.metrics_token, bearer) {
        (Some(t), Some(b)) if !t.0.is_empty() => crate::auth::tokens::constant_time_eq(&t.0, b),
        _ => false,
    };
    if !by_token {
        let caller = caller?;
        policy::authorize(caller.require()?, Action::HostRead, Resource::System)?;
    }
    Ok(text(prometheus::render(&state).await?))
}

/// `GET /metrics` on `monitoring.metrics_listen`, without authentication (that address is the operator's choice).
pub async fn scrape_open(State(state): State<AppState>) -> Response {
    match prometheus::render(&state).await {
        Ok(body) => text(body),
        Err(e) => e.into_response(),
    }
}

/// The router of the separate metrics address: `/metrics` and nothing else.
pub fn open_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape_open))
        .fallback(|| async { Error::NotFound("route") })
        .with_state(state)
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(vm))
        .routes(utoipa_axum::routes!(host))
        .routes(utoipa_axum::routes!(overview))
}
