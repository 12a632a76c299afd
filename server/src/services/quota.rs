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
        if used + requested > limit {
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
