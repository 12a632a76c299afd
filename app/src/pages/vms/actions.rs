//! Lifecycle buttons for a VM's state, shared by the list and the detail page: every action is shown, those that
//! do not fit the state are disabled (the rule is `VmAction::allowed_in`, the server's own), force off and reset
//! ask first, and the buttons are disabled while an action runs.
use crate::api::{ApiError, Vm, VmAction, VmState};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

pub fn action_label(i18n: crate::i18n::I18n, action: VmAction) -> String {
    crate::i18n::lookup(i18n.0.get(), &format!("vm-action-{}", action.as_str()), action.as_str())
}

/// Runs `action` on the VM; `done` receives the VM as it is afterwards, or the error.
pub fn run_action(id: String, action: VmAction, done: impl Fn(Result<Vm, ApiError>) + 'static) {
    leptos::task::spawn_local(async move { done(crate::api::vms::vm_action(id, action).await) });
}

/// The action bar of one VM. `on_done` gets each answer; `actions` limits which buttons appear.
#[component]
pub fn ActionBar(
    id: String,
    state: Signal<VmState>,
    #[prop(into)] actions: Signal<Vec<VmAction>>,
    on_done: Callback<(VmAction, Result<Vm, ApiError>)>,
    #[prop(optional)] small: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let busy = RwSignal::new(None::<VmAction>);
    let confirm = RwSignal::new(None::<VmAction>);
    let run = {
        let id = id.clone();
        move |a: VmAction| {
            confirm.set(None);
            busy.set(Some(a));
            // The bar may be gone by the time the answer comes (the row was redrawn for the new state):
            // then there is nothing to update.
            run_action(id.clone(), a, move |r| {
                busy.try_set(None);
                on_done.try_run((a, r));
            });
        }
    };
    let class = if small { "btn small" } else { "btn" };
    let run_confirmed = run.clone();
    view! {
        <span class="action-bar" data-testid="vm-actions" data-busy=move || busy.get().is_some().to_string()>
            {move || {
                let run = run.clone();
                actions.get().into_iter().map(move |a| {
                    let run = run.clone();
                    let danger = a.needs_confirmation();
                    view! {
                        <button
                            class=move || if danger { format!("{class} danger") } else { class.to_string() }
                            data-testid=format!("action-{}", a.as_str())
                            disabled=move || busy.get().is_some() || !a.allowed_in(state.get())
                            title=move || (!a.allowed_in(state.get())).then(|| crate::i18n::lookup(i18n.0.get(), "vm-action-not-now", ""))
                            on:click=move |_| if a.needs_confirmation() { confirm.set(Some(a)) } else { run(a) }
                        >
                            {move || action_label(i18n, a)}
                        </button>
                    }
                }).collect_view()
            }}
            {move || busy.get().map(|a| view! {
                <span class="working" data-testid="action-working">
                    <span class="spinner"></span>{t!(i18n, "vm-action-working", action = action_label(i18n, a))}
                </span>
            })}
            {move || confirm.get().map(|a| {
                let run = run_confirmed.clone();
                view! {
                    <span class="confirm" data-testid="action-confirm">
                        {move || if small {
                            crate::i18n::lookup_args(i18n.0.get(), "vm-action-confirm-short", &[("action", action_label(i18n, a))])
                        } else {
                            crate::i18n::lookup_args(i18n.0.get(), "vm-action-confirm", &[("action", action_label(i18n, a))])
                        }} " "
                        <button class="btn small danger" data-testid="action-confirm-yes" on:click=move |_| run(a)>
                            {move || action_label(i18n, a)}
                        </button>
                        <button class="btn small" data-testid="action-confirm-no" on:click=move |_| confirm.set(None)>
                            {t!(i18n, "action-cancel")}
                        </button>
                    </span>
                }
            })}
        </span>
    }
    .into_any()
}

#[component]
pub fn StateBadge(state: Signal<VmState>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class=move || format!("badge state-{}", state.get().as_str()) data-testid="vm-state" data-state=move || state.get().as_str()>
            {move || crate::i18n::lookup(i18n.0.get(), &format!("vm-state-{}", state.get().as_str()), state.get().as_str())}
        </span>
    }
}
