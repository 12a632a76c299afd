//! Quota limits and reservations: usage is reserved in the caller's transaction, atomically against the limit.
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, quotas::Usage};
use crate::error::{Error, Result};
use crate::services::{audit, validate};
use crate::state::AppState;
use app::api::{Quota, QuotaLimits};
use serde_json::json;
use sqlx::SqliteConnection;

/// Reserves `want` for `user_id`, or fails with `quota_exceeded` naming the first limit it would break.
/// Runs inside the transaction that makes the change, so a failed change gives the reservation back.
pub async fn reserve(conn: &mut SqliteConnection, user_id: i64, want: Usage) -> Result<()> {
    if want.vms < 0 || want.vcpus < 0 || want.memory_mib < 0 || want.disk_gib < 0 {
        return Err(Error::invalid("usage", "negative"));
    }
    if db::quotas::try_add(conn, user_id, want).await? {
        return Ok(());
    }
    let Some(rows) = db::quotas::get(conn, user_id).await? else {
        return Err(Error::NotFound("quota"));
    };
    let names = ["vms", "vcpus", "memory_mib", "disk_gib"];
    let wants = [want.vms, want.vcpus, want.memory_mib, want.disk_gib];
    for ((name, (limit, used)), requested) in names.into_iter().zip(rows).zip(wants) {
        if requested > 0 && used + requested > limit {
            return Err(Error::QuotaExceeded {
                resource: name,
                limit,
                used,
                requested,
            });
        }
    }
    // Another transaction freed usage in between; the caller may simply retry.
    Err(Error::Internal(anyhow::anyhow!("quota reservation raced")))
}

/// Gives back usage reserved earlier (a VM deleted, a disk shrunk).
pub async fn release(conn: &mut SqliteConnection, user_id: i64, amount: Usage) -> Result<()> {
    db::quotas::subtract(conn, user_id, amount).await?;
    Ok(())
}

/// Compares every user's recorded usage with what their VMs count and, with `repair`, corrects it (with an
/// audit record per user). Runs at every start and as `hangar doctor`.
pub async fn check_usage(db: &sqlx::SqlitePool, caller: &Caller, repair: bool) -> Result<Vec<db::quotas::Drift>> {
    let mut tx = db::begin_write(db).await?;
    // VMs without an owner count for nobody.
    sqlx::query("UPDATE vms SET q_vcpus = 0, q_memory_mib = 0, q_disk_gib = 0 WHERE owner_id IS NULL")
        .execute(&mut *tx)
        .await?;
    let drift = db::quotas::drift(&mut tx).await?;
    if !repair {
        return Ok(drift);
    }
    for d in &drift {
        db::quotas::set_used(&mut tx, d.user_id, d.actual).await?;
        let u = |x: &Usage| json!([x.vms, x.vcpus, x.memory_mib, x.disk_gib]);
        let details = json!({ "username": d.username, "recorded": u(&d.recorded), "actual": u(&d.actual) });
        let target = format!("user:{}", d.user_id);
        audit::record(
            &mut tx,
            caller,
            "quota.repair",
            Some(&target),
            audit::Outcome::Ok,
            &details,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(drift)
}

pub async fn set_limits(state: &AppState, caller: &Caller, user_id: i64, limits: QuotaLimits) -> Result<Quota> {
    authorize(caller.require()?, Action::QuotaUpdate, Resource::User(user_id))?;
    validate::quota(&limits)?;
    let mut tx = db::begin_write(&state.db).await?;
    if db::users::by_id(&mut tx, user_id).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    db::quotas::set_limits(&mut tx, user_id, &limits).await?;
    let target = format!("user:{user_id}");
    let user = db::users::by_id(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    audit::commit(tx, caller, "user.quota", &target, &json!(limits)).await?;
    Ok(user.to_api().quota)
}
