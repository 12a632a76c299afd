//! Monitoring: charts of a VM's or a host's figures over a chosen range (fetched by the browser and refreshed
//! every 10 s while the page is open), the figures of now per disk, NIC and pool, a VM's recent alerts, and the
//! dashboard's overview of the hosts and the busiest VMs.
use crate::api::{
    Alert, AlertQuery, ApiError, HostMetrics, MetricsOverview, VmMetrics, HOST_SERIES, RANGES, VM_SERIES,
};
use crate::components::chart::{fmt_local, LineChart, Unit};
use crate::components::widgets::{fmt_bytes, fmt_time, ErrorBox, UsageBar};
use crate::i18n::{lookup, lookup_args, use_i18n, I18n};
use crate::pages::alerts::{fmt_value, metric_label, AlertStateBadge, SeverityBadge};
use crate::t;
use leptos::prelude::*;

/// The index of a column by name (the first if the contract lost it).
fn col(names: &[&str], name: &str) -> usize {
    names.iter().position(|n| *n == name).unwrap_or(0)
}

/// Calls `load` now and every 10 s while the component lives; only in the browser.
fn every_10s(load: impl Fn() + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    {
        load();
        if let Ok(h) = set_interval_with_handle(load, std::time::Duration::from_secs(10)) {
            on_cleanup(move || h.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = load;
}

/// "Last figures at …", or why there are none yet.
fn collected_text(i18n: I18n, loaded: bool, at: Option<i64>, never_key: &str) -> String {
    let lang = i18n.0.get();
    match (loaded, at) {
        (false, _) => lookup(lang, "chart-loading", "…"),
        (true, Some(t)) => lookup_args(lang, "monitoring-collected", &[("time", fmt_local(t))]),
        (true, None) => lookup(lang, never_key, never_key),
    }
}

/// Hour, day, week, month, year.
#[component]
fn RangeButtons(range: RwSignal<String>, on_change: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="range-buttons" role="group" aria-label=t!(i18n, "monitoring-range") data-testid="range-buttons">
            {RANGES.into_iter().map(|r| view! {
                <button type="button" class="btn small" class:active=move || range.get() == r data-range=r
                    aria-pressed=move || (range.get() == r).to_string()
                    on:click=move |_| {
                        if range.get_untracked() != r {
                            range.set(r.to_string());
                            on_change.run(());
                        }
                    }>
                    {move || lookup(i18n.0.get(), &format!("range-{r}"), r)}
                </button>
            }).collect_view()}
        </div>
    }
}

/// A bar for a percentage, red above 90 %.
#[component]
pub fn PercentBar(pct: f64) -> impl IntoView {
    let p = if pct.is_finite() { pct.clamp(0.0, 100.0) } else { 0.0 };
    view! {
        <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{p:.0}") title=format!("{p:.0} %")>
            <span class={if p > 90.0 { "bar-fill high" } else { "bar-fill" }} style=format!("width: {p:.1}%")></span>
        </div>
    }
}

/// The VM page's monitoring panel: CPU, memory, disk and network over the chosen range, the disks and NICs now,
/// and the VM's latest alerts with a link to make a rule for it.
#[component]
pub fn VmMonitoringPanel(vm_id: String) -> impl IntoView {
    let i18n = use_i18n();
    let range = RwSignal::new("hour".to_string());
    let data = RwSignal::new(None::<VmMetrics>);
    let error = RwSignal::new(None::<ApiError>);
    let alerts = RwSignal::new(None::<Vec<Alert>>);
    let load = {
        let id = vm_id.clone();
        move || {
            let (id, r) = (id.clone(), range.get_untracked());
            leptos::task::spawn_local(async move {
                let res = crate::api::monitoring::vm_metrics(id.clone(), r.clone()).await;
                // Another range was chosen meanwhile: its own answer is on the way.
                if range.try_get_untracked().as_deref() != Some(r.as_str()) {
                    return;
                }
                match res {
                    Ok(m) => {
                        error.try_set(None);
                        data.try_set(Some(m));
                    }
                    Err(e) => {
                        error.try_set(Some(e));
                    }
                }
                let q = AlertQuery {
                    vm: Some(id),
                    limit: Some(10),
                    ..Default::default()
                };
                if let Ok(page) = crate::api::alerts::alerts(q).await {
                    alerts.try_set(Some(page.items));
                }
            });
        }
    };
    every_10s(load.clone());
    let on_range = Callback::new(move |_| load());
    let history = Signal::derive(move || data.with(|d| d.as_ref().map(|m| m.history.clone())));
    let c = |n: &str| col(&VM_SERIES, n);
    let collected = move || {
        let (loaded, at) = data.with(|d| (d.is_some(), d.as_ref().and_then(|m| m.collected_at)));
        collected_text(i18n, loaded, at, "monitoring-vm-never")
    };
    let now_tables = move || {
        data.with(|d| d.as_ref().map(|m| (m.disks.clone(), m.nics.clone()))).map(|(disks, nics)| {
            // A NIC the hypervisor keeps no counters for (user-mode networking) is not listed: say so.
            let no_nics = nics.is_empty();
            let bps = move |v: f64| move || Unit::BytesPerSecond.format(i18n.0.get(), v);
            let ps = move |v: f64| move || Unit::PerSecond.format(i18n.0.get(), v);
            view! {
                <div class="now-tables">
                    <div>
                        <h3>{t!(i18n, "monitoring-disks-now")}</h3>
                        <table class="table" data-testid="monitoring-disks">
                            <thead><tr><th>{t!(i18n, "vms-target")}</th><th>{t!(i18n, "series-disk-read")}</th><th>{t!(i18n, "series-disk-write")}</th>
                                <th>{t!(i18n, "series-read-iops")}</th><th>{t!(i18n, "series-write-iops")}</th></tr></thead>
                            <tbody>{disks.into_iter().map(|k| view! {
                                <tr data-disk=k.name.clone()>
                                    <td>{k.name.clone()}</td>
                                    <td class="num">{bps(k.read_bytes_per_second)}</td>
                                    <td class="num">{bps(k.write_bytes_per_second)}</td>
                                    <td class="num">{ps(k.read_iops)}</td>
                                    <td class="num">{ps(k.write_iops)}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                    <div>
                        <h3>{t!(i18n, "monitoring-nics-now")}</h3>
                        <table class="table" data-testid="monitoring-nics">
                            <thead><tr><th>{t!(i18n, "monitoring-interface")}</th><th>{t!(i18n, "series-net-rx")}</th><th>{t!(i18n, "series-net-tx")}</th>
                                <th>{t!(i18n, "series-rx-packets")}</th><th>{t!(i18n, "series-tx-packets")}</th></tr></thead>
                            <tbody>{nics.into_iter().map(|n| view! {
                                <tr data-nic=n.name.clone()>
                                    <td>{n.name.clone()}</td>
                                    <td class="num">{bps(n.rx_bytes_per_second)}</td>
                                    <td class="num">{bps(n.tx_bytes_per_second)}</td>
                                    <td class="num">{ps(n.rx_packets_per_second)}</td>
                                    <td class="num">{ps(n.tx_packets_per_second)}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                        {no_nics.then(|| view! { <p class="muted" data-testid="monitoring-nics-none">{t!(i18n, "monitoring-no-nics")}</p> })}
                    </div>
                </div>
            }
            .into_any()
        })
    };
    let new_rule = format!("/alerts?vm={}", crate::api::client::encode(&vm_id));
    // Silencing the VM's notifications (alerts still fire and resolve, quietly); the answer says until when.
    let silenced = RwSignal::new(None::<Option<i64>>);
    let silence_error = RwSignal::new(None::<ApiError>);
    let silence = {
        let id = vm_id.clone();
        move |seconds: i64| {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match crate::api::alerts::silence_vm(id, seconds).await {
                    Ok(s) => {
                        silence_error.try_set(None);
                        silenced.try_set(Some(s.silenced_until));
                    }
                    Err(e) => {
                        silence_error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let (silence_on, silence_off) = (silence.clone(), silence);
    view! {
        <section class="panel monitoring card" id="monitoring" data-testid="vm-monitoring" data-vm=vm_id.clone()>
            <div class="panel-head">
                <h2>{t!(i18n, "monitoring-title")}</h2>
                <RangeButtons range on_change=on_range/>
            </div>
            <ErrorBox error/>
            <p class="muted small" data-testid="monitoring-collected">{collected}</p>
            <div class="chart-grid">
                <LineChart name="cpu" title="chart-cpu" series=history columns=vec![(c("cpu_percent"), "series-cpu")] unit=Unit::Percent/>
                <LineChart name="memory" title="chart-memory" series=history
                    columns=vec![(c("memory_used_bytes"), "series-memory-used"), (c("memory_total_bytes"), "series-memory-total")] unit=Unit::Bytes/>
                <LineChart name="disk" title="chart-disk" series=history
                    columns=vec![(c("disk_read_bytes_per_second"), "series-disk-read"), (c("disk_write_bytes_per_second"), "series-disk-write")] unit=Unit::BytesPerSecond/>
                <LineChart name="network" title="chart-network" series=history
                    columns=vec![(c("net_rx_bytes_per_second"), "series-net-rx"), (c("net_tx_bytes_per_second"), "series-net-tx")] unit=Unit::BytesPerSecond/>
            </div>
            {now_tables}
            <div class="panel-head">
                <h3>{t!(i18n, "monitoring-alerts")}</h3>
                <a class="btn small" href=new_rule data-testid="create-alert-rule">{t!(i18n, "alerts-create-rule")}</a>
                <button type="button" class="btn small" data-testid="vm-silence" on:click=move |_| silence_on(3600)>
                    {t!(i18n, "alerts-silence-1h")}
                </button>
                <button type="button" class="btn small" data-testid="vm-unsilence" on:click=move |_| silence_off(0)>
                    {t!(i18n, "alerts-unsilence")}
                </button>
            </div>
            {move || silenced.get().map(|until| {
                let text = match until {
                    Some(t) => lookup_args(i18n.0.get(), "monitoring-silenced-until", &[("time", fmt_local(t))]),
                    None => lookup(i18n.0.get(), "monitoring-not-silenced", ""),
                };
                view! { <p class="muted" data-testid="vm-silence-state">{text}</p> }
            })}
            <ErrorBox error=silence_error/>
            <VmAlerts alerts/>
        </section>
    }
    .into_any()
}

/// The VM's latest alerts (up to 10), newest first.
#[component]
fn VmAlerts(alerts: RwSignal<Option<Vec<Alert>>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        match alerts.get() {
        None => ().into_any(),
        Some(list) if list.is_empty() => {
            view! { <p class="muted" data-testid="vm-alerts-empty">{t!(i18n, "alerts-none-for-vm")}</p> }.into_any()
        }
        Some(list) => view! {
            <table class="table" id="vm-alerts" data-testid="vm-alerts">
                <thead><tr><th>{t!(i18n, "alerts-state")}</th><th>{t!(i18n, "label-severity")}</th><th>{t!(i18n, "alerts-rule")}</th>
                    <th>{t!(i18n, "alerts-value")}</th><th>{t!(i18n, "alerts-since")}</th></tr></thead>
                <tbody>{list.into_iter().map(|a| {
                    let (m, v) = (a.metric.clone(), a.value);
                    let m2 = a.metric.clone();
                    view! {
                        <tr data-alert-id=a.id.to_string() data-state=a.state.clone()>
                            <td><AlertStateBadge state=a.state.clone()/></td>
                            <td><SeverityBadge severity=a.severity.clone()/></td>
                            <td>{a.rule.clone()} <div class="muted small">{move || metric_label(i18n.0.get(), &m2)}</div></td>
                            <td class="num">{move || fmt_value(i18n.0.get(), &m, v)}</td>
                            <td class="nowrap">{fmt_time(a.fired_at.unwrap_or(a.started_at))}</td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
            <p><a href="/alerts">{t!(i18n, "alerts-all")}</a></p>
        }
        .into_any(),
    }
    }
}

/// The host page's monitoring panel: CPU and memory over the chosen range, and the storage pools' fill.
#[component]
pub fn HostMonitoringPanel(host_id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let range = RwSignal::new("hour".to_string());
    let data = RwSignal::new(None::<HostMetrics>);
    let error = RwSignal::new(None::<ApiError>);
    let load = move || {
        let r = range.get_untracked();
        leptos::task::spawn_local(async move {
            let res = crate::api::monitoring::host_metrics(host_id, r.clone()).await;
            if range.try_get_untracked().as_deref() != Some(r.as_str()) {
                return;
            }
            match res {
                Ok(m) => {
                    error.try_set(None);
                    data.try_set(Some(m));
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    every_10s(load);
    let on_range = Callback::new(move |_| load());
    let history = Signal::derive(move || data.with(|d| d.as_ref().map(|m| m.history.clone())));
    let c = |n: &str| col(&HOST_SERIES, n);
    let collected = move || {
        let (loaded, at) = data.with(|d| (d.is_some(), d.as_ref().and_then(|m| m.collected_at)));
        collected_text(i18n, loaded, at, "monitoring-host-never")
    };
    let online = move || {
        data.with(|d| d.as_ref().map(|m| m.online)).map(|on| {
            if on {
                view! { <span class="badge host-online" data-testid="monitoring-online">{t!(i18n, "host-online")}</span> }.into_any()
            } else {
                view! { <span class="badge host-offline" data-testid="monitoring-online">{t!(i18n, "host-offline")}</span> }.into_any()
            }
        })
    };
    let pools = move || {
        data.with(|d| d.as_ref().map(|m| m.pools.clone())).map(|pools| {
            if pools.is_empty() {
                return view! { <p class="muted" data-testid="monitoring-pools-empty">{t!(i18n, "monitoring-no-pools")}</p> }.into_any();
            }
            view! {
                <table class="table" data-testid="monitoring-pools">
                    <thead><tr><th>{t!(i18n, "storage-pool")}</th><th>{t!(i18n, "storage-usage")}</th><th>"%"</th></tr></thead>
                    <tbody>{pools.into_iter().map(|p| view! {
                        <tr data-pool=p.name.clone()>
                            <td>{p.name.clone()}</td>
                            <td class="usage">
                                <UsageBar used=p.allocation_bytes total=p.capacity_bytes/>
                                <div class="muted small">{format!("{} / {}", fmt_bytes(p.allocation_bytes), fmt_bytes(p.capacity_bytes))}</div>
                            </td>
                            <td class="num" data-testid="pool-percent">{format!("{:.0} %", p.percent)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }
            .into_any()
        })
    };
    view! {
        <section class="panel monitoring card" id="monitoring" data-testid="host-monitoring">
            <div class="panel-head">
                <h2>{t!(i18n, "monitoring-title")} " " {online}</h2>
                <RangeButtons range on_change=on_range/>
            </div>
            <ErrorBox error/>
            <p class="muted small" data-testid="monitoring-collected">{collected}</p>
            <div class="chart-grid">
                <LineChart name="cpu" title="chart-cpu" series=history columns=vec![(c("cpu_percent"), "series-cpu")] unit=Unit::Percent/>
                <LineChart name="memory" title="chart-memory" series=history
                    columns=vec![(c("memory_used_bytes"), "series-memory-used"), (c("memory_total_bytes"), "series-memory-total")] unit=Unit::Bytes/>
            </div>
            <h3>{t!(i18n, "monitoring-pools")}</h3>
            {pools}
        </section>
    }
    .into_any()
}

/// The dashboard's card: every host's CPU and memory now, and the ten busiest running VMs.
#[component]
pub fn DashboardOverview() -> impl IntoView {
    let i18n = use_i18n();
    let data = RwSignal::new(None::<MetricsOverview>);
    let error = RwSignal::new(None::<ApiError>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match crate::api::monitoring::metrics_overview().await {
                Ok(o) => {
                    error.try_set(None);
                    data.try_set(Some(o));
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    every_10s(load);
    let content = move || {
        let Some(o) = data.get() else {
            return view! { <p class="muted">"…"</p> }.into_any();
        };
        let hosts = (!o.hosts.is_empty()).then(|| {
            view! {
                <table class="table usage-table" data-testid="overview-hosts">
                    <thead><tr><th>{t!(i18n, "vms-host")}</th><th>{t!(i18n, "series-cpu")}</th><th>{t!(i18n, "quota-memory")}</th></tr></thead>
                    <tbody>{o.hosts.into_iter().map(|h| {
                        let (used, total) = (h.memory_used_bytes.max(0.0) as u64, h.memory_total_bytes.max(0.0) as u64);
                        view! {
                            <tr data-host=h.name.clone() data-online=h.online.to_string()>
                                <td><a href=format!("/hosts/{}", h.id)>{h.name.clone()}</a>
                                    {(!h.online).then(|| view! { " " <span class="badge host-offline">{t!(i18n, "host-offline")}</span> })}</td>
                                <td class="usage"><PercentBar pct=h.cpu_percent/>
                                    <div class="muted small" data-testid="overview-host-cpu">{format!("{:.0} %", h.cpu_percent)}</div></td>
                                <td class="usage"><UsageBar used total/>
                                    <div class="muted small" data-testid="overview-host-memory">{format!("{} / {}", fmt_bytes(used), fmt_bytes(total))}</div></td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            }
        });
        let busiest = if o.busiest.is_empty() {
            view! { <p class="muted" data-testid="overview-busiest-empty">{t!(i18n, "overview-none-running")}</p> }
                .into_any()
        } else {
            view! {
                <table class="table usage-table" data-testid="overview-busiest">
                    <thead><tr><th>{t!(i18n, "vms-name")}</th><th>{t!(i18n, "vms-host")}</th><th>{t!(i18n, "series-cpu")}</th><th>{t!(i18n, "quota-memory")}</th></tr></thead>
                    <tbody>{o.busiest.into_iter().map(|v| view! {
                        <tr data-vm-id=v.id.clone()>
                            <td class="name"><a href=format!("/vms/{}", v.id)>{v.name.clone()}</a></td>
                            <td>{v.host.clone()}</td>
                            <td class="usage"><PercentBar pct=v.cpu_percent/><div class="muted small">{format!("{:.0} %", v.cpu_percent)}</div></td>
                            <td class="usage"><PercentBar pct=v.memory_percent/><div class="muted small">{format!("{:.0} %", v.memory_percent)}</div></td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }
            .into_any()
        };
        view! {
            {hosts}
            <h3>{t!(i18n, "overview-busiest")}</h3>
            {busiest}
        }
        .into_any()
    };
    view! {
        <section class="card overview" id="overview" data-testid="dash-overview">
            <h2>{t!(i18n, "overview-title")}</h2>
            <ErrorBox error/>
            {content}
        </section>
    }
    .into_any()
}
