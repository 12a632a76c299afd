//! The four quota limits as number inputs, shared by the create form and the user page.
use crate::api::QuotaLimits;
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct QuotaInputs {
    pub vms: RwSignal<String>,
    pub vcpus: RwSignal<String>,
    pub memory: RwSignal<String>,
    pub disk: RwSignal<String>,
}

impl QuotaInputs {
    pub fn new(q: &QuotaLimits) -> Self {
        Self {
            vms: RwSignal::new(q.max_vms.to_string()),
            vcpus: RwSignal::new(q.max_vcpus.to_string()),
            memory: RwSignal::new(q.max_memory_mib.to_string()),
            disk: RwSignal::new(q.max_disk_gib.to_string()),
        }
    }

    /// The limits, or the name of the first field that is not a whole number.
    pub fn limits(&self) -> Result<QuotaLimits, &'static str> {
        let p = |s: RwSignal<String>, f: &'static str| s.get_untracked().trim().parse::<i64>().map_err(|_| f);
        Ok(QuotaLimits {
            max_vms: p(self.vms, "max_vms")?,
            max_vcpus: p(self.vcpus, "max_vcpus")?,
            max_memory_mib: p(self.memory, "max_memory_mib")?,
            max_disk_gib: p(self.disk, "max_disk_gib")?,
        })
    }
}

#[component]
pub fn QuotaFields(inputs: QuotaInputs, #[prop(optional)] usage: Option<[i64; 4]>) -> impl IntoView {
    let i18n = use_i18n();
    let used =
        move |i: usize| usage.map(|u| view! { <span class="muted used">{t!(i18n, "quota-used", n = u[i])}</span> });
    view! {
        <div class="grid4">
            <label>
                {t!(i18n, "quota-vms")}
                <input type="number" min="0" step="1" data-testid="quota-max-vms" bind:value=inputs.vms/>
                {used(0)}
            </label>
            <label>
                {t!(i18n, "quota-vcpus")}
                <input type="number" min="0" step="1" data-testid="quota-max-vcpus" bind:value=inputs.vcpus/>
                {used(1)}
            </label>
            <label>
                {t!(i18n, "quota-memory-mib")}
                <input type="number" min="0" step="1" data-testid="quota-max-memory" bind:value=inputs.memory/>
                {used(2)}
            </label>
            <label>
                {t!(i18n, "quota-disk-gib")}
                <input type="number" min="0" step="1" data-testid="quota-max-disk" bind:value=inputs.disk/>
                {used(3)}
            </label>
        </div>
    }
}
