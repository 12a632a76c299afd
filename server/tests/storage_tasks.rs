//! Tasks that are stopped, and images that are in use: a running clone cancelled mid-way leaves nothing; a
//! template that a VM's disk (or any overlay) is based on cannot be deleted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Image, Task, TaskState, Upload, Volume};
use common::guest::{eventually, unique, virsh, LOCAL};
use common::storage::{dir_pool, PoolGuard};
use common::{Client, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn pool(admin: &Client, host: i64, prefix: &str) -> (String, String, PoolGuard) {
    let (p, guard) = dir_pool(admin, host, LOCAL, prefix).await;
    (p.id, p.name, guard)
}

#[tokio::test]
async fn a_running_clone_cancelled_mid_way_leaves_nothing() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (id, name, _g) = pool(&admin, host, "hangar-cancel").await;
    let vols = format!("/api/v1/pools/{id}/volumes");
    // A large sparse raw volume: cloning it streams every byte, which takes long enough to stop.
    let (s, v) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "big.raw", "format": "raw", "capacity_bytes": 8u64 << 30 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, t) = admin
        .send_as::<_, Task>(
            Method::POST,
            &format!("{vols}/big.raw/actions/clone"),
            &json!({ "name": "copy.raw" }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let t = t.unwrap();
    assert!(t.cancellable);
    eventually(30, "the copy under way", || async {
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{}", t.id)).await;
        (t.bytes_done.unwrap_or(0) > 0).then_some(())
    })
    .await;
    let (s, c) = admin
        .call(Method::POST, &format!("/api/v1/tasks/{}/cancel", t.id), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let done = eventually(30, "the task ended", || async {
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{}", t.id)).await;
        t.state.is_finished().then_some(t)
    })
    .await;
    assert_eq!(done.state, TaskState::Cancelled, "{done:?}");
    assert!(done.progress < 1.0);
    let left: Vec<Volume> = admin.get_as(&vols).await;
    assert_eq!(
        left.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["big.raw"],
        "the half-made copy is gone"
    );
    assert!(virsh(LOCAL, &["vol-info", "--pool", &name, "copy.raw"]).is_err());
    // A finished task cannot be cancelled again; another user's task is not found.
    let (s, _) = admin
        .call(Method::POST, &format!("/api/v1/tasks/{}/cancel", t.id), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    srv.create_user(&admin, "tasker", common::PW_USER, "user").await;
    let mut u = srv.client();
    u.login_ok("tasker", common::PW_USER).await;
    assert_eq!(u.get(&format!("/api/v1/tasks/{}", t.id)).await.0, StatusCode::NOT_FOUND);
    assert!(u.get_as::<Vec<Task>>("/api/v1/tasks").await.is_empty());
}

#[tokio::test]
async fn a_volume_imported_as_an_image_gets_its_checksums_from_a_task() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (id, name, _g) = pool(&admin, host, "hangar-imported").await;
    let (s, _) = admin
        .call(
            Method::POST,
            &format!("/api/v1/pools/{id}/volumes"),
            Some(json!({ "name": "disk.raw", "format": "raw", "capacity_bytes": 2 << 20 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let data: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 239) as u8).collect();
    let src = std::env::temp_dir().join(unique("hangar-imported-src"));
    std::fs::write(&src, &data).unwrap();
    virsh(
        LOCAL,
        &["vol-upload", "--pool", &name, "disk.raw", src.to_str().unwrap()],
    )
    .unwrap();
    std::fs::remove_file(&src).unwrap();
    let (s, img) = admin
        .send_as::<_, Image>(
            Method::POST,
            "/api/v1/images",
            &json!({ "pool_id": id, "volume": "disk.raw", "name": "Imported disk", "kind": "template" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{img:?}");
    let img = img.unwrap();
    assert_eq!(img.size_bytes, 2 << 20);
    let want = common::tus::sha256_hex(&data);
    eventually(30, "checksums computed", || async {
        let i: Image = admin.get_as(&format!("/api/v1/images/{}", img.id)).await;
        (i.sha256 == want && i.md5.len() == 32).then_some(())
    })
    .await;
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{}", img.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_template_in_use_as_a_backing_file_cannot_be_deleted() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (id, name, _g) = pool(&admin, host, "hangar-backing").await;
    // A qcow2 template, uploaded into this pool.
    let tpl = std::env::temp_dir().join(format!("{}.qcow2", unique("hangar-backing-tpl")));
    assert!(std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&tpl)
        .arg("32M")
        .status()
        .unwrap()
        .success());
    let bytes = std::fs::read(&tpl).unwrap();
    std::fs::remove_file(&tpl).unwrap();
    let up = common::tus::upload_all(
        &admin,
        &bytes,
        1 << 20,
        &[
            ("filename", "base.qcow2"),
            ("kind", "template"),
            ("pool", &id),
            ("visibility", "public"),
        ],
    )
    .await;
    let image = eventually(60, "import", || async {
        let u: Upload = admin.get_as(&format!("/api/v1/uploads/{up}")).await;
        u.image_id
    })
    .await;
    let img: Image = admin.get_as(&format!("/api/v1/images/{image}")).await;
    let base = img.copies[0].volume.clone();
    // A VM's disk made as an overlay of it (a linked clone).
    let vols = format!("/api/v1/pools/{id}/volumes");
    let (s, o) = admin
        .send_as::<_, Volume>(
            Method::POST,
            &vols,
            &json!({ "name": "vm-disk.qcow2", "capacity_bytes": 1, "backing": base }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o:?}");
    let overlay = o.unwrap();
    let vm = unique("hangar-backing-vm");
    let xml = format!(
        "<domain type='qemu'><name>{vm}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/>
         <target dev='vda' bus='virtio'/></disk></devices></domain>",
        overlay.path
    );
    let xml_path = std::env::temp_dir().join(format!("{vm}.xml"));
    std::fs::write(&xml_path, xml).unwrap();
    virsh(LOCAL, &["define", xml_path.to_str().unwrap()]).unwrap();
    std::fs::remove_file(&xml_path).unwrap();
    struct Vm(String);
    impl Drop for Vm {
        fn drop(&mut self) {
            let _ = virsh(LOCAL, &["undefine", &self.0]);
        }
    }
    let guard = Vm(vm.clone());
    let img: Image = admin.get_as(&format!("/api/v1/images/{image}")).await;
    assert_eq!(img.used_by, 1, "the VM on the overlay uses the template");
    let (s, e) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{image}"), None)
        .await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("in_use")), "{e}");
    // Without the VM, the overlay still depends on it.
    drop(guard);
    let img: Image = admin.get_as(&format!("/api/v1/images/{image}")).await;
    assert_eq!(img.used_by, 0);
    let (s, e) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{image}"), None)
        .await;
    assert_eq!(
        (s, e["details"]["by"].as_str()),
        (StatusCode::CONFLICT, Some("vm-disk.qcow2")),
        "{e}"
    );
    assert!(virsh(LOCAL, &["vol-info", "--pool", &name, &base]).is_ok());
    let (s, _) = admin.call(Method::DELETE, &format!("{vols}/vm-disk.qcow2"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{image}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        virsh(LOCAL, &["vol-info", "--pool", &name, &base]).is_err(),
        "its volume went with it"
    );
}
