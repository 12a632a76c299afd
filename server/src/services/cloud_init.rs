//! cloud-init (NoCloud) settings: the rules for each field, and the `meta-data`, `user-data` and
//! `network-config` files Hangar writes from them (emitted by a serializer, never formatted by hand).
use crate::error::{Error, Result};
use app::api::{CloudInit, CloudInitNetwork};
use serde_json::json;
use serde_norway::{Mapping, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const MAX_KEYS: usize = 32;
const MAX_LIST: usize = 100;
const MAX_USER_DATA: usize = 64 * 1024;
pub const MIN_PASSWORD: usize = 8;

fn bad(field: &'static str, reason: &'static str) -> Error {
    Error::invalid(field, reason)
}

/// A host name as RFC 1123 allows (`app::api::hostname_ok`).
pub fn hostname(h: &str) -> Result<()> {
    if app::api::hostname_ok(h) {
        Ok(())
    } else {
        Err(bad("cloud_init.hostname", "bad_format"))
    }
}

/// A Linux user name, not root (`app::api::user_name_ok`).
pub fn user_name(u: &str) -> Result<()> {
    if app::api::user_name_ok(u) {
        Ok(())
    } else {
        Err(bad("cloud_init.user", "bad_format"))
    }
}

/// An OpenSSH public key line (`type base64 [comment]`) that really decodes as a key.
pub fn ssh_key(k: &str) -> Result<()> {
    let k = k.trim();
    if k.len() > 16 * 1024 || k.contains('\n') {
        return Err(bad("cloud_init.ssh_keys", "bad_format"));
    }
    ssh_key::PublicKey::from_openssh(k)
        .map(|_| ())
        .map_err(|_| bad("cloud_init.ssh_keys", "bad_format"))
}

/// `address/prefix`, parsed.
fn cidr(s: &str, field: &'static str, v6: bool) -> Result<(IpAddr, u8)> {
    let (a, p) = s.split_once('/').ok_or(bad(field, "needs_prefix"))?;
    let addr: IpAddr = a.parse().map_err(|_| bad(field, "bad_format"))?;
    let prefix: u8 = p.parse().map_err(|_| bad(field, "bad_format"))?;
    let ok = match addr {
        IpAddr::V4(_) => !v6 && (1..=32).contains(&prefix),
        IpAddr::V6(_) => v6 && (1..=128).contains(&prefix),
    };
    if ok {
        Ok((addr, prefix))
    } else {
        Err(bad(field, "bad_format"))
    }
}

/// Whether `ip` is inside `net/prefix` (IPv4).
pub fn in_subnet(ip: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

fn network(n: &CloudInitNetwork) -> Result<()> {
    if !n.address.is_empty() {
        let (ip, prefix) = cidr(&n.address, "cloud_init.network.address", false)?;
        if !n.gateway.is_empty() {
            let gw: Ipv4Addr = n
                .gateway
                .parse()
                .map_err(|_| bad("cloud_init.network.gateway", "bad_format"))?;
            if let IpAddr::V4(ip) = ip {
                if !in_subnet(gw, ip, prefix) || gw == ip {
                    return Err(bad("cloud_init.network.gateway", "outside_subnet"));
                }
            }
        }
    } else if !n.gateway.is_empty() {
        return Err(bad("cloud_init.network.gateway", "needs_address"));
    }
    if !n.address6.is_empty() {
        cidr(&n.address6, "cloud_init.network.address6", true)?;
    }
    if !n.gateway6.is_empty() {
        n.gateway6
            .parse::<Ipv6Addr>()
            .map_err(|_| bad("cloud_init.network.gateway6", "bad_format"))?;
    }
    if n.dns.len() > 8 || n.dns.iter().any(|d| d.parse::<IpAddr>().is_err()) {
        return Err(bad("cloud_init.network.dns", "bad_format"));
    }
    Ok(())
}

/// The extra user-data as a mapping (its `#cloud-config` header is optional).
fn extra_user_data(s: &str) -> Result<Mapping> {
    if s.trim().is_empty() {
        return Ok(Mapping::new());
    }
    if s.len() > MAX_USER_DATA {
        return Err(Error::Invalid {
            field: "cloud_init.user_data",
            reason: "too_long",
            details: json!({ "max": MAX_USER_DATA }),
        });
    }
    let first = s.trim_start().lines().next().unwrap_or("");
    if first.starts_with("#!") || (first.starts_with('#') && !first.starts_with("#cloud-config")) {
        return Err(bad("cloud_init.user_data", "not_cloud_config"));
    }
    match serde_norway::from_str::<Value>(s) {
        Ok(v @ Value::Mapping(_)) if has_tag(&v) => Err(bad("cloud_init.user_data", "yaml_tags")),
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(_) => Err(bad("cloud_init.user_data", "not_a_mapping")),
        Err(e) => Err(Error::Invalid {
            field: "cloud_init.user_data",
            reason: "bad_yaml",
            details: json!({ "line": e.location().map(|l| l.line()), "message": e.to_string() }),
        }),
    }
}

/// Whether a YAML tag (`!name`) appears anywhere: the files are written as JSON, which has no tags.
fn has_tag(v: &Value) -> bool {
    match v {
        Value::Tagged(_) => true,
        Value::Sequence(items) => items.iter().any(has_tag),
        Value::Mapping(m) => m.iter().any(|(k, v)| has_tag(k) || has_tag(v)),
        _ => false,
    }
}

/// Whether a mapping key is longer than PyYAML reads in a flow mapping (1,024 characters).
fn has_long_key(v: &Value) -> bool {
    match v {
        Value::Sequence(items) => items.iter().any(has_long_key),
        Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str().is_some_and(|k| k.chars().count() > 1000) || has_long_key(v)),
        _ => false,
    }
}

/// The text of a seed file: JSON, which is YAML too. cloud-init reads YAML 1.1, where plain scalars such as
/// `52:54:00:12:34:56` (a base-60 integer), `2026-01-01` (a date) or `on` are not strings; quoting every string
/// keeps each value the type Hangar meant, whatever the emitter's own (YAML 1.2) idea of a plain string.
fn emit(v: &impl serde::Serialize) -> std::result::Result<String, serde_json::Error> {
    let json = serde_json::to_string_pretty(v)?;
    // YAML refuses DEL, the C1 controls and U+FFFE/U+FFFF as raw characters (and turns U+0085 into a space),
    // JSON writes them raw: escape them (they can only be inside strings), and the line separators with them.
    let mut out = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        ) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    Ok(out)
}

fn emit_file(v: &impl serde::Serialize) -> Result<String> {
    emit(v).map_err(|e| Error::Internal(e.into()))
}

/// Every rule of the settings (`vm_name` is the default host name).
pub fn validate(ci: &CloudInit, vm_name: &str) -> Result<()> {
    hostname(&effective_hostname(ci, vm_name))?;
    if !ci.user.is_empty() {
        user_name(&ci.user)?;
    }
    if !ci.password.is_empty()
        && (ci.password.chars().count() < MIN_PASSWORD
            || ci.password.len() > 256
            || ci.password.chars().any(char::is_control))
    {
        return Err(Error::Invalid {
            field: "cloud_init.password",
            reason: "bad_format",
            details: json!({ "min": MIN_PASSWORD, "max": 256 }),
        });
    }
    if ci.ssh_keys.len() > MAX_KEYS {
        return Err(bad("cloud_init.ssh_keys", "too_many"));
    }
    for k in ci.ssh_keys.iter().filter(|k| !k.trim().is_empty()) {
        ssh_key(k)?;
    }
    if let Some(n) = &ci.network {
        network(n)?;
    }
    let pkg_ok = |p: &String| {
        !p.is_empty()
            && p.len() <= 128
            && p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || "+-._:=~".contains(c))
    };
    if ci.packages.len() > MAX_LIST || !ci.packages.iter().all(pkg_ok) {
        return Err(bad("cloud_init.packages", "bad_format"));
    }
    if ci.runcmd.len() > MAX_LIST || ci.runcmd.iter().any(|c| c.len() > 4096 || c.contains('\0')) {
        return Err(bad("cloud_init.runcmd", "bad_format"));
    }
    let merged = merged_user_data(ci, vm_name, "hangar", Some("$6$check$"))?;
    check_known_keys(&merged)?;
    // Keys JSON cannot name (null, a list) or PyYAML cannot read back (very long) are refused here rather than
    // when the seed is written.
    let merged = Value::Mapping(merged);
    if has_long_key(&merged) {
        return Err(bad("cloud_init.user_data", "schema"));
    }
    emit(&merged).map_err(|_| bad("cloud_init.user_data", "schema"))?;
    Ok(())
}

pub fn effective_hostname(ci: &CloudInit, vm_name: &str) -> String {
    if ci.hostname.is_empty() {
        vm_name.to_ascii_lowercase().replace(['_', '.', '+'], "-")
    } else {
        ci.hostname.clone()
    }
}

/// Types of the keys cloud-init's schema would reject (the test suite also runs `cloud-init schema`).
fn check_known_keys(m: &Mapping) -> Result<()> {
    let is = |k: &str, ok: fn(&Value) -> bool| m.get(k).is_none_or(ok);
    let ok = is("hostname", Value::is_string)
        && is("users", Value::is_sequence)
        && is("packages", Value::is_sequence)
        && is("runcmd", Value::is_sequence)
        && is("write_files", Value::is_sequence)
        && is("ssh_pwauth", Value::is_bool)
        && is("package_update", Value::is_bool);
    if ok {
        Ok(())
    } else {
        Err(bad("cloud_init.user_data", "schema"))
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn seq<I: IntoIterator<Item = String>>(i: I) -> Value {
    Value::Sequence(i.into_iter().map(Value::String).collect())
}

/// Lists append and mappings merge (as cloud-init's own `list(append)+dict(recurse)`); other values of the
/// extra user-data replace Hangar's.
fn merge(base: &mut Mapping, extra: Mapping) {
    for (k, v) in extra {
        match (base.get_mut(&k), v) {
            (Some(Value::Sequence(a)), Value::Sequence(b)) => a.extend(b),
            (Some(Value::Mapping(a)), Value::Mapping(b)) => merge(a, b),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// What Hangar writes, with the extra user-data merged over it. `password_hash` is a crypt hash (never the
/// password itself).
pub fn merged_user_data(
    ci: &CloudInit,
    vm_name: &str,
    default_user: &str,
    password_hash: Option<&str>,
) -> Result<Mapping> {
    let user = if ci.user.is_empty() { default_user } else { &ci.user };
    let mut m = Mapping::new();
    m.insert(s("hostname"), s(&effective_hostname(ci, vm_name)));
    m.insert(s("preserve_hostname"), Value::Bool(false));
    let mut u = Mapping::new();
    u.insert(s("name"), s(user));
    u.insert(s("shell"), s("/bin/bash"));
    u.insert(s("sudo"), s("ALL=(ALL) NOPASSWD:ALL"));
    match password_hash {
        Some(h) => {
            u.insert(s("lock_passwd"), Value::Bool(false));
            u.insert(s("hashed_passwd"), s(h));
        }
        None => {
            u.insert(s("lock_passwd"), Value::Bool(true));
        }
    }
    let keys: Vec<String> = ci
        .ssh_keys
        .iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if !keys.is_empty() {
        u.insert(s("ssh_authorized_keys"), seq(keys));
    }
    m.insert(s("users"), Value::Sequence(vec![Value::Mapping(u)]));
    m.insert(s("ssh_pwauth"), Value::Bool(password_hash.is_some()));
    if ci.grow_root.unwrap_or(true) {
        let mut g = Mapping::new();
        g.insert(s("mode"), s("auto"));
        g.insert(s("devices"), seq(["/".to_string()]));
        m.insert(s("growpart"), Value::Mapping(g));
        m.insert(s("resize_rootfs"), Value::Bool(true));
    }
    if !ci.packages.is_empty() {
        m.insert(s("packages"), seq(ci.packages.clone()));
    }
    if !ci.runcmd.is_empty() {
        m.insert(s("runcmd"), seq(ci.runcmd.clone()));
    }
    merge(&mut m, extra_user_data(&ci.user_data)?);
    Ok(m)
}

/// `user-data`: `#cloud-config` and the merged mapping.
pub fn user_data(m: &Mapping) -> Result<String> {
    let body = emit_file(m)?;
    Ok(format!("#cloud-config\n{body}"))
}

/// `user-data` that changes the user's password at the next boot (with a new instance-id, cloud-init runs
/// again); the rest of the seed is kept.
pub fn with_password_change(mut m: Mapping, user: &str, password_hash: &str) -> Result<String> {
    // A new instance-id re-runs every once-per-instance module: only the password change should happen again
    // (no commands, packages or files a second time, and the host keys kept).
    for k in [
        "runcmd",
        "bootcmd",
        "packages",
        "package_update",
        "package_upgrade",
        "write_files",
    ] {
        m.remove(k);
    }
    m.insert(s("ssh_deletekeys"), Value::Bool(false));
    let mut entry = Mapping::new();
    entry.insert(s("name"), s(user));
    entry.insert(s("password"), s(password_hash));
    entry.insert(s("type"), s("hash"));
    let mut c = Mapping::new();
    c.insert(s("expire"), Value::Bool(false));
    c.insert(s("users"), Value::Sequence(vec![Value::Mapping(entry)]));
    m.insert(s("chpasswd"), Value::Mapping(c));
    user_data(&m)
}

/// `meta-data`: the instance-id (a new one makes cloud-init run again) and the host name.
pub fn meta_data(instance_id: &str, hostname: &str) -> Result<String> {
    let mut m = Mapping::new();
    m.insert(s("instance-id"), s(instance_id));
    m.insert(s("local-hostname"), s(hostname));
    emit_file(&m)
}

/// `network-config` (version 2) for the NIC with this MAC: DHCP, or the static addresses given.
pub fn network_config(n: Option<&CloudInitNetwork>, mac: &str) -> Result<String> {
    let mut e = Mapping::new();
    let mut mat = Mapping::new();
    mat.insert(s("macaddress"), s(mac));
    e.insert(s("match"), Value::Mapping(mat));
    let n = n.cloned().unwrap_or_default();
    let mut addresses = Vec::new();
    if n.address.is_empty() {
        e.insert(s("dhcp4"), Value::Bool(true));
    } else {
        addresses.push(n.address.clone());
    }
    if !n.address6.is_empty() {
        addresses.push(n.address6.clone());
    }
    if !addresses.is_empty() {
        e.insert(s("addresses"), seq(addresses));
    }
    let routes: Vec<Value> = [("0.0.0.0/0", &n.gateway), ("::/0", &n.gateway6)]
        .into_iter()
        .filter(|(_, via)| !via.is_empty())
        .map(|(to, via)| {
            let mut r = Mapping::new();
            r.insert(s("to"), s(to));
            r.insert(s("via"), s(via));
            Value::Mapping(r)
        })
        .collect();
    if !routes.is_empty() {
        e.insert(s("routes"), Value::Sequence(routes));
    }
    if !n.dns.is_empty() {
        let mut ns = Mapping::new();
        ns.insert(s("addresses"), seq(n.dns.clone()));
        e.insert(s("nameservers"), Value::Mapping(ns));
    }
    let mut eths = Mapping::new();
    eths.insert(s("nic0"), Value::Mapping(e));
    let mut top = Mapping::new();
    top.insert(s("version"), Value::Number(2.into()));
    top.insert(s("ethernets"), Value::Mapping(eths));
    emit_file(&top)
}

/// A stored `network-config` written anew, each MAC in `macs` (lowercase → new: a clone's NICs; none for a
/// password reset) replaced. Seeds stored before every string was quoted are YAML, read here as the strings
/// they were meant to be.
pub fn rewrite_network_config(text: &str, macs: &std::collections::HashMap<String, String>) -> Result<String> {
    fn swap(v: &mut Value, macs: &std::collections::HashMap<String, String>) {
        match v {
            Value::String(t) => {
                if let Some(new) = macs.get(&t.to_ascii_lowercase()) {
                    *t = new.clone();
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(|i| swap(i, macs)),
            Value::Mapping(m) => m.values_mut().for_each(|i| swap(i, macs)),
            _ => {}
        }
    }
    let mut v: Value = serde_norway::from_str(text).map_err(|e| Error::Internal(e.into()))?;
    swap(&mut v, macs);
    emit_file(&v)
}

/// A SHA-512 crypt hash (`$6$…`) of the password, as `hashed_passwd` and `chpasswd` expect (blocking: ~5 ms).
pub fn hash_password(password: &str) -> Result<String> {
    let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .map_err(|e| Error::Internal(anyhow::anyhow!("sha-crypt params: {e:?}")))?;
    sha_crypt::sha512_simple(password, &params).map_err(|e| Error::Internal(anyhow::anyhow!("sha-crypt: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxNzA1VJg7YGEHIg4ltm8JG+xWR5Xet2Sv1/0VR3DbS me@laptop";

    fn ci() -> CloudInit {
        CloudInit {
            user: "alice".into(),
            ssh_keys: vec![KEY.into()],
            ..Default::default()
        }
    }

    /// What cloud-init's own YAML loader (PyYAML: YAML 1.1) reads from a file Hangar wrote, as JSON; a value that
    /// is not a string, number, list or mapping (a date) comes back as `{"not_json": …}`.
    fn as_cloud_init_reads(text: &str) -> serde_json::Value {
        use std::io::Write;
        let mut py = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read()), \
                 default=lambda o: {'not_json': repr(o)}))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 with PyYAML (cloud-init's own dependency; scripts/setup.sh --test installs it)");
        py.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = py.wait_with_output().unwrap();
        assert!(out.status.success(), "PyYAML cannot read:\n{text}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn cloud_init_reads_every_value_as_the_string_hangar_wrote() {
        // Plain, these are a base-60 integer (YAML 1.1), a date, a boolean and another base-60 integer.
        let mac = "52:54:00:12:34:56";
        let v = as_cloud_init_reads(&network_config(None, mac).unwrap());
        assert_eq!(v["ethernets"]["nic0"]["match"]["macaddress"], mac);
        assert_eq!(
            as_cloud_init_reads(&meta_data("iid-1", "2026-01-01").unwrap())["local-hostname"],
            "2026-01-01"
        );
        let mut c = ci();
        c.user = "on".into();
        c.hostname = "2026-01-01".into();
        c.runcmd = vec!["1:30".into(), "echo \u{7f}\u{85}\u{9f}\u{2028}\u{ffff}".into()];
        c.user_data = "#cloud-config\ntimezone: 10:20\n".into();
        let u = as_cloud_init_reads(&user_data(&merged_user_data(&c, "w", "on", None).unwrap()).unwrap());
        assert_eq!(
            (&u["hostname"], &u["users"][0]["name"], &u["runcmd"][0], &u["timezone"]),
            (&json!("2026-01-01"), &json!("on"), &json!("1:30"), &json!("10:20"))
        );
        assert_eq!(u["runcmd"][1], "echo \u{7f}\u{85}\u{9f}\u{2028}\u{ffff}");
        assert_eq!(u["ssh_pwauth"], false);
    }

    #[test]
    fn cloud_init_applies_a_network_config_whose_mac_is_all_digits() {
        let dir = std::env::temp_dir().join(format!("hangar-netconv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("network-config");
        std::fs::write(&file, network_config(None, "52:54:00:12:34:56").unwrap()).unwrap();
        let out = std::process::Command::new("cloud-init")
            // ENI, as the Debian template renders it (its parser is the one that met a number for a MAC).
            .args(["devel", "net-convert", "-k", "yaml", "-D", "debian", "-O", "eni", "-p"])
            .arg(&file)
            .arg("-d")
            .arg(&dir)
            .output()
            .expect("cloud-init (scripts/setup.sh --test installs it)");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn a_clone_gets_its_own_mac_in_a_network_config_stored_as_yaml() {
        // Seeds stored before every string was quoted: a plain MAC, which cloud-init would read as a number.
        let old = "ethernets:\n  nic0:\n    dhcp4: true\n    match:\n      macaddress: 52:54:00:AA:bb:01\nversion: 2\n";
        let macs = [("52:54:00:aa:bb:01".to_string(), "52:54:00:12:34:56".to_string())].into();
        let v = as_cloud_init_reads(&rewrite_network_config(old, &macs).unwrap());
        assert_eq!(v["ethernets"]["nic0"]["match"]["macaddress"], "52:54:00:12:34:56");
        assert_eq!(v["ethernets"]["nic0"]["dhcp4"], true);
        assert_eq!(v["version"], 2);
    }

    #[test]
    fn yaml_tags_and_keys_json_cannot_name_are_refused_up_front() {
        let long_key = format!("#cloud-config\n{}: 1\n", "k".repeat(1001));
        for extra in [
            "#cloud-config\nwrite_files:\n  - content: !vault aGk=\n",
            "#cloud-config\n? [a, b]\n: c\n",
            &long_key,
        ] {
            let mut c = ci();
            c.user_data = extra.into();
            let e = validate(&c, "w").expect_err(extra);
            assert!(
                matches!(
                    e,
                    Error::Invalid {
                        field: "cloud_init.user_data",
                        ..
                    }
                ),
                "{extra}: {e:?}"
            );
        }
    }

    #[test]
    fn keys_must_really_parse() {
        assert!(ssh_key(KEY).is_ok());
        assert!(ssh_key("ssh-ed25519 AAAAnotbase64!!").is_err());
        assert!(ssh_key("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIMxNzA1VJg7YGEHIg4ltm8JG").is_err());
        assert!(ssh_key(&format!("{KEY}\nssh-ed25519 x")).is_err());
    }

    #[test]
    fn host_and_user_names() {
        for good in ["web1", "a.example.com", "x-y"] {
            assert!(hostname(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a_b", "a..b", &"a".repeat(64), "ü"] {
            assert!(hostname(bad).is_err(), "{bad}");
        }
        assert!(user_name("alice").is_ok());
        for bad in ["root", "Alice", "1a", "a b", "a:b", &"a".repeat(33)] {
            assert!(user_name(bad).is_err(), "{bad}");
        }
        assert_eq!(effective_hostname(&CloudInit::default(), "Web_1"), "web-1");
    }

    #[test]
    fn static_addresses_are_checked() {
        let net = |a: &str, g: &str| CloudInitNetwork {
            address: a.into(),
            gateway: g.into(),
            ..Default::default()
        };
        assert!(network(&net("192.168.1.5/24", "192.168.1.1")).is_ok());
        assert!(network(&net("192.168.1.5", "")).is_err());
        assert!(network(&net("192.168.1.5/24", "10.0.0.1")).is_err());
        assert!(network(&net("", "10.0.0.1")).is_err());
        assert!(network(&net("300.1.1.1/24", "")).is_err());
        assert!(in_subnet("10.0.0.9".parse().unwrap(), "10.0.0.0".parse().unwrap(), 24));
        assert!(!in_subnet("10.0.1.9".parse().unwrap(), "10.0.0.0".parse().unwrap(), 24));
    }

    #[test]
    fn user_data_carries_the_user_keys_and_hash_never_the_password() {
        let mut c = ci();
        c.password = "correct horse".into();
        c.packages = vec!["nginx".into()];
        let m = merged_user_data(&c, "web1", "debian", Some("$6$salt$hash")).unwrap();
        let text = user_data(&m).unwrap();
        assert!(text.starts_with("#cloud-config\n"));
        assert!(!text.contains("correct horse"));
        let v: Value = serde_norway::from_str(&text).unwrap();
        let u = &v["users"][0];
        assert_eq!(u["name"].as_str(), Some("alice"), "{text}");
        assert_eq!(u["ssh_authorized_keys"][0].as_str(), Some(KEY));
        assert_eq!(u["hashed_passwd"].as_str(), Some("$6$salt$hash"));
        assert_eq!(v["packages"][0].as_str(), Some("nginx"));
    }

    #[test]
    fn extra_user_data_merges_lists_and_must_be_cloud_config() {
        let mut c = ci();
        c.runcmd = vec!["echo one".into()];
        c.user_data = "#cloud-config\nruncmd:\n  - echo two\ntimezone: Asia/Shanghai\n".into();
        let m = merged_user_data(&c, "web1", "x", None).unwrap();
        let runcmd = m.get("runcmd").and_then(Value::as_sequence).unwrap();
        assert_eq!(runcmd.len(), 2);
        assert_eq!(m.get("timezone").and_then(Value::as_str), Some("Asia/Shanghai"));
        for bad in ["#!/bin/sh\necho hi", "- a\n- b", "a: [1, 2", "runcmd: nope"] {
            c.user_data = bad.into();
            assert!(validate(&c, "web1").is_err(), "{bad}");
        }
    }

    #[test]
    fn yaml_special_characters_stay_data() {
        let mut c = ci();
        c.runcmd = vec!["echo 'a: b' # not a comment\n- [x]".into()];
        let text = user_data(&merged_user_data(&c, "w", "x", None).unwrap()).unwrap();
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back["runcmd"][0].as_str(), Some("echo 'a: b' # not a comment\n- [x]"));
    }

    #[test]
    fn network_config_is_v2_matched_by_mac() {
        let n = CloudInitNetwork {
            address: "10.0.0.5/24".into(),
            gateway: "10.0.0.1".into(),
            dns: vec!["1.1.1.1".into()],
            ..Default::default()
        };
        let text = network_config(Some(&n), "52:54:00:aa:bb:cc").unwrap();
        let v: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(v["version"].as_i64(), Some(2));
        let e = &v["ethernets"]["nic0"];
        assert_eq!(e["match"]["macaddress"].as_str(), Some("52:54:00:aa:bb:cc"));
        assert_eq!(e["addresses"][0].as_str(), Some("10.0.0.5/24"));
        assert_eq!(e["routes"][0]["via"].as_str(), Some("10.0.0.1"));
        let dhcp: Value = serde_norway::from_str(&network_config(None, "52:54:00:00:00:01").unwrap()).unwrap();
        assert_eq!(dhcp["ethernets"]["nic0"]["dhcp4"].as_bool(), Some(true));
    }

    #[test]
    fn a_password_change_runs_nothing_else_again() {
        let mut c = ci();
        c.runcmd = vec!["rm -rf /data".into()];
        c.packages = vec!["nginx".into()];
        let m = merged_user_data(&c, "w", "x", None).unwrap();
        let text = with_password_change(m, "alice", "$6$s$h").unwrap();
        let v: Value = serde_norway::from_str(&text).unwrap();
        assert!(v.get("runcmd").is_none() && v.get("packages").is_none(), "{text}");
        assert_eq!(v["ssh_deletekeys"].as_bool(), Some(false));
        assert_eq!(v["chpasswd"]["users"][0]["password"].as_str(), Some("$6$s$h"));
        assert_eq!(v["users"][0]["name"].as_str(), Some("alice"));
    }

    #[test]
    fn password_hashes_are_sha512_crypt() {
        let h = hash_password("secret-pass").unwrap();
        assert!(h.starts_with("$6$"));
        assert!(sha_crypt::sha512_check("secret-pass", &h).is_ok());
    }
}
