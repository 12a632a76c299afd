//! Input rules for storage: names of pools, volumes and images, paths, devices and hosts, and which fields each
//! pool type needs. Pure functions, so every rule is tested without a daemon.
use crate::error::{Error, Result};
use app::api::{CreatePool, PoolType};
use std::path::{Component, Path, PathBuf};

/// Pool names: letters, digits, `.`, `_`, `-`, up to 64, not starting with `.` or `-`.
pub fn pool_name(s: &str) -> Result<()> {
    simple_name("name", s, 64)
}

/// Volume names: as pool names, up to 200 (never `/`, `..`, NUL or control characters).
pub fn volume_name(s: &str) -> Result<()> {
    simple_name("name", s, 200)
}

fn simple_name(field: &'static str, s: &str, max: usize) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(field, "empty"));
    }
    if s.len() > max {
        return Err(Error::invalid(field, "too_long"));
    }
    let ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !s.starts_with(['.', '-'])
        && !s.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "bad_format"))
    }
}

/// Image names are shown, not used as file names: any text up to 100 characters without `/`, `..`, NUL or
/// control characters.
pub fn image_name(s: &str) -> Result<()> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::invalid("name", "empty"));
    }
    if t.chars().count() > 100 {
        return Err(Error::invalid("name", "too_long"));
    }
    if t.chars().any(|c| c.is_control()) || t.contains('/') || t.contains('\\') || t.contains("..") {
        return Err(Error::invalid("name", "bad_format"));
    }
    Ok(())
}

/// An absolute, normalised path (no `..`, no control characters), under one of `roots` when given.
pub fn path_under(field: &'static str, s: &str, roots: &[PathBuf]) -> Result<()> {
    let p = Path::new(s);
    if s.len() > 512 || s.chars().any(|c| c.is_control()) || !p.is_absolute() {
        return Err(Error::invalid(field, "bad_format"));
    }
    if p.components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(Error::invalid(field, "bad_format"));
    }
    if !roots.is_empty() && !roots.iter().any(|r| p.starts_with(r) && p != r.as_path()) {
        return Err(Error::invalid(field, "outside_allowed_roots"));
    }
    Ok(())
}

fn device(field: &'static str, s: &str) -> Result<()> {
    path_under(field, s, &[PathBuf::from("/dev")])
}

/// A host name or address (letters, digits, `.`, `-`, `:` for IPv6).
fn host(field: &'static str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !s.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "bad_format"))
    }
}

fn uuid(field: &'static str, s: &str) -> Result<()> {
    let groups: Vec<&str> = s.split('-').collect();
    let ok = groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "bad_format"))
    }
}

fn required<'a>(field: &'static str, v: &'a Option<String>) -> Result<&'a str> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(Error::invalid(field, "required")),
    }
}

/// Everything a new pool needs for its type, checked; fields the type does not use are refused rather than
/// silently dropped.
pub fn create_pool(p: &CreatePool, roots: &[PathBuf]) -> Result<()> {
    pool_name(&p.name)?;
    let fields = p.kind.fields();
    let given = [
        ("target_path", &p.target_path),
        ("source_device", &p.source_device),
        ("source_host", &p.source_host),
        ("source_dir", &p.source_dir),
        ("source_name", &p.source_name),
        ("auth_username", &p.auth_username),
        ("secret_uuid", &p.secret_uuid),
    ];
    for (name, v) in given {
        if v.as_deref().is_some_and(|s| !s.is_empty()) && !fields.contains(&name) {
            return Err(Error::invalid(field_name(name), "not_for_this_type"));
        }
    }
    match p.kind {
        PoolType::Dir => path_under("target_path", required("target_path", &p.target_path)?, roots)?,
        PoolType::Fs => {
            device("source_device", required("source_device", &p.source_device)?)?;
            path_under("target_path", required("target_path", &p.target_path)?, roots)?;
        }
        PoolType::Netfs => {
            host("source_host", required("source_host", &p.source_host)?)?;
            path_under("source_dir", required("source_dir", &p.source_dir)?, &[])?;
            path_under("target_path", required("target_path", &p.target_path)?, roots)?;
        }
        PoolType::Logical | PoolType::Zfs => {
            simple_name("source_name", required("source_name", &p.source_name)?, 64)?;
            if let Some(d) = p.source_device.as_deref().filter(|d| !d.is_empty()) {
                device("source_device", d)?;
            }
        }
        PoolType::Rbd => {
            host("source_host", required("source_host", &p.source_host)?)?;
            simple_name("source_name", required("source_name", &p.source_name)?, 64)?;
            simple_name("auth_username", required("auth_username", &p.auth_username)?, 64)?;
            uuid("secret_uuid", required("secret_uuid", &p.secret_uuid)?)?;
        }
        PoolType::Iscsi => {
            host("source_host", required("source_host", &p.source_host)?)?;
            let iqn = required("source_device", &p.source_device)?;
            let ok = iqn.starts_with("iqn.")
                && iqn.len() <= 223
                && iqn
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if !ok {
                return Err(Error::invalid("source_device", "bad_format"));
            }
        }
    }
    Ok(())
}

fn field_name(s: &str) -> &'static str {
    match s {
        "target_path" => "target_path",
        "source_device" => "source_device",
        "source_host" => "source_host",
        "source_dir" => "source_dir",
        "source_name" => "source_name",
        "auth_username" => "auth_username",
        _ => "secret_uuid",
    }
}

/// `qcow2` or `raw` (empty means `qcow2`).
pub fn volume_format(s: &str) -> Result<&'static str> {
    match s {
        "" | "qcow2" => Ok("qcow2"),
        "raw" => Ok("raw"),
        _ => Err(Error::invalid("format", "unknown")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<()>) -> String {
        match r {
            Ok(()) => "ok".into(),
            Err(Error::Invalid { field, reason, .. }) => format!("{field}:{reason}"),
            Err(e) => e.code().into(),
        }
    }

    #[test]
    fn names_refuse_paths_and_control_characters() {
        for bad in ["", "a/b", "..", "a..b", ".hidden", "-x", "a\0b", "tab\t", "é"] {
            assert!(volume_name(bad).is_err(), "{bad:?}");
        }
        assert!(volume_name("disk-1.qcow2").is_ok());
        assert!(image_name("Debian 12 (bookworm) 中文").is_ok());
        for bad in ["", "  ", "a/b", "x\u{7}", "..", "a\\b"] {
            assert!(image_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_stay_under_the_roots() {
        let roots = [PathBuf::from("/srv")];
        assert_eq!(code(path_under("target_path", "/srv/pool1", &roots)), "ok");
        assert_eq!(
            code(path_under("target_path", "/srv", &roots)),
            "target_path:outside_allowed_roots"
        );
        assert_eq!(
            code(path_under("target_path", "/etc/x", &roots)),
            "target_path:outside_allowed_roots"
        );
        assert_eq!(
            code(path_under("target_path", "/srv/../etc", &roots)),
            "target_path:bad_format"
        );
        assert_eq!(
            code(path_under("target_path", "srv/x", &roots)),
            "target_path:bad_format"
        );
        assert_eq!(
            code(path_under("target_path", "/srvx/y", &roots)),
            "target_path:outside_allowed_roots"
        );
    }

    #[test]
    fn each_type_needs_its_fields_and_only_those() {
        let roots = [PathBuf::from("/srv")];
        let base = |kind| CreatePool {
            host_id: 1,
            name: "p".into(),
            kind,
            ..Default::default()
        };
        assert_eq!(code(create_pool(&base(PoolType::Dir), &roots)), "target_path:required");
        let fs = CreatePool {
            source_device: Some("/etc/passwd".into()),
            target_path: Some("/srv/fs".into()),
            ..base(PoolType::Fs)
        };
        assert_eq!(code(create_pool(&fs, &roots)), "source_device:outside_allowed_roots");
        let logical = CreatePool {
            source_name: Some("vg0".into()),
            target_path: Some("/srv/x".into()),
            ..base(PoolType::Logical)
        };
        assert_eq!(code(create_pool(&logical, &roots)), "target_path:not_for_this_type");
        let rbd = CreatePool {
            source_host: Some("mon1".into()),
            source_name: Some("rbd".into()),
            auth_username: Some("libvirt".into()),
            secret_uuid: Some("not-a-uuid".into()),
            ..base(PoolType::Rbd)
        };
        assert_eq!(code(create_pool(&rbd, &roots)), "secret_uuid:bad_format");
        let iscsi = CreatePool {
            source_host: Some("portal".into()),
            source_device: Some("iqn.2026-01.dev.hangar:t1".into()),
            ..base(PoolType::Iscsi)
        };
        assert_eq!(code(create_pool(&iscsi, &roots)), "ok");
        let netfs = CreatePool {
            source_host: Some("nfs;rm -rf".into()),
            source_dir: Some("/export".into()),
            target_path: Some("/srv/nfs".into()),
            ..base(PoolType::Netfs)
        };
        assert_eq!(code(create_pool(&netfs, &roots)), "source_host:bad_format");
    }
}
