//! Alerts: the alerts page (what fires now, the rules, a new rule, the history) and the notification channels
//! page, and the words and badges they and the VM page share (metric names, conditions, scopes, severities,
//! states, deliveries).
pub mod channels;
pub mod list;
pub mod rules;

pub use channels::ChannelsPage;
pub use list::AlertsPage;

use crate::api::{AlertScope, Delivery};
use crate::components::chart::{short_number, Unit};
use crate::components::widgets::fmt_time;
use crate::i18n::{lookup, lookup_args, use_i18n, I18n, Lang};
use crate::t;
use leptos::prelude::*;

/// Conditions are 1 while true; their comparison and threshold are ignored.
pub fn is_condition(metric: &str) -> bool {
    matches!(metric, "vm_crashed" | "host_offline" | "task_failed")
}

/// The unit of a metric's values (none for conditions).
pub fn metric_unit(metric: &str) -> Option<Unit> {
    if is_condition(metric) {
        None
    } else if metric.ends_with("_percent") {
        Some(Unit::Percent)
    } else if metric.ends_with("_bytes_per_second") {
        Some(Unit::BytesPerSecond)
    } else {
        None
    }
}

/// A metric in words.
pub fn metric_label(lang: Lang, metric: &str) -> String {
    lookup(lang, &format!("metric-{metric}"), metric)
}

pub fn severity_label(lang: Lang, severity: &str) -> String {
    lookup(lang, &format!("severity-{severity}"), severity)
}

pub fn comparison_symbol(c: &str) -> &'static str {
    match c {
        "gt" => ">",
        "ge" => "≥",
        "lt" => "<",
        "le" => "≤",
        _ => "?",
    }
}

/// A metric's value in its unit (`87 %`, `12 MiB/s`); a condition's as true or false.
pub fn fmt_value(lang: Lang, metric: &str, v: f64) -> String {
    match metric_unit(metric) {
        Some(u) => u.format(lang, v),
        None if is_condition(metric) => {
            let key = if v >= 0.5 { "condition-true" } else { "condition-false" };
            lookup(lang, key, key)
        }
        None => short_number(v),
    }
}

/// `20 s`, `5 min`, `2 h`, `1 d`: the largest unit that divides the duration.
pub fn duration_text(lang: Lang, secs: i64) -> String {
    let (key, n) = if secs >= 86_400 && secs % 86_400 == 0 {
        ("duration-days", secs / 86_400)
    } else if secs >= 3600 && secs % 3600 == 0 {
        ("duration-hours", secs / 3600)
    } else if secs >= 60 && secs % 60 == 0 {
        ("duration-minutes", secs / 60)
    } else {
        ("duration-seconds", secs)
    };
    lookup_args(lang, key, &[("n", n.to_string())])
}

/// `> 50 % for 20 s`; for a condition, `true for 20 s`.
pub fn condition_text(lang: Lang, metric: &str, comparison: &str, threshold: f64, for_seconds: i64) -> String {
    let duration = duration_text(lang, for_seconds);
    if is_condition(metric) {
        lookup_args(lang, "alerts-condition-state", &[("duration", duration)])
    } else {
        lookup_args(
            lang,
            "alerts-condition",
            &[
                ("comparison", comparison_symbol(comparison).to_string()),
                ("threshold", fmt_value(lang, metric, threshold)),
                ("duration", duration),
            ],
        )
    }
}

/// What a rule covers, in words.
pub fn scope_text(lang: Lang, scope: &AlertScope) -> String {
    let id = scope.id.clone().unwrap_or_default();
    let value = scope.value.clone().unwrap_or_default();
    match scope.kind.as_str() {
        "all" => lookup(lang, "scope-text-all", "all"),
        "host" => lookup_args(lang, "scope-text-host", &[("id", id)]),
        "vm" => lookup_args(lang, "scope-text-vm", &[("id", id)]),
        "tag" => lookup_args(lang, "scope-text-tag", &[("value", value)]),
        "owner" => lookup_args(lang, "scope-text-owner", &[("id", id)]),
        other => other.to_string(),
    }
}

/// Unix milliseconds now (the browser's clock, or the server's while rendering).
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// An alert's target: a link to the VM's or host's page, else its name; with its kind in words.
pub fn target_view(i18n: I18n, kind: &str, id: &str, name: &str) -> AnyView {
    let text = if name.is_empty() {
        id.to_string()
    } else {
        name.to_string()
    };
    let k = kind.to_string();
    let kind_label = move || lookup(i18n.0.get(), &format!("target-kind-{k}"), &k);
    match kind {
        "vm" => view! {
            <a href=format!("/vms/{id}") data-testid="alert-target">{text}</a> " " <span class="muted small">{kind_label}</span>
        }
        .into_any(),
        "host" => view! {
            <a href=format!("/hosts/{id}") data-testid="alert-target">{text}</a> " " <span class="muted small">{kind_label}</span>
        }
        .into_any(),
        _ => view! {
            <span data-testid="alert-target">{text}</span> " " <span class="muted small">{kind_label}</span>
        }
        .into_any(),
    }
}

/// info / warning / critical, coloured.
#[component]
pub fn SeverityBadge(severity: String) -> impl IntoView {
    let i18n = use_i18n();
    let class = format!("badge severity-{severity}");
    let s = severity.clone();
    view! { <span class=class data-severity=severity>{move || severity_label(i18n.0.get(), &s)}</span> }
}

/// pending / firing / resolved.
#[component]
pub fn AlertStateBadge(state: String) -> impl IntoView {
    let i18n = use_i18n();
    let class = format!("badge alert-state-{state}");
    let s = state.clone();
    view! { <span class=class data-state=state>{move || lookup(i18n.0.get(), &format!("state-{s}"), &s)}</span> }
}

/// A delivery's status (pending, sent, failed), coloured.
#[component]
pub fn DeliveryStatus(status: String) -> impl IntoView {
    let i18n = use_i18n();
    let class = format!("badge delivery-{status}");
    let s = status.clone();
    view! { <span class=class data-status=status>{move || lookup(i18n.0.get(), &format!("delivery-status-{s}"), &s)}</span> }
}

/// Notification attempts: when, to which channel, for which event, with what result.
#[component]
pub fn DeliveryTable(deliveries: Vec<Delivery>) -> impl IntoView {
    let i18n = use_i18n();
    if deliveries.is_empty() {
        return view! { <p class="muted" data-testid="deliveries-empty">{t!(i18n, "deliveries-none")}</p> }.into_any();
    }
    view! {
        <table class="table deliveries" data-testid="deliveries">
            <thead><tr><th>{t!(i18n, "deliveries-time")}</th><th>{t!(i18n, "deliveries-channel")}</th><th>{t!(i18n, "deliveries-event")}</th>
                <th>{t!(i18n, "deliveries-status")}</th><th>{t!(i18n, "deliveries-attempts")}</th><th>{t!(i18n, "deliveries-response")}</th></tr></thead>
            <tbody>{deliveries.into_iter().map(|d| {
                let event = d.event.clone();
                view! {
                    <tr data-delivery-id=d.id.to_string() data-status=d.status.clone() data-event=d.event.clone()>
                        <td class="nowrap">{fmt_time(d.updated_at)}</td>
                        <td>{d.channel.clone()}</td>
                        <td>{move || lookup(i18n.0.get(), &format!("delivery-event-{event}"), &event)}</td>
                        <td><DeliveryStatus status=d.status.clone()/></td>
                        <td class="num">{d.attempts}</td>
                        <td class="details" data-testid="delivery-response">{d.response.clone()}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// Alerts | Notification channels.
#[component]
pub fn AlertTabs(current: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="tabs" data-testid="alert-tabs">
            <a href="/alerts" class:active=current == "alerts" data-testid="tab-alerts">{t!(i18n, "alerts-title")}</a>
            <a href="/alerts/channels" class:active=current == "channels" data-testid="tab-channels">{t!(i18n, "channels-title")}</a>
        </nav>
    }
}
