//! tus uploads end to end against a real server and the real daemon: protocol edges, durability across a
//! restart, checksums, privacy, quota, and the import into the image library.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{Image, Task, TaskState, Upload};
use common::guest::{eventually, unique, virsh, LOCAL};
use common::storage::{dir_pool, import_finished, PoolGuard};
use common::tus::{self, fake_iso, sha1_header, sha256_hex};
use common::{Client, TestServer, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A server with the local host and a dir pool of the test's own, made the host's images pool.
async fn setup(srv: &TestServer, admin: &Client, prefix: &str) -> (i64, String, PoolGuard) {
    let host = srv.add_host(admin, "local", LOCAL).await;
    let (pool, guard) = dir_pool(admin, host, LOCAL, prefix).await;
    let (s, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/pools/{}", pool.id),
            Some(json!({ "images_pool": true })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    (host, pool.id, guard)
}

#[tokio::test]
async fn an_iso_arrives_whole_through_every_protocol_edge_and_a_restart() {
    let mut srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (host, pool, _g) = setup(&srv, &admin, "hangar-up-iso").await;
    srv.create_user(&admin, "uploader", PW_USER, "user").await;
    let mut user = srv.client();
    user.login_ok("uploader", PW_USER).await;

    // OPTIONS tells what is supported.
    let o = srv
        .client()
        .request(Method::OPTIONS, "/api/v1/uploads")
        .send()
        .await
        .unwrap();
    assert_eq!(o.status(), StatusCode::NO_CONTENT);
    let ext = o.headers()["tus-extension"].to_str().unwrap();
    for e in [
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
    ] {
        assert!(ext.contains(e), "{ext}");
    }
    assert!(o.headers()["tus-checksum-algorithm"].to_str().unwrap().contains("sha1"));
    assert!(o.headers().contains_key("tus-max-size"));

    let iso = fake_iso(3 << 20, 7);
    let want = sha256_hex(&iso);
    let meta = [
        ("filename", "tiny.iso"),
        ("kind", "iso"),
        ("host", &host.to_string()),
        ("checksum", &format!("sha256 {want}")),
    ];
    // Without the protocol version: 412.
    let r = user
        .request(Method::POST, "/api/v1/uploads")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    let (s, id, body) = tus::create(&user, iso.len() as u64, &meta).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = id.unwrap();
    let chunk = 1 << 20;
    let (s, off, _) = tus::patch(&user, &id, 0, &iso[..chunk], Some(sha1_header(&iso[..chunk]))).await;
    assert_eq!((s, off), (StatusCode::NO_CONTENT, Some(chunk as u64)));
    // Wrong offset: 409, and the offset stays.
    let (s, _, body) = tus::patch(&user, &id, 0, &iso[..10], None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    // Wrong content type: 415.
    let r = user
        .request(Method::PATCH, &format!("/api/v1/uploads/{id}"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", chunk.to_string())
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A chunk whose checksum does not match: 460, discarded.
    let part = &iso[chunk..2 * chunk];
    let (s, _, _) = tus::patch(&user, &id, chunk as u64, part, Some(sha1_header(b"something else"))).await;
    assert_eq!(s.as_u16(), 460);
    assert_eq!(tus::head(&user, &id).await, (StatusCode::OK, Some(chunk as u64)));
    // An unknown checksum algorithm: 400.
    let (s, _, _) = tus::patch(&user, &id, chunk as u64, part, Some("crc32 AAAA".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Beyond the declared length: refused whole.
    let mut too_much = iso[chunk..].to_vec();
    too_much.push(0);
    let (s, _, _) = tus::patch(&user, &id, chunk as u64, &too_much, None).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(tus::head(&user, &id).await.1, Some(chunk as u64));
    // Someone else (even an admin) does not find it.
    assert_eq!(tus::head(&admin, &id).await.0, StatusCode::NOT_FOUND);
    let (s, _, _) = tus::patch(&admin, &id, chunk as u64, part, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        admin.get(&format!("/api/v1/uploads/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    // The unfinished upload is listed for its owner, to resume from anywhere.
    let mine: Vec<Upload> = user.get_as("/api/v1/uploads").await;
    assert_eq!(
        mine.iter().map(|u| (u.id.as_str(), u.offset)).collect::<Vec<_>>(),
        [(id.as_str(), chunk as i64)]
    );

    // Hangar restarts: the acknowledged offset is still there, and the upload goes on from it.
    srv.restart().await;
    let admin = srv.admin().await;
    let mut user = srv.client();
    user.login_ok("uploader", PW_USER).await;
    assert_eq!(tus::head(&user, &id).await, (StatusCode::OK, Some(chunk as u64)));
    let (s, off, body) = tus::patch(
        &user,
        &id,
        chunk as u64,
        &iso[chunk..],
        Some(sha1_header(&iso[chunk..])),
    )
    .await;
    assert_eq!((s, off), (StatusCode::NO_CONTENT, Some(iso.len() as u64)), "{body}");

    let (u, t) = import_finished(&user, &id).await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    assert_eq!(u.state, "imported");
    let image: Image = user.get_as(&format!("/api/v1/images/{}", u.image_id.unwrap())).await;
    assert_eq!(
        (image.kind.as_str(), image.format.as_str(), image.name.as_str()),
        ("iso", "iso", "tiny")
    );
    assert_eq!(image.sha256, want);
    assert_eq!(image.visibility, "private");
    assert_eq!(image.copies.len(), 1);
    assert_eq!(image.copies[0].pool_id, pool);
    // The bytes in the pool are the bytes sent, read back through libvirt.
    let back = user
        .request(Method::GET, &format!("/api/v1/images/{}/content", image.id))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(sha256_hex(&back.bytes().await.unwrap()), want);
    // Nothing is left in staging, and the finished upload is no longer offered for resuming.
    let staged: Vec<_> = std::fs::read_dir(srv.config.staging_dir()).unwrap().collect();
    assert!(staged.is_empty(), "{staged:?}");
    assert!(user.get_as::<Vec<Upload>>("/api/v1/uploads").await.is_empty());
    // A private image is its owner's: another user does not see it.
    srv.create_user(&admin, "someone", PW_USER, "user").await;
    let mut other = srv.client();
    other.login_ok("someone", PW_USER).await;
    assert_eq!(
        other.get(&format!("/api/v1/images/{}", image.id)).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(other.get_as::<Vec<Image>>("/api/v1/images").await.is_empty());
    assert_eq!(
        other.get(&format!("/api/v1/images/{}/content", image.id)).await.0,
        StatusCode::NOT_FOUND
    );
    // It counts against the owner's disk quota until deleted.
    let me: serde_json::Value = user.get("/api/v1/auth/me").await.1;
    assert_eq!(me["user"]["quota"]["used_disk_gib"], 1, "{me}");
    // Made public by an admin it counts for nobody; private again, for its owner once more.
    for (v, used) in [("public", 0), ("private", 1), ("private", 1)] {
        let (s, r) = admin
            .call(
                Method::PATCH,
                &format!("/api/v1/images/{}", image.id),
                Some(json!({ "visibility": v })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let me: serde_json::Value = user.get("/api/v1/auth/me").await.1;
        assert_eq!(me["user"]["quota"]["used_disk_gib"], used, "{v}: {me}");
    }
    // Users may not make their images public.
    let (s, _) = user
        .call(
            Method::PATCH,
            &format!("/api/v1/images/{}", image.id),
            Some(json!({ "visibility": "public" })),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = user
        .call(Method::DELETE, &format!("/api/v1/images/{}", image.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let me: serde_json::Value = user.get("/api/v1/auth/me").await.1;
    assert_eq!(me["user"]["quota"]["used_disk_gib"], 0, "{me}");
    let actions: Vec<String> = srv.audit_rows().await.into_iter().map(|r| r.0).collect();
    for a in [
        "upload.create",
        "upload.complete",
        "image.import.finished",
        "image.delete",
    ] {
        assert!(actions.iter().any(|x| x == a), "no {a} in {actions:?}");
    }
}

#[tokio::test]
async fn bad_files_and_bad_requests_leave_nothing_behind() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (host, pool, _g) = setup(&srv, &admin, "hangar-up-bad").await;
    let uid = srv.create_user(&admin, "small", PW_USER, "user").await;
    let (s, _) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/users/{uid}/quota"),
            Some(json!({ "max_vms": 1, "max_vcpus": 1, "max_memory_mib": 512, "max_disk_gib": 3 })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut user = srv.client();
    user.login_ok("small", PW_USER).await;
    let h = host.to_string();

    // Refused at creation, before any byte: quota, size, names, kinds, targets the caller may not use.
    type Case<'a> = (u64, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            4 << 30,
            vec![("filename", "big.iso"), ("kind", "iso"), ("host", &h)],
            409,
            "quota_exceeded",
        ),
        (
            10,
            vec![("filename", "../etc/passwd"), ("kind", "iso"), ("host", &h)],
            400,
            "invalid_input",
        ),
        (
            10,
            vec![("name", "a\u{1}b"), ("kind", "iso"), ("host", &h)],
            400,
            "invalid_input",
        ),
        (
            10,
            vec![("filename", "x.iso"), ("kind", "exe"), ("host", &h)],
            400,
            "invalid_input",
        ),
        (
            10,
            vec![("filename", "x.iso"), ("kind", "iso"), ("pool", &pool)],
            400,
            "invalid_input",
        ),
        (
            10,
            vec![
                ("filename", "x.iso"),
                ("kind", "iso"),
                ("host", &h),
                ("visibility", "public"),
            ],
            403,
            "forbidden",
        ),
        (
            10,
            vec![("filename", "x.iso"), ("kind", "iso"), ("host", "999")],
            400,
            "invalid_input",
        ),
        (
            1 << 50,
            vec![("filename", "x.iso"), ("kind", "iso"), ("host", &h)],
            413,
            "too_large",
        ),
    ];
    for (len, meta, status, code) in cases {
        let (s, _, body) = tus::create(&user, len, &meta).await;
        assert_eq!(s.as_u16(), status, "{meta:?}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], code, "{body}");
    }
    assert!(user.get_as::<Vec<Upload>>("/api/v1/uploads").await.is_empty());
    let me: serde_json::Value = user.get("/api/v1/auth/me").await.1;
    assert_eq!(me["user"]["quota"]["used_disk_gib"], 0);

    // A file that is not what its kind says: the import fails in words, no volume is left in the pool.
    let not_iso = vec![0x42u8; 64 << 10];
    let id = tus::upload_all(
        &user,
        &not_iso,
        32 << 10,
        &[("filename", "fake.iso"), ("kind", "iso"), ("host", &h)],
    )
    .await;
    let (u, t) = import_finished(&user, &id).await;
    assert_eq!(
        (t.state, t.error_code.as_deref()),
        (TaskState::Failed, Some("wrong_format")),
        "{t:?}"
    );
    assert_eq!(u.state, "failed");
    // A checksum given at creation that the bytes do not match: refused before the image exists.
    let iso = fake_iso(64 << 10, 3);
    let wrong = format!("sha256 {}", "0".repeat(64));
    let id2 = tus::upload_all(
        &user,
        &iso,
        64 << 10,
        &[
            ("filename", "c.iso"),
            ("kind", "iso"),
            ("host", &h),
            ("checksum", &wrong),
        ],
    )
    .await;
    let (_, t) = import_finished(&user, &id2).await;
    assert_eq!(t.error_code.as_deref(), Some("file_checksum_mismatch"), "{t:?}");
    let vols: Vec<app::api::Volume> = admin.get_as(&format!("/api/v1/pools/{pool}/volumes")).await;
    assert!(vols.is_empty(), "nothing half-made: {vols:?}");
    assert!(user.get_as::<Vec<Image>>("/api/v1/images").await.is_empty());

    // Termination removes the staged bytes and gives the quota back.
    let (s, id3, _) = tus::create(&user, 1000, &[("filename", "t.iso"), ("kind", "iso"), ("host", &h)]).await;
    assert_eq!(s, StatusCode::CREATED);
    let id3 = id3.unwrap();
    let (s, _, _) = tus::patch(&user, &id3, 0, &[1u8; 100], None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let staged = srv.config.staging_dir().join(format!("{id3}.part"));
    assert_eq!(std::fs::metadata(&staged).unwrap().len(), 100);
    let r = user
        .request(Method::DELETE, &format!("/api/v1/uploads/{id3}"))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!staged.exists());
    assert_eq!(tus::head(&user, &id3).await.0, StatusCode::NOT_FOUND);
    let me: serde_json::Value = user.get("/api/v1/auth/me").await.1;
    // What remains reserved is the two failed uploads' (kept to retry until they expire).
    assert_eq!(me["user"]["quota"]["used_disk_gib"], 2, "{me}");

    // Expired uploads are removed with their quota.
    sqlx::query("UPDATE uploads SET expires_at = 0")
        .execute(&srv.state().db)
        .await
        .unwrap();
    let n = hangar::services::uploads::expire(srv.state()).await.unwrap();
    assert_eq!(n, 2);
    let me: serde_json::Value = user.get("/api/v1/auth/me").await.1;
    assert_eq!(me["user"]["quota"]["used_disk_gib"], 0, "{me}");
    assert_eq!(
        user.get(&format!("/api/v1/uploads/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_template_goes_to_the_second_host_through_libvirt_and_is_copied_back() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (local, _, _g) = setup(&srv, &admin, "hangar-up-copy").await;
    let h2 = srv.add_host(&admin, "host2", common::guest::HOST2).await;
    let name = unique("hangar-up-h2");
    let (s, p) = admin
        .call(
            Method::POST,
            "/api/v1/pools",
            Some(json!({ "host_id": h2, "name": name, "kind": "dir",
                "target_path": format!("/var/lib/libvirt/images/{name}"), "build": true })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    struct H2Pool(String);
    impl Drop for H2Pool {
        fn drop(&mut self) {
            common::guest::drop_pool(common::guest::HOST2, &self.0);
        }
    }
    let _g2 = H2Pool(name.clone());
    let pool2 = p["id"].as_str().unwrap().to_string();
    // A real qcow2 template made by qemu-img.
    let img = std::env::temp_dir().join(unique("hangar-up-tpl.qcow2"));
    let ok = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&img)
        .arg("64M")
        .status()
        .unwrap();
    assert!(ok.success());
    let bytes = std::fs::read(&img).unwrap();
    std::fs::remove_file(&img).unwrap();
    let id = tus::upload_all(
        &admin,
        &bytes,
        64 << 10,
        &[
            ("filename", "base.qcow2"),
            ("kind", "template"),
            ("pool", &pool2),
            ("visibility", "public"),
            ("os_family", "linux"),
            ("cloud_init", "true"),
            ("min_disk_gib", "1"),
        ],
    )
    .await;
    let (u, t) = import_finished(&admin, &id).await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    let image: Image = admin.get_as(&format!("/api/v1/images/{}", u.image_id.unwrap())).await;
    assert_eq!((image.format.as_str(), image.virtual_size_bytes), ("qcow2", 64 << 20));
    assert!(image.facts.cloud_init);
    assert_eq!(image.copies[0].host_id, h2);
    // It arrived on host2 through libvirt, byte for byte.
    let out = std::env::temp_dir().join(unique("hangar-up-back"));
    virsh(
        common::guest::HOST2,
        &[
            "vol-download",
            "--pool",
            &name,
            &image.copies[0].volume,
            out.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(sha256_hex(&std::fs::read(&out).unwrap()), sha256_hex(&bytes));
    std::fs::remove_file(&out).unwrap();
    // Copied host to host, as a task, into the local host's images pool.
    let (s, t) = admin
        .send_as::<_, Task>(
            Method::POST,
            &format!("/api/v1/images/{}/actions/copy", image.id),
            &json!({ "host_id": local }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{t:?}");
    let t = eventually(60, "copy finished", || async {
        let t: Task = admin.get_as(&format!("/api/v1/tasks/{}", t.as_ref().unwrap().id)).await;
        t.state.is_finished().then_some(t)
    })
    .await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    let image: Image = admin.get_as(&format!("/api/v1/images/{}", image.id)).await;
    assert_eq!(image.copies.len(), 2);
    let (s, e) = admin
        .call(
            Method::POST,
            &format!("/api/v1/images/{}/actions/copy", image.id),
            Some(json!({ "host_id": local })),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/images/{}", image.id), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let left = virsh(common::guest::HOST2, &["vol-list", "--pool", &name]).unwrap();
    assert!(
        !left.contains("hangar-"),
        "the copy's volume went with the image: {left}"
    );
}

/// `qemu-img create -f vmdk` of `size`, read back.
fn vmdk(size: &str) -> Vec<u8> {
    let p = std::env::temp_dir().join(format!("{}.vmdk", unique("hangar-up-vmdk")));
    let ok = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "vmdk"])
        .arg(&p)
        .arg(size)
        .status()
        .unwrap();
    assert!(ok.success());
    let b = std::fs::read(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    b
}

/// A tar archive (by GNU tar, as OVA tools make them) of the given files.
fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let out = dir.path().join("out.ova");
    let ok = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&out)
        .arg("-C")
        .arg(dir.path())
        .args(files.iter().map(|f| f.0))
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::read(&out).unwrap()
}

const OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References><File ovf:href="disk1.vmdk" ovf:id="file1"/></References>
  <DiskSection><Disk ovf:capacity="32" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/></DiskSection>
  <VirtualSystem ovf:id="appliance"><Name>Appliance 1.0</Name>
    <VirtualHardwareSection>
      <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>768</rasd:VirtualQuantity></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>"#;

#[tokio::test]
async fn vmdk_and_ova_become_qcow2_templates_and_a_broken_ova_is_refused() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (host, _, _g) = setup(&srv, &admin, "hangar-up-ova").await;
    let h = host.to_string();

    // A VMDK is converted: the image is qcow2 with the disk's size, and its checksum is of what is kept.
    let id = tus::upload_all(
        &admin,
        &vmdk("48M"),
        1 << 20,
        &[("filename", "old.vmdk"), ("kind", "template"), ("host", &h)],
    )
    .await;
    let (u, t) = import_finished(&admin, &id).await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    let img: Image = admin.get_as(&format!("/api/v1/images/{}", u.image_id.unwrap())).await;
    assert_eq!(
        (img.name.as_str(), img.format.as_str(), img.virtual_size_bytes),
        ("old", "qcow2", 48 << 20)
    );
    let back = admin
        .request(Method::GET, &format!("/api/v1/images/{}/content", img.id))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&back[..4], b"QFI\xfb", "the pool holds qcow2");
    assert_eq!(sha256_hex(&back), img.sha256);

    // An OVA: the OVF names it and gives its CPUs, memory and disk; the disk inside is converted.
    let ova = tar(&[("appliance.ovf", OVF.as_bytes()), ("disk1.vmdk", &vmdk("32M"))]);
    let id = tus::upload_all(
        &admin,
        &ova,
        1 << 20,
        &[("filename", "appliance.ova"), ("kind", "template"), ("host", &h)],
    )
    .await;
    let (u, t) = import_finished(&admin, &id).await;
    assert_eq!(t.state, TaskState::Succeeded, "{t:?}");
    let img: Image = admin.get_as(&format!("/api/v1/images/{}", u.image_id.unwrap())).await;
    assert_eq!(
        (img.name.as_str(), img.format.as_str(), img.virtual_size_bytes),
        ("Appliance 1.0", "qcow2", 32 << 20)
    );
    assert_eq!(
        (
            img.facts.default_vcpus,
            img.facts.min_memory_mib,
            img.facts.min_disk_gib
        ),
        (2, 768, 1)
    );

    // Disks that name files of the host are refused, never read: a VMDK descriptor inside an OVA pointing at
    // /etc/hostname, and a qcow2 whose backing file is /etc/hostname.
    let descriptor = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 1 FLAT \"/etc/hostname\" 0\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"1\"\nddb.geometry.heads = \"1\"\nddb.geometry.sectors = \"1\"\nddb.adapterType = \"ide\"\n";
    let evil = tar(&[("evil.ovf", OVF.as_bytes()), ("disk1.vmdk", descriptor.as_bytes())]);
    let id = tus::upload_all(
        &admin,
        &evil,
        1 << 20,
        &[("filename", "evil.ova"), ("kind", "template"), ("host", &h)],
    )
    .await;
    let (_, t) = import_finished(&admin, &id).await;
    assert_eq!(
        (t.state, t.error_code.as_deref()),
        (TaskState::Failed, Some("wrong_format")),
        "{t:?}"
    );
    let backed = std::env::temp_dir().join(format!("{}.qcow2", unique("hangar-up-backed")));
    assert!(std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname"])
        .arg(&backed)
        .arg("1M")
        .status()
        .unwrap()
        .success());
    let bytes = std::fs::read(&backed).unwrap();
    std::fs::remove_file(&backed).unwrap();
    let id = tus::upload_all(
        &admin,
        &bytes,
        1 << 20,
        &[("filename", "backed.qcow2"), ("kind", "template"), ("host", &h)],
    )
    .await;
    let (_, t) = import_finished(&admin, &id).await;
    assert_eq!(
        (
            t.error_code.as_deref(),
            t.error_details.as_ref().map(|d| d["expected"].clone())
        ),
        (Some("wrong_format"), Some(json!("qcow2_alone"))),
        "{t:?}"
    );

    // An archive without an OVF and a disk is not an OVA: refused in words, nothing left behind.
    let broken = tar(&[("readme.txt", b"not an appliance")]);
    let id = tus::upload_all(
        &admin,
        &broken,
        1 << 20,
        &[("filename", "broken.ova"), ("kind", "template"), ("host", &h)],
    )
    .await;
    let (u, t) = import_finished(&admin, &id).await;
    assert_eq!(
        (t.state, t.error_code.as_deref()),
        (TaskState::Failed, Some("wrong_format")),
        "{t:?}"
    );
    assert_eq!(u.state, "failed");
    let staged: Vec<_> = std::fs::read_dir(srv.config.staging_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        staged.iter().all(|f| f.ends_with(".part")),
        "only failed uploads' own bytes are kept (to retry or expire): {staged:?}"
    );
}

#[tokio::test]
async fn an_upload_overwrites_an_existing_volume_that_nothing_uses() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let (_, pool, _g) = setup(&srv, &admin, "hangar-up-vol").await;
    let vols = format!("/api/v1/pools/{pool}/volumes");
    let (s, _) = admin
        .call(
            Method::POST,
            &vols,
            Some(json!({ "name": "disk.raw", "format": "raw", "capacity_bytes": 4 << 20 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let data: Vec<u8> = (0..(4u32 << 20)).map(|i| (i % 241) as u8).collect();
    let meta = [("kind", "volume"), ("pool", pool.as_str()), ("volume", "disk.raw")];
    // Too large for the raw volume, or a volume that is not there: refused before any byte.
    let (s, _, body) = tus::create(&admin, (4 << 20) + 1, &meta).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (s, _, body) = tus::create(
        &admin,
        10,
        &[("kind", "volume"), ("pool", &pool), ("volume", "nope.raw")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    // A user may not write into volumes.
    srv.create_user(&admin, "writer", PW_USER, "user").await;
    let mut user = srv.client();
    user.login_ok("writer", PW_USER).await;
    let (s, _, _) = tus::create(&user, 10, &meta).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let id = tus::upload_all(&admin, &data, 1 << 20, &meta).await;
    let (u, t) = import_finished(&admin, &id).await;
    assert_eq!(
        (t.kind.as_str(), t.state),
        ("volume.upload", TaskState::Succeeded),
        "{t:?}"
    );
    assert_eq!((u.state.as_str(), u.image_id), ("imported", None));
    let back = admin
        .request(Method::GET, &format!("{vols}/disk.raw/content"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&back), sha256_hex(&data));
    assert!(
        admin.get_as::<Vec<Image>>("/api/v1/images").await.is_empty(),
        "no image is made"
    );
}
