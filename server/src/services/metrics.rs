//! Monitoring figures as the API gives them: a VM's or host's series over a range (to those who see it), and the
//! dashboard's overview.
use super::vms::visible;
use crate::auth::{policy, Action, Caller, Resource};
use crate::db;
use crate::error::{Error, Result};
use crate::services::monitoring::series;
use crate::state::AppState;
use app::api::{HostMetrics, HostNow, MetricsOverview, PoolUsage, VmMetrics, VmNow, HOST_SERIES, VM_SERIES};

fn range_of(q: Option<&str>) -> &str {
    q.filter(|r| !r.is_empty()).unwrap_or("hour")
}

pub async fn vm(state: &AppState, caller: &Caller, uuid: &str, range: Option<&str>) -> Result<VmMetrics> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmRead).await?;
    let (recent, open, disks, nics, at) = {
        let live = state.monitor.vms.read().unwrap_or_else(|p| p.into_inner());
        match live.get(&vm.uuid) {
            Some(v) => (
                v.recent.clone(),
                v.rollup.clone(),
                v.disks.clone(),
                v.nics.clone(),
                v.values.as_ref().map(|_| v.at_ms),
            ),
            None => Default::default(),
        }
    };
    let history = series(
        &state.db,
        &format!("vm:{}", vm.uuid),
        range_of(range),
        &VM_SERIES,
        recent,
        open,
        db::now_ms(),
    )
    .await?;
    Ok(VmMetrics {
        vm_id: vm.uuid,
        collected_at: at,
        history,
        disks,
        nics,
    })
}

pub async fn host(state: &AppState, caller: &Caller, id: i64, range: Option<&str>) -> Result<HostMetrics> {
    policy::authorize(caller.require()?, Action::HostRead, Resource::System)?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM hosts WHERE id = ?")
        .bind(id)
        .fetch_optional(&state.db)
        .await?;
    exists.ok_or(Error::NotFound("host"))?;
    let (recent, open, pools, online, at) = {
        let live = state.monitor.hosts.read().unwrap_or_else(|p| p.into_inner());
        match live.get(&id) {
            Some(h) => (
                h.recent.clone(),
                h.rollup.clone(),
                h.pools.clone(),
                h.online,
                Some(h.at_ms),
            ),
            None => Default::default(),
        }
    };
    let history = series(
        &state.db,
        &format!("host:{id}"),
        range_of(range),
        &HOST_SERIES,
        recent,
        open,
        db::now_ms(),
    )
    .await?;
    Ok(HostMetrics {
        host_id: id,
        online,
        collected_at: at,
        history,
        pools: pools
            .into_iter()
            .map(|p| PoolUsage {
                percent: p.percent(),
                name: p.name,
                capacity_bytes: p.capacity,
                allocation_bytes: p.allocation,
            })
            .collect(),
    })
}

pub async fn overview(state: &AppState, caller: &Caller) -> Result<MetricsOverview> {
    let p = caller.require()?;
    let mut hosts = Vec::new();
    if policy::authorize(p, Action::HostRead, Resource::System).is_ok() {
        let live = {
            let h = state.monitor.hosts.read().unwrap_or_else(|p| p.into_inner());
            h.iter()
                .map(|(id, h)| (*id, h.online, h.values.clone()))
                .collect::<Vec<_>>()
        };
        for row in db::hosts::list(&state.db).await? {
            let (online, values) = live
                .iter()
                .find(|l| l.0 == row.id)
                .map(|l| (l.1, l.2.clone().unwrap_or_default()))
                .unwrap_or((false, Vec::new()));
            let v = |i: usize| values.get(i).copied().unwrap_or(0.0);
            hosts.push(HostNow {
                id: row.id,
                name: row.name,
                online,
                cpu_percent: v(0),
                memory_used_bytes: v(1),
                memory_total_bytes: v(2),
            });
        }
    }
    let rows = state.vm_list.rows().await?;
    let mut busiest: Vec<VmNow> = {
        let live = state.monitor.vms.read().unwrap_or_else(|p| p.into_inner());
        rows.iter()
            .filter(|v| p.sees_vm(v.owner_id))
            .filter_map(|v| {
                let values = live.get(&v.uuid)?.values.as_ref()?;
                if !live.get(&v.uuid)?.counters.running() {
                    return None;
                }
                let mem = if values[2] > 0.0 {
                    values[1] / values[2] * 100.0
                } else {
                    0.0
                };
                Some(VmNow {
                    id: v.uuid.clone(),
                    name: v.name.clone(),
                    host: v.host_name.clone(),
                    cpu_percent: values[0],
                    memory_percent: mem,
                })
            })
            .collect()
    };
    busiest.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    busiest.truncate(10);
    Ok(MetricsOverview { hosts, busiest })
}
