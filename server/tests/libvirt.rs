//! Hosts and VM lifecycle against real libvirt: the local daemon with tiny TCG guests, and a second host in a
//! network namespace over qemu+tcp (both set up by scripts/libvirt-env.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::guest::{eventually, virsh, Guest, HOST2, LOCAL};
use common::{TestServer, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

async fn act(admin: &common::Client, uuid: &str, action: &str) -> serde_json::Value {
    let (s, v) = admin
        .call(Method::POST, &format!("/api/v1/vms/{uuid}/actions/{action}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{action}: {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_guest_full_lifecycle() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-life", true);
    let vol = g.volume.clone().unwrap();
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;

    let (_, d) = admin.get(&format!("/api/v1/vms/{}", g.uuid)).await;
    assert_eq!(d["disks"][0]["path"], vol.as_str());
    assert_eq!(d["disks"][0]["pool"], "hangar-test");
    assert_eq!(d["disks"][0]["format"], "qcow2");
    assert_eq!(d["disks"][0]["capacity_bytes"], 16 * 1024 * 1024);
    assert_eq!(d["vm"]["host_id"], host);

    assert_eq!(act(&admin, &g.uuid, "start").await["state"], "running");
    g.wait_ready(1).await;
    assert_eq!(act(&admin, &g.uuid, "pause").await["state"], "paused");
    let (s, v) = admin
        .call(Method::POST, &format!("/api/v1/vms/{}/actions/pause", g.uuid), None)
        .await;
    assert_eq!(
        (s, v["code"].as_str(), v["details"]["state"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"), Some("paused"))
    );
    assert_eq!(act(&admin, &g.uuid, "resume").await["state"], "running");
    act(&admin, &g.uuid, "reboot").await;
    g.wait_ready(2).await;
    act(&admin, &g.uuid, "shutdown").await;
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;
    // The index can read "shutoff" while libvirt's last events are still on their way: wait for them.
    let kinds: Vec<String> = eventually(10, "the stopped event in the history", || async {
        let (_, d) = admin.get(&format!("/api/v1/vms/{}", g.uuid)).await;
        let events = d["events"].as_array()?;
        let kinds: Vec<String> = events
            .iter()
            .filter_map(|e| e["kind"].as_str().map(String::from))
            .collect();
        kinds.iter().any(|k| k == "stopped").then_some(kinds)
    })
    .await;
    for k in ["vm.start", "started", "suspended", "resumed", "vm.shutdown", "shutdown"] {
        assert!(kinds.iter().any(|x| x == k), "history lacks {k}: {kinds:?}");
    }

    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", g.uuid), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!g.exists(), "the domain is gone");
    assert!(virsh(LOCAL, &["vol-info", &vol]).is_err(), "its volume is gone");
    assert_eq!(
        admin.get(&format!("/api/v1/vms/{}", g.uuid)).await.0,
        StatusCode::NOT_FOUND
    );
    let rows = srv.audit_rows().await;
    assert!(rows
        .iter()
        .any(|r| r.0 == "vm.delete" && r.2 == "ok" && r.3.as_deref() == Some(&format!("vm:{}", g.uuid))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_started_with_virsh_arrives_on_the_event_stream() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-virsh", false);
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;
    let resp = admin.request(Method::GET, "/api/v1/events").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut resp = resp;
    virsh(LOCAL, &["start", &g.name]).unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen
        .lines()
        .any(|l| l.contains(&g.uuid) && l.contains("\"state\":\"running\""))
    {
        assert!(Instant::now() < deadline, "no running event for {}: {seen}", g.uuid);
        let chunk = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: vm"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_host_over_tcp_goes_offline_and_comes_back() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let h2 = srv.add_host(&admin, "host2", HOST2).await;
    let (_, d) = admin.get(&format!("/api/v1/hosts/{h2}")).await;
    assert_eq!(d["node"]["hostname"], "host2", "{d}");
    assert!(d["node"]["memory_total_mib"].as_u64().unwrap() > 0);
    let g = Guest::define(HOST2, "hangar-h2", false);
    let vm = srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;
    assert_eq!(vm["host_name"], "host2");
    let (_, list) = admin.get(&format!("/api/v1/vms?host={h2}")).await;
    assert!(list["items"].as_array().unwrap().iter().all(|v| v["host_id"] == h2));
    act(&admin, &g.uuid, "start").await;
    srv.wait_vm(&admin, &g.uuid, Some("running")).await;
    act(&admin, &g.uuid, "poweroff").await;
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;

    let env = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/libvirt-env.sh");
    let stopped = Instant::now();
    assert!(std::process::Command::new(env)
        .arg("host2-stop")
        .status()
        .unwrap()
        .success());
    eventually(15, "host2 offline", || async {
        let (_, h) = admin.get(&format!("/api/v1/hosts/{h2}")).await;
        (h["host"]["status"] == "offline").then_some(())
    })
    .await;
    println!("host2 seen offline after {:?}", stopped.elapsed());
    let asked = Instant::now();
    let (s, v) = admin
        .call(Method::POST, &format!("/api/v1/vms/{}/actions/start", g.uuid), None)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("host_offline"))
    );
    assert!(asked.elapsed() < Duration::from_secs(2), "an offline host fails fast");

    assert!(std::process::Command::new(env)
        .arg("host2-start")
        .status()
        .unwrap()
        .success());
    eventually(30, "host2 online again", || async {
        let (_, h) = admin.get(&format!("/api/v1/hosts/{h2}")).await;
        (h["host"]["status"] == "online").then_some(())
    })
    .await;
    act(&admin, &g.uuid, "start").await;
    act(&admin, &g.uuid, "poweroff").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_and_act_on_their_own_vms_only_within_quota() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let kim = srv.create_user(&admin, "kim", PW_USER, "user").await;
    srv.create_user(&admin, "lee", PW_USER, "user").await;
    let mine = Guest::define(LOCAL, "hangar-kim", false);
    let other = Guest::define(LOCAL, "hangar-other", false);
    srv.wait_vm(&admin, &mine.uuid, None).await;
    srv.wait_vm(&admin, &other.uuid, None).await;

    let (_, unowned) = admin.get("/api/v1/vms?owner=none&per_page=1000").await;
    assert!(unowned["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["id"] == mine.uuid.as_str()));
    admin
        .call(
            Method::PUT,
            &format!("/api/v1/users/{kim}/quota"),
            Some(json!({"max_vms": 1, "max_vcpus": 2, "max_memory_mib": 256, "max_disk_gib": 0})),
        )
        .await;
    let (s, d) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", mine.uuid),
            Some(json!({"owner_id": kim})),
        )
        .await;
    assert_eq!((s, d["vm"]["owner"].as_str()), (StatusCode::OK, Some("kim")), "{d}");
    let (s, v) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", other.uuid),
            Some(json!({"owner_id": kim})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str(), v["details"]["resource"].as_str()),
        (StatusCode::CONFLICT, Some("quota_exceeded"), Some("vms"))
    );
    let (_, u) = admin.get(&format!("/api/v1/users/{kim}")).await;
    assert_eq!(
        (u["quota"]["used_vms"].as_i64(), u["quota"]["used_memory_mib"].as_i64()),
        (Some(1), Some(128))
    );
    assert!(
        virsh(LOCAL, &["metadata", &mine.name, "https://hangar.dev/xmlns/domain/1"])
            .unwrap()
            .contains("kim")
    );

    let mut k = srv.client();
    k.login_ok("kim", PW_USER).await;
    let (_, list) = k.get("/api/v1/vms?per_page=1000").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.uuid.as_str()]);
    // Someone else's VM answers exactly like a VM that does not exist.
    assert_eq!(
        k.get(&format!("/api/v1/vms/{}", other.uuid)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        k.call(Method::POST, &format!("/api/v1/vms/{}/actions/start", other.uuid), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let mut l = srv.client();
    l.login_ok("lee", PW_USER).await;
    assert_eq!(
        l.get(&format!("/api/v1/vms/{}", mine.uuid)).await.0,
        StatusCode::NOT_FOUND
    );

    // Growing the VM beyond the quota is refused and changes nothing.
    let (s, v) = k
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", mine.uuid),
            Some(json!({"max_memory_mib": 512, "memory_mib": 512})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("quota_exceeded")),
        "{v}"
    );
    // Text with markup characters is kept exactly and never breaks the domain XML.
    let text = "web <b>&'\"";
    let (s, d) = k
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", mine.uuid),
            Some(json!({"description": text, "tags": [text, "prod"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["description"], text);
    assert_eq!(d["vm"]["tags"], json!([text, "prod"]));
    assert_eq!(d["max_memory_mib"], 128);
    let (_, tagged) = k.get("/api/v1/vms?tag=prod").await;
    assert_eq!(tagged["total"], 1);

    let (s, items) = k
        .call(
            Method::POST,
            "/api/v1/vms/batch",
            Some(json!({"action": "start", "ids": [mine.uuid, other.uuid]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(items[0]["ok"], true, "{items}");
    assert_eq!(items[1]["error"]["code"], "not_found");
    k.call(
        Method::POST,
        &format!("/api/v1/vms/{}/actions/poweroff", mine.uuid),
        None,
    )
    .await;
}

#[tokio::test]
async fn bad_host_input_is_refused_and_nothing_is_saved() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let cases = [
        (json!({"name": "x", "uri": "not a uri"}), 400, "invalid_input"),
        (json!({"name": "x", "uri": "http://example.com/"}), 400, "invalid_input"),
        (json!({"name": "", "uri": "test:///default"}), 400, "invalid_input"),
        (
            json!({"name": "nowhere", "uri": "qemu+tcp://10.250.0.99/system"}),
            422,
            "host_unreachable",
        ),
        (
            json!({"name": "nowhere", "uri": "qemu+tcp://127.0.0.1:1/system"}),
            422,
            "host_unreachable",
        ),
    ];
    for (body, status, code) in cases {
        let (s, v) = admin.call(Method::POST, "/api/v1/hosts", Some(body.clone())).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{body}: {v}");
    }
    // A cause people can act on, and libvirt's own words only in the log.
    let (_, v) = admin
        .call(
            Method::POST,
            "/api/v1/hosts",
            Some(json!({"name": "nowhere", "uri": "qemu+tcp://127.0.0.1:1/system"})),
        )
        .await;
    assert_eq!(v["details"]["cause"], "refused", "{v}");
    assert!(!v["message"].as_str().unwrap().contains("Connection refused"), "{v}");
    assert!(v["details"]["reference"].is_string(), "{v}");
    let (_, hosts) = admin.get("/api/v1/hosts").await;
    assert_eq!(hosts, json!([]), "nothing half-saved");
    srv.add_host(&admin, "demo", "test:///default").await;
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/hosts",
            Some(json!({"name": "again", "uri": "test:///default"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["code"].as_str(), v["details"]["field"].as_str()),
        (409, Some("duplicate"), Some("uri"))
    );
    let (s, v) = admin.get("/api/v1/vms?sort=password").await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (400, Some("invalid_input")));
}
