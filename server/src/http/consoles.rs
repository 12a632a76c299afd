//! Consoles: tickets, the WebSocket bridge, sessions open now, screenshots and share links.
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::serve::Working;
use crate::auth::Caller;
use crate::db;
use crate::error::{Error, Result};
use crate::services::audit::{self, Outcome};
use crate::services::console_bridge::{self, Meter, PumpLimits};
use crate::services::consoles::{Live, Refusal, Ticket};
use crate::services::{console_links, consoles};
use crate::state::AppState;
use app::api::{
    ApiError, ConsoleLink, ConsoleLinkCreated, ConsoleSession, ConsoleTicket, NewConsoleLink, OpenConsole,
    OpenConsoleLink,
};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A single-use ticket for the VM's VNC or serial console (valid 30 s), and the WebSocket path to present it to.
#[utoipa::path(post, path = "/api/v1/vms/{id}/console", operation_id = "console.ticket", tag = "consoles",
    params(("id" = String, Path)), request_body = OpenConsole,
    responses((status = 200, body = ConsoleTicket), (status = 404, body = ApiError),
        (status = 409, description = "the VM is off or paused, or has no such console", body = ApiError),
        (status = 429, description = "too many console sessions", body = ApiError)))]
pub async fn ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<OpenConsole>,
) -> Result<Json<ConsoleTicket>> {
    Ok(Json(consoles::open(&state, &caller, &id, req.kind).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The ticket from `POST …/console` or `POST /api/v1/console-links/open`.
    ticket: String,
}

/// The WebSocket bridge (binary frames: raw RFB or serial bytes). The ticket must be this VM's, unused and
/// unexpired, and the `Origin` this server's; refusals are audited.
#[utoipa::path(get, path = "/api/v1/vms/{id}/console/ws", operation_id = "console.connect", tag = "consoles",
    params(("id" = String, Path), WsQuery),
    responses((status = 101, description = "switched to the WebSocket protocol"),
        (status = 400, description = "not a WebSocket request", body = ApiError),
        (status = 403, description = "the ticket or the Origin was refused", body = ApiError),
        (status = 429, body = ApiError)))]
#[allow(clippy::too_many_arguments)]
pub async fn ws(
    State(state): State<AppState>,
    caller: Result<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<WsQuery>,
    headers: HeaderMap,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    working: Option<Extension<Working>>,
    upgrade: std::result::Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response> {
    let source = connect
        .map(|c| c.0 .0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    let upgrade = upgrade.map_err(|_| Error::invalid("upgrade", "websocket_required"))?;
    let ticket = state.consoles.redeem(&q.ticket);
    // Who presented the ticket (signed in, if at all) is the actor; whose ticket it was goes in the details.
    let presenter = caller
        .as_ref()
        .ok()
        .and_then(|c| c.principal.as_ref())
        .map(|p| (p.id, p.username.clone()));
    let refuse = |why: &'static str, t: Option<&Ticket>| {
        let (state, source) = (state.clone(), source.clone());
        let holder = t.map(|t| (t.holder.name.clone(), t.vm_uuid.clone()));
        let actor = presenter
            .clone()
            .or_else(|| t.and_then(|t| t.holder.user_id.map(|u| (u, t.holder.name.clone()))));
        let tried = id.clone();
        async move {
            let c = Caller::system(&source);
            if let Some((uid, name)) = actor {
                c.slot.set_actor(uid, &name);
            }
            let mut details = json!({ "reason": why });
            if let Some((name, vm)) = holder {
                details["ticket_holder"] = json!(name);
                details["ticket_vm"] = json!(vm);
            }
            let _ = audit::record_alone(
                &state,
                &c,
                "console.refused",
                Some(&format!("vm:{tried}")),
                Outcome::Denied,
                &details,
            )
            .await;
            Err(Error::ConsoleRefused(why))
        }
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !origin_allowed(&state, origin.to_str().unwrap_or(""), &headers) {
            return refuse("foreign_origin", ticket.as_ref().ok()).await;
        }
    }
    let t = match ticket {
        Ok(t) => t,
        Err(Refusal::Unknown) => return refuse("unknown_ticket", None).await,
        Err(Refusal::Expired) => return refuse("expired_ticket", None).await,
    };
    if t.vm_uuid != id {
        return refuse("other_vm", Some(&t)).await;
    }
    // A ticket is its holder's: someone signed in as another account cannot use it.
    if let (Some(holder), Ok(Some(p))) = (t.holder.user_id, caller.as_ref().map(|c| c.principal.as_ref())) {
        if t.holder.link_id.is_none() && p.id != holder {
            return refuse("other_user", Some(&t)).await;
        }
    }
    let c = &state.config.consoles;
    let slot = state
        .consoles
        .admit(&t.holder, c.max_sessions, c.max_sessions_per_user)?;
    let max = c.max_frame_bytes;
    Ok(upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            // The connection is busy while the session lasts: the console's own idle timeout applies.
            let _busy = working.map(|w| w.0.hold());
            session(state, t, source, socket).await;
            drop(slot);
        }))
}

/// The origin the request was addressed to, or one configured as allowed.
fn origin_allowed(state: &AppState, origin: &str, headers: &HeaderMap) -> bool {
    if state.config.consoles.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

async fn close_with(mut socket: WebSocket, reason: &str) {
    let frame = CloseFrame {
        code: console_bridge::close_code(reason),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(Message::Close(Some(frame)))).await;
}

async fn session(state: AppState, t: Ticket, source: String, socket: WebSocket) {
    let caller = Caller::system(&source);
    if let Some(uid) = t.holder.user_id {
        caller.slot.set_actor(uid, &t.holder.name);
    }
    let target = format!("vm:{}", t.vm_uuid);
    let base = json!({ "kind": t.kind.as_str(), "view_only": t.view_only, "link": t.holder.link_id,
        "who": t.holder.name, "source": source });
    let (io, first) = match console_bridge::connect(&state, &t).await {
        Ok(x) => x,
        Err(u) => {
            tracing::info!(vm = %t.vm_uuid, reason = u.reason, detail = %u.detail, "console could not connect");
            let mut d = base.clone();
            d["reason"] = json!(u.reason);
            let _ = audit::record_alone(&state, &caller, "console.open", Some(&target), Outcome::Failed, &d).await;
            close_with(socket, u.reason).await;
            return;
        }
    };
    let started = db::now_ms();
    let id = match open_row(&state, &caller, &t, &source, started, &base).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "recording a console session");
            close_with(socket, "internal").await;
            return;
        }
    };
    let live = Arc::new(Live {
        id,
        holder: t.holder.clone(),
        vm_uuid: t.vm_uuid.clone(),
        host_id: t.host_id,
        kind: t.kind,
        view_only: t.view_only,
        source: source.clone(),
        started_at: started,
        to_vm: Default::default(),
        from_vm: Default::default(),
        end: tokio::sync::watch::channel(None).0,
    });
    state.consoles.add(live.clone());
    if !consoles::still_allowed(&state, &t.holder, &t.vm_uuid)
        .await
        .unwrap_or(false)
    {
        let _ = live.end.send_replace(Some(t.holder.lost_reason()));
    }
    let limits = PumpLimits {
        max_message: state.config.consoles.max_frame_bytes,
        idle: Duration::from_secs(state.config.consoles.idle_timeout_seconds),
    };
    let host_id = t.host_id;
    let virt = state.virt.clone();
    let still_ok = move || {
        let (status, _, _) = virt.status(host_id);
        (status != app::api::HostStatus::Online).then_some("host_offline")
    };
    let meter = Meter {
        live: &live,
        deadline: t.deadline,
        still_ok: &still_ok,
    };
    let reason = console_bridge::run(socket, &t, io, first, &limits, meter).await;
    state.consoles.remove(id);
    let bytes = (
        live.to_vm.load(std::sync::atomic::Ordering::Relaxed),
        live.from_vm.load(std::sync::atomic::Ordering::Relaxed),
    );
    let ended = db::now_ms();
    let mut d = base;
    d["session"] = json!(id);
    d["reason"] = json!(reason);
    d["duration_ms"] = json!(ended - started);
    d["bytes_to_vm"] = json!(bytes.0);
    d["bytes_from_vm"] = json!(bytes.1);
    let closed = async {
        let mut tx = db::begin_write(&state.db).await?;
        db::consoles::close_session(&mut tx, id, ended, reason, bytes).await?;
        audit::record(&mut tx, &caller, "console.close", Some(&target), Outcome::Ok, &d).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    };
    if let Err(e) = closed.await {
        tracing::error!(error = %e, session = id, "recording the end of a console session");
    }
}

async fn open_row(
    state: &AppState,
    caller: &Caller,
    t: &Ticket,
    source: &str,
    now: i64,
    base: &serde_json::Value,
) -> Result<i64> {
    let mut tx = db::begin_write(&state.db).await?;
    let id = db::consoles::open_session(
        &mut tx,
        &db::consoles::NewSession {
            vm_uuid: &t.vm_uuid,
            kind: t.kind,
            user: (t.holder.user_id, &t.holder.name),
            link_id: t.holder.link_id,
            view_only: t.view_only,
            source,
            now,
        },
    )
    .await?;
    let mut d = base.clone();
    d["session"] = json!(id);
    audit::record(
        &mut tx,
        caller,
        "console.open",
        Some(&format!("vm:{}", t.vm_uuid)),
        Outcome::Ok,
        &d,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Console sessions open now on the VM (who, kind, from where, since when, bytes each way).
#[utoipa::path(get, path = "/api/v1/vms/{id}/console-sessions", operation_id = "console.sessions", tag = "consoles",
    params(("id" = String, Path)),
    responses((status = 200, body = [ConsoleSession]), (status = 404, body = ApiError)))]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ConsoleSession>>> {
    Ok(Json(consoles::sessions(&state, &caller, &id).await?))
}

/// Ends a console session (admins: anyone's; others: their own).
#[utoipa::path(delete, path = "/api/v1/console-sessions/{id}", operation_id = "console.end", tag = "consoles",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub async fn end(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode> {
    consoles::end(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The VM's screen as a PNG image.
#[utoipa::path(get, path = "/api/v1/vms/{id}/screenshot", operation_id = "console.screenshot", tag = "consoles",
    params(("id" = String, Path)),
    responses((status = 200, description = "PNG", content_type = "image/png"), (status = 404, body = ApiError),
        (status = 409, body = ApiError)))]
pub async fn screenshot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let (mime, bytes) = consoles::screenshot(&state, &caller, &id).await?;
    let name = format!("attachment; filename=\"screen-{}.png\"", &id[..id.len().min(36)]);
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The VM's share links (live ones, and those that ended within the last day).
#[utoipa::path(get, path = "/api/v1/vms/{id}/console-links", operation_id = "console_link.list", tag = "consoles",
    params(("id" = String, Path)),
    responses((status = 200, body = [ConsoleLink]), (status = 404, body = ApiError)))]
pub async fn links(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ConsoleLink>>> {
    Ok(Json(console_links::list(&state, &caller, &id).await?))
}

/// Creates a share link; its URL (with the secret) is in this answer only.
#[utoipa::path(post, path = "/api/v1/vms/{id}/console-links", operation_id = "console_link.create", tag = "consoles",
    params(("id" = String, Path)), request_body = NewConsoleLink,
    responses((status = 201, body = ConsoleLinkCreated), (status = 400, body = ApiError),
        (status = 404, body = ApiError)))]
pub async fn create_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NewConsoleLink>,
) -> Result<(StatusCode, Json<ConsoleLinkCreated>)> {
    Ok((
        StatusCode::CREATED,
        Json(console_links::create(&state, &caller, &id, req).await?),
    ))
}

/// Revokes a share link; sessions it opened end.
#[utoipa::path(delete, path = "/api/v1/console-links/{id}", operation_id = "console_link.revoke", tag = "consoles",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub async fn revoke_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    console_links::revoke(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// For the share page (no account): a ticket for the link's console.
#[utoipa::path(post, path = "/api/v1/console-links/open", operation_id = "console_link.open", tag = "consoles",
    request_body = OpenConsoleLink,
    responses((status = 200, body = ConsoleTicket), (status = 404, body = ApiError),
        (status = 409, body = ApiError),
        (status = 410, description = "the link expired or was revoked", body = ApiError),
        (status = 429, description = "too many wrong links from this address", body = ApiError)))]
pub async fn open_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<OpenConsoleLink>,
) -> Result<Json<ConsoleTicket>> {
    Ok(Json(console_links::open(&state, &caller, &req.token).await?))
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(ticket))
        .routes(utoipa_axum::routes!(ws))
        .routes(utoipa_axum::routes!(sessions))
        .routes(utoipa_axum::routes!(end))
        .routes(utoipa_axum::routes!(screenshot))
        .routes(utoipa_axum::routes!(links, create_link))
        .routes(utoipa_axum::routes!(revoke_link))
        .routes(utoipa_axum::routes!(open_link))
}
