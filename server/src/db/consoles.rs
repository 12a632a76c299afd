//! Queries on `console_links` (share links; only hashes of their secrets) and `console_sessions` (one row per
//! session, from open to close).
use app::api::{ConsoleKind, ConsoleLink};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, FromRow)]
pub struct LinkRow {
    pub id: i64,
    pub vm_uuid: String,
    pub kind: String,
    pub view_only: bool,
    pub created_by: i64,
    pub created_by_name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub uses: i64,
}

impl LinkRow {
    pub fn to_api(&self) -> ConsoleLink {
        ConsoleLink {
            id: self.id,
            vm_id: self.vm_uuid.clone(),
            kind: ConsoleKind::parse(&self.kind).unwrap_or(ConsoleKind::Vnc),
            view_only: self.view_only,
            created_by: self.created_by_name.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            uses: self.uses,
        }
    }

    /// Usable now: neither revoked nor expired.
    pub fn live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

const LINK_COLS: &str =
    "id, vm_uuid, kind, view_only, created_by, created_by_name, created_at, expires_at, revoked_at, uses";

pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub vm_uuid: &'a str,
    pub kind: ConsoleKind,
    pub view_only: bool,
    pub created_by: (i64, &'a str),
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert_link(conn: &mut SqliteConnection, l: &NewLink<'_>) -> sqlx::Result<i64> {
    let res = sqlx::query(
        "INSERT INTO console_links (token_hash, vm_uuid, kind, view_only, created_by, created_by_name, created_at,
             expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(l.token_hash)
    .bind(l.vm_uuid)
    .bind(l.kind.as_str())
    .bind(l.view_only)
    .bind(l.created_by.0)
    .bind(l.created_by.1)
    .bind(l.now)
    .bind(l.expires_at)
    .execute(conn)
    .await?;
    Ok(res.last_insert_rowid())
}

/// A VM's links, newest first; revoked or expired ones only from the last day.
pub async fn links_of(pool: &SqlitePool, vm_uuid: &str, now: i64) -> sqlx::Result<Vec<LinkRow>> {
    sqlx::query_as(&format!(
        "SELECT {LINK_COLS} FROM console_links WHERE vm_uuid = ?
           AND COALESCE(revoked_at, expires_at) > ? ORDER BY id DESC LIMIT 200"
    ))
    .bind(vm_uuid)
    .bind(now - 86_400_000)
    .fetch_all(pool)
    .await
}

pub async fn link(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<LinkRow>> {
    sqlx::query_as(&format!("SELECT {LINK_COLS} FROM console_links WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn link_by_hash(pool: &SqlitePool, hash: &str) -> sqlx::Result<Option<LinkRow>> {
    sqlx::query_as(&format!("SELECT {LINK_COLS} FROM console_links WHERE token_hash = ?"))
        .bind(hash)
        .fetch_optional(pool)
        .await
}

/// Revokes a live link; false when it was already revoked.
pub async fn revoke(conn: &mut SqliteConnection, id: i64, now: i64) -> sqlx::Result<bool> {
    let res = sqlx::query("UPDATE console_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Counts a use of a link that is still live at this moment; false when it no longer is.
pub async fn use_link(conn: &mut SqliteConnection, id: i64, now: i64) -> sqlx::Result<bool> {
    let res =
        sqlx::query("UPDATE console_links SET uses = uses + 1 WHERE id = ? AND revoked_at IS NULL AND expires_at > ?")
            .bind(id)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(res.rows_affected() == 1)
}

/// A VM deleted: its links go with it.
pub async fn delete_links_of(conn: &mut SqliteConnection, vm_uuid: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM console_links WHERE vm_uuid = ?")
        .bind(vm_uuid)
        .execute(conn)
        .await?;
    Ok(())
}

pub struct NewSession<'a> {
    pub vm_uuid: &'a str,
    pub kind: ConsoleKind,
    pub user: (Option<i64>, &'a str),
    pub link_id: Option<i64>,
    pub view_only: bool,
    pub source: &'a str,
    pub now: i64,
}

pub async fn open_session(conn: &mut SqliteConnection, s: &NewSession<'_>) -> sqlx::Result<i64> {
    let res = sqlx::query(
        "INSERT INTO console_sessions (vm_uuid, kind, user_id, user_name, link_id, view_only, source, started_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.vm_uuid)
    .bind(s.kind.as_str())
    .bind(s.user.0)
    .bind(s.user.1)
    .bind(s.link_id)
    .bind(s.view_only)
    .bind(s.source)
    .bind(s.now)
    .execute(conn)
    .await?;
    Ok(res.last_insert_rowid())
}

pub async fn close_session(
    conn: &mut SqliteConnection,
    id: i64,
    now: i64,
    reason: &str,
    bytes: (u64, u64),
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE console_sessions SET ended_at = ?, end_reason = ?, bytes_to_vm = ?, bytes_from_vm = ?
           WHERE id = ? AND ended_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(bytes.0 as i64)
    .bind(bytes.1 as i64)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// At start-up: sessions of a process that stopped are closed as `interrupted`.
pub async fn close_interrupted(pool: &SqlitePool, now: i64) -> sqlx::Result<u64> {
    let res =
        sqlx::query("UPDATE console_sessions SET ended_at = ?, end_reason = 'interrupted' WHERE ended_at IS NULL")
            .bind(now)
            .execute(pool)
            .await?;
    Ok(res.rows_affected())
}
