//! Changes to an existing domain's XML that libvirt has no call for (the boot order across devices; a clone's
//! identity and disks): elements found with a real parser, replaced by position, new elements written by the
//! XML writer. Everything else in the document is kept byte for byte.
use super::domain_xml::{self, DiskSpec};
use quick_xml::Writer;
use std::collections::HashMap;
use std::ops::Range;

#[derive(Debug)]
pub struct EditError(pub String);

type R<T> = Result<T, EditError>;

fn parse(xml: &str) -> R<roxmltree::Document<'_>> {
    roxmltree::Document::parse(xml).map_err(|e| EditError(e.to_string()))
}

/// Applies (range, replacement) edits; ranges must not overlap.
fn apply(xml: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0.start));
    let mut out = xml.to_string();
    for (r, text) in edits {
        out.replace_range(r, &text);
    }
    out
}

/// Where a new child goes: just before the element's closing tag (an element written `<x/>` is not expected
/// for disks and interfaces).
fn before_close(xml: &str, n: roxmltree::Node) -> Option<usize> {
    let r = n.range();
    let tag = format!("</{}>", n.tag_name().name());
    xml[r.clone()].ends_with(&tag).then(|| r.end - tag.len())
}

fn element(f: impl FnOnce(&mut Writer<Vec<u8>>) -> std::io::Result<()>) -> R<String> {
    domain_xml::device_xml(f).map_err(|e| EditError(e.to_string()))
}

fn empty(name: &str, attrs: &[(&str, &str)]) -> R<String> {
    element(|w| {
        let mut e = quick_xml::events::BytesStart::new(name);
        for a in attrs {
            e.push_attribute(*a);
        }
        w.write_event(quick_xml::events::Event::Empty(e))?;
        Ok(())
    })
}

fn text_el(name: &str, t: &str) -> R<String> {
    element(|w| {
        w.create_element(name)
            .write_text_content(quick_xml::events::BytesText::new(t))?;
        Ok(())
    })
}

/// The key of a bootable device: a disk's target, an interface's MAC.
fn device_key(n: roxmltree::Node) -> Option<String> {
    let child = |name: &str| n.children().find(|c| c.has_tag_name(name));
    match n.tag_name().name() {
        "disk" => child("target").and_then(|t| t.attribute("dev")).map(String::from),
        "interface" => child("mac")
            .and_then(|m| m.attribute("address"))
            .map(|m| m.to_ascii_lowercase()),
        _ => None,
    }
}

/// Sets the boot order to `order` (disk targets and NIC MACs): every other `<boot>` goes, per-device ones
/// are written. Fails naming a key that is no device of the domain.
pub fn set_boot_order(xml: &str, order: &[String]) -> R<String> {
    let doc = parse(xml)?;
    let mut edits = Vec::new();
    for b in doc.descendants().filter(|n| n.has_tag_name("boot")) {
        edits.push((b.range(), String::new()));
    }
    let devices: HashMap<String, roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("disk") || n.has_tag_name("interface"))
        .filter_map(|n| device_key(n).map(|k| (k, n)))
        .collect();
    for (i, key) in order.iter().enumerate() {
        let n = devices
            .get(&key.to_ascii_lowercase())
            .ok_or_else(|| EditError(format!("no device {key}")))?;
        let at = before_close(xml, *n).ok_or_else(|| EditError(format!("cannot edit {key}")))?;
        edits.push((at..at, empty("boot", &[("order", &(i + 1).to_string())])?));
    }
    Ok(apply(xml, edits))
}

/// What a clone changes.
pub struct CloneEdits<'a> {
    pub name: &'a str,
    pub uuid: &'a str,
    /// New MAC for each old one (lower case).
    pub macs: &'a HashMap<String, String>,
    /// New disk element for each target that changes (its boot order is carried over).
    pub disks: &'a HashMap<String, DiskSpec>,
    pub serial_log: &'a str,
}

/// The XML of a clone: new name, UUID, MACs, disks and serial log; no NVRAM path (a new one is made); every
/// other device and setting as the source had it.
pub fn clone_xml(xml: &str, c: &CloneEdits) -> R<String> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let mut edits = Vec::new();
    for n in root.children().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "name" => edits.push((n.range(), text_el("name", c.name)?)),
            "uuid" => edits.push((n.range(), text_el("uuid", c.uuid)?)),
            _ => {}
        }
    }
    for n in doc.descendants().filter(|n| n.has_tag_name("nvram")) {
        edits.push((n.range(), String::new()));
    }
    for n in doc.descendants().filter(|n| n.has_tag_name("mac")) {
        let old = n.attribute("address").unwrap_or("").to_ascii_lowercase();
        if let Some(new) = c.macs.get(&old) {
            edits.push((n.range(), empty("mac", &[("address", new)])?));
        }
    }
    for n in doc
        .descendants()
        .filter(|n| n.has_tag_name("log") && n.parent().is_some_and(|p| p.has_tag_name("serial")))
    {
        edits.push((n.range(), empty("log", &[("file", c.serial_log), ("append", "on")])?));
    }
    for n in doc.descendants().filter(|n| n.has_tag_name("disk")) {
        let Some(target) = device_key(n) else { continue };
        if let Some(spec) = c.disks.get(&target) {
            let boot = n
                .children()
                .find(|b| b.has_tag_name("boot"))
                .and_then(|b| b.attribute("order"))
                .and_then(|o| o.parse().ok());
            let spec = DiskSpec { boot, ..spec.clone() };
            edits.push((n.range(), element(|w| domain_xml::disk(w, &spec))?));
        }
    }
    Ok(apply(xml, edits))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<domain type='qemu'><name>a</name><uuid>u-1</uuid><os><type>hvm</type><boot dev='hd'/>\
        <nvram>/var/lib/x.fd</nvram></os><devices>\
        <disk type='file' device='disk'><source file='/p/a.qcow2'/><target dev='vda' bus='virtio'/></disk>\
        <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>\
        <interface type='network'><mac address='52:54:00:AA:BB:CC'/><source network='default'/></interface>\
        <serial type='pty'><log file='/old.log' append='on'/><target port='0'/></serial></devices></domain>";

    #[test]
    fn boot_order_moves_to_the_devices_named() {
        let out = set_boot_order(XML, &["hdc".into(), "52:54:00:aa:bb:cc".into(), "vda".into()]).unwrap();
        let d = super::super::xml::parse_domain(&out).unwrap();
        assert_eq!(d.boot_order, vec!["3: vda", "1: hdc", "2: 52:54:00:AA:BB:CC"]);
        assert!(
            out.contains("<source network='default'/><boot order=\"2\"/></interface>"),
            "{out}"
        );
        assert!(!out.contains("<boot dev='hd'/>"));
        assert!(set_boot_order(XML, &["vdz".into()]).is_err());
    }

    #[test]
    fn a_clone_gets_a_new_identity_and_disks() {
        let macs = HashMap::from([("52:54:00:aa:bb:cc".to_string(), "52:54:00:01:02:03".to_string())]);
        let disks = HashMap::from([(
            "vda".to_string(),
            DiskSpec {
                device: "disk".into(),
                source: Some(("pool".into(), "b<&>.qcow2".into())),
                format: "qcow2".into(),
                bus: "virtio".into(),
                target: "vda".into(),
                readonly: false,
                boot: None,
            },
        )]);
        let out = clone_xml(
            XML,
            &CloneEdits {
                name: "b&c",
                uuid: "u-2",
                macs: &macs,
                disks: &disks,
                serial_log: "/new.log",
            },
        )
        .unwrap();
        let doc = roxmltree::Document::parse(&out).unwrap();
        let text = |n: &str| {
            doc.descendants()
                .find(|x| x.has_tag_name(n))
                .and_then(|x| x.text())
                .map(String::from)
        };
        assert_eq!(text("name").as_deref(), Some("b&c"));
        assert_eq!(text("uuid").as_deref(), Some("u-2"));
        assert!(text("nvram").is_none());
        assert!(out.contains("52:54:00:01:02:03") && !out.to_lowercase().contains("aa:bb:cc"));
        let d = super::super::xml::parse_domain(&out).unwrap();
        assert_eq!(d.disks[0].path.as_deref(), Some("b<&>.qcow2"));
        assert_eq!(d.disks[1].device, "cdrom");
        assert!(out.contains("/new.log"));
    }
}
