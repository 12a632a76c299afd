//! Benchmark: one collection round for 1,000 VMs (libvirt's test driver, in this process) — the bulk stats call,
//! the node's counters, the pools, and folding it all into the monitor — in CPU time per round and as a share of
//! one core at a 10 s interval, against `virsh domstats` reading the same domains in the same run (per round:
//! one virsh process doing N rounds minus one doing 1, so its start-up is not counted). Then `GET
//! /api/v1/vms/{id}/metrics?range=day` over a full day of minute steps, against `GET /api/v1/auth/me`.
//! Run: `bench/run.sh` (or `cargo bench -p server --bench monitoring`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use hangar::config::{Config, Secret};
use std::io::Write;
use std::time::{Duration, Instant};

const DOMAINS: usize = 1000;
const ROUNDS: usize = 20;
const INTERVAL: f64 = 10.0;
const REQUESTS: usize = 200;

fn node_xml() -> String {
    let mut s = String::from("<node><cpu><mhz>2000</mhz><model>bench</model><active>4</active></cpu>");
    for i in 0..DOMAINS {
        s.push_str(&format!(
            "<domain type='test'><name>mon-{i:04}</name><uuid>7c3d1a9e-0000-4000-8000-{i:012}</uuid>\
             <memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os>\
             <devices><disk type='file' device='disk'><source file='/tmp/mon-{i}.img'/><target dev='vda'/></disk>\
             <interface type='network'><source network='default'/><target dev='vnet{i}'/></interface></devices>\
             </domain>"
        ));
    }
    s.push_str("</node>");
    s
}

/// CPU time (user + system) of `who` so far.
fn cpu(who: i32) -> Duration {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(who, &mut u) };
    let t = |v: libc::timeval| Duration::from_secs(v.tv_sec as u64) + Duration::from_micros(v.tv_usec as u64);
    t(u.ru_utime) + t(u.ru_stime)
}

/// CPU time of a `virsh` process running `rounds` × `domstats` on `uri`.
fn virsh_cpu(uri: &str, rounds: usize) -> Duration {
    let before = cpu(libc::RUSAGE_CHILDREN);
    let mut child = std::process::Command::new("virsh")
        .args(["-q", "-c", uri])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("virsh");
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..rounds {
        writeln!(
            stdin,
            "domstats --state --cpu-total --balloon --vcpu --interface --block"
        )
        .unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    cpu(libc::RUSAGE_CHILDREN) - before
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = dir.path().join("node.xml");
    std::fs::write(&node, node_xml()).expect("write node xml");
    let uri = format!("test://{}", node.display());

    // Ours: on this thread, so its CPU time is the round's.
    let (per_round, seen) = {
        let uri = uri.clone();
        tokio::task::spawn_blocking(move || {
            let c = virt::connect::Connect::open(Some(&uri)).expect("connect");
            let monitor = hangar::services::monitoring::Monitor::default();
            let mut seen = 0;
            let t0 = cpu(libc::RUSAGE_THREAD);
            for r in 0..ROUNDS {
                let doms = hangar::virt::stats::all_domains(&c).expect("stats");
                seen = doms.len();
                let node = hangar::virt::stats::node(&c).ok();
                let pools = hangar::virt::stats::pools(&c, false).ok();
                let at = (r as i64 + 1) * 10_000;
                monitor.record_vms(1, at, doms);
                monitor.record_host(1, at, node, pools, 0.0);
            }
            let spent = cpu(libc::RUSAGE_THREAD) - t0;
            hangar::virt::conn::close(c);
            (spent / ROUNDS as u32, seen)
        })
        .await
        .unwrap()
    };
    assert_eq!(seen, DOMAINS);
    let virsh = (virsh_cpu(&uri, ROUNDS + 1) - virsh_cpu(&uri, 1)) / ROUNDS as u32;
    let share = |d: Duration| d.as_secs_f64() / INTERVAL * 100.0;
    println!(
        "collection round, {DOMAINS} VMs    hangar {per_round:>9.2?} CPU ({:.3} % of a core every 10 s)",
        share(per_round)
    );
    println!(
        "virsh domstats, same reading   virsh  {virsh:>9.2?} CPU ({:.3} % of a core every 10 s)",
        share(virsh)
    );
    println!(
        "ratio hangar / virsh: {:.2} (goal: < 2 % of a core: {})",
        per_round.as_secs_f64() / virsh.as_secs_f64().max(1e-9),
        if share(per_round) < 2.0 { "met" } else { "MISSED" }
    );

    // The day's chart of one VM: 1,440 minute steps in SQLite, read through the API.
    let cfg = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().join("data"),
        admin_password: Some(Secret("bench-admin-password".into())),
        log: "warn".into(),
        bootstrap_host: uri.clone(),
        ..Default::default()
    };
    let running = hangar::start(cfg).await.expect("start hangar");
    let base = format!("http://{}", running.addr);
    let uuid = "7c3d1a9e-0000-4000-8000-000000000007";
    let now = hangar::db::now_ms();
    let steps: Vec<(String, hangar::services::rollup::Step)> = (0..1440)
        .map(|i| {
            let v: Vec<f64> = (0..app::api::VM_SERIES.len()).map(|k| (i * k) as f64).collect();
            let start_ms = now - now % 60_000 - i as i64 * 60_000;
            (
                format!("vm:{uuid}"),
                hangar::services::rollup::Step {
                    tier: 0,
                    start_ms,
                    avg: v.clone(),
                    max: v,
                },
            )
        })
        .collect();
    hangar::db::metrics::write(&running.state.db, &steps).await.unwrap();
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": "bench-admin-password" }))
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success());
    // Wait for the VM list to know the domains.
    for _ in 0..100 {
        if http
            .get(format!("{base}/api/v1/vms/{uuid}"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let time = |path: String| {
        let http = http.clone();
        async move {
            let mut d = Vec::with_capacity(REQUESTS);
            for _ in 0..REQUESTS {
                let t = Instant::now();
                let r = http.get(&path).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path}");
                let body = r.bytes().await.unwrap();
                d.push(t.elapsed());
                assert!(!body.is_empty());
            }
            d.sort();
            (percentile(&d, 0.5), percentile(&d, 0.99))
        }
    };
    let (day50, day99) = time(format!("{base}/api/v1/vms/{uuid}/metrics?range=day")).await;
    let (me50, me99) = time(format!("{base}/api/v1/auth/me")).await;
    println!("GET …/metrics?range=day (1,440 points)  p50={day50:>9.2?} p99={day99:>9.2?}");
    println!("GET /api/v1/auth/me (reference)         p50={me50:>9.2?} p99={me99:>9.2?}");
    println!(
        "ratio day / me (p50): {:.1} (goal: < 20 ms: {})",
        day50.as_secs_f64() / me50.as_secs_f64(),
        if day50 < Duration::from_millis(20) {
            "met"
        } else {
            "MISSED"
        }
    );
    running.stop().await;
}
