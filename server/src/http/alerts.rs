//! Alerts: rules, alerts (firing and history) with acknowledgement, and notification channels with test
//! messages and their delivery log.
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::Result;
use crate::services::{alert_rules, channels};
use crate::state::AppState;
use app::api::{
    Alert, AlertPage, AlertQuery, AlertRule, AlertRulePatch, ApiError, Channel, ChannelPatch, Delivery, NewAlertRule,
    NewChannel, TestResult, VmSilence, VmSilenced,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

/// The alert rules the caller may see (a user: their own).
#[utoipa::path(get, path = "/api/v1/alert-rules", operation_id = "alert_rule.list", tag = "alerts",
    responses((status = 200, body = Vec<AlertRule>), (status = 401, body = ApiError)))]
pub async fn list_rules(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<AlertRule>>> {
    Ok(Json(alert_rules::list(&state, &caller).await?))
}

/// A new rule, owned by the caller. A user's rules watch only their own VMs and tasks; host and pool metrics
/// and scopes over others' VMs are for operators and admins.
#[utoipa::path(post, path = "/api/v1/alert-rules", operation_id = "alert_rule.create", tag = "alerts",
    request_body = NewAlertRule,
    responses((status = 201, body = AlertRule), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn create_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(r): ApiJson<NewAlertRule>,
) -> Result<(StatusCode, Json<AlertRule>)> {
    Ok((
        StatusCode::CREATED,
        Json(alert_rules::create(&state, &caller, r).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/alert-rules/{id}", operation_id = "alert_rule.get", tag = "alerts",
    params(("id" = i64, Path)), responses((status = 200, body = AlertRule), (status = 404, body = ApiError)))]
pub async fn get_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertRule>> {
    Ok(Json(alert_rules::get(&state, &caller, id).await?))
}

/// Changes a rule; `silence_seconds` silences it for that long (0 lifts the silence).
#[utoipa::path(patch, path = "/api/v1/alert-rules/{id}", operation_id = "alert_rule.update", tag = "alerts",
    params(("id" = i64, Path)), request_body = AlertRulePatch,
    responses((status = 200, body = AlertRule), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError)))]
pub async fn update_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<AlertRulePatch>,
) -> Result<Json<AlertRule>> {
    Ok(Json(alert_rules::update(&state, &caller, id, p).await?))
}

/// Deletes a rule; its alerts stay in the history (pending and firing ones resolve at the next collection).
#[utoipa::path(delete, path = "/api/v1/alert-rules/{id}", operation_id = "alert_rule.delete", tag = "alerts",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    alert_rules::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Alerts, newest first, with their notifications: `state=active` for what is pending or firing now.
#[utoipa::path(get, path = "/api/v1/alerts", operation_id = "alert.list", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = AlertPage), (status = 400, body = ApiError)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<AlertPage>> {
    Ok(Json(alert_rules::alerts(&state, &caller, &q).await?))
}

/// Acknowledges an alert: it notifies no more repeats (a failed task's alert is resolved by it).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", operation_id = "alert.acknowledge", tag = "alerts",
    params(("id" = i64, Path)),
    responses((status = 200, body = Alert), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Alert>> {
    Ok(Json(alert_rules::acknowledge(&state, &caller, id).await?))
}

/// The notification channels the caller may see; secrets never come back.
#[utoipa::path(get, path = "/api/v1/notification-channels", operation_id = "notification_channel.list",
    tag = "alerts", responses((status = 200, body = Vec<Channel>), (status = 401, body = ApiError)))]
pub async fn list_channels(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Channel>>> {
    Ok(Json(channels::list(&state, &caller).await?))
}

/// A new channel, owned by the caller. Webhooks and robots at private or link-local addresses (or at Hangar)
/// are refused unless `notifications.allow_private_webhooks`.
#[utoipa::path(post, path = "/api/v1/notification-channels", operation_id = "notification_channel.create",
    tag = "alerts", request_body = NewChannel,
    responses((status = 201, body = Channel), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(c): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<Channel>)> {
    Ok((StatusCode::CREATED, Json(channels::create(&state, &caller, c).await?)))
}

#[utoipa::path(get, path = "/api/v1/notification-channels/{id}", operation_id = "notification_channel.get",
    tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Channel), (status = 404, body = ApiError)))]
pub async fn get_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Channel>> {
    Ok(Json(channels::get(&state, &caller, id).await?))
}

/// Changes a channel; in `config`, a secret left out keeps the saved one.
#[utoipa::path(patch, path = "/api/v1/notification-channels/{id}", operation_id = "notification_channel.update",
    tag = "alerts", params(("id" = i64, Path)), request_body = ChannelPatch,
    responses((status = 200, body = Channel), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError)))]
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<ChannelPatch>,
) -> Result<Json<Channel>> {
    Ok(Json(channels::update(&state, &caller, id, p).await?))
}

#[utoipa::path(delete, path = "/api/v1/notification-channels/{id}", operation_id = "notification_channel.delete",
    tag = "alerts", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    channels::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now and answers with its delivery (the remote end's answer); failures are retried later.
#[utoipa::path(post, path = "/api/v1/notification-channels/{id}/test", operation_id = "notification_channel.test",
    tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = TestResult), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 429, description = "too many messages being sent at once", body = ApiError)))]
pub async fn test_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TestResult>> {
    Ok(Json(channels::test(&state, &caller, id).await?))
}

/// The channel's last 100 deliveries with each one's attempts and the remote end's answer.
#[utoipa::path(get, path = "/api/v1/notification-channels/{id}/deliveries",
    operation_id = "notification_channel.deliveries", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Delivery>), (status = 404, body = ApiError)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Delivery>>> {
    Ok(Json(channels::deliveries(&state, &caller, id).await?))
}

/// Silences notifications about one VM for `seconds` (0 lifts it): alerts still fire and resolve, quietly.
#[utoipa::path(put, path = "/api/v1/vms/{id}/alert-silence", operation_id = "vm.alert_silence", tag = "alerts",
    params(("id" = String, Path)), request_body = VmSilence,
    responses((status = 200, body = VmSilenced), (status = 400, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError)))]
pub async fn silence_vm(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<VmSilence>,
) -> Result<Json<VmSilenced>> {
    Ok(Json(alert_rules::silence_vm(&state, &caller, &id, b.seconds).await?))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_rules, create_rule))
        .routes(utoipa_axum::routes!(get_rule, update_rule, delete_rule))
        .routes(utoipa_axum::routes!(list_alerts))
        .routes(utoipa_axum::routes!(acknowledge))
        .routes(utoipa_axum::routes!(list_channels, create_channel))
        .routes(utoipa_axum::routes!(get_channel, update_channel, delete_channel))
        .routes(utoipa_axum::routes!(test_channel))
        .routes(utoipa_axum::routes!(deliveries))
        .routes(utoipa_axum::routes!(silence_vm))
}
