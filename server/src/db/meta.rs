//! Queries on `meta`: settings of this installation, such as its id.
use sqlx::SqlitePool;

/// This installation's id, made (random, 128 bits) the first time it is asked for.
pub async fn installation_id(pool: &SqlitePool) -> sqlx::Result<String> {
    let fresh = crate::auth::tokens::random_hex(16);
    sqlx::query("INSERT INTO meta (key, value) VALUES ('installation_id', ?) ON CONFLICT (key) DO NOTHING")
        .bind(&fresh)
        .execute(pool)
        .await?;
    sqlx::query_scalar("SELECT value FROM meta WHERE key = 'installation_id'")
        .fetch_one(pool)
        .await
}
