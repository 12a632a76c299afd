//! Real tiny guests for tests: defined with `virsh` (as an outside tool would), removed on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::process::Command;
use std::time::{Duration, Instant};

pub const LOCAL: &str = "qemu:///system";
pub const HOST2: &str = "qemu+tcp://10.250.0.2/system";
const GUEST_DIR: &str = "/var/lib/libvirt/images/hangar-guest";
const POOL: &str = "hangar-test";

pub fn virsh(uri: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("virsh")
        .arg("-q")
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

pub struct Guest {
    pub uri: String,
    pub name: String,
    pub uuid: String,
    pub log: String,
    pub volume: Option<String>,
}

pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n:x}", std::process::id())
}

impl Guest {
    /// Defines (not starts) a tiny TCG guest; with `disk`, a 16 MiB qcow2 volume from the test pool is attached.
    pub fn define(uri: &str, prefix: &str, disk: bool) -> Guest {
        Self::define_with(uri, prefix, disk, "")
    }

    /// As `define`, with more devices (graphics, say).
    pub fn define_with(uri: &str, prefix: &str, disk: bool, devices: &str) -> Guest {
        Self::define_full(uri, prefix, disk, devices, "")
    }

    /// As `define_with`, with more kernel arguments (`hangar_burn` keeps a vCPU busy once booted).
    pub fn define_full(uri: &str, prefix: &str, disk: bool, devices: &str, cmdline: &str) -> Guest {
        assert!(
            std::path::Path::new(GUEST_DIR).join("vmlinuz").exists(),
            "the test guest is missing: run scripts/libvirt-env.sh up (make test does)"
        );
        let name = unique(prefix);
        let log = format!("/tmp/{name}.log");
        let mut volume = None;
        let mut disk_xml = String::new();
        if disk {
            let vol = format!("{name}.qcow2");
            virsh(uri, &["vol-create-as", POOL, &vol, "16M", "--format", "qcow2"]).expect("vol-create-as");
            let path = virsh(uri, &["vol-path", "--pool", POOL, &vol]).expect("vol-path");
            disk_xml = format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{path}'/><target dev='vda' bus='virtio'/></disk>"
            );
            volume = Some(path);
        }
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
             <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{GUEST_DIR}/vmlinuz</kernel>
             <initrd>{GUEST_DIR}/initrd.img</initrd><cmdline>console=ttyS0 quiet panic=-1 {cmdline}</cmdline></os>
             <features><acpi/></features><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>
             <devices>{disk_xml}<serial type='pty'><log file='{log}' append='on'/><target port='0'/></serial>
             <console type='pty'><target type='serial' port='0'/></console>{devices}</devices></domain>"
        );
        let file = format!("/tmp/{name}.xml");
        std::fs::write(&file, xml).unwrap();
        virsh(uri, &["define", &file]).expect("define");
        let uuid = virsh(uri, &["domuuid", &name]).expect("domuuid");
        Guest {
            uri: uri.into(),
            name,
            uuid,
            log,
            volume,
        }
    }

    /// How many times the guest has printed its ready marker on the serial console.
    pub fn ready_count(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|s| s.matches("GUEST-READY").count())
            .unwrap_or(0)
    }

    pub async fn wait_ready(&self, count: usize) {
        let start = Instant::now();
        while self.ready_count() < count {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} never printed GUEST-READY #{count}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn exists(&self) -> bool {
        virsh(&self.uri, &["domuuid", &self.name]).is_ok()
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = virsh(&self.uri, &["destroy", &self.name]);
        let _ = virsh(&self.uri, &["undefine", &self.name, "--nvram"]);
        if let Some(v) = &self.volume {
            let _ = virsh(&self.uri, &["vol-delete", v]);
        }
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(format!("/tmp/{}.xml", self.name));
    }
}

/// Polls `f` until it returns `Some`, or fails after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Removes a pool a test made: its volumes, its directory, its definition (whatever state it is in).
pub fn drop_pool(uri: &str, name: &str) {
    let _ = virsh(uri, &["pool-start", name]);
    if let Ok(list) = virsh(uri, &["vol-list", "--pool", name]) {
        for vol in list.lines().filter_map(|l| l.split_whitespace().next()) {
            let _ = virsh(uri, &["vol-delete", "--pool", name, vol]);
        }
    }
    let _ = virsh(uri, &["pool-destroy", name]);
    let _ = virsh(uri, &["pool-delete", name]);
    let _ = virsh(uri, &["pool-undefine", name]);
    // A pool deleted through the API without its contents leaves its directory: ours, named for the test.
    if uri == LOCAL && name.starts_with("hangar-") {
        let _ = std::fs::remove_dir_all(format!("/var/lib/libvirt/images/{name}"));
    }
}
