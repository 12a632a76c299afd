//! Lifecycle buttons that fit a VM's state, shared by the list and the detail page.
use crate::api::{client, ApiError, Vm};
use crate::i18n::use_i18n;
use leptos::prelude::*;

/// The actions that make sense in `state`, in the order the UI shows them.
pub fn actions_for(state: &str) -> &'static [&'static str] {
    match state {
        "running" | "blocked" => &["shutdown", "reboot", "pause", "reset", "poweroff"],
        "paused" | "pmsuspended" => &["resume", "poweroff"],
        "shutdown" | "crashed" => &["poweroff", "start"],
        _ => &["start"],
    }
}

pub fn action_label(i18n: crate::i18n::I18n, action: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("vm-action-{action}"), action)
}

/// Runs `action` on the VM; `done` receives the VM as it is afterwards, or the error.
pub fn run_action(id: String, action: &'static str, done: impl Fn(Result<Vm, ApiError>) + 'static) {
    leptos::task::spawn_local(async move { done(client::vm_action(id, action).await) });
}

#[component]
pub fn StateBadge(state: Signal<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class=move || format!("badge state-{}", state.get()) data-testid="vm-state" data-state=move || state.get()>
            {move || crate::i18n::lookup(i18n.0.get(), &format!("vm-state-{}", state.get()), &state.get())}
        </span>
    }
}
