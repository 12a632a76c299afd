//! Queries on `metric_points`: the rolled-up history of VMs and hosts (values as JSON arrays of numbers).
use crate::services::rollup::{Step, TIERS};
use sqlx::SqlitePool;

/// Writes finished steps of many targets in one transaction.
pub async fn write(db: &SqlitePool, steps: &[(String, Step)]) -> sqlx::Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (target, s) in steps {
        sqlx::query("INSERT OR REPLACE INTO metric_points (target, tier, ts, avg, max) VALUES (?, ?, ?, ?, ?)")
            .bind(target)
            .bind(s.tier as i64)
            .bind(s.start_ms)
            .bind(serde_json::to_string(&s.avg).unwrap_or_default())
            .bind(serde_json::to_string(&s.max).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// A target's points of a tier since `from_ms`, oldest first.
pub async fn read(
    db: &SqlitePool,
    target: &str,
    tier: usize,
    from_ms: i64,
) -> sqlx::Result<Vec<(i64, Vec<f64>, Vec<f64>)>> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT ts, avg, max FROM metric_points WHERE target = ? AND tier = ? AND ts >= ? ORDER BY ts")
            .bind(target)
            .bind(tier as i64)
            .bind(from_ms)
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(ts, a, m)| {
            (
                ts,
                serde_json::from_str(&a).unwrap_or_default(),
                serde_json::from_str(&m).unwrap_or_default(),
            )
        })
        .collect())
}

/// Drops what each tier no longer keeps, and the points of hosts that are gone (a VM's go with it).
pub async fn prune(db: &SqlitePool, now_ms: i64) -> sqlx::Result<u64> {
    let mut n = 0;
    for (tier, (step, keep)) in TIERS.iter().enumerate() {
        n += sqlx::query("DELETE FROM metric_points WHERE tier = ? AND ts < ?")
            .bind(tier as i64)
            .bind(now_ms - step * keep * 1000)
            .execute(db)
            .await?
            .rows_affected();
    }
    n += sqlx::query(
        "DELETE FROM metric_points WHERE target >= 'host:' AND target < 'host;'
           AND CAST(substr(target, 6) AS INTEGER) NOT IN (SELECT id FROM hosts)",
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n)
}
