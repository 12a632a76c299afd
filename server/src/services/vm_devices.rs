//! A VM's devices: attach a disk (existing volume or a new one), detach, grow; change the CD-ROM; add, remove
//! and unplug NICs; set the boot order. Running VMs change live and in their configuration; disk space is
//! reserved against the owner's quota before libvirt is asked and given back if libvirt refuses.
use super::vms::{detail, visible};
use super::{audit, pools, quota};
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, quotas::Usage, vms::VmRow};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::{domain, domain_xml, pool_xml, storage, xml, xml_edit};
use app::api::{AddNic, AttachDisk, BootOrder, NetworkRef, ResizeDisk, SetCdrom, UpdateNic, VmDetail};
use serde_json::{json, Value};
use virt::sys;

const GIB: u64 = 1 << 30;

/// One device change at a time per VM: each reads the configuration, changes it and settles the quota, and
/// two at once would lose one change or count it twice.
static LOCKS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Weak<tokio::sync::Mutex<()>>>>,
> = std::sync::LazyLock::new(Default::default);

async fn lock(uuid: &str) -> tokio::sync::OwnedMutexGuard<()> {
    let m = {
        let mut map = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        match map.get(uuid).and_then(std::sync::Weak::upgrade) {
            Some(m) => m,
            None => {
                let m = std::sync::Arc::new(tokio::sync::Mutex::new(()));
                map.insert(uuid.to_string(), std::sync::Arc::downgrade(&m));
                m
            }
        }
    };
    m.lock_owned().await
}

/// Adds `gib` (negative: gives back) to the VM's counted disk and its owner's usage, in one transaction.
async fn count_disk(state: &AppState, uuid: &str, gib: i64) -> Result<()> {
    if gib == 0 {
        return Ok(());
    }
    let mut tx = db::begin_write(&state.db).await?;
    let row = db::vms::by_uuid(&mut tx, uuid).await?.ok_or(Error::NotFound("vm"))?;
    if let Some(owner) = row.owner_id {
        let d = Usage {
            disk_gib: gib,
            ..Default::default()
        };
        if gib > 0 {
            quota::reserve(&mut tx, owner, d).await?;
        } else {
            db::quotas::subtract(
                &mut tx,
                owner,
                Usage {
                    disk_gib: -gib,
                    ..Default::default()
                },
            )
            .await?;
        }
        let new = (row.q_disk_gib + gib).max(0);
        db::vms::set_owner(&mut tx, uuid, Some(owner), (row.q_vcpus, row.q_memory_mib, new)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs a device change with the disk quota moved by `gib` first, and moved back if the change fails.
async fn with_disk_quota<T>(
    state: &AppState,
    uuid: &str,
    gib: i64,
    change: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    count_disk(state, uuid, gib).await?;
    match change.await {
        Ok(v) => Ok(v),
        Err(e) => {
            if let Err(back) = count_disk(state, uuid, -gib).await {
                tracing::error!(error = ?back, %uuid, "could not give back a disk reservation");
            }
            Err(e)
        }
    }
}

/// The affect flags for a device change: the configuration, and the live VM when it runs (unless asked not to).
fn flags(dom: &virt::domain::Domain, config_only: bool) -> std::result::Result<u32, virt::error::Error> {
    let mut f = sys::VIR_DOMAIN_AFFECT_CONFIG;
    if dom.is_active()? && !config_only {
        f |= sys::VIR_DOMAIN_AFFECT_LIVE;
    }
    Ok(f)
}

/// The next free target name for a bus (`vdb`, `sdc`…).
fn next_target(used: &[String], bus: &str) -> Option<String> {
    let prefix = match bus {
        "virtio" => "vd",
        "ide" => "hd",
        _ => "sd",
    };
    // `z` is kept for the cloud-init seed.
    ('a'..='y').map(|c| format!("{prefix}{c}")).find(|t| !used.contains(t))
}

async fn finish(state: &AppState, caller: &Caller, vm: &VmRow, action: &str, details: Value) -> Result<VmDetail> {
    audit::record_alone(
        state,
        caller,
        action,
        Some(&format!("vm:{}", vm.uuid)),
        audit::Outcome::Ok,
        &details,
    )
    .await?;
    let mut d = detail(state, vm).await?;
    d.vm = caller.require()?.redact(d.vm);
    Ok(d)
}

/// The VM if the principal may edit it, with the VM's device lock held (the row is read under the lock).
async fn editable(state: &AppState, p: &Principal, uuid: &str) -> Result<(VmRow, tokio::sync::OwnedMutexGuard<()>)> {
    visible(state, p, uuid, Action::VmEdit).await?;
    let guard = lock(uuid).await;
    Ok((visible(state, p, uuid, Action::VmEdit).await?, guard))
}

/// Attaches an existing volume (those who manage storage) or a new empty qcow2 volume of `size_gib`.
pub async fn attach_disk(state: &AppState, caller: &Caller, uuid: &str, a: AttachDisk) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    let bus = a.bus.clone().unwrap_or_else(|| "virtio".into());
    if !matches!(bus.as_str(), "virtio" | "scsi" | "sata" | "ide") {
        return Err(Error::invalid("bus", "unknown"));
    }
    let (pool_uuid, volume, size_gib, new) = match (&a.volume, &a.new) {
        (Some(v), None) => {
            authorize(p, Action::StorageManage, Resource::System)?;
            (v.pool.clone(), v.name.clone(), None, false)
        }
        (None, Some(n)) => {
            if !(1..=65536).contains(&n.size_gib) {
                return Err(Error::Invalid {
                    field: "new.size_gib",
                    reason: "out_of_range",
                    details: json!({ "min": 1, "max": 65536 }),
                });
            }
            let pool = match &n.pool {
                Some(pool) => {
                    authorize(p, Action::StorageRead, Resource::System)?;
                    pool.clone()
                }
                None => first_disk_pool(state, &vm).await?,
            };
            let name = format!(
                "{}-disk-{}.qcow2",
                vm.name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"),
                &domain_xml::random_uuid()[..8]
            );
            (pool, name, Some(n.size_gib), true)
        }
        _ => return Err(Error::invalid("volume", "one_of_volume_or_new")),
    };
    let (host, pf) = pools::locate(state, &pool_uuid).await?;
    if host.id != vm.host_id {
        return Err(Error::invalid("pool", "not_on_host"));
    }
    // An existing volume counts with its capacity; it must not be another domain's disk.
    let (pu, vol) = (pool_uuid.clone(), volume.clone());
    let existing_gib = match size_gib {
        Some(_) => 0,
        None => {
            let (facts, users) = state
                .virt
                .call(vm.host_id, &vm.host_name, move |c| {
                    let f = storage::vol_facts(&storage::pool(c, &pu)?.lookup_storage_vol_by_name(&vol)?)?;
                    Ok((f, storage::disk_users(c)?))
                })
                .await?;
            if users.contains_key(&facts.path) || users.contains_key(&format!("{}/{}", pf.name, facts.name)) {
                return Err(Error::InUse { by: "vm".into() });
            }
            facts.capacity.div_ceil(GIB) as i64
        }
    };
    let gib = size_gib.unwrap_or(existing_gib);
    let (id, pool_name, config_only) = (vm.uuid.clone(), pf.name.clone(), a.config_only);
    let (pu, vol, b) = (pool_uuid.clone(), volume.clone(), bus.clone());
    let target = with_disk_quota(state, uuid, gib, async {
        state
            .virt
            .call(vm.host_id, &vm.host_name, move |c| {
                let dom = domain::lookup(c, &id)?;
                let parsed = xml::parse_domain(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?).unwrap_or_default();
                let used: Vec<String> = parsed.disks.iter().map(|d| d.target.clone()).collect();
                let Some(target) = next_target(&used, &b) else {
                    return Ok(Err(Error::invalid("bus", "no_free_target")));
                };
                let mut made = None;
                if let Some(g) = size_gib {
                    let x = match pool_xml::volume_xml(&vol, "qcow2", g as u64 * GIB, None) {
                        Ok(x) => x,
                        Err(e) => return Ok(Err(Error::Internal(e.into()))),
                    };
                    made = Some(virt::storage_vol::StorageVol::create_xml(
                        &storage::pool(c, &pu)?,
                        &x,
                        0,
                    )?);
                }
                let format = storage::pool(c, &pu)?
                    .lookup_storage_vol_by_name(&vol)
                    .and_then(|v| storage::vol_facts(&v))
                    .map(|f| f.format)
                    .unwrap_or_else(|_| "raw".into());
                let spec = domain_xml::DiskSpec {
                    device: "disk".into(),
                    source: Some((pool_name.clone(), vol.clone())),
                    format: if format == "qcow2" {
                        "qcow2".into()
                    } else {
                        "raw".into()
                    },
                    bus: b.clone(),
                    target: target.clone(),
                    readonly: false,
                    boot: None,
                };
                let x = domain_xml::device_xml(|w| domain_xml::disk(w, &spec))
                    .map_err(|_| virt::error::Error::last_error())?;
                let r = dom.attach_device_flags(&x, flags(&dom, config_only)?);
                if let Err(e) = r {
                    if let Some(v) = made {
                        let _ = v.delete(0);
                    }
                    return Err(e);
                }
                Ok(Ok(target))
            })
            .await?
    })
    .await?;
    let details =
        json!({ "target": target, "volume": volume, "pool": pf.name, "new": new, "size_gib": gib, "bus": bus });
    finish(state, caller, &vm, "vm.disk_attach", details).await
}

/// The pool of the VM's first disk that names one (where new disks go by default).
async fn first_disk_pool(state: &AppState, vm: &VmRow) -> Result<String> {
    let id = vm.uuid.clone();
    state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(0)?).unwrap_or_default();
            for d in parsed.disks.iter().filter(|d| d.device == "disk") {
                if let Some(v) = d
                    .path
                    .as_deref()
                    .and_then(|p| domain::volume_of(c, p, d.pool.as_deref()))
                {
                    return Ok(Some(v.lookup_storage_pool()?.uuid_string()?));
                }
            }
            Ok(None)
        })
        .await?
        .ok_or(Error::invalid("new.pool", "required"))
}

/// Detaches a disk (live and from the configuration); with `delete_volume`, its volume is deleted too and the
/// owner's quota gets its size back.
pub async fn detach_disk(
    state: &AppState,
    caller: &Caller,
    uuid: &str,
    target: &str,
    delete_volume: bool,
) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    let seed = db::vm_cloud_init::get(&state.db, uuid).await?.map(|s| s.seed_volume);
    // The library's copies (an ISO in the drive, a template under an overlay) are never a VM's to delete.
    let copies: Vec<String> = db::images::copies(&state.db)
        .await?
        .into_iter()
        .filter(|c| c.host_id == vm.host_id)
        .flat_map(|c| [c.path, c.volume])
        .collect();
    let (id, t) = (vm.uuid.clone(), target.to_string());
    let (gib, path) = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let text = dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?;
            let doc = roxmltree::Document::parse(&text).map_err(|_| virt::error::Error::last_error())?;
            let Some(disk) = doc.descendants().filter(|n| n.has_tag_name("disk")).find(|n| {
                n.children()
                    .any(|c| c.has_tag_name("target") && c.attribute("dev") == Some(t.as_str()))
            }) else {
                return Ok(Err(Error::NotFound("disk")));
            };
            let src = disk.children().find(|c| c.has_tag_name("source"));
            let (path, pool) = (
                src.and_then(|s| s.attribute("file").or(s.attribute("dev")).or(s.attribute("volume")))
                    .map(String::from),
                src.and_then(|s| s.attribute("pool")).map(String::from),
            );
            let vol = path.as_deref().and_then(|p| domain::volume_of(c, p, pool.as_deref()));
            let vol_path = vol.as_ref().and_then(|v| v.path().ok());
            // Only a VM's own data disk counts against its quota and may be deleted with it.
            let data_disk = disk.attribute("device") == Some("disk")
                && !disk.children().any(|c| c.has_tag_name("readonly"))
                && path.is_some()
                && path != seed;
            if delete_volume {
                let shared = [&path, &vol_path].into_iter().flatten().any(|p| copies.contains(p));
                let users = storage::disk_users(c)?;
                let others = [
                    vol_path.clone(),
                    pool.as_ref().zip(path.as_ref()).map(|(p, v)| format!("{p}/{v}")),
                ]
                .into_iter()
                .flatten()
                .filter_map(|k| users.get(&k))
                .flatten()
                .any(|(u, _)| *u != id);
                if !data_disk || shared || others || vol.is_none() {
                    return Ok(Err(Error::invalid("delete_volume", "not_a_data_disk")));
                }
            }
            let gib = vol
                .as_ref()
                .filter(|_| data_disk)
                .and_then(|v| v.info().ok())
                .map(|i| i.capacity.div_ceil(GIB) as i64)
                .unwrap_or(0);
            dom.detach_device_flags(&text[disk.range()], flags(&dom, false)?)?;
            if delete_volume {
                if let Some(v) = &vol {
                    v.delete(0)?;
                }
            }
            Ok(Ok((gib, path)))
        })
        .await??;
    // Never more than the VM counts.
    let gib = gib.min(vm.q_disk_gib);
    count_disk(state, uuid, -gib).await?;
    let details = json!({ "target": target, "volume": path, "deleted": delete_volume });
    finish(state, caller, &vm, "vm.disk_detach", details).await
}

/// Grows a disk: live through the block layer when the VM runs, else by resizing its volume.
pub async fn resize_disk(
    state: &AppState,
    caller: &Caller,
    uuid: &str,
    target: &str,
    r: ResizeDisk,
) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    if !(1..=65536).contains(&r.size_gib) {
        return Err(Error::invalid("size_gib", "out_of_range"));
    }
    let (id, t, want) = (vm.uuid.clone(), target.to_string(), r.size_gib as u64 * GIB);
    let current = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(0)?).unwrap_or_default();
            let Some(d) = parsed.disks.iter().find(|d| d.target == t && d.device == "disk") else {
                return Ok(None);
            };
            Ok(d.path
                .as_deref()
                .and_then(|p| domain::volume_of(c, p, d.pool.as_deref()))
                .and_then(|v| v.info().ok())
                .map(|i| i.capacity))
        })
        .await?
        .ok_or(Error::NotFound("disk"))?;
    if want <= current {
        return Err(Error::Invalid {
            field: "size_gib",
            reason: "not_larger",
            details: json!({ "current_bytes": current }),
        });
    }
    let grow = r.size_gib - current.div_ceil(GIB) as i64;
    let (id, t) = (vm.uuid.clone(), target.to_string());
    let live = with_disk_quota(state, uuid, grow.max(0), async {
        state
            .virt
            .call(vm.host_id, &vm.host_name, move |c| {
                let dom = domain::lookup(c, &id)?;
                if dom.is_active()? {
                    dom.block_resize(&t, want, sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES)?;
                    return Ok(true);
                }
                let parsed = xml::parse_domain(&dom.xml_desc(0)?).unwrap_or_default();
                let d = parsed.disks.iter().find(|d| d.target == t).cloned().unwrap_or_default();
                match d
                    .path
                    .as_deref()
                    .and_then(|p| domain::volume_of(c, p, d.pool.as_deref()))
                {
                    Some(v) => v.resize(want, 0)?,
                    None => return Err(virt::error::Error::last_error()),
                }
                Ok(false)
            })
            .await
    })
    .await?;
    let details = json!({ "target": target, "size_gib": r.size_gib, "live": live });
    finish(state, caller, &vm, "vm.disk_resize", details).await
}

/// Puts an ISO of the library in the CD-ROM drive, or ejects it (live with force, and in the configuration).
pub async fn set_cdrom(state: &AppState, caller: &Caller, uuid: &str, s: SetCdrom) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    let media = match s.iso {
        Some(id) => {
            let img = super::images::row(state, p, id).await?;
            if img.kind != "iso" {
                return Err(Error::invalid("iso", "not_an_iso"));
            }
            let copy = db::images::copies(&state.db)
                .await?
                .into_iter()
                .find(|c| c.image_id == id && c.host_id == vm.host_id)
                .ok_or(Error::invalid("iso", "not_on_host"))?;
            Some((copy.pool_name, copy.volume, img.name))
        }
        None => None,
    };
    let (id, want, m) = (vm.uuid.clone(), s.target.clone(), media.clone());
    let target = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?).unwrap_or_default();
            let drive = parsed
                .disks
                .iter()
                .filter(|d| d.device == "cdrom")
                .find(|d| want.as_deref().is_none_or(|w| w == d.target));
            let Some(drive) = drive else {
                return Ok(Err(Error::NotFound("cdrom")));
            };
            let spec = domain_xml::DiskSpec {
                device: "cdrom".into(),
                source: m.map(|(pool, vol, _)| (pool, vol)),
                format: "raw".into(),
                bus: if drive.target.starts_with("hd") {
                    "ide".into()
                } else {
                    "sata".into()
                },
                target: drive.target.clone(),
                readonly: true,
                boot: None,
            };
            let x =
                domain_xml::device_xml(|w| domain_xml::disk(w, &spec)).map_err(|_| virt::error::Error::last_error())?;
            dom.update_device_flags(&x, sys::VIR_DOMAIN_AFFECT_CONFIG)?;
            if dom.is_active()? {
                dom.update_device_flags(&x, sys::VIR_DOMAIN_AFFECT_LIVE | sys::VIR_DOMAIN_DEVICE_MODIFY_FORCE)?;
            }
            Ok(Ok(drive.target.clone()))
        })
        .await??;
    let details = json!({ "target": target, "iso": media.map(|m| m.2) });
    finish(state, caller, &vm, "vm.cdrom", details).await
}

fn mac(m: &str) -> Result<String> {
    let parts: Vec<&str> = m.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    // A multicast address (lowest bit of the first octet) cannot be a NIC's.
    let unicast = u8::from_str_radix(parts.first().copied().unwrap_or("01"), 16).is_ok_and(|b| b & 1 == 0);
    if ok && unicast {
        Ok(m.to_ascii_lowercase())
    } else {
        Err(Error::invalid("mac", "bad_format"))
    }
}

/// Plugs a new NIC into a libvirt network or a bridge of the VM's host.
pub async fn add_nic(state: &AppState, caller: &Caller, uuid: &str, n: AddNic) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    let model = n.model.clone().unwrap_or_else(|| "virtio".into());
    if !matches!(model.as_str(), "virtio" | "e1000" | "rtl8139") {
        return Err(Error::invalid("model", "unknown"));
    }
    let address = match &n.mac {
        Some(m) => mac(m)?,
        None => domain_xml::random_mac(),
    };
    let (kind, source) = match &n.network {
        NetworkRef::Network(s) => ("network", s.clone()),
        NetworkRef::Bridge(s) => ("bridge", s.clone()),
    };
    super::storage_rules::pool_name(&source).map_err(|_| Error::invalid("network", "bad_format"))?;
    let spec = domain_xml::NicSpec {
        kind: kind.into(),
        source: source.clone(),
        mac: address.clone(),
        model,
    };
    let x = domain_xml::device_xml(|w| domain_xml::nic(w, &spec)).map_err(|e| Error::Internal(e.into()))?;
    let (id, k, s, a) = (vm.uuid.clone(), kind, source.clone(), address.clone());
    state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let exists = match k {
                "network" => c.lookup_network_by_name(&s).is_ok(),
                _ => !domain::bridge_missing(c, &s),
            };
            if !exists {
                return Ok(Err(Error::invalid("network", "not_on_host")));
            }
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?).unwrap_or_default();
            if parsed
                .nics
                .iter()
                .any(|n| n.mac.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(&a)))
            {
                return Ok(Err(Error::Duplicate { what: "mac" }));
            }
            dom.attach_device_flags(&x, flags(&dom, false)?)?;
            Ok(Ok(()))
        })
        .await??;
    let details = json!({ "mac": address, kind: source });
    finish(state, caller, &vm, "vm.nic_add", details).await
}

/// The NIC's element in the configuration (by MAC), for detaching or updating it.
fn nic_element(text: &str, mac: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(text).ok()?;
    doc.descendants()
        .filter(|n| n.has_tag_name("interface"))
        .find(|n| {
            n.children()
                .any(|c| c.has_tag_name("mac") && c.attribute("address").is_some_and(|a| a.eq_ignore_ascii_case(mac)))
        })
        .map(|n| text[n.range()].to_string())
}

pub async fn remove_nic(state: &AppState, caller: &Caller, uuid: &str, address: &str) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    let (id, m) = (vm.uuid.clone(), mac(address)?);
    state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let Some(el) = nic_element(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?, &m) else {
                return Ok(Err(Error::NotFound("nic")));
            };
            dom.detach_device_flags(&el, flags(&dom, false)?)?;
            Ok(Ok(()))
        })
        .await??;
    finish(state, caller, &vm, "vm.nic_remove", json!({ "mac": address })).await
}

/// Sets the NIC's link up or down (live and in the configuration): the cable plugged in or pulled.
pub async fn update_nic(
    state: &AppState,
    caller: &Caller,
    uuid: &str,
    address: &str,
    u: UpdateNic,
) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    let (id, m) = (vm.uuid.clone(), mac(address)?);
    let link = if u.link_up { "up" } else { "down" };
    state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let Some(el) = nic_element(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?, &m) else {
                return Ok(Err(Error::NotFound("nic")));
            };
            // The element as it is, with its `<link>` replaced.
            let doc = roxmltree::Document::parse(&el).map_err(|_| virt::error::Error::last_error())?;
            let mut edited = el.clone();
            if let Some(l) = doc.descendants().find(|n| n.has_tag_name("link")) {
                edited.replace_range(l.range(), "");
            }
            let close = edited.rfind("</interface>").unwrap_or(edited.len());
            edited.insert_str(close, &format!("<link state='{link}'/>"));
            dom.update_device_flags(&edited, flags(&dom, false)?)?;
            Ok(Ok(()))
        })
        .await??;
    finish(
        state,
        caller,
        &vm,
        "vm.nic_link",
        json!({ "mac": address, "link": link }),
    )
    .await
}

/// Sets which disks and NICs boot, in order (from the next start).
pub async fn set_boot_order(state: &AppState, caller: &Caller, uuid: &str, b: BootOrder) -> Result<VmDetail> {
    let p = caller.require()?;
    let (vm, _lock) = editable(state, p, uuid).await?;
    if b.order.is_empty() || b.order.len() > 16 {
        return Err(Error::invalid("order", "out_of_range"));
    }
    let (id, order) = (vm.uuid.clone(), b.order.clone());
    state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let text = dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE)?;
            let edited = match xml_edit::set_boot_order(&text, &order) {
                Ok(x) => x,
                Err(_) => return Ok(Err(Error::invalid("order", "unknown_device"))),
            };
            c.define_domain_xml(&edited)?;
            Ok(Ok(()))
        })
        .await??;
    finish(state, caller, &vm, "vm.boot_order", json!({ "order": b.order })).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_macs() {
        assert_eq!(
            next_target(&["vda".into(), "vdz".into()], "virtio").as_deref(),
            Some("vdb")
        );
        assert_eq!(next_target(&["hdc".into()], "ide").as_deref(), Some("hda"));
        assert!(mac("52:54:00:AA:bb:01").is_ok());
        assert!(mac("01:00:5e:00:00:01").is_err(), "multicast");
        assert!(mac("52:54:00:aa:bb").is_err());
    }
}
