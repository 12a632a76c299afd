//! `GET /api/v1/events`: Server-Sent Events with VM and host changes the caller may see.
use crate::auth::{Caller, Principal};
use crate::error::Result;
use crate::state::AppState;
use app::api::{ApiError, StreamEvent};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;

/// The same rules as the requests: a VM's events go to those who may read the VM, a host's to those who may
/// read hosts.
fn visible(p: &Principal, ev: &StreamEvent) -> bool {
    match ev {
        StreamEvent::Vm { vm, .. } => p.sees_vm(vm.owner_id),
        StreamEvent::VmRemoved { owner_id, .. } => p.sees_vm(*owner_id),
        StreamEvent::Host { .. } => {
            crate::auth::authorize(p, crate::auth::Action::HostRead, crate::auth::Resource::System).is_ok()
        }
        StreamEvent::Task { task } => crate::services::tasks::sees(p, task),
    }
}

/// Resolves when the account's standing changes (or changes were missed): the stream then ends.
async fn standing_changed(mut rx: tokio::sync::broadcast::Receiver<i64>, user_id: i64) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match rx.recv().await {
            Ok(id) if id != user_id => continue,
            Ok(_) | Err(RecvError::Closed) | Err(RecvError::Lagged(_)) => return,
        }
    }
}

/// A stream of `vm`, `vmremoved` and `host` events (JSON in `data`), with keep-alive comments. It ends when the
/// caller's account is disabled, deleted, changes role or password, or signs out; a reconnect is authorized anew.
#[utoipa::path(get, path = "/api/v1/events", operation_id = "event.stream", tag = "events",
    responses((status = 200, content_type = "text/event-stream", body = StreamEvent), (status = 401, body = ApiError)))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let p = caller.require()?.clone();
    let changes = state.principals.subscribe();
    // A change between resolving the caller and subscribing would be missed: look at the account once more.
    let user = {
        let mut conn = state.db.acquire().await?;
        crate::db::users::by_id(&mut conn, p.id).await?
    };
    if user.is_none_or(|u| u.disabled || u.role() != p.role) {
        return Err(crate::error::Error::SessionExpired);
    }
    let rx = state.events.subscribe();
    let ended = standing_changed(changes, p.id);
    let events = BroadcastStream::new(rx).filter_map(move |msg| {
        let out = match msg {
            Ok(ev) if visible(&p, &ev) => {
                let ev = match ev {
                    StreamEvent::Vm { vm, event } => StreamEvent::Vm {
                        vm: p.redact(vm),
                        event,
                    },
                    other => other,
                };
                let name = match &ev {
                    StreamEvent::Vm { .. } => "vm",
                    StreamEvent::VmRemoved { .. } => "vmremoved",
                    StreamEvent::Host { .. } => "host",
                    StreamEvent::Task { .. } => "task",
                };
                Event::default().event(name).json_data(&ev).ok().map(Ok)
            }
            // A slow reader that missed events is told to reload what it shows.
            Err(_) => Some(Ok(Event::default().event("lagged").data("{}"))),
            _ => None,
        };
        futures::future::ready(out)
    });
    Ok(Sse::new(events.take_until(ended)).keep_alive(KeepAlive::default()))
}

/// This resource's routes, for the API router.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(stream))
}
