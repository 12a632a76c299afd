//! Storage pool and volume XML: built with an XML writer from validated fields (nothing typed by a user is ever
//! formatted into XML text), and read back with a real parser.
use app::api::{CreatePool, PoolType};
use quick_xml::events::BytesText;
use quick_xml::Writer;
use std::io::Result;

type W = Writer<Vec<u8>>;

fn text(w: &mut W, tag: &str, value: &str) -> Result<()> {
    w.create_element(tag).write_text_content(BytesText::new(value))?;
    Ok(())
}

fn empty(w: &mut W, tag: &str, attr: (&str, &str)) -> Result<()> {
    w.create_element(tag).with_attribute(attr).write_empty()?;
    Ok(())
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// `<pool type='…'>` for a request whose fields were validated (`services::pools::validate`).
pub fn pool_xml(p: &CreatePool) -> Result<String> {
    let mut w = Writer::new(Vec::new());
    w.create_element("pool")
        .with_attribute(("type", p.kind.as_str()))
        .write_inner_content(|w| {
            text(w, "name", &p.name)?;
            let has_source = p.kind != PoolType::Dir;
            if has_source {
                w.create_element("source").write_inner_content(|w| source(w, p))?;
            }
            let target = match p.kind {
                PoolType::Dir | PoolType::Fs | PoolType::Netfs => p.target_path.clone(),
                PoolType::Logical => Some(format!("/dev/{}", s(&p.source_name))),
                PoolType::Iscsi => Some("/dev/disk/by-path".into()),
                PoolType::Zfs | PoolType::Rbd => None,
            };
            if let Some(t) = target {
                w.create_element("target")
                    .write_inner_content(|w| text(w, "path", &t))?;
            }
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

fn source(w: &mut W, p: &CreatePool) -> Result<()> {
    match p.kind {
        PoolType::Dir => {}
        PoolType::Fs => {
            empty(w, "device", ("path", s(&p.source_device)))?;
            empty(w, "format", ("type", "auto"))?;
        }
        PoolType::Netfs => {
            empty(w, "host", ("name", s(&p.source_host)))?;
            empty(w, "dir", ("path", s(&p.source_dir)))?;
            empty(w, "format", ("type", "nfs"))?;
        }
        PoolType::Logical => {
            text(w, "name", s(&p.source_name))?;
            if let Some(d) = &p.source_device {
                empty(w, "device", ("path", d))?;
            }
            empty(w, "format", ("type", "lvm2"))?;
        }
        PoolType::Zfs => {
            text(w, "name", s(&p.source_name))?;
            if let Some(d) = &p.source_device {
                empty(w, "device", ("path", d))?;
            }
        }
        PoolType::Rbd => {
            empty(w, "host", ("name", s(&p.source_host)))?;
            text(w, "name", s(&p.source_name))?;
            w.create_element("auth")
                .with_attribute(("type", "ceph"))
                .with_attribute(("username", s(&p.auth_username)))
                .write_inner_content(|w| empty(w, "secret", ("uuid", s(&p.secret_uuid))))?;
        }
        PoolType::Iscsi => {
            empty(w, "host", ("name", s(&p.source_host)))?;
            empty(w, "device", ("path", s(&p.source_device)))?;
        }
    }
    Ok(())
}

/// `<volume>` of `capacity` bytes in `format`, optionally an overlay of `backing` (path and format).
pub fn volume_xml(name: &str, format: &str, capacity: u64, backing: Option<(&str, &str)>) -> Result<String> {
    let mut w = Writer::new(Vec::new());
    w.create_element("volume").write_inner_content(|w| {
        text(w, "name", name)?;
        w.create_element("capacity")
            .with_attribute(("unit", "bytes"))
            .write_text_content(BytesText::new(&capacity.to_string()))?;
        w.create_element("allocation")
            .with_attribute(("unit", "bytes"))
            .write_text_content(BytesText::new("0"))?;
        w.create_element("target")
            .write_inner_content(|w| empty(w, "format", ("type", format)))?;
        if let Some((path, fmt)) = backing {
            w.create_element("backingStore").write_inner_content(|w| {
                text(w, "path", path)?;
                empty(w, "format", ("type", fmt))
            })?;
        }
        Ok(())
    })?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

/// What a pool's XML says: its type, target path and source fields.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PoolXml {
    pub kind: String,
    pub target_path: Option<String>,
    pub source: Vec<(String, String)>,
}

pub fn parse_pool(xml: &str) -> PoolXml {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return PoolXml::default();
    };
    let root = doc.root_element();
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children().find(|c| c.has_tag_name(tag))
    }
    let target_path = child(root, "target")
        .and_then(|t| child(t, "path"))
        .and_then(|p| p.text())
        .map(str::to_string);
    let mut source = Vec::new();
    if let Some(src) = child(root, "source") {
        for n in src.children().filter(|n| n.is_element()) {
            let name = n.tag_name().name();
            let value = match name {
                "device" | "dir" => n.attribute("path").map(str::to_string),
                "host" => n.attribute("name").map(str::to_string),
                "format" => n.attribute("type").map(str::to_string),
                "auth" => n.attribute("username").map(str::to_string),
                "name" => n.text().map(str::to_string),
                _ => None,
            };
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                source.push((name.to_string(), v));
            }
        }
    }
    PoolXml {
        kind: root.attribute("type").unwrap_or("").to_string(),
        target_path,
        source,
    }
}

/// What a volume's XML says: format and backing file.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VolumeXml {
    pub format: String,
    pub backing: Option<String>,
}

pub fn parse_volume(xml: &str) -> VolumeXml {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return VolumeXml::default();
    };
    let root = doc.root_element();
    let format = root
        .children()
        .find(|n| n.has_tag_name("target"))
        .and_then(|t| t.children().find(|n| n.has_tag_name("format")))
        .and_then(|f| f.attribute("type"))
        .unwrap_or("raw")
        .to_string();
    let backing = root
        .children()
        .find(|n| n.has_tag_name("backingStore"))
        .and_then(|b| b.children().find(|n| n.has_tag_name("path")))
        .and_then(|p| p.text())
        .map(str::to_string);
    VolumeXml { format, backing }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: PoolType) -> CreatePool {
        CreatePool {
            host_id: 1,
            name: "p1".into(),
            kind,
            target_path: Some("/srv/p1".into()),
            source_device: Some("/dev/sdb".into()),
            source_host: Some("nfs.example".into()),
            source_dir: Some("/export/vm".into()),
            source_name: Some("vg0".into()),
            auth_username: Some("libvirt".into()),
            secret_uuid: Some("0d7d3c5e-5a0f-4d6b-9a53-1a2b3c4d5e6f".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_type_round_trips_through_the_parser() {
        for kind in PoolType::ALL {
            let xml = pool_xml(&req(kind)).unwrap();
            let parsed = parse_pool(&xml);
            assert_eq!(parsed.kind, kind.as_str(), "{xml}");
            let has = |k: &str, v: &str| parsed.source.iter().any(|(a, b)| a == k && b == v);
            match kind {
                PoolType::Dir => assert_eq!(parsed.target_path.as_deref(), Some("/srv/p1")),
                PoolType::Fs => assert!(has("device", "/dev/sdb") && parsed.target_path.is_some()),
                PoolType::Netfs => {
                    assert!(has("host", "nfs.example") && has("dir", "/export/vm") && has("format", "nfs"))
                }
                PoolType::Logical => {
                    assert!(has("name", "vg0"));
                    assert_eq!(parsed.target_path.as_deref(), Some("/dev/vg0"));
                }
                PoolType::Zfs => assert!(has("name", "vg0")),
                PoolType::Rbd => assert!(has("auth", "libvirt") && xml.contains("0d7d3c5e-5a0f")),
                PoolType::Iscsi => assert!(has("host", "nfs.example")),
            }
        }
    }

    #[test]
    fn user_text_is_escaped_not_interpreted() {
        let mut p = req(PoolType::Dir);
        p.name = "a<b>&'\"".into();
        let xml = pool_xml(&p).unwrap();
        assert!(roxmltree::Document::parse(&xml).is_ok(), "{xml}");
        assert!(!xml.contains("<b>"));
    }

    #[test]
    fn volumes_with_and_without_backing() {
        let xml = volume_xml("disk.qcow2", "qcow2", 1 << 30, Some(("/srv/base.qcow2", "qcow2"))).unwrap();
        let v = parse_volume(&xml);
        assert_eq!(v.format, "qcow2");
        assert_eq!(v.backing.as_deref(), Some("/srv/base.qcow2"));
        assert!(xml.contains(">1073741824<"));
        assert_eq!(parse_volume(&volume_xml("r", "raw", 1, None).unwrap()).backing, None);
    }
}
