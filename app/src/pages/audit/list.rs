//! Audit records with filters in the address (so a filtered view can be bookmarked), paging and CSV export.
use crate::api::{client, AuditEntry, AuditQuery};
use crate::components::widgets::{fmt_time, PageError, Pager};
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn query_from_url() -> Memo<AuditQuery> {
    let q = use_query_map();
    Memo::new(move |_| {
        let q = q.read();
        let s = |k: &str| q.get(k).filter(|v| !v.is_empty());
        AuditQuery {
            actor: s("actor"),
            action: s("action"),
            result: s("result"),
            from: s("from"),
            to: s("to"),
            page: s("page").and_then(|p| p.parse().ok()),
            per_page: Some(50),
        }
    })
}

#[component]
pub fn AuditList() -> impl IntoView {
    let i18n = use_i18n();
    let query = query_from_url();
    let page = Resource::new(move || query.get(), crate::api::audit::audit);
    let v = move |f: fn(&AuditQuery) -> Option<String>| move || f(&query.get()).unwrap_or_default();
    let result = move || query.get().result.unwrap_or_default();
    view! {
        <h1>{t!(i18n, "audit-title")}</h1>
        <form class="card filters" method="get" action="/audit" data-testid="audit-filters">
            <label>{t!(i18n, "audit-actor")}<input name="actor" prop:value=v(|q| q.actor.clone()) data-testid="filter-actor"/></label>
            <label>{t!(i18n, "audit-action")}<input name="action" placeholder="user." prop:value=v(|q| q.action.clone()) data-testid="filter-action"/></label>
            <label>{t!(i18n, "audit-result")}
                <select name="result" data-testid="filter-result">
                    <option value="" selected=move || result().is_empty()>{t!(i18n, "audit-any")}</option>
                    <option value="ok" selected=move || result() == "ok">{t!(i18n, "result-ok")}</option>
                    <option value="denied" selected=move || result() == "denied">{t!(i18n, "result-denied")}</option>
                    <option value="failed" selected=move || result() == "failed">{t!(i18n, "result-failed")}</option>
                </select>
            </label>
            <label>{t!(i18n, "audit-from")}<input name="from" type="datetime-local" prop:value=v(|q| q.from.clone()) data-testid="filter-from"/></label>
            <label>{t!(i18n, "audit-to")}<input name="to" type="datetime-local" prop:value=v(|q| q.to.clone()) data-testid="filter-to"/></label>
            <div class="actions">
                <button class="btn primary" type="submit" data-testid="filter-submit">{t!(i18n, "action-filter")}</button>
                <a class="btn" href=move || crate::api::audit::audit_csv_url(&query.get()) download="hangar-audit.csv" data-testid="audit-csv">
                    {t!(i18n, "audit-export-csv")}
                </a>
            </div>
        </form>
        <p class="muted">{t!(i18n, "audit-times-utc")}</p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let q = query.get_untracked();
                        let link = move |n: i64| {
                            let mut q = q.clone();
                            q.page = Some(n);
                            q.per_page = None;
                            format!("/audit{}", client::query_string(&q))
                        };
                        view! {
                            <AuditTable items=p.items/>
                            <Pager page=p.page per_page=p.per_page total=p.total link/>
                        }.into_any()
                    }
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AuditTable(items: Vec<AuditEntry>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="table" data-testid="audit-table">
            <thead>
                <tr>
                    <th>{t!(i18n, "audit-time")}</th>
                    <th>{t!(i18n, "audit-actor")}</th>
                    <th>{t!(i18n, "audit-source")}</th>
                    <th>{t!(i18n, "audit-action")}</th>
                    <th>{t!(i18n, "audit-target")}</th>
                    <th>{t!(i18n, "audit-result")}</th>
                    <th>{t!(i18n, "audit-details")}</th>
                </tr>
            </thead>
            <tbody>
                {items
                    .into_iter()
                    .map(|e| {
                        let result_key = format!("result-{}", e.result);
                        let result = e.result.clone();
                        let (action, target, details) = (e.action.clone(), e.target.clone().unwrap_or_default(), e.details.clone());
                        view! {
                            <tr data-testid="audit-row" data-action=e.action.clone() data-result=e.result.clone()>
                                <td class="nowrap">{fmt_time(e.at)}</td>
                                <td>{e.actor.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{e.source.clone().unwrap_or_default()}</td>
                                <td title=e.action.clone()>{move || action_text(i18n, &action)}</td>
                                <td class="wrap">{target_view(i18n, &target)}</td>
                                <td><span class=format!("badge {}", e.result)>{move || crate::i18n::lookup(i18n.0.get(), &result_key, &result)}</span></td>
                                <td class="details">{move || details_text(i18n, &details)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// `vm.start` → "Start VM", in the UI's language (the raw name stays in the tooltip and the CSV).
pub fn action_text(i18n: crate::i18n::I18n, action: &str) -> String {
    let key = format!("audit-action-{}", action.replace(['.', '_'], "-"));
    crate::i18n::lookup(i18n.0.get(), &key, action)
}

/// `vm:<uuid>` → "VM" linked to its page; `user:3` → "User 3" linked; anything else as written.
fn target_view(i18n: crate::i18n::I18n, target: &str) -> AnyView {
    let Some((kind, rest)) = target.split_once(':') else {
        return target.to_string().into_any();
    };
    let (kind, rest) = (kind.to_string(), rest.to_string());
    let label = move || crate::i18n::lookup(i18n.0.get(), &format!("audit-target-{kind}"), &kind);
    let href = match target.split_once(':') {
        Some(("vm", id)) => Some(format!("/vms/{id}")),
        Some(("user", id)) if id.parse::<i64>().is_ok() => Some(format!("/users/{id}")),
        Some(("host", id)) if id.parse::<i64>().is_ok() => Some(format!("/hosts/{id}")),
        _ => None,
    };
    match href {
        Some(h) => view! { {label} " " <a href=h>{rest}</a> }.into_any(),
        None => view! { {label} " " {rest} }.into_any(),
    }
}

/// The details as "name: value" pairs in words, instead of raw JSON.
pub fn details_text(i18n: crate::i18n::I18n, details: &serde_json::Value) -> String {
    let lang = i18n.0.get();
    let Some(map) = details.as_object() else {
        return details.to_string();
    };
    fn value(lang: crate::i18n::Lang, v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(true) => crate::i18n::lookup(lang, "yes", "yes"),
            serde_json::Value::Bool(false) => crate::i18n::lookup(lang, "no", "no"),
            serde_json::Value::Array(a) => a.iter().map(|x| value(lang, x)).collect::<Vec<_>>().join(", "),
            serde_json::Value::Object(o) => o
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{} {}", k.replace('_', " "), value(lang, v)))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        }
    }
    map.iter()
        .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        .map(|(k, v)| {
            let name = crate::i18n::lookup(lang, &format!("audit-detail-{}", k.replace('_', "-")), k);
            format!("{name}: {}", value(lang, v))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
