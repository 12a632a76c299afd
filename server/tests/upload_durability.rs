//! A killed Hangar loses nothing it acknowledged: a 256 MiB upload in 8 MiB chunks, `kill -9` of the real binary
//! at random points ten times, a restart after each, and the volume's SHA-256 equals the source's at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Image, Task, TaskState, Upload};
use common::guest::{drop_pool, eventually, unique, LOCAL};
use common::tus::{self, sha256_hex};
use common::{Client, ADMIN_PW};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SIZE: usize = 256 << 20;
const CHUNK: usize = 8 << 20;

struct Proc {
    child: tokio::process::Child,
}

async fn start(dir: &std::path::Path, port: u16) -> Proc {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hangar"))
        .arg("serve")
        .env("HANGAR_LISTEN", format!("127.0.0.1:{port}"))
        .env("HANGAR_DATA_DIR", dir)
        .env("HANGAR_ADMIN_PASSWORD", ADMIN_PW)
        .env("HANGAR_BOOTSTRAP_HOST", LOCAL)
        .env("HANGAR_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    eventually(30, "hangar answers", || async {
        let r = reqwest::get(format!("{base}/api/v1/openapi.json")).await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    Proc { child }
}

impl Proc {
    async fn kill9(mut self) {
        let pid = self.child.id().unwrap() as i32;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = self.child.wait().await;
    }
}

/// Sends chunks from the server's offset until the data is all there or the connection dies; records every
/// offset the server acknowledged.
async fn push(c: &Client, id: &str, data: &[u8], acked: &AtomicU64) {
    let (status, off) = tus::head(c, id).await;
    let (StatusCode::OK, Some(mut off)) = (status, off) else {
        return;
    };
    while (off as usize) < data.len() {
        let end = (off as usize + CHUNK).min(data.len());
        let part = &data[off as usize..end];
        let r = c
            .request(Method::PATCH, &format!("/api/v1/uploads/{id}"))
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", off.to_string())
            .header("Upload-Checksum", tus::sha1_header(part))
            .body(part.to_vec())
            .send()
            .await;
        let Ok(r) = r else { return };
        if r.status() != StatusCode::NO_CONTENT {
            return;
        }
        off = r.headers()["upload-offset"].to_str().unwrap().parse().unwrap();
        acked.fetch_max(off, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_ten_times_mid_upload_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut proc = start(dir.path(), port).await;
    let mut admin = Client::new(&base);
    admin.login_ok("admin", ADMIN_PW).await;
    let hosts: Vec<app::api::Host> = admin.get_as("/api/v1/hosts").await;
    let host = hosts[0].id;
    eventually(20, "host online", || async {
        let h: Vec<app::api::Host> = admin.get_as("/api/v1/hosts").await;
        (h[0].status == app::api::HostStatus::Online).then_some(())
    })
    .await;
    let pool = unique("hangar-durable");
    struct Guard(String);
    impl Drop for Guard {
        fn drop(&mut self) {
            drop_pool(LOCAL, &self.0);
        }
    }
    let _g = Guard(pool.clone());
    let (s, p) = admin
        .call(
            Method::POST,
            "/api/v1/pools",
            Some(json!({ "host_id": host, "name": pool, "kind": "dir",
                "target_path": format!("/var/lib/libvirt/images/{pool}"), "build": true })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pool_id = p["id"].as_str().unwrap().to_string();

    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let mut bytes = vec![0u8; SIZE];
    rng.fill(&mut bytes[..]);
    let data = Arc::new(bytes);
    let want = sha256_hex(&data);
    let (s, id, body) = tus::create(
        &admin,
        SIZE as u64,
        &[
            ("filename", "durable.iso"),
            ("kind", "template"),
            ("pool", &pool_id),
            ("visibility", "public"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = id.unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let mut kills = 0;
    while kills < 10 {
        let uploader = {
            // The same cookies (a clone of the client shares its cookie store).
            let c = Client {
                http: admin.http.clone(),
                base: base.clone(),
                csrf: admin.csrf.clone(),
                bearer: None,
            };
            let (id, data, acked) = (id.clone(), data.clone(), acked.clone());
            tokio::spawn(async move { push(&c, &id, &data, &acked).await })
        };
        // Each kill lands while bytes are moving: after the first chunk this process acknowledged (the first
        // one after a restart waits for the hashes to be rebuilt from the staged bytes), at a random moment.
        let before = acked.load(Ordering::SeqCst);
        for _ in 0..3000 {
            if acked.load(Ordering::SeqCst) > before || uploader.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..400))).await;
        proc.kill9().await;
        kills += 1;
        let _ = uploader.await;
        proc = start(dir.path(), port).await;
        // The session survives (it is in the database); what was acknowledged is still there.
        let (s, off) = tus::head(&admin, &id).await;
        assert_eq!(s, StatusCode::OK);
        let off = off.unwrap();
        let ack = acked.load(Ordering::SeqCst);
        assert!(
            off >= ack,
            "kill {kills}: the server has {off} bytes but had acknowledged {ack}"
        );
        eprintln!("kill {kills}: {ack} bytes acknowledged, {off} kept");
        if off as usize == SIZE {
            break;
        }
    }
    assert_eq!(kills, 10, "the upload finished before it was interrupted ten times");
    // Finish what is left, then the import runs (and is resumed if a kill interrupted it).
    push(&admin, &id, &data, &acked).await;
    let (u, t) = eventually(120, "import finished", || async {
        let u: Upload = admin.get_as(&format!("/api/v1/uploads/{id}")).await;
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{}", u.task_id?)).await;
        t.state.is_finished().then_some((u, t))
    })
    .await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    let image: Image = admin.get_as(&format!("/api/v1/images/{}", u.image_id.unwrap())).await;
    assert_eq!(image.sha256, want);
    let back = admin
        .request(Method::GET, &format!("/api/v1/images/{}/content", image.id))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.len(), SIZE);
    assert_eq!(sha256_hex(&back), want, "the volume holds exactly the source's bytes");
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{}", image.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    proc.kill9().await;
}
