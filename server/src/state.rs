//! What every handler shares.
use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::http::ops::OpTable;
use sqlx::SqlitePool;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub throttle: Arc<Throttle>,
    pub ops: Arc<OpTable>,
}
