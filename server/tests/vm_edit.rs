//! Editing VMs against real libvirt: limits refused with the rule before libvirt is asked, and a change that
//! libvirt takes only in part reported as exactly that, with the page's data showing the truth.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use app::api::{UpdateVm, VmDetail};
use common::guest::{virsh, Guest, LOCAL};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_above_the_maximum_are_refused_with_the_limit() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-edit-max", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    let path = format!("/api/v1/vms/{}", g.uuid);
    let (s, v) = admin.call(Method::PATCH, &path, Some(json!({"vcpus": 3}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        (v["details"]["field"].as_str(), v["details"]["reason"].as_str()),
        (Some("vcpus"), Some("above_maximum"))
    );
    assert_eq!(v["details"]["max"], 1);
    let (s, v) = admin
        .call(Method::PATCH, &path, Some(json!({"memory_mib": 4096})))
        .await;
    assert_eq!(
        (s, v["details"]["max"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(128)),
        "{v}"
    );
    // Raising the maximum in the same change is fine, and the current value follows.
    let grow = UpdateVm {
        vcpus: Some(2),
        max_vcpus: Some(2),
        memory_mib: Some(96),
        ..Default::default()
    };
    let (s, d) = admin.send_as::<_, VmDetail>(Method::PATCH, &path, &grow).await;
    assert_eq!(s, StatusCode::OK, "{d:?}");
    let d = d.unwrap();
    assert_eq!((d.vm.vcpus, d.max_vcpus), (2, 2));
    assert_eq!(d.vm.memory_mib, 96, "the current memory, not the maximum: {d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_applied_change_says_what_was_applied() {
    let srv = TestServer::start().await;
    let admin = srv.admin().await;
    srv.add_host(&admin, "local", LOCAL).await;
    let g = Guest::define(LOCAL, "hangar-edit-part", false);
    srv.wait_vm(&admin, &g.uuid, None).await;
    virsh(LOCAL, &["start", &g.name]).unwrap();
    // A running domain without a configuration: its description can change, its autostart cannot.
    virsh(LOCAL, &["undefine", &g.name]).unwrap();
    srv.wait_vm(&admin, &g.uuid, Some("running")).await;
    let (s, v) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/vms/{}", g.uuid),
            Some(json!({"description": "half", "autostart": true})),
        )
        .await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {v}");
    assert_eq!(v["code"], "partially_applied", "{v}");
    assert_eq!(v["details"]["applied"], json!(["description"]), "{v}");
    let d: VmDetail = admin.get_as(&format!("/api/v1/vms/{}", g.uuid)).await;
    assert_eq!(d.description, "half");
    assert!(!d.autostart);
    let rows = srv.audit_rows().await;
    assert!(rows.iter().any(|r| r.0 == "vm.update" && r.2 == "failed"), "{rows:?}");
    virsh(LOCAL, &["destroy", &g.name]).unwrap();
}
