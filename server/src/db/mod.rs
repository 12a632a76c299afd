//! The SQLite pool (WAL, foreign keys, full sync), embedded migrations, and one module of queries per table.
pub mod alerts;
pub mod audit;
pub mod consoles;
pub mod hosts;
pub mod images;
pub mod meta;
pub mod metrics;
pub mod quotas;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod vm_cloud_init;
pub mod vms;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

pub type Tx = Transaction<'static, Sqlite>;

pub async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Acknowledged writes survive a killed process and a power cut.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
    sqlx::migrate!("../migrations").run(&pool).await?;
    Ok(pool)
}

/// A write transaction that takes the write lock up front, so concurrent writers queue instead of failing.
pub async fn begin_write(pool: &SqlitePool) -> sqlx::Result<Tx> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}
