//! Queries on `api_tokens`; only hashes of secrets are stored.
use app::api::ApiToken;
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl TokenRow {
    pub fn to_api(&self) -> ApiToken {
        ApiToken {
            id: self.id,
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

const COLS: &str = "id, user_id, name, prefix, created_at, last_used_at";

pub async fn list_for(pool: &SqlitePool, user_id: i64) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM api_tokens WHERE user_id = ? ORDER BY id"))
        .bind(user_id)
        .fetch_all(pool)
        .await
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM api_tokens WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn insert(
    conn: &mut SqliteConnection,
    user_id: i64,
    name: &str,
    prefix: &str,
    hash: &str,
    now: i64,
) -> sqlx::Result<i64> {
    let res = sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at)
             VALUES ((SELECT last + 1 FROM id_sequences WHERE name = 'api_tokens'), ?, ?, ?, ?, ?)",
    )
    .bind(user_id)
    .bind(name)
    .bind(prefix)
    .bind(hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(res.last_insert_rowid())
}

/// The token's owner, in one query on one pooled connection: (token id, last used, user id, username, role,
/// disabled).
pub async fn owner_by_hash(
    pool: &SqlitePool,
    hash: &str,
) -> sqlx::Result<Option<(i64, Option<i64>, i64, String, String, bool)>> {
    sqlx::query_as(
        "SELECT t.id, t.last_used_at, u.id, u.username, u.role, u.disabled
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Records a use, at most once per `every_ms` (a write per request would queue every reader behind it).
pub async fn touch(pool: &SqlitePool, id: i64, now: i64, every_ms: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <= ?1 - ?3)",
    )
    .bind(now)
    .bind(id)
    .bind(every_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Revokes every token of the user; returns how many there were.
pub async fn delete_all_of(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<u64> {
    let res = sqlx::query("DELETE FROM api_tokens WHERE user_id = ?")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected())
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM api_tokens WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
