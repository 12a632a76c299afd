//! Alert rules: the table (switch on and off, silence for an hour, edit, delete) and the form that makes or
//! edits a rule.
use super::{
    condition_text, is_condition, metric_label, metric_unit, now_ms, scope_text, severity_label, SeverityBadge,
};
use crate::api::{
    AlertRule, AlertRulePatch, AlertScope, ApiError, Channel, NewAlertRule, ALERT_METRICS, COMPARISONS, SCOPE_KINDS,
    SEVERITIES,
};
use crate::components::chart::{short_number, Unit};
use crate::components::widgets::{fmt_time, ErrorBox};
use crate::i18n::{lookup, use_i18n};
use crate::t;
use leptos::prelude::*;

/// Multipliers offered beside a threshold in bytes per second.
const BYTE_UNITS: [(&str, &str); 4] = [
    ("1", "B/s"),
    ("1024", "KiB/s"),
    ("1048576", "MiB/s"),
    ("1073741824", "GiB/s"),
];

/// A saved threshold as the form shows it: (number, multiplier), in the largest byte unit that divides it.
fn split_threshold(metric: &str, threshold: f64) -> (String, String) {
    if metric_unit(metric) == Some(Unit::BytesPerSecond) && threshold > 0.0 {
        for (m, _) in BYTE_UNITS.iter().rev() {
            let f: f64 = m.parse().unwrap_or(1.0);
            let v = threshold / f;
            if v >= 1.0 && v.fract() == 0.0 {
                return (short_number(v), m.to_string());
            }
        }
    }
    (threshold.to_string(), "1".to_string())
}

/// A saved duration as the form shows it: in minutes when it is whole minutes.
fn split_duration(secs: i64) -> (String, String) {
    if secs >= 60 && secs % 60 == 0 {
        ((secs / 60).to_string(), "60".to_string())
    } else {
        (secs.to_string(), "1".to_string())
    }
}

/// An error shown like the server's field errors.
fn field_error(field: &str, reason: &str) -> ApiError {
    ApiError {
        code: "invalid_input".into(),
        message: field.into(),
        details: serde_json::json!({ "field": field, "reason": reason }),
    }
}

#[component]
pub fn RulesTable(rules: Vec<AlertRule>, channels: Vec<Channel>, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let empty = rules.is_empty();
    view! {
        <table class="table" id="alert-rules" data-testid="alert-rules">
            <thead><tr>
                <th>{t!(i18n, "label-name")}</th><th>{t!(i18n, "label-metric")}</th><th>{t!(i18n, "alerts-condition-head")}</th>
                <th>{t!(i18n, "label-scope")}</th><th>{t!(i18n, "label-severity")}</th><th>{t!(i18n, "label-channels")}</th>
                <th>{t!(i18n, "label-enabled")}</th><th>{t!(i18n, "alerts-silenced-until")}</th><th></th>
            </tr></thead>
            <tbody>{rules.into_iter().map(|r| view! { <RuleRow rule=r channels=channels.clone() reload/> }).collect_view()}</tbody>
        </table>
        {empty.then(|| view! { <p class="muted" data-testid="alert-rules-empty">{t!(i18n, "alerts-no-rules")}</p> })}
    }
    .into_any()
}

#[component]
fn RuleRow(rule: AlertRule, channels: Vec<Channel>, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let confirm = RwSignal::new(false);
    let editing = RwSignal::new(false);
    let id = rule.id;
    let patch = move |p: AlertRulePatch| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::alerts::update_alert_rule(id, p).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(_) => reload.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let remove = move |_: leptos::ev::MouseEvent| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::alerts::delete_alert_rule(id).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(()) => reload.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let enabled = rule.enabled;
    let silenced = rule.silenced_until.filter(|t| *t > now_ms());
    let toggle = move |_: leptos::ev::MouseEvent| {
        patch(AlertRulePatch {
            enabled: Some(!enabled),
            ..Default::default()
        })
    };
    let silence = move |_: leptos::ev::MouseEvent| {
        patch(AlertRulePatch {
            silence_seconds: Some(3600),
            ..Default::default()
        })
    };
    let unsilence = move |_: leptos::ev::MouseEvent| {
        patch(AlertRulePatch {
            silence_seconds: Some(0),
            ..Default::default()
        })
    };
    let channel_names = rule
        .channels
        .iter()
        .map(|c| {
            channels
                .iter()
                .find(|x| x.id == *c)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| format!("#{c}"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let r = rule.clone();
    let (metric, comparison, threshold, for_seconds) =
        (r.metric.clone(), r.comparison.clone(), r.threshold, r.for_seconds);
    let m2 = r.metric.clone();
    let scope = r.scope.clone();
    let scope_link = (r.scope.kind == "vm")
        .then(|| r.scope.id.clone())
        .flatten()
        .map(|id| format!("/vms/{id}"));
    let scope_link = scope_link.or_else(|| {
        (r.scope.kind == "host")
            .then(|| r.scope.id.clone())
            .flatten()
            .map(|id| format!("/hosts/{id}"))
    });
    let scope_words = move || scope_text(i18n.0.get(), &scope);
    let scope_view = match scope_link {
        Some(href) => view! { <a href=href>{scope_words}</a> }.into_any(),
        None => view! { <span>{scope_words}</span> }.into_any(),
    };
    view! {
        <tr data-rule-id=id.to_string() data-rule-name=r.name.clone() data-enabled=enabled.to_string()
            data-silenced=silenced.is_some().to_string() class:muted=!enabled>
            <td class="name">{r.name.clone()}<div class="muted small">{r.owner.clone()}</div></td>
            <td>{move || metric_label(i18n.0.get(), &m2)}</td>
            <td class="nowrap" data-testid="rule-condition">{move || condition_text(i18n.0.get(), &metric, &comparison, threshold, for_seconds)}</td>
            <td data-testid="rule-scope">{scope_view}</td>
            <td><SeverityBadge severity=r.severity.clone()/></td>
            <td data-testid="rule-channels">{channel_names}</td>
            <td data-testid="rule-enabled">{move || lookup(i18n.0.get(), if enabled { "yes" } else { "no" }, "")}</td>
            <td class="nowrap" data-testid="rule-silenced">{silenced.map(fmt_time).unwrap_or_else(|| "—".into())}</td>
            <td class="nowrap">
                <span class="action-bar">
                    <button class="btn small" data-testid="rule-toggle" disabled=move || busy.get() on:click=toggle>
                        {move || lookup(i18n.0.get(), if enabled { "alerts-disable" } else { "alerts-enable" }, "")}
                    </button>
                    {if silenced.is_some() {
                        view! { <button class="btn small" data-testid="rule-unsilence" disabled=move || busy.get() on:click=unsilence>{t!(i18n, "alerts-unsilence")}</button> }.into_any()
                    } else {
                        view! { <button class="btn small" data-testid="rule-silence" disabled=move || busy.get() on:click=silence>{t!(i18n, "alerts-silence-1h")}</button> }.into_any()
                    }}
                    <button class="btn small" data-testid="rule-edit" aria-expanded=move || editing.get().to_string()
                        on:click=move |_| editing.update(|e| *e = !*e)>{t!(i18n, "action-edit")}</button>
                    <Show when=move || confirm.get() fallback=move || view! {
                        <button class="btn small danger" data-testid="rule-delete" on:click=move |_| confirm.set(true)>{t!(i18n, "action-delete")}</button>
                    }>
                        <span class="confirm">
                            {t!(i18n, "alerts-rule-delete-confirm")}
                            <button class="btn small danger" data-testid="rule-delete-confirm" disabled=move || busy.get() on:click=remove>{t!(i18n, "action-delete")}</button>
                            <button class="btn small" data-testid="rule-delete-cancel" on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
                        </span>
                    </Show>
                </span>
                <ErrorBox error/>
            </td>
        </tr>
        <Show when=move || editing.get()>
            <tr class="sub-row" data-testid="rule-edit-row">
                <td colspan="9">
                    <RuleForm rule=Some(rule.clone()) channels=channels.clone() prefill_vm=None on_saved=reload
                        on_cancel=Callback::new(move |_| editing.set(false))/>
                </td>
            </tr>
        </Show>
    }
    .into_any()
}

/// The form of a rule: a new one (`rule` none; `id="new-rule"`) or the changes to one (`id="edit-rule-<id>"`;
/// its metric stays). Inputs are named like the API's fields.
#[component]
pub fn RuleForm(
    rule: Option<AlertRule>,
    channels: Vec<Channel>,
    /// A VM id from the address (`/alerts?vm=<id>`): the new rule covers that VM.
    prefill_vm: Option<String>,
    on_saved: Callback<()>,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let me = crate::components::layout::use_me();
    let editing = rule.as_ref().map(|r| r.id);
    let r = rule.as_ref();
    let name = RwSignal::new(r.map(|r| r.name.clone()).unwrap_or_default());
    let metric = RwSignal::new(r.map(|r| r.metric.clone()).unwrap_or_else(|| "vm_cpu_percent".into()));
    let comparison = RwSignal::new(r.map(|r| r.comparison.clone()).unwrap_or_else(|| "gt".into()));
    let (t0, tu0) = r
        .map(|r| split_threshold(&r.metric, r.threshold))
        .unwrap_or_else(|| ("80".to_string(), "1".to_string()));
    let threshold = RwSignal::new(t0);
    let threshold_unit = RwSignal::new(tu0);
    let (f0, fu0) = r
        .map(|r| split_duration(r.for_seconds))
        .unwrap_or_else(|| ("60".to_string(), "1".to_string()));
    let for_value = RwSignal::new(f0);
    let for_unit = RwSignal::new(fu0);
    let scope_kind = RwSignal::new(
        r.map(|r| r.scope.kind.clone())
            .or_else(|| prefill_vm.as_ref().map(|_| "vm".to_string()))
            .unwrap_or_else(|| "all".into()),
    );
    let scope_id = RwSignal::new(r.and_then(|r| r.scope.id.clone()).or(prefill_vm).unwrap_or_default());
    let scope_value = RwSignal::new(r.and_then(|r| r.scope.value.clone()).unwrap_or_default());
    let severity = RwSignal::new(r.map(|r| r.severity.clone()).unwrap_or_else(|| "warning".into()));
    let selected = RwSignal::new(r.map(|r| r.channels.clone()).unwrap_or_default());
    let repeat = RwSignal::new(r.map(|r| r.repeat_seconds.to_string()).unwrap_or_else(|| "0".into()));
    let enabled = RwSignal::new(r.map(|r| r.enabled).unwrap_or(true));
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let condition = move || is_condition(&metric.get());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(false);
        let m = metric.get_untracked();
        let threshold_v = if is_condition(&m) {
            0.0
        } else {
            let unit: f64 = threshold_unit.get_untracked().parse().unwrap_or(1.0);
            match threshold.get_untracked().trim().replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    v * if metric_unit(&m) == Some(Unit::BytesPerSecond) {
                        unit
                    } else {
                        1.0
                    }
                }
                _ => {
                    error.set(Some(field_error("threshold", "not_a_number")));
                    return;
                }
            }
        };
        let for_seconds = match for_value.get_untracked().trim().parse::<i64>() {
            Ok(v) => v.saturating_mul(for_unit.get_untracked().parse::<i64>().unwrap_or(1)),
            Err(_) => {
                error.set(Some(field_error("for_seconds", "not_a_number")));
                return;
            }
        };
        let repeat_seconds = match repeat.get_untracked().trim() {
            "" => 0,
            s => match s.parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    error.set(Some(field_error("repeat_seconds", "not_a_number")));
                    return;
                }
            },
        };
        let kind = scope_kind.get_untracked();
        let filled = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let scope = AlertScope {
            id: if matches!(kind.as_str(), "host" | "vm" | "owner") {
                filled(scope_id.get_untracked())
            } else {
                None
            },
            value: if kind == "tag" {
                filled(scope_value.get_untracked())
            } else {
                None
            },
            kind,
        };
        let name_v = name.get_untracked().trim().to_string();
        let comparison_v = comparison.get_untracked();
        let severity_v = severity.get_untracked();
        let channels_v = selected.get_untracked();
        let enabled_v = enabled.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = match editing {
                Some(id) => {
                    let p = AlertRulePatch {
                        name: Some(name_v),
                        comparison: Some(comparison_v),
                        threshold: Some(threshold_v),
                        for_seconds: Some(for_seconds),
                        scope: Some(scope),
                        severity: Some(severity_v),
                        channels: Some(channels_v),
                        repeat_seconds: Some(repeat_seconds),
                        enabled: Some(enabled_v),
                        silence_seconds: None,
                    };
                    crate::api::alerts::update_alert_rule(id, p).await.map(|_| ())
                }
                None => {
                    let n = NewAlertRule {
                        name: name_v,
                        metric: m,
                        comparison: comparison_v,
                        threshold: threshold_v,
                        for_seconds,
                        scope,
                        severity: severity_v,
                        channels: channels_v,
                        repeat_seconds,
                        enabled: enabled_v,
                    };
                    crate::api::alerts::create_alert_rule(n).await.map(|_| ())
                }
            };
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(()) => {
                    if editing.is_none() {
                        name.set(String::new());
                    }
                    done.set(true);
                    on_saved.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let form_id = match editing {
        Some(id) => format!("edit-rule-{id}"),
        None => "new-rule".to_string(),
    };
    let unit_text = move || {
        metric_unit(&metric.get())
            .map(|u| u.symbol(i18n.0.get()))
            .unwrap_or_default()
    };
    let threshold_unit_view = move || {
        if metric_unit(&metric.get()) == Some(Unit::BytesPerSecond) {
            view! {
                <select name="threshold_unit" bind:value=threshold_unit aria-label=t!(i18n, "alerts-threshold-unit")>
                    {BYTE_UNITS.into_iter().map(|(v, label)| view! {
                        <option value=v selected=move || threshold_unit.get() == v>{label}</option>
                    }).collect_view()}
                </select>
            }
            .into_any()
        } else {
            view! { <span class="unit" data-testid="threshold-unit">{unit_text}</span> }.into_any()
        }
    };
    let channel_picks = if channels.is_empty() {
        view! {
            <p class="muted">{t!(i18n, "alerts-no-channels")} " " <a href="/alerts/channels">{t!(i18n, "alerts-manage-channels")}</a></p>
        }
        .into_any()
    } else {
        channels
            .into_iter()
            .map(|c| {
                let cid = c.id;
                let kind = c.kind.clone();
                view! {
                    <label class="check">
                        <input type="checkbox" name="channels" value=cid.to_string()
                            prop:checked=move || selected.with(|s| s.contains(&cid))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|s| {
                                    s.retain(|x| *x != cid);
                                    if on {
                                        s.push(cid);
                                    }
                                });
                            }/>
                        {c.name.clone()} " " <span class="muted small">{move || lookup(i18n.0.get(), &format!("channel-kind-{kind}"), &kind)}</span>
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    let is_edit = editing.is_some();
    // In parts, so that no single view type grows too deep.
    let what = view! {
        <label>{t!(i18n, "label-name")}
            <input name="name" required maxlength="100" bind:value=name/>
        </label>
        <label>{t!(i18n, "label-metric")}
            <select name="metric" bind:value=metric disabled=is_edit>
                // Host and pool metrics only for those who see hosts (anyone else would be refused).
                {move || {
                    let hosts = me
                        .get()
                        .and_then(|m| m.ok())
                        .is_some_and(|m| m.can.read_hosts);
                    ALERT_METRICS
                        .into_iter()
                        .filter(|m| hosts || !(m.starts_with("host_") || m.starts_with("pool_")))
                        .map(|m| view! {
                            <option value=m selected=move || metric.get() == m>{move || metric_label(i18n.0.get(), m)}</option>
                        })
                        .collect_view()
                }}
            </select>
        </label>
        <Show when=move || !condition() fallback=move || view! {
            <p class="muted" data-testid="rule-condition-hint">{t!(i18n, "alerts-condition-hint")}</p>
        }>
            <label>{t!(i18n, "label-comparison")}
                <select name="comparison" bind:value=comparison>
                    {COMPARISONS.into_iter().map(|c| view! {
                        <option value=c selected=move || comparison.get() == c>{move || lookup(i18n.0.get(), &format!("comparison-{c}"), c)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, "label-threshold")}
                <span class="input-unit">
                    <input type="number" name="threshold" step="any" min="0" bind:value=threshold/>
                    {threshold_unit_view}
                </span>
            </label>
        </Show>
        <label>{t!(i18n, "label-for_seconds")}
            <span class="input-unit">
                <input type="number" name="for_seconds" min="1" step="1" required bind:value=for_value/>
                <select name="for_unit" bind:value=for_unit aria-label=t!(i18n, "alerts-duration-unit")>
                    <option value="1" selected=move || for_unit.get() == "1">{t!(i18n, "unit-seconds")}</option>
                    <option value="60" selected=move || for_unit.get() == "60">{t!(i18n, "unit-minutes")}</option>
                </select>
            </span>
            <span class="hint">{t!(i18n, "alerts-for-hint")}</span>
        </label>
    }
    .into_any();
    let scope = view! {
        <label>{t!(i18n, "label-scope")}
            <select name="scope_kind" bind:value=scope_kind>
                {SCOPE_KINDS.into_iter().map(|k| view! {
                    <option value=k selected=move || scope_kind.get() == k>{move || lookup(i18n.0.get(), &format!("scope-kind-{k}"), k)}</option>
                }).collect_view()}
            </select>
        </label>
        <Show when=move || matches!(scope_kind.get().as_str(), "vm" | "host" | "owner")>
            <label>{move || { let k = scope_kind.get(); lookup(i18n.0.get(), &format!("scope-id-{k}"), &k) }}
                <input name="scope_id" required bind:value=scope_id/>
            </label>
        </Show>
        <Show when=move || scope_kind.get() == "tag">
            <label>{t!(i18n, "label-scope-value")}
                <input name="scope_value" required maxlength="32" bind:value=scope_value/>
            </label>
        </Show>
    }
    .into_any();
    let how = view! {
        <label>{t!(i18n, "label-severity")}
            <select name="severity" bind:value=severity>
                {SEVERITIES.into_iter().map(|s| view! {
                    <option value=s selected=move || severity.get() == s>{move || severity_label(i18n.0.get(), s)}</option>
                }).collect_view()}
            </select>
        </label>
        <label>{t!(i18n, "label-repeat_seconds")}
            <input type="number" name="repeat_seconds" min="0" step="1" bind:value=repeat/>
            <span class="hint">{t!(i18n, "alerts-repeat-hint")}</span>
        </label>
    }
    .into_any();
    view! {
        <form class="form rule-form" id=form_id.clone() data-testid=form_id on:submit=submit>
            <div class="grid3">
                {what}
                {scope}
                {how}
            </div>
            <fieldset class="channel-picks" data-testid="rule-channels-picker">
                <legend>{t!(i18n, "label-channels")}</legend>
                {channel_picks}
            </fieldset>
            <label class="check"><input type="checkbox" name="enabled" bind:checked=enabled/>{t!(i18n, "label-enabled")}</label>
            <ErrorBox error/>
            <Show when=move || done.get()>
                <div class="alert ok" data-testid="rule-saved">{t!(i18n, "alerts-rule-saved")}</div>
            </Show>
            <div class="actions">
                <button class="btn primary" type="submit" data-testid="rule-submit" disabled=move || busy.get()>
                    {move || lookup(i18n.0.get(), if is_edit { "action-save" } else { "alerts-create-rule" }, "")}
                </button>
                {on_cancel.map(|cancel| view! {
                    <button class="btn" type="button" data-testid="rule-cancel" on:click=move |_| cancel.run(())>{t!(i18n, "action-cancel")}</button>
                })}
            </div>
        </form>
    }
    .into_any()
}
