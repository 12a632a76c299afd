//! What monitoring knows now: per VM and host the last figures (rates computed between two collections), the
//! recent samples of the last hour in memory, the steps being rolled up into the history tiers, and Hangar's
//! own counters for `/metrics`. Filled by `collector`, read by the metrics endpoints and the alert rules.
use crate::services::rollup::{range_plan, Rollup, Step, TIERS};
use crate::virt::stats::{DomainCounters, NodeCounters, PoolFill};
use app::api::{DiskNow, MetricPoint, MetricSeries, NicNow, HOST_SERIES, VM_SERIES};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};

/// Samples kept in memory per target unless told otherwise (one hour at the default 10 s).
const RECENT: usize = 360;

/// A VM as the last collection saw it.
#[derive(Debug, Clone, Default)]
pub struct VmLive {
    pub host_id: i64,
    pub counters: DomainCounters,
    pub at_ms: i64,
    /// The VM_SERIES values of the last collection (none before the second one: rates need two).
    pub values: Option<Vec<f64>>,
    pub disks: Vec<DiskNow>,
    pub nics: Vec<NicNow>,
    pub recent: VecDeque<(i64, Vec<f32>)>,
    pub rollup: Rollup,
}

/// A host as the last collection saw it.
#[derive(Debug, Clone, Default)]
pub struct HostLive {
    pub online: bool,
    pub node: Option<NodeCounters>,
    pub at_ms: i64,
    pub values: Option<Vec<f64>>,
    pub pools: Vec<PoolFill>,
    pub recent: VecDeque<(i64, Vec<f32>)>,
    pub rollup: Rollup,
    /// Seconds the last round took.
    pub round_seconds: f64,
    pub offline_since: Option<i64>,
}

#[derive(Default)]
pub struct Monitor {
    pub vms: RwLock<HashMap<String, VmLive>>,
    pub hosts: RwLock<HashMap<i64, HostLive>>,
    /// Requests served, by operation and status.
    pub requests: Mutex<HashMap<(String, u16), u64>>,
    /// Rounds done, and total seconds they took (for `/metrics`).
    pub rounds: Mutex<(u64, f64)>,
    /// Recent samples kept per target: an hour's worth at the collection interval.
    pub recent_cap: std::sync::atomic::AtomicUsize,
}

impl Monitor {
    pub fn new(interval_seconds: u64) -> Monitor {
        let m = Monitor::default();
        let cap = (3600 / interval_seconds.max(1)).clamp(60, 3600) as usize;
        m.recent_cap.store(cap, std::sync::atomic::Ordering::Relaxed);
        m
    }

    fn cap(&self) -> usize {
        match self.recent_cap.load(std::sync::atomic::Ordering::Relaxed) {
            0 => RECENT,
            n => n,
        }
    }
}

/// Figures older than three rounds (the host stopped answering) decide nothing and are not exported.
pub fn fresh(at_ms: i64, now_ms: i64, interval_seconds: u64) -> bool {
    at_ms >= now_ms - 3_000 * interval_seconds as i64
}

fn delta(now: u64, before: u64) -> f64 {
    now.saturating_sub(before) as f64
}

/// The VM_SERIES values between two readings `dt` seconds apart, and the per-device rates.
pub fn vm_rates(prev: &DomainCounters, now: &DomainCounters, dt: f64) -> (Vec<f64>, Vec<DiskNow>, Vec<NicNow>) {
    let dt = dt.max(0.001);
    let vcpus = now.vcpus.max(1) as f64;
    let cpu = if now.running() && prev.running() {
        (delta(now.cpu_ns, prev.cpu_ns) / (dt * 1e9 * vcpus) * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let total = now.balloon_current_kib as f64 * 1024.0;
    let used = match now.balloon_usable_kib {
        Some(usable) => (now.balloon_current_kib.saturating_sub(usable)) as f64 * 1024.0,
        None => total,
    };
    let disks: Vec<DiskNow> = now
        .blocks
        .iter()
        .map(|b| {
            let p = prev.blocks.iter().find(|p| p.name == b.name);
            let r = |f: fn(&crate::virt::stats::BlockCounters) -> u64| p.map_or(0.0, |p| delta(f(b), f(p)) / dt);
            DiskNow {
                name: b.name.clone(),
                read_bytes_per_second: r(|x| x.rd_bytes),
                write_bytes_per_second: r(|x| x.wr_bytes),
                read_iops: r(|x| x.rd_reqs),
                write_iops: r(|x| x.wr_reqs),
            }
        })
        .collect();
    let nics: Vec<NicNow> = now
        .nets
        .iter()
        .map(|n| {
            let p = prev.nets.iter().find(|p| p.name == n.name);
            let r = |f: fn(&crate::virt::stats::NetCounters) -> u64| p.map_or(0.0, |p| delta(f(n), f(p)) / dt);
            NicNow {
                name: n.name.clone(),
                rx_bytes_per_second: r(|x| x.rx_bytes),
                tx_bytes_per_second: r(|x| x.tx_bytes),
                rx_packets_per_second: r(|x| x.rx_pkts),
                tx_packets_per_second: r(|x| x.tx_pkts),
            }
        })
        .collect();
    let sum = |f: fn(&DiskNow) -> f64| disks.iter().map(f).sum::<f64>();
    let nsum = |f: fn(&NicNow) -> f64| nics.iter().map(f).sum::<f64>();
    let values = vec![
        cpu,
        if now.running() { used } else { 0.0 },
        if now.running() { total } else { 0.0 },
        sum(|d| d.read_bytes_per_second),
        sum(|d| d.write_bytes_per_second),
        sum(|d| d.read_iops),
        sum(|d| d.write_iops),
        nsum(|n| n.rx_bytes_per_second),
        nsum(|n| n.tx_bytes_per_second),
        nsum(|n| n.rx_packets_per_second),
        nsum(|n| n.tx_packets_per_second),
    ];
    debug_assert_eq!(values.len(), VM_SERIES.len());
    (values, disks, nics)
}

/// The HOST_SERIES values between two node readings.
pub fn host_values(prev: Option<&NodeCounters>, now: &NodeCounters) -> Vec<f64> {
    let cpu = match prev {
        Some(p) if now.cpu_total_ns > p.cpu_total_ns => {
            (delta(now.cpu_busy_ns, p.cpu_busy_ns) / delta(now.cpu_total_ns, p.cpu_total_ns) * 100.0).clamp(0.0, 100.0)
        }
        _ => 0.0,
    };
    let total = now.memory_total_kib as f64 * 1024.0;
    let used = now.memory_total_kib.saturating_sub(now.memory_free_kib) as f64 * 1024.0;
    vec![cpu, used, total, 1.0]
}

fn push_recent(recent: &mut VecDeque<(i64, Vec<f32>)>, cap: usize, at: i64, values: &[f64]) {
    while recent.len() >= cap {
        recent.pop_front();
    }
    recent.push_back((at, values.iter().map(|v| *v as f32).collect()));
}

impl Monitor {
    /// Takes one round's readings of a host's VMs; returns the history steps they closed.
    pub fn record_vms(&self, host_id: i64, at_ms: i64, doms: Vec<DomainCounters>) -> Vec<(String, Step)> {
        let mut steps = Vec::new();
        let cap = self.cap();
        let mut vms = self.vms.write().unwrap_or_else(|p| p.into_inner());
        let seen: std::collections::HashSet<&str> = doms.iter().map(|d| d.uuid.as_str()).collect();
        // Domains gone from this host (deleted, migrated away) are forgotten.
        let gone: Vec<String> = vms
            .iter()
            .filter(|(u, v)| v.host_id == host_id && !seen.contains(u.as_str()))
            .map(|(u, _)| u.clone())
            .collect();
        for u in gone {
            vms.remove(&u);
        }
        for d in doms {
            let live = vms.entry(d.uuid.clone()).or_default();
            if live.host_id == host_id && live.at_ms > 0 {
                let dt = (at_ms - live.at_ms) as f64 / 1000.0;
                let (values, disks, nics) = vm_rates(&live.counters, &d, dt);
                push_recent(&mut live.recent, cap, at_ms, &values);
                for s in live.rollup.add(at_ms, &values) {
                    steps.push((format!("vm:{}", d.uuid), s));
                }
                live.values = Some(values);
                live.disks = disks;
                live.nics = nics;
            }
            live.host_id = host_id;
            live.counters = d;
            live.at_ms = at_ms;
        }
        steps
    }

    /// Takes one round's readings of a host (none: it is offline); returns the history steps they closed.
    pub fn record_host(
        &self,
        host_id: i64,
        at_ms: i64,
        node: Option<NodeCounters>,
        pools: Option<Vec<PoolFill>>,
        round_seconds: f64,
    ) -> Vec<(String, Step)> {
        let cap = self.cap();
        let mut hosts = self.hosts.write().unwrap_or_else(|p| p.into_inner());
        let live = hosts.entry(host_id).or_default();
        live.round_seconds = round_seconds;
        let values = match &node {
            Some(n) => host_values(live.node.as_ref(), n),
            None => vec![0.0, 0.0, live.values.as_ref().map_or(0.0, |v| v[2]), 0.0],
        };
        live.online = node.is_some();
        live.offline_since = if live.online {
            None
        } else {
            live.offline_since.or(Some(at_ms))
        };
        if let Some(p) = pools {
            live.pools = p;
        }
        push_recent(&mut live.recent, cap, at_ms, &values);
        let steps = live
            .rollup
            .add(at_ms, &values)
            .into_iter()
            .map(|s| (format!("host:{host_id}"), s))
            .collect();
        live.values = Some(values);
        live.node = node;
        live.at_ms = at_ms;
        drop(hosts);
        let mut r = self.rounds.lock().unwrap_or_else(|p| p.into_inner());
        r.0 += 1;
        r.1 += round_seconds;
        steps
    }

    /// Forgets a host and its VMs (the host was removed).
    pub fn forget_host(&self, host_id: i64) {
        self.hosts.write().unwrap_or_else(|p| p.into_inner()).remove(&host_id);
        self.vms
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, v| v.host_id != host_id);
    }

    pub fn count_request(&self, op: String, status: u16) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((op, status))
            .or_default() += 1;
    }
}

/// The recent samples (hour range) of a target as points.
fn recent_points(recent: &VecDeque<(i64, Vec<f32>)>, from_ms: i64) -> Vec<MetricPoint> {
    recent
        .iter()
        .filter(|(t, _)| *t >= from_ms)
        .map(|(t, v)| {
            let v: Vec<f64> = v.iter().map(|x| *x as f64).collect();
            MetricPoint {
                t: *t,
                avg: v.clone(),
                max: v,
            }
        })
        .collect()
}

/// A target's series over `range`: the hour from memory, longer ranges from the stored tier plus the step still
/// being filled (so charts move between steps).
pub async fn series(
    db: &sqlx::SqlitePool,
    target: &str,
    range: &str,
    names: &[&str],
    recent: VecDeque<(i64, Vec<f32>)>,
    open: Rollup,
    now_ms: i64,
) -> crate::error::Result<MetricSeries> {
    let (tier, span) = range_plan(range).ok_or(crate::error::Error::invalid("range", "unknown"))?;
    let from = now_ms - span * 1000;
    let (step, mut points) = match tier {
        None => {
            let n = recent.len();
            let step = if n >= 2 {
                (recent[n - 1].0 - recent[n - 2].0) / 1000
            } else {
                10
            }
            .max(1);
            let mut points = recent_points(&recent, from);
            // After a restart the hour starts from the minute steps.
            if points.len() < 6 {
                let stored = crate::db::metrics::read(db, target, 0, from).await?;
                let first = points.first().map_or(i64::MAX, |p| p.t);
                let mut older: Vec<MetricPoint> = stored
                    .into_iter()
                    .filter(|(t, _, _)| *t < first)
                    .map(|(t, avg, max)| MetricPoint { t, avg, max })
                    .collect();
                older.append(&mut points);
                points = older;
            }
            (step, points)
        }
        Some(tier) => {
            let stored = crate::db::metrics::read(db, target, tier, from).await?;
            let mut points: Vec<MetricPoint> = stored
                .into_iter()
                .map(|(t, avg, max)| MetricPoint { t, avg, max })
                .collect();
            if let Some(acc) = &open.open[tier] {
                if acc.count > 0 && points.last().is_none_or(|p| p.t < acc.start_ms) {
                    points.push(MetricPoint {
                        t: acc.start_ms,
                        avg: acc.avg(),
                        max: acc.maxes(),
                    });
                }
            }
            (TIERS[tier].0, points)
        }
    };
    points.retain(|p| p.avg.len() == names.len() && p.max.len() == names.len());
    Ok(MetricSeries {
        range: range.to_string(),
        step_seconds: step,
        series: names.iter().map(|s| s.to_string()).collect(),
        points,
    })
}

/// The names of a host's series.
pub fn host_series_names() -> &'static [&'static str] {
    &HOST_SERIES
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virt::stats::{BlockCounters, NetCounters};

    fn running(cpu_ns: u64, rd: u64, rx: u64) -> DomainCounters {
        DomainCounters {
            uuid: "u".into(),
            state: 1,
            cpu_ns,
            vcpus: 2,
            balloon_current_kib: 1024,
            balloon_usable_kib: Some(256),
            blocks: vec![BlockCounters {
                name: "vda".into(),
                rd_bytes: rd,
                ..Default::default()
            }],
            nets: vec![NetCounters {
                name: "vnet0".into(),
                rx_bytes: rx,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn rates_come_from_two_readings() {
        // 10 s apart, 2 vCPUs, 10 s of CPU time: half of what two vCPUs could do.
        let (v, disks, nics) = vm_rates(&running(0, 0, 0), &running(10_000_000_000, 40_960, 1000), 10.0);
        assert!((v[0] - 50.0).abs() < 1e-9, "{v:?}");
        assert_eq!(v[1], 768.0 * 1024.0);
        assert_eq!(v[2], 1024.0 * 1024.0);
        assert_eq!(disks[0].read_bytes_per_second, 4096.0);
        assert_eq!(v[3], 4096.0);
        assert_eq!(nics[0].rx_bytes_per_second, 100.0);
        // A counter that went back (the VM restarted) counts as nothing, not as a huge number.
        let (v, _, _) = vm_rates(&running(10_000_000_000, 40_960, 1000), &running(5, 0, 0), 10.0);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[3], 0.0);
    }

    #[test]
    fn host_cpu_is_busy_over_total_time() {
        let a = NodeCounters {
            cpu_total_ns: 1000,
            cpu_busy_ns: 100,
            memory_total_kib: 100,
            memory_free_kib: 40,
        };
        let b = NodeCounters {
            cpu_total_ns: 2000,
            cpu_busy_ns: 350,
            ..a.clone()
        };
        let v = host_values(Some(&a), &b);
        assert_eq!(v[0], 25.0);
        assert_eq!(v[1], 60.0 * 1024.0);
        assert_eq!(v[3], 1.0);
    }

    #[test]
    fn a_vm_gone_from_its_host_is_forgotten() {
        let m = Monitor::default();
        m.record_vms(1, 1000, vec![running(0, 0, 0)]);
        m.record_vms(1, 11_000, vec![running(1, 0, 0)]);
        assert!(m.vms.read().unwrap()["u"].values.is_some());
        m.record_vms(1, 21_000, vec![]);
        assert!(m.vms.read().unwrap().is_empty());
    }
}
