//! Queries on `tasks`: long operations, their progress and their end.
use app::api::{Task, TaskState};
use sqlx::{SqliteConnection, SqlitePool};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct TaskRow {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub owner_id: Option<i64>,
    pub state: String,
    pub progress: f64,
    pub bytes_done: Option<i64>,
    pub bytes_total: Option<i64>,
    pub step: String,
    pub message: String,
    pub error_code: Option<String>,
    pub error_details: Option<String>,
    pub cancellable: bool,
    pub params: String,
    pub result: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl TaskRow {
    pub fn to_api(&self) -> Task {
        let state = TaskState::parse(&self.state).unwrap_or(TaskState::Failed);
        Task {
            id: self.id,
            kind: self.kind.clone(),
            target: self.target.clone(),
            owner_id: self.owner_id,
            state,
            progress: self.progress,
            bytes_done: self.bytes_done,
            bytes_total: self.bytes_total,
            step: self.step.clone(),
            message: self.message.clone(),
            error_code: self.error_code.clone(),
            error_details: self.error_details.as_deref().and_then(|d| serde_json::from_str(d).ok()),
            cancellable: self.cancellable && !state.is_finished(),
            result: self.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }

    pub fn params(&self) -> serde_json::Value {
        serde_json::from_str(&self.params).unwrap_or_default()
    }
}

/// A new task, queued; written in the transaction of the request that starts it.
pub async fn insert(
    conn: &mut SqliteConnection,
    kind: &str,
    target: &str,
    owner_id: Option<i64>,
    cancellable: bool,
    params: &serde_json::Value,
) -> sqlx::Result<i64> {
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO tasks (kind, target, owner_id, state, cancellable, params, created_at)
         VALUES (?, ?, ?, 'queued', ?, ?, ?) RETURNING id",
    )
    .bind(kind)
    .bind(target)
    .bind(owner_id)
    .bind(cancellable)
    .bind(params.to_string())
    .bind(super::now_ms())
    .fetch_one(conn)
    .await?;
    Ok(row.0)
}

/// Rewrites a running task's params (what it has made so far, for its rollback), alone or in the caller's
/// transaction (with the change the params record).
pub async fn set_params<'e>(
    ex: impl sqlx::SqliteExecutor<'e>,
    id: i64,
    params: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE tasks SET params = ? WHERE id = ?")
        .bind(params.to_string())
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn by_id(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<TaskRow>> {
    sqlx::query_as("SELECT * FROM tasks WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Filters of a task list; `owner` limits it to one account's tasks.
#[derive(Default)]
pub struct Filter<'a> {
    pub owner: Option<i64>,
    pub states: Vec<&'static str>,
    pub kind: Option<&'a str>,
    pub target: Option<&'a str>,
    pub limit: i64,
}

pub async fn list(pool: &SqlitePool, f: &Filter<'_>) -> sqlx::Result<Vec<TaskRow>> {
    let mut q = sqlx::QueryBuilder::new("SELECT * FROM tasks WHERE 1 = 1");
    if let Some(o) = f.owner {
        q.push(" AND owner_id = ").push_bind(o);
    }
    if !f.states.is_empty() {
        q.push(" AND state IN (");
        let mut sep = q.separated(", ");
        for s in &f.states {
            sep.push_bind(*s);
        }
        q.push(")");
    }
    if let Some(k) = f.kind {
        q.push(" AND kind = ").push_bind(k);
    }
    if let Some(t) = f.target {
        q.push(" AND target = ").push_bind(t);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
    q.build_query_as().fetch_all(pool).await
}

/// Marks a queued task running; false when it is no longer queued (cancelled before its turn).
pub async fn start(pool: &SqlitePool, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE tasks SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'")
        .bind(super::now_ms())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Cancels a task that has not started; false when a worker took it meanwhile (its work sees the flag).
pub async fn cancel_queued(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE tasks SET state = 'cancelled', message = 'cancelled', error_code = 'cancelled', finished_at = ?
         WHERE id = ? AND state = 'queued'",
    )
    .bind(super::now_ms())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn progress(
    pool: &SqlitePool,
    id: i64,
    step: &str,
    done: Option<i64>,
    total: Option<i64>,
    fraction: f64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tasks SET step = ?, bytes_done = ?, bytes_total = ?, progress = ? WHERE id = ? AND state = 'running'",
    )
    .bind(step)
    .bind(done)
    .bind(total)
    .bind(fraction.clamp(0.0, 1.0))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records the end of a task (only once: a finished task stays as it ended).
pub async fn finish(
    conn: &mut SqliteConnection,
    id: i64,
    state: TaskState,
    message: &str,
    error: Option<(&str, &serde_json::Value)>,
    result: Option<&serde_json::Value>,
) -> sqlx::Result<bool> {
    let progress_sql = if state == TaskState::Succeeded {
        "1.0"
    } else {
        "progress"
    };
    let r = sqlx::query(&format!(
        "UPDATE tasks SET state = ?, message = ?, error_code = ?, error_details = ?, result = ?, finished_at = ?,
            progress = {progress_sql}, step = '' WHERE id = ? AND state IN ('queued', 'running')"
    ))
    .bind(state.as_str())
    .bind(message)
    .bind(error.map(|e| e.0))
    .bind(error.map(|e| e.1.to_string()).filter(|d| d != "null"))
    .bind(result.map(|r| r.to_string()))
    .bind(super::now_ms())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Tasks that were queued or running when Hangar stopped.
pub async fn unfinished(pool: &SqlitePool) -> sqlx::Result<Vec<TaskRow>> {
    sqlx::query_as("SELECT * FROM tasks WHERE state IN ('queued', 'running') ORDER BY id")
        .fetch_all(pool)
        .await
}

/// Puts an interrupted task back in the queue, to run again from its start.
pub async fn requeue(pool: &SqlitePool, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE tasks SET state = 'queued', progress = 0, bytes_done = NULL, step = '' WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
