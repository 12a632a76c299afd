//! Uploading a 2 GiB file through tus in 8 MiB chunks over loopback into a dir pool, against `dd` writing the
//! same bytes to the same filesystem with `conv=fsync`, in one run: MiB/s of each, the ratio, Hangar's peak RSS
//! growth during the upload, and the time to import the finished upload into the pool.
//!
//! Runs the release `hangar` binary as its own process (`HANGAR_BIN`, default `target/release/hangar`) on the
//! local libvirt daemon; `BENCH_UPLOAD_MIB` changes the size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const CHUNK: usize = 8 << 20;

fn rss_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn virsh(args: &[&str]) -> String {
    let out = std::process::Command::new("virsh")
        .args(["-q", "-c", "qemu:///system"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::main]
async fn main() {
    let mib: usize = std::env::var("BENCH_UPLOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let size = mib << 20;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = std::env::var("HANGAR_BIN").unwrap_or_else(|_| root.join("target/release/hangar").display().to_string());
    // Everything on one filesystem: the source, dd's output, Hangar's staging and the pool.
    let work = tempfile::Builder::new()
        .prefix("hangar-bench-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let src = work.path().join("source.bin");
    {
        let mut f = std::fs::File::create(&src).unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..size / CHUNK {
            for b in buf.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
            }
            f.write_all(&buf).unwrap();
        }
        f.sync_all().unwrap();
    }

    // The reference: dd, same bytes, same filesystem, synced.
    let t = Instant::now();
    let ok = std::process::Command::new("dd")
        .arg(format!("if={}", src.display()))
        .arg(format!("of={}", work.path().join("dd.out").display()))
        .args(["bs=8M", "conv=fsync", "status=none"])
        .status()
        .unwrap();
    assert!(ok.success());
    let dd_secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(work.path().join("dd.out")).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = work.path().join("data");
    let mut child = std::process::Command::new(&bin)
        .arg("serve")
        .env("HANGAR_LISTEN", format!("127.0.0.1:{port}"))
        .env("HANGAR_DATA_DIR", &data)
        .env("HANGAR_ADMIN_PASSWORD", "bench-admin-password")
        .env("HANGAR_BOOTSTRAP_HOST", "qemu:///system")
        .env("HANGAR_LOG", "warn")
        .env("HANGAR_STORAGE_POOL_ROOTS", "/var/tmp")
        .spawn()
        .expect("the release binary (cargo build --release -p server)");
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
            let v: Value = r.json().await.unwrap();
            csrf = v["csrf_token"].as_str().unwrap_or_default().to_string();
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
    // Wait for the host, then a dir pool on the same filesystem.
    for _ in 0..100 {
        let (_, h) = call(Method::GET, "/api/v1/hosts", json!(null)).await;
        if h[0]["status"] == "online" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pool = format!("hangar-bench-{}", std::process::id());
    let (s, p) = call(
        Method::POST,
        "/api/v1/pools",
        json!({ "host_id": 1, "name": pool, "kind": "dir", "target_path": work.path().join("pool").display().to_string(), "build": true }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pool_id = p["id"].as_str().unwrap().to_string();

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let meta = format!(
        "filename {},kind {},pool {},visibility {}",
        b64("bench.img"),
        b64("template"),
        b64(&pool_id),
        b64("public")
    );
    let pid = child.id();
    let rss_before = rss_kib(pid, "VmRSS:");
    // Resets the peak (VmHWM) to the current size, so the peak below is the upload's.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let t = Instant::now();
    let r = http
        .post(format!("{base}/api/v1/uploads"))
        .header("X-CSRF-Token", &csrf)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", size.to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = format!("{base}{}", r.headers()["location"].to_str().unwrap());
    let mut f = std::fs::File::open(&src).unwrap();
    let mut off = 0usize;
    let mut buf = vec![0u8; CHUNK];
    while off < size {
        f.read_exact(&mut buf).unwrap();
        let r = http
            .patch(&url)
            .header("X-CSRF-Token", &csrf)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", off.to_string())
            .body(buf.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        off += CHUNK;
    }
    let up_secs = t.elapsed().as_secs_f64();
    let peak = rss_kib(pid, "VmHWM:");
    let t = Instant::now();
    let id = url.rsplit('/').next().unwrap().to_string();
    let task_id = loop {
        let (_, u) = call(Method::GET, &format!("/api/v1/uploads/{id}"), json!(null)).await;
        if let Some(t) = u["task_id"].as_i64() {
            break t;
        }
    };
    let image = loop {
        let (_, t) = call(Method::GET, &format!("/api/v1/tasks/{task_id}"), json!(null)).await;
        match t["state"].as_str() {
            Some("succeeded") => break t["result"]["image_id"].as_i64().unwrap(),
            Some("failed" | "cancelled") => panic!("import failed: {t}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let import_secs = t.elapsed().as_secs_f64();

    let mibs = |secs: f64| mib as f64 / secs;
    println!("upload of {mib} MiB in 8 MiB chunks over loopback, same filesystem:");
    println!(
        "  dd conv=fsync          {:>8.1} MiB/s  ({dd_secs:.2} s)",
        mibs(dd_secs)
    );
    println!(
        "  Hangar tus (synced)    {:>8.1} MiB/s  ({up_secs:.2} s)",
        mibs(up_secs)
    );
    println!("  Hangar / dd            {:>8.2}  (goal ≥ 0.70)", dd_secs / up_secs);
    println!(
        "  Hangar peak RSS growth {:>8.1} MiB  (goal < 64 MiB; {} MiB before)",
        peak.saturating_sub(rss_before) as f64 / 1024.0,
        rss_before / 1024
    );
    println!(
        "  import into the pool   {import_secs:>8.2} s  ({:.1} MiB/s, through libvirt)",
        mibs(import_secs)
    );

    let _ = call(Method::DELETE, &format!("/api/v1/images/{image}"), json!(null)).await;
    let _ = child.kill();
    let _ = child.wait();
    virsh(&["pool-destroy", &pool]);
    virsh(&["pool-undefine", &pool]);
}
