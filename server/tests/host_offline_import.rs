//! A target host that goes offline while an upload is imported into it: the task fails with a clear reason, the
//! upload is kept, and once the host is back the import is tried again and arrives whole, with nothing else left.
//! (A test binary of its own: it stops host2's daemon, which other tests must not see.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Image, Task, TaskState, Upload, Volume};
use common::guest::{drop_pool, eventually, unique, HOST2};
use common::tus::sha256_hex;
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn env(cmd: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/libvirt-env.sh");
    assert!(
        std::process::Command::new(script).arg(cmd).status().unwrap().success(),
        "{cmd}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_going_offline_mid_import_fails_the_task_and_a_retry_completes_it() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let h2 = srv.add_host(&admin, "host2", HOST2).await;
    let name = unique("hangar-offline");
    struct Guard(String);
    impl Drop for Guard {
        fn drop(&mut self) {
            env("host2-start");
            drop_pool(HOST2, &self.0);
        }
    }
    let _g = Guard(name.clone());
    let (s, p) = admin
        .call(
            Method::POST,
            "/api/v1/pools",
            Some(json!({ "host_id": h2, "name": name, "kind": "dir",
                "target_path": format!("/var/lib/libvirt/images/{name}"), "build": true })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pool = p["id"].as_str().unwrap().to_string();
    let data: Vec<u8> = (0..(512u32 << 20) / 4)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    let up = common::tus::upload_all(
        &admin,
        &data,
        64 << 20,
        &[
            ("filename", "big.img"),
            ("kind", "template"),
            ("pool", &pool),
            ("visibility", "public"),
        ],
    )
    .await;
    let u: Upload = admin.get_as(&format!("/api/v1/uploads/{up}")).await;
    let task = u.task_id.unwrap();
    eventually(60, "bytes moving into host2", || async {
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{task}")).await;
        assert!(!t.state.is_finished(), "finished before host2 could be stopped: {t:?}");
        (t.bytes_done.unwrap_or(0) > 0).then_some(())
    })
    .await;
    env("host2-stop");
    let t = eventually(60, "the import failed", || async {
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{task}")).await;
        t.state.is_finished().then_some(t)
    })
    .await;
    assert_eq!(t.state, TaskState::Failed, "{t:?}");
    assert!(
        matches!(t.error_code.as_deref(), Some("host_offline" | "hypervisor_error")),
        "a reason the UI words: {t:?}"
    );
    let u: Upload = admin.get_as(&format!("/api/v1/uploads/{up}")).await;
    assert_eq!(
        (u.state.as_str(), u.offset),
        ("failed", data.len() as i64),
        "the upload is kept"
    );
    eventually(20, "host2 seen offline", || async {
        let h: app::api::HostDetail = admin.get_as(&format!("/api/v1/hosts/{h2}")).await;
        (h.host.status == app::api::HostStatus::Offline).then_some(())
    })
    .await;
    env("host2-start");
    eventually(60, "host2 online again", || async {
        let h: app::api::HostDetail = admin.get_as(&format!("/api/v1/hosts/{h2}")).await;
        (h.host.status == app::api::HostStatus::Online).then_some(())
    })
    .await;
    let (s, v) = admin
        .call(Method::POST, &format!("/api/v1/uploads/{up}/import"), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let t = eventually(120, "the retried import", || async {
        let u: Upload = admin.get_as(&format!("/api/v1/uploads/{up}")).await;
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{}", u.task_id?)).await;
        t.state.is_finished().then_some(t)
    })
    .await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    let img: Image = admin
        .get_as(&format!(
            "/api/v1/images/{}",
            t.result.unwrap()["image_id"].as_i64().unwrap()
        ))
        .await;
    assert_eq!(img.sha256, sha256_hex(&data));
    let vols: Vec<Volume> = admin.get_as(&format!("/api/v1/pools/{pool}/volumes")).await;
    assert_eq!(vols.len(), 1, "one volume, no leftover of the first try: {vols:?}");
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{}", img.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}
