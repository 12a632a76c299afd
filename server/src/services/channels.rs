//! Notification channels as the API sees them: validated configurations sealed before they are stored, secrets
//! never given back (nor logged, nor audited), webhook targets checked against private addresses, test messages.
use super::{audit, validate};
use crate::auth::{policy, Action, Caller, Principal, Resource};
use crate::db::{self, alerts::ChannelFields, alerts::ChannelRow};
use crate::error::{Error, Result};
use crate::services::deliver;
use crate::services::notify::Message;
use crate::services::notify::{self, ChannelConfig};
use crate::state::AppState;
use app::api::{Channel, ChannelPatch, Delivery, NewChannel, TestResult, CHANNEL_KINDS};
use serde_json::json;

const MAX_CHANNELS_PER_USER: i64 = 50;

/// Refuses a URL at a private address (unless allowed) before anything is saved.
async fn check_target(state: &AppState, c: &ChannelConfig) -> Result<()> {
    if let Some(url) = c.url() {
        notify::check_url(
            url,
            state.config.notifications.allow_private_webhooks,
            &state.deliverer.own_addrs(),
        )
        .await?;
    }
    Ok(())
}

fn seal(state: &AppState, c: &ChannelConfig) -> Result<String> {
    let plain = serde_json::to_vec(c).map_err(|e| Error::Internal(e.into()))?;
    Ok(state.deliverer.secrets.seal(&plain))
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<Channel>> {
    let p = caller.require()?;
    let all = policy::authorize(p, Action::AlertRead, Resource::User(0)).is_ok();
    let rows = db::alerts::channels(&state.db, if all { None } else { Some(p.id) }).await?;
    Ok(rows.iter().map(|c| c.to_api()).collect())
}

/// A channel the caller may see (others' do not exist for a user); `manage`: and may change.
async fn channel_for(state: &AppState, p: &Principal, id: i64, manage: bool) -> Result<ChannelRow> {
    let row = {
        let mut c = state.db.acquire().await?;
        db::alerts::channel(&mut c, id).await?
    };
    let row = row.ok_or(Error::NotFound("notification_channel"))?;
    policy::authorize(p, Action::AlertRead, Resource::User(row.owner_id))
        .map_err(|_| Error::NotFound("notification_channel"))?;
    if manage {
        policy::authorize(p, Action::AlertManage, Resource::User(row.owner_id))?;
    }
    Ok(row)
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<Channel> {
    let p = caller.require()?;
    Ok(channel_for(state, p, id, false).await?.to_api())
}

pub async fn create(state: &AppState, caller: &Caller, c: NewChannel) -> Result<Channel> {
    let p = caller.require()?;
    policy::authorize(p, Action::AlertManage, Resource::User(p.id))?;
    validate::label(&c.name)?;
    if !CHANNEL_KINDS.contains(&c.kind.as_str()) {
        return Err(Error::invalid("kind", "unknown_kind"));
    }
    let language = match c.language.as_deref() {
        Some(l) => l.to_string(),
        None => {
            let l: Option<String> = sqlx::query_scalar("SELECT language FROM users WHERE id = ?")
                .bind(p.id)
                .fetch_optional(&state.db)
                .await?;
            if l.as_deref() == Some("zh-CN") { "zh-CN" } else { "en" }.to_string()
        }
    };
    validate::language(&language)?;
    let config = notify::parse_config(&c.kind, &c.config, None)?;
    check_target(state, &config).await?;
    let sealed = seal(state, &config)?;
    let target = config.target();
    let mut tx = db::begin_write(&state.db).await?;
    // Counted in the write transaction: concurrent creations cannot all see room for one more.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notification_channels WHERE owner_id = ?")
        .bind(p.id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_CHANNELS_PER_USER {
        return Err(Error::Invalid {
            field: "name",
            reason: "too_many",
            details: json!({ "max": MAX_CHANNELS_PER_USER }),
        });
    }
    let f = ChannelFields {
        name: c.name.trim(),
        kind: config.kind(),
        config_sealed: &sealed,
        target: &target,
        has_secret: config.has_secret(),
        language: &language,
    };
    let id = db::alerts::insert_channel(&mut tx, p.id, &f, db::now_ms()).await?;
    let row = db::alerts::channel(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("notification_channel"))?;
    // The audit keeps what may be shown: never the configuration itself.
    let details = json!({ "name": row.name, "kind": row.kind, "target": row.target, "language": row.language });
    audit::commit(
        tx,
        caller,
        "notification_channel.create",
        &format!("notification_channel:{id}"),
        &details,
    )
    .await?;
    Ok(row.to_api())
}

pub async fn update(state: &AppState, caller: &Caller, id: i64, patch: ChannelPatch) -> Result<Channel> {
    let p = caller.require()?;
    let row = channel_for(state, p, id, true).await?;
    let name = patch.name.clone().unwrap_or(row.name.clone());
    validate::label(&name)?;
    let language = patch.language.clone().unwrap_or(row.language.clone());
    validate::language(&language)?;
    let config = match &patch.config {
        Some(v) => {
            let old = state.deliverer.config(&row)?;
            let c = notify::parse_config(&row.kind, v, Some(&old))?;
            check_target(state, &c).await?;
            c
        }
        None => state.deliverer.config(&row)?,
    };
    let sealed = seal(state, &config)?;
    let target = config.target();
    let mut tx = db::begin_write(&state.db).await?;
    let f = ChannelFields {
        name: name.trim(),
        kind: config.kind(),
        config_sealed: &sealed,
        target: &target,
        has_secret: config.has_secret(),
        language: &language,
    };
    db::alerts::update_channel(&mut tx, id, &f).await?;
    let row = db::alerts::channel(&mut tx, id)
        .await?
        .ok_or(Error::NotFound("notification_channel"))?;
    let details = json!({ "name": row.name, "target": row.target, "language": row.language,
        "config_changed": patch.config.is_some() });
    audit::commit(
        tx,
        caller,
        "notification_channel.update",
        &format!("notification_channel:{id}"),
        &details,
    )
    .await?;
    Ok(row.to_api())
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let p = caller.require()?;
    let row = channel_for(state, p, id, true).await?;
    let mut tx = db::begin_write(&state.db).await?;
    db::alerts::delete_channel(&mut tx, id).await?;
    audit::commit(
        tx,
        caller,
        "notification_channel.delete",
        &format!("notification_channel:{id}"),
        &json!({ "name": row.name, "kind": row.kind }),
    )
    .await
}

/// Sends a test message now; the answer of the first attempt comes back (retries continue in the background).
pub async fn test(state: &AppState, caller: &Caller, id: i64) -> Result<TestResult> {
    let p = caller.require()?;
    let row = channel_for(state, p, id, true).await?;
    let note = Message {
        status: "test".into(),
        rule: "test".into(),
        severity: "info".into(),
        metric: "vm_cpu_percent".into(),
        target_kind: "channel".into(),
        target_id: id.to_string(),
        target_name: row.name.clone(),
        value: 0.0,
        threshold: 0.0,
        comparison: "gt".into(),
        started_at: db::now_ms(),
        link: "/alerts/channels".into(),
        language: row.language.clone(),
    };
    let did = deliver::test(state, &row, &note).await?;
    let d = db::alerts::delivery(&state.db, did)
        .await?
        .ok_or(Error::NotFound("delivery"))?;
    audit::record_alone(
        state,
        caller,
        "notification_channel.test",
        Some(&format!("notification_channel:{id}")),
        audit::Outcome::Ok,
        &json!({ "status": d.status }),
    )
    .await?;
    Ok(TestResult { delivery: d.to_api() })
}

pub async fn deliveries(state: &AppState, caller: &Caller, id: i64) -> Result<Vec<Delivery>> {
    let p = caller.require()?;
    channel_for(state, p, id, false).await?;
    Ok(db::alerts::deliveries_of_channel(&state.db, id, 100)
        .await?
        .iter()
        .map(|d| d.to_api())
        .collect())
}
