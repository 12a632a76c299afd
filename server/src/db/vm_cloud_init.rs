//! Queries on `vm_cloud_init` (the seed a VM was made with) and on creations in flight.
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct SeedRow {
    pub uuid: String,
    pub settings: String,
    pub user_data: String,
    pub network_config: String,
    pub instance_id: String,
    pub host_id: i64,
    pub pool_uuid: String,
    pub seed_volume: String,
}

pub async fn insert(conn: &mut SqliteConnection, r: &SeedRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO vm_cloud_init
            (uuid, settings, user_data, network_config, instance_id, host_id, pool_uuid, seed_volume)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.uuid)
    .bind(&r.settings)
    .bind(&r.user_data)
    .bind(&r.network_config)
    .bind(&r.instance_id)
    .bind(r.host_id)
    .bind(&r.pool_uuid)
    .bind(&r.seed_volume)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(pool: &SqlitePool, uuid: &str) -> sqlx::Result<Option<SeedRow>> {
    sqlx::query_as("SELECT * FROM vm_cloud_init WHERE uuid = ?")
        .bind(uuid)
        .fetch_optional(pool)
        .await
}

pub async fn set_instance(conn: &mut SqliteConnection, uuid: &str, instance_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE vm_cloud_init SET instance_id = ? WHERE uuid = ?")
        .bind(instance_id)
        .bind(uuid)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the seed of a deleted VM, saying where its volume was.
pub async fn delete(conn: &mut SqliteConnection, uuid: &str) -> sqlx::Result<Option<(i64, String, String)>> {
    sqlx::query_as("DELETE FROM vm_cloud_init WHERE uuid = ? RETURNING host_id, pool_uuid, seed_volume")
        .bind(uuid)
        .fetch_optional(conn)
        .await
}

/// Whether a clone of the VM is being made (its disks must not change meanwhile).
pub async fn being_cloned(pool: &SqlitePool, uuid: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks WHERE kind = 'vm.clone' AND state IN ('queued', 'running')
           AND json_extract(params, '$.source_uuid') = ?",
    )
    .bind(uuid)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// Whether a VM of this name exists on the host, or a creation in flight will make one.
pub async fn name_taken(conn: &mut SqliteConnection, host_id: i64, name: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM vms WHERE host_id = ?1 AND name = ?2)
              + (SELECT COUNT(*) FROM tasks WHERE kind IN ('vm.create', 'vm.clone') AND state IN ('queued', 'running')
                   AND json_extract(params, '$.host_id') = ?1 AND json_extract(params, '$.name') = ?2)",
    )
    .bind(host_id)
    .bind(name)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}
