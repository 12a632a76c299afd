//! What every handler shares.
use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::virt::Virt;
use app::api::StreamEvent;
use sqlx::SqlitePool;
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub throttle: Arc<Throttle>,
    pub virt: Arc<Virt>,
    /// What `GET /api/v1/events` streams (each subscriber filters by what its principal may see).
    pub events: broadcast::Sender<StreamEvent>,
    /// Ids of accounts whose standing changed (disabled, deleted, role, password, signed out): open event
    /// streams of that account end, and the client reconnects under its new standing, if it still has one.
    pub principals: broadcast::Sender<i64>,
    pub vm_list: Arc<crate::services::vm_list::VmSnapshot>,
    /// Tasks this process runs: their cancel flags and the bound on how many run at once.
    pub tasks: Arc<crate::services::tasks::Registry>,
    /// Hashers of uploads in progress, so each byte is hashed once as it arrives.
    pub uploads: Arc<crate::services::upload_chunks::Hashers>,
    /// Console tickets waiting and console sessions open.
    pub consoles: Arc<crate::services::consoles::Consoles>,
    /// What monitoring collected: figures of now, recent samples, Hangar's own counters.
    pub monitor: Arc<crate::services::monitoring::Monitor>,
    /// What the alert engine keeps between collections.
    pub alerts: Arc<crate::services::alerts::Alerts>,
    /// Notifications waiting to be sent, and the key that seals channel secrets.
    pub deliverer: Arc<crate::services::deliver::Deliverer>,
    /// This installation's id, written into the metadata of the domains it owns.
    pub installation: Arc<str>,
}
