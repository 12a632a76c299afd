//! Cloning a shut-off VM into a new one on the same host: full copies of its disks, or linked clones (the
//! source's disks become a shared read-only base, and both VMs get an overlay on it); a new name, UUID, MACs
//! and, when it has a cloud-init seed, a new seed with a new instance-id. Quota reserved with the task, which
//! rolls back like a creation (`vm_create_run::rollback`).
use super::vm_create_run::{self, note};
use super::vms::visible;
use super::{audit, tasks, vm_create};
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, quotas::Usage};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::{domain, domain_xml, from_libvirt, pool_xml, storage, xml, xml_edit};
use app::api::{CloneVm, VmCloned};
use serde_json::{json, Value};
use std::collections::HashMap;
use virt::storage_vol::StorageVol;
use virt::sys;

const GIB: u64 = 1 << 30;

/// One disk of the source, as the clone task needs it.
fn disk_json(c: &virt::connect::Connect, d: &xml::DiskXml, base: &str) -> Option<Value> {
    let v = domain::volume_of(c, d.path.as_deref()?, d.pool.as_deref())?;
    let f = storage::vol_facts(&v).ok()?;
    let pool = v.lookup_storage_pool().ok()?;
    Some(json!({
        "target": d.target, "boot": d.boot, "bus": d.bus.clone().unwrap_or_else(|| "virtio".into()), "pool_uuid": pool.uuid_string().ok()?, "pool_name": pool.name().ok()?,
        "volume": f.name, "path": f.path, "format": if f.format == "qcow2" { "qcow2" } else { "raw" },
        "capacity": f.capacity, "new_volume": format!("{base}-{}.qcow2", d.target),
    }))
}

pub async fn clone(state: &AppState, caller: &Caller, uuid: &str, r: CloneVm) -> Result<VmCloned> {
    let p = caller.require()?.clone();
    // A clone copies the disks and the seed (with its password hash and keys) and a linked one changes the
    // source's configuration: it takes the right to edit the source, and someone else's VM only for those who
    // assign VMs.
    let vm = visible(state, &p, uuid, Action::VmEdit).await?;
    authorize(&p, Action::VmCreate, Resource::Vm(Some(p.id)))?;
    if vm.owner_id != Some(p.id) {
        authorize(&p, Action::VmAssign, Resource::Vm(None))?;
    }
    vm_create::vm_name(&r.name)?;
    let seed = db::vm_cloud_init::get(&state.db, uuid).await?;
    let new_uuid = domain_xml::random_uuid();
    let base = format!(
        "{}-{}",
        r.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect::<String>(),
        &new_uuid[..8]
    );
    let (id, b, seed_vol) = (
        vm.uuid.clone(),
        base.clone(),
        seed.as_ref().map(|s| s.seed_volume.clone()),
    );
    let (running, parsed, disks, macs) = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?).unwrap_or_default();
            // Every disk must be a pool volume: a disk left as it is would be shared by both VMs.
            let mut disks = Vec::new();
            for d in parsed.disks.iter().filter(|d| d.device == "disk") {
                if seed_vol.is_some() && d.path == seed_vol {
                    continue;
                }
                match disk_json(c, d, &b) {
                    Some(j) => disks.push(j),
                    None => return Ok(Err(d.target.clone())),
                }
            }
            let macs: Vec<String> = parsed.nics.iter().filter_map(|n| n.mac.clone()).collect();
            Ok(Ok((dom.is_active()?, parsed, disks, macs)))
        })
        .await?
        .map_err(|target| {
            Error::InvalidState(format!(
                "the disk {target} is not a volume of a storage pool, so it cannot be copied"
            ))
        })?;
    if running {
        return Err(Error::InvalidState("shut the VM down before cloning it".into()));
    }
    let disk_gib: i64 = disks
        .iter()
        .map(|d| d["capacity"].as_u64().unwrap_or(0).div_ceil(GIB) as i64)
        .sum();
    let reserve = Usage {
        vms: 1,
        vcpus: parsed.max_vcpus,
        memory_mib: parsed.max_memory_mib,
        disk_gib,
    };
    let mac_map: HashMap<String, String> = macs
        .iter()
        .map(|m| (m.to_ascii_lowercase(), domain_xml::random_mac()))
        .collect();
    let seed_json = seed.as_ref().map(|s| -> Result<_> {
        // The network-config names the NIC by its MAC: the clone's NIC has a new one.
        let network_config = super::cloud_init::rewrite_network_config(&s.network_config, &mac_map)?;
        Ok(json!({
            "volume": format!("{base}-seed.img"), "pool_uuid": s.pool_uuid,
            "user_data": s.user_data, "network_config": network_config, "settings": s.settings,
            "instance_id": format!("hangar-{new_uuid}"), "hostname": r.name.to_ascii_lowercase().replace(['_', '.', '+'], "-"),
            "old_target": parsed.disks.iter().find(|d| d.path.as_deref() == Some(s.seed_volume.as_str())).map(|d| d.target.clone()),
        }))
    });
    let seed_json = seed_json.transpose()?;
    let params = json!({
        "uuid": new_uuid, "name": r.name, "host_id": vm.host_id, "owner_id": p.id, "source_uuid": vm.uuid,
        "reserve": { "vms": 1, "vcpus": reserve.vcpus, "memory_mib": reserve.memory_mib, "disk_gib": disk_gib },
        "full": r.full, "start": r.start, "disks": disks, "macs": mac_map, "seed": seed_json, "made": [],
    });
    let target = format!("vm:{new_uuid}");
    let mut tx = db::begin_write(&state.db).await?;
    if db::vm_cloud_init::name_taken(&mut tx, vm.host_id, &r.name).await? {
        return Err(Error::Duplicate { what: "name" });
    }
    super::quota::reserve(&mut tx, p.id, reserve).await?;
    let task = db::tasks::insert(&mut tx, "vm.clone", &target, Some(p.id), true, &params).await?;
    let details = json!({ "name": r.name, "from": vm.name, "from_id": vm.uuid, "full": r.full, "task": task });
    audit::commit(tx, caller, "vm.clone", &target, &details).await?;
    tasks::spawn(state, task);
    Ok(VmCloned {
        vm_id: new_uuid,
        task: tasks::get(state, caller, task).await?,
    })
}

pub async fn run(ctx: &tasks::Ctx) -> Result<Value> {
    let mut p = ctx.params.clone();
    let host = super::hosts::row(&ctx.state, p["host_id"].as_i64().unwrap_or(0)).await?;
    ctx.state
        .virt
        .wait_online(host.id, std::time::Duration::from_secs(30))
        .await;
    let conn = ctx.state.virt.connection(host.id, &host.name)?;
    let uuid = p["uuid"].as_str().unwrap_or_default().to_string();
    let source = p["source_uuid"].as_str().unwrap_or_default().to_string();
    let full = p["full"].as_bool().unwrap_or(false);
    let disks: Vec<Value> = p["disks"].as_array().cloned().unwrap_or_default();
    let total: u64 = disks.iter().map(|d| d["capacity"].as_u64().unwrap_or(0)).sum();
    let mut specs: HashMap<String, domain_xml::DiskSpec> = HashMap::new();
    for d in &disks {
        ctx.check()?;
        let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
        let (pool_uuid, pool_name, volume, path, format, target, new_volume, bus) = (
            s("pool_uuid"),
            s("pool_name"),
            s("volume"),
            s("path"),
            s("format"),
            s("target"),
            s("new_volume"),
            s("bus"),
        );
        let capacity = d["capacity"].as_u64().unwrap_or(0);
        let boot = d["boot"].as_u64().map(|b| b as u32);
        // The source's own overlay is named after its disk (it is still the source's disk).
        let stem = volume.trim_end_matches(".qcow2").trim_end_matches(".img");
        let src_overlay = format!("{stem}-{}.qcow2", uuid.get(..8).unwrap_or("clone"));
        note(
            ctx,
            &mut p,
            json!({ "volume": { "pool": pool_uuid, "name": new_volume } }),
        )
        .await?;
        if !full {
            // The source gets an overlay of its own on the same base: the base is never written again.
            note(
                ctx,
                &mut p,
                json!({ "volume": { "pool": pool_uuid, "name": src_overlay } }),
            )
            .await?;
            note(ctx, &mut p, json!({ "source_disk": { "target": target, "bus": bus, "pool_name": pool_name, "volume": volume, "format": format, "boot": boot } }))
                .await?;
        }
        let c = conn.clone();
        let src_ov = src_overlay.clone();
        let (pu, pn, vol, nv, src_id, fmt, tgt, b) = (
            pool_uuid.clone(),
            pool_name.clone(),
            volume.clone(),
            new_volume.clone(),
            source.clone(),
            format.clone(),
            target.clone(),
            bus.clone(),
        );
        ctx.blocking("copying_disks", total.max(1), move |meter| {
            let lv = from_libvirt;
            // Started meanwhile, its disks change under the copy: stop here (starting is refused while a
            // clone of it runs, but it may have been started outside Hangar).
            if domain::lookup(&c, &src_id).and_then(|d| d.is_active()).map_err(lv)? {
                return Err(Error::InvalidState(
                    "the VM was started while it was being cloned".into(),
                ));
            }
            let pool = storage::pool(&c, &pu).map_err(lv)?;
            let base = pool.lookup_storage_vol_by_name(&vol).map_err(lv)?;
            if full {
                storage::ensure_space(&pool, capacity)?;
                let x = pool_xml::volume_xml(&nv, "qcow2", capacity, None).map_err(|e| Error::Internal(e.into()))?;
                StorageVol::create_xml_from(&pool, &x, &base, 0).map_err(lv)?;
                meter.add(capacity);
                return Ok(());
            }
            let overlay = |name: &str| -> Result<()> {
                let x = pool_xml::volume_xml(name, "qcow2", capacity, Some((path.as_str(), fmt.as_str())))
                    .map_err(|e| Error::Internal(e.into()))?;
                StorageVol::create_xml(&pool, &x, 0).map_err(lv)?;
                Ok(())
            };
            overlay(&nv)?;
            overlay(&src_ov)?;
            let dom = domain::lookup(&c, &src_id).map_err(lv)?;
            let spec = domain_xml::DiskSpec {
                device: "disk".into(),
                source: Some((pn.clone(), src_ov)),
                format: "qcow2".into(),
                bus: b.clone(),
                target: tgt.clone(),
                readonly: false,
                boot,
            };
            let x = domain_xml::device_xml(|w| domain_xml::disk(w, &spec)).map_err(|e| Error::Internal(e.into()))?;
            dom.update_device_flags(&x, sys::VIR_DOMAIN_AFFECT_CONFIG).map_err(lv)?;
            meter.add(capacity);
            Ok(())
        })
        .await?;
        specs.insert(
            target.clone(),
            domain_xml::DiskSpec {
                device: "disk".into(),
                source: Some((pool_name, new_volume)),
                format: "qcow2".into(),
                bus,
                target,
                readonly: false,
                boot: None,
            },
        );
    }
    // A new seed: same settings, a new instance-id and host name.
    let seed = p["seed"].clone();
    if let (Some(vol), Some(pool_uuid)) = (seed["volume"].as_str(), seed["pool_uuid"].as_str()) {
        ctx.progress("building_seed", None, None).await;
        note(ctx, &mut p, json!({ "volume": { "pool": pool_uuid, "name": vol } })).await?;
        let merged: serde_norway::Mapping = serde_norway::from_str(seed["user_data"].as_str().unwrap_or_default())
            .map_err(|e| Error::Internal(e.into()))?;
        let hostname = seed["hostname"].as_str().unwrap_or_default();
        let mut merged = merged;
        merged.insert(
            serde_norway::Value::String("hostname".into()),
            serde_norway::Value::String(hostname.into()),
        );
        let files = [
            (
                "meta-data",
                super::cloud_init::meta_data(seed["instance_id"].as_str().unwrap_or_default(), hostname)?,
            ),
            ("user-data", super::cloud_init::user_data(&merged)?),
            (
                "network-config",
                seed["network_config"].as_str().unwrap_or_default().to_string(),
            ),
        ];
        super::vm_create_run::write_seed(&ctx.state, host.id, &host.name, pool_uuid, vol, &files).await?;
        if let Some(t) = seed["old_target"].as_str() {
            let pool_name = {
                let pu = pool_uuid.to_string();
                ctx.state
                    .virt
                    .call(host.id, &host.name, move |c| storage::pool(c, &pu)?.name())
                    .await?
            };
            specs.insert(
                t.to_string(),
                domain_xml::DiskSpec {
                    device: "disk".into(),
                    source: Some((pool_name, vol.to_string())),
                    format: "raw".into(),
                    bus: bus_of(t),
                    target: t.to_string(),
                    readonly: true,
                    boot: None,
                },
            );
        }
    }
    // The domain.
    ctx.check()?;
    ctx.progress("defining", None, None).await;
    let macs: HashMap<String, String> = serde_json::from_value(p["macs"].clone()).unwrap_or_default();
    let name = p["name"].as_str().unwrap_or_default().to_string();
    let log = format!("/var/log/libvirt/qemu/hangar-{uuid}-serial.log");
    let (src, u, n, inst) = (
        source.clone(),
        uuid.clone(),
        name.clone(),
        ctx.state.installation.clone(),
    );
    let owner_id = p["owner_id"].as_i64().unwrap_or(0);
    let owner_name = {
        let mut c = ctx.state.db.acquire().await?;
        db::users::by_id(&mut c, owner_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default()
    };
    note(ctx, &mut p, json!({ "domain": uuid })).await?;
    let facts = ctx
        .state
        .virt
        .call(host.id, &host.name, move |c| {
            let text = domain::lookup(c, &src)?.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE)?;
            let edits = xml_edit::CloneEdits {
                name: &n,
                uuid: &u,
                macs: &macs,
                disks: &specs,
                serial_log: &log,
            };
            let x = xml_edit::clone_xml(&text, &edits).map_err(|_| virt::error::Error::last_error())?;
            let dom = c.define_domain_xml(&x)?;
            let (_, tags) = xml::parse_metadata(
                &dom.metadata(sys::VIR_DOMAIN_METADATA_ELEMENT as i32, Some(xml::NS), 0)
                    .unwrap_or_default(),
            );
            domain::write_metadata(&dom, &inst, Some((owner_id, &owner_name)), &tags)?;
            domain::facts(&dom)
        })
        .await?;
    let seed_row = match (seed["volume"].as_str(), seed["pool_uuid"].as_str()) {
        (Some(vol), Some(pool_uuid)) => {
            let mut shown: app::api::VmCloudInit =
                serde_json::from_str(seed["settings"].as_str().unwrap_or("{}")).unwrap_or_default();
            shown.hostname = seed["hostname"].as_str().unwrap_or_default().into();
            shown.seed_volume = vol.into();
            Some(db::vm_cloud_init::SeedRow {
                uuid: uuid.clone(),
                settings: serde_json::to_string(&shown).unwrap_or_default(),
                user_data: seed["user_data"].as_str().unwrap_or_default().into(),
                network_config: seed["network_config"].as_str().unwrap_or_default().into(),
                instance_id: seed["instance_id"].as_str().unwrap_or_default().into(),
                host_id: host.id,
                pool_uuid: pool_uuid.into(),
                seed_volume: vol.into(),
            })
        }
        _ => None,
    };
    vm_create_run::take_ownership(ctx, &mut p, host.id, &facts, seed_row).await?;
    if p["start"].as_bool().unwrap_or(false) {
        vm_create_run::start(ctx, &host, &uuid).await?;
    }
    Ok(json!({ "vm_id": uuid }))
}

fn bus_of(target: &str) -> String {
    match &target[..target.len().min(2)] {
        "vd" => "virtio",
        "hd" => "ide",
        _ => "sata",
    }
    .into()
}
