//! A made VM's devices on real libvirt, seen from inside the real guest (it prints a DEVICES line whenever its
//! block devices or NICs change): a disk attached and detached live, a disk grown live, an ISO inserted and
//! ejected, a NIC added, unplugged and removed, the boot order; a linked clone that boots with its own seed;
//! a password reset through cloud-init.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::create::{self, VmGuard, KEY1};
use common::guest::{unique, virsh, LOCAL};

use common::{Client, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The guest's last DEVICES line once it satisfies `ok`.
async fn devices(uuid: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let path = create::serial_log(LOCAL, uuid);
    common::guest::eventually(60, what, || async {
        let text = std::fs::read_to_string(&path).unwrap_or_default().replace('\r', "");
        // The shell's prompt may come first on the line.
        text.lines()
            .filter_map(|l| l.find("DEVICES").map(|i| &l[i..]))
            .next_back()
            .filter(|l| ok(l))
            .map(str::to_string)
    })
    .await
}

async fn call(c: &Client, m: Method, path: &str, body: Option<Value>) -> Value {
    let (s, v) = c.call(m, path, body).await;
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

#[tokio::test]
async fn disks_media_nics_and_boot_order_of_a_running_vm() {
    let (srv, admin, _host, pool, _pg, tmpl) = create::setup("hangar-dev").await;
    let iso = create::import(&admin, LOCAL, &pool, "install.iso", "iso").await;
    let uid = srv.create_user(&admin, "fay", PW_USER, "user").await;
    let mut fay = srv.client();
    fay.login_ok("fay", PW_USER).await;
    let name = unique("dev");
    let _vm = VmGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    let made = create::create(
        &admin,
        json!({ "name": name, "owner_id": uid, "pool": pool.id, "source": { "template": tmpl.id },
                "vcpus": 1, "memory_mib": 128, "disk_gib": 1 }),
    )
    .await;
    assert_eq!(
        create::finished(&admin, made.task.id).await.state,
        app::api::TaskState::Succeeded
    );
    let id = made.vm_id.clone();
    let base = format!("/api/v1/vms/{id}");
    devices(&id, "first DEVICES line", |l| l.contains(" vda:")).await;

    // A new 1 GiB disk, attached live by its owner: the guest sees vdb; her disk quota grows by 1.
    let d = call(
        &fay,
        Method::POST,
        &format!("{base}/disks"),
        Some(json!({ "new": { "size_gib": 1 } })),
    )
    .await;
    let vdb = d["disks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["target"] == "vdb")
        .cloned()
        .unwrap();
    devices(&id, "vdb in the guest", |l| l.contains(" vdb:2097152")).await;
    let q = fay.get(&format!("/api/v1/users/{uid}")).await.1["quota"].clone();
    assert_eq!(q["used_disk_gib"], 2, "{q}");
    // Grown live to 2 GiB: the guest sees the new size.
    call(
        &fay,
        Method::POST,
        &format!("{base}/disks/vdb/actions/resize"),
        Some(json!({ "size_gib": 2 })),
    )
    .await;
    devices(&id, "vdb grown", |l| l.contains(" vdb:4194304")).await;
    let (s, v) = fay
        .call(
            Method::POST,
            &format!("{base}/disks/vdb/actions/resize"),
            Some(json!({ "size_gib": 1 })),
        )
        .await;
    assert_eq!(
        (s, v["details"]["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_larger")),
        "{v}"
    );
    // Detached with its volume: gone from the guest and the pool, quota back.
    call(
        &fay,
        Method::DELETE,
        &format!("{base}/disks/vdb?delete_volume=true"),
        None,
    )
    .await;
    devices(&id, "vdb gone", |l| !l.contains(" vdb:")).await;
    assert!(!create::volumes(LOCAL, &pool.name).contains(&vdb["path"].as_str().unwrap().to_string()));
    let q = fay.get(&format!("/api/v1/users/{uid}")).await.1["quota"].clone();
    assert_eq!(q["used_disk_gib"], 1, "{q}");

    // The ISO in the (empty) CD-ROM drive, live: the guest reads it, with the ISO's size; ejected: nothing to read.
    let iso_sectors = format!(" sr0:{}", iso.size_bytes / 512);
    call(
        &fay,
        Method::PUT,
        &format!("{base}/cdrom"),
        Some(json!({ "iso": iso.id })),
    )
    .await;
    devices(&id, "the ISO in sr0", |l| {
        l.contains(" cd:2048") && l.contains(&iso_sectors)
    })
    .await;
    call(
        &fay,
        Method::PUT,
        &format!("{base}/cdrom"),
        Some(json!({ "iso": null })),
    )
    .await;
    devices(&id, "sr0 empty", |l| l.contains(" cd:0")).await;

    // A NIC on an isolated network of the test's own: the guest gets eth0, link down then removed.
    let net = unique("hnet");
    let net_xml = format!("/tmp/{net}.xml");
    std::fs::write(
        &net_xml,
        format!(
            "<network><name>{net}</name><bridge name='hb{}'/></network>",
            &net[net.len() - 8..]
        ),
    )
    .unwrap();
    virsh(LOCAL, &["net-define", &net_xml]).unwrap();
    virsh(LOCAL, &["net-start", &net]).unwrap();
    let d = call(
        &fay,
        Method::POST,
        &format!("{base}/nics"),
        Some(json!({ "network": { "network": net } })),
    )
    .await;
    let mac = d["nics"][0]["mac"].as_str().unwrap().to_string();
    devices(&id, "eth0 in the guest", |l| l.contains("| eth0")).await;
    call(
        &fay,
        Method::PATCH,
        &format!("{base}/nics/{mac}"),
        Some(json!({ "link_up": false })),
    )
    .await;
    assert!(virsh(LOCAL, &["dumpxml", &name])
        .unwrap()
        .contains("<link state='down'/>"));
    call(&fay, Method::DELETE, &format!("{base}/nics/{mac}"), None).await;
    devices(&id, "eth0 gone", |l| !l.contains("eth0")).await;
    let (s, v) = fay
        .call(
            Method::POST,
            &format!("{base}/nics"),
            Some(json!({ "network": { "network": "no-such-net" } })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let _ = virsh(LOCAL, &["net-destroy", &net]);
    let _ = virsh(LOCAL, &["net-undefine", &net]);
    let _ = std::fs::remove_file(&net_xml);

    // The boot order: CD-ROM first, then the disk.
    let d = call(
        &fay,
        Method::PUT,
        &format!("{base}/boot-order"),
        Some(json!({ "order": ["hdc", "vda"] })),
    )
    .await;
    assert_eq!(d["boot_order"], json!(["2: vda", "1: hdc"]), "{d}");
    let (s, _) = fay
        .call(
            Method::PUT,
            &format!("{base}/boot-order"),
            Some(json!({ "order": ["vdq"] })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Someone else's VM: not found; every change is on record under the VM.
    srv.create_user(&admin, "gus", PW_USER, "user").await;
    let mut gus = srv.client();
    gus.login_ok("gus", PW_USER).await;
    let (s, _) = gus
        .call(
            Method::POST,
            &format!("{base}/disks"),
            Some(json!({ "new": { "size_gib": 1 } })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let actions: Vec<String> = srv.audit_rows().await.into_iter().map(|a| a.0).collect();
    for a in [
        "vm.disk_attach",
        "vm.disk_resize",
        "vm.disk_detach",
        "vm.cdrom",
        "vm.nic_add",
        "vm.nic_link",
        "vm.nic_remove",
        "vm.boot_order",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} recorded");
    }
    call(&admin, Method::DELETE, &format!("{base}?disks=true"), None).await;
}

#[tokio::test]
async fn a_linked_clone_boots_with_its_own_seed_and_a_password_reset_reaches_the_guest() {
    let (srv, admin, _host, pool, _pg, tmpl) = create::setup("hangar-cl").await;
    let name = unique("cl");
    let clone_name = format!("{name}-b");
    let _vm = VmGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    let _vm2 = VmGuard {
        uri: LOCAL.into(),
        name: clone_name.clone(),
    };
    let made = create::create(
        &admin,
        json!({ "name": name, "pool": pool.id, "source": { "template": tmpl.id }, "vcpus": 1, "memory_mib": 128,
                "disk_gib": 1, "start": false, "cloud_init": { "user": "ops", "ssh_keys": [KEY1] } }),
    )
    .await;
    assert_eq!(
        create::finished(&admin, made.task.id).await.state,
        app::api::TaskState::Succeeded
    );
    let src = made.vm_id.clone();
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{src}/actions/clone"),
            Some(json!({ "name": clone_name, "start": true })),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let t = create::finished(&admin, v["task"]["id"].as_i64().unwrap()).await;
    assert_eq!(t.state, app::api::TaskState::Succeeded, "{t:?}");
    let copy = v["vm_id"].as_str().unwrap().to_string();
    let serial = create::wait_serial(LOCAL, &copy, "GUEST-READY", 1).await;
    let host_name = clone_name.to_ascii_lowercase();
    assert!(
        serial.contains(&format!(
            "SEED hostname={host_name} user=ops keys=1 password=no instance=hangar-{copy}"
        )),
        "{serial}"
    );
    // Different MACs and disks; the source keeps its boot order and still boots, on its own overlay.
    let a = virsh(LOCAL, &["dumpxml", &name]).unwrap();
    let b = virsh(LOCAL, &["dumpxml", &clone_name]).unwrap();
    assert_ne!(a, b);
    for x in [&a, &b] {
        assert!(x.contains("<boot order='1'/>"), "{x}");
    }
    call(&admin, Method::POST, &format!("/api/v1/vms/{src}/actions/start"), None).await;
    create::wait_serial(LOCAL, &src, "GUEST-READY", 1).await;

    // No agent in this guest: the reset goes through cloud-init and shows after a reboot.
    let (s, r) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{src}/actions/reset-password"),
            Some(json!({ "password": "new-secret-9" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["method"].as_str(), r["reboot_required"].as_bool(), r["user"].as_str()),
        (Some("cloud_init"), Some(true), Some("ops"))
    );
    call(&admin, Method::POST, &format!("/api/v1/vms/{src}/actions/reset"), None).await;
    let serial = create::wait_serial(LOCAL, &src, "GUEST-READY", 2).await;
    assert!(serial.contains("user=ops keys=1 password=yes"), "{serial}");
    let audit = srv.audit_rows().await;
    let rec = audit.iter().find(|a| a.0 == "vm.password_reset").unwrap();
    assert_eq!(rec.2, "ok");
    let details: String = sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'vm.password_reset'")
        .fetch_one(&srv.state().db)
        .await
        .unwrap();
    assert!(!details.contains("new-secret-9"), "{details}");
    let (s, v) = admin
        .call(
            Method::POST,
            &format!("/api/v1/vms/{src}/actions/reset-password"),
            Some(json!({ "password": "short" })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    for id in [&copy, &src] {
        call(&admin, Method::DELETE, &format!("/api/v1/vms/{id}?disks=true"), None).await;
    }
}
