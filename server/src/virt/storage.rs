//! Storage pools and volumes through libvirt: facts, changes, and byte streams into and out of volumes. The
//! plain functions block (call them inside `Virt::call` or on a blocking thread).
use super::pool_xml::{self, PoolXml};
use super::{from_libvirt, Virt};
use crate::error::{Error, Result};
use crate::services::tasks::Meter;
use std::collections::HashMap;
use std::io::Read;
use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;
use virt::sys;

type VResult<T> = std::result::Result<T, virt::error::Error>;

/// Bytes moved per libvirt stream call.
pub const CHUNK: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct PoolFacts {
    pub uuid: String,
    pub name: String,
    pub state: &'static str,
    pub autostart: bool,
    pub persistent: bool,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
    pub volume_count: Option<u32>,
    pub xml: PoolXml,
    pub raw_xml: String,
}

fn state_name(s: u32) -> &'static str {
    match s {
        sys::VIR_STORAGE_POOL_INACTIVE => "inactive",
        sys::VIR_STORAGE_POOL_BUILDING => "building",
        sys::VIR_STORAGE_POOL_RUNNING => "running",
        sys::VIR_STORAGE_POOL_DEGRADED => "degraded",
        _ => "inaccessible",
    }
}

pub fn pool_facts(p: &StoragePool) -> VResult<PoolFacts> {
    let info = p.info()?;
    let state = state_name(info.state);
    let raw_xml = p.xml_desc(0)?;
    Ok(PoolFacts {
        uuid: p.uuid_string()?,
        name: p.name()?,
        state,
        autostart: p.autostart().unwrap_or(false),
        persistent: p.is_persistent().unwrap_or(false),
        capacity: info.capacity,
        allocation: info.allocation,
        available: info.available,
        volume_count: if state == "running" {
            p.num_of_volumes().ok()
        } else {
            None
        },
        xml: pool_xml::parse_pool(&raw_xml),
        raw_xml,
    })
}

pub fn list_pools(c: &Connect) -> VResult<Vec<PoolFacts>> {
    c.list_all_storage_pools(0)?.iter().map(pool_facts).collect()
}

pub fn pool(c: &Connect, uuid: &str) -> VResult<StoragePool> {
    c.lookup_storage_pool_by_uuid_string(uuid)
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolFacts {
    pub name: String,
    pub path: String,
    pub format: String,
    pub capacity: u64,
    pub allocation: u64,
    pub backing: Option<String>,
}

pub fn vol_facts(v: &StorageVol) -> VResult<VolFacts> {
    let info = v.info()?;
    let x = pool_xml::parse_volume(&v.xml_desc(0)?);
    Ok(VolFacts {
        name: v.name()?,
        path: v.path()?,
        format: x.format,
        capacity: info.capacity,
        allocation: info.allocation,
        backing: x.backing,
    })
}

pub fn list_volumes(p: &StoragePool) -> VResult<Vec<VolFacts>> {
    p.list_all_volumes(0)?.iter().map(vol_facts).collect()
}

/// Which domains use which storage: every disk source (and backing store) of every domain on the host, by
/// path (or `pool/volume` for disks named by pool), with the domain's UUID and name.
pub fn disk_users(c: &Connect) -> VResult<HashMap<String, Vec<(String, String)>>> {
    let mut users: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for d in c.list_all_domains(0)? {
        let (Ok(uuid), Ok(name), Ok(xml)) = (d.uuid_string(), d.name(), d.xml_desc(0)) else {
            continue;
        };
        let Ok(doc) = roxmltree::Document::parse(&xml) else {
            continue;
        };
        for disk in doc.descendants().filter(|n| n.has_tag_name("disk")) {
            for src in disk.descendants().filter(|n| n.has_tag_name("source")) {
                let key = match (src.attribute("file").or(src.attribute("dev")), src.attribute("pool")) {
                    (Some(p), _) => p.to_string(),
                    (None, Some(pool)) => format!("{pool}/{}", src.attribute("volume").unwrap_or("")),
                    _ => continue,
                };
                let entry = users.entry(key).or_default();
                if !entry.iter().any(|(u, _)| u == &uuid) {
                    entry.push((uuid.clone(), name.clone()));
                }
            }
        }
    }
    Ok(users)
}

/// Writes `len` bytes of `file` into the volume through a libvirt stream (so a remote host's pool gets them
/// over the libvirt connection), reporting progress and stopping when cancelled.
pub fn upload_file(c: &Connect, vol: &StorageVol, file: &mut std::fs::File, len: u64, meter: &Meter) -> Result<()> {
    let stream = Stream::new(c, 0).map_err(from_libvirt)?;
    vol.upload(&stream, 0, len, 0).map_err(from_libvirt)?;
    let mut buf = vec![0u8; CHUNK];
    let mut left = len;
    while left > 0 {
        if meter.cancelled() {
            let _ = stream.abort();
            return Err(Error::Cancelled);
        }
        let want = (left as usize).min(CHUNK);
        if let Err(e) = file.read_exact(&mut buf[..want]) {
            let _ = stream.abort();
            return Err(Error::Internal(e.into()));
        }
        if let Err(e) = send_all(&stream, &buf[..want]) {
            let _ = stream.abort();
            return Err(e);
        }
        left -= want as u64;
        meter.add(want as u64);
    }
    stream.finish().map_err(from_libvirt)
}

/// Writes a small in-memory image (a cloud-init seed) into the volume through a libvirt stream.
pub fn upload_bytes(c: &Connect, vol: &StorageVol, data: &[u8]) -> Result<()> {
    let stream = Stream::new(c, 0).map_err(from_libvirt)?;
    vol.upload(&stream, 0, data.len() as u64, 0).map_err(from_libvirt)?;
    for chunk in data.chunks(CHUNK) {
        if let Err(e) = send_all(&stream, chunk) {
            let _ = stream.abort();
            return Err(e);
        }
    }
    stream.finish().map_err(from_libvirt)
}

fn send_all(stream: &Stream, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        let n = stream.send(data).map_err(from_libvirt)?;
        if n <= 0 {
            return Err(Error::Hypervisor("the host stopped taking data".into()));
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// Reads `len` bytes from `offset` of the volume and hands them to `sink` chunk by chunk; `sink` returns false
/// to stop (the reader went away).
pub fn download(
    c: &Connect,
    vol: &StorageVol,
    offset: u64,
    len: u64,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> Result<()> {
    let stream = Stream::new(c, 0).map_err(from_libvirt)?;
    vol.download(&stream, offset, len, 0).map_err(from_libvirt)?;
    let mut got = 0u64;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = match stream.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = stream.abort();
                return Err(from_libvirt(e));
            }
        };
        if n <= 0 {
            break;
        }
        buf.truncate(n as usize);
        got += n as u64;
        if !sink(buf) {
            let _ = stream.abort();
            return Ok(());
        }
        if len > 0 && got >= len {
            break;
        }
    }
    stream.finish().map_err(from_libvirt)
}

/// Streams one volume into another (on the same or another host) without staging the bytes anywhere.
pub fn copy_between(
    src_conn: &Connect,
    src: &StorageVol,
    dst_conn: &Connect,
    dst: &StorageVol,
    len: u64,
    meter: &Meter,
) -> Result<()> {
    let out = Stream::new(dst_conn, 0).map_err(from_libvirt)?;
    dst.upload(&out, 0, len, 0).map_err(from_libvirt)?;
    let mut failure = None;
    let r = download(src_conn, src, 0, len, |chunk| {
        if meter.cancelled() {
            failure = Some(Error::Cancelled);
            return false;
        }
        match send_all(&out, &chunk) {
            Ok(()) => {
                meter.add(chunk.len() as u64);
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    });
    if let Some(e) = failure.or(r.err()) {
        let _ = out.abort();
        return Err(e);
    }
    out.finish().map_err(from_libvirt)
}

/// Deletes a volume a failed task half made; a volume that is not there is fine.
pub async fn delete_volume_if_exists(virt: &Virt, host_id: i64, pool_uuid: &str, volume: &str) -> Result<()> {
    let (pool_uuid, volume) = (pool_uuid.to_string(), volume.to_string());
    let r = virt
        .call(host_id, "", move |c| {
            let p = pool(c, &pool_uuid)?;
            match p.lookup_storage_vol_by_name(&volume) {
                Ok(v) => v.delete(0),
                Err(_) => Ok(()),
            }
        })
        .await;
    match r {
        Err(Error::NotFound(_)) => Ok(()),
        other => other,
    }
}

/// Fails with `no_space` unless the pool has `need` bytes free (after a refresh). Checked before bytes are
/// streamed in: libvirt 11.3's daemon dies when a volume upload hits ENOSPC, so it must never get that far.
pub fn ensure_space(p: &StoragePool, need: u64) -> Result<()> {
    let _ = p.refresh(0);
    let info = p.info().map_err(from_libvirt)?;
    if info.available < need {
        return Err(Error::NoSpace);
    }
    Ok(())
}
