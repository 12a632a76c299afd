//! Hosts and VM lifecycle against real libvirt: the local daemon with tiny TCG guests, and a second host in a
//! network namespace over qemu+tcp (both set up by scripts/libvirt-env.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{
    BatchItem, BatchRequest, CreateHost, Host, HostDetail, HostStatus, UpdateVm, User, VmDeleted, VmDetail, VmPage,
    VmState,
};
use common::guest::{eventually, virsh, Guest, HOST2, LOCAL};
use common::{body, TestServer, PW_USER};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

/// Runs an action that must succeed and returns the VM's state after it.
async fn act(c: &common::Client, uuid: &str, action: &str) -> VmState {
    let vm: app::api::Vm = c
        .ok_as(Method::POST, &format!("/api/v1/vms/{uuid}/actions/{action}"), None)
        .await;
    vm.state
}

async fn host_status(admin: &common::Client, id: i64) -> HostStatus {
    let h: HostDetail = admin.get_as(&format!("/api/v1/hosts/{id}")).await;
    h.host.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_guest_full_lifecycle() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-life", true);
    let vol = g.volume.clone().unwrap();
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;

    let d: VmDetail = admin.get_as(&format!("/api/v1/vms/{}", g.uuid)).await;
    let disk = &d.disks[0];
    assert_eq!(disk.path.as_deref(), Some(vol.as_str()));
    assert_eq!(disk.pool.as_deref(), Some("hangar-test"));
    assert_eq!(disk.format.as_deref(), Some("qcow2"));
    assert_eq!(disk.capacity_bytes, Some(16 * 1024 * 1024));
    assert_eq!(d.vm.host_id, host);

    assert_eq!(act(&admin, &g.uuid, "start").await, VmState::Running);
    g.wait_ready(1).await;
    assert_eq!(act(&admin, &g.uuid, "pause").await, VmState::Paused);
    let (s, e) = admin
        .refused(Method::POST, &format!("/api/v1/vms/{}/actions/pause", g.uuid), None)
        .await;
    assert_eq!(
        (s, e.code.as_str(), e.details["state"].as_str()),
        (StatusCode::CONFLICT, "invalid_state", Some("paused"))
    );
    assert_eq!(act(&admin, &g.uuid, "resume").await, VmState::Running);
    act(&admin, &g.uuid, "reboot").await;
    g.wait_ready(2).await;
    act(&admin, &g.uuid, "shutdown").await;
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;
    // The index can read "shutoff" while libvirt's last events are still on their way: wait for them.
    let kinds: Vec<String> = eventually(10, "the stopped event in the history", || async {
        let d: VmDetail = admin.get_as(&format!("/api/v1/vms/{}", g.uuid)).await;
        let kinds: Vec<String> = d.events.into_iter().map(|e| e.kind).collect();
        kinds.iter().any(|k| k == "stopped").then_some(kinds)
    })
    .await;
    for k in ["vm.start", "started", "suspended", "resumed", "vm.shutdown", "shutdown"] {
        assert!(kinds.iter().any(|x| x == k), "history lacks {k}: {kinds:?}");
    }

    let deleted: VmDeleted = admin
        .ok_as(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", g.uuid), None)
        .await;
    assert_eq!((deleted.disks_deleted, deleted.disks_kept), (vec![vol.clone()], vec![]));
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
    let d: HostDetail = admin.get_as(&format!("/api/v1/hosts/{h2}")).await;
    let node = d.node.unwrap();
    assert_eq!(node.hostname, "host2");
    assert!(node.memory_total_mib > 0);
    let g = Guest::define(HOST2, "hangar-h2", false);
    srv.wait_vm(&admin, &g.uuid, Some("shutoff")).await;
    assert_eq!(srv.wait_vm_as(&admin, &g.uuid).await.host_name, "host2");
    let list: VmPage = admin.get_as(&format!("/api/v1/vms?host={h2}")).await;
    assert!(!list.items.is_empty() && list.items.iter().all(|v| v.host_id == h2));
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
        (host_status(&admin, h2).await == HostStatus::Offline).then_some(())
    })
    .await;
    println!("host2 seen offline after {:?}", stopped.elapsed());
    let asked = Instant::now();
    let (s, e) = admin
        .refused(Method::POST, &format!("/api/v1/vms/{}/actions/start", g.uuid), None)
        .await;
    assert_eq!((s, e.code.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "host_offline"));
    assert!(asked.elapsed() < Duration::from_secs(2), "an offline host fails fast");

    assert!(std::process::Command::new(env)
        .arg("host2-start")
        .status()
        .unwrap()
        .success());
    eventually(30, "host2 online again", || async {
        (host_status(&admin, h2).await == HostStatus::Online).then_some(())
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

    let unowned: VmPage = admin.get_as("/api/v1/vms?owner=none&per_page=1000").await;
    assert!(unowned.items.iter().any(|v| v.id == mine.uuid));
    let limits = common::limits(1, 2, 256, 0);
    let _: app::api::Quota = admin
        .ok_as(Method::PUT, &format!("/api/v1/users/{kim}/quota"), body(&limits))
        .await;
    let to_kim = UpdateVm {
        owner_id: Some(kim),
        ..Default::default()
    };
    let d: VmDetail = admin
        .ok_as(Method::PATCH, &format!("/api/v1/vms/{}", mine.uuid), body(&to_kim))
        .await;
    assert_eq!(d.vm.owner.as_deref(), Some("kim"));
    let (s, e) = admin
        .refused(Method::PATCH, &format!("/api/v1/vms/{}", other.uuid), body(&to_kim))
        .await;
    assert_eq!(
        (s, e.code.as_str(), e.details["resource"].as_str()),
        (StatusCode::CONFLICT, "quota_exceeded", Some("vms"))
    );
    let u: User = admin.get_as(&format!("/api/v1/users/{kim}")).await;
    assert_eq!((u.quota.used_vms, u.quota.used_memory_mib), (1, 128));
    assert!(
        virsh(LOCAL, &["metadata", &mine.name, "https://hangar.dev/xmlns/domain/1"])
            .unwrap()
            .contains("kim")
    );

    let mut k = srv.client();
    k.login_ok("kim", PW_USER).await;
    let list: VmPage = k.get_as("/api/v1/vms?per_page=1000").await;
    let ids: Vec<&str> = list.items.iter().map(|v| v.id.as_str()).collect();
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
    let grow = UpdateVm {
        max_memory_mib: Some(512),
        memory_mib: Some(512),
        ..Default::default()
    };
    let (s, e) = k
        .refused(Method::PATCH, &format!("/api/v1/vms/{}", mine.uuid), body(&grow))
        .await;
    assert_eq!((s, e.code.as_str()), (StatusCode::CONFLICT, "quota_exceeded"));
    // Text with markup characters is kept exactly and never breaks the domain XML.
    let text = "web <b>&'\"";
    let edit = UpdateVm {
        description: Some(text.into()),
        tags: Some(vec![text.into(), "prod".into()]),
        ..Default::default()
    };
    let d: VmDetail = k
        .ok_as(Method::PATCH, &format!("/api/v1/vms/{}", mine.uuid), body(&edit))
        .await;
    assert_eq!(d.description, text);
    assert_eq!(d.vm.tags, vec![text.to_string(), "prod".into()]);
    assert_eq!(d.max_memory_mib, 128);
    let tagged: VmPage = k.get_as("/api/v1/vms?tag=prod").await;
    assert_eq!(tagged.total, 1);

    let batch = BatchRequest {
        action: "start".into(),
        ids: vec![mine.uuid.clone(), other.uuid.clone()],
        delete_disks: false,
    };
    let items: Vec<BatchItem> = k.ok_as(Method::POST, "/api/v1/vms/batch", body(&batch)).await;
    assert!(items[0].ok, "{items:?}");
    assert_eq!(items[1].error.as_ref().map(|e| e.code.as_str()), Some("not_found"));
    // Someone else's VM in a batch is named no more than a missing one.
    assert_eq!((items[1].name.as_deref(), items[1].state), (None, None));
    act(&k, &mine.uuid, "poweroff").await;
}

#[tokio::test]
async fn bad_host_input_is_refused_and_nothing_is_saved() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = |name: &str, uri: &str| {
        body(&CreateHost {
            name: name.into(),
            uri: uri.into(),
            ..Default::default()
        })
    };
    let cases = [
        (("x", "not a uri"), 400, "invalid_input"),
        (("x", "http://example.com/"), 400, "invalid_input"),
        (("", "test:///default"), 400, "invalid_input"),
        (("nowhere", "qemu+tcp://10.250.0.99/system"), 422, "host_unreachable"),
        (("nowhere", "qemu+tcp://127.0.0.1:1/system"), 422, "host_unreachable"),
    ];
    for ((name, uri), status, code) in cases {
        let (s, e) = admin.refused(Method::POST, "/api/v1/hosts", host(name, uri)).await;
        assert_eq!((s.as_u16(), e.code.as_str()), (status, code), "{uri}: {e:?}");
    }
    // A cause people can act on, and libvirt's own words only in the log.
    let (_, e) = admin
        .refused(
            Method::POST,
            "/api/v1/hosts",
            host("nowhere", "qemu+tcp://127.0.0.1:1/system"),
        )
        .await;
    assert_eq!(e.details["cause"], "refused", "{e:?}");
    assert!(!e.message.contains("Connection refused"), "{e:?}");
    assert!(e.details["reference"].is_string(), "{e:?}");
    let hosts: Vec<Host> = admin.get_as("/api/v1/hosts").await;
    assert_eq!(hosts, vec![], "nothing half-saved");
    srv.add_host(&admin, "demo", "test:///default").await;
    let (s, e) = admin
        .refused(Method::POST, "/api/v1/hosts", host("again", "test:///default"))
        .await;
    assert_eq!(
        (s.as_u16(), e.code.as_str(), e.details["field"].as_str()),
        (409, "duplicate", Some("uri"))
    );
    let (s, e) = admin.refused(Method::GET, "/api/v1/vms?sort=password", None).await;
    assert_eq!((s.as_u16(), e.code.as_str()), (400, "invalid_input"));
}
