//! The XML of a new domain, built with an XML writer from a spec (every user-given string is escaped by the
//! writer), and small device elements for attaching to an existing domain.
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::Writer;

type W = Writer<Vec<u8>>;
type IoResult<T> = std::io::Result<T>;

#[derive(Clone, Debug, PartialEq)]
pub struct DiskSpec {
    /// `disk` or `cdrom`.
    pub device: String,
    /// Pool name and volume name; `None` for an empty CD-ROM drive.
    pub source: Option<(String, String)>,
    /// `qcow2` or `raw`.
    pub format: String,
    pub bus: String,
    pub target: String,
    pub readonly: bool,
    /// Position in the boot order (1 first).
    pub boot: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NicSpec {
    /// `network` or `bridge`.
    pub kind: String,
    pub source: String,
    pub mac: String,
    pub model: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DomainSpec {
    pub name: String,
    pub uuid: String,
    /// `kvm` or `qemu`.
    pub domain_type: String,
    pub arch: String,
    pub machine: String,
    pub vcpus: i64,
    pub memory_mib: i64,
    /// `bios` or `uefi`.
    pub firmware: String,
    pub description: String,
    /// Hangar's `<metadata>` child, already written by `xml::metadata_xml`.
    pub metadata: String,
    pub disks: Vec<DiskSpec>,
    pub nics: Vec<NicSpec>,
    /// Where the serial console's output is also written (on the host).
    pub serial_log: Option<String>,
    /// The VNC server's listen address (`127.0.0.1` on the local host; reachable from Hangar on others).
    pub vnc_listen: String,
    /// Set where VNC listens beyond the loopback; Hangar's console bridge answers it.
    pub vnc_password: Option<String>,
}

fn empty(w: &mut W, name: &str, attrs: &[(&str, &str)]) -> IoResult<()> {
    let mut e = BytesStart::new(name);
    for a in attrs {
        e.push_attribute(*a);
    }
    w.write_event(Event::Empty(e))?;
    Ok(())
}

fn text(w: &mut W, name: &str, attrs: &[(&str, &str)], t: &str) -> IoResult<()> {
    let mut e = w.create_element(name);
    for a in attrs {
        e = e.with_attribute(*a);
    }
    e.write_text_content(BytesText::new(t))?;
    Ok(())
}

pub fn disk(w: &mut W, d: &DiskSpec) -> IoResult<()> {
    let kind = if d.source.is_some() { "volume" } else { "file" };
    w.create_element("disk")
        .with_attribute(("type", kind))
        .with_attribute(("device", d.device.as_str()))
        .write_inner_content(|w| {
            empty(w, "driver", &[("name", "qemu"), ("type", d.format.as_str())])?;
            if let Some((pool, vol)) = &d.source {
                empty(w, "source", &[("pool", pool.as_str()), ("volume", vol.as_str())])?;
            }
            empty(w, "target", &[("dev", d.target.as_str()), ("bus", d.bus.as_str())])?;
            if d.readonly {
                empty(w, "readonly", &[])?;
            }
            if let Some(b) = d.boot {
                empty(w, "boot", &[("order", b.to_string().as_str())])?;
            }
            Ok(())
        })?;
    Ok(())
}

pub fn nic(w: &mut W, n: &NicSpec) -> IoResult<()> {
    w.create_element("interface")
        .with_attribute(("type", n.kind.as_str()))
        .write_inner_content(|w| {
            empty(w, "mac", &[("address", n.mac.as_str())])?;
            empty(w, "source", &[(n.kind.as_str(), n.source.as_str())])?;
            empty(w, "model", &[("type", n.model.as_str())])?;
            Ok(())
        })?;
    Ok(())
}

/// One device element on its own (for attach/update calls).
pub fn device_xml(f: impl FnOnce(&mut W) -> IoResult<()>) -> IoResult<String> {
    let mut w = Writer::new(Vec::new());
    f(&mut w)?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

pub fn domain_xml(s: &DomainSpec) -> IoResult<String> {
    let mut w = Writer::new(Vec::new());
    w.create_element("domain")
        .with_attribute(("type", s.domain_type.as_str()))
        .write_inner_content(|w| {
            text(w, "name", &[], &s.name)?;
            text(w, "uuid", &[], &s.uuid)?;
            if !s.description.is_empty() {
                text(w, "description", &[], &s.description)?;
            }
            w.write_event(Event::Start(BytesStart::new("metadata")))?;
            w.get_mut().extend_from_slice(s.metadata.as_bytes());
            w.write_event(Event::End(quick_xml::events::BytesEnd::new("metadata")))?;
            text(w, "memory", &[("unit", "MiB")], &s.memory_mib.to_string())?;
            text(w, "currentMemory", &[("unit", "MiB")], &s.memory_mib.to_string())?;
            text(w, "vcpu", &[("placement", "static")], &s.vcpus.to_string())?;
            let mut os = w.create_element("os");
            if s.firmware == "uefi" {
                os = os.with_attribute(("firmware", "efi"));
            }
            os.write_inner_content(|w| {
                text(
                    w,
                    "type",
                    &[("arch", s.arch.as_str()), ("machine", s.machine.as_str())],
                    "hvm",
                )
            })?;
            w.create_element("features").write_inner_content(|w| {
                empty(w, "acpi", &[])?;
                empty(w, "apic", &[])
            })?;
            if s.domain_type == "kvm" {
                empty(w, "cpu", &[("mode", "host-model")])?;
            }
            empty(w, "clock", &[("offset", "utc")])?;
            text(w, "on_poweroff", &[], "destroy")?;
            text(w, "on_reboot", &[], "restart")?;
            text(w, "on_crash", &[], "destroy")?;
            w.create_element("devices").write_inner_content(|w| {
                for d in &s.disks {
                    disk(w, d)?;
                }
                for n in &s.nics {
                    nic(w, n)?;
                }
                w.create_element("serial")
                    .with_attribute(("type", "pty"))
                    .write_inner_content(|w| {
                        if let Some(log) = &s.serial_log {
                            empty(w, "log", &[("file", log.as_str()), ("append", "on")])?;
                        }
                        empty(w, "target", &[("port", "0")])
                    })?;
                w.create_element("console")
                    .with_attribute(("type", "pty"))
                    .write_inner_content(|w| empty(w, "target", &[("type", "serial"), ("port", "0")]))?;
                w.create_element("channel")
                    .with_attribute(("type", "unix"))
                    .write_inner_content(|w| {
                        empty(w, "target", &[("type", "virtio"), ("name", "org.qemu.guest_agent.0")])
                    })?;
                empty(w, "input", &[("type", "tablet"), ("bus", "usb")])?;
                let mut graphics = vec![
                    ("type", "vnc"),
                    ("port", "-1"),
                    ("autoport", "yes"),
                    ("listen", s.vnc_listen.as_str()),
                ];
                if let Some(p) = &s.vnc_password {
                    graphics.push(("passwd", p.as_str()));
                }
                empty(w, "graphics", &graphics)?;
                w.create_element("video")
                    .write_inner_content(|w| empty(w, "model", &[("type", "vga")]))?;
                empty(w, "memballoon", &[("model", "virtio")])?;
                w.create_element("rng")
                    .with_attribute(("model", "virtio"))
                    .write_inner_content(|w| text(w, "backend", &[("model", "random")], "/dev/urandom"))?;
                Ok(())
            })?;
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

/// A locally administered MAC in QEMU's range (`52:54:00`), random.
pub fn random_mac() -> String {
    let b: [u8; 3] = rand::random();
    format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

/// A random (version 4) UUID.
pub fn random_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DomainSpec {
        DomainSpec {
            name: "web<1>&'\"".into(),
            uuid: random_uuid(),
            domain_type: "qemu".into(),
            arch: "x86_64".into(),
            machine: "pc".into(),
            vcpus: 2,
            memory_mib: 512,
            firmware: "bios".into(),
            description: "</description><evil/>".into(),
            metadata: super::super::xml::metadata_xml("inst", Some((3, "al<ice")), &["t&g".into()]).unwrap(),
            disks: vec![
                DiskSpec {
                    device: "disk".into(),
                    source: Some(("pool'x".into(), "vol\"y.qcow2".into())),
                    format: "qcow2".into(),
                    bus: "virtio".into(),
                    target: "vda".into(),
                    readonly: false,
                    boot: Some(2),
                },
                DiskSpec {
                    device: "cdrom".into(),
                    source: None,
                    format: "raw".into(),
                    bus: "ide".into(),
                    target: "hdc".into(),
                    readonly: true,
                    boot: Some(1),
                },
            ],
            nics: vec![NicSpec {
                kind: "bridge".into(),
                source: "br<0>".into(),
                mac: random_mac(),
                model: "virtio".into(),
            }],
            serial_log: Some("/var/log/x.log".into()),
            vnc_listen: "0.0.0.0".into(),
            vnc_password: Some("pa'ss".into()),
        }
    }

    #[test]
    fn user_text_stays_text_and_devices_read_back() {
        let s = spec();
        let x = domain_xml(&s).unwrap();
        let doc = roxmltree::Document::parse(&x).unwrap();
        let root = doc.root_element();
        let child = |n: &str| root.children().find(|c| c.has_tag_name(n)).unwrap();
        assert_eq!(child("name").text(), Some(s.name.as_str()));
        assert_eq!(child("description").text(), Some(s.description.as_str()));
        assert!(doc.descendants().all(|n| !n.has_tag_name("evil")));
        let src = doc
            .descendants()
            .find(|n| n.has_tag_name("source") && n.has_attribute("pool"))
            .unwrap();
        assert_eq!(src.attribute("volume"), Some("vol\"y.qcow2"));
        let br = doc
            .descendants()
            .find(|n| n.has_tag_name("source") && n.has_attribute("bridge"))
            .unwrap();
        assert_eq!(br.attribute("bridge"), Some("br<0>"));
        let (vnc, _) = crate::virt::console::parse(&x);
        assert_eq!(
            vnc.and_then(|v| v.password).as_deref(),
            Some("pa'ss"),
            "VNC password escaped and kept"
        );
        let parsed = super::super::xml::parse_domain(&x).unwrap();
        assert_eq!(parsed.disks.len(), 2);
        assert!(
            parsed.boot_order.contains(&"1: hdc".to_string()),
            "{:?}",
            parsed.boot_order
        );
        let (owner, tags) = super::super::xml::parse_metadata(
            &doc.descendants()
                .find(|n| n.has_tag_name("vm"))
                .map(|n| x[n.range()].to_string())
                .unwrap(),
        );
        assert_eq!(owner.unwrap().name, "al<ice");
        assert_eq!(tags, vec!["t&g".to_string()]);
    }

    #[test]
    fn uuids_and_macs_have_their_shape() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, random_uuid());
        assert!(random_mac().starts_with("52:54:00:"));
    }
}
