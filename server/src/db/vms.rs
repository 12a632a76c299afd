//! Queries on `vms` (the index of domains) and `vm_events`.
use app::api::{Vm, VmEvent};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

/// What libvirt says about a domain, as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub uuid: String,
    pub name: String,
    pub state: String,
    pub vcpus: i64,
    pub memory_mib: i64,
    /// Owner id and tags from Hangar's metadata element, if the domain has one.
    pub owner_id: Option<i64>,
    pub tags: Vec<String>,
    pub ips: Vec<String>,
}

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
}

impl VmRow {
    pub fn to_api(&self) -> Vm {
        Vm {
            id: self.uuid.clone(),
            name: self.name.clone(),
            state: self.state.clone(),
            host_id: self.host_id,
            host_name: self.host_name.clone(),
            owner_id: self.owner_id,
            owner: self.owner.clone(),
            vcpus: self.vcpus,
            memory_mib: self.memory_mib,
            ips: serde_json::from_str(&self.ips).unwrap_or_default(),
            tags: serde_json::from_str(&self.tags).unwrap_or_default(),
        }
    }
}

const SELECT: &str = "SELECT v.uuid, v.host_id, h.name AS host_name, v.name, v.state, v.vcpus, v.memory_mib,
    v.owner_id, u.username AS owner, v.tags, v.ips, v.q_vcpus, v.q_memory_mib, v.q_disk_gib
    FROM vms v JOIN hosts h ON h.id = v.host_id LEFT JOIN users u ON u.id = v.owner_id";

pub async fn by_uuid(conn: &mut SqliteConnection, uuid: &str) -> sqlx::Result<Option<VmRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE v.uuid = ?"))
        .bind(uuid)
        .fetch_optional(conn)
        .await
}

/// Records what libvirt reports. The owner comes from the domain's metadata only when the index has none
/// (a domain defined elsewhere, or the index rebuilt); otherwise Hangar's own record stands.
pub async fn upsert(conn: &mut SqliteConnection, host_id: i64, f: &Facts) -> sqlx::Result<()> {
    let owner = match f.owner_id {
        Some(id) => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    sqlx::query(
        "INSERT INTO vms (uuid, host_id, name, state, vcpus, memory_mib, owner_id, tags, seen_at, ips)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (uuid) DO UPDATE SET host_id = ?2, name = ?3, state = ?4, vcpus = ?5, memory_mib = ?6,
            owner_id = COALESCE(vms.owner_id, ?7), tags = ?8, seen_at = ?9, ips = ?10",
    )
    .bind(&f.uuid)
    .bind(host_id)
    .bind(&f.name)
    .bind(&f.state)
    .bind(f.vcpus)
    .bind(f.memory_mib)
    .bind(owner)
    .bind(serde_json::to_string(&f.tags).unwrap_or_else(|_| "[]".into()))
    .bind(super::now_ms())
    .bind(serde_json::to_string(&f.ips).unwrap_or_else(|_| "[]".into()))
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
    sqlx::query("UPDATE vms SET owner_id = ?, q_vcpus = ?, q_memory_mib = ?, q_disk_gib = ? WHERE uuid = ?")
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
