//! Queries on `quotas`: limits, and usage that only changes through conditional updates.
use app::api::QuotaLimits;
use sqlx::SqliteConnection;

/// An amount of each quota-limited resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub vms: i64,
    pub vcpus: i64,
    pub memory_mib: i64,
    pub disk_gib: i64,
}

pub async fn set_limits(conn: &mut SqliteConnection, user_id: i64, q: &QuotaLimits) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO quotas (user_id, max_vms, max_vcpus, max_memory_mib, max_disk_gib) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET max_vms = excluded.max_vms, max_vcpus = excluded.max_vcpus,
            max_memory_mib = excluded.max_memory_mib, max_disk_gib = excluded.max_disk_gib",
    )
    .bind(user_id)
    .bind(q.max_vms)
    .bind(q.max_vcpus)
    .bind(q.max_memory_mib)
    .bind(q.max_disk_gib)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds `d` to the usage only if every limit still holds afterwards, in one statement; false when it would not.
pub async fn try_add(conn: &mut SqliteConnection, user_id: i64, d: Usage) -> sqlx::Result<bool> {
    let res = sqlx::query(
        "UPDATE quotas SET used_vms = used_vms + ?1, used_vcpus = used_vcpus + ?2,
            used_memory_mib = used_memory_mib + ?3, used_disk_gib = used_disk_gib + ?4
         WHERE user_id = ?5 AND used_vms + ?1 <= max_vms AND used_vcpus + ?2 <= max_vcpus
            AND used_memory_mib + ?3 <= max_memory_mib AND used_disk_gib + ?4 <= max_disk_gib",
    )
    .bind(d.vms)
    .bind(d.vcpus)
    .bind(d.memory_mib)
    .bind(d.disk_gib)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Gives usage back, never below zero.
pub async fn subtract(conn: &mut SqliteConnection, user_id: i64, d: Usage) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE quotas SET used_vms = MAX(0, used_vms - ?1), used_vcpus = MAX(0, used_vcpus - ?2),
            used_memory_mib = MAX(0, used_memory_mib - ?3), used_disk_gib = MAX(0, used_disk_gib - ?4)
         WHERE user_id = ?5",
    )
    .bind(d.vms)
    .bind(d.vcpus)
    .bind(d.memory_mib)
    .bind(d.disk_gib)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// (limit, used) of each resource, in the order vms, vcpus, memory_mib, disk_gib.
pub async fn get(conn: &mut SqliteConnection, user_id: i64) -> sqlx::Result<Option<[(i64, i64); 4]>> {
    type Row = (i64, i64, i64, i64, i64, i64, i64, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT max_vms, used_vms, max_vcpus, used_vcpus, max_memory_mib, used_memory_mib, max_disk_gib, used_disk_gib
         FROM quotas WHERE user_id = ?",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| [(r.0, r.1), (r.2, r.3), (r.4, r.5), (r.6, r.7)]))
}
