//! Queries on `alert_rules`, `alerts`, `vm_alert_silences`, `notification_channels` and
//! `notification_deliveries`.
use app::api::{Alert, AlertRule, AlertScope, Channel, Delivery};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: i64,
    pub owner_id: i64,
    pub owner: String,
    pub owner_role: String,
    pub owner_disabled: bool,
    pub name: String,
    pub metric: String,
    pub comparison: String,
    pub threshold: f64,
    pub for_seconds: i64,
    pub scope: String,
    pub severity: String,
    pub channels: String,
    pub repeat_seconds: i64,
    pub enabled: bool,
    pub silenced_until: Option<i64>,
    pub created_at: i64,
}

impl RuleRow {
    pub fn scope(&self) -> AlertScope {
        serde_json::from_str(&self.scope).unwrap_or(AlertScope {
            kind: "vm".into(),
            id: Some(String::new()),
            value: None,
        })
    }

    pub fn channel_ids(&self) -> Vec<i64> {
        serde_json::from_str(&self.channels).unwrap_or_default()
    }

    pub fn to_api(&self) -> AlertRule {
        AlertRule {
            id: self.id,
            name: self.name.clone(),
            metric: self.metric.clone(),
            comparison: self.comparison.clone(),
            threshold: self.threshold,
            for_seconds: self.for_seconds,
            scope: self.scope(),
            severity: self.severity.clone(),
            channels: self.channel_ids(),
            repeat_seconds: self.repeat_seconds,
            enabled: self.enabled,
            silenced_until: self.silenced_until,
            owner_id: self.owner_id,
            owner: self.owner.clone(),
            created_at: self.created_at,
        }
    }
}

const RULE_SELECT: &str = "SELECT r.id, r.owner_id, u.username AS owner, u.role AS owner_role,
    u.disabled AS owner_disabled, r.name, r.metric, r.comparison, r.threshold, r.for_seconds, r.scope, r.severity,
    r.channels, r.repeat_seconds, r.enabled, r.silenced_until, r.created_at
    FROM alert_rules r JOIN users u ON u.id = r.owner_id";

pub async fn rules(db: &SqlitePool, owner: Option<i64>) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as(&format!(
        "{RULE_SELECT} WHERE (?1 IS NULL OR r.owner_id = ?1) ORDER BY r.id"
    ))
    .bind(owner)
    .fetch_all(db)
    .await
}

pub async fn rule(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as(&format!("{RULE_SELECT} WHERE r.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The columns a rule is saved with.
pub struct RuleFields<'a> {
    pub name: &'a str,
    pub metric: &'a str,
    pub comparison: &'a str,
    pub threshold: f64,
    pub for_seconds: i64,
    pub scope: String,
    pub severity: &'a str,
    pub channels: String,
    pub repeat_seconds: i64,
    pub enabled: bool,
    pub silenced_until: Option<i64>,
}

pub async fn insert_rule(conn: &mut SqliteConnection, owner: i64, f: &RuleFields<'_>, now: i64) -> sqlx::Result<i64> {
    let r = sqlx::query(
        "INSERT INTO alert_rules (owner_id, name, metric, comparison, threshold, for_seconds, scope, severity,
            channels, repeat_seconds, enabled, silenced_until, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(owner)
    .bind(f.name)
    .bind(f.metric)
    .bind(f.comparison)
    .bind(f.threshold)
    .bind(f.for_seconds)
    .bind(&f.scope)
    .bind(f.severity)
    .bind(&f.channels)
    .bind(f.repeat_seconds)
    .bind(f.enabled)
    .bind(f.silenced_until)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_rowid())
}

pub async fn update_rule(conn: &mut SqliteConnection, id: i64, f: &RuleFields<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE alert_rules SET name = ?, metric = ?, comparison = ?, threshold = ?, for_seconds = ?, scope = ?,
            severity = ?, channels = ?, repeat_seconds = ?, enabled = ?, silenced_until = ? WHERE id = ?",
    )
    .bind(f.name)
    .bind(f.metric)
    .bind(f.comparison)
    .bind(f.threshold)
    .bind(f.for_seconds)
    .bind(&f.scope)
    .bind(f.severity)
    .bind(&f.channels)
    .bind(f.repeat_seconds)
    .bind(f.enabled)
    .bind(f.silenced_until)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_rule(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM alert_rules WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub rule_owner: i64,
    pub metric: String,
    pub severity: String,
    pub target_kind: String,
    pub target_id: String,
    pub target_name: String,
    pub vm_uuid: Option<String>,
    pub vm_owner: Option<i64>,
    pub state: String,
    pub value: f64,
    pub peak: f64,
    pub threshold: f64,
    pub comparison: String,
    pub started_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub notified_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
}

impl AlertRow {
    pub fn to_api(&self, deliveries: Vec<Delivery>) -> Alert {
        Alert {
            id: self.id,
            rule_id: self.rule_id,
            rule: self.rule_name.clone(),
            metric: self.metric.clone(),
            severity: self.severity.clone(),
            target_kind: self.target_kind.clone(),
            target_id: self.target_id.clone(),
            target_name: self.target_name.clone(),
            state: self.state.clone(),
            value: self.value,
            peak: self.peak,
            threshold: self.threshold,
            comparison: self.comparison.clone(),
            started_at: self.started_at,
            fired_at: self.fired_at,
            resolved_at: self.resolved_at,
            acknowledged_by: self.acknowledged_by.clone(),
            acknowledged_at: self.acknowledged_at,
            deliveries,
        }
    }
}

const ALERT_COLS: &str = "id, rule_id, rule_name, rule_owner, metric, severity, target_kind, target_id, target_name,
    vm_uuid, vm_owner, state, value, peak, threshold, comparison, started_at, fired_at, resolved_at, notified_at,
    acknowledged_by, acknowledged_at";

/// Alerts pending or firing.
pub async fn active(db: &SqlitePool) -> sqlx::Result<Vec<AlertRow>> {
    sqlx::query_as(&format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE state IN ('pending', 'firing')"
    ))
    .fetch_all(db)
    .await
}

pub async fn alert(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<AlertRow>> {
    sqlx::query_as(&format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Filters for a page of alerts; `viewer`: only alerts of the viewer's rules or about the viewer's VMs.
pub struct AlertFilter<'a> {
    pub states: &'a [&'a str],
    pub rule: Option<i64>,
    pub vm: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub before: Option<i64>,
    pub limit: i64,
    pub viewer: Option<i64>,
}

pub async fn page(db: &SqlitePool, f: &AlertFilter<'_>) -> sqlx::Result<Vec<AlertRow>> {
    let states = serde_json::to_string(f.states).unwrap_or_default();
    sqlx::query_as(&format!(
        "SELECT {ALERT_COLS} FROM alerts
         WHERE state IN (SELECT value FROM json_each(?1))
           AND (?2 IS NULL OR rule_id = ?2) AND (?3 IS NULL OR vm_uuid = ?3) AND (?4 IS NULL OR severity = ?4)
           AND (?5 IS NULL OR id < ?5) AND (?6 IS NULL OR rule_owner = ?6 OR vm_owner = ?6)
         ORDER BY id DESC LIMIT ?7"
    ))
    .bind(states)
    .bind(f.rule)
    .bind(f.vm)
    .bind(f.severity)
    .bind(f.before)
    .bind(f.viewer)
    .bind(f.limit)
    .fetch_all(db)
    .await
}

pub async fn insert_alert(conn: &mut SqliteConnection, a: &AlertRow) -> sqlx::Result<i64> {
    let r = sqlx::query(
        "INSERT INTO alerts (rule_id, rule_name, rule_owner, metric, severity, target_kind, target_id, target_name,
            vm_uuid, vm_owner, state, value, peak, threshold, comparison, started_at, fired_at, notified_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(a.rule_id)
    .bind(&a.rule_name)
    .bind(a.rule_owner)
    .bind(&a.metric)
    .bind(&a.severity)
    .bind(&a.target_kind)
    .bind(&a.target_id)
    .bind(&a.target_name)
    .bind(&a.vm_uuid)
    .bind(a.vm_owner)
    .bind(&a.state)
    .bind(a.value)
    .bind(a.peak)
    .bind(a.threshold)
    .bind(&a.comparison)
    .bind(a.started_at)
    .bind(a.fired_at)
    .bind(a.notified_at)
    .execute(conn)
    .await?;
    Ok(r.last_insert_rowid())
}

/// Saves an alert's moving parts (state, value, peak, times). Not its acknowledgement: that is written by
/// `acknowledge` alone, so a round working from an older copy cannot undo one.
pub async fn save_alert(conn: &mut SqliteConnection, a: &AlertRow) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE alerts SET state = ?, value = ?, peak = ?, fired_at = ?, resolved_at = ?, notified_at = ?
         WHERE id = ?",
    )
    .bind(&a.state)
    .bind(a.value)
    .bind(a.peak)
    .bind(a.fired_at)
    .bind(a.resolved_at)
    .bind(a.notified_at)
    .bind(a.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Acknowledges an alert once; a failed task's firing alert is resolved by it. False: already acknowledged.
pub async fn acknowledge(conn: &mut SqliteConnection, id: i64, by: &str, at: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?,
            state = CASE WHEN target_kind = 'task' AND state = 'firing' THEN 'resolved' ELSE state END,
            resolved_at = CASE WHEN target_kind = 'task' AND state = 'firing' THEN ? ELSE resolved_at END
         WHERE id = ? AND acknowledged_at IS NULL",
    )
    .bind(by)
    .bind(at)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A pending alert whose condition stopped holding before it fired: it never was an alert.
pub async fn drop_pending(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM alerts WHERE id = ? AND state = 'pending'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Silences in force now: (VM, who set it, whether it covers every rule).
pub async fn vm_silences(db: &SqlitePool, now: i64) -> sqlx::Result<Vec<(String, i64, bool)>> {
    sqlx::query_as("SELECT vm_uuid, set_by, all_rules FROM vm_alert_silences WHERE until > ?")
        .bind(now)
        .fetch_all(db)
        .await
}

/// Sets (or with `None`, lifts) the silence `set_by` put on a VM.
pub async fn set_vm_silence(
    conn: &mut SqliteConnection,
    uuid: &str,
    set_by: i64,
    all_rules: bool,
    until: Option<i64>,
) -> sqlx::Result<()> {
    match until {
        Some(u) => {
            sqlx::query(
                "INSERT OR REPLACE INTO vm_alert_silences (vm_uuid, set_by, all_rules, until) VALUES (?, ?, ?, ?)",
            )
            .bind(uuid)
            .bind(set_by)
            .bind(all_rules)
            .bind(u)
            .execute(conn)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM vm_alert_silences WHERE vm_uuid = ? AND set_by = ?")
                .bind(uuid)
                .bind(set_by)
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub owner_id: i64,
    pub owner: String,
    pub name: String,
    pub kind: String,
    pub config_sealed: String,
    pub target: String,
    pub has_secret: bool,
    pub language: String,
    pub created_at: i64,
}

impl ChannelRow {
    pub fn to_api(&self) -> Channel {
        Channel {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            target: self.target.clone(),
            has_secret: self.has_secret,
            language: self.language.clone(),
            owner_id: self.owner_id,
            owner: self.owner.clone(),
            created_at: self.created_at,
        }
    }
}

const CHANNEL_SELECT: &str = "SELECT c.id, c.owner_id, u.username AS owner, c.name, c.kind, c.config_sealed,
    c.target, c.has_secret, c.language, c.created_at FROM notification_channels c JOIN users u ON u.id = c.owner_id";

pub async fn channels(db: &SqlitePool, owner: Option<i64>) -> sqlx::Result<Vec<ChannelRow>> {
    sqlx::query_as(&format!(
        "{CHANNEL_SELECT} WHERE (?1 IS NULL OR c.owner_id = ?1) ORDER BY c.id"
    ))
    .bind(owner)
    .fetch_all(db)
    .await
}

pub async fn channel(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<ChannelRow>> {
    sqlx::query_as(&format!("{CHANNEL_SELECT} WHERE c.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A channel's saved columns.
pub struct ChannelFields<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub config_sealed: &'a str,
    pub target: &'a str,
    pub has_secret: bool,
    pub language: &'a str,
}

pub async fn insert_channel(
    conn: &mut SqliteConnection,
    owner: i64,
    f: &ChannelFields<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    let r = sqlx::query(
        "INSERT INTO notification_channels (owner_id, name, kind, config_sealed, target, has_secret, language,
            created_at) VALUES (?,?,?,?,?,?,?,?)",
    )
    .bind(owner)
    .bind(f.name)
    .bind(f.kind)
    .bind(f.config_sealed)
    .bind(f.target)
    .bind(f.has_secret)
    .bind(f.language)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_rowid())
}

pub async fn update_channel(conn: &mut SqliteConnection, id: i64, f: &ChannelFields<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notification_channels SET name = ?, config_sealed = ?, target = ?, has_secret = ?, language = ?
         WHERE id = ?",
    )
    .bind(f.name)
    .bind(f.config_sealed)
    .bind(f.target)
    .bind(f.has_secret)
    .bind(f.language)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_channel(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM notification_channels WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub channel_id: i64,
    pub channel_name: String,
    pub event: String,
    pub status: String,
    pub attempts: i64,
    pub response: String,
    pub message: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DeliveryRow {
    pub fn to_api(&self) -> Delivery {
        Delivery {
            id: self.id,
            alert_id: self.alert_id,
            channel_id: self.channel_id,
            channel: self.channel_name.clone(),
            event: self.event.clone(),
            status: self.status.clone(),
            attempts: self.attempts,
            response: self.response.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const DELIVERY_COLS: &str =
    "id, alert_id, channel_id, channel_name, event, status, attempts, response, message, created_at, updated_at";

pub async fn insert_delivery(
    conn: &mut SqliteConnection,
    alert_id: Option<i64>,
    channel: (i64, &str),
    event: &str,
    message: &str,
    now: i64,
) -> sqlx::Result<i64> {
    let r = sqlx::query(
        "INSERT INTO notification_deliveries (alert_id, channel_id, channel_name, event, status, message,
            created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(alert_id)
    .bind(channel.0)
    .bind(channel.1)
    .bind(event)
    .bind(message)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.last_insert_rowid())
}

pub async fn delivery(db: &SqlitePool, id: i64) -> sqlx::Result<Option<DeliveryRow>> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLS} FROM notification_deliveries WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn pending_deliveries(db: &SqlitePool) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLS} FROM notification_deliveries WHERE status = 'pending' ORDER BY id"
    ))
    .fetch_all(db)
    .await
}

pub async fn record_attempt(db: &SqlitePool, id: i64, status: &str, response: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notification_deliveries SET status = ?, attempts = attempts + 1, response = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(status)
    .bind(response)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn deliveries_of_alerts(db: &SqlitePool, ids: &[i64]) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLS} FROM notification_deliveries
         WHERE alert_id IN (SELECT value FROM json_each(?)) ORDER BY id"
    ))
    .bind(serde_json::to_string(ids).unwrap_or_default())
    .fetch_all(db)
    .await
}

pub async fn deliveries_of_channel(db: &SqlitePool, channel: i64, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLS} FROM notification_deliveries WHERE channel_id = ? ORDER BY id DESC LIMIT ?"
    ))
    .bind(channel)
    .bind(limit)
    .fetch_all(db)
    .await
}
