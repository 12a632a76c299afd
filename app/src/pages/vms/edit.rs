//! Editing a VM: name, tags, owner (admins pick a user by name), description, vCPUs, memory and autostart.
//! Errors appear in the form, next to the field they are about; only what changed is sent; "Saved." appears
//! only when something was saved, and the page then shows what the VM really has (also after a partial save).
use crate::api::{ApiError, UpdateVm, User, VmDetail};
use crate::components::widgets::ErrorBox;
use crate::i18n::use_i18n;
use crate::t;
use leptos::prelude::*;

/// The form's fields, as typed.
#[derive(Clone, Copy)]
struct Fields {
    name: RwSignal<String>,
    description: RwSignal<String>,
    tags: RwSignal<String>,
    autostart: RwSignal<bool>,
    vcpus: RwSignal<String>,
    max_vcpus: RwSignal<String>,
    memory: RwSignal<String>,
    max_memory: RwSignal<String>,
    owner: RwSignal<String>,
}

impl Fields {
    fn new(d: &VmDetail) -> Fields {
        let f = Fields {
            name: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            tags: RwSignal::new(String::new()),
            autostart: RwSignal::new(false),
            vcpus: RwSignal::new(String::new()),
            max_vcpus: RwSignal::new(String::new()),
            memory: RwSignal::new(String::new()),
            max_memory: RwSignal::new(String::new()),
            owner: RwSignal::new(String::new()),
        };
        f.reset(d);
        f
    }

    fn reset(&self, d: &VmDetail) {
        self.name.set(d.vm.name.clone());
        self.description.set(d.description.clone());
        self.tags.set(d.vm.tags.join(", "));
        self.autostart.set(d.autostart);
        self.vcpus.set(d.vm.vcpus.to_string());
        self.max_vcpus.set(d.max_vcpus.to_string());
        self.memory.set(d.vm.memory_mib.to_string());
        self.max_memory.set(d.max_memory_mib.to_string());
        self.owner.set(d.vm.owner_id.unwrap_or(0).to_string());
    }
}

/// A field that must hold a whole number within `min..=max`; the error names the field and its rule.
fn whole(field: &'static str, text: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    match text.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError {
            code: "invalid_input".into(),
            message: format!("{field}: a whole number from {min} to {max}"),
            details: serde_json::json!({ "field": field, "reason": "out_of_range", "min": min, "max": max }),
        }),
    }
}

fn tag_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// What the form asks to change, compared with `before`; an error for the first field that is not valid.
fn changes(f: &Fields, before: &VmDetail, admin: bool) -> Result<UpdateVm, ApiError> {
    let changed = |new: i64, old: i64| (new != old).then_some(new);
    let vcpus = whole("vcpus", &f.vcpus.get_untracked(), 1, 512)?;
    let max_vcpus = whole("max_vcpus", &f.max_vcpus.get_untracked(), 1, 512)?;
    let memory = whole("memory_mib", &f.memory.get_untracked(), 16, 4 * 1024 * 1024)?;
    let max_memory = whole("max_memory_mib", &f.max_memory.get_untracked(), 16, 4 * 1024 * 1024)?;
    let tags = tag_list(&f.tags.get_untracked());
    Ok(UpdateVm {
        name: Some(f.name.get_untracked().trim().to_string()).filter(|n| *n != before.vm.name),
        description: Some(f.description.get_untracked()).filter(|x| *x != before.description),
        tags: (tags != before.vm.tags).then_some(tags),
        autostart: Some(f.autostart.get_untracked()).filter(|a| *a != before.autostart),
        vcpus: changed(vcpus, before.vm.vcpus),
        max_vcpus: changed(max_vcpus, before.max_vcpus),
        memory_mib: changed(memory, before.vm.memory_mib),
        max_memory_mib: changed(max_memory, before.max_memory_mib),
        owner_id: if admin {
            let owner = f.owner.get_untracked().parse().unwrap_or(0);
            changed(owner, before.vm.owner_id.unwrap_or(0))
        } else {
            None
        },
    })
}

/// The error's field, if it is about one.
fn field_of(e: &ApiError) -> Option<String> {
    e.details.get("field").and_then(|f| f.as_str()).map(String::from)
}

/// The error under a field, when it is about that field.
#[component]
fn FieldError(error: RwSignal<Option<ApiError>>, field: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().filter(|e| field_of(e).as_deref() == Some(field)).map(
            |e| view! { <span class="field-error" data-testid=format!("field-error-{field}")>{i18n.error(&e)}</span> },
        )
    }
}

#[component]
pub fn EditForm(detail: RwSignal<VmDetail>, can_assign: bool, on_saved: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let admin = can_assign;
    let f = Fields::new(&detail.get_untracked());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<&'static str>);
    let saving = RwSignal::new(false);
    // The form follows the VM when it changes elsewhere (another tab, virsh), unless the user is typing.
    let dirty = RwSignal::new(false);
    Effect::new(move |_| {
        let d = detail.get();
        if !dirty.get_untracked() {
            f.reset(&d);
        }
    });
    // Fetched in the browser once the page is live: the server-rendered form shows the current owner only,
    // so hydration finds exactly what the server sent.
    let users = RwSignal::new(Vec::<User>::new());
    Effect::new(move |_| {
        if admin {
            leptos::task::spawn_local(async move {
                if let Ok(list) = crate::api::users::list_users().await {
                    users.try_set(list);
                }
            });
        }
    });
    let current_owner = detail.with_untracked(|d| d.vm.owner_id.zip(d.vm.owner.clone()));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let before = detail.get_untracked();
        let req = match changes(&f, &before, admin) {
            Ok(r) => r,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        if req == UpdateVm::default() {
            error.set(None);
            notice.set(Some("nothing"));
            return;
        }
        saving.set(true);
        let id = before.vm.id.clone();
        leptos::task::spawn_local(async move {
            let r = crate::api::vms::update_vm(id, req).await;
            if saving.try_set(false).is_some() {
                return; // the page was left meanwhile
            }
            match r {
                Ok(d) => {
                    dirty.set(false);
                    error.set(None);
                    notice.set(Some("saved"));
                    f.reset(&d);
                    detail.set(d);
                }
                // A refusal or a partial change: show why beside the field, keep what was typed, and let the
                // panels above show what the VM has now.
                Err(e) => {
                    dirty.set(true);
                    error.set(Some(e));
                    on_saved.run(());
                }
            }
        });
    };
    let general = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| general.set(error.get().filter(|e| field_of(e).is_none())));
    let input = move |sig: RwSignal<String>| {
        move |ev: leptos::ev::Event| {
            dirty.set(true);
            sig.set(event_target_value(&ev));
        }
    };
    view! {
        <form class="card form" on:submit=save data-testid="vm-edit" novalidate>
            <h2>{t!(i18n, "vms-edit")}</h2>
            <ErrorBox error=general/>
            <div class="grid3">
                <label>{t!(i18n, "vms-name")}
                    <input prop:value=move || f.name.get() on:input=input(f.name) data-testid="vm-edit-name"/>
                    <span class="hint">{t!(i18n, "vm-name-rule")}</span>
                    <FieldError error field="name"/>
                </label>
                <label>{t!(i18n, "vms-tags")}
                    <input prop:value=move || f.tags.get() on:input=input(f.tags) placeholder=move || crate::i18n::lookup(i18n.0.get(), "vm-tags-placeholder", "") data-testid="vm-edit-tags"/>
                    <FieldError error field="tags"/>
                </label>
                {admin.then(|| view! {
                    <label>{t!(i18n, "vms-owner")}
                        <select data-testid="vm-edit-owner" on:change=input(f.owner) prop:value=move || f.owner.get()>
                            <option value="0">{t!(i18n, "vm-no-owner")}</option>
                            {move || {
                                let list = users.get();
                                let options: Vec<(i64, String)> = if list.is_empty() {
                                    current_owner.clone().into_iter().collect()
                                } else {
                                    list.into_iter().map(|u| {
                                        let label = if u.display_name.is_empty() { u.username.clone() } else { format!("{} ({})", u.display_name, u.username) };
                                        (u.id, label)
                                    }).collect()
                                };
                                options.into_iter().map(|(id, label)| view! {
                                    <option value=id.to_string() selected=move || f.owner.get() == id.to_string()>{label}</option>
                                }).collect_view()
                            }}
                        </select>
                        <FieldError error field="owner_id"/>
                    </label>
                })}
            </div>
            <label>{t!(i18n, "vms-description")}
                <textarea prop:value=move || f.description.get() on:input=input(f.description) data-testid="vm-edit-description"></textarea>
                <FieldError error field="description"/>
            </label>
            <div class="grid4">
                <label>{t!(i18n, "vms-vcpus-current")}<input type="number" min="1" max="512" prop:value=move || f.vcpus.get() on:input=input(f.vcpus) data-testid="vm-edit-vcpus"/><FieldError error field="vcpus"/></label>
                <label>{t!(i18n, "vms-vcpus-max")}<input type="number" min="1" max="512" prop:value=move || f.max_vcpus.get() on:input=input(f.max_vcpus) data-testid="vm-edit-max-vcpus"/><FieldError error field="max_vcpus"/></label>
                <label>{t!(i18n, "vms-memory-current")}<input type="number" min="16" prop:value=move || f.memory.get() on:input=input(f.memory) data-testid="vm-edit-memory"/><FieldError error field="memory_mib"/></label>
                <label>{t!(i18n, "vms-memory-max")}<input type="number" min="16" prop:value=move || f.max_memory.get() on:input=input(f.max_memory) data-testid="vm-edit-max-memory"/><FieldError error field="max_memory_mib"/></label>
            </div>
            <label class="check"><input type="checkbox" prop:checked=move || f.autostart.get() on:change=move |ev| { dirty.set(true); f.autostart.set(event_target_checked(&ev)); } data-testid="vm-edit-autostart"/>{t!(i18n, "vms-autostart")}</label>
            {move || notice.get().map(|n| if n == "saved" {
                view! { <div class="alert ok" data-testid="vm-saved">{t!(i18n, "saved")}</div> }.into_any()
            } else {
                view! { <div class="alert" data-testid="vm-nothing-to-save">{t!(i18n, "nothing-to-save")}</div> }.into_any()
            })}
            <div class="actions">
                <button class="btn primary" type="submit" data-testid="vm-save" disabled=move || saving.get()>
                    {move || if saving.get() { crate::i18n::lookup(i18n.0.get(), "saving", "…") } else { crate::i18n::lookup(i18n.0.get(), "action-save", "Save") }}
                </button>
            </div>
        </form>
    }
    .into_any()
}
