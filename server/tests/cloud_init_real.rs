//! Real cloud-init applies the seed Hangar writes: a Debian template with cloud-init (built once per machine by
//! `scripts/libvirt-env.sh debian-template`) is cloned by Hangar, and a service in the guest prints on the serial
//! console what cloud-init did: the host name, the user, their SSH key count and password state. Its guest agent
//! then takes a password reset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::create::{self, VmGuard, KEY1};
use common::guest::{unique, virsh, LOCAL};
use common::storage::dir_pool;

use reqwest::{Method, StatusCode};
use serde_json::json;

const DEBIAN: &str = "/var/lib/hangar-test/debian-cloud.qcow2";

#[tokio::test]
async fn real_cloud_init_applies_hostname_user_key_and_password() {
    assert!(
        std::path::Path::new(DEBIAN).exists(),
        "the Debian template is missing: run scripts/libvirt-env.sh debian-template (make test does)"
    );
    let srv = create::server().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", LOCAL).await;
    let (pool, _pg) = dir_pool(&admin, host, LOCAL, "hangar-ci").await;
    std::fs::copy(DEBIAN, format!("{}/debian.qcow2", pool.target_path.clone().unwrap())).unwrap();
    virsh(LOCAL, &["pool-refresh", &pool.name]).unwrap();
    let (s, img) = admin
        .call(
            Method::POST,
            "/api/v1/images",
            Some(
                json!({ "pool_id": pool.id, "volume": "debian.qcow2", "name": pool.name, "kind": "template",
                         "visibility": "public", "facts": { "os_family": "debian", "os_version": "12",
                         "min_memory_mib": 512, "cloud_init": true, "default_user": "debian" } }),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{img}");
    let name = unique("realci");
    let _vm = VmGuard {
        uri: LOCAL.into(),
        name: name.clone(),
    };
    let made = create::create(
        &admin,
        json!({ "name": name, "pool": pool.id, "source": { "template": img["id"] }, "vcpus": 1, "memory_mib": 1024,
                "disk_gib": 4, "cloud_init": { "hostname": "real-ci", "user": "alice", "password": "pass-word-1",
                "ssh_keys": [KEY1] } }),
    )
    .await;
    let task = create::finished(&admin, made.task.id).await;
    assert_eq!(task.state, app::api::TaskState::Succeeded, "{task:?}");
    // Under emulation cloud-init finishes ~45 s after boot.
    let serial = create::wait_serial(LOCAL, &made.vm_id, "CLOUD-CHECK", 1).await;
    let line = serial
        .lines()
        .find(|l| l.contains("CLOUD-CHECK"))
        .unwrap_or_default()
        .to_string();
    let want = format!(
        "hostname=real-ci user=alice keys=1 passwd=P status=done instance=hangar-{}",
        made.vm_id
    );
    // The check prints CLOUD-ERR lines (cloud-init's errors and warnings) right after its line when it failed.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let why: Vec<String> = std::fs::read_to_string(create::serial_log(LOCAL, &made.vm_id))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("CLOUD-ERR"))
        .map(str::to_string)
        .collect();
    assert!(line.contains(&want), "{line}\n{}", why.join("\n"));
    // The guest agent runs in this guest: a password reset goes through it, at once, no reboot.
    let reset = common::guest::eventually(60, "the guest agent takes the password", || async {
        let (s, r) = admin
            .call(
                Method::POST,
                &format!("/api/v1/vms/{}/actions/reset-password", made.vm_id),
                Some(json!({ "password": "agent-pass-9" })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        (r["method"] == "agent").then_some(r)
    })
    .await;
    assert_eq!(
        (reset["user"].as_str(), reset["reboot_required"].as_bool()),
        (Some("alice"), Some(false))
    );
    let (s, _) = admin
        .call(Method::DELETE, &format!("/api/v1/vms/{}?disks=true", made.vm_id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
}
