//! The header's tasks indicator: how many tasks are running, with the progress of the busiest, live.
use crate::api::{StreamEvent, Task, TaskQuery};
use crate::components::live::use_live_events;
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn TasksIndicator() -> impl IntoView {
    let i18n = use_i18n();
    let active = RwSignal::new(Vec::<Task>::new());
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let q = TaskQuery {
            state: Some("active".into()),
            ..Default::default()
        };
        if let Ok(list) = crate::api::tasks::list_tasks(q).await {
            let _ = active.try_set(list);
        }
    });
    use_live_events(move |ev| {
        if let StreamEvent::Task { task } = ev {
            active.update(|l| {
                l.retain(|t| t.id != task.id);
                if !task.state.is_finished() {
                    l.insert(0, task);
                }
            });
        }
    });
    let _ = TaskQuery::default;
    view! {
        <a class="tasks-indicator" href="/tasks" data-testid="tasks-indicator" data-count=move || active.with(Vec::len).to_string()>
            {move || {
                let n = active.with(Vec::len);
                if n == 0 {
                    view! { <span class="muted">{t!(i18n, "nav-tasks")}</span> }.into_any()
                } else {
                    let p = active.with(|l| l.iter().map(|t| t.progress).sum::<f64>() / n as f64) * 100.0;
                    view! {
                        <span>{t!(i18n, "tasks-running", count = n)}</span>
                        <span class="bar mini"><span class="bar-fill" style=format!("width: {p:.0}%")></span></span>
                    }.into_any()
                }
            }}
        </a>
    }
}
