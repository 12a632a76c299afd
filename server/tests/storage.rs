//! Storage pools, volumes and tasks against the real local daemon (and the second host over qemu+tcp).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Pool, Task, TaskState, Volume};
use common::guest::{eventually, unique, virsh, Guest, HOST2, LOCAL};
use common::storage::{dir_pool, import_finished, PoolGuard};
use common::{Client, TestServer, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn wait_task(c: &Client, id: i64) -> Task {
    eventually(60, &format!("task {id} finished"), || async {
        let t: Task = c.get_as(&format!("/api/v1/tasks/{id}")).await;
        t.state.is_finished().then_some(t)
    })
    .await
}

#[tokio::test]
async fn pools_and_volumes_on_the_local_daemon() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (pool, _guard) = dir_pool(&admin, host, LOCAL, "hangar-st-pool").await;
    assert_eq!(pool.state, "running");
    assert_eq!(pool.kind, "dir");
    assert!(pool.capacity > 0 && pool.available > 0);
    let pools: Vec<Pool> = admin.get_as("/api/v1/pools").await;
    assert!(pools.iter().any(|p| p.id == pool.id && p.volume_count == Some(0)));

    // Bad input changes nothing.
    for (body, field) in [
        (
            json!({ "host_id": host, "name": "x", "kind": "dir", "target_path": "/etc/hangar-x" }),
            "target_path",
        ),
        (
            json!({ "host_id": host, "name": "a/b", "kind": "dir", "target_path": "/srv/a" }),
            "name",
        ),
        (
            json!({ "host_id": host, "name": "n", "kind": "netfs", "target_path": "/srv/n" }),
            "source_host",
        ),
    ] {
        let (s, v) = admin.call(Method::POST, "/api/v1/pools", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["details"]["field"], field, "{v}");
    }
    assert_eq!(admin.get_as::<Vec<Pool>>("/api/v1/pools").await.len(), pools.len());

    let vols = format!("/api/v1/pools/{}/volumes", pool.id);
    let (s, v) = admin
        .send_as::<_, Volume>(
            Method::POST,
            &vols,
            &json!({ "name": "data.raw", "format": "raw", "capacity_bytes": 4 << 20 }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v:?}");
    let v = v.unwrap();
    assert_eq!((v.format.as_str(), v.capacity), ("raw", 4 << 20));
    let (s, _) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "data.raw", "capacity_bytes": 1 })),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "../x", "capacity_bytes": 1 })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // An overlay of a base, and a shrink that qcow2 refuses.
    let (s, _) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "base.qcow2", "capacity_bytes": 8 << 20 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, o) = admin
        .send_as::<_, Volume>(
            Method::POST,
            &vols,
            &json!({ "name": "overlay.qcow2", "capacity_bytes": 1, "backing": "base.qcow2" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o:?}");
    let o = o.unwrap();
    assert!(o.backing.as_deref().unwrap().ends_with("base.qcow2"));
    assert_eq!(o.capacity, 8 << 20, "an overlay is at least as large as its base");
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("{vols}/base.qcow2/actions/resize"),
            Some(json!({ "capacity_bytes": 1 << 20 })),
        )
        .await;
    assert_eq!(
        (s, v["details"]["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("cannot_shrink"))
    );
    let (s, v) = admin
        .send_as::<_, Volume>(
            Method::POST,
            &format!("{vols}/data.raw/actions/resize"),
            &json!({ "capacity_bytes": 8 << 20 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.unwrap().capacity, 8 << 20);

    // Fill the raw volume with known bytes (through virsh, as an outside tool would), clone it as a task,
    // and download the clone: the same bytes come back, whole and by range.
    let pattern: Vec<u8> = (0..(8u32 << 20)).map(|i| (i % 251) as u8).collect();
    let src = std::env::temp_dir().join(unique("hangar-st-src"));
    std::fs::write(&src, &pattern).unwrap();
    virsh(
        LOCAL,
        &["vol-upload", "--pool", &pool.name, "data.raw", src.to_str().unwrap()],
    )
    .unwrap();
    std::fs::remove_file(&src).unwrap();
    let (s, t) = admin
        .send_as::<_, Task>(
            Method::POST,
            &format!("{vols}/data.raw/actions/clone"),
            &json!({ "name": "copy.raw" }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{t:?}");
    let t = wait_task(&admin, t.unwrap().id).await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    assert_eq!(t.progress, 1.0);
    assert_eq!(t.bytes_done, Some(8 << 20));
    let tasks: Vec<Task> = admin.get_as("/api/v1/tasks?kind=volume.clone").await;
    assert!(tasks.iter().any(|x| x.id == t.id));
    let body = admin
        .request(Method::GET, &format!("{vols}/copy.raw/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), StatusCode::OK);
    assert_eq!(body.bytes().await.unwrap().as_ref(), pattern.as_slice());
    let part = admin
        .request(Method::GET, &format!("{vols}/copy.raw/content"))
        .header("Range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 1000-1999/{}", 8 << 20)
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &pattern[1000..2000]);
    let none = admin
        .request(Method::GET, &format!("{vols}/copy.raw/content"))
        .header("Range", "bytes=99999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Wipe zeroes it.
    let (s, _) = admin
        .call(Method::POST, &format!("{vols}/copy.raw/actions/wipe"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let wiped = admin
        .request(Method::GET, &format!("{vols}/copy.raw/content"))
        .header("Range", "bytes=0-4095")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(wiped.iter().all(|b| *b == 0));

    // Filters.
    let raws: Vec<Volume> = admin.get_as(&format!("{vols}?format=raw")).await;
    assert_eq!(
        raws.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["copy.raw", "data.raw"]
    );

    // Roles: a user sees no storage; an auditor reads but changes nothing.
    let uid = srv.create_user(&admin, "stuser", PW_USER, "user").await;
    let _ = uid;
    let mut user = srv.client();
    user.login_ok("stuser", PW_USER).await;
    assert_eq!(user.get("/api/v1/pools").await.0, StatusCode::FORBIDDEN);
    srv.create_user(&admin, "staud", PW_USER, "auditor").await;
    let mut aud = srv.client();
    aud.login_ok("staud", PW_USER).await;
    assert_eq!(aud.get(&vols).await.0, StatusCode::OK);
    assert_eq!(
        aud.call(Method::DELETE, &format!("{vols}/copy.raw"), None).await.0,
        StatusCode::FORBIDDEN
    );

    // Delete volumes, then the pool with its contents (one volume still in it).
    for name in ["copy.raw", "overlay.qcow2", "base.qcow2"] {
        let (s, v) = admin.call(Method::DELETE, &format!("{vols}/{name}"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{name}: {v}");
    }
    let (s, _) = admin
        .call(Method::POST, &format!("/api/v1/pools/{}/actions/stop", pool.id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/pools/{}/actions/refresh", pool.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = admin
        .call(
            Method::DELETE,
            &format!("/api/v1/pools/{}?contents=true", pool.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        virsh(LOCAL, &["pool-info", &pool.name]).is_err(),
        "the pool is gone from libvirt"
    );
    assert!(!std::path::Path::new(&format!("/var/lib/libvirt/images/{}", pool.name)).exists());
    let actions: Vec<String> = srv.audit_rows().await.into_iter().map(|r| r.0).collect();
    for a in [
        "pool.create",
        "volume.create",
        "volume.clone",
        "volume.clone.finished",
        "volume.wipe",
        "pool.delete",
    ] {
        assert!(actions.iter().any(|x| x == a), "no {a} in the audit log");
    }
}

#[tokio::test]
async fn volumes_in_use_cannot_be_deleted_and_pools_in_use_cannot_stop() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-st-inuse", true);
    let path = g.volume.clone().unwrap();
    let name = path.rsplit('/').next().unwrap().to_string();
    let pools: Vec<Pool> = admin.get_as("/api/v1/pools").await;
    let test_pool = pools.iter().find(|p| p.name == "hangar-test").unwrap();
    let vols = format!("/api/v1/pools/{}/volumes", test_pool.id);
    let v: Vec<Volume> = admin.get_as(&format!("{vols}?in_use=true")).await;
    let mine = v
        .iter()
        .find(|v| v.name == name)
        .expect("the guest's disk is listed as in use");
    assert_eq!(mine.used_by[0].id, g.uuid);
    let (s, e) = admin.call(Method::DELETE, &format!("{vols}/{name}"), None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("in_use")), "{e}");
    assert_eq!(e["details"]["by"], g.name);
    let (s, e) = admin
        .call(Method::POST, &format!("{vols}/{name}/actions/wipe"), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, e) = admin
        .call(
            Method::POST,
            &format!("/api/v1/pools/{}/actions/stop", test_pool.id),
            None,
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("in_use")), "{e}");
    assert!(virsh(LOCAL, &["vol-info", &path]).is_ok(), "the volume is still there");
}

#[tokio::test]
async fn a_task_interrupted_by_a_restart_fails_and_its_half_made_volume_is_removed() {
    let mut srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (pool, _guard) = dir_pool(&admin, host, LOCAL, "hangar-st-recover").await;
    let vols = format!("/api/v1/pools/{}/volumes", pool.id);
    let (s, _) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "half.raw", "format": "raw", "capacity_bytes": 1 << 20 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // What a clone that was running when Hangar was killed leaves: a `running` row and a half-made volume.
    let params = json!({ "host_id": host, "pool": pool.id, "source": "x", "name": "half.raw", "format": "raw",
        "partial": { "host_id": host, "pool": pool.id, "volume": "half.raw" } });
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (kind, target, owner_id, state, cancellable, params, created_at, started_at)
         VALUES ('volume.clone', 'pool:x/half.raw', 1, 'running', 1, ?, 0, 0) RETURNING id",
    )
    .bind(params.to_string())
    .fetch_one(&srv.state().db)
    .await
    .unwrap();
    srv.restart().await;
    let admin = srv.admin().await;
    let t: Task = admin.get_as(&format!("/api/v1/tasks/{id}")).await;
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.error_code.as_deref(), Some("interrupted"));
    eventually(20, "host online again", || async {
        let (s, _) = admin.get(&vols).await;
        (s == StatusCode::OK).then_some(())
    })
    .await;
    // The cleanup waits for the host's connection, in the background of the start.
    eventually(30, "the half-made volume removed", || async {
        virsh(LOCAL, &["vol-info", "--pool", &pool.name, "half.raw"])
            .is_err()
            .then_some(())
    })
    .await;
    let active: Vec<Task> = admin.get_as("/api/v1/tasks?state=active").await;
    assert!(active.is_empty(), "nothing is stuck: {active:?}");
}

#[tokio::test]
async fn every_pool_type_is_accepted_by_a_real_daemon() {
    // The XML for types this machine cannot back (NFS, LVM, ZFS, Ceph, iSCSI) is defined and undefined on the
    // real daemon: libvirt parses and accepts it.
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let n = unique("t");
    let secret = "0d7d3c5e-5a0f-4d6b-9a53-1a2b3c4d5e6f";
    let cases = [
        json!({ "kind": "fs", "source_device": "/dev/hangar-none", "target_path": format!("/srv/{n}-fs") }),
        json!({ "kind": "netfs", "source_host": "nfs.invalid", "source_dir": "/export", "target_path": format!("/srv/{n}-nfs") }),
        json!({ "kind": "logical", "source_name": format!("vg{}", n.len()) }),
        json!({ "kind": "zfs", "source_name": "tank" }),
        json!({ "kind": "rbd", "source_host": "mon.invalid", "source_name": "rbd", "auth_username": "libvirt", "secret_uuid": secret }),
        json!({ "kind": "iscsi", "source_host": "portal.invalid", "source_device": "iqn.2026-01.dev.hangar:t" }),
    ];
    for (i, mut body) in cases.into_iter().enumerate() {
        let name = format!("hangar-st-type-{i}-{}", std::process::id());
        body["host_id"] = json!(host);
        body["name"] = json!(name);
        body["define_only"] = json!(true);
        let (s, p) = admin.call(Method::POST, "/api/v1/pools", Some(body.clone())).await;
        assert_eq!(s, StatusCode::CREATED, "{body}: {p}");
        assert_eq!(p["kind"], body["kind"]);
        assert_eq!(p["state"], "inactive");
        let (s, _) = admin
            .call(
                Method::DELETE,
                &format!("/api/v1/pools/{}", p["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert!(virsh(LOCAL, &["pool-info", &name]).is_err());
    }
}

/// A loop device over a small ext4 file, detached (and the file removed) on drop.
struct Loop {
    dev: String,
    file: std::path::PathBuf,
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dev).status();
        let _ = std::process::Command::new("losetup").args(["-d", &self.dev]).status();
        let _ = std::fs::remove_file(&self.file);
    }
}

fn loop_device() -> Loop {
    let file = std::env::temp_dir().join(unique("hangar-st-loop"));
    std::fs::File::create(&file).unwrap().set_len(64 << 20).unwrap();
    let ok = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = std::process::Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "losetup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Loop {
        dev: String::from_utf8(out.stdout).unwrap().trim().to_string(),
        file,
    }
}

#[tokio::test]
async fn an_fs_pool_on_a_real_block_device() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let dev = loop_device();
    let name = unique("hangar-st-fs");
    let _guard = PoolGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    let target = format!("/var/lib/libvirt/images/{name}");
    std::fs::create_dir_all(&target).unwrap();
    let (s, p) = admin
        .send_as::<_, Pool>(
            Method::POST,
            "/api/v1/pools",
            &json!({ "host_id": host, "name": name, "kind": "fs", "source_device": dev.dev, "target_path": target }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p:?}");
    let p = p.unwrap();
    assert_eq!((p.kind.as_str(), p.state.as_str()), ("fs", "running"));
    // The pool is the mounted device: its capacity is the 64 MiB filesystem's, not the host disk's.
    assert!(p.capacity < 64 << 20 && p.capacity > 32 << 20, "{}", p.capacity);
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(
        mounts.lines().any(|l| l.starts_with(&dev.dev) && l.contains(&target)),
        "mounted"
    );
    let vols = format!("/api/v1/pools/{}/volumes", p.id);
    let (s, v) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "small.qcow2", "capacity_bytes": 16 << 20 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // An upload bigger than the pool's free space is refused at creation, before any byte.
    let (s, _, body) = common::tus::create(
        &admin,
        80 << 20,
        &[
            ("filename", "big.img"),
            ("kind", "template"),
            ("pool", &p.id),
            ("visibility", "public"),
        ],
    )
    .await;
    assert_eq!(s.as_u16(), 507, "{body}");
    // One that fitted at creation but not any more (something else filled the pool meanwhile): its import fails
    // with `no_space`, nothing half-made is left, and the upload is kept to be imported again once there is room.
    let data: Vec<u8> = (0..(24u32 << 20)).map(|i| (i % 253) as u8).collect();
    let meta = [
        ("filename", "mid.img"),
        ("kind", "template"),
        ("pool", p.id.as_str()),
        ("visibility", "public"),
    ];
    let (s, up, body) = common::tus::create(&admin, data.len() as u64, &meta).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let up = up.unwrap();
    let half = data.len() / 2;
    let (s, _, _) = common::tus::patch(&admin, &up, 0, &data[..half], None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    virsh(LOCAL, &["vol-create-as", &name, "filler", "40M", "--format", "raw"]).unwrap();
    let (s, _, _) = common::tus::patch(&admin, &up, half as u64, &data[half..], None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let task = import_finished(&admin, &up).await.1;
    assert_eq!(
        (task.state, task.error_code.as_deref()),
        (TaskState::Failed, Some("no_space")),
        "{task:?}"
    );
    let names = |vs: Vec<Volume>| vs.into_iter().map(|v| v.name).collect::<Vec<_>>();
    assert_eq!(
        names(admin.get_as(&vols).await),
        ["filler", "lost+found", "small.qcow2"]
    );
    let u: app::api::Upload = admin.get_as(&format!("/api/v1/uploads/{up}")).await;
    assert_eq!(
        (u.state.as_str(), u.error_code.as_deref()),
        ("failed", Some("no_space"))
    );
    virsh(LOCAL, &["vol-delete", "--pool", &name, "filler"]).unwrap();
    let (s, v) = admin
        .call(Method::POST, &format!("/api/v1/uploads/{up}/import"), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let task = import_finished(&admin, &up).await.1;
    assert_eq!(task.state, TaskState::Succeeded, "{task:?}");
    let image = task.result.unwrap()["image_id"].as_i64().unwrap();
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{image}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = admin.call(Method::DELETE, &format!("{vols}/small.qcow2"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/pools/{}", p.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(!mounts.contains(&target), "unmounted when the pool stopped");
}

#[tokio::test]
async fn pools_on_the_second_host_over_tcp() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "host2", HOST2).await;
    let (pool, _guard) = dir_pool(&admin, host, HOST2, "hangar-st-h2").await;
    assert_eq!(pool.host_name, "host2");
    let listed: Vec<Pool> = admin.get_as(&format!("/api/v1/pools?host_id={host}")).await;
    assert!(listed.iter().any(|p| p.id == pool.id));
    assert!(virsh(HOST2, &["pool-info", &pool.name]).is_ok());
    assert!(
        virsh(LOCAL, &["pool-info", &pool.name]).is_err(),
        "made on host2, not here"
    );
}
