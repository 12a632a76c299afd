//! The VM list: an in-memory snapshot of the index, reloaded only when the database has changed
//! (SQLite's `data_version`), filtered, sorted and paged in memory. Reading 1,000 rows per request
//! through SQL cost more than everything else a list request does.
use crate::db::vms::VmRow;
use crate::error::{Error, Result};
use app::api::{VmQuery, VmState};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};
use std::cmp::Ordering;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The rows as of a `data_version`.
type Cached = Option<(i64, Arc<Vec<VmRow>>)>;

pub struct VmSnapshot {
    /// A connection of its own: `data_version` changes when *other* connections commit.
    conn: Mutex<(SqliteConnection, Cached)>,
}

impl VmSnapshot {
    pub async fn open(path: &std::path::Path) -> anyhow::Result<VmSnapshot> {
        let conn = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .connect()
            .await?;
        Ok(VmSnapshot {
            conn: Mutex::new((conn, None)),
        })
    }

    pub async fn rows(&self) -> Result<Arc<Vec<VmRow>>> {
        let mut guard = self.conn.lock().await;
        let (conn, cached) = &mut *guard;
        let version: i64 = sqlx::query_scalar("PRAGMA data_version").fetch_one(&mut *conn).await?;
        if let Some((v, rows)) = cached {
            if *v == version {
                return Ok(rows.clone());
            }
        }
        let rows = Arc::new(crate::db::vms::all(conn).await?);
        *cached = Some((version, rows.clone()));
        Ok(rows)
    }
}

fn matches(v: &VmRow, q: &VmQuery, only_owner: Option<i64>) -> bool {
    let nonempty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    if only_owner.is_some_and(|o| v.owner_id != Some(o)) {
        return false;
    }
    if nonempty(&q.state).is_some_and(|s| v.state != s) || q.host.is_some_and(|h| v.host_id != h) {
        return false;
    }
    match nonempty(&q.owner).as_deref() {
        Some("none") if v.owner_id.is_some() => return false,
        // A number is a user id; anything else a username (case does not matter).
        Some(o) if o != "none" => {
            let hit = match o.parse::<i64>() {
                Ok(id) => v.owner_id == Some(id),
                Err(_) => v.owner.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(o)),
            };
            if !hit {
                return false;
            }
        }
        _ => {}
    }
    if let Some(t) = nonempty(&q.tag) {
        let tags: Vec<String> = serde_json::from_str(&v.tags).unwrap_or_default();
        if !tags.contains(&t) {
            return false;
        }
    }
    if let Some(needle) = nonempty(&q.q) {
        if !v.name.to_lowercase().contains(&needle.to_lowercase()) {
            return false;
        }
    }
    true
}

type Cmp = fn(&VmRow, &VmRow) -> Ordering;

fn comparator(key: &str) -> Option<Cmp> {
    Some(match key {
        "name" => |a, b| a.name.cmp(&b.name),
        "state" => |a, b| a.state.cmp(&b.state),
        "host" => |a, b| a.host_name.cmp(&b.host_name),
        "owner" => |a, b| a.owner.cmp(&b.owner),
        "vcpus" => |a, b| a.vcpus.cmp(&b.vcpus),
        "memory" => |a, b| a.memory_mib.cmp(&b.memory_mib),
        _ => return None,
    })
}

/// How many VMs match every filter but the state, per state (for the dashboard and the state filter).
pub fn count_by_state(rows: &[VmRow], q: &VmQuery, only_owner: Option<i64>) -> Vec<(VmState, i64)> {
    let q = VmQuery {
        state: None,
        ..q.clone()
    };
    let mut counts = std::collections::BTreeMap::new();
    for v in rows.iter().filter(|v| matches(v, &q, only_owner)) {
        *counts.entry(VmState::parse(&v.state)).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// (total matching, the requested page).
pub fn select(
    rows: &[VmRow],
    q: &VmQuery,
    only_owner: Option<i64>,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<VmRow>)> {
    let sort = q.sort.as_deref().filter(|s| !s.is_empty()).unwrap_or("name");
    let (desc, key) = sort.strip_prefix('-').map_or((false, sort), |k| (true, k));
    let cmp = comparator(key).ok_or(Error::invalid("sort", "unknown_value"))?;
    let mut hits: Vec<&VmRow> = rows.iter().filter(|v| matches(v, q, only_owner)).collect();
    hits.sort_by(|a, b| {
        let primary = if desc { cmp(b, a) } else { cmp(a, b) };
        primary
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.uuid.cmp(&b.uuid))
    });
    let total = hits.len() as i64;
    let start = ((page - 1) * per_page).min(total) as usize;
    Ok((
        total,
        hits.into_iter().skip(start).take(per_page as usize).cloned().collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: &str, owner: Option<i64>, tags: &str) -> VmRow {
        VmRow {
            uuid: format!("u-{name}"),
            host_id: 1,
            host_name: "h".into(),
            name: name.into(),
            state: state.into(),
            vcpus: name.len() as i64,
            memory_mib: 128,
            owner_id: owner,
            owner: owner.map(|o| format!("user{o}")),
            tags: tags.into(),
            ips: "[]".into(),
            q_vcpus: 0,
            q_memory_mib: 0,
            q_disk_gib: 0,
            claimed_owner: None,
        }
    }

    #[test]
    fn filters_sorts_and_pages() {
        let rows = vec![
            row("alpha", "running", Some(2), r#"["web"]"#),
            row("beta", "shutoff", None, "[]"),
            row("gamma-long", "running", Some(3), r#"["web","db"]"#),
        ];
        let q = |f: fn(&mut VmQuery)| {
            let mut q = VmQuery::default();
            f(&mut q);
            q
        };
        let names = |r: (i64, Vec<VmRow>)| (r.0, r.1.into_iter().map(|v| v.name).collect::<Vec<_>>());
        assert_eq!(
            names(select(&rows, &VmQuery::default(), None, 1, 50).unwrap()),
            (3, vec!["alpha".into(), "beta".into(), "gamma-long".into()])
        );
        assert_eq!(
            names(select(&rows, &VmQuery::default(), Some(2), 1, 50).unwrap()).1,
            vec!["alpha"]
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.state = Some("running".into())), None, 1, 50).unwrap()).0,
            2
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.owner = Some("none".into())), None, 1, 50).unwrap()).1,
            vec!["beta"]
        );
        assert_eq!(
            count_by_state(&rows, &q(|q| q.state = Some("running".into())), None),
            vec![(VmState::Running, 2), (VmState::Shutoff, 1)],
            "counts ignore the state filter"
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.owner = Some("USER3".into())), None, 1, 50).unwrap()).1,
            vec!["gamma-long"]
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.owner = Some("2".into())), None, 1, 50).unwrap()).1,
            vec!["alpha"]
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.tag = Some("db".into())), None, 1, 50).unwrap()).1,
            vec!["gamma-long"]
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.q = Some("AMM".into())), None, 1, 50).unwrap()).1,
            vec!["gamma-long"]
        );
        assert_eq!(
            names(select(&rows, &q(|q| q.sort = Some("-vcpus".into())), None, 1, 2).unwrap()),
            (3, vec!["gamma-long".into(), "alpha".into()])
        );
        assert_eq!(
            names(select(&rows, &VmQuery::default(), None, 2, 2).unwrap()).1,
            vec!["gamma-long"]
        );
        assert!(select(&rows, &q(|q| q.sort = Some("password".into())), None, 1, 50).is_err());
    }
}
