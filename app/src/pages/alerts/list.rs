//! `/alerts`: what fires now (acknowledge it), the rules (switch them on and off, silence, edit, delete), a new
//! rule (`?vm=<id>` starts one for that VM), and the history of resolved alerts with the notifications each sent.
use super::rules::{RuleForm, RulesTable};
use super::{fmt_value, metric_label, target_view, AlertStateBadge, AlertTabs, DeliveryTable, SeverityBadge};
use crate::api::{Alert, AlertQuery, ApiError};
use crate::components::widgets::{fmt_time, ErrorBox, PageError};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let prefill_vm = query.read_untracked().get("vm").filter(|v| !v.trim().is_empty());
    let version = RwSignal::new(0u32);
    // Made with the page (not inside a Suspense), so hydration finds them where SSR put them.
    // What fires changes by itself: look again every 10 s while the page is open.
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let bump = move || {
            tick.try_update(|t| *t += 1);
        };
        if let Ok(h) = set_interval_with_handle(bump, std::time::Duration::from_secs(10)) {
            on_cleanup(move || h.clear());
        }
    }
    let firing = Resource::new(
        move || (version.get(), tick.get()),
        |_| {
            crate::api::alerts::alerts(AlertQuery {
                state: Some("active".into()),
                limit: Some(100),
                ..Default::default()
            })
        },
    );
    let rules = Resource::new(move || version.get(), |_| crate::api::alerts::alert_rules());
    let channels = Resource::new(|| (), |_| crate::api::alerts::channels());
    let reload = Callback::new(move |_| version.update(|v| *v += 1));
    view! {
        <h1>{t!(i18n, "alerts-title")}</h1>
        <AlertTabs current="alerts"/>
        <section class="card" data-testid="alerts-firing-section">
            <h2>{t!(i18n, "alerts-firing")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match firing.await {
                        Ok(page) => view! { <FiringTable items=page.items reload/> }.into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card" data-testid="alert-rules-section">
            <h2>{t!(i18n, "alerts-rules")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let chans = channels.await.unwrap_or_default();
                    match rules.await {
                        Ok(list) => view! { <RulesTable rules=list channels=chans reload/> }.into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card" data-testid="new-rule-section">
            <h2>{t!(i18n, "alerts-new-rule")}</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let prefill_vm = prefill_vm.clone();
                    Suspend::new(async move {
                        let chans = channels.await.unwrap_or_default();
                        view! { <RuleForm rule=None channels=chans prefill_vm on_saved=reload/> }
                    })
                }}
            </Suspense>
        </section>
        <AlertHistory/>
    }
    .into_any()
}

/// Pending and firing alerts, with who acknowledged them.
#[component]
fn FiringTable(items: Vec<Alert>, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let ack = move |id: i64| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::alerts::acknowledge_alert(id).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(_) => reload.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let empty = items.is_empty();
    view! {
        <ErrorBox error/>
        <table class="table" id="alerts-firing" data-testid="alerts-firing">
            <thead><tr>
                <th>{t!(i18n, "label-severity")}</th><th>{t!(i18n, "alerts-state")}</th><th>{t!(i18n, "alerts-rule")}</th>
                <th>{t!(i18n, "alerts-target")}</th><th>{t!(i18n, "alerts-value")}</th><th>{t!(i18n, "alerts-peak")}</th>
                <th>{t!(i18n, "alerts-since")}</th><th>{t!(i18n, "alerts-acknowledged")}</th>
            </tr></thead>
            <tbody>{items.into_iter().map(|a| {
                let id = a.id;
                let (m1, m2, m3) = (a.metric.clone(), a.metric.clone(), a.metric.clone());
                let (value, peak) = (a.value, a.peak);
                let pending = a.state == "pending";
                let acked = match (a.acknowledged_by.clone(), a.acknowledged_at) {
                    (by, Some(at)) => view! {
                        <span data-testid="alert-acked">{by.unwrap_or_default()}<div class="muted small">{fmt_time(at)}</div></span>
                    }.into_any(),
                    // Nothing has been sent yet for a pending alert: there is nothing to acknowledge.
                    _ if pending => view! { <span class="muted">"—"</span> }.into_any(),
                    _ => view! {
                        <button class="btn small" data-testid="alert-ack" disabled=move || busy.get() on:click=move |_| ack(id)>
                            {t!(i18n, "alerts-acknowledge")}
                        </button>
                    }.into_any(),
                };
                view! {
                    <tr data-alert-id=id.to_string() data-state=a.state.clone() data-severity=a.severity.clone()>
                        <td><SeverityBadge severity=a.severity.clone()/></td>
                        <td><AlertStateBadge state=a.state.clone()/></td>
                        <td>{a.rule.clone()}<div class="muted small">{move || metric_label(i18n.0.get(), &m1)}</div></td>
                        <td>{target_view(i18n, &a.target_kind, &a.target_id, &a.target_name)}</td>
                        <td class="num" data-testid="alert-value">{move || fmt_value(i18n.0.get(), &m2, value)}</td>
                        <td class="num" data-testid="alert-peak">{move || fmt_value(i18n.0.get(), &m3, peak)}</td>
                        <td class="nowrap">{fmt_time(a.fired_at.unwrap_or(a.started_at))}</td>
                        <td>{acked}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
        {empty.then(|| view! { <p class="muted" data-testid="alerts-firing-empty">{t!(i18n, "alerts-none-firing")}</p> })}
    }
    .into_any()
}

/// Resolved alerts, newest first, 20 at a time; each opens to show the notifications it sent.
#[component]
fn AlertHistory() -> impl IntoView {
    let i18n = use_i18n();
    let items = RwSignal::new(Vec::<Alert>::new());
    let next = RwSignal::new(None::<i64>);
    let loaded = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let load = move |before: Option<i64>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::alerts::alerts(AlertQuery {
                state: Some("resolved".into()),
                before,
                limit: Some(20),
                ..Default::default()
            })
            .await;
            if busy.try_set(false).is_some() {
                return;
            }
            loaded.set(true);
            match r {
                Ok(page) => {
                    items.update(|v| v.extend(page.items));
                    next.set(page.next_before);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    // The history is fetched by the browser (it grows page by page there).
    #[cfg(feature = "hydrate")]
    load(None);
    view! {
        <section class="card" data-testid="alerts-history-section">
            <h2>{t!(i18n, "alerts-history")}</h2>
            <ErrorBox error/>
            <table class="table" id="alerts-history" data-testid="alerts-history">
                <thead><tr>
                    <th></th><th>{t!(i18n, "label-severity")}</th><th>{t!(i18n, "alerts-rule")}</th><th>{t!(i18n, "alerts-target")}</th>
                    <th>{t!(i18n, "alerts-peak")}</th><th>{t!(i18n, "alerts-started")}</th><th>{t!(i18n, "alerts-resolved")}</th>
                    <th>{t!(i18n, "alerts-acknowledged")}</th>
                </tr></thead>
                <tbody>
                    <For each=move || items.get() key=|a: &Alert| a.id children=move |a: Alert| view! { <HistoryRow alert=a/> }/>
                </tbody>
            </table>
            {move || (loaded.get() && items.with(Vec::is_empty)).then(|| view! {
                <p class="muted" data-testid="alerts-history-empty">{t!(i18n, "alerts-no-history")}</p>
            })}
            {move || next.get().map(|before| view! {
                <p><button class="btn" data-testid="alerts-load-more" disabled=move || busy.get() on:click=move |_| load(Some(before))>
                    {t!(i18n, "alerts-load-more")}
                </button></p>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn HistoryRow(alert: Alert) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let a = alert;
    let deliveries = a.deliveries.clone();
    let count = deliveries.len();
    let (m1, m2) = (a.metric.clone(), a.metric.clone());
    let peak = a.peak;
    view! {
        <tr data-alert-id=a.id.to_string() data-state=a.state.clone() data-severity=a.severity.clone() class:open=move || open.get()>
            <td>
                <button type="button" class="btn small link" data-testid="alert-expand" aria-expanded=move || open.get().to_string()
                    title=t!(i18n, "alerts-show-deliveries") on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() { "▾" } else { "▸" }} " " {count}
                </button>
            </td>
            <td><SeverityBadge severity=a.severity.clone()/></td>
            <td>{a.rule.clone()}<div class="muted small">{move || metric_label(i18n.0.get(), &m1)}</div></td>
            <td>{target_view(i18n, &a.target_kind, &a.target_id, &a.target_name)}</td>
            <td class="num">{move || fmt_value(i18n.0.get(), &m2, peak)}</td>
            <td class="nowrap">{fmt_time(a.fired_at.unwrap_or(a.started_at))}</td>
            <td class="nowrap">{a.resolved_at.map(fmt_time).unwrap_or_else(|| "—".into())}</td>
            <td>{a.acknowledged_by.clone().unwrap_or_else(|| "—".into())}</td>
        </tr>
        <Show when=move || open.get()>
            <tr class="sub-row" data-testid="alert-deliveries-row">
                <td colspan="8"><DeliveryTable deliveries=deliveries.clone()/></td>
            </tr>
        </Show>
    }
    .into_any()
}
