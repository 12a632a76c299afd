//! Delivering notifications: each is a row first (so a crash loses none: pending rows are sent again at start),
//! then attempts through its channel with back-off (`notifications.retry_seconds`), a bounded number at once,
//! each attempt's answer logged on the row. Never on the collection's path.
use crate::db::{self, alerts::ChannelRow};
use crate::error::{Error, Result};
use crate::services::notify::{self, ChannelConfig, Message};
use crate::state::AppState;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// Deliveries attempted at once.
const AT_ONCE: usize = 16;
/// Test messages attempted at once (in all).
const TESTS_AT_ONCE: usize = 2;

/// The queue of deliveries to attempt: (delivery id, attempts already made).
pub struct Deliverer {
    tx: mpsc::UnboundedSender<(i64, usize)>,
    rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<(i64, usize)>>>,
    /// Hangar's own addresses, which webhooks may not point at (the first is where it serves the UI).
    pub own: std::sync::RwLock<Vec<std::net::SocketAddr>>,
    pub secrets: crate::services::secrets::SecretBox,
    /// Attempts of queued deliveries in flight.
    permits: Arc<Semaphore>,
    /// Test messages in flight: apart, so that testing a dead address never delays an alert's notification.
    test_permits: Semaphore,
}

impl Deliverer {
    pub fn new(secrets: crate::services::secrets::SecretBox) -> Deliverer {
        let (tx, rx) = mpsc::unbounded_channel();
        Deliverer {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
            own: Default::default(),
            secrets,
            permits: Arc::new(Semaphore::new(AT_ONCE)),
            test_permits: Semaphore::new(TESTS_AT_ONCE),
        }
    }

    pub fn own_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.own.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The channel's configuration, unsealed.
    pub fn config(&self, c: &ChannelRow) -> Result<ChannelConfig> {
        let plain = self.secrets.open(&c.config_sealed).map_err(Error::Internal)?;
        serde_json::from_slice(&plain).map_err(|e| Error::Internal(e.into()))
    }
}

/// Writes a pending delivery of `note` to `channel` and hands it to the worker.
pub async fn queue(state: &AppState, alert: Option<i64>, channel: &ChannelRow, note: &Message) -> Result<i64> {
    let id = insert(state, alert, channel, note).await?;
    let _ = state.deliverer.tx.send((id, 0));
    Ok(id)
}

async fn insert(state: &AppState, alert: Option<i64>, channel: &ChannelRow, note: &Message) -> Result<i64> {
    let msg = serde_json::to_string(note).map_err(|e| Error::Internal(e.into()))?;
    let mut c = state.db.acquire().await?;
    Ok(db::alerts::insert_delivery(
        &mut c,
        alert,
        (channel.id, &channel.name),
        &note.status,
        &msg,
        db::now_ms(),
    )
    .await?)
}

/// One attempt of a delivery; records its answer. Returns whether it was sent.
async fn attempt(state: &AppState, id: i64, attempts_before: usize) -> Result<bool> {
    let Some(row) = db::alerts::delivery(&state.db, id).await? else {
        return Ok(true);
    };
    let channel = {
        let mut c = state.db.acquire().await?;
        db::alerts::channel(&mut c, row.channel_id).await?
    };
    let retries = state.config.notifications.retry_seconds.len();
    let Some(channel) = channel else {
        db::alerts::record_attempt(&state.db, id, "failed", "the channel was deleted", db::now_ms()).await?;
        return Ok(true);
    };
    // Kept with a path for its link (`/vms/…`): made absolute with `notifications.public_url` when sent.
    let mut msg: Message = serde_json::from_str(&row.message).map_err(|e| Error::Internal(e.into()))?;
    let config = state.deliverer.config(&channel)?;
    let public = match &state.config.notifications.public_url {
        Some(u) => u.clone(),
        None => state
            .deliverer
            .own_addrs()
            .first()
            .map_or_else(|| "http://127.0.0.1:8080".to_string(), |a| format!("http://{a}")),
    };
    msg.link = format!("{}{}", public.trim_end_matches('/'), msg.link);
    let own = state.deliverer.own_addrs();
    let result = notify::send(&state.config.notifications, &own, &config, &msg).await;
    let (status, answer, sent) = match result {
        Ok(a) => ("sent", a, true),
        Err(a) if attempts_before < retries => ("pending", a, false),
        Err(a) => ("failed", a, false),
    };
    let answer: String = answer.chars().take(1000).collect();
    db::alerts::record_attempt(&state.db, id, status, &answer, db::now_ms()).await?;
    if !sent {
        tracing::info!(
            delivery = id,
            channel = channel.id,
            status,
            "notification not delivered"
        );
    }
    Ok(sent || status == "failed")
}

/// Sends a test message through a channel: one attempt, now, whose answer is the result (no retries: the person
/// testing is waiting for it).
pub async fn test(state: &AppState, channel: &ChannelRow, note: &Message) -> Result<i64> {
    // A turn first: test messages to a dead address must not pile up requests each waiting out a timeout.
    let permit = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        state.deliverer.test_permits.acquire(),
    )
    .await
    .map_err(|_| Error::NotifyBusy { retry_after: 10 })?
    .map_err(|e| Error::Internal(e.into()))?;
    let id = insert(state, None, channel, note).await?;
    let last = state.config.notifications.retry_seconds.len();
    let done = attempt(state, id, last).await;
    drop(permit);
    done?;
    Ok(id)
}

/// Runs forever: attempts queued deliveries (those pending from before a restart first), retrying with back-off.
pub async fn run(state: AppState) {
    let Some(mut rx) = state.deliverer.rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    match db::alerts::pending_deliveries(&state.db).await {
        Ok(rows) => {
            for r in rows {
                let _ = state.deliverer.tx.send((r.id, r.attempts.max(0) as usize));
            }
        }
        Err(e) => tracing::warn!(error = %e, "pending notifications not resumed"),
    }
    let permits = state.deliverer.permits.clone();
    while let Some((id, done)) = rx.recv().await {
        let st = state.clone();
        let permits = permits.clone();
        tokio::spawn(async move {
            let delays = st.config.notifications.retry_seconds.clone();
            let mut n = done;
            loop {
                if n > 0 {
                    let wait = delays.get(n - 1).copied().unwrap_or(60);
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                let Ok(permit) = permits.acquire().await else { return };
                let finished = attempt(&st, id, n).await;
                drop(permit);
                match finished {
                    Ok(true) => return,
                    Ok(false) => n += 1,
                    Err(e) => {
                        // Hangar's own trouble (the database, an unreadable channel): logged on the row too, so
                        // the row does not stay pending for ever.
                        tracing::warn!(delivery = id, error = %e, "notification attempt failed");
                        n += 1;
                        let status = if n > delays.len() { "failed" } else { "pending" };
                        let _ =
                            db::alerts::record_attempt(&st.db, id, status, "Hangar could not send it", db::now_ms())
                                .await;
                    }
                }
                if n > delays.len() {
                    return;
                }
            }
        });
    }
}
