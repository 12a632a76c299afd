//! Queries on `hosts`.
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct HostRow {
    pub id: i64,
    pub name: String,
    pub uri: String,
    pub description: String,
    pub maintenance: bool,
    pub vm_count: i64,
}

const SELECT: &str = "SELECT h.id, h.name, h.uri, h.description, h.maintenance,
    (SELECT COUNT(*) FROM vms v WHERE v.host_id = h.id) AS vm_count FROM hosts h";

pub async fn list(pool: &SqlitePool) -> sqlx::Result<Vec<HostRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY h.name"))
        .fetch_all(pool)
        .await
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<HostRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE h.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// `Err(name|uri)` when either is taken.
pub async fn insert(
    conn: &mut SqliteConnection,
    name: &str,
    uri: &str,
    description: &str,
) -> sqlx::Result<Result<i64, &'static str>> {
    let taken: Option<(String, String)> =
        sqlx::query_as("SELECT name, uri FROM hosts WHERE name = ? OR uri = ? LIMIT 1")
            .bind(name)
            .bind(uri)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((n, _)) = taken {
        return Ok(Err(if n.eq_ignore_ascii_case(name) { "name" } else { "uri" }));
    }
    let res = sqlx::query(
        "INSERT INTO hosts (id, name, uri, description, created_at)
         VALUES ((SELECT last + 1 FROM id_sequences WHERE name = 'hosts'), ?, ?, ?, ?)",
    )
    .bind(name)
    .bind(uri)
    .bind(description)
    .bind(super::now_ms())
    .execute(conn)
    .await?;
    Ok(Ok(res.last_insert_rowid()))
}

pub async fn update(conn: &mut SqliteConnection, h: &HostRow) -> sqlx::Result<Result<(), &'static str>> {
    let taken: Option<(String,)> = sqlx::query_as("SELECT name FROM hosts WHERE (name = ? OR uri = ?) AND id != ?")
        .bind(&h.name)
        .bind(&h.uri)
        .bind(h.id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some((n,)) = taken {
        return Ok(Err(if n.eq_ignore_ascii_case(&h.name) { "name" } else { "uri" }));
    }
    sqlx::query("UPDATE hosts SET name = ?, uri = ?, description = ?, maintenance = ? WHERE id = ?")
        .bind(&h.name)
        .bind(&h.uri)
        .bind(&h.description)
        .bind(h.maintenance)
        .bind(h.id)
        .execute(conn)
        .await?;
    Ok(Ok(()))
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM hosts WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The pool (UUID) holding the host's images, if one was chosen or made.
pub async fn images_pool(pool: &SqlitePool, host_id: i64) -> sqlx::Result<Option<String>> {
    let row: Option<(Option<String>,)> = sqlx::query_as("SELECT images_pool FROM hosts WHERE id = ?")
        .bind(host_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|r| r.0))
}

pub async fn set_images_pool(conn: &mut SqliteConnection, host_id: i64, pool_uuid: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("UPDATE hosts SET images_pool = ? WHERE id = ?")
        .bind(pool_uuid)
        .bind(host_id)
        .execute(conn)
        .await?;
    Ok(())
}
