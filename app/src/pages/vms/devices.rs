//! The VM page's provisioning panels: the cloud-init settings it was made with, ending an ISO installation,
//! disks (add, grow, detach), the CD-ROM, NICs (add, link, remove), the boot order, clone and password reset.
use crate::api::client::ApiResult;
use crate::api::{
    AddNic, ApiError, AttachDisk, BootOrder, CloneVm, Image, NetworkRef, NewDisk, PasswordReset, ResetPassword,
    ResizeDisk, SetCdrom, Task, TaskState, UpdateNic, VmDetail,
};
use crate::i18n::use_i18n;
use crate::pages::tasks::TaskProgress;
use crate::t;
use leptos::prelude::*;
use std::future::Future;

/// Runs one change; its answer (the VM as it now is) goes to `on_change`, a refusal to `error`.
fn run<Fut>(busy: RwSignal<bool>, error: RwSignal<Option<ApiError>>, on_change: Callback<VmDetail>, call: Fut)
where
    Fut: Future<Output = ApiResult<VmDetail>> + 'static,
{
    busy.set(true);
    leptos::task::spawn_local(async move {
        let r = call.await;
        if busy.try_set(false).is_some() {
            return;
        }
        match r {
            Ok(d) => {
                error.set(None);
                on_change.run(d);
            }
            Err(e) => error.set(Some(e)),
        }
    });
}

/// Asks before a change that cannot simply be taken back (the browser's own dialog; during SSR nothing is
/// clicked).
pub(super) fn confirmed(i18n: crate::i18n::I18n, key: &str, args: &[(&'static str, String)]) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let msg = crate::i18n::lookup_args(i18n.0.get_untracked(), key, args);
        window().confirm_with_message(&msg).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (i18n, key, args);
        true
    }
}

/// What cloud-init was given when the VM was made (the password only as "set").
#[component]
pub fn CloudInitPanel(detail: RwSignal<VmDetail>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        detail.get().cloud_init.map(|c| {
            let keys = c.ssh_keys.iter().map(|k| {
                let mut p = k.split_whitespace();
                let (kind, body, comment) = (p.next().unwrap_or(""), p.next().unwrap_or(""), p.next().unwrap_or(""));
                // The key itself is long: its type, its end and its comment say which it is.
                format!("{kind} …{} {comment}", &body[body.len().saturating_sub(12)..])
            }).collect::<Vec<_>>();
            view! {
                <section class="card" data-testid="vm-cloud-init">
                    <h2>"cloud-init"</h2>
                    <dl class="facts">
                        <dt>{t!(i18n, "create-ci-hostname")}</dt><dd data-testid="ci-hostname">{c.hostname.clone()}</dd>
                        <dt>{t!(i18n, "create-ci-user")}</dt><dd data-testid="ci-user">{c.user.clone()}</dd>
                        <dt>{t!(i18n, "field-password")}</dt><dd data-testid="ci-password">{if c.password_set { "••••••••" } else { "—" }}</dd>
                        <dt>{t!(i18n, "create-ci-keys")}</dt><dd data-testid="ci-keys">{keys.into_iter().map(|k| view! { <div><code>{k}</code></div> }).collect_view()}</dd>
                        <dt>{t!(i18n, "create-ci-address")}</dt><dd>{c.network.as_ref().map(|n| format!("{} {} {}", n.address, n.gateway, n.dns.join(" "))).unwrap_or_else(|| "DHCP".into())}</dd>
                        <dt>{t!(i18n, "create-ci-packages")}</dt><dd>{c.packages.join(" ")}</dd>
                        <dt>{t!(i18n, "create-ci-runcmd")}</dt><dd>{c.runcmd.iter().map(|r| view! { <div><code>{r.clone()}</code></div> }).collect_view()}</dd>
                        <dt>"instance-id"</dt><dd><code>{c.instance_id.clone()}</code></dd>
                        <dt>{t!(i18n, "create-plan-seed")}</dt><dd><code>{c.seed_volume.clone()}</code></dd>
                    </dl>
                </section>
            }
        })
    }
}

/// While the VM boots from its installation ISO: a button that ejects it and boots from the disk.
#[component]
pub fn InstallBanner(
    id: String,
    detail: RwSignal<VmDetail>,
    on_change: Callback<()>,
    error: RwSignal<Option<ApiError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let busy = RwSignal::new(false);
    let finish = move |_| {
        if !confirmed(i18n, "vm-finish-install-confirm", &[]) {
            return;
        }
        busy.set(true);
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let r = crate::api::vm_create::finish_install(id).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(_) => on_change.run(()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Show when=move || detail.with(|d| d.installing)>
            <div class="alert" data-testid="vm-installing">
                {t!(i18n, "vm-installing")} " "
                <button class="btn primary" on:click=finish.clone() disabled=move || busy.get() data-testid="vm-finish-install">{t!(i18n, "vm-finish-install")}</button>
            </div>
        </Show>
    }
}

/// Disks, CD-ROM, NICs and the boot order.
#[component]
pub fn DevicesPanel(
    id: String,
    detail: RwSignal<VmDetail>,
    isos: Resource<Result<Vec<Image>, ApiError>>,
    on_change: Callback<VmDetail>,
) -> impl IntoView {
    let i18n = use_i18n();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let id = StoredValue::new(id);
    let new_size = RwSignal::new("10".to_string());
    let disk = RwSignal::new(String::new());
    let grow_to = RwSignal::new(String::new());
    let delete_volume = RwSignal::new(false);
    let iso = RwSignal::new(String::new());
    let net_kind = RwSignal::new("network".to_string());
    let net_name = RwSignal::new("default".to_string());
    let model = RwSignal::new("virtio".to_string());
    let nic = RwSignal::new(String::new());
    let boot = RwSignal::new(String::new());
    // Filled from the VM until the user types in it.
    let boot_touched = RwSignal::new(false);
    Effect::new(move |_| {
        let d = detail.get();
        let disks: Vec<_> = d.disks.iter().filter(|k| k.device == "disk").collect();
        if !disks.iter().any(|k| k.target == disk.get_untracked()) {
            disk.set(disks.first().map(|k| k.target.clone()).unwrap_or_default());
        }
        if !d
            .nics
            .iter()
            .any(|n| n.mac.clone().unwrap_or_default() == nic.get_untracked())
        {
            nic.set(d.nics.first().and_then(|n| n.mac.clone()).unwrap_or_default());
        }
        if !boot_touched.get_untracked() {
            // "2: vda", "1: hdc" → "hdc, vda": in the order they boot.
            let mut order: Vec<(u32, String)> = d
                .boot_order
                .iter()
                .filter_map(|b| {
                    b.split_once(": ")
                        .and_then(|(n, t)| Some((n.parse().ok()?, t.to_string())))
                })
                .collect();
            order.sort();
            boot.set(order.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(", "));
        }
    });
    let vm = move || id.get_value();
    let add_disk = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = AttachDisk {
            new: Some(NewDisk {
                pool: None,
                size_gib: new_size.get_untracked().trim().parse().unwrap_or(0),
            }),
            ..Default::default()
        };
        run(busy, error, on_change, crate::api::vm_devices::attach_disk(vm(), req));
    };
    let grow = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = ResizeDisk {
            size_gib: grow_to.get_untracked().trim().parse().unwrap_or(0),
        };
        run(
            busy,
            error,
            on_change,
            crate::api::vm_devices::resize_disk(vm(), disk.get_untracked(), req),
        );
    };
    let detach = move |_| {
        let delete = delete_volume.get_untracked();
        let key = if delete {
            "vm-detach-delete-confirm"
        } else {
            "vm-detach-confirm"
        };
        if !confirmed(i18n, key, &[("disk", disk.get_untracked())]) {
            return;
        }
        // Never carried over to the next disk.
        delete_volume.set(false);
        run(
            busy,
            error,
            on_change,
            crate::api::vm_devices::detach_disk(vm(), disk.get_untracked(), delete),
        );
    };
    let insert = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = SetCdrom {
            target: None,
            iso: iso.get_untracked().parse().ok(),
        };
        run(busy, error, on_change, crate::api::vm_devices::set_cdrom(vm(), req));
    };
    let eject = move |_| {
        run(
            busy,
            error,
            on_change,
            crate::api::vm_devices::set_cdrom(vm(), SetCdrom::default()),
        )
    };
    let add_nic = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = net_name.get_untracked().trim().to_string();
        let network = if net_kind.get_untracked() == "bridge" {
            NetworkRef::Bridge(name)
        } else {
            NetworkRef::Network(name)
        };
        let req = AddNic {
            network,
            model: Some(model.get_untracked()),
            mac: None,
        };
        run(busy, error, on_change, crate::api::vm_devices::add_nic(vm(), req));
    };
    let link = move |up: bool| {
        if !up && !confirmed(i18n, "vm-nic-down-confirm", &[("mac", nic.get_untracked())]) {
            return;
        }
        run(
            busy,
            error,
            on_change,
            crate::api::vm_devices::update_nic(vm(), nic.get_untracked(), UpdateNic { link_up: up }),
        )
    };
    let remove_nic = move |_| {
        if !confirmed(i18n, "vm-nic-remove-confirm", &[("mac", nic.get_untracked())]) {
            return;
        }
        run(
            busy,
            error,
            on_change,
            crate::api::vm_devices::remove_nic(vm(), nic.get_untracked()),
        );
    };
    let set_boot = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let order = boot
            .get_untracked()
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        boot_touched.set(false);
        run(
            busy,
            error,
            on_change,
            crate::api::vm_devices::set_boot_order(vm(), BootOrder { order }),
        );
    };
    let has_cdrom = move || detail.with(|d| d.disks.iter().any(|k| k.device == "cdrom"));
    view! {
        <section class="card" data-testid="vm-devices">
            <h2>{t!(i18n, "vm-devices")}</h2>
            <crate::components::widgets::ErrorBox error/>
            <form class="inline" on:submit=add_disk data-testid="disk-add">
                <label>{t!(i18n, "vm-disk-new")}<input type="number" min="1" max="65536" bind:value=new_size data-testid="disk-add-size"/>" GiB"</label>
                <button class="btn" type="submit" disabled=move || busy.get()>{t!(i18n, "vm-disk-add")}</button>
            </form>
            <form class="inline" on:submit=grow data-testid="disk-grow">
                <label>{t!(i18n, "vms-disks")}
                    <select bind:value=disk data-testid="disk-select">
                        {move || detail.with(|d| d.disks.iter().filter(|k| k.device == "disk").map(|k| {
                            let t = k.target.clone();
                            view! { <option value=t.clone()>{format!("{t} ({})", k.capacity_bytes.map(|b| format!("{:.1} GiB", b as f64 / 1073741824.0)).unwrap_or_default())}</option> }
                        }).collect_view())}
                    </select>
                </label>
                <label>{t!(i18n, "vm-disk-grow-to")}<input type="number" min="1" bind:value=grow_to data-testid="disk-grow-size"/>" GiB"</label>
                <button class="btn" type="submit" disabled=move || busy.get() || disk.get().is_empty()>{t!(i18n, "vm-disk-grow")}</button>
                <label class="check"><input type="checkbox" bind:checked=delete_volume/>{t!(i18n, "vm-disk-delete-volume")}</label>
                <button class="btn danger" type="button" on:click=detach disabled=move || busy.get() || disk.get().is_empty() data-testid="disk-detach">{t!(i18n, "vm-disk-detach")}</button>
            </form>
            <Show when=has_cdrom>
                <form class="inline" on:submit=insert data-testid="cdrom">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = isos.await.unwrap_or_default();
                            view! {
                                <label>"CD-ROM"
                                    <select bind:value=iso data-testid="cdrom-iso">
                                        <option value="">"—"</option>
                                        {list.into_iter().map(|i| view! { <option value=i.id.to_string()>{i.name}</option> }).collect_view()}
                                    </select>
                                </label>
                            }
                        })}
                    </Suspense>
                    <button class="btn" type="submit" disabled=move || busy.get() || iso.get().is_empty() data-testid="cdrom-insert">{t!(i18n, "vm-cdrom-insert")}</button>
                    <button class="btn" type="button" on:click=eject disabled=move || busy.get() data-testid="cdrom-eject">{t!(i18n, "vm-cdrom-eject")}</button>
                </form>
            </Show>
            <form class="inline" on:submit=add_nic data-testid="nic-add">
                <label>{t!(i18n, "vms-network")}
                    <select bind:value=net_kind>
                        <option value="network">{t!(i18n, "create-net-network")}</option>
                        <option value="bridge">{t!(i18n, "create-net-bridge")}</option>
                    </select>
                </label>
                <label>{t!(i18n, "create-net-name")}<input required bind:value=net_name data-testid="nic-add-name"/></label>
                <label>{t!(i18n, "vms-model")}
                    <select bind:value=model>
                        <option value="virtio">"virtio"</option><option value="e1000">"e1000"</option><option value="rtl8139">"rtl8139"</option>
                    </select>
                </label>
                <button class="btn" type="submit" disabled=move || busy.get()>{t!(i18n, "vm-nic-add")}</button>
            </form>
            <Show when=move || detail.with(|d| !d.nics.is_empty())>
                <div class="inline">
                    <label>"NIC"
                        <select bind:value=nic data-testid="nic-select">
                            {move || detail.with(|d| d.nics.iter().map(|n| {
                                let m = n.mac.clone().unwrap_or_default();
                                view! { <option value=m.clone()>{format!("{m} · {}", n.source)}</option> }
                            }).collect_view())}
                        </select>
                    </label>
                    <button class="btn" on:click=move |_| link(true) disabled=move || busy.get()>{t!(i18n, "vm-nic-link-up")}</button>
                    <button class="btn" on:click=move |_| link(false) disabled=move || busy.get()>{t!(i18n, "vm-nic-link-down")}</button>
                    <button class="btn danger" on:click=remove_nic disabled=move || busy.get() data-testid="nic-remove">{t!(i18n, "vm-nic-remove")}</button>
                </div>
            </Show>
            <form class="inline" on:submit=set_boot data-testid="boot-order">
                <label>{t!(i18n, "vms-boot-order")}<input bind:value=boot on:input=move |_| boot_touched.set(true) placeholder="hdc, vda" data-testid="boot-order-input"/></label>
                <button class="btn" type="submit" disabled=move || busy.get()>{t!(i18n, "action-save")}</button>
                <small class="muted">{t!(i18n, "vm-boot-order-hint")}</small>
            </form>
        </section>
    }
    .into_any()
}

/// Clone (a task, then a link to the copy) and password reset.
#[component]
pub fn ClonePasswordPanel(
    id: String,
    detail: RwSignal<VmDetail>,
    /// Task events from the page's own event stream (one stream per page).
    tasks: RwSignal<Option<Task>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let name = RwSignal::new(String::new());
    let full = RwSignal::new(false);
    let start = RwSignal::new(true);
    let task = RwSignal::new(None::<Task>);
    let copy = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let reset = RwSignal::new(None::<PasswordReset>);
    let id = StoredValue::new(id);
    Effect::new(move |_| {
        if let Some(t) = tasks.get() {
            if task.with_untracked(|c| c.as_ref().is_some_and(|c| c.id == t.id)) {
                task.set(Some(t));
            }
        }
    });
    let clone = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let req = CloneVm {
            name: name.get_untracked().trim().into(),
            full: full.get_untracked(),
            start: start.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::vm_devices::clone_vm(id.get_value(), req).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(c) => {
                    error.set(None);
                    copy.set(c.vm_id);
                    task.set(Some(c.task));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let reset_pw = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !confirmed(i18n, "vm-password-confirm", &[]) {
            return;
        }
        busy.set(true);
        let u = user.get_untracked().trim().to_string();
        let req = ResetPassword {
            user: (!u.is_empty()).then_some(u),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let r = crate::api::vm_devices::reset_password(id.get_value(), req).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(p) => {
                    error.set(None);
                    password.set(String::new());
                    reset.set(Some(p));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let running = move || detail.with(|d| d.vm.state.is_up());
    view! {
        <section class="card" data-testid="vm-clone-password">
            <crate::components::widgets::ErrorBox error/>
            <h2>{t!(i18n, "vm-clone")}</h2>
            <form class="inline" on:submit=clone data-testid="vm-clone">
                <label>{t!(i18n, "vms-name")}<input required maxlength="64" bind:value=name data-testid="clone-name"/></label>
                <label class="check"><input type="checkbox" bind:checked=full/>{t!(i18n, "vm-clone-full")}</label>
                <label class="check"><input type="checkbox" bind:checked=start/>{t!(i18n, "vm-clone-start")}</label>
                <button class="btn" type="submit" disabled=move || busy.get() || running()>{t!(i18n, "vm-clone")}</button>
                <Show when=running><small class="muted">{t!(i18n, "vm-clone-shut-down")}</small></Show>
            </form>
            {move || task.get().map(|t| {
                let done = t.state == TaskState::Succeeded;
                view! {
                    <TaskProgress task=t/>
                    {done.then(|| view! { <p><a href=format!("/vms/{}", copy.get()) data-testid="clone-link">{t!(i18n, "vm-clone-open")}</a></p> })}
                }
            })}
            <h2>{t!(i18n, "vm-password")}</h2>
            <form class="inline" on:submit=reset_pw data-testid="vm-password">
                <label>{t!(i18n, "create-ci-user")}<input bind:value=user
                    placeholder=move || detail.with(|d| d.cloud_init.as_ref().map(|c| c.user.clone()).unwrap_or_default())/></label>
                <label>{t!(i18n, "field-new-password")}<input type="password" autocomplete="new-password" required minlength="8" bind:value=password data-testid="password-new"/></label>
                <button class="btn" type="submit" disabled=move || busy.get()>{t!(i18n, "vm-password-reset")}</button>
            </form>
            {move || reset.get().map(|r| {
                let key = if r.reboot_required { "vm-password-next-boot" } else { "vm-password-done" };
                view! { <div class="alert" data-testid="password-result">{move || crate::i18n::lookup_args(i18n.0.get(), key, &[("user", r.user.clone())])}</div> }
            })}
        </section>
    }
    .into_any()
}
