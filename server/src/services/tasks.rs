//! Tasks: long operations run in the background with progress on the event stream, cancellation, a bound on
//! how many run at once, and recovery at start (resumed when that is safe, otherwise failed and cleaned up).
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, tasks::TaskRow};
use crate::error::{Error, Result};
use crate::services::audit;
use crate::state::AppState;
use app::api::{StreamEvent, Task, TaskQuery, TaskState};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Tasks running at once; the rest wait in `queued` (each moves bytes through one libvirt stream).
const RUNNING_AT_ONCE: usize = 3;
/// Progress is written and pushed at most this often per task.
const PROGRESS_EVERY: Duration = Duration::from_millis(300);

/// The cancel flags of the tasks this process runs, and the bound on how many run at once.
pub struct Registry {
    cancel: Mutex<HashMap<i64, Arc<AtomicBool>>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            cancel: Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(RUNNING_AT_ONCE)),
        }
    }
}

impl Registry {
    fn flag(&self, id: i64) -> Arc<AtomicBool> {
        self.cancel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default()
            .clone()
    }
    fn forget(&self, id: i64) {
        self.cancel.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

/// What a running task's work gets: its id and parameters, progress reporting and its cancel flag.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub id: i64,
    pub params: Value,
    cancel: Arc<AtomicBool>,
}

/// Bytes done, shared with a blocking thread that moves them.
#[derive(Clone, Default)]
pub struct Meter {
    done: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
}

impl Meter {
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
    pub fn set(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
    }
    /// Whether the task was asked to stop (the blocking side checks between chunks).
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

impl Ctx {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Fails with `cancelled` when the task was asked to stop.
    pub fn check(&self) -> Result<()> {
        if self.cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Records the current step and progress and pushes it to watchers.
    pub async fn progress(&self, step: &str, done: Option<u64>, total: Option<u64>) {
        let fraction = match (done, total) {
            (Some(d), Some(t)) if t > 0 => d as f64 / t as f64,
            _ => 0.0,
        };
        let as_i64 = |v: Option<u64>| v.map(|v| v.min(i64::MAX as u64) as i64);
        if db::tasks::progress(&self.state.db, self.id, step, as_i64(done), as_i64(total), fraction)
            .await
            .is_ok()
        {
            publish(&self.state, self.id).await;
        }
    }

    /// Runs `work` on a blocking thread; while it runs, the bytes it reports through the `Meter` become the
    /// task's progress, and a cancel request reaches it through the same `Meter`.
    pub async fn blocking<T, F>(&self, step: &str, total: u64, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Meter) -> Result<T> + Send + 'static,
    {
        let meter = Meter {
            done: Arc::default(),
            cancel: self.cancel.clone(),
        };
        self.progress(step, Some(0), Some(total)).await;
        let mut handle = tokio::task::spawn_blocking({
            let meter = meter.clone();
            move || work(meter)
        });
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        loop {
            tokio::select! {
                r = &mut handle => {
                    let r = r.map_err(|e| Error::Internal(e.into()))?;
                    if r.is_ok() {
                        self.progress(step, Some(total), Some(total)).await;
                    }
                    return r;
                }
                _ = tick.tick() => {
                    self.progress(step, Some(meter.done.load(Ordering::Relaxed)), Some(total)).await;
                }
            }
        }
    }
}

/// Sends the task's current row to event-stream watchers.
pub async fn publish(state: &AppState, id: i64) {
    if let Ok(Some(row)) = db::tasks::by_id(&state.db, id).await {
        let _ = state.events.send(StreamEvent::Task { task: row.to_api() });
    }
}

/// Whether the principal sees a task: its owner, and those who see every VM.
pub fn sees(p: &Principal, t: &Task) -> bool {
    t.owner_id == Some(p.id) || authorize(p, Action::TaskReadAll, Resource::System).is_ok()
}

/// Starts running a task created (queued) in a committed transaction.
pub fn spawn(state: &AppState, id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        let Ok(permit) = state.tasks.slots.clone().acquire_owned().await else {
            return;
        };
        run(state, id).await;
        drop(permit);
    });
}

async fn run(state: AppState, id: i64) {
    let row = match db::tasks::by_id(&state.db, id).await {
        Ok(Some(r)) if r.state == "queued" => r,
        Ok(_) => return,
        Err(e) => {
            tracing::error!(task = id, error = %e, "cannot read task");
            return;
        }
    };
    let cancel = state.tasks.flag(id);
    // Not started when it stopped being queued meanwhile (cancelled before its turn).
    if !matches!(db::tasks::start(&state.db, id).await, Ok(true)) {
        return;
    }
    publish(&state, id).await;
    let ctx = Ctx {
        state: state.clone(),
        id,
        params: row.params(),
        cancel,
    };
    let outcome = dispatch(&ctx, &row).await;
    let (task_state, message, error, result) = match &outcome {
        Ok(v) => (TaskState::Succeeded, String::new(), None, Some(v.clone())),
        Err(Error::Cancelled) => (
            TaskState::Cancelled,
            "cancelled".to_string(),
            Some(("cancelled", Value::Null)),
            None,
        ),
        Err(e) => {
            let mut api = e.to_api_logged();
            tracing::warn!(task = id, kind = %row.kind, error = ?e, "task failed");
            // Which step failed: the one the task was on.
            let step = db::tasks::by_id(&state.db, id)
                .await
                .ok()
                .flatten()
                .map(|r| r.step)
                .unwrap_or_default();
            match api.details.as_object_mut() {
                Some(d) => {
                    d.insert("step".into(), json!(step));
                }
                None => api.details = json!({ "step": step }),
            }
            (TaskState::Failed, api.message, Some((e.code(), api.details)), None)
        }
    };
    // A target that already existed (made by someone else meanwhile) is not the task's to remove; a creation
    // removes only what its own list says it made.
    let makes_vm = matches!(row.kind.as_str(), "vm.create" | "vm.clone");
    if outcome.is_err() && (makes_vm || !matches!(outcome, Err(Error::Duplicate { .. }))) {
        if let Err(e) = cleanup(&ctx, &row).await {
            tracing::warn!(task = id, error = ?e, "could not clean up after a task");
        }
    }
    let error = error.as_ref().map(|(c, d)| (*c, d));
    if let Err(e) = finish(&state, &row, task_state, &message, error, result.as_ref()).await {
        tracing::error!(task = id, error = %e, "cannot record the end of a task");
    }
    state.tasks.forget(id);
    publish(&state, id).await;
}

/// Records the end and its audit record in one transaction, and lets the kind settle what it owns (an upload's
/// state, an image row).
async fn finish(
    state: &AppState,
    row: &TaskRow,
    task_state: TaskState,
    message: &str,
    error: Option<(&str, &Value)>,
    result: Option<&Value>,
) -> Result<()> {
    let code = error.map(|e| e.0);
    let mut tx = db::begin_write(&state.db).await?;
    if !db::tasks::finish(&mut tx, row.id, task_state, message, error, result).await? {
        return Ok(());
    }
    super::image_import::settle_task(&mut tx, row, task_state, code).await?;
    super::vm_create_run::settle_task(&mut tx, row, task_state).await?;
    let caller = Caller::system("task");
    if let Some(owner) = row.owner_id {
        if let Some(u) = db::users::by_id(&mut tx, owner).await? {
            caller.slot.set_actor(u.id, &u.username);
        }
    }
    let outcome = if task_state == TaskState::Succeeded {
        audit::Outcome::Ok
    } else {
        audit::Outcome::Failed
    };
    let details = json!({ "task": row.id, "state": task_state.as_str(), "error": code });
    audit::record(
        &mut tx,
        &caller,
        &format!("{}.finished", row.kind),
        Some(&row.target),
        outcome,
        &details,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn dispatch(ctx: &Ctx, row: &TaskRow) -> Result<Value> {
    match row.kind.as_str() {
        "volume.clone" => super::volumes::run_clone(ctx).await,
        "image.import" => super::image_import::run_import(ctx).await,
        "volume.upload" => super::image_import::run_volume_upload(ctx).await,
        "image.copy" => super::images::run_copy(ctx).await,
        "image.checksum" => super::images::run_checksum(ctx).await,
        "vm.create" => super::vm_create_run::run(ctx).await,
        "vm.clone" => super::vm_clone::run(ctx).await,
        other => Err(Error::Internal(anyhow::anyhow!("unknown task kind {other}"))),
    }
}

/// Removes what a failed, cancelled or interrupted task half made: the volume named in `params.partial`.
async fn cleanup(ctx: &Ctx, row: &TaskRow) -> Result<()> {
    if matches!(row.kind.as_str(), "vm.create" | "vm.clone") {
        return super::vm_create_run::rollback(ctx, row).await;
    }
    let p = row.params();
    let partial = &p["partial"];
    let (Some(host_id), Some(pool), Some(volume)) = (
        partial["host_id"].as_i64(),
        partial["pool"].as_str(),
        partial["volume"].as_str(),
    ) else {
        return Ok(());
    };
    // A volume the library records as an image's copy is never half-made (it was recorded after it was whole).
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM image_copies WHERE host_id = ? AND pool_uuid = ? AND volume = ?")
            .bind(host_id)
            .bind(pool)
            .bind(volume)
            .fetch_one(&ctx.state.db)
            .await?;
    if recorded > 0 {
        return Ok(());
    }
    ctx.progress("cleaning_up", None, None).await;
    ctx.state
        .virt
        .wait_online(host_id, std::time::Duration::from_secs(30))
        .await;
    crate::virt::storage::delete_volume_if_exists(&ctx.state.virt, host_id, pool, volume).await
}

/// Kinds that may simply run again from the start after an interruption (their input is still there and
/// their first step removes what the interrupted run left).
fn resumable(kind: &str) -> bool {
    matches!(kind, "image.import" | "volume.upload")
}

/// At start: every task left `queued` or `running` by the previous process is resumed or failed; never left
/// stuck.
pub async fn recover(state: &AppState) -> anyhow::Result<()> {
    for row in db::tasks::unfinished(&state.db).await? {
        if resumable(&row.kind) {
            db::tasks::requeue(&state.db, row.id).await?;
            tracing::info!(task = row.id, kind = %row.kind, "resuming a task interrupted by a restart");
            spawn(state, row.id);
            continue;
        }
        let ctx = Ctx {
            state: state.clone(),
            id: row.id,
            params: row.params(),
            cancel: Arc::default(),
        };
        // Hosts connect in the background: the cleanup waits for its host (in `cleanup`) without holding up
        // the start, and the task is marked failed now, so it is never seen running.
        let r = row.clone();
        tokio::spawn(async move {
            if let Err(e) = cleanup(&ctx, &r).await {
                tracing::warn!(task = r.id, error = ?e, "could not clean up an interrupted task");
            }
        });
        finish(
            state,
            &row,
            TaskState::Failed,
            "Hangar stopped while this task ran; what it had made was removed",
            Some(("interrupted", &Value::Null)),
            None,
        )
        .await?;
    }
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller, q: &TaskQuery) -> Result<Vec<Task>> {
    let p = caller.require()?;
    let all = authorize(p, Action::TaskReadAll, Resource::System).is_ok();
    let states = match q.state.as_deref() {
        None | Some("") => Vec::new(),
        Some("active") => vec!["queued", "running"],
        Some(s) => vec![TaskState::parse(s)
            .ok_or_else(|| Error::invalid("state", "unknown"))?
            .as_str()],
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "out_of_range"));
    }
    for (field, v) in [("kind", &q.kind), ("target", &q.target)] {
        if v.as_ref().is_some_and(|v| v.len() > 200) {
            return Err(Error::invalid(field, "too_long"));
        }
    }
    let filter = db::tasks::Filter {
        owner: (!all).then_some(p.id),
        states,
        kind: q.kind.as_deref().filter(|k| !k.is_empty()),
        target: q.target.as_deref().filter(|t| !t.is_empty()),
        limit,
    };
    Ok(db::tasks::list(&state.db, &filter)
        .await?
        .iter()
        .map(TaskRow::to_api)
        .collect())
}

/// One task; someone else's answers 404, as a missing one does.
pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<Task> {
    let p = caller.require()?;
    let task = db::tasks::by_id(&state.db, id)
        .await?
        .map(|r| r.to_api())
        .filter(|t| sees(p, t))
        .ok_or(Error::NotFound("task"))?;
    Ok(task)
}

/// Asks a running or queued task to stop; it ends `cancelled` once its work notices (within a chunk).
pub async fn cancel(state: &AppState, caller: &Caller, id: i64) -> Result<Task> {
    let p = caller.require()?;
    let task = get(state, caller, id).await?;
    authorize(p, Action::TaskCancel, Resource::User(task.owner_id.unwrap_or(-1)))?;
    if task.state.is_finished() {
        return Err(Error::InvalidState(format!(
            "the task has already {}",
            task.state.as_str()
        )));
    }
    if !task.cancellable {
        return Err(Error::InvalidState("this task cannot be stopped".into()));
    }
    state.tasks.flag(id).store(true, Ordering::SeqCst);
    let row = db::tasks::by_id(&state.db, id).await?;
    let mut tx = db::begin_write(&state.db).await?;
    if let Some(row) = row.filter(|r| r.state == "queued") {
        // Not started yet: it ends here, and the worker that picks it up finds it finished.
        if db::tasks::cancel_queued(&mut tx, id).await? {
            super::image_import::settle_task(&mut tx, &row, TaskState::Cancelled, Some("cancelled")).await?;
            super::vm_create_run::settle_task(&mut tx, &row, TaskState::Cancelled).await?;
        }
    }
    audit::commit(
        tx,
        caller,
        "task.cancel",
        &format!("task:{id}"),
        &json!({ "kind": task.kind }),
    )
    .await?;
    publish(state, id).await;
    get(state, caller, id).await
}
