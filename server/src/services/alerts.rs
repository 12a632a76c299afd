//! Alert rules at work: after each collection every enabled rule is checked against the figures in memory for
//! the targets its owner may watch (pending → firing after the rule's duration → resolved), failed tasks raise
//! alerts of their own, and each change of state notifies the rule's channels (unless silenced).
use crate::auth::{policy, Action, Principal, Resource};
use crate::db::alerts::{AlertRow, RuleRow};
use crate::db::{self, vms::VmRow};
use crate::error::Result;
use crate::services::notify::Message;
use crate::state::AppState;
use app::api::{Role, ALERT_METRICS};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

/// What the alert engine keeps between rounds.
pub struct Alerts {
    /// Failed tasks finished after this (Unix ms) have not been looked at yet.
    pub tasks_seen_until: AtomicI64,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            // Failures from before this start were someone's news already.
            tasks_seen_until: AtomicI64::new(db::now_ms() - TASK_LAG_MS),
        }
    }
}

/// One thing a rule looks at, with its value now.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub vm: Option<(String, Option<i64>)>,
    pub value: f64,
}

/// Whether `value` meets the rule. Conditions (`host_offline`, `vm_crashed`, `task_failed`) hold at 1.
pub fn holds(metric: &str, comparison: &str, threshold: f64, value: f64) -> bool {
    if matches!(metric, "host_offline" | "vm_crashed" | "task_failed") {
        return value >= 0.5;
    }
    match comparison {
        "gt" => value > threshold,
        "ge" => value >= threshold,
        "lt" => value < threshold,
        "le" => value <= threshold,
        _ => false,
    }
}

/// The metric's value from a VM's figures (`values` in VM_SERIES order). A VM that is not running has no
/// figures (NaN: holds for no comparison, so its alerts resolve and none start), nor has a guest's memory use
/// without a balloon driver reporting it.
pub fn vm_value(metric: &str, values: &[f64], crashed: bool, running: bool, memory_known: bool) -> Option<f64> {
    let pct = |a: f64, b: f64| if b > 0.0 { a / b * 100.0 } else { 0.0 };
    if metric != "vm_crashed" && (!running || (metric == "vm_memory_percent" && !memory_known)) {
        return (metric.starts_with("vm_") && ALERT_METRICS.contains(&metric)).then_some(f64::NAN);
    }
    Some(match metric {
        "vm_cpu_percent" => *values.first()?,
        "vm_memory_percent" => pct(*values.get(1)?, *values.get(2)?),
        "vm_disk_read_bytes_per_second" => *values.get(3)?,
        "vm_disk_write_bytes_per_second" => *values.get(4)?,
        "vm_net_rx_bytes_per_second" => *values.get(7)?,
        "vm_net_tx_bytes_per_second" => *values.get(8)?,
        "vm_crashed" => f64::from(u8::from(crashed)),
        _ => return None,
    })
}

fn principal(rule: &RuleRow) -> Option<Principal> {
    (!rule.owner_disabled).then(|| Principal {
        id: rule.owner_id,
        username: rule.owner.clone(),
        role: Role::parse(&rule.owner_role).unwrap_or(Role::User),
        via_token: false,
    })
}

/// A VM's figures of now: VM_SERIES values, crashed, running, whether the guest reports its memory use.
pub type VmFigures = (Vec<f64>, bool, bool, bool);

/// A host's figures of now: name, online, HOST_SERIES values, pools as (uuid, name, percent).
pub type HostFigures = (String, bool, Vec<f64>, Vec<(String, String, f64)>);

/// Figures of now, copied out of the monitor once per round.
pub struct Snapshot {
    pub vms: Vec<VmRow>,
    /// Fresh figures only: uuid → (VM_SERIES values, crashed, running, memory use known)
    pub vm_values: HashMap<String, VmFigures>,
    pub hosts: HashMap<i64, HostFigures>,
    /// Failed tasks not looked at yet: (id, kind, owner)
    pub failed_tasks: Vec<(i64, String, Option<i64>)>,
}

fn vm_in_scope(rule: &RuleRow, p: &Principal, v: &VmRow) -> bool {
    if !p.sees_vm(v.owner_id) {
        return false;
    }
    let s = rule.scope();
    let id = s.id.as_deref().unwrap_or_default();
    match s.kind.as_str() {
        "all" => true,
        "host" => v.host_id.to_string() == id,
        "vm" => v.uuid == id,
        "owner" => v.owner_id.map(|o| o.to_string()).as_deref() == Some(id),
        "tag" => {
            let tags: Vec<String> = serde_json::from_str(&v.tags).unwrap_or_default();
            s.value.as_ref().is_some_and(|t| tags.contains(t))
        }
        _ => false,
    }
}

/// Whether the principal's rules may watch every VM, hosts and pools (not only their own VMs and tasks).
pub fn watch_all(p: &Principal) -> bool {
    policy::authorize(p, Action::AlertWatchAll, Resource::System).is_ok()
}

fn host_in_scope(rule: &RuleRow, p: &Principal, host: i64) -> bool {
    let s = rule.scope();
    watch_all(p)
        && match s.kind.as_str() {
            "all" => true,
            "host" => s.id.as_deref() == Some(host.to_string().as_str()),
            _ => false,
        }
}

/// Every target of a rule with its value now.
pub fn targets(rule: &RuleRow, snap: &Snapshot) -> Vec<Target> {
    let Some(p) = principal(rule) else { return Vec::new() };
    let m = rule.metric.as_str();
    let mut out = Vec::new();
    if m.starts_with("vm_") {
        for v in snap.vms.iter().filter(|v| vm_in_scope(rule, &p, v)) {
            let Some((values, crashed, running, memory_known)) = snap.vm_values.get(&v.uuid) else {
                continue;
            };
            if let Some(value) = vm_value(m, values, *crashed, *running, *memory_known) {
                out.push(Target {
                    kind: "vm",
                    id: v.uuid.clone(),
                    name: v.name.clone(),
                    vm: Some((v.uuid.clone(), v.owner_id)),
                    value,
                });
            }
        }
    } else if m.starts_with("host_") || m == "pool_usage_percent" {
        for (id, (name, online, values, pools)) in &snap.hosts {
            if !host_in_scope(rule, &p, *id) {
                continue;
            }
            let pct = |a: f64, b: f64| if b > 0.0 { a / b * 100.0 } else { 0.0 };
            let host = |value| Target {
                kind: "host",
                id: id.to_string(),
                name: name.clone(),
                vm: None,
                value,
            };
            match m {
                "host_offline" => out.push(host(f64::from(u8::from(!online)))),
                // An offline host has no figures: its CPU/memory rules neither fire nor resolve on made-up zeros.
                "host_cpu_percent" if *online => out.push(host(values.first().copied().unwrap_or(0.0))),
                "host_memory_percent" if *online => out.push(host(pct(
                    values.get(1).copied().unwrap_or(0.0),
                    values.get(2).copied().unwrap_or(0.0),
                ))),
                "pool_usage_percent" => out.extend(pools.iter().map(|(uuid, pname, percent)| Target {
                    kind: "pool",
                    id: uuid.clone(),
                    name: format!("{name}/{pname}"),
                    vm: None,
                    value: *percent,
                })),
                _ => {}
            }
        }
    } else if m == "task_failed" {
        let s = rule.scope();
        for (id, kind, owner) in &snap.failed_tasks {
            let visible = match owner {
                Some(o) if *o == p.id => true,
                _ => watch_all(&p),
            };
            let scoped = match s.kind.as_str() {
                "all" => true,
                "owner" => owner.map(|o| o.to_string()) == s.id,
                _ => false,
            };
            if visible && scoped {
                out.push(Target {
                    kind: "task",
                    id: id.to_string(),
                    name: kind.clone(),
                    vm: None,
                    value: 1.0,
                });
            }
        }
    }
    out
}

/// Failed tasks are looked at this long after they finished: a task's end commits a little after its
/// `finished_at` is taken, and a window closed too early would miss it for good.
const TASK_LAG_MS: i64 = 30_000;

async fn snapshot(state: &AppState, now: i64) -> Result<Snapshot> {
    let vms = state.vm_list.rows().await?.as_ref().clone();
    // Stale figures decide nothing: such a VM's alerts stay as they are until it is heard from again.
    let interval = state.config.monitoring.interval_seconds;
    let vm_values = {
        let live = state.monitor.vms.read().unwrap_or_else(|p| p.into_inner());
        live.iter()
            .filter(|(_, v)| crate::services::monitoring::fresh(v.at_ms, now, interval))
            .filter_map(|(u, v)| {
                let c = &v.counters;
                let crashed = c.crashed();
                let values = v
                    .values
                    .clone()
                    .or_else(|| crashed.then(|| vec![0.0; app::api::VM_SERIES.len()]))?;
                Some((
                    u.clone(),
                    (values, crashed, c.running(), c.balloon_usable_kib.is_some()),
                ))
            })
            .collect()
    };
    let names: HashMap<i64, String> = db::hosts::list(&state.db)
        .await?
        .into_iter()
        .map(|h| (h.id, h.name))
        .collect();
    let hosts = {
        let live = state.monitor.hosts.read().unwrap_or_else(|p| p.into_inner());
        live.iter()
            .filter_map(|(id, h)| {
                let name = names.get(id)?.clone();
                let pools = h
                    .pools
                    .iter()
                    .map(|p| (p.uuid.clone(), p.name.clone(), p.percent()))
                    .collect();
                Some((*id, (name, h.online, h.values.clone().unwrap_or_default(), pools)))
            })
            .collect()
    };
    // The window moves on only once the round has succeeded (see `evaluate_at`).
    let since = state.alerts.tasks_seen_until.load(Ordering::Acquire);
    let failed_tasks = sqlx::query_as(
        "SELECT id, kind, owner_id FROM tasks WHERE state = 'failed' AND finished_at > ? AND finished_at <= ?",
    )
    .bind(since)
    .bind(now - TASK_LAG_MS)
    .fetch_all(&state.db)
    .await?;
    Ok(Snapshot {
        vms,
        vm_values,
        hosts,
        failed_tasks,
    })
}

/// Runs one evaluation; failures are logged (the next round tries again).
pub async fn evaluate(state: &AppState) {
    if let Err(e) = evaluate_at(state, db::now_ms()).await {
        tracing::warn!(error = %e, "alert rules not evaluated");
    }
}

type Key = (i64, String, String);

async fn evaluate_at(state: &AppState, now: i64) -> Result<()> {
    let rules = db::alerts::rules(&state.db, None).await?;
    let mut active: HashMap<Key, AlertRow> = db::alerts::active(&state.db)
        .await?
        .into_iter()
        .map(|a| ((a.rule_id, a.target_kind.clone(), a.target_id.clone()), a))
        .collect();
    let silences = db::alerts::vm_silences(&state.db, now).await?;
    let snap = snapshot(state, now).await?;
    // Notifications of a silenced rule, or about a VM silenced by the rule's owner (or by an operator or admin),
    // go to no one.
    let muted = |rule: &RuleRow, a: &AlertRow| {
        rule.silenced_until.is_some_and(|u| u > now)
            || a.vm_uuid.as_ref().is_some_and(|u| {
                silences
                    .iter()
                    .any(|(vm, by, all)| vm == u && (*all || *by == rule.owner_id))
            })
    };
    let mut notes: Vec<Change> = Vec::new();
    let mut conn = state.db.acquire().await?;
    for rule in rules.iter().filter(|r| r.enabled && !r.owner_disabled) {
        for t in targets(rule, &snap) {
            let key = (rule.id, t.kind.to_string(), t.id.clone());
            let cond = holds(&rule.metric, &rule.comparison, rule.threshold, t.value);
            match active.remove(&key) {
                None if cond => {
                    // A failed task is news at once; anything else must hold for the rule's duration.
                    let fire = rule.metric == "task_failed" || rule.for_seconds <= 0;
                    let mut a = AlertRow {
                        id: 0,
                        rule_id: rule.id,
                        rule_name: rule.name.clone(),
                        rule_owner: rule.owner_id,
                        metric: rule.metric.clone(),
                        severity: rule.severity.clone(),
                        target_kind: t.kind.into(),
                        target_id: t.id.clone(),
                        target_name: t.name.clone(),
                        vm_uuid: t.vm.as_ref().map(|v| v.0.clone()),
                        vm_owner: t.vm.as_ref().and_then(|v| v.1),
                        state: if fire { "firing" } else { "pending" }.into(),
                        value: t.value,
                        peak: t.value,
                        threshold: rule.threshold,
                        comparison: rule.comparison.clone(),
                        started_at: now,
                        fired_at: fire.then_some(now),
                        resolved_at: None,
                        notified_at: None,
                        acknowledged_by: None,
                        acknowledged_at: None,
                    };
                    let tell = fire && !muted(rule, &a);
                    a.notified_at = tell.then_some(now);
                    a.id = db::alerts::insert_alert(&mut conn, &a).await?;
                    if fire {
                        notes.push(Change::new(rule, a, "firing", tell, true));
                    }
                }
                None => {}
                Some(mut a) if cond => {
                    a.value = t.value;
                    a.peak = if rule.comparison.starts_with('l') {
                        a.peak.min(t.value)
                    } else {
                        a.peak.max(t.value)
                    };
                    let mut change = None;
                    if a.state == "pending" && now - a.started_at >= rule.for_seconds * 1000 {
                        a.state = "firing".into();
                        a.fired_at = Some(now);
                        let tell = !muted(rule, &a);
                        a.notified_at = tell.then_some(now);
                        change = Some((tell, true));
                    } else if a.state == "firing"
                        && a.acknowledged_at.is_none()
                        && !muted(rule, &a)
                        // Never told (it fired while silenced), or due for a repeat.
                        && (a.notified_at.is_none()
                            || (rule.repeat_seconds > 0
                                && now - a.notified_at.unwrap_or(0) >= rule.repeat_seconds * 1000))
                    {
                        a.notified_at = Some(now);
                        change = Some((true, false));
                    }
                    db::alerts::save_alert(&mut conn, &a).await?;
                    if let Some((tell, timeline)) = change {
                        notes.push(Change::new(rule, a, "firing", tell, timeline));
                    }
                }
                Some(a) => {
                    if let Some(n) = end(&mut conn, a, now).await? {
                        // A resolution nobody was told the start of stays quiet too.
                        let tell = n.notified_at.is_some() && !muted(rule, &n);
                        notes.push(Change::new(rule, n, "resolved", tell, true));
                    }
                }
            }
        }
    }
    // What is left had no target this round (gone, out of scope, rule disabled or deleted, or not heard from).
    let by_id: HashMap<i64, &RuleRow> = rules.iter().map(|r| (r.id, r)).collect();
    let known: std::collections::HashSet<&str> = snap.vms.iter().map(|v| v.uuid.as_str()).collect();
    for (_, a) in active {
        let rule = by_id.get(&a.rule_id).copied();
        if rule.is_some_and(|r| r.enabled && !r.owner_disabled) {
            let keep = match a.target_kind.as_str() {
                // A failed task's alert waits for an acknowledgement, a day at most.
                "task" => now - a.started_at < 86_400_000,
                // An offline host has no figures: its CPU and memory alerts stay as they are until it is back.
                "host" => {
                    a.metric != "host_offline"
                        && a.target_id
                            .parse::<i64>()
                            .ok()
                            .and_then(|h| snap.hosts.get(&h))
                            .is_some_and(|h| !h.1)
                }
                // A VM not heard from lately (its host is away) keeps its alerts until it is.
                "vm" => a
                    .vm_uuid
                    .as_deref()
                    .is_some_and(|u| known.contains(u) && !snap.vm_values.contains_key(u)),
                _ => false,
            };
            if keep {
                continue;
            }
        }
        if let Some(n) = end(&mut conn, a, now).await? {
            if let Some(r) = rule {
                let tell = n.notified_at.is_some() && !muted(r, &n);
                notes.push(Change::new(r, n, "resolved", tell, true));
            }
        }
    }
    // Changes of state about a VM go on its timeline too (repeats do not).
    for n in notes.iter().filter(|n| n.timeline) {
        if let Some(uuid) = &n.alert.vm_uuid {
            let detail = format!("{} ({})", n.alert.rule_name, n.alert.severity);
            db::vms::add_event(&mut conn, uuid, &format!("alert.{}", n.event), &detail).await?;
        }
    }
    drop(conn);
    state
        .alerts
        .tasks_seen_until
        .store(now - TASK_LAG_MS, Ordering::Release);
    for n in notes.into_iter().filter(|n| n.tell) {
        notify(state, &n.rule, &n.alert, n.event).await;
    }
    Ok(())
}

/// A change of an alert's state this round: whether to notify, whether it goes on the VM's timeline.
struct Change {
    rule: RuleRow,
    alert: AlertRow,
    event: &'static str,
    tell: bool,
    timeline: bool,
}

impl Change {
    fn new(rule: &RuleRow, alert: AlertRow, event: &'static str, tell: bool, timeline: bool) -> Change {
        Change {
            rule: rule.clone(),
            alert,
            event,
            tell,
            timeline,
        }
    }
}

/// A pending alert is dropped; a firing one resolves (returned, to notify).
async fn end(conn: &mut sqlx::SqliteConnection, mut a: AlertRow, now: i64) -> Result<Option<AlertRow>> {
    if a.state == "pending" {
        db::alerts::drop_pending(conn, a.id).await?;
        return Ok(None);
    }
    a.state = "resolved".into();
    a.resolved_at = Some(now);
    db::alerts::save_alert(conn, &a).await?;
    Ok(Some(a))
}

/// Queues one delivery per channel of the rule (channels its owner may still use).
pub async fn notify(state: &AppState, rule: &RuleRow, a: &AlertRow, event: &str) {
    let Some(owner) = principal(rule) else { return };
    let link = match (a.target_kind.as_str(), &a.vm_uuid) {
        (_, Some(uuid)) => format!("/vms/{uuid}"),
        ("host", _) => format!("/hosts/{}", a.target_id),
        _ => "/alerts".to_string(),
    };
    for cid in rule.channel_ids() {
        let channel = match state.db.acquire().await {
            Ok(mut c) => db::alerts::channel(&mut c, cid).await.ok().flatten(),
            Err(_) => None,
        };
        let Some(channel) = channel else { continue };
        if policy::authorize(&owner, Action::AlertManage, Resource::User(channel.owner_id)).is_err() {
            continue;
        }
        let note = Message {
            status: event.to_string(),
            rule: a.rule_name.clone(),
            severity: a.severity.clone(),
            metric: a.metric.clone(),
            target_kind: a.target_kind.clone(),
            target_id: a.target_id.clone(),
            target_name: a.target_name.clone(),
            value: if event == "resolved" { a.value } else { a.peak },
            threshold: a.threshold,
            comparison: a.comparison.clone(),
            started_at: a.started_at,
            link: link.clone(),
            language: channel.language.clone(),
        };
        if let Err(e) = crate::services::deliver::queue(state, Some(a.id), &channel, &note).await {
            tracing::warn!(error = %e, channel = cid, "notification not queued");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_and_conditions() {
        assert!(holds("vm_cpu_percent", "gt", 50.0, 50.1));
        assert!(!holds("vm_cpu_percent", "gt", 50.0, 50.0));
        assert!(holds("vm_cpu_percent", "ge", 50.0, 50.0));
        assert!(holds("vm_memory_percent", "lt", 10.0, 9.0));
        assert!(!holds("vm_memory_percent", "le", 10.0, 11.0));
        // Conditions ignore the threshold.
        assert!(holds("host_offline", "lt", 100.0, 1.0));
        assert!(!holds("vm_crashed", "gt", -1.0, 0.0));
    }

    #[test]
    fn vm_values_by_metric() {
        let v = [40.0, 256.0, 1024.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0];
        assert_eq!(vm_value("vm_cpu_percent", &v, false, true, true), Some(40.0));
        assert_eq!(vm_value("vm_memory_percent", &v, false, true, true), Some(25.0));
        assert_eq!(vm_value("vm_net_tx_bytes_per_second", &v, false, true, true), Some(4.0));
        assert_eq!(vm_value("vm_crashed", &v, true, false, false), Some(1.0));
        assert_eq!(vm_value("host_cpu_percent", &v, false, true, true), None);
        // A VM that is off, or a guest that does not report its memory use, starts nothing and ends what was
        // firing: NaN meets no comparison.
        for (metric, running, known) in [("vm_cpu_percent", false, true), ("vm_memory_percent", true, false)] {
            let x = vm_value(metric, &v, false, running, known).unwrap();
            assert!(!holds(metric, "lt", 50.0, x) && !holds(metric, "gt", 50.0, x));
        }
    }
}
