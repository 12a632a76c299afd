//! Console access: single-use tickets (30 s, bound to the caller, the VM and the kind), the registry of open
//! sessions with their limits, ending sessions, and screenshots. The bridge itself is `console_bridge`.
use super::audit;
use super::vms::visible;
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, vms::VmRow};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::console;
use app::api::{ConsoleKind, ConsoleSession, ConsoleTicket};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Tickets waiting at once, in all: beyond it, new ones are refused until old ones are used or expire.
const MAX_TICKETS: usize = 4096;

/// Who a ticket or session is for: an account, or a share link (no account).
#[derive(Clone, Debug)]
pub struct Holder {
    pub user_id: Option<i64>,
    pub name: String,
    pub link_id: Option<i64>,
}

/// Tickets one holder may have waiting at once: enough for a few tabs, too few to fill the table.
const TICKETS_PER_HOLDER: usize = 16;

impl Holder {
    /// Why a session ends when its holder may no longer have it: a link's, or an account's standing.
    pub fn lost_reason(&self) -> &'static str {
        if self.link_id.is_some() {
            "link_revoked"
        } else {
            "signed_out"
        }
    }

    fn key(&self) -> String {
        match (self.user_id, self.link_id) {
            (_, Some(l)) => format!("link:{l}"),
            (Some(u), None) => format!("user:{u}"),
            (None, None) => "nobody".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Ticket {
    pub holder: Holder,
    pub vm_uuid: String,
    pub vm_name: String,
    pub host_id: i64,
    pub kind: ConsoleKind,
    pub view_only: bool,
    /// When a share link's session must end (its expiry), in milliseconds since the epoch.
    pub deadline: Option<i64>,
    expires: Instant,
}

/// A session open now: what the VM page lists and what ending it signals.
pub struct Live {
    pub id: i64,
    pub holder: Holder,
    pub vm_uuid: String,
    pub host_id: i64,
    pub kind: ConsoleKind,
    pub view_only: bool,
    pub source: String,
    pub started_at: i64,
    pub to_vm: AtomicU64,
    pub from_vm: AtomicU64,
    /// Set to a reason to end the session (`ended_by_admin`, `signed_out`, `host_offline`, `shutdown`).
    pub end: watch::Sender<Option<&'static str>>,
}

impl Live {
    pub fn to_api(&self) -> ConsoleSession {
        ConsoleSession {
            id: self.id,
            vm_id: self.vm_uuid.clone(),
            kind: self.kind,
            user: self.holder.name.clone(),
            link_id: self.holder.link_id,
            view_only: self.view_only,
            source: self.source.clone(),
            started_at: self.started_at,
            bytes_to_vm: self.to_vm.load(Ordering::Relaxed),
            bytes_from_vm: self.from_vm.load(Ordering::Relaxed),
        }
    }
}

/// Tickets waiting and sessions open, in this process.
#[derive(Default)]
pub struct Consoles {
    tickets: Mutex<HashMap<String, Ticket>>,
    live: Mutex<HashMap<i64, Arc<Live>>>,
    /// Sessions admitted (being set up or open), per holder: what the limits count, taken under one lock.
    slots: Arc<Mutex<HashMap<String, usize>>>,
}

/// One admitted session's place in the limits; given back when dropped (the session ended or never started).
pub struct Slot {
    slots: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

/// Refuses when the holder, or everyone together, already has as many sessions as allowed.
fn within_limits(slots: &HashMap<String, usize>, holder: &Holder, max_total: usize, max_each: usize) -> Result<()> {
    if slots.get(&holder.key()).copied().unwrap_or(0) >= max_each {
        return Err(limit_error(holder, true, max_each));
    }
    if slots.values().sum::<usize>() >= max_total {
        return Err(limit_error(holder, false, max_total));
    }
    Ok(())
}

fn limit_error(holder: &Holder, scope_each: bool, limit: usize) -> Error {
    let scope = match (scope_each, holder.link_id.is_some()) {
        (false, _) => "total",
        (true, true) => "link",
        (true, false) => "user",
    };
    Error::ConsoleLimit { scope, limit }
}

/// Why a ticket was refused at the WebSocket, for the audit log and the close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, already used or expired (they cannot be told apart once used).
    Unknown,
    Expired,
}

impl Consoles {
    fn tickets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ticket>> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Live>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new ticket's secret.
    pub fn issue(
        &self,
        holder: Holder,
        vm: &VmRow,
        kind: ConsoleKind,
        view_only: bool,
        deadline: Option<i64>,
        ttl: Duration,
    ) -> Result<String> {
        let secret = crate::auth::tokens::random_urlsafe(24);
        let now = Instant::now();
        let mut t = self.tickets();
        t.retain(|_, v| v.expires > now);
        let key = holder.key();
        if t.len() >= MAX_TICKETS || t.values().filter(|v| v.holder.key() == key).count() >= TICKETS_PER_HOLDER {
            return Err(Error::Busy { retry_after: 5 });
        }
        t.insert(
            secret.clone(),
            Ticket {
                holder,
                vm_uuid: vm.uuid.clone(),
                vm_name: vm.name.clone(),
                host_id: vm.host_id,
                kind,
                view_only,
                deadline,
                expires: now + ttl,
            },
        );
        Ok(secret)
    }

    /// Takes a ticket out (it can be used once, whatever happens next).
    pub fn redeem(&self, secret: &str) -> std::result::Result<Ticket, Refusal> {
        let t = self.tickets().remove(secret).ok_or(Refusal::Unknown)?;
        if t.expires <= Instant::now() {
            return Err(Refusal::Expired);
        }
        Ok(t)
    }

    /// Refuses when the holder or everyone together has as many sessions as allowed (a courtesy check when a
    /// ticket is asked for; `admit` is the one that counts).
    pub fn check_limits(&self, holder: &Holder, max_total: usize, max_each: usize) -> Result<()> {
        let m = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        within_limits(&m, holder, max_total, max_each)
    }

    /// Takes a place for a session under the limits, checked and counted under one lock, so sessions opened at
    /// the same moment cannot all slip past the limit.
    pub fn admit(&self, holder: &Holder, max_total: usize, max_each: usize) -> Result<Slot> {
        let mut m = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        within_limits(&m, holder, max_total, max_each)?;
        let key = holder.key();
        *m.entry(key.clone()).or_insert(0) += 1;
        Ok(Slot {
            slots: self.slots.clone(),
            key,
        })
    }

    pub fn add(&self, live: Arc<Live>) {
        self.sessions().insert(live.id, live);
    }

    pub fn remove(&self, id: i64) {
        self.sessions().remove(&id);
    }

    pub fn get(&self, id: i64) -> Option<Arc<Live>> {
        self.sessions().get(&id).cloned()
    }

    pub fn of_vm(&self, uuid: &str) -> Vec<Arc<Live>> {
        let mut v: Vec<_> = self
            .sessions()
            .values()
            .filter(|l| l.vm_uuid == uuid)
            .cloned()
            .collect();
        v.sort_by_key(|l| l.id);
        v
    }

    pub fn count(&self) -> usize {
        self.sessions().len()
    }

    /// Ends every session matching `which` with `reason`.
    pub fn end_where(&self, reason: &'static str, which: impl Fn(&Live) -> bool) -> usize {
        let live = self.sessions();
        let mut n = 0;
        for l in live.values().filter(|l| which(l)) {
            let _ = l.end.send_replace(Some(reason));
            n += 1;
        }
        n
    }
}

/// Ends the console sessions of accounts whose standing changed (disabled, deleted, demoted, signed out): they
/// may open a new one if they still may.
pub async fn watch_principals(state: AppState) {
    let mut rx = state.principals.subscribe();
    loop {
        match rx.recv().await {
            Ok(id) => {
                state.consoles.end_where("signed_out", |l| l.holder.user_id == Some(id));
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                // Some were missed: end every account's sessions rather than keep one that should not be.
                state.consoles.end_where("signed_out", |l| l.holder.user_id.is_some());
            }
            Err(_) => return,
        }
    }
}

/// Whether the holder may still have this session: checked once the session is registered, so a change of
/// standing while it was being set up (which `watch_principals` could not see yet) still ends it.
pub async fn still_allowed(state: &AppState, holder: &Holder, vm_uuid: &str) -> Result<bool> {
    if let Some(link) = holder.link_id {
        let row = {
            let mut c = state.db.acquire().await?;
            db::consoles::link(&mut c, link).await?
        };
        let Some(row) = row.filter(|l| l.live(db::now_ms())) else {
            return Ok(false);
        };
        // A link speaks for its creator: it works only while they may still share this VM.
        return link_creator_may_share(state, &row).await;
    }
    let Some(uid) = holder.user_id else {
        return Ok(false);
    };
    let Some(p) = principal_of(state, uid).await? else {
        return Ok(false);
    };
    let Ok(vm) = super::vms::row(state, vm_uuid).await else {
        return Ok(false);
    };
    Ok(authorize(&p, Action::VmOperate, Resource::Vm(vm.owner_id)).is_ok())
}

async fn principal_of(state: &AppState, uid: i64) -> Result<Option<Principal>> {
    let user = {
        let mut c = state.db.acquire().await?;
        db::users::by_id(&mut c, uid).await?
    };
    Ok(user.filter(|u| !u.disabled).map(|u| Principal {
        id: u.id,
        role: u.role(),
        username: u.username,
        via_token: false,
    }))
}

/// Whether a share link's creator still exists, is enabled and may share its VM (the VM may have changed owner).
pub(super) async fn link_creator_may_share(state: &AppState, link: &db::consoles::LinkRow) -> Result<bool> {
    let Some(p) = principal_of(state, link.created_by).await? else {
        return Ok(false);
    };
    let Ok(vm) = super::vms::row(state, &link.vm_uuid).await else {
        return Ok(false);
    };
    Ok(authorize(&p, Action::ConsoleShare, Resource::Vm(vm.owner_id)).is_ok())
}

/// Every few seconds, each open session's holder is checked again (owner changes, demotions, a link's creator
/// losing the VM): what no event announces still ends the sessions it should.
pub async fn revalidate_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let live: Vec<Arc<Live>> = state.consoles.sessions().values().cloned().collect();
        for l in live {
            if let Ok(false) = still_allowed(&state, &l.holder, &l.vm_uuid).await {
                let _ = l.end.send_replace(Some(l.holder.lost_reason()));
            }
        }
    }
}

/// Refuses a console the VM cannot give now, with a reason the page explains.
pub(super) async fn check_available(state: &AppState, vm: &VmRow, kind: ConsoleKind) -> Result<()> {
    let uuid = vm.uuid.clone();
    let f = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| console::facts(c, &uuid))
        .await?;
    let unavailable = |reason: &'static str| {
        Err(Error::ConsoleUnavailable {
            reason,
            detail: String::new(),
        })
    };
    match f.state {
        "running" => {}
        "paused" => return unavailable("paused"),
        _ => return unavailable("vm_off"),
    }
    match kind {
        ConsoleKind::Vnc if f.vnc.is_none() => unavailable("no_graphics"),
        ConsoleKind::Serial if !f.serial.present => unavailable("no_serial"),
        _ => Ok(()),
    }
}

fn ttl(state: &AppState) -> Duration {
    Duration::from_secs(state.config.consoles.ticket_seconds)
}

fn ticket_answer(state: &AppState, secret: String, vm: &VmRow, kind: ConsoleKind, view_only: bool) -> ConsoleTicket {
    ConsoleTicket {
        url: format!("/api/v1/vms/{}/console/ws?ticket={secret}", vm.uuid),
        ticket: secret,
        kind,
        view_only,
        vm_id: vm.uuid.clone(),
        vm_name: vm.name.clone(),
        expires_in_seconds: ttl(state).as_secs() as i64,
    }
}

/// `POST /api/v1/vms/{id}/console`: whoever may operate the VM gets a ticket for its console.
pub async fn open(state: &AppState, caller: &Caller, uuid: &str, kind: ConsoleKind) -> Result<ConsoleTicket> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmOperate).await?;
    check_available(state, &vm, kind).await?;
    let holder = Holder {
        user_id: Some(p.id),
        name: p.username.clone(),
        link_id: None,
    };
    let c = &state.config.consoles;
    state
        .consoles
        .check_limits(&holder, c.max_sessions, c.max_sessions_per_user)?;
    let secret = state.consoles.issue(holder, &vm, kind, false, None, ttl(state))?;
    Ok(ticket_answer(state, secret, &vm, kind, false))
}

/// A ticket for a share link's holder (the link was checked by the caller).
pub(super) async fn open_for_link(
    state: &AppState,
    vm: &VmRow,
    link: &db::consoles::LinkRow,
    kind: ConsoleKind,
) -> Result<ConsoleTicket> {
    check_available(state, vm, kind).await?;
    let holder = Holder {
        user_id: None,
        name: format!("link:{}", link.id),
        link_id: Some(link.id),
    };
    let c = &state.config.consoles;
    state
        .consoles
        .check_limits(&holder, c.max_sessions, c.max_sessions_per_user)?;
    let secret = state
        .consoles
        .issue(holder, vm, kind, link.view_only, Some(link.expires_at), ttl(state))?;
    Ok(ticket_answer(state, secret, vm, kind, link.view_only))
}

/// Sessions open now on a VM: for whoever may operate it.
pub async fn sessions(state: &AppState, caller: &Caller, uuid: &str) -> Result<Vec<ConsoleSession>> {
    let p = caller.require()?;
    visible(state, p, uuid, Action::VmOperate).await?;
    Ok(state.consoles.of_vm(uuid).iter().map(|l| l.to_api()).collect())
}

fn may_end(p: &Principal, l: &Live, vm_owner: Option<i64>) -> bool {
    match l.holder.user_id {
        // Admins end anyone's; everyone may end their own.
        Some(owner) => authorize(p, Action::ConsoleEnd, Resource::User(owner)).is_ok(),
        // A share link's session: whoever may share the VM (its owner, admins).
        None => authorize(p, Action::ConsoleShare, Resource::Vm(vm_owner)).is_ok(),
    }
}

/// Ends a session (an admin's, or one's own).
pub async fn end(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let p = caller.require()?;
    let Some(l) = state.consoles.get(id) else {
        return Err(Error::NotFound("console_session"));
    };
    let vm = super::vms::row(state, &l.vm_uuid).await.ok();
    if !may_end(p, &l, vm.as_ref().and_then(|v| v.owner_id)) {
        // Someone else's session on a VM the caller cannot see does not exist for them.
        if vm.is_none_or(|vm| !p.sees_vm(vm.owner_id)) {
            return Err(Error::NotFound("console_session"));
        }
        return Err(Error::Forbidden);
    }
    // The holder closing their own session from the VM page is not an administrator's doing.
    let reason = if l.holder.user_id == Some(p.id) {
        "ended_by_user"
    } else {
        "ended_by_admin"
    };
    let _ = l.end.send_replace(Some(reason));
    let details = json!({ "session": id, "vm": l.vm_uuid, "user": l.holder.name, "kind": l.kind.as_str() });
    audit::record_alone(
        state,
        caller,
        "console.end",
        Some(&format!("console_session:{id}")),
        audit::Outcome::Ok,
        &details,
    )
    .await
}

/// Largest screenshot passed on.
const MAX_SCREENSHOT: usize = 32 << 20;

/// The VM's screen as PNG (libvirt's screenshot), for whoever may operate it.
pub async fn screenshot(state: &AppState, caller: &Caller, uuid: &str) -> Result<(String, Vec<u8>)> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmOperate).await?;
    check_available(state, &vm, ConsoleKind::Vnc).await?;
    let id = vm.uuid.clone();
    let shot = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            console::screenshot(c, &id, MAX_SCREENSHOT)
        })
        .await?;
    let Some((mime, bytes)) = shot else {
        return Err(Error::Hypervisor("the screenshot is larger than 32 MiB".into()));
    };
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(Error::Unsupported(format!(
            "this host's screenshots are {mime}, not PNG"
        )));
    }
    Ok(("image/png".into(), bytes))
}
