//! The first page after sign-in: what one opens it for. VMs by state (each a link to the filtered list),
//! hosts and their status for those who may see hosts, one's quota, and recent activity for those who may read
//! the audit log (otherwise one's own VMs).
use crate::api::{AuditQuery, VmQuery};
use crate::components::layout::use_me;
use crate::components::widgets::{PageError, QuotaUsage};
use crate::i18n::use_i18n;
use crate::pages::audit::list::AuditTable;
use crate::pages::hosts::list::status_label;
use crate::pages::vms::actions::StateBadge;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    let i18n = use_i18n();
    let me = use_me();
    // Made with the page (not inside another resource's loading), so hydration finds them where SSR put them.
    let vms = Resource::new(
        || (),
        |_| {
            crate::api::vms::list_vms(VmQuery {
                per_page: Some(5),
                sort: Some("-state".into()),
                ..Default::default()
            })
        },
    );
    let hosts = Resource::new(
        || (),
        move |_| async move {
            match me.await {
                Ok(m) if m.can.read_hosts => crate::api::hosts::list_hosts().await.map(Some),
                _ => Ok(None),
            }
        },
    );
    let recent = Resource::new(
        || (),
        move |_| async move {
            match me.await {
                Ok(m) if m.can.read_audit => crate::api::audit::audit(AuditQuery {
                    per_page: Some(10),
                    ..Default::default()
                })
                .await
                .map(Some),
                _ => Ok(None),
            }
        },
    );
    view! {
        <h1>{t!(i18n, "dashboard-title")}</h1>
        <div class="dash-grid">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match vms.await {
                        Ok(p) => view! {
                            <section class="card" data-testid="dash-vms">
                                <h2>{t!(i18n, "dashboard-vms")} " " <span class="muted">{p.total}</span></h2>
                                <ul class="state-counts">
                                    {p.by_state.into_iter().map(|(s, n)| view! {
                                        <li data-testid=format!("dash-state-{}", s.as_str())>
                                            <a href=format!("/vms?state={}", s.as_str())><StateBadge state=Signal::derive(move || s)/> " " <strong>{n}</strong></a>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                {(p.total == 0).then(|| view! { <p class="muted">{t!(i18n, "vms-empty")}</p> })}
                                <p><a href="/vms">{t!(i18n, "dashboard-all-vms")}</a></p>
                            </section>
                        }.into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match hosts.await {
                        Ok(Some(list)) => view! {
                            <section class="card" data-testid="dash-hosts">
                                <h2>{t!(i18n, "nav-hosts")}</h2>
                                <ul class="host-status">
                                    {list.into_iter().map(|h| {
                                        let status = h.status;
                                        view! {
                                            <li data-testid=format!("dash-host-{}", h.name)>
                                                <a href=format!("/hosts/{}", h.id) class="wrap">{h.name.clone()}</a> " "
                                                <span class=format!("badge host-{:?}", status).to_lowercase() data-status=format!("{status:?}").to_lowercase()>{move || status_label(i18n, status)}</span>
                                                {h.maintenance.then(|| view! { " " <span class="badge">{t!(i18n, "hosts-maintenance")}</span> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </section>
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(m) => view! {
                            <section class="card">
                                <h2>{t!(i18n, "dashboard-my-quota")}</h2>
                                <QuotaUsage quota=m.user.quota/>
                            </section>
                        }.into_any(),
                        Err(e) => view! { <PageError error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
        <crate::pages::monitoring::DashboardOverview/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match recent.await {
                    Ok(Some(page)) => view! {
                        <section class="card" data-testid="recent-audit">
                            <h2>{t!(i18n, "dashboard-recent-events")}</h2>
                            <AuditTable items=page.items/>
                            <p><a href="/audit">{t!(i18n, "dashboard-all-events")}</a></p>
                        </section>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <PageError error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
