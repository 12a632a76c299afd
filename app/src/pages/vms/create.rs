//! The "Create VM" wizard: source → size → network → cloud-init → review (the server's plan: the host it
//! chose and why others were skipped, the disk and seed it will make, the quota before and after), then the
//! creation task's steps live, landing on the new VM's page. Each step is a form: Enter goes on.
use crate::api::{
    ApiError, Capabilities, CloudInit, CloudInitNetwork, CreateVm, Host, Image, NetworkRef, StreamEvent, Task,
    TaskState, User, VmPlan, VmSource,
};
use crate::components::layout::use_me;
use crate::components::live::use_live_events;
use crate::components::widgets::{fmt_bytes, ErrorBox};
use crate::i18n::{use_i18n, I18n};
use crate::pages::tasks::TaskProgress;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

const STEPS: [&str; 5] = ["source", "size", "network", "cloud-init", "review"];

fn tr(i18n: I18n, key: &str) -> String {
    crate::i18n::lookup(i18n.0.get(), key, key)
}

#[component]
pub fn CreateVmPage() -> impl IntoView {
    let i18n = use_i18n();
    let me = use_me();
    let images = Resource::new(|| (), |_| crate::api::images::list_images(Default::default()));
    // Hosts and accounts only for those who may list them (no request bound to be refused).
    let caps = move || {
        me.get()
            .and_then(|m| m.ok())
            .map(|m| (m.can.read_hosts, m.can.assign_vms))
    };
    let hosts = Resource::new(
        move || caps().map(|c| c.0),
        |ok| async move {
            match ok {
                Some(true) => crate::api::hosts::list_hosts().await,
                _ => Ok(Vec::new()),
            }
        },
    );
    let users = Resource::new(
        move || caps().map(|c| c.1),
        |ok| async move {
            match ok {
                Some(true) => crate::api::users::list_users().await,
                _ => Ok(Vec::new()),
            }
        },
    );
    let query = use_query_map();
    view! {
        <p><a href="/vms">{t!(i18n, "vms-back")}</a></p>
        <h1>{t!(i18n, "create-title")}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let can = me.await.map(|m| m.can).unwrap_or_default();
                let images = images.await.unwrap_or_default();
                // Those who may not list hosts or users get Hangar's placement and themselves as owner.
                let hosts = hosts.await.unwrap_or_default();
                let users = if can.assign_vms { users.await.unwrap_or_default() } else { Vec::new() };
                let pre = query.with_untracked(|q| q.get("template").or(q.get("iso")));
                let pre_iso = query.with_untracked(|q| q.get("iso").is_some());
                view! { <Wizard images hosts users can preselect=pre preselect_iso=pre_iso/> }
            })}
        </Suspense>
    }
}

/// A field's rule shown under it, red while the value breaks it.
#[component]
fn Rule(ok: Signal<bool>, key: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! { <small class="rule" class:bad=move || !ok.get()>{move || tr(i18n, key)}</small> }
}

/// Each non-empty line looks like an OpenSSH public key (the server decodes it for real).
fn keys_ok(k: &str) -> bool {
    k.lines().map(str::trim).filter(|l| !l.is_empty()).all(|l| {
        let mut parts = l.split_whitespace();
        matches!(parts.next(), Some(t) if t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-"))
            && parts.next().is_some_and(|b| b.starts_with("AAAA"))
    })
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[component]
fn Wizard(
    images: Vec<Image>,
    hosts: Vec<Host>,
    users: Vec<User>,
    can: Capabilities,
    preselect: Option<String>,
    preselect_iso: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = use_navigate();
    let step = RwSignal::new(0usize);
    let kind = RwSignal::new(if preselect_iso { "iso" } else { "template" }.to_string());
    let image = RwSignal::new(preselect.unwrap_or_default());
    let name = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let vcpus = RwSignal::new("1".to_string());
    let memory = RwSignal::new("1024".to_string());
    let disk = RwSignal::new("10".to_string());
    let full = RwSignal::new(false);
    let net_kind = RwSignal::new("default".to_string());
    let net_name = RwSignal::new(String::new());
    let use_ci = RwSignal::new(true);
    let hostname = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let keys = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let gateway = RwSignal::new(String::new());
    let dns = RwSignal::new(String::new());
    let packages = RwSignal::new(String::new());
    let runcmd = RwSignal::new(String::new());
    let user_data = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let plan = RwSignal::new(None::<VmPlan>);
    let task = RwSignal::new(None::<Task>);
    let vm_id = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let images = StoredValue::new(images);
    let chosen = move || images.with_value(|l| l.iter().find(|i| i.id.to_string() == image.get()).cloned());
    // A template's facts fill in what it suggests, once chosen.
    Effect::new(move |_| {
        if let Some(i) = chosen() {
            let f = &i.facts;
            let min_disk = f
                .min_disk_gib
                .max((i.virtual_size_bytes as u64).div_ceil(1 << 30) as i64)
                .max(1);
            if disk.get_untracked().parse::<i64>().unwrap_or(0) < min_disk {
                disk.set(min_disk.to_string());
            }
            if f.min_memory_mib > memory.get_untracked().parse::<i64>().unwrap_or(0) {
                memory.set(f.min_memory_mib.to_string());
            }
            if f.default_vcpus > 0 {
                vcpus.set(f.default_vcpus.to_string());
            }
            use_ci.set(i.kind == "template" && f.cloud_init);
        }
    });
    let min_disk = Signal::derive(move || {
        chosen()
            .filter(|i| i.kind == "template")
            .map(|i| {
                i.facts
                    .min_disk_gib
                    .max((i.virtual_size_bytes as u64).div_ceil(1 << 30) as i64)
            })
            .unwrap_or(1)
            .max(1)
    });
    let num = |s: RwSignal<String>, lo: i64, hi: i64| {
        Signal::derive(move || s.get().trim().parse::<i64>().is_ok_and(|v| (lo..=hi).contains(&v)))
    };
    let name_valid = Signal::derive(move || crate::api::vm_name_ok(name.get().trim()));
    let vcpus_valid = num(vcpus, 1, 512);
    let memory_valid = Signal::derive(move || {
        let min = chosen().map(|i| i.facts.min_memory_mib).unwrap_or(16).max(16);
        memory
            .get()
            .trim()
            .parse::<i64>()
            .is_ok_and(|v| v >= min && v <= 4 * 1024 * 1024)
    });
    let disk_valid = Signal::derive(move || {
        disk.get()
            .trim()
            .parse::<i64>()
            .is_ok_and(|v| v >= min_disk.get() && v <= 65536)
    });
    let hostname_valid = Signal::derive(move || {
        let h = hostname.get();
        h.trim().is_empty() || crate::api::hostname_ok(h.trim())
    });
    let user_valid = Signal::derive(move || {
        let u = user.get();
        u.trim().is_empty() || crate::api::user_name_ok(u.trim())
    });
    let password_valid = Signal::derive(move || password.with(|p| p.is_empty() || p.chars().count() >= 8));
    let keys_valid = Signal::derive(move || keys.with(|k| keys_ok(k)));
    let net_valid = Signal::derive(move || net_kind.get() == "default" || !net_name.get().trim().is_empty());
    let step_ok = move |s: usize| match s {
        0 => !image.get().is_empty() && name_valid.get(),
        1 => vcpus_valid.get() && memory_valid.get() && disk_valid.get(),
        2 => net_valid.get(),
        3 => !use_ci.get() || (hostname_valid.get() && user_valid.get() && password_valid.get() && keys_valid.get()),
        _ => true,
    };
    let request = move || {
        let id = image.get_untracked().parse().unwrap_or(0);
        let list = |s: &str| {
            s.split([',', ' '])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        CreateVm {
            name: name.get_untracked().trim().to_string(),
            host_id: host.get_untracked().parse().ok(),
            pool: None,
            source: if kind.get_untracked() == "iso" {
                VmSource::Iso(id)
            } else {
                VmSource::Template(id)
            },
            vcpus: vcpus.get_untracked().trim().parse().unwrap_or(1),
            memory_mib: memory.get_untracked().trim().parse().unwrap_or(1024),
            disk_gib: disk.get_untracked().trim().parse().unwrap_or(10),
            network: match net_kind.get_untracked().as_str() {
                "network" => Some(NetworkRef::Network(net_name.get_untracked().trim().into())),
                "bridge" => Some(NetworkRef::Bridge(net_name.get_untracked().trim().into())),
                _ => None,
            },
            full_clone: full.get_untracked(),
            firmware: None,
            owner_id: owner.get_untracked().parse().ok(),
            tags: list(&tags.get_untracked()),
            description: description.get_untracked(),
            cloud_init: use_ci.get_untracked().then(|| CloudInit {
                hostname: hostname.get_untracked().trim().into(),
                user: user.get_untracked().trim().into(),
                password: password.get_untracked(),
                ssh_keys: lines(&keys.get_untracked()),
                network: (!address.get_untracked().trim().is_empty()).then(|| CloudInitNetwork {
                    address: address.get_untracked().trim().into(),
                    gateway: gateway.get_untracked().trim().into(),
                    dns: list(&dns.get_untracked()),
                    ..Default::default()
                }),
                grow_root: Some(true),
                packages: list(&packages.get_untracked()),
                runcmd: lines(&runcmd.get_untracked()),
                user_data: user_data.get_untracked(),
            }),
            start: Some(true),
        }
    };
    let next = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let s = step.get_untracked();
        if !step_ok(s) {
            return;
        }
        error.set(None);
        if s + 1 == 4 {
            // The review is the server's plan of exactly this request.
            busy.set(true);
            let req = request();
            leptos::task::spawn_local(async move {
                let r = crate::api::vm_create::plan_vm(req).await;
                if busy.try_set(false).is_some() {
                    return;
                }
                match r {
                    Ok(p) => {
                        plan.set(Some(p));
                        step.set(4);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        } else if s < 4 {
            step.set(s + 1);
        }
    };
    let create = move |_| {
        busy.set(true);
        error.set(None);
        let req = request();
        leptos::task::spawn_local(async move {
            let r = crate::api::vm_create::create_vm(req).await;
            if busy.try_set(false).is_some() {
                return;
            }
            match r {
                Ok(c) => {
                    vm_id.set(c.vm_id);
                    task.set(Some(c.task));
                    step.set(5);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    // The task's progress as it comes; on success, the new VM's page.
    use_live_events(move |ev| {
        if let StreamEvent::Task { task: t } = ev {
            if task.with_untracked(|cur| cur.as_ref().is_some_and(|c| c.id == t.id)) {
                task.set(Some(t));
            }
        }
    });
    Effect::new(move |_| {
        if task.with(|t| t.as_ref().is_some_and(|t| t.state == TaskState::Succeeded)) {
            navigate(&format!("/vms/{}", vm_id.get_untracked()), Default::default());
        }
    });
    // Each step's first field gets the focus, so the keyboard goes on where the eyes do.
    Effect::new(move |_| {
        let _ = step.get();
        #[cfg(feature = "hydrate")]
        request_animation_frame(|| {
            if let Some(el) = document()
                .query_selector("[data-testid^=wizard-] [autofocus], [data-testid=create-submit]")
                .ok()
                .flatten()
            {
                use wasm_bindgen::JsCast;
                if let Some(el) = el.dyn_ref::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
    });
    let hosts = StoredValue::new(hosts);
    let users = StoredValue::new(users);
    let back = move |_| step.update(|s| *s = s.saturating_sub(1));
    let over_quota = move || {
        plan.with(|p| {
            p.as_ref()
                .is_some_and(|p| p.quota.iter().any(|q| q.after > q.limit && q.after > q.before))
        })
    };
    let nav = move || {
        view! {
            <div class="actions">
                <Show when=move || (1..=4).contains(&step.get())>
                    <button class="btn" type="button" on:click=back data-testid="wizard-back">{t!(i18n, "wizard-back")}</button>
                </Show>
                <Show when=move || step.get() < 4>
                    <button class="btn primary" type="submit" disabled=move || busy.get() || !step_ok(step.get()) data-testid="wizard-next">{t!(i18n, "wizard-next")}</button>
                </Show>
            </div>
        }
    };
    view! {
        <ol class="steps" data-testid="wizard-steps">
            {STEPS.iter().enumerate().map(|(i, s)| view! {
                <li class:current=move || step.get() == i class:done=move || i < step.get()>{move || tr(i18n, &format!("wizard-step-{s}"))}</li>
            }).collect_view()}
        </ol>
        <ErrorBox error/>
        // 1. Source and name.
        <Show when=move || step.get() == 0>
            <form class="card form" on:submit=next data-testid="wizard-source">
                <div class="grid3">
                    <label>{t!(i18n, "create-source-kind")}
                        <select bind:value=kind data-testid="create-kind" on:change=move |_| image.set(String::new())>
                            <option value="template">{t!(i18n, "images-kind-template")}</option>
                            <option value="iso">{t!(i18n, "images-kind-iso")}</option>
                        </select>
                    </label>
                    <label>{t!(i18n, "create-image")}
                        <select bind:value=image required data-testid="create-image" autofocus>
                            <option value="">"—"</option>
                            {move || images.with_value(|l| l.iter().filter(|i| i.kind == kind.get()).map(|i| view! {
                                <option value=i.id.to_string()>{format!("{} ({})", i.name, fmt_bytes(i.virtual_size_bytes.max(0) as u64))}</option>
                            }).collect_view())}
                        </select>
                    </label>
                    <label>{t!(i18n, "vms-name")}
                        <input required maxlength="64" bind:value=name data-testid="create-name"/>
                        <Rule ok=name_valid key="rule-vm-name"/>
                    </label>
                </div>
                {move || chosen().map(|i| {
                    let f = i.facts;
                    let text = [format!("{} {}", f.os_family, f.os_version).trim().to_string(), f.firmware, f.description]
                        .into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join(" · ");
                    view! { <p class="muted" data-testid="create-image-facts">{text}</p> }
                })}
                {nav()}
            </form>
        </Show>
        // 2. Size and placement.
        <Show when=move || step.get() == 1>
            <form class="card form" on:submit=next data-testid="wizard-size">
                <div class="grid3">
                    <label>{t!(i18n, "quota-vcpus")}<input type="number" min="1" max="512" bind:value=vcpus data-testid="create-vcpus" autofocus/>
                        <Rule ok=vcpus_valid key="rule-vm-vcpus"/></label>
                    <label>{t!(i18n, "create-memory-mib")}<input type="number" min="16" bind:value=memory data-testid="create-memory"/>
                        <small class="rule" class:bad=move || !memory_valid.get()>{move || crate::i18n::lookup_args(i18n.0.get(), "rule-vm-memory",
                            &[("min", chosen().map(|i| i.facts.min_memory_mib).unwrap_or(16).max(16).to_string())])}</small></label>
                    <label>{t!(i18n, "create-disk-gib")}<input type="number" min=move || min_disk.get().to_string() bind:value=disk data-testid="create-disk"/>
                        <small class="rule" class:bad=move || !disk_valid.get()>{move || crate::i18n::lookup_args(i18n.0.get(), "rule-vm-disk", &[("min", min_disk.get().to_string())])}</small></label>
                    {(!hosts.with_value(Vec::is_empty)).then(|| view! {
                        <label>{t!(i18n, "vms-host")}
                            <select bind:value=host data-testid="create-host">
                                <option value="">{t!(i18n, "create-host-auto")}</option>
                                {hosts.with_value(|l| l.iter().map(|h| view! { <option value=h.id.to_string()>{h.name.clone()}</option> }).collect_view())}
                            </select>
                        </label>
                    })}
                    {(can.assign_vms && !users.with_value(Vec::is_empty)).then(|| view! {
                        <label>{t!(i18n, "vms-owner")}
                            <select bind:value=owner data-testid="create-owner">
                                <option value="">{t!(i18n, "create-owner-me")}</option>
                                {users.with_value(|l| l.iter().map(|u| view! { <option value=u.id.to_string()>{u.username.clone()}</option> }).collect_view())}
                            </select>
                        </label>
                    })}
                    <label>{t!(i18n, "vms-tags")}<input bind:value=tags placeholder="web, prod" data-testid="create-tags"/></label>
                </div>
                <Show when=move || kind.get() == "template">
                    <label class="check"><input type="checkbox" bind:checked=full data-testid="create-full"/>{t!(i18n, "create-full-clone")}</label>
                </Show>
                <label>{t!(i18n, "vms-description")}<textarea bind:value=description maxlength="1000"></textarea></label>
                {nav()}
            </form>
        </Show>
        // 3. Network.
        <Show when=move || step.get() == 2>
            <form class="card form" on:submit=next data-testid="wizard-network">
                <div class="grid3">
                    <label>{t!(i18n, "vms-network")}
                        <select bind:value=net_kind data-testid="create-net-kind" autofocus>
                            <option value="default">{t!(i18n, "create-net-default")}</option>
                            <option value="network">{t!(i18n, "create-net-network")}</option>
                            <option value="bridge">{t!(i18n, "create-net-bridge")}</option>
                        </select>
                    </label>
                    <Show when=move || net_kind.get() != "default">
                        <label>{t!(i18n, "create-net-name")}<input bind:value=net_name required data-testid="create-net-name"/></label>
                    </Show>
                </div>
                {nav()}
            </form>
        </Show>
        // 4. cloud-init.
        <Show when=move || step.get() == 3>
            <form class="card form" on:submit=next data-testid="wizard-cloud-init">
                <label class="check"><input type="checkbox" bind:checked=use_ci data-testid="create-ci"/>{t!(i18n, "create-ci-use")}</label>
                <Show when=move || use_ci.get()>
                    <div class="grid3">
                        <label>{t!(i18n, "create-ci-hostname")}<input bind:value=hostname placeholder=move || name.get().to_lowercase() data-testid="create-hostname" autofocus/>
                            <Rule ok=hostname_valid key="rule-ci-hostname"/></label>
                        <label>{t!(i18n, "create-ci-user")}<input bind:value=user data-testid="create-user"
                            placeholder=move || chosen().map(|i| i.facts.default_user).filter(|u| !u.is_empty()).unwrap_or_else(|| "hangar".into())/>
                            <Rule ok=user_valid key="rule-ci-user"/></label>
                        <label>{t!(i18n, "field-password")}<input type="password" autocomplete="new-password" bind:value=password data-testid="create-password"/>
                            <Rule ok=password_valid key="rule-ci-password"/></label>
                    </div>
                    <label>{t!(i18n, "create-ci-keys")}<textarea rows="3" bind:value=keys data-testid="create-keys" placeholder="ssh-ed25519 AAAA… you@laptop"></textarea>
                        <Rule ok=keys_valid key="rule-ci-keys"/></label>
                    <div class="grid3">
                        <label>{t!(i18n, "create-ci-address")}<input bind:value=address placeholder="192.168.122.50/24" data-testid="create-address"/></label>
                        <label>{t!(i18n, "create-ci-gateway")}<input bind:value=gateway placeholder="192.168.122.1"/></label>
                        <label>{t!(i18n, "create-ci-dns")}<input bind:value=dns placeholder="1.1.1.1, 8.8.8.8"/></label>
                        <label>{t!(i18n, "create-ci-packages")}<input bind:value=packages placeholder="nginx curl"/></label>
                    </div>
                    <label>{t!(i18n, "create-ci-runcmd")}<textarea rows="2" bind:value=runcmd></textarea></label>
                    <details><summary>{t!(i18n, "create-ci-user-data")}</summary>
                        <textarea rows="6" bind:value=user_data placeholder="#cloud-config" data-testid="create-user-data"></textarea>
                    </details>
                </Show>
                {nav()}
            </form>
        </Show>
        // 5. Review: the server's plan.
        <Show when=move || step.get() == 4>
            <section class="card" data-testid="wizard-review">
                {move || plan.get().map(|p| view! { <PlanView plan=p/> })}
                <Show when=over_quota>
                    <div class="alert error" role="alert" data-testid="plan-over-quota">{t!(i18n, "create-plan-over-quota")}</div>
                </Show>
                <div class="actions">
                    <button class="btn" type="button" on:click=back>{t!(i18n, "wizard-back")}</button>
                    <button class="btn primary" type="button" on:click=create disabled=move || busy.get() || over_quota() data-testid="create-submit">{t!(i18n, "create-submit")}</button>
                </div>
            </section>
        </Show>
        // 6. The task.
        <Show when=move || step.get() == 5>
            <section class="card" data-testid="create-task">
                <h2>{t!(i18n, "create-making")}</h2>
                {move || task.get().map(|t| {
                    let failed = t.state.is_finished() && t.state != TaskState::Succeeded;
                    let err = t.error_code.clone().map(|code| ApiError { code, message: t.message.clone(), details: t.error_details.clone().unwrap_or_default() });
                    view! {
                        <TaskProgress task=t.clone()/>
                        {failed.then(|| view! {
                            <div class="alert error" role="alert" data-testid="create-failed">
                                {move || err.as_ref().map(|e| i18n.error(e)).unwrap_or_default()}
                            </div>
                            <button class="btn" on:click=move |_| step.set(4)>{t!(i18n, "wizard-back")}</button>
                        })}
                    }
                })}
            </section>
        </Show>
    }
    .into_any()
}

/// The plan: where, what will be made, and the quota before → after.
#[component]
fn PlanView(plan: VmPlan) -> impl IntoView {
    let i18n = use_i18n();
    let p = plan;
    let quota_label = |r: &str| match r {
        "vms" => "quota-vms",
        "vcpus" => "quota-vcpus",
        "memory_mib" => "quota-memory",
        _ => "quota-disk",
    };
    view! {
        <dl class="facts" data-testid="plan">
            <dt>{t!(i18n, "vms-host")}</dt><dd data-testid="plan-host">{p.host_name.clone()}</dd>
            <dt>{t!(i18n, "vms-pool")}</dt><dd>{p.pool_name.clone()}</dd>
            <dt>{t!(i18n, "create-plan-disk")}</dt>
            <dd data-testid="plan-disk">{format!("{} · {} GiB · ", p.disk_volume, p.disk_gib)}{move || tr(i18n, &format!("create-disk-{}", p.disk_kind))}</dd>
            <dt>{t!(i18n, "create-plan-seed")}</dt><dd data-testid="plan-seed">{p.seed_volume.clone().unwrap_or_else(|| "—".into())}</dd>
            {p.copies_template.then(|| view! { <dt></dt><dd class="muted">{t!(i18n, "create-plan-copies")}</dd> })}
            <dt>{t!(i18n, "vms-network")}</dt>
            <dd data-testid="plan-network">{match &p.network {
                Some(NetworkRef::Network(n)) => n.clone().into_any(),
                Some(NetworkRef::Bridge(b)) => format!("bridge {b}").into_any(),
                None => view! { <span class="warn">{t!(i18n, "create-plan-no-network")}</span> }.into_any(),
            }}</dd>
            <dt>{t!(i18n, "create-plan-machine")}</dt><dd>{format!("{} · {} · {}", p.machine, p.firmware, p.disk_bus)}</dd>
        </dl>
        <table class="table" data-testid="plan-quota">
            <thead><tr><th>{t!(i18n, "create-plan-quota")}</th><th>{t!(i18n, "create-plan-before")}</th><th>{t!(i18n, "create-plan-after")}</th><th>{t!(i18n, "create-plan-limit")}</th></tr></thead>
            <tbody>{p.quota.into_iter().map(|q| {
                let key = quota_label(&q.resource);
                let over = q.after > q.limit;
                view! { <tr class:bad=over data-resource=q.resource.clone()><td>{move || tr(i18n, key)}</td><td>{q.before}</td><td>{q.after}</td><td>{q.limit}</td></tr> }
            }).collect_view()}</tbody>
        </table>
        {(!p.skipped.is_empty()).then(|| view! {
            <p class="muted">{t!(i18n, "create-plan-skipped")}</p>
            <ul data-testid="plan-skipped">{p.skipped.into_iter().map(|s| {
                let reason = s.reason.clone();
                view! { <li>{s.host_name}": "{move || tr(i18n, &format!("placement-{reason}"))}</li> }
            }).collect_view()}</ul>
        })}
    }
    .into_any()
}
