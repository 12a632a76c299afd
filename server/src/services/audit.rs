//! The audit log: one record per changing request, written with the change or, for refusals, by the layer.
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, audit::NewRecord};
use crate::error::{Error, Result};
use crate::state::AppState;
use app::api::{AuditEntry, AuditPage, AuditQuery};
use serde_json::Value;
use sqlx::SqliteConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Per-request state shared between the audit layer and the service that handles the request.
#[derive(Default, Debug)]
pub struct AuditSlot {
    written: AtomicBool,
    actor: Mutex<Option<(i64, String)>>,
}

impl AuditSlot {
    pub fn set_actor(&self, id: i64, name: &str) {
        *self.actor.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, name.to_string()));
    }
    pub fn actor(&self) -> Option<(i64, String)> {
        self.actor.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn mark_written(&self) {
        self.written.store(true, Ordering::SeqCst);
    }
    pub fn is_written(&self) -> bool {
        self.written.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=399 => Outcome::Ok,
            401 | 403 | 429 => Outcome::Denied,
            _ => Outcome::Failed,
        }
    }
}

/// Writes a record inside the caller's transaction; call `caller.slot.mark_written()` once it commits.
pub async fn record(
    conn: &mut SqliteConnection,
    caller: &Caller,
    action: &str,
    target: Option<&str>,
    outcome: Outcome,
    details: &Value,
) -> Result<()> {
    let actor = caller.slot.actor();
    db::audit::insert(
        conn,
        &NewRecord {
            actor_id: actor.as_ref().map(|a| a.0),
            actor: actor.as_ref().map(|a| a.1.as_str()),
            source: Some(&caller.source),
            action,
            target,
            result: outcome.as_str(),
            details,
        },
    )
    .await?;
    Ok(())
}

/// Records the success of a change in its transaction, commits both, and marks the request audited.
pub async fn commit(tx: crate::db::Tx, caller: &Caller, action: &str, target: &str, details: &Value) -> Result<()> {
    let mut tx = tx;
    record(&mut tx, caller, action, Some(target), Outcome::Ok, details).await?;
    tx.commit().await?;
    caller.slot.mark_written();
    Ok(())
}

/// Writes a record on its own (for outcomes that change nothing else) and marks the request audited.
pub async fn record_alone(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: Option<&str>,
    outcome: Outcome,
    details: &Value,
) -> Result<()> {
    let mut conn = state.db.acquire().await?;
    record(&mut conn, caller, action, target, outcome, details).await?;
    caller.slot.mark_written();
    Ok(())
}

fn parse_time(field: &'static str, s: &Option<String>) -> Result<Option<i64>> {
    let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Some(ms));
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).or_else(|_| {
        // What an HTML datetime-local input sends, read as UTC like every time the UI shows.
        let fmt = if s.len() == 16 {
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]")
        } else {
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")
        };
        time::PrimitiveDateTime::parse(s, &fmt).map(|p| p.assume_utc())
    });
    let t = t.map_err(|_| Error::invalid(field, "not_a_time"))?;
    Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
}

fn filter(q: &AuditQuery) -> Result<db::audit::Filter> {
    // Nothing stored is longer (see db::audit::cap), and SQLite refuses very long LIKE patterns.
    for (field, v, max) in [
        ("actor", &q.actor, db::audit::MAX_NAME),
        ("action", &q.action, db::audit::MAX_NAME),
        ("from", &q.from, 40),
        ("to", &q.to, 40),
    ] {
        if v.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(Error::Invalid {
                field,
                reason: "too_long",
                details: serde_json::json!({ "max": max }),
            });
        }
    }
    if let Some(r) = q.result.as_deref().filter(|r| !r.is_empty()) {
        if !matches!(r, "ok" | "denied" | "failed") {
            return Err(Error::invalid("result", "unknown_value"));
        }
    }
    Ok(db::audit::Filter::from_query(
        q,
        parse_time("from", &q.from)?,
        parse_time("to", &q.to)?,
    ))
}

pub async fn list(state: &AppState, caller: &Caller, q: &AuditQuery) -> Result<AuditPage> {
    authorize(caller.require()?, Action::AuditRead, Resource::System)?;
    let f = filter(q)?;
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=500).contains(&per_page) {
        return Err(Error::invalid("per_page", "out_of_range"));
    }
    let page = q.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(Error::invalid("page", "out_of_range"));
    }
    let total = db::audit::count(&state.db, &f).await?;
    let items = db::audit::page(&state.db, &f, per_page, (page - 1) * per_page).await?;
    Ok(AuditPage {
        items,
        total,
        page,
        per_page,
    })
}

/// Every matching record (newest first, at most 100,000) as CSV.
pub async fn csv(state: &AppState, caller: &Caller, q: &AuditQuery) -> Result<Vec<u8>> {
    authorize(caller.require()?, Action::AuditRead, Resource::System)?;
    let f = filter(q)?;
    let rows = db::audit::page(&state.db, &f, 100_000, 0).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::Internal(e.into());
    w.write_record(["id", "time", "actor", "source", "action", "target", "result", "details"])
        .map_err(csv_err)?;
    for r in rows {
        w.write_record(csv_row(&r)).map_err(csv_err)?;
    }
    w.into_inner().map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))
}

fn csv_row(r: &AuditEntry) -> [String; 8] {
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(r.at as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    // A leading = + - @ makes spreadsheets evaluate a cell; a quote in front keeps it text.
    let safe = |s: &str| {
        if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_string()
        }
    };
    [
        r.id.to_string(),
        time,
        safe(r.actor.as_deref().unwrap_or("")),
        safe(r.source.as_deref().unwrap_or("")),
        safe(&r.action),
        safe(r.target.as_deref().unwrap_or("")),
        r.result.clone(),
        safe(&r.details.to_string()),
    ]
}
