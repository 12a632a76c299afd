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

impl Usage {
    fn zip(self, o: Usage, f: impl Fn(i64, i64) -> i64) -> Usage {
        Usage {
            vms: f(self.vms, o.vms),
            vcpus: f(self.vcpus, o.vcpus),
            memory_mib: f(self.memory_mib, o.memory_mib),
            disk_gib: f(self.disk_gib, o.disk_gib),
        }
    }
    /// The larger of each amount.
    pub fn max(self, o: Usage) -> Usage {
        self.zip(o, i64::max)
    }
    pub fn plus(self, o: Usage) -> Usage {
        self.zip(o, |a, b| a + b)
    }
    pub fn minus(self, o: Usage) -> Usage {
        self.zip(o, |a, b| a - b)
    }
    /// Negative amounts become zero.
    pub fn positive(self) -> Usage {
        self.zip(Usage::default(), i64::max)
    }
    pub fn without_vm(self) -> Usage {
        Usage { vms: 0, ..self }
    }
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

/// Adds `d` to the usage only if every limit it grows still holds afterwards, in one statement; false when it
/// would not. (A user already over a lowered limit can still make changes that do not grow that resource.)
pub async fn try_add(conn: &mut SqliteConnection, user_id: i64, d: Usage) -> sqlx::Result<bool> {
    let res = sqlx::query(
        "UPDATE quotas SET used_vms = used_vms + ?1, used_vcpus = used_vcpus + ?2,
            used_memory_mib = used_memory_mib + ?3, used_disk_gib = used_disk_gib + ?4
         WHERE user_id = ?5 AND (?1 <= 0 OR used_vms + ?1 <= max_vms) AND (?2 <= 0 OR used_vcpus + ?2 <= max_vcpus)
            AND (?3 <= 0 OR used_memory_mib + ?3 <= max_memory_mib) AND (?4 <= 0 OR used_disk_gib + ?4 <= max_disk_gib)",
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
    adjust(conn, user_id, Usage::default().minus(d)).await
}

/// Adds `d` (amounts may be negative) whatever the limits: for settling a reservation to what was really made.
pub async fn adjust(conn: &mut SqliteConnection, user_id: i64, d: Usage) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE quotas SET used_vms = MAX(0, used_vms + ?1), used_vcpus = MAX(0, used_vcpus + ?2),
            used_memory_mib = MAX(0, used_memory_mib + ?3), used_disk_gib = MAX(0, used_disk_gib + ?4)
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

/// A user whose recorded usage differs from what their VMs count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub user_id: i64,
    pub username: String,
    pub recorded: Usage,
    pub actual: Usage,
}

/// What creations in flight have reserved for a user (until their VM's row holds it: `owned`).
macro_rules! pending {
    ($field:literal) => {
        concat!(
            "COALESCE((SELECT SUM(json_extract(t.params, '$.reserve.",
            $field,
            "')) FROM tasks t
                WHERE t.kind IN ('vm.create', 'vm.clone') AND t.state IN ('queued', 'running')
                AND json_extract(t.params, '$.owner_id') = q.user_id
                AND json_extract(t.params, '$.owned') IS NULL), 0)"
        )
    };
}

const ACTUAL: &str = concat!(
    "SELECT q.user_id, u.username,
        q.used_vms, q.used_vcpus, q.used_memory_mib, q.used_disk_gib,
        COUNT(v.uuid) + ",
    pending!("vms"),
    ",
        COALESCE(SUM(v.q_vcpus), 0) + ",
    pending!("vcpus"),
    ",
        COALESCE(SUM(v.q_memory_mib), 0) + ",
    pending!("memory_mib"),
    ",
        COALESCE(SUM(v.q_disk_gib), 0) + ",
    pending!("disk_gib"),
    "
            + COALESCE((SELECT SUM(i.q_disk_gib) FROM images i WHERE i.owner_id = q.user_id), 0)
            + COALESCE((SELECT SUM(up.q_disk_gib) FROM uploads up WHERE up.owner_id = q.user_id), 0)
    FROM quotas q JOIN users u ON u.id = q.user_id LEFT JOIN vms v ON v.owner_id = q.user_id
    GROUP BY q.user_id"
);

/// Every user whose usage is not the sum of what their VMs, private images, unfinished uploads and creations
/// in flight count.
pub async fn drift(conn: &mut SqliteConnection) -> sqlx::Result<Vec<Drift>> {
    type Row = (i64, String, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(ACTUAL).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| Drift {
            user_id: r.0,
            username: r.1,
            recorded: Usage {
                vms: r.2,
                vcpus: r.3,
                memory_mib: r.4,
                disk_gib: r.5,
            },
            actual: Usage {
                vms: r.6,
                vcpus: r.7,
                memory_mib: r.8,
                disk_gib: r.9,
            },
        })
        .filter(|d| d.recorded != d.actual)
        .collect())
}

/// Sets the user's usage to what their VMs count.
pub async fn set_used(conn: &mut SqliteConnection, user_id: i64, u: Usage) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE quotas SET used_vms = ?, used_vcpus = ?, used_memory_mib = ?, used_disk_gib = ? WHERE user_id = ?",
    )
    .bind(u.vms)
    .bind(u.vcpus)
    .bind(u.memory_mib)
    .bind(u.disk_gib)
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
