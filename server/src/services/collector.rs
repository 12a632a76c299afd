//! The collection loop: every `monitoring.interval_seconds`, one round per host (a bulk stats call, the node's
//! counters, its pools), each host on its own so a slow one delays no other and never piles up rounds; then the
//! history steps are written and the alert rules evaluated.
use crate::state::AppState;
use app::api::HostStatus;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Prune the history this often.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Refresh pools (so guests filling thin volumes show) this often; between, libvirt's last figures are read.
const POOL_REFRESH_EVERY: Duration = Duration::from_secs(300);

/// One host's round: read, fold into memory; returns the closed history steps.
async fn round(
    state: &AppState,
    host_id: i64,
    name: &str,
    refresh_pools: bool,
) -> Vec<(String, crate::services::rollup::Step)> {
    let t0 = Instant::now();
    let now = crate::db::now_ms();
    let m = &state.monitor;
    if state.virt.status(host_id).0 != HostStatus::Online {
        return m.record_host(host_id, now, None, None, t0.elapsed().as_secs_f64());
    }
    let read = state
        .virt
        .call(host_id, name, move |c| {
            let doms = crate::virt::stats::all_domains(c)?;
            // Node and pool figures are not worth failing the VMs' for (some drivers lack them).
            let node = crate::virt::stats::node(c).ok();
            let pools = crate::virt::stats::pools(c, refresh_pools).ok();
            Ok((doms, node, pools))
        })
        .await;
    match read {
        Ok((doms, node, pools)) => {
            let at = crate::db::now_ms();
            let mut steps = m.record_vms(host_id, at, doms);
            // A host that answers is online even when its driver has no node statistics.
            let node = node.or_else(|| Some(Default::default()));
            steps.extend(m.record_host(host_id, at, node, pools, t0.elapsed().as_secs_f64()));
            steps
        }
        // The connection is up but this call failed (busy, timed out): the figures of the last round stand
        // (they go stale, and decide nothing after three rounds); only a lost connection makes a host offline.
        Err(e) if state.virt.status(host_id).0 == HostStatus::Online => {
            tracing::debug!(host = host_id, error = %e, "collection failed");
            Vec::new()
        }
        Err(e) => {
            tracing::debug!(host = host_id, error = %e, "collection failed");
            m.record_host(host_id, now, None, None, t0.elapsed().as_secs_f64())
        }
    }
}

/// Runs forever: the rounds, the history, the alert rules.
pub async fn run(state: AppState) {
    let every = Duration::from_secs(state.config.monitoring.interval_seconds);
    let mut busy: HashMap<i64, Arc<AtomicBool>> = HashMap::new();
    let mut pools_refreshed: HashMap<i64, Instant> = HashMap::new();
    let mut last_prune = Instant::now();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let hosts = match crate::db::hosts::list(&state.db).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "monitoring: cannot list hosts");
                continue;
            }
        };
        let known: Vec<i64> = hosts.iter().map(|h| h.id).collect();
        let forgotten: Vec<i64> = busy.keys().filter(|id| !known.contains(id)).copied().collect();
        for id in forgotten {
            busy.remove(&id);
            pools_refreshed.remove(&id);
            state.monitor.forget_host(id);
        }
        let mut rounds = Vec::new();
        for h in hosts {
            let flag = busy.entry(h.id).or_default().clone();
            // The previous round of this host is still waiting on it: skip, do not queue.
            if flag.swap(true, Ordering::AcqRel) {
                continue;
            }
            let st = state.clone();
            let refresh = pools_refreshed
                .get(&h.id)
                .is_none_or(|t| t.elapsed() >= POOL_REFRESH_EVERY);
            if refresh {
                pools_refreshed.insert(h.id, Instant::now());
            }
            rounds.push(tokio::spawn(async move {
                // Each host writes its own steps: one that takes longer than the interval loses nobody's.
                let steps = round(&st, h.id, &h.name, refresh).await;
                if let Err(e) = crate::db::metrics::write(&st.db, &steps).await {
                    tracing::warn!(host = h.id, error = %e, "monitoring: history not written");
                }
                flag.store(false, Ordering::Release);
            }));
        }
        // Wait for the hosts that answer within the interval; the others finish in the background and their
        // figures count from the next tick.
        let _ = tokio::time::timeout(every, futures::future::join_all(rounds)).await;
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(e) = crate::db::metrics::prune(&state.db, crate::db::now_ms()).await {
                tracing::warn!(error = %e, "monitoring: history not pruned");
            }
        }
        crate::services::alerts::evaluate(&state).await;
    }
}
