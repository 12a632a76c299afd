//! `/metrics` in the Prometheus text format (0.0.4): per VM (labels host, vm, vm_id, owner), per host and pool,
//! and Hangar's own (requests by operation and status, tasks by state, console sessions, host connections,
//! collection time). Written from memory and two small queries; cumulative libvirt counters become counters.
use crate::error::Result;
use crate::state::AppState;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A label value with `\`, `"` and line breaks escaped.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            // The format has no escape for other control characters (a raw CR splits lines for some parsers).
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Metric families in order, each with its samples.
#[derive(Default)]
struct Out {
    families: BTreeMap<&'static str, (&'static str, &'static str, Vec<String>)>,
}

impl Out {
    fn add(&mut self, name: &'static str, kind: &'static str, help: &'static str, labels: &[(&str, &str)], v: f64) {
        let mut line = String::from(name);
        if !labels.is_empty() {
            line.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(line, "{k}=\"{}\"", escape(val));
            }
            line.push('}');
        }
        let _ = write!(line, " {}", if v.is_finite() { v } else { 0.0 });
        self.families
            .entry(name)
            .or_insert((kind, help, Vec::new()))
            .2
            .push(line);
    }

    fn render(self) -> String {
        let mut s = String::new();
        for (name, (kind, help, lines)) in self.families {
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} {kind}");
            for l in lines {
                s.push_str(&l);
                s.push('\n');
            }
        }
        s
    }
}

pub async fn render(state: &AppState) -> Result<String> {
    let mut o = Out::default();
    let hosts: BTreeMap<i64, String> = crate::db::hosts::list(&state.db)
        .await?
        .into_iter()
        .map(|h| (h.id, h.name))
        .collect();
    let vms = state.vm_list.rows().await?;
    {
        let live = state.monitor.vms.read().unwrap_or_else(|p| p.into_inner());
        // A VM not heard from lately (its host is away) has no figures to export.
        let (now, interval) = (crate::db::now_ms(), state.config.monitoring.interval_seconds);
        for v in vms.iter() {
            let Some(l) = live
                .get(&v.uuid)
                .filter(|l| crate::services::monitoring::fresh(l.at_ms, now, interval))
            else {
                continue;
            };
            let owner = v.owner.clone().unwrap_or_default();
            let host = hosts.get(&v.host_id).cloned().unwrap_or_default();
            let base = [
                ("host", host.as_str()),
                ("vm", v.name.as_str()),
                ("vm_id", v.uuid.as_str()),
                ("owner", owner.as_str()),
            ];
            let c = &l.counters;
            o.add(
                "hangar_vm_up",
                "gauge",
                "1 while the VM runs (or is paused).",
                &base,
                f64::from(u8::from(c.running())),
            );
            o.add(
                "hangar_vm_cpu_seconds_total",
                "counter",
                "CPU time the VM used since it started.",
                &base,
                c.cpu_ns as f64 / 1e9,
            );
            o.add(
                "hangar_vm_vcpus",
                "gauge",
                "Virtual CPUs of the running VM.",
                &base,
                c.vcpus as f64,
            );
            if let Some(values) = &l.values {
                o.add(
                    "hangar_vm_cpu_percent",
                    "gauge",
                    "CPU use over the last collection, % of its vCPUs.",
                    &base,
                    values[0],
                );
                o.add(
                    "hangar_vm_memory_used_bytes",
                    "gauge",
                    "Memory the guest uses (all it has without a balloon driver).",
                    &base,
                    values[1],
                );
                o.add(
                    "hangar_vm_memory_total_bytes",
                    "gauge",
                    "Memory the guest has (balloon size).",
                    &base,
                    values[2],
                );
            }
            for b in c.blocks.iter().filter(|b| !b.name.is_empty()) {
                let labels = [base[0], base[1], base[2], base[3], ("disk", b.name.as_str())];
                o.add(
                    "hangar_vm_disk_read_bytes_total",
                    "counter",
                    "Bytes read from the disk.",
                    &labels,
                    b.rd_bytes as f64,
                );
                o.add(
                    "hangar_vm_disk_write_bytes_total",
                    "counter",
                    "Bytes written to the disk.",
                    &labels,
                    b.wr_bytes as f64,
                );
                o.add(
                    "hangar_vm_disk_reads_total",
                    "counter",
                    "Read requests to the disk.",
                    &labels,
                    b.rd_reqs as f64,
                );
                o.add(
                    "hangar_vm_disk_writes_total",
                    "counter",
                    "Write requests to the disk.",
                    &labels,
                    b.wr_reqs as f64,
                );
            }
            for n in c.nets.iter().filter(|n| !n.name.is_empty()) {
                let labels = [base[0], base[1], base[2], base[3], ("nic", n.name.as_str())];
                o.add(
                    "hangar_vm_network_receive_bytes_total",
                    "counter",
                    "Bytes the NIC received.",
                    &labels,
                    n.rx_bytes as f64,
                );
                o.add(
                    "hangar_vm_network_transmit_bytes_total",
                    "counter",
                    "Bytes the NIC sent.",
                    &labels,
                    n.tx_bytes as f64,
                );
                o.add(
                    "hangar_vm_network_receive_packets_total",
                    "counter",
                    "Packets the NIC received.",
                    &labels,
                    n.rx_pkts as f64,
                );
                o.add(
                    "hangar_vm_network_transmit_packets_total",
                    "counter",
                    "Packets the NIC sent.",
                    &labels,
                    n.tx_pkts as f64,
                );
            }
        }
    }
    {
        let live = state.monitor.hosts.read().unwrap_or_else(|p| p.into_inner());
        for (id, name) in &hosts {
            let status = state.virt.status(*id).0;
            let labels = [("host", name.as_str())];
            o.add(
                "hangar_host_up",
                "gauge",
                "1 while Hangar's connection to the host is up.",
                &labels,
                f64::from(u8::from(status == app::api::HostStatus::Online)),
            );
            let Some(h) = live.get(id) else { continue };
            if let Some(v) = h.values.as_ref().filter(|_| h.online) {
                o.add(
                    "hangar_host_cpu_percent",
                    "gauge",
                    "Host CPU use over the last collection, %.",
                    &labels,
                    v[0],
                );
                o.add(
                    "hangar_host_memory_used_bytes",
                    "gauge",
                    "Host memory in use (not free, buffers or cache).",
                    &labels,
                    v[1],
                );
                o.add("hangar_host_memory_total_bytes", "gauge", "Host memory.", &labels, v[2]);
            }
            o.add(
                "hangar_collection_duration_seconds",
                "gauge",
                "How long the host's last collection took.",
                &labels,
                h.round_seconds,
            );
            for p in &h.pools {
                let labels = [("host", name.as_str()), ("pool", p.name.as_str())];
                o.add(
                    "hangar_pool_capacity_bytes",
                    "gauge",
                    "Storage pool size.",
                    &labels,
                    p.capacity as f64,
                );
                o.add(
                    "hangar_pool_allocation_bytes",
                    "gauge",
                    "Storage pool bytes allocated.",
                    &labels,
                    p.allocation as f64,
                );
            }
        }
    }
    let (rounds, secs) = *state.monitor.rounds.lock().unwrap_or_else(|p| p.into_inner());
    o.add(
        "hangar_collection_rounds_total",
        "counter",
        "Host collections done since start.",
        &[],
        rounds as f64,
    );
    o.add(
        "hangar_collection_seconds_total",
        "counter",
        "Time spent in host collections since start.",
        &[],
        secs,
    );
    {
        let reqs = state.monitor.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut sorted: Vec<_> = reqs.iter().collect();
        sorted.sort();
        for ((op, status), n) in sorted {
            let status = status.to_string();
            o.add(
                "hangar_http_requests_total",
                "counter",
                "API requests served, by operation and status.",
                &[("operation", op.as_str()), ("status", status.as_str())],
                *n as f64,
            );
        }
    }
    let tasks: Vec<(String, i64)> = sqlx::query_as("SELECT state, COUNT(*) FROM tasks GROUP BY state")
        .fetch_all(&state.db)
        .await?;
    for st in ["queued", "running", "succeeded", "failed", "cancelled"] {
        let n = tasks.iter().find(|t| t.0 == st).map_or(0, |t| t.1);
        o.add(
            "hangar_tasks",
            "gauge",
            "Tasks on record, by state.",
            &[("state", st)],
            n as f64,
        );
    }
    o.add(
        "hangar_console_sessions",
        "gauge",
        "Console sessions open now.",
        &[],
        state.consoles.count() as f64,
    );
    let firing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE state = 'firing'")
        .fetch_one(&state.db)
        .await?;
    o.add(
        "hangar_alerts_firing",
        "gauge",
        "Alerts firing now.",
        &[],
        firing as f64,
    );
    Ok(o.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_grouped_with_help_and_type_and_labels_escaped() {
        let mut o = Out::default();
        o.add("b_total", "counter", "B.", &[("x", "a\"b\\c\nd")], 2.0);
        o.add("a", "gauge", "A.", &[("r", "x\ry")], 1.5);
        o.add("b_total", "counter", "B.", &[("x", "y")], f64::NAN);
        let s = o.render();
        assert_eq!(
            s,
            "# HELP a A.\n# TYPE a gauge\na{r=\"x y\"} 1.5\n# HELP b_total B.\n# TYPE b_total counter\n\
             b_total{x=\"a\\\"b\\\\c\\nd\"} 2\nb_total{x=\"y\"} 0\n"
        );
    }
}
