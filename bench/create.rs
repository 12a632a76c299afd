//! Creating a VM as a linked clone of the small test template, through Hangar's API against a shell-level
//! reference doing the same on the same host in the same run (`qemu-img create -b` + `virsh define` + `virsh
//! start`): the time to the domain running and to the guest's ready marker on its serial console, median of 10
//! each, and Hangar's overhead over the script.
//!
//! Runs the `hangar` binary as its own process (`HANGAR_BIN`, default `target/release/hangar`) on the local
//! libvirt daemon with emulated guests; `BENCH_CREATE_RUNS` changes the count; `BENCH_CREATE_SEED=1` gives
//! Hangar's VMs a cloud-init seed (the reference has none).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const GUEST: &str = "/var/lib/libvirt/images/hangar-guest";

fn virsh(args: &[&str]) -> String {
    let out = std::process::Command::new("virsh")
        .args(["-q", "-c", "qemu:///system"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virsh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Waits for `marker` in the file; the time it appeared, measured from `t0`.
async fn wait_marker(path: &str, marker: &str, t0: Instant) -> f64 {
    loop {
        if std::fs::read_to_string(path).unwrap_or_default().contains(marker) {
            return t0.elapsed().as_secs_f64();
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "no {marker} in {path}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_CREATE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed = std::env::var("BENCH_CREATE_SEED").is_ok_and(|v| v == "1");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = std::env::var("HANGAR_BIN").unwrap_or_else(|_| root.join("target/release/hangar").display().to_string());
    let work = tempfile::Builder::new()
        .prefix("hangar-bench-mk-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let pool_dir = work.path().join("pool");
    let pool_name = format!("hangar-bench-mk-{}", std::process::id());

    // The reference: the same overlay, a domain of the same shape, defined and started with virsh.
    std::fs::create_dir_all(work.path().join("ref")).unwrap();
    let template = format!("{GUEST}/template.qcow2");
    let mut ref_running = Vec::new();
    let mut ref_ready = Vec::new();
    for i in 0..runs {
        let name = format!("hangar-bench-ref-{}-{i}", std::process::id());
        let disk = work.path().join("ref").join(format!("{name}.qcow2"));
        let log = format!("/var/log/libvirt/qemu/{name}-serial.log");
        let _ = std::fs::remove_file(&log);
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
             <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/><apic/></features>
             <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/>
             <target dev='vda' bus='virtio'/><boot order='1'/></disk>
             <serial type='pty'><log file='{log}' append='on'/><target port='0'/></serial>
             <console type='pty'><target type='serial' port='0'/></console>
             <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/></devices></domain>",
            disk.display()
        );
        let xml_path = work.path().join("ref").join(format!("{name}.xml"));
        std::fs::write(&xml_path, xml).unwrap();
        let t0 = Instant::now();
        let ok = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", &template])
            .arg(&disk)
            .arg("1G")
            .status()
            .unwrap();
        assert!(ok.success());
        virsh(&["define", xml_path.to_str().unwrap()]);
        virsh(&["start", &name]);
        ref_running.push(t0.elapsed().as_secs_f64());
        ref_ready.push(wait_marker(&log, "GUEST-READY", t0).await);
        virsh(&["destroy", &name]);
        virsh(&["undefine", &name]);
        let _ = std::fs::remove_file(&log);
    }

    // Hangar.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(&bin)
        .arg("serve")
        .env("HANGAR_LISTEN", format!("127.0.0.1:{port}"))
        .env("HANGAR_DATA_DIR", work.path().join("data"))
        .env("HANGAR_ADMIN_PASSWORD", "bench-admin-password")
        .env("HANGAR_BOOTSTRAP_HOST", "qemu:///system")
        .env("HANGAR_LOG", "warn")
        .env("HANGAR_DOMAIN_TYPE", "qemu")
        .env("HANGAR_STORAGE_POOL_ROOTS", "/var/tmp")
        .spawn()
        .expect("the hangar binary (cargo build --release -p server)");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let mut csrf = String::new();
    for _ in 0..150 {
        if let Ok(r) = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": "admin", "password": "bench-admin-password" }))
            .send()
            .await
        {
            csrf = r.json::<Value>().await.unwrap()["csrf_token"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let call = |m: Method, path: &str, body: Value| {
        let r = http
            .request(m, format!("{base}{path}"))
            .header("X-CSRF-Token", &csrf)
            .json(&body);
        async move {
            let r = r.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or_default())
        }
    };
    for _ in 0..100 {
        let (_, h) = call(Method::GET, "/api/v1/hosts", json!(null)).await;
        if h[0]["status"] == "online" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, p) = call(
        Method::POST,
        "/api/v1/pools",
        json!({ "host_id": 1, "name": pool_name, "kind": "dir", "target_path": pool_dir.display().to_string(), "build": true }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pool_id = p["id"].as_str().unwrap().to_string();
    std::fs::copy(&template, pool_dir.join("template.qcow2")).unwrap();
    virsh(&["pool-refresh", &pool_name]);
    let (s, img) = call(
        Method::POST,
        "/api/v1/images",
        json!({ "pool_id": pool_id, "volume": "template.qcow2", "name": "bench", "kind": "template",
                "visibility": "public", "facts": { "min_disk_gib": 1, "cloud_init": true } }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{img}");
    let mut running = Vec::new();
    let mut ready = Vec::new();
    for i in 0..runs {
        let mut body = json!({ "name": format!("bench-mk-{i}"), "pool": pool_id, "source": { "template": img["id"] },
                               "vcpus": 1, "memory_mib": 128, "disk_gib": 1 });
        if seed {
            body["cloud_init"] = json!({ "hostname": format!("bench-{i}") });
        }
        let t0 = Instant::now();
        let (s, made) = call(Method::POST, "/api/v1/vms", body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{made}");
        let task = made["task"]["id"].as_i64().unwrap();
        // The task ends once the domain has been started.
        loop {
            let (_, t) = call(Method::GET, &format!("/api/v1/tasks/{task}"), json!(null)).await;
            match t["state"].as_str() {
                Some("succeeded") => break,
                Some("failed" | "cancelled") => panic!("creation failed: {t}"),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        running.push(t0.elapsed().as_secs_f64());
        let id = made["vm_id"].as_str().unwrap().to_string();
        let log = format!("/var/log/libvirt/qemu/hangar-{id}-serial.log");
        ready.push(wait_marker(&log, "GUEST-READY", t0).await);
        let (s, v) = call(Method::DELETE, &format!("/api/v1/vms/{id}?disks=true"), json!(null)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let _ = std::fs::remove_file(&log);
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::process::Command::new("virsh")
        .args(["-q", "-c", "qemu:///system", "pool-destroy", &pool_name])
        .status();
    let _ = std::process::Command::new("virsh")
        .args(["-q", "-c", "qemu:///system", "pool-undefine", &pool_name])
        .status();

    let (rr, rg, hr, hg) = (median(ref_running), median(ref_ready), median(running), median(ready));
    println!(
        "create (linked clone of the test template, median of {runs}{}):",
        if seed { ", with a cloud-init seed" } else { "" }
    );
    println!("  script (qemu-img + virsh define + start): running {rr:.3} s, guest ready {rg:.3} s");
    println!("  Hangar (POST /api/v1/vms):                running {hr:.3} s, guest ready {hg:.3} s");
    println!(
        "  Hangar's overhead to running: {:.3} s (goal <= 0.3 s); to ready: {:.3} s",
        hr - rr,
        hg - rg
    );
}
