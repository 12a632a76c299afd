//! The first page after sign-in: one's quota, and recent audit events for those who may read them.
use crate::api::AuditQuery;
use crate::components::layout::use_me;
use crate::components::widgets::{PageError, QuotaUsage};
use crate::i18n::use_i18n;
use crate::pages::audit::list::AuditTable;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    let i18n = use_i18n();
    let me = use_me();
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
