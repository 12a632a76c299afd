//! Creating VMs on real libvirt with real tiny guests: a linked clone of the test template with a cloud-init
//! seed that the guest reads, on this host and on the second one (the template copied there first), the ISO
//! flow with "finish installation", the quota under concurrent requests, rollback of a failed creation, and
//! bad input that changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::create::{self, VmGuard, KEY1, KEY2};
use common::guest::{virsh, HOST2, LOCAL};
use common::storage::dir_pool;
use common::PW_USER;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn quota_used(c: &common::Client, user: i64) -> Value {
    c.get(&format!("/api/v1/users/{user}")).await.1["quota"].clone()
}

/// The user-data of a seed volume, read from the FAT image with mtools, and checked by `cloud-init schema`.
fn check_user_data(uri: &str, pool: &str, volume: &str) -> String {
    let img = format!("/tmp/{volume}");
    virsh(uri, &["vol-download", "--pool", pool, volume, &img]).unwrap();
    let out = std::process::Command::new("mtype")
        .args(["-i", &img, "::user-data"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let file = format!("{img}.user-data");
    std::fs::write(&file, &text).unwrap();
    let schema = std::process::Command::new("cloud-init")
        .args(["schema", "-c", &file])
        .output()
        .unwrap();
    assert!(
        schema.status.success(),
        "cloud-init schema rejects Hangar's user-data:\n{}\n{}",
        String::from_utf8_lossy(&schema.stdout),
        String::from_utf8_lossy(&schema.stderr)
    );
    let _ = std::fs::remove_file(&img);
    let _ = std::fs::remove_file(&file);
    text
}

#[tokio::test]
async fn a_linked_clone_boots_with_its_seed_and_goes_away_whole() {
    let (srv, admin, _host, pool, _pg, tmpl) = create::setup("hangar-mk").await;
    let uid = srv.create_user(&admin, "alice", PW_USER, "user").await;
    let mut alice = srv.client();
    alice.login_ok("alice", PW_USER).await;

    let name = common::guest::unique("mk");
    let _vm = VmGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    // An admin makes it for alice, in the test's pool.
    let made = create::create(
        &admin,
        json!({ "name": name, "source": { "template": tmpl.id }, "vcpus": 1, "memory_mib": 128, "disk_gib": 2,
                "owner_id": uid, "pool": pool.id, "tags": ["web"],
                "cloud_init": { "hostname": "web-one", "user": "alice", "password": "pass-word-1",
                                "ssh_keys": [KEY1, KEY2], "packages": ["curl"], "runcmd": ["echo hi"] } }),
    )
    .await;
    assert_eq!(made.plan.disk_kind, "linked");
    assert!(!made.plan.copies_template);
    let task = create::finished(&admin, made.task.id).await;
    assert_eq!(task.state, app::api::TaskState::Succeeded, "{task:?}");

    let serial = create::wait_serial(LOCAL, &made.vm_id, "GUEST-READY", 1).await;
    assert!(
        serial.contains("SEED hostname=web-one user=alice keys=2 password=yes"),
        "{serial}"
    );
    assert!(serial.contains("GUEST-READY hostname=web-one"), "{serial}");

    // The overlay is backed by the template; the disk has the size asked for.
    let disk = made.plan.disk_volume.clone();
    let vol_xml = virsh(LOCAL, &["vol-dumpxml", "--pool", &pool.name, &disk]).unwrap();
    assert!(
        vol_xml.contains(&format!("{}/template.qcow2", pool.target_path.clone().unwrap())),
        "{vol_xml}"
    );
    assert!(
        vol_xml.contains("<capacity unit='bytes'>2147483648</capacity>"),
        "{vol_xml}"
    );
    let seed = made.plan.seed_volume.clone().unwrap();
    let user_data = check_user_data(LOCAL, &pool.name, &seed);
    assert!(
        user_data.contains(KEY1) && !user_data.contains("pass-word-1"),
        "{user_data}"
    );

    // Alice sees it as hers, running, with the settings it was made with (password masked) and her quota moved.
    let vm = srv.wait_vm(&alice, &made.vm_id, Some("running")).await;
    assert_eq!(vm["owner"], "alice");
    let (s, detail) = alice.get(&format!("/api/v1/vms/{}", made.vm_id)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["cloud_init"]["hostname"], "web-one");
    assert_eq!(detail["cloud_init"]["password_set"], true);
    assert!(!detail.to_string().contains("pass-word-1"));
    let q = quota_used(&alice, uid).await;
    assert_eq!(
        (q["used_vms"].as_i64(), q["used_disk_gib"].as_i64()),
        (Some(1), Some(2)),
        "{q}"
    );

    // Deleting it with its disks removes overlay and seed, keeps the template, and gives the quota back.
    let (s, del) = alice
        .call(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", made.vm_id), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{del}");
    let left = create::volumes(LOCAL, &pool.name);
    assert!(!left.contains(&disk) && !left.contains(&seed), "{left:?}");
    assert!(left.contains(&"template.qcow2".to_string()));
    assert_eq!(quota_used(&alice, uid).await["used_vms"], 0);
    let audit = srv.audit_rows().await;
    assert!(audit
        .iter()
        .any(|a| a.0 == "vm.create" && a.1.as_deref() == Some("admin")));
    assert!(audit.iter().any(|a| a.0 == "vm.create.finished"));
}

#[tokio::test]
async fn on_the_second_host_the_template_is_copied_first() {
    let srv = create::server().await;
    let admin = srv.admin().await;
    let h1 = srv.add_host(&admin, "local", LOCAL).await;
    let h2 = srv.add_host(&admin, "host2", HOST2).await;
    let (pool, _pg) = dir_pool(&admin, h1, LOCAL, "hangar-mk2").await;
    let (pool2, _pg2) = dir_pool(&admin, h2, HOST2, "hangar-mk2b").await;
    let tmpl = create::import(&admin, LOCAL, &pool, "template.qcow2", "template").await;
    let name = common::guest::unique("mk2");
    let _vm = VmGuard {
        uri: HOST2.into(),
        name: name.clone(),
    };
    let made = create::create(
        &admin,
        json!({ "name": name, "host_id": h2, "pool": pool2.id, "source": { "template": tmpl.id },
                "vcpus": 1, "memory_mib": 128, "disk_gib": 1,
                "cloud_init": { "hostname": "far-away", "ssh_keys": [KEY1] } }),
    )
    .await;
    assert!(made.plan.copies_template);
    assert_eq!(made.plan.host_id, h2);
    let task = create::finished(&admin, made.task.id).await;
    assert_eq!(task.state, app::api::TaskState::Succeeded, "{task:?}");
    let serial = create::wait_serial(HOST2, &made.vm_id, "GUEST-READY", 1).await;
    assert!(
        serial.contains("SEED hostname=far-away user=debian keys=1 password=no"),
        "{serial}"
    );
    // The library now records a copy on host2.
    let img: app::api::Image = admin.get_as(&format!("/api/v1/images/{}", tmpl.id)).await;
    assert!(img.copies.iter().any(|c| c.host_id == h2), "{img:?}");
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", made.vm_id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{}", tmpl.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

#[tokio::test]
async fn the_iso_flow_installs_then_boots_from_disk_after_finish_install() {
    let srv = create::server().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (pool, _pg) = dir_pool(&admin, host, LOCAL, "hangar-iso").await;
    let iso = create::import(&admin, LOCAL, &pool, "install.iso", "iso").await;
    let name = common::guest::unique("iso");
    let _vm = VmGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    let made = create::create(
        &admin,
        json!({ "name": name, "pool": pool.id, "source": { "iso": iso.id }, "vcpus": 1, "memory_mib": 128,
                "disk_gib": 1 }),
    )
    .await;
    assert_eq!(made.plan.disk_kind, "blank");
    let task = create::finished(&admin, made.task.id).await;
    assert_eq!(task.state, app::api::TaskState::Succeeded, "{task:?}");
    let serial = create::wait_serial(LOCAL, &made.vm_id, "GUEST-READY", 1).await;
    assert!(serial.contains("BOOTED-FROM=cdrom"), "{serial}");
    assert!(serial.contains("INSTALLED to /dev/vda"), "{serial}");
    let (_, d) = admin.get(&format!("/api/v1/vms/{}", made.vm_id)).await;
    assert_eq!(d["installing"], true, "{d}");

    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/actions/finish-install", made.vm_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let serial = create::wait_serial(LOCAL, &made.vm_id, "GUEST-READY", 2).await;
    assert!(serial.contains("BOOTED-FROM=disk"), "{serial}");
    let (_, d) = admin.get(&format!("/api/v1/vms/{}", made.vm_id)).await;
    assert_eq!(d["installing"], false, "{d}");
    // A second time there is nothing to eject.
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{}/actions/finish-install", made.vm_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", made.vm_id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn ten_creations_at_once_with_room_for_two() {
    let (srv, admin, _host, pool, _pg, tmpl) = create::setup("hangar-mkq").await;
    let uid = srv.create_user(&admin, "carol", PW_USER, "user").await;
    let (s, v) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/users/{uid}/quota"),
            Some(json!({ "max_vms": 2, "max_vcpus": 8, "max_memory_mib": 8192, "max_disk_gib": 100 })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut carol = srv.client();
    carol.login_ok("carol", PW_USER).await;
    let prefix = common::guest::unique("mkq");
    let guards: Vec<VmGuard> = (0..10)
        .map(|i| VmGuard {
            uri: LOCAL.into(),
            name: format!("{prefix}-{i}"),
        })
        .collect();
    let pool_id = pool.id.clone();
    let sends = (0..10).map(|i| {
        let (c, name, pool_id) = (&admin, format!("{prefix}-{i}"), pool_id.clone());
        async move {
            c.call(
                Method::POST,
                "/api/v1/vms",
                Some(
                    json!({ "name": name, "owner_id": uid, "pool": pool_id, "source": { "template": tmpl.id },
                             "vcpus": 1, "memory_mib": 64, "disk_gib": 1, "start": false }),
                ),
            )
            .await
        }
    });
    let answers = futures::future::join_all(sends).await;
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(accepted.len(), 2, "{answers:?}");
    for (s, v) in answers.iter().filter(|(s, _)| *s != StatusCode::ACCEPTED) {
        assert_eq!(
            (*s, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("quota_exceeded")),
            "{v}"
        );
    }
    for a in &accepted {
        let t = create::finished(&admin, a["task"]["id"].as_i64().unwrap()).await;
        assert_eq!(t.state, app::api::TaskState::Succeeded, "{t:?}");
    }
    let q = quota_used(&carol, uid).await;
    assert_eq!(q["used_vms"], 2, "{q}");
    let mut conn = srv.state().db.acquire().await.unwrap();
    assert!(hangar::db::quotas::drift(&mut conn).await.unwrap().is_empty());
    drop(conn);
    let list: Value = carol.get("/api/v1/vms").await.1;
    assert_eq!(list["total"], 2, "{list}");
    drop(guards);
}

#[tokio::test]
async fn a_failed_creation_leaves_nothing_behind() {
    let (srv, admin, _host, pool, _pg, tmpl) = create::setup("hangar-mkf").await;
    let dave_id = srv.create_user(&admin, "dave", PW_USER, "user").await;
    let mut dave = srv.client();
    dave.login_ok("dave", PW_USER).await;
    // Dave owns one VM already: a failure must give back exactly what it reserved, not more.
    let kept_name = common::guest::unique("mkk");
    let _kept = VmGuard {
        uri: LOCAL.into(),
        name: kept_name.clone(),
    };
    let kept = create::create(
        &admin,
        json!({ "name": kept_name, "pool": pool.id, "owner_id": dave_id, "source": { "template": tmpl.id },
                "vcpus": 1, "memory_mib": 64, "disk_gib": 1, "start": false }),
    )
    .await;
    assert_eq!(
        create::finished(&admin, kept.task.id).await.state,
        app::api::TaskState::Succeeded
    );
    let before = create::volumes(LOCAL, &pool.name);
    let name = common::guest::unique("mkf");
    let _vm = VmGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    // `lo` is no bridge: libvirt cannot tell (no interface driver here), so disk, seed and domain are made, and
    // starting fails.
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/vms",
            Some(
                json!({ "name": name, "pool": pool.id, "owner_id": dave_id, "source": { "template": tmpl.id },
                         "vcpus": 1, "memory_mib": 64, "disk_gib": 1, "network": { "bridge": "lo" },
                         "cloud_init": { "ssh_keys": [KEY1] } }),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let t = create::finished(&admin, v["task"]["id"].as_i64().unwrap()).await;
    assert_eq!(t.state, app::api::TaskState::Failed, "{t:?}");
    let details = t.error_details.clone().unwrap_or_default();
    assert_eq!(details["step"], "starting", "the task says which step failed: {t:?}");
    assert!(
        details["reference"].is_string(),
        "and where the server logged why: {t:?}"
    );
    assert!(virsh(LOCAL, &["domuuid", &name]).is_err(), "no domain is left");
    assert_eq!(create::volumes(LOCAL, &pool.name), before, "no volume is left");
    let q = quota_used(&dave, dave_id).await;
    assert_eq!(
        (
            q["used_vms"].as_i64(),
            q["used_vcpus"].as_i64(),
            q["used_memory_mib"].as_i64()
        ),
        (Some(1), Some(1), Some(64)),
        "{q}"
    );
    let mut conn = srv.state().db.acquire().await.unwrap();
    assert!(hangar::db::quotas::drift(&mut conn).await.unwrap().is_empty());
    drop(conn);
    let (_, vm) = admin
        .get(&format!("/api/v1/vms/{}", v["vm_id"].as_str().unwrap()))
        .await;
    assert_eq!(vm["code"], "not_found");
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let (srv, admin, host, pool, _pg, tmpl) = create::setup("hangar-mkb").await;
    let erin_id = srv.create_user(&admin, "erin", PW_USER, "user").await;
    let mut erin = srv.client();
    erin.login_ok("erin", PW_USER).await;
    let base = json!({ "name": "ok-name", "source": { "template": tmpl.id }, "vcpus": 1, "memory_mib": 64,
                       "disk_gib": 1, "start": false });
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases = [
        (with(json!({ "name": "bad name!" })), 400, "invalid_input", "name"),
        (with(json!({ "disk_gib": 0 })), 400, "invalid_input", "disk_gib"),
        (with(json!({ "vcpus": 10_000 })), 400, "invalid_input", "vcpus"),
        (with(json!({ "memory_mib": 32 })), 400, "invalid_input", "memory_mib"),
        (
            with(json!({ "cloud_init": { "ssh_keys": ["ssh-ed25519 not-a-key"] } })),
            400,
            "invalid_input",
            "cloud_init.ssh_keys",
        ),
        (
            with(json!({ "cloud_init": { "user_data": "#cloud-config\nruncmd: [unclosed" } })),
            400,
            "invalid_input",
            "cloud_init.user_data",
        ),
        (
            with(json!({ "cloud_init": { "user_data": "#!/bin/sh\necho" } })),
            400,
            "invalid_input",
            "cloud_init.user_data",
        ),
        (
            with(json!({ "cloud_init": { "network": { "address": "10.0.0.5/24", "gateway": "10.9.9.9" } } })),
            400,
            "invalid_input",
            "cloud_init.network.gateway",
        ),
        (
            with(json!({ "network": { "network": "no-such-net" } })),
            409,
            "no_host",
            "",
        ),
        (with(json!({ "source": { "template": 987_654 } })), 404, "not_found", ""),
        (with(json!({ "owner_id": 1 })), 403, "forbidden", ""),
        (with(json!({ "pool": pool.id.clone() })), 403, "forbidden", ""),
        (with(json!({ "vcpus": 9 })), 409, "quota_exceeded", ""),
    ];
    for (body, status, code, field) in cases {
        let (s, v) = erin.call(Method::POST, "/api/v1/vms", Some(body.clone())).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{body} -> {v}");
        if !field.is_empty() {
            assert_eq!(v["details"]["field"], field, "{v}");
        }
    }
    // The template's minimum, with the number in the answer.
    let (s, v) = erin
        .call(
            Method::POST,
            "/api/v1/vms/plan",
            Some(with(json!({ "memory_mib": 16 }))),
        )
        .await;
    assert_eq!(
        (s, v["details"]["min"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(64)),
        "{v}"
    );
    // A name already used on the host.
    let name = common::guest::unique("taken");
    let g = common::guest::Guest::define(LOCAL, &name, false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/vms/plan",
            Some(with(json!({ "name": g.name, "host_id": host }))),
        )
        .await;
    assert_eq!(
        (s, v["details"]["reason"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken")),
        "{v}"
    );
    // A static address outside the network's subnet, or the network's own.
    // (A subnet of this process's own, so runs side by side do not collide.)
    let third = 20 + std::process::id() % 200;
    let net = create::NetGuard::new("hn", Some(&format!("10.77.{third}.1")));
    let net = net.name.clone();
    let (outside, own) = (format!("10.78.{third}.5/24"), format!("10.77.{third}.1/24"));
    for (address, reason) in [(outside.as_str(), "outside_network"), (own.as_str(), "in_use")] {
        let body = with(json!({ "network": { "network": net }, "cloud_init": { "network": { "address": address } } }));
        let (s, v) = erin.call(Method::POST, "/api/v1/vms/plan", Some(body)).await;
        assert_eq!(
            (s, v["details"]["reason"].as_str()),
            (StatusCode::BAD_REQUEST, Some(reason)),
            "{v}"
        );
    }
    let ok = with(
        json!({ "network": { "network": net }, "cloud_init": { "network": { "address": format!("10.77.{third}.9/24") } } }),
    );
    let (s, v) = erin.call(Method::POST, "/api/v1/vms/plan", Some(ok)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(quota_used(&erin, erin_id).await["used_vms"], 0);
    let tasks: Value = admin.get("/api/v1/tasks?kind=vm.create").await.1;
    assert_eq!(tasks.as_array().unwrap().len(), 0, "{tasks}");
    let made = srv
        .audit_rows()
        .await
        .iter()
        .filter(|a| a.0 == "vm.create" && a.2 == "ok")
        .count();
    assert_eq!(made, 0, "no refused creation is recorded as made");
}

#[tokio::test]
async fn a_creation_cut_short_by_a_stop_is_undone_at_the_next_start() {
    let mut srv = create::server().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (pool, _pg) = dir_pool(&admin, host, LOCAL, "hangar-mkr").await;
    let uid = srv.create_user(&admin, "ivy", PW_USER, "user").await;
    // What a creation had done when Hangar stopped: its reservation taken, its disk made and noted.
    let disk = format!("{}-disk0.qcow2", common::guest::unique("mkr"));
    virsh(LOCAL, &["vol-create-as", &pool.name, &disk, "16M", "--format", "qcow2"]).unwrap();
    let uuid = hangar::virt::domain_xml::random_uuid();
    let params = json!({ "uuid": uuid, "name": "cut-short", "host_id": host, "owner_id": uid,
        "reserve": { "vms": 1, "vcpus": 1, "memory_mib": 64, "disk_gib": 1 },
        "made": [{ "volume": { "pool": pool.id, "name": disk } }] });
    let db = &srv.state().db;
    sqlx::query(
        "UPDATE quotas SET used_vms = 1, used_vcpus = 1, used_memory_mib = 64, used_disk_gib = 1 WHERE user_id = ?",
    )
    .bind(uid)
    .execute(db)
    .await
    .unwrap();
    let task: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (kind, target, owner_id, state, cancellable, params, created_at, started_at)
         VALUES ('vm.create', ?, 1, 'running', 1, ?, 0, 0) RETURNING id",
    )
    .bind(format!("vm:{uuid}"))
    .bind(params.to_string())
    .fetch_one(db)
    .await
    .unwrap();
    // In flight, the reservation is the task's: usage is what is owned plus what creations hold.
    let mut conn = db.acquire().await.unwrap();
    assert!(hangar::db::quotas::drift(&mut conn).await.unwrap().is_empty());
    drop(conn);

    srv.restart().await;
    let admin = srv.admin().await;
    let t: app::api::Task = admin.get_as(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(
        (t.state, t.error_code.as_deref()),
        (app::api::TaskState::Failed, Some("interrupted"))
    );
    common::guest::eventually(40, "the half-made disk removed", || async {
        (!create::volumes(LOCAL, &pool.name).contains(&disk)).then_some(())
    })
    .await;
    let q = quota_used(&admin, uid).await;
    assert_eq!(
        (q["used_vms"].as_i64(), q["used_disk_gib"].as_i64()),
        (Some(0), Some(0)),
        "{q}"
    );
    let mut conn = srv.state().db.acquire().await.unwrap();
    assert!(hangar::db::quotas::drift(&mut conn).await.unwrap().is_empty());
}
