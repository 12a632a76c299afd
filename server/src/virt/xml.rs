//! Domain XML: Hangar's metadata element written with an XML writer (user text is escaped by it, never
//! formatted in), and the facts the UI shows read with a real parser.
use quick_xml::events::BytesText;
use quick_xml::Writer;

/// Hangar's namespace in `<metadata>`.
pub const NS: &str = "https://hangar.dev/xmlns/domain/1";
pub const PREFIX: &str = "hangar";

/// The owner a domain's metadata names: which installation wrote it, and that installation's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaOwner {
    pub installation: Option<String>,
    pub id: i64,
    pub name: String,
}

/// `<vm xmlns="…" installation="…"><owner id="3">alice</owner><tags><tag>web</tag></tags></vm>`
pub fn metadata_xml(installation: &str, owner: Option<(i64, &str)>, tags: &[String]) -> std::io::Result<String> {
    let mut w = Writer::new(Vec::new());
    w.create_element("vm")
        .with_attribute(("xmlns", NS))
        .with_attribute(("installation", installation))
        .write_inner_content(|w| {
            if let Some((id, name)) = owner {
                w.create_element("owner")
                    .with_attribute(("id", id.to_string().as_str()))
                    .write_text_content(BytesText::new(name))?;
            }
            w.create_element("tags").write_inner_content(|w| {
                for t in tags {
                    w.create_element("tag").write_text_content(BytesText::new(t))?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

/// The owner Hangar's metadata element claims (a claim only: it grants nothing) and the tags.
pub fn parse_metadata(xml: &str) -> (Option<MetaOwner>, Vec<String>) {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return (None, Vec::new());
    };
    let root = doc.root_element();
    let owner = root.children().find(|n| n.has_tag_name("owner")).and_then(|n| {
        Some(MetaOwner {
            installation: root.attribute("installation").map(|s| s.chars().take(64).collect()),
            id: n.attribute("id")?.parse().ok()?,
            name: n.text().unwrap_or("").chars().take(64).collect(),
        })
    });
    let tags = root
        .descendants()
        .filter(|n| n.has_tag_name("tag"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect();
    (owner, tags)
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct DiskXml {
    pub target: String,
    pub device: String,
    pub path: Option<String>,
    pub pool: Option<String>,
    pub format: Option<String>,
    pub bus: Option<String>,
    /// Its place in the boot order, when it has one.
    pub boot: Option<u32>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct DomainXml {
    pub description: String,
    pub max_vcpus: i64,
    pub max_memory_mib: i64,
    pub disks: Vec<DiskXml>,
    pub nics: Vec<app::api::VmNic>,
    pub graphics: Vec<String>,
    pub boot_order: Vec<String>,
}

fn kib(value: &str, unit: Option<&str>) -> i64 {
    let v: i64 = value.trim().parse().unwrap_or(0);
    match unit.unwrap_or("KiB") {
        "b" | "bytes" => v / 1024,
        "KB" => v * 1000 / 1024,
        "k" | "KiB" => v,
        "MB" => v * 1_000_000 / 1024,
        "M" | "MiB" => v * 1024,
        "GB" => v * 1_000_000_000 / 1024,
        "G" | "GiB" => v * 1024 * 1024,
        _ => v,
    }
}

pub fn parse_domain(xml: &str) -> Result<DomainXml, roxmltree::Error> {
    let doc = roxmltree::Document::parse(xml)?;
    let root = doc.root_element();
    let child = |name: &str| root.children().find(|n| n.has_tag_name(name));
    let mut d = DomainXml {
        description: child("description").and_then(|n| n.text()).unwrap_or("").to_string(),
        max_vcpus: child("vcpu")
            .and_then(|n| n.text())
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0),
        max_memory_mib: child("memory")
            .map(|n| kib(n.text().unwrap_or("0"), n.attribute("unit")) / 1024)
            .unwrap_or(0),
        ..Default::default()
    };
    if let Some(os) = child("os") {
        d.boot_order = os
            .children()
            .filter(|n| n.has_tag_name("boot"))
            .filter_map(|n| n.attribute("dev"))
            .map(String::from)
            .collect();
        if let Some(k) = os.children().find(|n| n.has_tag_name("kernel")) {
            if d.boot_order.is_empty() {
                d.boot_order.push(format!("kernel {}", k.text().unwrap_or("")));
            }
        }
    }
    let Some(devices) = child("devices") else { return Ok(d) };
    for n in devices.children().filter(|n| n.is_element()) {
        let sub = |name: &str| n.children().find(|c| c.has_tag_name(name));
        match n.tag_name().name() {
            "disk" => {
                let source = sub("source");
                d.disks.push(DiskXml {
                    target: sub("target").and_then(|t| t.attribute("dev")).unwrap_or("").to_string(),
                    device: n.attribute("device").unwrap_or("disk").to_string(),
                    path: source
                        .and_then(|s| s.attribute("file").or(s.attribute("dev")).or(s.attribute("volume")))
                        .map(String::from),
                    pool: source.and_then(|s| s.attribute("pool")).map(String::from),
                    format: sub("driver").and_then(|t| t.attribute("type")).map(String::from),
                    bus: sub("target").and_then(|t| t.attribute("bus")).map(String::from),
                    boot: sub("boot")
                        .and_then(|b| b.attribute("order"))
                        .and_then(|o| o.parse().ok()),
                });
                if let Some(order) = sub("boot").and_then(|b| b.attribute("order")) {
                    let target = sub("target").and_then(|t| t.attribute("dev")).unwrap_or("");
                    d.boot_order.push(format!("{order}: {target}"));
                }
            }
            "interface" => {
                if let Some(order) = sub("boot").and_then(|b| b.attribute("order")) {
                    let mac = sub("mac").and_then(|m| m.attribute("address")).unwrap_or("");
                    d.boot_order.push(format!("{order}: {mac}"));
                }
                let source = sub("source");
                let kind = n.attribute("type").unwrap_or("");
                let src = source
                    .and_then(|s| s.attribute("network").or(s.attribute("bridge")).or(s.attribute("dev")))
                    .unwrap_or("");
                d.nics.push(app::api::VmNic {
                    mac: sub("mac").and_then(|m| m.attribute("address")).map(String::from),
                    source: if src.is_empty() {
                        kind.to_string()
                    } else {
                        format!("{kind}:{src}")
                    },
                    model: sub("model").and_then(|m| m.attribute("type")).map(String::from),
                });
            }
            "graphics" => {
                let kind = n.attribute("type").unwrap_or("?");
                let listen = n.attribute("listen").unwrap_or("");
                let port = n.attribute("port").unwrap_or("");
                d.graphics.push(
                    format!("{kind} {listen}:{port}")
                        .trim_end_matches(':')
                        .trim()
                        .to_string(),
                );
            }
            _ => {}
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_hostile_text() {
        let tags = vec!["<b>&\"'".to_string(), "web".into()];
        let xml = metadata_xml("inst\"1", Some((7, "o'neil <&>")), &tags).unwrap();
        assert!(!xml.contains("<b>"), "{xml}");
        let owner = MetaOwner {
            installation: Some("inst\"1".into()),
            id: 7,
            name: "o'neil <&>".into(),
        };
        assert_eq!(parse_metadata(&xml), (Some(owner), tags));
        assert_eq!(parse_metadata("not xml"), (None, vec![]));
    }

    #[test]
    fn reads_domain_facts() {
        let xml = r#"<domain type='qemu'><name>x</name><description>a &lt;b&gt;</description>
            <memory unit='KiB'>262144</memory><vcpu placement='static'>2</vcpu>
            <os><type>hvm</type><boot dev='hd'/><boot dev='cdrom'/></os>
            <devices>
              <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/p/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
              <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/><model type='virtio'/></interface>
              <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'/>
            </devices></domain>"#;
        let d = parse_domain(xml).unwrap();
        assert_eq!(d.description, "a <b>");
        assert_eq!((d.max_vcpus, d.max_memory_mib), (2, 256));
        assert_eq!(d.disks[0].path.as_deref(), Some("/p/a.qcow2"));
        assert_eq!(d.disks[0].format.as_deref(), Some("qcow2"));
        assert_eq!(d.nics[0].source, "network:default");
        assert_eq!(d.graphics, vec!["vnc 127.0.0.1:5900"]);
        assert_eq!(d.boot_order, vec!["hd", "cdrom"]);
    }
}
