//! Consoles in the browser: single-use tickets for the WebSocket bridge (VNC and serial), the sessions open now,
//! and share links to one VM's console for people without an account. Wire types and client calls.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[allow(unused_imports)]
use super::client::{request, send, ApiResult, Method};
use std::future::Future;

/// `vnc` (the graphical screen, through noVNC) or `serial` (the first serial port, through xterm.js).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ConsoleKind {
    Vnc,
    Serial,
}

impl ConsoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleKind::Vnc => "vnc",
            ConsoleKind::Serial => "serial",
        }
    }

    pub fn parse(s: &str) -> Option<ConsoleKind> {
        match s {
            "vnc" => Some(ConsoleKind::Vnc),
            "serial" => Some(ConsoleKind::Serial),
            _ => None,
        }
    }
}

/// `POST /api/v1/vms/{id}/console`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct OpenConsole {
    pub kind: ConsoleKind,
}

/// A single-use ticket (valid 30 s, bound to the caller, the VM and the kind) and the same-origin WebSocket path
/// to present it to. Binary frames carry the raw RFB or serial bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ConsoleTicket {
    pub ticket: String,
    /// `/api/v1/vms/{id}/console/ws?ticket=…` (connect with `ws:` or `wss:` on this origin).
    pub url: String,
    pub kind: ConsoleKind,
    /// Input is dropped by the bridge (a view-only share link).
    pub view_only: bool,
    pub vm_id: String,
    pub vm_name: String,
    pub expires_in_seconds: i64,
}

/// A console session open now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ConsoleSession {
    pub id: i64,
    pub vm_id: String,
    pub kind: ConsoleKind,
    /// The account, or `link:<id>` for a share link.
    pub user: String,
    pub link_id: Option<i64>,
    pub view_only: bool,
    pub source: String,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub bytes_to_vm: u64,
    pub bytes_from_vm: u64,
}

/// A share link as listed (the secret is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ConsoleLink {
    pub id: i64,
    pub vm_id: String,
    pub kind: ConsoleKind,
    pub view_only: bool,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// Times the link opened a console.
    pub uses: i64,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/vms/{id}/console-links`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConsoleLink {
    pub kind: ConsoleKind,
    /// Only watch (the default): keys, pointer, clipboard and resizes are dropped by the bridge.
    #[serde(default = "yes")]
    pub view_only: bool,
    /// Minutes until the link stops working (1 … the configured maximum).
    pub expires_minutes: i64,
}

/// A new share link: `url` carries the secret (after `#`, so it never reaches a server log) and is shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ConsoleLinkCreated {
    pub link: ConsoleLink,
    pub url: String,
}

/// `POST /api/v1/console-links/open`: what the share page sends to get a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct OpenConsoleLink {
    pub token: String,
}

pub fn open_console(id: String, kind: ConsoleKind) -> impl Future<Output = ApiResult<ConsoleTicket>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/console"), OpenConsole { kind })
}

pub fn console_sessions(id: String) -> impl Future<Output = ApiResult<Vec<ConsoleSession>>> + Send {
    request::<(), Vec<ConsoleSession>>(Method::Get, format!("/api/v1/vms/{id}/console-sessions"), None)
}

pub fn end_console_session(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/console-sessions/{id}"), None)
}

pub fn console_links(id: String) -> impl Future<Output = ApiResult<Vec<ConsoleLink>>> + Send {
    request::<(), Vec<ConsoleLink>>(Method::Get, format!("/api/v1/vms/{id}/console-links"), None)
}

pub fn create_console_link(
    id: String,
    l: NewConsoleLink,
) -> impl Future<Output = ApiResult<ConsoleLinkCreated>> + Send {
    send(Method::Post, format!("/api/v1/vms/{id}/console-links"), l)
}

pub fn revoke_console_link(id: i64) -> impl Future<Output = ApiResult<()>> + Send {
    request::<(), ()>(Method::Delete, format!("/api/v1/console-links/{id}"), None)
}
