//! Creating a VM, the request side: the rules of a `CreateVm`, the plan (owner, source, host, pool, disk, seed,
//! quota impact) made without changing anything, and the request that reserves the quota and queues the
//! `vm.create` task in one transaction. The task's steps are in `vm_create_run`.
use super::placement::{self, HostFacts};
use super::{audit, cloud_init, pools, tasks, validate};
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, hosts::HostRow, images::ImageRow, quotas::Usage};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::{domain, domain_xml, storage};
use app::api::{CreateVm, NetworkRef, QuotaImpact, VmCreated, VmPlan, VmSource};
use serde_json::{json, Value};

const GIB: u64 = 1 << 30;

/// A VM name: what libvirt and the VM list accept (the same rule for a rename; `app::api::vm_name_ok`).
pub fn vm_name(n: &str) -> Result<()> {
    if app::api::vm_name_ok(n) {
        Ok(())
    } else {
        Err(Error::invalid("name", "bad_format"))
    }
}

/// Up to 20 tags of up to 32 characters.
pub fn tags(tags: &[String]) -> Result<()> {
    if tags.len() > 20
        || tags
            .iter()
            .any(|t| t.trim().is_empty() || t.chars().count() > 32 || t.chars().any(char::is_control))
    {
        return Err(Error::invalid("tags", "bad_format"));
    }
    Ok(())
}

fn range(field: &'static str, v: i64, min: i64, max: i64) -> Result<()> {
    if (min..=max).contains(&v) {
        Ok(())
    } else {
        Err(Error::Invalid {
            field,
            reason: "out_of_range",
            details: json!({ "min": min, "max": max }),
        })
    }
}

/// Every rule that needs nothing but the request.
pub fn validate(r: &CreateVm) -> Result<()> {
    vm_name(&r.name)?;
    range("vcpus", r.vcpus, 1, 512)?;
    range("memory_mib", r.memory_mib, 16, 4 * 1024 * 1024)?;
    if !matches!(r.source, VmSource::Volume(_)) {
        range("disk_gib", r.disk_gib, 1, 65536)?;
    }
    tags(&r.tags)?;
    validate::description(&r.description)?;
    if let Some(f) = &r.firmware {
        if !matches!(f.as_str(), "bios" | "uefi") {
            return Err(Error::invalid("firmware", "unknown"));
        }
    }
    if let Some(NetworkRef::Network(n) | NetworkRef::Bridge(n)) = &r.network {
        super::storage_rules::pool_name(n).map_err(|_| Error::invalid("network", "bad_format"))?;
    }
    if let Some(pool) = &r.pool {
        if pool.len() != 36 {
            return Err(Error::invalid("pool", "bad_format"));
        }
    }
    if let Some(ci) = &r.cloud_init {
        cloud_init::validate(ci, &r.name)?;
    }
    Ok(())
}

/// Volume names made from the VM's name: only the characters volume names allow, and a piece of the UUID so
/// an older VM's leftover disk never collides.
fn volume_base(name: &str, uuid: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{}", clean.trim_start_matches(['-', '_']), &uuid[..8])
}

/// Where the bytes of the source are.
#[derive(Clone, Debug)]
struct SourceCopy {
    host_id: i64,
    pool_uuid: String,
    pool_name: String,
    volume: String,
    path: String,
}

/// What the plan found out, with what the task needs to run.
pub struct Prepared {
    pub plan: VmPlan,
    pub params: Value,
    pub reserve: Usage,
    owner_name: String,
}

async fn owner(state: &AppState, p: &Principal, r: &CreateVm) -> Result<(i64, String)> {
    let id = r.owner_id.unwrap_or(p.id);
    if id == p.id {
        authorize(p, Action::VmCreate, Resource::Vm(Some(p.id)))?;
    } else {
        // Someone else's VM counts against their quota: only those who assign VMs may do that.
        authorize(p, Action::VmAssign, Resource::Vm(None))?;
    }
    let mut conn = state.db.acquire().await?;
    let u = db::users::by_id(&mut conn, id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(Error::invalid("owner_id", "unknown_user"))?;
    Ok((u.id, u.username))
}

/// The image of a template or ISO source, as the caller may see it.
async fn image(state: &AppState, p: &Principal, id: i64, kind: &str) -> Result<(ImageRow, Vec<SourceCopy>)> {
    let img = super::images::row(state, p, id).await?;
    authorize(
        p,
        Action::ImageRead,
        Resource::Image {
            owner: img.owner_id,
            public: img.is_public(),
        },
    )?;
    if img.kind != kind {
        return Err(Error::invalid(
            "source",
            if kind == "iso" { "not_an_iso" } else { "not_a_template" },
        ));
    }
    let copies = db::images::copies(&state.db)
        .await?
        .into_iter()
        .filter(|c| c.image_id == id)
        .map(|c| SourceCopy {
            host_id: c.host_id,
            pool_uuid: c.pool_uuid,
            pool_name: c.pool_name,
            volume: c.volume,
            path: c.path,
        })
        .collect();
    Ok((img, copies))
}

/// What the creation learns from a candidate host besides what placement weighs.
#[derive(Clone, Debug, Default)]
struct HostExtra {
    kvm: bool,
    nic: Option<NetworkRef>,
    /// The IPv4 subnet of the NIC's libvirt network, and the addresses it hands out to named hosts.
    subnet: Option<(std::net::Ipv4Addr, u8)>,
    reserved: Vec<String>,
}

/// Each candidate host's facts, read from libvirt in parallel (offline hosts are not asked).
async fn host_facts(
    state: &AppState,
    hosts: &[HostRow],
    name: &str,
    network: Option<&NetworkRef>,
    copies: &[SourceCopy],
    uefi: bool,
) -> Vec<(HostFacts, HostExtra)> {
    let online = state.virt.online_hosts();
    let copyable = copies.iter().any(|c| online.contains(&c.host_id));
    let online = &online;
    let work = hosts.iter().map(|h| {
        let (name, network) = (name.to_string(), network.cloned());
        async move {
            let mut f = HostFacts {
                host_id: h.id,
                host_name: h.name.clone(),
                online: online.contains(&h.id),
                maintenance: h.maintenance,
                has_source: copies.iter().any(|c| c.host_id == h.id),
                can_copy_source: copyable,
                ..Default::default()
            };
            if !f.online {
                return (f, HostExtra::default());
            }
            let asked = network.clone();
            let r = state
                .virt
                .call(h.id, &h.name, move |c| {
                    let free = c.free_memory()?;
                    let taken = c.lookup_domain_by_name(&name).is_ok();
                    let active_net = |n: &str| c.lookup_network_by_name(n).and_then(|n| n.is_active()).unwrap_or(false);
                    // The default network when none was asked for and the host runs one.
                    let (nic, missing) = match &asked {
                        Some(NetworkRef::Network(n)) => (asked.clone(), !active_net(n)),
                        Some(NetworkRef::Bridge(b)) => (asked.clone(), domain::bridge_missing(c, b)),
                        None if active_net("default") => (Some(NetworkRef::Network("default".into())), false),
                        None => (None, false),
                    };
                    let (subnet, reserved) = match &nic {
                        Some(NetworkRef::Network(n)) => c
                            .lookup_network_by_name(n)
                            .and_then(|n| n.xml_desc(0))
                            .map(|x| domain::network_ipv4(&x))
                            .unwrap_or_default(),
                        _ => (None, Vec::new()),
                    };
                    let kvm = c.capabilities()?.contains("<domain type='kvm'");
                    let uefi_missing = uefi && !domain::has_uefi(c);
                    Ok((
                        free,
                        taken,
                        missing,
                        uefi_missing,
                        HostExtra {
                            kvm,
                            nic,
                            subnet,
                            reserved,
                        },
                    ))
                })
                .await;
            match r {
                Ok((free, taken, missing, uefi_missing, extra)) => {
                    f.free_memory_mib = (free / (1 << 20)) as i64;
                    f.name_taken = taken;
                    f.network_missing = missing;
                    f.uefi_missing = uefi_missing;
                    (f, extra)
                }
                Err(_) => {
                    f.online = false;
                    (f, HostExtra::default())
                }
            }
        }
    });
    futures::future::join_all(work).await
}

/// A static IPv4 address must be in the network's subnet and not one it or another VM already uses.
async fn check_static_ip(state: &AppState, r: &CreateVm, extra: &HostExtra) -> Result<()> {
    let Some(addr) = r
        .cloud_init
        .as_ref()
        .and_then(|c| c.network.as_ref())
        .map(|n| n.address.clone())
        .filter(|a| !a.is_empty())
    else {
        return Ok(());
    };
    let ip: std::net::Ipv4Addr = addr
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or(Error::invalid("cloud_init.network.address", "bad_format"))?;
    if let Some((net, prefix)) = extra.subnet {
        if !cloud_init::in_subnet(ip, net, prefix) {
            return Err(Error::invalid("cloud_init.network.address", "outside_network"));
        }
    }
    let ip_text = ip.to_string();
    let known = state.vm_list.rows().await?;
    let used_by_vm = known.iter().any(|v| {
        serde_json::from_str::<Vec<String>>(&v.ips)
            .unwrap_or_default()
            .iter()
            .any(|i| i.split('/').next() == Some(ip_text.as_str()))
    });
    if used_by_vm || extra.reserved.contains(&ip_text) {
        return Err(Error::invalid("cloud_init.network.address", "in_use"));
    }
    Ok(())
}

/// `kvm` or `qemu` for a host, as `vms.domain_type` says.
fn domain_type(state: &AppState, host_offers_kvm: bool) -> &'static str {
    match state.config.vms.domain_type.as_str() {
        "kvm" => "kvm",
        "qemu" => "qemu",
        // A PVM "KVM" advertises kvm but hangs real guests (see docs/operations.md).
        _ if host_offers_kvm && !std::path::Path::new("/sys/module/kvm_pvm").exists() => "kvm",
        _ => "qemu",
    }
}

/// The pool for the new disk and seed: the one asked for (on the chosen host), else the host's running
/// `default` pool, else its image pool.
async fn pool_for(
    state: &AppState,
    p: &Principal,
    host: &HostRow,
    asked: Option<&str>,
    dry: bool,
) -> Result<(String, String)> {
    if let Some(uuid) = asked {
        authorize(p, Action::StorageRead, Resource::System)?;
        let (h, f) = pools::locate(state, uuid).await?;
        if h.id != host.id {
            return Err(Error::invalid("pool", "not_on_host"));
        }
        if f.state != "running" {
            return Err(Error::invalid("pool", "not_running"));
        }
        return Ok((f.uuid, f.name));
    }
    let default = state
        .virt
        .call(host.id, &host.name, |c| {
            Ok(c.lookup_storage_pool_by_name("default")
                .ok()
                .filter(|p| p.is_active().unwrap_or(false))
                .and_then(|p| Some((p.uuid_string().ok()?, p.name().ok()?))))
        })
        .await?;
    match default {
        Some(found) => Ok(found),
        // A plan makes nothing: it names the image pool the creation will make if there is none yet.
        None if dry => {
            let known = db::hosts::images_pool(&state.db, host.id).await?;
            match known {
                Some(uuid) => match pools::locate(state, &uuid).await {
                    Ok((_, f)) => Ok((f.uuid, f.name)),
                    Err(_) => Ok((String::new(), "hangar-images".into())),
                },
                None => Ok((String::new(), "hangar-images".into())),
            }
        }
        None => {
            let (_, f) = pools::images_pool(state, host.id).await?;
            Ok((f.uuid, f.name))
        }
    }
}

/// Works out everything a creation will do; with `dry` (a plan), changing nothing.
pub async fn prepare(state: &AppState, p: &Principal, r: &CreateVm, dry: bool) -> Result<Prepared> {
    validate(r)?;
    // Choosing a host, and hearing why others were not chosen, is for those who may see hosts.
    let sees_hosts = authorize(p, Action::HostRead, Resource::System).is_ok();
    if r.host_id.is_some() && !sees_hosts {
        return Err(Error::Forbidden);
    }
    let (owner_id, owner_name) = owner(state, p, r).await?;
    let uuid = domain_xml::random_uuid();
    let base = volume_base(&r.name, &uuid);
    let all_hosts = db::hosts::list(&state.db).await?;
    let hosts: Vec<HostRow> = match r.host_id {
        Some(id) => all_hosts.into_iter().filter(|h| h.id == id).collect(),
        None => all_hosts,
    };
    if hosts.is_empty() {
        return Err(Error::invalid("host_id", "unknown_host"));
    }
    // The source: its facts, and where its bytes are.
    let (img, copies, existing) = match &r.source {
        VmSource::Template(id) => {
            let (i, c) = image(state, p, *id, "template").await?;
            (Some(i), c, None)
        }
        VmSource::Iso(id) => {
            let (i, c) = image(state, p, *id, "iso").await?;
            (Some(i), c, None)
        }
        VmSource::Volume(v) => {
            authorize(p, Action::StorageManage, Resource::System)?;
            let (h, f) = pools::locate(state, &v.pool).await?;
            let (pool_uuid, vol) = (f.uuid.clone(), v.name.clone());
            let vf = state
                .virt
                .call(h.id, &h.name, move |c| {
                    storage::vol_facts(&storage::pool(c, &pool_uuid)?.lookup_storage_vol_by_name(&vol)?)
                })
                .await?;
            let users = state.virt.call(h.id, &h.name, storage::disk_users).await?;
            if users.contains_key(&vf.path) || users.contains_key(&format!("{}/{}", f.name, vf.name)) {
                return Err(Error::InUse { by: "vm".into() });
            }
            // An image's copy is the library's: VMs are based on it, never written through it.
            let library = db::images::copies(&state.db).await?;
            if library
                .iter()
                .any(|c| c.host_id == h.id && c.pool_uuid == f.uuid && c.volume == vf.name)
            {
                return Err(Error::InUse { by: "image".into() });
            }
            let copy = SourceCopy {
                host_id: h.id,
                pool_uuid: f.uuid.clone(),
                pool_name: f.name.clone(),
                volume: vf.name.clone(),
                path: vf.path.clone(),
            };
            (None, vec![copy], Some(vf))
        }
    };
    let is_volume = existing.is_some();
    if let Some(i) = &img {
        if r.memory_mib < i.min_memory_mib {
            return Err(Error::Invalid {
                field: "memory_mib",
                reason: "below_minimum",
                details: json!({ "min": i.min_memory_mib }),
            });
        }
        if i.kind == "template" {
            let min = i.min_disk_gib.max((i.virtual_size_bytes as u64).div_ceil(GIB) as i64);
            if r.disk_gib < min {
                return Err(Error::Invalid {
                    field: "disk_gib",
                    reason: "below_template",
                    details: json!({ "min": min }),
                });
            }
        }
    }
    // Placement.
    let wants_uefi = r.firmware.as_deref().or(img.as_ref().map(|i| i.firmware.as_str())) == Some("uefi");
    let facts = host_facts(state, &hosts, &r.name, r.network.as_ref(), &copies, wants_uefi).await;
    let mut hf: Vec<HostFacts> = facts.iter().map(|f| f.0.clone()).collect();
    if is_volume {
        // An existing volume stays where it is.
        for f in &mut hf {
            f.can_copy_source = false;
        }
    }
    {
        let mut conn = state.db.acquire().await?;
        for f in &mut hf {
            f.name_taken |= db::vm_cloud_init::name_taken(&mut conn, f.host_id, &r.name).await?;
        }
    }
    let (chosen, mut skipped) = placement::choose(&hf, r.memory_mib);
    if !sees_hosts {
        // The reasons help; which hosts there are is not theirs to know.
        for s in &mut skipped {
            (s.host_id, s.host_name) = (0, String::new());
        }
    }
    let Some(chosen) = chosen else {
        // One reason for every host (or the one host asked for): that reason, as the error.
        let first = skipped.first().map(|s| s.reason.clone()).unwrap_or_default();
        let one = skipped.iter().all(|s| s.reason == first);
        return Err(Error::Placement {
            reason: if one { first } else { "no_host".into() },
            skipped: serde_json::to_value(&skipped).unwrap_or_default(),
        });
    };
    let host = hosts
        .iter()
        .find(|h| h.id == chosen.host_id)
        .cloned()
        .ok_or(Error::NotFound("host"))?;
    let (_, extra) = facts
        .iter()
        .find(|f| f.0.host_id == host.id)
        .cloned()
        .ok_or(Error::NotFound("host"))?;
    check_static_ip(state, r, &extra).await?;
    let (kvm, nic) = (extra.kvm, extra.nic.clone());
    // Disk and seed.
    let (pool_uuid, pool_name) = match &existing {
        Some(_) => (copies[0].pool_uuid.clone(), copies[0].pool_name.clone()),
        None => pool_for(state, p, &host, r.pool.as_deref(), dry).await?,
    };
    let (disk_kind, disk_volume, disk_gib) = match (&r.source, &existing) {
        (_, Some(vf)) => ("existing", vf.name.clone(), (vf.capacity.div_ceil(GIB)) as i64),
        (VmSource::Iso(_), _) => ("blank", format!("{base}-disk0.qcow2"), r.disk_gib),
        _ if r.full_clone => ("full", format!("{base}-disk0.qcow2"), r.disk_gib),
        _ => ("linked", format!("{base}-disk0.qcow2"), r.disk_gib),
    };
    let seed_volume = r.cloud_init.as_ref().map(|_| format!("{base}-seed.img"));
    let firmware = r
        .firmware
        .clone()
        .or(img.as_ref().map(|i| i.firmware.clone()))
        .unwrap_or_else(|| "bios".into());
    let disk_bus = img
        .as_ref()
        .map(|i| i.disk_bus.clone())
        .filter(|b| matches!(b.as_str(), "virtio" | "scsi" | "sata" | "ide"))
        .unwrap_or_else(|| "virtio".into());
    // The cloud kernel of many templates lacks AHCI: `pc` (IDE) unless the firmware needs q35.
    let machine = if firmware == "uefi" { "q35" } else { "pc" }.to_string();
    let source_here = copies.iter().find(|c| c.host_id == host.id).cloned();
    let online = state.virt.online_hosts();
    let source_from = source_here
        .clone()
        .or_else(|| copies.iter().find(|c| online.contains(&c.host_id)).cloned());
    let reserve = Usage {
        vms: 1,
        vcpus: r.vcpus,
        memory_mib: r.memory_mib,
        disk_gib,
    };
    let quota = impact(state, owner_id, reserve).await?;
    let plan = VmPlan {
        vm_id: uuid.clone(),
        host_id: host.id,
        host_name: host.name.clone(),
        pool_id: pool_uuid.clone(),
        pool_name: pool_name.clone(),
        disk_volume: disk_volume.clone(),
        disk_kind: disk_kind.into(),
        disk_gib,
        seed_volume: seed_volume.clone(),
        copies_template: source_here.is_none() && !is_volume,
        network: nic.clone(),
        firmware: firmware.clone(),
        machine: machine.clone(),
        disk_bus: disk_bus.clone(),
        skipped,
        quota,
        owner_id,
    };
    let src = source_from.ok_or(Error::invalid("source", "no_copy_online"))?;
    let params = json!({
        "uuid": uuid, "name": r.name, "host_id": host.id, "owner_id": owner_id,
        "reserve": { "vms": 1, "vcpus": r.vcpus, "memory_mib": r.memory_mib, "disk_gib": disk_gib },
        "pool_uuid": pool_uuid, "pool_name": pool_name,
        "source": {
            "kind": match r.source { VmSource::Template(_) => "template", VmSource::Iso(_) => "iso", VmSource::Volume(_) => "volume" },
            "image_id": img.as_ref().map(|i| i.id),
            "format": img.as_ref().map(|i| if i.format == "qcow2" { "qcow2" } else { "raw" }).unwrap_or("qcow2"),
            "capacity": img.as_ref().map(|i| i.virtual_size_bytes).unwrap_or(0),
            "size": img.as_ref().map(|i| i.size_bytes).unwrap_or(0),
            "host_id": src.host_id, "pool_uuid": src.pool_uuid, "pool_name": src.pool_name,
            "volume": src.volume, "path": src.path, "on_host": source_here.is_some() || is_volume,
        },
        "disk": { "kind": disk_kind, "volume": disk_volume, "gib": disk_gib,
                  "format": existing.as_ref().map(|v| v.format.clone()).unwrap_or_else(|| "qcow2".into()) },
        "seed_volume": seed_volume,
        "vcpus": r.vcpus, "memory_mib": r.memory_mib, "firmware": firmware, "machine": machine, "bus": disk_bus,
        "domain_type": domain_type(state, kvm), "arch": img.as_ref().map(|i| i.arch.clone()).unwrap_or_else(|| "x86_64".into()),
        "nic": nic.map(|n| match n {
            NetworkRef::Network(s) => json!({ "kind": "network", "source": s }),
            NetworkRef::Bridge(s) => json!({ "kind": "bridge", "source": s }),
        }),
        "mac": domain_xml::random_mac(),
        "description": r.description, "tags": r.tags, "start": r.start.unwrap_or(true),
        "default_user": img.as_ref().map(|i| i.default_user.clone()).filter(|u| !u.is_empty()).unwrap_or_else(|| "hangar".into()),
        "made": [],
    });
    Ok(Prepared {
        plan,
        params,
        reserve,
        owner_name,
    })
}

/// Each quota resource before and after `add`.
async fn impact(state: &AppState, owner: i64, add: Usage) -> Result<Vec<QuotaImpact>> {
    let mut conn = state.db.acquire().await?;
    let Some(rows) = db::quotas::get(&mut conn, owner).await? else {
        return Ok(Vec::new());
    };
    let adds = [add.vms, add.vcpus, add.memory_mib, add.disk_gib];
    Ok(["vms", "vcpus", "memory_mib", "disk_gib"]
        .into_iter()
        .zip(rows)
        .zip(adds)
        .map(|((name, (limit, used)), a)| QuotaImpact {
            resource: name.into(),
            limit,
            before: used,
            after: used + a,
        })
        .collect())
}

/// `POST /api/v1/vms/plan`: what a creation would do.
pub async fn plan(state: &AppState, caller: &Caller, r: &CreateVm) -> Result<VmPlan> {
    let p = caller.require()?;
    Ok(prepare(state, p, r, true).await?.plan)
}

/// `POST /api/v1/vms`: reserves the quota and the name and queues the task, in one transaction.
pub async fn create(state: &AppState, caller: &Caller, r: CreateVm) -> Result<VmCreated> {
    let p = caller.require()?.clone();
    let mut prep = prepare(&state.clone(), &p, &r, false).await?;
    // The password never goes into the task: only its crypt hash, inside the user-data.
    if let Some(ci) = &r.cloud_init {
        let hash = if ci.password.is_empty() {
            None
        } else {
            let pw = ci.password.clone();
            Some(
                tokio::task::spawn_blocking(move || cloud_init::hash_password(&pw))
                    .await
                    .map_err(|e| Error::Internal(e.into()))??,
            )
        };
        let default_user = prep.params["default_user"].as_str().unwrap_or("hangar").to_string();
        let merged = cloud_init::merged_user_data(ci, &r.name, &default_user, hash.as_deref())?;
        let user = if ci.user.is_empty() {
            default_user.clone()
        } else {
            ci.user.clone()
        };
        let mac = prep.params["mac"].as_str().unwrap_or_default().to_string();
        prep.params["cloud_init"] = json!({
            "user_data": serde_norway::to_string(&merged).map_err(|e| Error::Internal(e.into()))?,
            "network_config": cloud_init::network_config(ci.network.as_ref(), &mac)?,
            "hostname": cloud_init::effective_hostname(ci, &r.name),
            "instance_id": format!("hangar-{}", prep.plan.vm_id),
            "shown": app::api::VmCloudInit {
                hostname: cloud_init::effective_hostname(ci, &r.name),
                user,
                password_set: hash.is_some(),
                ssh_keys: ci.ssh_keys.iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect(),
                network: ci.network.clone(),
                packages: ci.packages.clone(),
                runcmd: ci.runcmd.clone(),
                user_data: !ci.user_data.trim().is_empty(),
                instance_id: format!("hangar-{}", prep.plan.vm_id),
                seed_volume: prep.plan.seed_volume.clone().unwrap_or_default(),
            },
        });
    }
    let target = format!("vm:{}", prep.plan.vm_id);
    let mut tx = db::begin_write(&state.db).await?;
    // Checked again under the write lock: a creation of the same name may have been queued meanwhile.
    if db::vm_cloud_init::name_taken(&mut tx, prep.plan.host_id, &r.name).await? {
        return Err(Error::Duplicate { what: "name" });
    }
    super::quota::reserve(&mut tx, prep.plan.owner_id, prep.reserve).await?;
    let task = db::tasks::insert(&mut tx, "vm.create", &target, Some(p.id), true, &prep.params).await?;
    let details = json!({
        "name": r.name, "host": prep.plan.host_name, "owner": prep.owner_name, "task": task,
        "source": prep.params["source"]["kind"], "disk": prep.plan.disk_kind, "disk_gib": prep.plan.disk_gib,
        "vcpus": r.vcpus, "memory_mib": r.memory_mib,
    });
    audit::commit(tx, caller, "vm.create", &target, &details).await?;
    tasks::spawn(state, task);
    Ok(VmCreated {
        vm_id: prep.plan.vm_id.clone(),
        task: tasks::get(state, caller, task).await?,
        plan: prep.plan,
    })
}
