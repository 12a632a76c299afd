//! Ownership against real libvirt: metadata never grants a VM, a new account never inherits a deleted one's
//! VMs, concurrent reassignments keep quota usage exact, deleting reports every disk, batches audit each VM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::User;
use common::guest::{eventually, virsh, Guest, LOCAL};
use common::{Client, TestServer, PW_USER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NS: &str = "https://hangar.dev/xmlns/domain/1";

/// Writes Hangar-style metadata into the domain by hand, as another installation (or a person) could.
fn plant_metadata(g: &Guest, installation: &str, owner_id: i64, owner: &str) {
    let xml = format!("<vm installation='{installation}'><owner id='{owner_id}'>{owner}</owner><tags/></vm>");
    virsh(
        LOCAL,
        &["metadata", &g.name, NS, "--key", "hangar", "--set", &xml, "--config"],
    )
    .unwrap();
}

async fn vm_as(c: &Client, uuid: &str) -> (StatusCode, Value) {
    c.get(&format!("/api/v1/vms/{uuid}")).await
}

async fn used_vms(admin: &Client, user: i64) -> i64 {
    admin
        .get_as::<User>(&format!("/api/v1/users/{user}"))
        .await
        .quota
        .used_vms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_never_grants_a_vm() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let mia = srv.create_user(&admin, "mia", PW_USER, "user").await;
    let ours = srv.state().installation.to_string();
    let foreign = Guest::define(LOCAL, "hangar-foreign", false);
    plant_metadata(&foreign, "another-installation", mia, "mia");
    let forged = Guest::define(LOCAL, "hangar-forged", false);
    plant_metadata(&forged, &ours, mia, "mia");
    // Metadata edits raise no lifecycle event: the periodic sync reads them; run it now.
    for g in [&foreign, &forged] {
        srv.wait_vm(&admin, &g.uuid, None).await;
    }
    hangar::services::inventory::sync_host(srv.state(), host).await.unwrap();

    let mut m = srv.client();
    m.login_ok("mia", PW_USER).await;
    for g in [&foreign, &forged] {
        let vm = srv.wait_vm_as(&admin, &g.uuid).await;
        assert_eq!(vm.owner_id, None, "{vm:?}");
        assert_eq!(vm_as(&m, &g.uuid).await.0, StatusCode::NOT_FOUND);
    }
    let claim = srv.wait_vm_as(&admin, &foreign.uuid).await.claimed_owner.unwrap();
    assert!(claim.foreign, "{claim:?}");
    assert_eq!((claim.name.as_str(), claim.user_id), ("mia", mia));
    let claim = srv.wait_vm_as(&admin, &forged.uuid).await.claimed_owner.unwrap();
    assert!(!claim.foreign, "{claim:?}");
    let (_, list) = m.get("/api/v1/vms").await;
    assert_eq!(list["total"], 0, "{list}");
    assert_eq!(used_vms(&admin, mia).await, 0);

    // An admin's assignment is what grants it, counted against the quota; the claim is then settled.
    let (s, d) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", forged.uuid),
            Some(json!({"owner_id": mia})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["vm"]["claimed_owner"], Value::Null);
    assert_eq!(vm_as(&m, &forged.uuid).await.0, StatusCode::OK);
    assert_eq!(used_vms(&admin, mia).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_never_inherits_a_deleted_accounts_vms() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let ana = srv.create_user(&admin, "ana", PW_USER, "user").await;
    let g = Guest::define(LOCAL, "hangar-inherit", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    let (s, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", g.uuid),
            Some(json!({"owner_id": ana})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(virsh(LOCAL, &["metadata", &g.name, NS])
        .unwrap()
        .contains(&srv.state().installation.to_string()));
    admin.call(Method::DELETE, &format!("/api/v1/users/{ana}"), None).await;
    let ben = srv.create_user(&admin, "ben", PW_USER, "user").await;
    assert_ne!(ben, ana);
    // Whatever a sync reads back (the metadata still names ana), ben gets nothing.
    hangar::services::inventory::sync_host(srv.state(), host).await.unwrap();
    let mut b = srv.client();
    b.login_ok("ben", PW_USER).await;
    assert_eq!(vm_as(&b, &g.uuid).await.0, StatusCode::NOT_FOUND);
    let vm = srv.wait_vm_as(&admin, &g.uuid).await;
    assert_eq!(vm.owner_id, None);
    let vm = serde_json::to_value(&vm).unwrap();
    assert_eq!(
        vm["claimed_owner"]["name"], "ana",
        "admins see who the metadata names: {vm}"
    );
    assert_eq!(used_vms(&admin, ben).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reassignments_keep_usage_equal_to_what_is_owned() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let users = [
        srv.create_user(&admin, "cy", PW_USER, "user").await,
        srv.create_user(&admin, "di", PW_USER, "user").await,
        srv.create_user(&admin, "ed", PW_USER, "user").await,
    ];
    let g = Guest::define(LOCAL, "hangar-race", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let base = srv.base.clone();
            let (csrf, cookies) = (admin.csrf.clone(), admin.http.clone());
            let (uuid, to) = (g.uuid.clone(), users[i % 3]);
            tokio::spawn(async move {
                let c = Client {
                    http: cookies,
                    base,
                    csrf,
                    bearer: None,
                };
                c.call(
                    Method::PATCH,
                    &format!("/api/v1/vms/{uuid}"),
                    Some(json!({"owner_id": to})),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let owner = srv.wait_vm(&admin, &g.uuid, None).await["owner_id"].as_i64().unwrap();
    for u in users {
        assert_eq!(
            used_vms(&admin, u).await,
            i64::from(u == owner),
            "user {u} (owner is {owner})"
        );
    }
    let caller = hangar::auth::Caller::system("test");
    let drift = hangar::services::quota::check_usage(&srv.state().db, &caller, false)
        .await
        .unwrap();
    assert!(drift.is_empty(), "{drift:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_finds_and_repairs_drift() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    let fay = srv.create_user(&admin, "fay", PW_USER, "user").await;
    sqlx::query("UPDATE quotas SET used_vms = 3, used_vcpus = 7 WHERE user_id = ?")
        .bind(fay)
        .execute(&srv.state().db)
        .await
        .unwrap();
    let caller = hangar::auth::Caller::system("test");
    let drift = hangar::services::quota::check_usage(&srv.state().db, &caller, false)
        .await
        .unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!((drift[0].recorded.vms, drift[0].actual.vms), (3, 0));
    hangar::services::quota::check_usage(&srv.state().db, &caller, true)
        .await
        .unwrap();
    assert_eq!(used_vms(&admin, fay).await, 0);
    assert!(srv.audit_rows().await.iter().any(|r| r.0 == "quota.repair"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_with_disks_reports_what_was_deleted_and_what_was_kept() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-disks", true);
    let volume = g.volume.clone().unwrap();
    // A plain file outside every pool and a CD-ROM: neither may be deleted.
    let outside = format!("/tmp/{}-outside.img", g.name);
    std::fs::write(&outside, b"keep me").unwrap();
    let extra =
        format!("<disk type='file' device='disk'><source file='{outside}'/><target dev='vdb' bus='virtio'/></disk>");
    let xml_file = format!("/tmp/{}-vdb.xml", g.name);
    std::fs::write(&xml_file, extra).unwrap();
    virsh(LOCAL, &["attach-device", &g.name, &xml_file, "--config"]).unwrap();
    // A disk named by pool and volume rather than by path.
    let by_name = format!("{}-vdc.qcow2", g.name);
    virsh(
        LOCAL,
        &["vol-create-as", "hangar-test", &by_name, "1M", "--format", "qcow2"],
    )
    .unwrap();
    let vdc = format!(
        "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='hangar-test' volume='{by_name}'/><target dev='vdc' bus='virtio'/></disk>"
    );
    std::fs::write(&xml_file, vdc).unwrap();
    virsh(LOCAL, &["attach-device", &g.name, &xml_file, "--config"]).unwrap();
    srv.wait_vm(&admin, &g.uuid, None).await;
    let (_, d) = admin.get(&format!("/api/v1/vms/{}", g.uuid)).await;
    let vdc_disk = d["disks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["target"] == "vdc")
        .cloned()
        .unwrap();
    assert_eq!(vdc_disk["capacity_bytes"], 1024 * 1024, "{vdc_disk}");

    let (s, r) = admin
        .call(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", g.uuid), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r["disks_deleted"],
        json!([volume, format!("hangar-test/{by_name}")]),
        "{r}"
    );
    assert!(
        virsh(LOCAL, &["vol-info", "--pool", "hangar-test", &by_name]).is_err(),
        "the named volume is gone"
    );
    assert_eq!(
        r["disks_kept"],
        json!([{"path": outside, "reason": "not_a_volume"}]),
        "{r}"
    );
    assert!(
        std::path::Path::new(&outside).exists(),
        "a file outside the pools was touched"
    );
    let _ = std::fs::remove_file(&outside);
    let _ = std::fs::remove_file(&xml_file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_audits_each_vm_under_its_own_name() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let a = Guest::define(LOCAL, "hangar-batch-a", false);
    let b = Guest::define(LOCAL, "hangar-batch-b", false);
    srv.wait_vm(&admin, &a.uuid, None).await;
    srv.wait_vm(&admin, &b.uuid, None).await;
    let missing = "00000000-0000-0000-0000-000000000000";
    let (s, items) = admin
        .call(
            Method::POST,
            "/api/v1/vms/batch",
            Some(json!({"action": "poweroff", "ids": [a.uuid, b.uuid, missing]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{items}");
    let rows = srv.audit_rows().await;
    for (id, result) in [
        (&a.uuid, "failed"),
        (&b.uuid, "failed"),
        (&missing.to_string(), "denied"),
    ] {
        let target = format!("vm:{id}");
        assert!(
            rows.iter()
                .any(|r| r.0 == "vm.poweroff" && r.2 == result && r.3.as_deref() == Some(&target)),
            "no vm.poweroff {result} record for {id}: {rows:?}"
        );
    }
    // The history of a VM shows the batch's attempt on it.
    let kinds: Vec<String> = eventually(10, "history", || async {
        let (_, d) = admin.get(&format!("/api/v1/vms/{}", a.uuid)).await;
        let k: Vec<String> = d["events"]
            .as_array()?
            .iter()
            .filter_map(|e| e["kind"].as_str().map(String::from))
            .collect();
        (!k.is_empty()).then_some(k)
    })
    .await;
    assert!(kinds.iter().any(|k| k == "vm.poweroff"), "{kinds:?}");
    // A single refused action is named like its success.
    let (s, _) = admin
        .call(Method::POST, &format!("/api/v1/vms/{}/actions/resume", a.uuid), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let rows = srv.audit_rows().await;
    assert_eq!(rows[0].0, "vm.resume", "{:?}", rows[0]);
}
