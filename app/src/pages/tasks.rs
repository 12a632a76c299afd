//! Tasks: long operations with live progress, filtered by state, with cancel where the operation can stop.
use crate::api::{ApiError, StreamEvent, Task, TaskQuery, TaskState};
use crate::components::live::use_live_events;
use crate::components::widgets::{fmt_bytes, fmt_time, ErrorBox, PageError};
use crate::i18n::{use_i18n, I18n};
use crate::t;
use leptos::prelude::*;

pub fn task_kind(i18n: I18n, kind: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("task-kind-{}", kind.replace('.', "-")), kind)
}

pub fn task_state(i18n: I18n, s: TaskState) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("task-state-{}", s.as_str()), s.as_str())
}

/// A task's progress: a bar, and bytes when known.
#[component]
pub fn TaskProgress(task: Task) -> impl IntoView {
    let i18n = use_i18n();
    let pct = (task.progress * 100.0).clamp(0.0, 100.0);
    let step = task.step.clone();
    view! {
        <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
            <span class="bar-fill" style=format!("width: {pct:.1}%")></span>
        </div>
        <div class="muted small">
            {format!("{pct:.0} %")}
            {match (task.bytes_done, task.bytes_total) {
                (Some(d), Some(t)) => format!(" · {} / {}", fmt_bytes(d.max(0) as u64), fmt_bytes(t.max(0) as u64)),
                _ => String::new(),
            }}
            {(!step.is_empty()).then(|| view! { " · " {move || crate::i18n::lookup(i18n.0.get(), &format!("task-step-{step}"), &step)} })}
        </div>
    }
    .into_any()
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = RwSignal::new(String::new());
    let tasks = Resource::new(
        move || state.get(),
        |s| {
            crate::api::tasks::list_tasks(TaskQuery {
                state: (!s.is_empty()).then_some(s),
                ..Default::default()
            })
        },
    );
    view! {
        <h1>{t!(i18n, "tasks-title")}</h1>
        <div class="toolbar">
            <label>{t!(i18n, "field-status")}
                <select bind:value=state data-testid="tasks-filter-state">
                    <option value="">{t!(i18n, "filter-all")}</option>
                    <option value="active">{t!(i18n, "tasks-active")}</option>
                    {TaskState::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{move || task_state(i18n, s)}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match tasks.await {
                    Ok(list) => view! { <TaskTable initial=list/> }.into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn TaskTable(initial: Vec<Task>) -> impl IntoView {
    let i18n = use_i18n();
    let tasks = RwSignal::new(initial);
    use_live_events(move |ev| {
        if let StreamEvent::Task { task } = ev {
            tasks.update(|l| match l.iter_mut().find(|t| t.id == task.id) {
                Some(t) => *t = task,
                None => l.insert(0, task),
            });
        }
    });
    view! {
        <Show when=move || !tasks.with(Vec::is_empty) fallback=move || view! { <p class="muted" data-testid="tasks-empty">{t!(i18n, "tasks-empty")}</p> }>
            <table class="table" data-testid="tasks-table">
                <thead><tr>
                    <th>"#"</th><th>{t!(i18n, "tasks-kind")}</th><th>{t!(i18n, "tasks-target")}</th>
                    <th>{t!(i18n, "field-status")}</th><th>{t!(i18n, "tasks-progress")}</th>
                    <th>{t!(i18n, "tasks-created")}</th><th>{t!(i18n, "tasks-finished")}</th><th></th>
                </tr></thead>
                <tbody>
                    <For each=move || tasks.get() key=|t| (t.id, t.state, (t.progress * 1000.0) as i64, t.step.clone()) let:task>
                        <TaskRow task/>
                    </For>
                </tbody>
            </table>
        </Show>
    }
    .into_any()
}

#[component]
fn TaskRow(task: Task) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<ApiError>);
    let id = task.id;
    let cancel = move |_| {
        leptos::task::spawn_local(async move {
            if let Err(e) = crate::api::tasks::cancel_task(id).await {
                let _ = error.try_set(Some(e));
            }
        });
    };
    let (kind, st) = (task.kind.clone(), task.state);
    let failed = task.error_code.clone().map(|code| {
        let e = ApiError {
            code,
            message: task.message.clone(),
            details: task.error_details.clone().unwrap_or_default(),
        };
        view! { <div class="error small" data-testid="task-error">{move || crate::i18n::error_text(i18n.0.get(), &e)}</div> }
    });
    let result = task
        .result
        .as_ref()
        .and_then(|r| r.get("image_id"))
        .and_then(|v| v.as_i64());
    view! {
        <tr data-testid=format!("task-row-{}", task.id) data-state=task.state.as_str()>
            <td class="num">{task.id}</td>
            <td>{move || task_kind(i18n, &kind)}</td>
            <td><TaskTarget target=task.target.clone()/>
                {result.map(|img| view! { <div><a href=format!("/images/{img}")>{t!(i18n, "tasks-open-image")}</a></div> })}</td>
            <td><span class=format!("badge task-{}", task.state.as_str())>{move || task_state(i18n, st)}</span>{failed}</td>
            <td class="progress-cell">{(!task.state.is_finished() || task.state == TaskState::Succeeded).then(|| view! { <TaskProgress task=task.clone()/> })}</td>
            <td class="nowrap small">{fmt_time(task.created_at)}</td>
            <td class="nowrap small">{task.finished_at.map(fmt_time)}</td>
            <td>{task.cancellable.then(|| view! {
                <button class="btn small" data-testid="task-cancel" on:click=cancel>{t!(i18n, "action-cancel")}</button>
            })}<ErrorBox error/></td>
        </tr>
    }
    .into_any()
}

/// What a task works on, readable: a volume by its name (linked to its pool), an image (linked), an upload.
#[component]
fn TaskTarget(target: String) -> impl IntoView {
    let i18n = use_i18n();
    if let Some(rest) = target.strip_prefix("pool:") {
        let (pool, volume) = rest.split_once('/').unwrap_or((rest, ""));
        return view! { <a href=format!("/storage/{pool}")><code class="small">{volume.to_string()}</code></a> }
            .into_any();
    }
    if let Some(id) = target.strip_prefix("image:") {
        return view! { <a href=format!("/images/{id}")>{t!(i18n, "tasks-image")}" #"{id.to_string()}</a> }.into_any();
    }
    if target.starts_with("upload:") {
        return view! { <span>{t!(i18n, "tasks-upload")}</span> }.into_any();
    }
    view! { <code class="small">{target}</code> }.into_any()
}
