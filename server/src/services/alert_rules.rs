//! Alert rules, alerts and VM silences as the API sees them: who may see and change which, what a valid rule is
//! (a user's rules watch only their own VMs and tasks), and acknowledging.
use super::alerts::watch_all;
use super::audit;
use crate::auth::{policy, Action, Caller, Principal, Resource};
use crate::db::{self, alerts::RuleFields};
use crate::error::{Error, Result};
use crate::state::AppState;
use app::api::{
    Alert, AlertPage, AlertQuery, AlertRule, AlertRulePatch, AlertScope, NewAlertRule, VmSilenced, ALERT_METRICS,
    COMPARISONS, SCOPE_KINDS, SEVERITIES,
};
use serde_json::json;

const MAX_FOR: i64 = 7 * 86_400;
const MAX_RULES_PER_USER: i64 = 200;

/// Checks a rule as a whole; `owner` is who the rule belongs to.
async fn validate(state: &AppState, owner: &Principal, r: &NewAlertRule) -> Result<()> {
    super::validate::label(&r.name)?;
    if !ALERT_METRICS.contains(&r.metric.as_str()) {
        return Err(Error::invalid("metric", "unknown"));
    }
    if !COMPARISONS.contains(&r.comparison.as_str()) {
        return Err(Error::invalid("comparison", "unknown"));
    }
    let (lo, hi) = if r.metric.ends_with("_percent") {
        (0.0, 100.0)
    } else {
        (0.0, 1e15)
    };
    if !r.threshold.is_finite() || r.threshold < lo || r.threshold > hi {
        return Err(Error::Invalid {
            field: "threshold",
            reason: "out_of_range",
            details: json!({ "min": lo, "max": hi }),
        });
    }
    if !(1..=MAX_FOR).contains(&r.for_seconds) {
        return Err(Error::Invalid {
            field: "for_seconds",
            reason: "out_of_range",
            details: json!({ "min": 1, "max": MAX_FOR }),
        });
    }
    if !(0..=MAX_FOR).contains(&r.repeat_seconds) {
        return Err(Error::Invalid {
            field: "repeat_seconds",
            reason: "out_of_range",
            details: json!({ "min": 0, "max": MAX_FOR }),
        });
    }
    if !SEVERITIES.contains(&r.severity.as_str()) {
        return Err(Error::invalid("severity", "unknown"));
    }
    validate_scope(state, owner, &r.metric, &r.scope).await?;
    if r.channels.len() > 20 {
        return Err(Error::invalid("channels", "too_many"));
    }
    let mut c = state.db.acquire().await?;
    for id in &r.channels {
        let ch = db::alerts::channel(&mut c, *id).await?;
        let usable =
            ch.is_some_and(|ch| policy::authorize(owner, Action::AlertManage, Resource::User(ch.owner_id)).is_ok());
        if !usable {
            return Err(Error::Invalid {
                field: "channels",
                reason: "unknown",
                details: json!({ "id": id }),
            });
        }
    }
    Ok(())
}

async fn validate_scope(state: &AppState, owner: &Principal, metric: &str, s: &AlertScope) -> Result<()> {
    if !SCOPE_KINDS.contains(&s.kind.as_str()) {
        return Err(Error::invalid("scope", "unknown"));
    }
    let about_hosts = metric.starts_with("host_") || metric == "pool_usage_percent";
    if about_hosts && !watch_all(owner) {
        return Err(Error::invalid("metric", "not_yours"));
    }
    let fits = match metric {
        m if m.starts_with("vm_") => true,
        "task_failed" => matches!(s.kind.as_str(), "all" | "owner"),
        _ => matches!(s.kind.as_str(), "all" | "host"),
    };
    if !fits {
        return Err(Error::invalid("scope", "unknown"));
    }
    let id = s.id.as_deref().map(str::trim).unwrap_or_default();
    match s.kind.as_str() {
        "host" => {
            if !watch_all(owner) {
                return Err(Error::invalid("scope", "not_yours"));
            }
            let host: Option<i64> = match id.parse::<i64>() {
                Ok(h) => {
                    sqlx::query_scalar("SELECT id FROM hosts WHERE id = ?")
                        .bind(h)
                        .fetch_optional(&state.db)
                        .await?
                }
                Err(_) => None,
            };
            host.ok_or(Error::invalid("scope", "unknown"))?;
        }
        "vm" => {
            let rows = state.vm_list.rows().await?;
            let vm = rows.iter().find(|v| v.uuid == id);
            // Another user's VM does not exist for a user: the same answer as a VM that does not exist.
            if !vm.is_some_and(|v| owner.sees_vm(v.owner_id)) {
                return Err(Error::invalid("scope", "unknown"));
            }
        }
        "owner" => {
            let uid: i64 = id.parse().map_err(|_| Error::invalid("scope", "unknown"))?;
            if uid != owner.id && !watch_all(owner) {
                return Err(Error::invalid("scope", "not_yours"));
            }
        }
        "tag" => {
            let t = s.value.as_deref().unwrap_or_default();
            if t.is_empty() || t.chars().count() > 32 {
                return Err(Error::invalid("scope", "unknown"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn fields(r: &NewAlertRule, silenced_until: Option<i64>) -> RuleFields<'_> {
    let scope = AlertScope {
        kind: r.scope.kind.clone(),
        id: r.scope.id.as_ref().map(|s| s.trim().to_string()),
        value: r.scope.value.clone(),
    };
    RuleFields {
        name: r.name.trim(),
        metric: &r.metric,
        comparison: &r.comparison,
        threshold: r.threshold,
        for_seconds: r.for_seconds,
        scope: serde_json::to_string(&scope).unwrap_or_default(),
        severity: &r.severity,
        channels: serde_json::to_string(&r.channels).unwrap_or_default(),
        repeat_seconds: r.repeat_seconds,
        enabled: r.enabled,
        silenced_until,
    }
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<AlertRule>> {
    let p = caller.require()?;
    let all = policy::authorize(p, Action::AlertRead, Resource::User(0)).is_ok();
    let rows = db::alerts::rules(&state.db, if all { None } else { Some(p.id) }).await?;
    Ok(rows.iter().map(|r| r.to_api()).collect())
}

pub async fn create(state: &AppState, caller: &Caller, mut r: NewAlertRule) -> Result<AlertRule> {
    let p = caller.require()?;
    policy::authorize(p, Action::AlertManage, Resource::User(p.id))?;
    // A channel named twice would get every message twice.
    r.channels.sort_unstable();
    r.channels.dedup();
    validate(state, p, &r).await?;
    let mut tx = db::begin_write(&state.db).await?;
    // Counted in the write transaction: concurrent creations cannot all see room for one more.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_rules WHERE owner_id = ?")
        .bind(p.id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_RULES_PER_USER {
        return Err(Error::Invalid {
            field: "name",
            reason: "too_many",
            details: json!({ "max": MAX_RULES_PER_USER }),
        });
    }
    let id = db::alerts::insert_rule(&mut tx, p.id, &fields(&r, None), db::now_ms()).await?;
    let row = db::alerts::rule(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("alert_rule"))?;
    let details = json!({ "name": row.name, "metric": row.metric, "comparison": row.comparison,
        "threshold": row.threshold, "for_seconds": row.for_seconds, "scope": row.scope(), "channels": row.channel_ids() });
    audit::commit(tx, caller, "alert_rule.create", &format!("alert_rule:{id}"), &details).await?;
    Ok(row.to_api())
}

/// A rule the caller may see (others' rules do not exist for a user); `manage`: and may change.
async fn rule_for(state: &AppState, p: &Principal, id: i64, manage: bool) -> Result<db::alerts::RuleRow> {
    let row = {
        let mut c = state.db.acquire().await?;
        db::alerts::rule(&mut c, id).await?
    };
    let row = row.ok_or(Error::NotFound("alert_rule"))?;
    policy::authorize(p, Action::AlertRead, Resource::User(row.owner_id)).map_err(|_| Error::NotFound("alert_rule"))?;
    if manage {
        policy::authorize(p, Action::AlertManage, Resource::User(row.owner_id))?;
    }
    Ok(row)
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<AlertRule> {
    let p = caller.require()?;
    Ok(rule_for(state, p, id, false).await?.to_api())
}

pub async fn update(state: &AppState, caller: &Caller, id: i64, patch: AlertRulePatch) -> Result<AlertRule> {
    let p = caller.require()?;
    let row = rule_for(state, p, id, true).await?;
    let cur = row.to_api();
    let next = NewAlertRule {
        name: patch.name.clone().unwrap_or(cur.name),
        metric: cur.metric,
        comparison: patch.comparison.clone().unwrap_or(cur.comparison),
        threshold: patch.threshold.unwrap_or(cur.threshold),
        for_seconds: patch.for_seconds.unwrap_or(cur.for_seconds),
        scope: patch.scope.clone().unwrap_or(cur.scope),
        severity: patch.severity.clone().unwrap_or(cur.severity),
        channels: {
            let mut c = patch.channels.clone().unwrap_or(cur.channels);
            c.sort_unstable();
            c.dedup();
            c
        },
        repeat_seconds: patch.repeat_seconds.unwrap_or(cur.repeat_seconds),
        enabled: patch.enabled.unwrap_or(cur.enabled),
    };
    // The rule's owner decides what it may watch, whoever edits it.
    let owner = Principal {
        id: row.owner_id,
        username: row.owner.clone(),
        role: app::api::Role::parse(&row.owner_role).unwrap_or(app::api::Role::User),
        via_token: false,
    };
    validate(state, &owner, &next).await?;
    let silenced_until = match patch.silence_seconds {
        None => cur.silenced_until,
        Some(0) => None,
        Some(s) if (1..=30 * 86_400).contains(&s) => Some(db::now_ms() + s * 1000),
        Some(_) => {
            return Err(Error::Invalid {
                field: "silence_seconds",
                reason: "out_of_range",
                details: json!({ "min": 0, "max": 30 * 86_400 }),
            })
        }
    };
    let mut tx = db::begin_write(&state.db).await?;
    db::alerts::update_rule(&mut tx, id, &fields(&next, silenced_until)).await?;
    let row = db::alerts::rule(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("alert_rule"))?;
    let details = serde_json::to_value(&patch).unwrap_or_default();
    audit::commit(tx, caller, "alert_rule.update", &format!("alert_rule:{id}"), &details).await?;
    Ok(row.to_api())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let p = caller.require()?;
    let row = rule_for(state, p, id, true).await?;
    let mut tx = db::begin_write(&state.db).await?;
    db::alerts::delete_rule(&mut tx, id).await?;
    audit::commit(
        tx,
        caller,
        "alert_rule.delete",
        &format!("alert_rule:{id}"),
        &json!({ "name": row.name }),
    )
    .await
}

/// Alerts the caller may see: all for those who read every account's alerts, else those of their rules or
/// about their VMs.
pub async fn alerts(state: &AppState, caller: &Caller, q: &AlertQuery) -> Result<AlertPage> {
    let p = caller.require()?;
    let all = policy::authorize(p, Action::AlertRead, Resource::User(0)).is_ok();
    let states: &[&str] = match q.state.as_deref().unwrap_or("") {
        "" => &["pending", "firing", "resolved"],
        "active" => &["pending", "firing"],
        "pending" => &["pending"],
        "firing" => &["firing"],
        "resolved" => &["resolved"],
        _ => return Err(Error::invalid("state", "unknown")),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let rows = db::alerts::page(
        &state.db,
        &db::alerts::AlertFilter {
            states,
            rule: q.rule,
            vm: q.vm.as_deref(),
            severity: q.severity.as_deref(),
            before: q.before,
            limit: limit + 1,
            viewer: if all { None } else { Some(p.id) },
        },
    )
    .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let deliveries = db::alerts::deliveries_of_alerts(&state.db, &ids).await?;
    // A VM's owner sees alerts of others' rules about it, not where those rules send their notifications.
    let items: Vec<Alert> = rows
        .iter()
        .map(|a| {
            let shown = all || a.rule_owner == p.id;
            let d = deliveries
                .iter()
                .filter(|d| shown && d.alert_id == Some(a.id))
                .map(|d| d.to_api())
                .collect();
            a.to_api(d)
        })
        .collect();
    Ok(AlertPage {
        next_before: if more { items.last().map(|a| a.id) } else { None },
        items,
    })
}

/// Silences (or, with 0, un-silences) notifications about one VM, for whoever may operate it.
pub async fn silence_vm(state: &AppState, caller: &Caller, uuid: &str, seconds: i64) -> Result<VmSilenced> {
    let p = caller.require()?;
    let vm = super::vms::visible(state, p, uuid, Action::VmOperate).await?;
    let until = match seconds {
        0 => None,
        s if (1..=30 * 86_400).contains(&s) => Some(db::now_ms() + s * 1000),
        _ => {
            return Err(Error::Invalid {
                field: "seconds",
                reason: "out_of_range",
                details: json!({ "min": 0, "max": 30 * 86_400 }),
            })
        }
    };
    // An operator's or admin's silence covers every rule; anyone else's only their own rules.
    let all_rules = watch_all(p);
    let mut tx = db::begin_write(&state.db).await?;
    db::alerts::set_vm_silence(&mut tx, &vm.uuid, p.id, all_rules, until).await?;
    audit::commit(
        tx,
        caller,
        "vm.alert_silence",
        &format!("vm:{}", vm.uuid),
        &json!({ "seconds": seconds }),
    )
    .await?;
    Ok(VmSilenced {
        vm_id: vm.uuid,
        silenced_until: until,
    })
}

/// Acknowledges an alert: no more repeats; a failed task's alert is done with.
pub async fn acknowledge(state: &AppState, caller: &Caller, id: i64) -> Result<Alert> {
    let p = caller.require()?;
    let mut tx = db::begin_write(&state.db).await?;
    let a = db::alerts::alert(&mut tx, id).await?.ok_or(Error::NotFound("alert"))?;
    // Seeing an alert about one's VM is not owning the rule: only its owner (or an admin) stops its repeats.
    let sees =
        a.vm_owner == Some(p.id) || policy::authorize(p, Action::AlertRead, Resource::User(a.rule_owner)).is_ok();
    if !sees {
        return Err(Error::NotFound("alert"));
    }
    policy::authorize(p, Action::AlertManage, Resource::User(a.rule_owner))?;
    let now = db::now_ms();
    if !db::alerts::acknowledge(&mut tx, id, &p.username, now).await? {
        return Err(Error::InvalidState("acknowledged".into()));
    }
    let a = db::alerts::alert(&mut tx, id).await?.ok_or(Error::NotFound("alert"))?;
    audit::commit(
        tx,
        caller,
        "alert.acknowledge",
        &format!("alert:{id}"),
        &json!({ "rule": a.rule_name }),
    )
    .await?;
    Ok(a.to_api(Vec::new()))
}
