//! Queries on `vms` (the index of domains) and `vm_events`.
use crate::virt::domain::Facts;
use app::api::{ClaimedOwner, Vm, VmEvent};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct VmRow {
    pub uuid: String,
    pub host_id: i64,
    pub host_name: String,
    pub name: String,
    pub state: String,
    pub vcpus: i64,
    pub memory_mib: i64,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub tags: String,
    pub ips: String,
    pub q_vcpus: i64,
    pub q_memory_mib: i64,
    pub q_disk_gib: i64,
    pub claimed_owner: Option<String>,
}

impl VmRow {
    /// What this VM counts against its owner's quota (nothing when it has none).
    pub fn counted(&self) -> super::quotas::Usage {
        match self.owner_id {
            Some(_) => super::quotas::Usage {
                vms: 1,
                vcpus: self.q_vcpus,
                memory_mib: self.q_memory_mib,
                disk_gib: self.q_disk_gib,
            },
            None => super::quotas::Usage::default(),
        }
    }

    pub fn to_api(&self) -> Vm {
        Vm {
            id: self.uuid.clone(),
            name: self.name.clone(),
            state: app::api::VmState::parse(&self.state),
            host_id: self.host_id,
            host_name: self.host_name.clone(),
            owner_id: self.owner_id,
            owner: self.owner.clone(),
            vcpus: self.vcpus,
            memory_mib: self.memory_mib,
            ips: serde_json::from_str(&self.ips).unwrap_or_default(),
            tags: serde_json::from_str(&self.tags).unwrap_or_default(),
            claimed_owner: self
                .claimed_owner
                .as_deref()
                .and_then(|c| serde_json::from_str::<ClaimedOwner>(c).ok()),
        }
    }
}

const SELECT: &str = "SELECT v.uuid, v.host_id, h.name AS host_name, v.name, v.state, v.vcpus, v.memory_mib,
    v.owner_id, u.username AS owner, v.tags, v.ips, v.q_vcpus, v.q_memory_mib, v.q_disk_gib, v.claimed_owner
    FROM vms v JOIN hosts h ON h.id = v.host_id LEFT JOIN users u ON u.id = v.owner_id";

pub async fn by_uuid(conn: &mut SqliteConnection, uuid: &str) -> sqlx::Result<Option<VmRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE v.uuid = ?"))
        .bind(uuid)
        .fetch_optional(conn)
        .await
}

/// Records what libvirt reports. Ownership is never read from libvirt: a new domain starts unowned, and an
/// owner named in its metadata is kept as a claim for admins unless it is this installation's record.
pub async fn upsert(conn: &mut SqliteConnection, host_id: i64, f: &Facts, installation: &str) -> sqlx::Result<()> {
    let claim = f.claimed_owner.as_ref();
    let ours = claim.is_some_and(|c| c.installation.as_deref() == Some(installation));
    let claim_json = claim.map(|c| {
        serde_json::json!({
            "name": c.name,
            "user_id": c.id,
            "installation": c.installation,
            "foreign": !ours,
        })
        .to_string()
    });
    sqlx::query(
        "INSERT INTO vms (uuid, host_id, name, state, vcpus, memory_mib, owner_id, tags, seen_at, ips, claimed_owner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?10)
         ON CONFLICT (uuid) DO UPDATE SET host_id = ?2, name = ?3, state = ?4, vcpus = ?5, memory_mib = ?6,
            tags = ?7, seen_at = ?8, ips = ?9,
            claimed_owner = CASE WHEN ?11 AND vms.owner_id IS ?12 THEN NULL ELSE ?10 END",
    )
    .bind(&f.uuid)
    .bind(host_id)
    .bind(&f.name)
    .bind(&f.state)
    .bind(f.vcpus)
    .bind(f.memory_mib)
    .bind(serde_json::to_string(&f.tags).unwrap_or_else(|_| "[]".into()))
    .bind(super::now_ms())
    .bind(serde_json::to_string(&f.ips).unwrap_or_else(|_| "[]".into()))
    .bind(claim_json)
    .bind(ours)
    .bind(claim.map(|c| c.id))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_owner(
    conn: &mut SqliteConnection,
    uuid: &str,
    owner: Option<i64>,
    counted: (i64, i64, i64),
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE vms SET owner_id = ?, q_vcpus = ?, q_memory_mib = ?, q_disk_gib = ?, claimed_owner = NULL WHERE uuid = ?",
    )
        .bind(owner)
        .bind(counted.0)
        .bind(counted.1)
        .bind(counted.2)
        .bind(uuid)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut SqliteConnection, uuid: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM vms WHERE uuid = ?")
        .bind(uuid)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every row of one host.
pub async fn of_host(conn: &mut SqliteConnection, host_id: i64) -> sqlx::Result<Vec<VmRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE v.host_id = ?"))
        .bind(host_id)
        .fetch_all(conn)
        .await
}

pub async fn counts_by_state(pool: &SqlitePool, host_id: i64) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT state, COUNT(*) FROM vms WHERE host_id = ? GROUP BY state ORDER BY state")
        .bind(host_id)
        .fetch_all(pool)
        .await
}

/// Every indexed VM, ordered by name; for the snapshot that serves the list.
pub async fn all(conn: &mut SqliteConnection) -> sqlx::Result<Vec<VmRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY v.name, v.uuid"))
        .fetch_all(conn)
        .await
}

pub async fn add_event(conn: &mut SqliteConnection, uuid: &str, kind: &str, detail: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO vm_events (uuid, at, kind, detail) VALUES (?, ?, ?, ?)")
        .bind(uuid)
        .bind(super::now_ms())
        .bind(kind)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lifecycle events and audit records about the VM, newest first.
pub async fn history(pool: &SqlitePool, uuid: &str, limit: i64) -> sqlx::Result<Vec<VmEvent>> {
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT at, kind, detail, NULL FROM vm_events WHERE uuid = ?1
         UNION ALL
         SELECT at, action, result, actor FROM audit_log WHERE target = 'vm:' || ?1
         ORDER BY 1 DESC LIMIT ?2",
    )
    .bind(uuid)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, kind, detail, actor)| VmEvent {
            at,
            kind,
            detail,
            actor,
        })
        .collect())
}
