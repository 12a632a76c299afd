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

pub async fn by_hash(pool: &SqlitePool, hash: &str) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM api_tokens WHERE token_hash = ?"))
        .bind(hash)
        .fetch_optional(pool)
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
    let res =
        sqlx::query("INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(user_id)
            .bind(name)
            .bind(prefix)
            .bind(hash)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(res.last_insert_rowid())
}

pub async fn touch(pool: &SqlitePool, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM api_tokens WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
