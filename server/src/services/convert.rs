//! Disk formats that arrive but are not kept as they are: VMDK (converted to qcow2 with `qemu-img`) and OVA (a
//! tar of an OVF descriptor and VMDK disks: the OVF gives name, CPUs, memory and disk size, the first disk is
//! converted). The tar and OVF readers are pure functions, tested without files.
use crate::error::{Error, Result, UploadError};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

const BLOCK: u64 = 512;

/// One member of a tar archive: its name, where its bytes start, and how many there are.
#[derive(Debug, Clone, PartialEq)]
pub struct TarMember {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

fn octal(field: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// The regular files of a (ustar or GNU) tar archive, read header by header.
pub fn tar_members(r: &mut (impl Read + Seek), len: u64) -> Result<Vec<TarMember>> {
    let broken = || Error::from(UploadError::WrongFormat { expected: "ova" });
    let mut out = Vec::new();
    let mut pos = 0u64;
    let mut header = [0u8; 512];
    while pos < len && out.len() < 1000 {
        if pos + BLOCK > len {
            return Err(broken());
        }
        r.seek(SeekFrom::Start(pos)).map_err(|e| Error::Internal(e.into()))?;
        r.read_exact(&mut header).map_err(|_| broken())?;
        if header.iter().all(|b| *b == 0) {
            break;
        }
        if &header[257..262] != b"ustar" {
            return Err(broken());
        }
        let name_end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).to_string();
        let size = octal(&header[124..136]).ok_or_else(broken)?;
        let kind = header[156];
        let offset = pos + BLOCK;
        if offset + size > len {
            return Err(broken());
        }
        if kind == b'0' || kind == 0 {
            out.push(TarMember { name, offset, size });
        }
        pos = offset + size.div_ceil(BLOCK) * BLOCK;
    }
    Ok(out)
}

/// What an OVF descriptor says about its virtual machine.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ovf {
    pub name: Option<String>,
    pub vcpus: i64,
    pub memory_mib: i64,
    pub disk_bytes: i64,
}

/// `byte * 2^20` style units as a multiplier of bytes.
fn units(s: Option<&str>) -> i64 {
    let s = s.unwrap_or("byte").replace(' ', "").to_ascii_lowercase();
    match s.as_str() {
        "byte" | "bytes" => 1,
        "kilobytes" | "kb" | "byte*2^10" => 1 << 10,
        "megabytes" | "mb" | "byte*2^20" => 1 << 20,
        "gigabytes" | "gb" | "byte*2^30" => 1 << 30,
        "byte*2^40" => 1 << 40,
        _ => 1,
    }
}

pub fn parse_ovf(xml: &str) -> Result<Ovf> {
    let doc = roxmltree::Document::parse(xml).map_err(|_| Error::from(UploadError::WrongFormat { expected: "ova" }))?;
    let mut ovf = Ovf::default();
    let attr = |n: roxmltree::Node<'_, '_>, name: &str| {
        n.attributes().find(|a| a.name() == name).map(|a| a.value().to_string())
    };
    if let Some(vs) = doc.descendants().find(|n| n.has_tag_name("VirtualSystem")) {
        ovf.name = vs
            .children()
            .find(|n| n.has_tag_name("Name"))
            .and_then(|n| n.text())
            .map(str::to_string)
            .or_else(|| attr(vs, "id"));
    }
    for item in doc.descendants().filter(|n| n.has_tag_name("Item")) {
        let field = |tag: &str| {
            item.children()
                .find(|n| n.tag_name().name() == tag)
                .and_then(|n| n.text())
        };
        let qty: i64 = field("VirtualQuantity")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        match field("ResourceType").map(str::trim) {
            Some("3") => ovf.vcpus = qty,
            Some("4") => {
                let bytes = qty.saturating_mul(units(field("AllocationUnits").or(Some("byte * 2^20"))));
                ovf.memory_mib = bytes >> 20;
            }
            _ => {}
        }
    }
    if let Some(disk) = doc.descendants().find(|n| n.has_tag_name("Disk")) {
        let cap: i64 = attr(disk, "capacity").and_then(|c| c.parse().ok()).unwrap_or(0);
        ovf.disk_bytes = cap.saturating_mul(units(attr(disk, "capacityAllocationUnits").as_deref()));
    }
    ovf.name = ovf.name.filter(|n| super::storage_rules::image_name(n).is_ok());
    Ok(ovf)
}

/// Reads an OVA: its OVF, and the first VMDK copied out next to the staged file (to be converted).
pub fn unpack_ova(ova: &Path) -> Result<(Ovf, PathBuf)> {
    let io = |e: std::io::Error| Error::Internal(e.into());
    let mut f = std::fs::File::open(ova).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let members = tar_members(&mut f, len)?;
    let missing = || Error::from(UploadError::WrongFormat { expected: "ova" });
    let ovf_m = members
        .iter()
        .find(|m| m.name.to_lowercase().ends_with(".ovf"))
        .ok_or_else(missing)?;
    let vmdk_m = members
        .iter()
        .find(|m| m.name.to_lowercase().ends_with(".vmdk"))
        .ok_or_else(missing)?;
    if ovf_m.size > 4 << 20 {
        return Err(missing());
    }
    let mut xml = vec![0u8; ovf_m.size as usize];
    f.seek(SeekFrom::Start(ovf_m.offset)).map_err(io)?;
    f.read_exact(&mut xml).map_err(io)?;
    let ovf = parse_ovf(&String::from_utf8_lossy(&xml))?;
    let out = ova.with_extension("vmdk");
    f.seek(SeekFrom::Start(vmdk_m.offset)).map_err(io)?;
    let mut w = std::fs::File::create(&out).map_err(io)?;
    std::io::copy(&mut (&mut f).take(vmdk_m.size), &mut w).map_err(io)?;
    Ok((ovf, out))
}

/// A VMDK is converted only when it is one self-contained file: a descriptor naming other extents (say
/// `/etc/shadow` or another user's upload) would make `qemu-img` copy those files into the image.
async fn check_self_contained(vmdk: &Path) -> Result<()> {
    let refused = || Error::from(UploadError::WrongFormat { expected: "vmdk" });
    let out = tokio::process::Command::new("qemu-img")
        .args(["info", "--output=json", "-f", "vmdk"])
        .arg(vmdk)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("qemu-img is needed to convert VMDK disks: {e}")))?;
    if !out.status.success() {
        return Err(refused());
    }
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|_| refused())?;
    let data = &info["format-specific"]["data"];
    let create_type = data["create-type"].as_str().unwrap_or("");
    let extents = data["extents"].as_array().cloned().unwrap_or_default();
    let own = vmdk.to_string_lossy();
    let self_contained = matches!(create_type, "monolithicSparse" | "streamOptimized")
        && extents.len() == 1
        && extents[0]["filename"].as_str() == Some(own.as_ref())
        && info["backing-filename"].is_null();
    if self_contained {
        Ok(())
    } else {
        tracing::warn!(
            create_type,
            extents = extents.len(),
            "refused a VMDK that is not one self-contained file"
        );
        Err(refused())
    }
}

/// Whether a qcow2 header names nothing outside the file: no backing file, no external data file. Such an
/// image, kept as a template, would make VMs read files of the host.
pub fn qcow2_self_contained(head: &[u8]) -> bool {
    if head.len() < 104 || &head[..4] != b"QFI\xfb" {
        return false;
    }
    let be64 = |at: usize| u64::from_be_bytes(head[at..at + 8].try_into().unwrap_or([0xff; 8]));
    let version = u32::from_be_bytes(head[4..8].try_into().unwrap_or([0; 4]));
    let backing_offset = be64(8);
    // Version 3 keeps feature bits; bit 2 of the incompatible ones is "external data file".
    let external_data = version >= 3 && be64(72) & (1 << 2) != 0;
    backing_offset == 0 && !external_data
}

/// `qemu-img convert` of a VMDK into qcow2 beside it; the caller removes both files when done.
pub async fn vmdk_to_qcow2(vmdk: &Path) -> Result<PathBuf> {
    check_self_contained(vmdk).await?;
    let out = vmdk.with_extension("qcow2");
    let r = tokio::process::Command::new("qemu-img")
        .args(["convert", "-q", "-f", "vmdk", "-O", "qcow2"])
        .arg(vmdk)
        .arg(&out)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("qemu-img is needed to convert VMDK disks: {e}")))?;
    if !r.status.success() {
        let _ = tokio::fs::remove_file(&out).await;
        tracing::warn!(stderr = %String::from_utf8_lossy(&r.stderr), "qemu-img convert failed");
        return Err(UploadError::WrongFormat { expected: "vmdk" }.into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    #[test]
    fn reads_tar_members() {
        let t = tar(&[("vm.ovf", b"<x/>"), ("vm-disk1.vmdk", &[7u8; 700])]);
        let m = tar_members(&mut std::io::Cursor::new(&t), t.len() as u64).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[1].name.as_str(), m[1].size, m[1].offset),
            ("vm-disk1.vmdk", 700, 1024 + 512)
        );
        let junk = vec![1u8; 2048];
        assert!(tar_members(&mut std::io::Cursor::new(&junk), 2048).is_err());
        let mut cut = t.clone();
        cut.truncate(1200);
        assert!(tar_members(&mut std::io::Cursor::new(&cut), 1200).is_err());
    }

    #[test]
    fn qcow2_headers_naming_other_files_are_refused() {
        let mut h = vec![0u8; 112];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&3u32.to_be_bytes());
        assert!(qcow2_self_contained(&h));
        let mut backed = h.clone();
        backed[8..16].copy_from_slice(&512u64.to_be_bytes());
        assert!(!qcow2_self_contained(&backed));
        let mut external = h.clone();
        external[72..80].copy_from_slice(&4u64.to_be_bytes());
        assert!(!qcow2_self_contained(&external));
        assert!(!qcow2_self_contained(b"QFI"));
    }

    #[test]
    fn reads_what_an_ovf_says() {
        let xml = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
            xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
          <DiskSection><Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="d1"/></DiskSection>
          <VirtualSystem ovf:id="vm1"><Name>Alpine 3.20</Name>
            <VirtualHardwareSection>
              <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
              <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType>
                <rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
            </VirtualHardwareSection></VirtualSystem></Envelope>"#;
        let o = parse_ovf(xml).unwrap();
        assert_eq!(
            o,
            Ovf {
                name: Some("Alpine 3.20".into()),
                vcpus: 2,
                memory_mib: 1024,
                disk_bytes: 8 << 30
            }
        );
        assert!(parse_ovf("<not xml").is_err());
    }
}
