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
                        let details = if e.details.as_object().is_some_and(|o| o.is_empty()) { String::new() } else { e.details.to_string() };
                        view! {
                            <tr data-testid="audit-row" data-action=e.action.clone() data-result=e.result.clone()>
                                <td class="nowrap">{fmt_time(e.at)}</td>
                                <td>{e.actor.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{e.source.clone().unwrap_or_default()}</td>
                                <td><code>{e.action.clone()}</code></td>
                                <td>{e.target.clone().unwrap_or_default()}</td>
                                <td><span class=format!("badge {}", e.result)>{move || crate::i18n::lookup(i18n.0.get(), &result_key, &result)}</span></td>
                                <td class="details">{details}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
