//! Deleting a VM, confirmed, with or without its disk volumes, and the report of what happened to each disk.
use crate::api::{ApiError, VmDeleted};
use crate::components::widgets::ErrorBox;
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[component]
pub fn DeleteSection(id: String, on_deleted: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = RwSignal::new(false);
    let with_disks = RwSignal::new(false);
    let deleting = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let deleted = RwSignal::new(None::<VmDeleted>);
    let delete = move |_| {
        let id = id.clone();
        deleting.set(true);
        leptos::task::spawn_local(async move {
            let r = crate::api::vms::delete_vm(id, with_disks.get_untracked()).await;
            if deleting.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(report) => {
                    deleted.set(Some(report));
                    on_deleted.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card danger">
            <h2>{t!(i18n, "vms-delete")}</h2>
            <ErrorBox error/>
            {move || match deleted.get() {
                Some(r) => view! { <DeleteReport report=r/> }.into_any(),
                None => {
                    let delete = delete.clone();
                    view! {
                    <Show when=move || confirm.get() fallback=move || view! {
                        <button class="btn danger" data-testid="vm-delete" on:click=move |_| confirm.set(true)>{t!(i18n, "vms-delete")}</button>
                    }>
                        <p>{t!(i18n, "vms-delete-confirm")}</p>
                        <label class="check"><input type="checkbox" bind:checked=with_disks data-testid="vm-delete-disks"/>{t!(i18n, "vms-delete-disks")}</label>
                        <button class="btn danger" data-testid="vm-delete-confirm" disabled=move || deleting.get() on:click=delete.clone()>{t!(i18n, "action-delete")}</button>
                        <button class="btn" disabled=move || deleting.get() on:click=move |_| confirm.set(false)>{t!(i18n, "action-cancel")}</button>
                    </Show>
                }.into_any()
                }
            }}
        </section>
    }
    .into_any()
}

/// What deleting the VM did with each disk: deleted, or kept and why.
#[component]
fn DeleteReport(report: VmDeleted) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div data-testid="vm-deleted-report">
            <div class="alert ok">{t!(i18n, "vms-deleted")}</div>
            <ul class="disk-report">
                {report.disks_deleted.into_iter().map(|p| view! {
                    <li data-testid="disk-deleted"><code>{p}</code> " " {t!(i18n, "vms-disk-deleted")}</li>
                }).collect_view()}
                {report.disks_kept.into_iter().map(|k| {
                    let reason = k.reason.clone();
                    view! {
                        <li data-testid="disk-kept" data-reason=k.reason.clone()><code>{k.path}</code> " "
                            {move || crate::i18n::lookup(i18n.0.get(), &format!("vms-disk-kept-{reason}"), &reason)}</li>
                    }
                }).collect_view()}
            </ul>
            <p><a class="btn" href="/vms" data-testid="vm-deleted-back">{t!(i18n, "vms-back")}</a></p>
        </div>
    }
}
