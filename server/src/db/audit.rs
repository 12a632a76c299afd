//! Queries on `audit_log`: insert and filtered reads. Nothing here (or anywhere) updates or deletes.
use app::api::{AuditEntry, AuditQuery};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub actor_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub source: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub result: &'a str,
    pub details: &'a serde_json::Value,
}

/// Longest stored actor, source and action; targets; details (as JSON text), in characters.
pub const MAX_NAME: usize = 64;
pub const MAX_TARGET: usize = 200;
pub const MAX_DETAILS: usize = 4096;

/// At most `max` characters, marked with `…` where cut.
pub fn cap(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((i, _)) => format!("{}…", &s[..i]).into(),
    }
}

/// Caps every field before anything is stored, so no request (signed in or not) can store more than a few KB.
pub async fn insert(conn: &mut SqliteConnection, r: &NewRecord<'_>) -> sqlx::Result<()> {
    let details = if r.details.is_null() {
        "{}".to_string()
    } else {
        r.details.to_string()
    };
    let details = if details.chars().count() > MAX_DETAILS {
        serde_json::json!({ "truncated": true, "excerpt": cap(&details, 1000) }).to_string()
    } else {
        details
    };
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, source, action, target, result, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(super::now_ms())
    .bind(r.actor_id)
    .bind(r.actor.map(|a| cap(a, MAX_NAME)))
    .bind(r.source.map(|s| cap(s, MAX_NAME)))
    .bind(cap(r.action, MAX_NAME))
    .bind(r.target.map(|t| cap(t, MAX_TARGET)))
    .bind(r.result)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}

/// A sign-in record: target, source, time, whether it succeeded, and (for a success) the username.
pub type LoginRecord = (Option<String>, Option<String>, i64, bool, Option<String>);

/// Sign-ins since `since` that failed on a wrong password or succeeded, oldest first.
pub async fn logins_since(pool: &SqlitePool, since: i64) -> sqlx::Result<Vec<LoginRecord>> {
    sqlx::query_as(
        "SELECT target, source, at, result = 'ok', json_extract(details, '$.username') FROM audit_log
         WHERE at >= ? AND action = 'auth.login'
           AND (result = 'ok' OR (result = 'failed' AND json_extract(details, '$.code') = 'invalid_credentials'))
         ORDER BY id",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}

#[derive(Debug, FromRow)]
struct Row {
    id: i64,
    at: i64,
    actor: Option<String>,
    source: Option<String>,
    action: String,
    target: Option<String>,
    result: String,
    details: String,
}

impl Row {
    fn into_api(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            at: self.at,
            actor: self.actor,
            source: self.source,
            action: self.action,
            target: self.target,
            result: self.result,
            details: serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Filters already validated and converted by the service.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub result: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Filter {
    pub fn from_query(q: &AuditQuery, from_ms: Option<i64>, to_ms: Option<i64>) -> Filter {
        let nonempty = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Filter {
            actor: nonempty(&q.actor),
            action_prefix: nonempty(&q.action),
            result: nonempty(&q.result),
            from_ms,
            to_ms,
        }
    }

    fn push_where(&self, qb: &mut QueryBuilder<'_, Sqlite>) {
        qb.push(" WHERE 1 = 1");
        if let Some(a) = &self.actor {
            qb.push(" AND actor = ").push_bind(a.clone());
        }
        if let Some(a) = &self.action_prefix {
            let escaped = a.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            qb.push(" AND action LIKE ")
                .push_bind(format!("{escaped}%"))
                .push(" ESCAPE '\\'");
        }
        if let Some(r) = &self.result {
            qb.push(" AND result = ").push_bind(r.clone());
        }
        if let Some(f) = self.from_ms {
            qb.push(" AND at >= ").push_bind(f);
        }
        if let Some(t) = self.to_ms {
            qb.push(" AND at <= ").push_bind(t);
        }
    }
}

pub async fn count(pool: &SqlitePool, f: &Filter) -> sqlx::Result<i64> {
    let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM audit_log");
    f.push_where(&mut qb);
    qb.build_query_scalar().fetch_one(pool).await
}

pub async fn page(pool: &SqlitePool, f: &Filter, limit: i64, offset: i64) -> sqlx::Result<Vec<AuditEntry>> {
    let mut qb = QueryBuilder::new("SELECT id, at, actor, source, action, target, result, details FROM audit_log");
    f.push_where(&mut qb);
    qb.push(" ORDER BY id DESC LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(Row::into_api).collect())
}
