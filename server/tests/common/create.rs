//! Fixtures for VM creation: the bootable test template and ISO imported into the image library, and reading
//! what a created guest printed on its serial console.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::guest::{eventually, virsh};
use super::Client;
use app::api::{Image, Task, VmCreated};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const GUEST_DIR: &str = "/var/lib/libvirt/images/hangar-guest";
pub const KEY1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1/zLeMSVa9pgcBiq+HKujvcUrDLSw6p6V1z/1/Nx0+ alice@laptop";
pub const KEY2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGrqd44ux5xXkraFxLf7SGfGxDm7bSWVV+tf9VRfKJrB alice@desk";

/// A server that makes emulated guests, the local host, a `dir` pool of the test's own (removed with the guard)
/// and the test template imported into it: where every creation test starts.
pub async fn setup(
    prefix: &str,
) -> (
    super::TestServer,
    Client,
    i64,
    app::api::Pool,
    super::storage::PoolGuard,
    Image,
) {
    let srv = server().await;
    let admin = srv.admin().await;
    let host = srv.add_host(&admin, "local", super::guest::LOCAL).await;
    let (pool, guard) = super::storage::dir_pool(&admin, host, super::guest::LOCAL, prefix).await;
    let tmpl = import(&admin, super::guest::LOCAL, &pool, "template.qcow2", "template").await;
    (srv, admin, host, pool, guard, tmpl)
}

/// A test server whose new VMs are emulated (KVM is not usable here).
pub async fn server() -> super::TestServer {
    super::TestServer::start_with(|c| c.vms.domain_type = "qemu".into()).await
}

/// Copies a file of the test guest into the pool (by path) and registers it as a public image of `kind`.
pub async fn import(admin: &Client, uri: &str, pool: &app::api::Pool, file: &str, kind: &str) -> Image {
    let dir = pool.target_path.clone().expect("a dir pool");
    let dest = format!("{dir}/{file}");
    std::fs::copy(format!("{GUEST_DIR}/{file}"), &dest).unwrap();
    virsh(uri, &["pool-refresh", &pool.name]).unwrap();
    let facts = if kind == "template" {
        json!({ "os_family": "linux", "min_disk_gib": 1, "min_memory_mib": 64, "cloud_init": true,
                "default_user": "debian", "disk_bus": "virtio" })
    } else {
        json!({ "os_family": "linux" })
    };
    let (s, img) = admin
        .send_as::<_, Image>(
            Method::POST,
            "/api/v1/images",
            &json!({ "pool_id": pool.id, "volume": file, "name": format!("{}-{file}", pool.name),
                     "kind": kind, "visibility": "public", "facts": facts }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{img:?}");
    img.unwrap()
}

/// Sends a creation and expects it accepted.
pub async fn create(c: &Client, body: Value) -> VmCreated {
    let (s, v) = c.call(Method::POST, "/api/v1/vms", Some(body)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    serde_json::from_value(v).unwrap()
}

/// Waits for the task to end and returns it.
pub async fn finished(c: &Client, id: i64) -> Task {
    eventually(120, "task finished", || async {
        let t: Task = c.get_as(&format!("/api/v1/tasks/{id}")).await;
        t.state.is_finished().then_some(t)
    })
    .await
}

/// Where a VM Hangar made writes its serial console, seen from this machine (host2's /var/log/libvirt is
/// under its state directory).
pub fn serial_log(uri: &str, uuid: &str) -> String {
    let base = if uri.contains("10.250.0.2") {
        "/var/lib/hangar-test/host2/log"
    } else {
        "/var/log/libvirt"
    };
    format!("{base}/qemu/hangar-{uuid}-serial.log")
}

/// Waits until the guest has printed `marker` `count` times, and returns everything it printed.
pub async fn wait_serial(uri: &str, uuid: &str, marker: &str, count: usize) -> String {
    let path = serial_log(uri, uuid);
    eventually(180, &format!("{marker} #{count} in {path}"), || async {
        let text = std::fs::read_to_string(&path).unwrap_or_default().replace('\r', "");
        (text.matches(marker).count() >= count).then_some(text)
    })
    .await
}

/// Every volume name of a pool, by pool name.
pub fn volumes(uri: &str, pool: &str) -> Vec<String> {
    virsh(uri, &["vol-list", "--pool", pool])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Removes a VM a test made (and its disks), through libvirt, whatever state it is in.
pub struct VmGuard {
    pub uri: String,
    pub name: String,
}

impl Drop for VmGuard {
    fn drop(&mut self) {
        let _ = virsh(&self.uri, &["destroy", &self.name]);
        let _ = virsh(&self.uri, &["undefine", &self.name, "--remove-all-storage", "--nvram"]);
    }
}

/// A libvirt network of the test's own (isolated; with an IPv4 subnet when given), removed on drop.
pub struct NetGuard {
    pub name: String,
}

impl NetGuard {
    pub fn new(prefix: &str, subnet: Option<&str>) -> NetGuard {
        let name = super::guest::unique(prefix);
        let ip = subnet
            .map(|a| format!("<ip address='{a}' netmask='255.255.255.0'/>"))
            .unwrap_or_default();
        let xml = format!(
            "<network><name>{name}</name><bridge name='hb{}'/>{ip}</network>",
            &name[name.len() - 8..]
        );
        let file = format!("/tmp/{name}.xml");
        std::fs::write(&file, xml).unwrap();
        let guard = NetGuard { name: name.clone() };
        virsh(super::guest::LOCAL, &["net-define", &file]).unwrap();
        virsh(super::guest::LOCAL, &["net-start", &name]).unwrap();
        let _ = std::fs::remove_file(&file);
        guard
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        let _ = virsh(super::guest::LOCAL, &["net-destroy", &self.name]);
        let _ = virsh(super::guest::LOCAL, &["net-undefine", &self.name]);
    }
}
