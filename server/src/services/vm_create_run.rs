//! The `vm.create` task: copy the template to the host if needed, make the disk (linked clone, full clone or
//! blank), write the cloud-init seed, define, record the owner, start. Each thing is noted in the task's
//! `made` list before it is made, so a failure, a cancel or a crash removes exactly what the task made, and the
//! quota reservation is released in the transaction that ends the task.
use super::{cloud_init, seed, tasks};
use crate::db::{self, quotas::Usage, tasks::TaskRow};
use crate::error::{Error, Result};
use crate::virt::{domain, domain_xml, from_libvirt, pool_xml, storage, xml};
use app::api::TaskState;
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use virt::storage_vol::StorageVol;

const GIB: u64 = 1 << 30;

fn field<'a>(p: &'a Value, path: &[&str]) -> Result<&'a Value> {
    let mut v = p;
    for k in path {
        v = &v[*k];
    }
    if v.is_null() {
        return Err(Error::Internal(anyhow::anyhow!("vm.create without {}", path.join("."))));
    }
    Ok(v)
}

fn text(p: &Value, path: &[&str]) -> Result<String> {
    Ok(field(p, path)?.as_str().unwrap_or_default().to_string())
}

/// Notes in the task's params that `thing` is about to be made (so a rollback removes it).
pub(super) async fn note(ctx: &tasks::Ctx, params: &mut Value, thing: Value) -> Result<()> {
    if let Some(made) = params["made"].as_array_mut() {
        made.push(thing);
    }
    db::tasks::set_params(&ctx.state.db, ctx.id, params).await?;
    Ok(())
}

pub async fn run(ctx: &tasks::Ctx) -> Result<Value> {
    let mut p = ctx.params.clone();
    let host_id = field(&p, &["host_id"])?.as_i64().unwrap_or(0);
    let host = super::hosts::row(&ctx.state, host_id).await?;
    ctx.progress("waiting_for_host", None, None).await;
    ctx.state
        .virt
        .wait_online(host.id, std::time::Duration::from_secs(30))
        .await;
    let conn = ctx.state.virt.connection(host.id, &host.name)?;
    let uuid = text(&p, &["uuid"])?;
    let (pool_uuid, pool_name) = (text(&p, &["pool_uuid"])?, text(&p, &["pool_name"])?);
    let src = p["source"].clone();

    // 1. The template (or ISO) on this host.
    let mut src_volume = (
        text(&src, &["pool_uuid"])?,
        text(&src, &["volume"])?,
        text(&src, &["path"])?,
    );
    if !src["on_host"].as_bool().unwrap_or(false) {
        ctx.check()?;
        let (_, images) = super::pools::images_pool(&ctx.state, host.id).await?;
        let image_id = field(&src, &["image_id"])?.as_i64().unwrap_or(0);
        let ext = if src["kind"] == "iso" { "iso" } else { "img" };
        let volume = format!("hangar-image-{image_id}.{ext}");
        // Another task may be making (or have just made) this copy: it is never this task's to remove.
        let (pu, v) = (images.uuid.clone(), volume.clone());
        let exists = ctx
            .state
            .virt
            .call(host.id, &host.name, move |c| {
                Ok(storage::pool(c, &pu)?.lookup_storage_vol_by_name(&v).is_ok())
            })
            .await?;
        if exists {
            return Err(Error::Duplicate { what: "template_copy" });
        }
        note(
            ctx,
            &mut p,
            json!({ "template_copy": { "pool": images.uuid, "volume": volume, "image_id": image_id } }),
        )
        .await?;
        let from = super::hosts::row(&ctx.state, field(&src, &["host_id"])?.as_i64().unwrap_or(0)).await?;
        let from_conn = ctx.state.virt.connection(from.id, &from.name)?;
        let (sp, sv) = (src_volume.0.clone(), src_volume.1.clone());
        let (dp, vol, format) = (images.uuid.clone(), volume.clone(), text(&src, &["format"])?);
        let capacity = src["capacity"].as_u64().unwrap_or(0);
        let total = src["size"].as_u64().unwrap_or(capacity);
        let dst_conn = conn.clone();
        let (dst_pool_name, path) = ctx
            .blocking("copying_template", total, move |meter| {
                let lv = from_libvirt;
                let src = storage::pool(&from_conn, &sp)
                    .map_err(lv)?
                    .lookup_storage_vol_by_name(&sv)
                    .map_err(lv)?;
                let pool = storage::pool(&dst_conn, &dp).map_err(lv)?;
                storage::ensure_space(&pool, total)?;
                let x = pool_xml::volume_xml(&vol, &format, capacity, None).map_err(|e| Error::Internal(e.into()))?;
                let dst = StorageVol::create_xml(&pool, &x, 0).map_err(lv)?;
                storage::copy_between(&from_conn, &src, &dst_conn, &dst, 0, &meter)?;
                let _ = pool.refresh(0);
                let dst = pool.lookup_storage_vol_by_name(&vol).map_err(lv)?;
                Ok((pool.name().map_err(lv)?, dst.path().map_err(lv)?))
            })
            .await?;
        // Recorded, the copy is the image's (other VMs may be based on it): no rollback of this task removes it.
        if let Some(made) = p["made"].as_array_mut() {
            made.retain(|t| t.get("template_copy").is_none());
        }
        let mut tx = db::begin_write(&ctx.state.db).await?;
        db::images::add_copy(&mut tx, image_id, host.id, &images.uuid, &dst_pool_name, &volume, &path).await?;
        db::tasks::set_params(&mut *tx, ctx.id, &p).await?;
        tx.commit().await?;
        p["source"]["pool_uuid"] = json!(images.uuid);
        p["source"]["pool_name"] = json!(dst_pool_name);
        p["source"]["volume"] = json!(volume);
        p["source"]["path"] = json!(path);
        src_volume = (images.uuid.clone(), volume, path);
    }

    // 2. The disk.
    ctx.check()?;
    let disk_kind = text(&p, &["disk", "kind"])?;
    let disk_volume = text(&p, &["disk", "volume"])?;
    let capacity = field(&p, &["disk", "gib"])?.as_u64().unwrap_or(1) * GIB;
    if disk_kind != "existing" {
        // A volume of that name made by someone else is never the task's to remove: refused before it is noted.
        let (pu, dv) = (pool_uuid.clone(), disk_volume.clone());
        let taken = ctx
            .state
            .virt
            .call(host.id, &host.name, move |c| {
                Ok(storage::pool(c, &pu)?.lookup_storage_vol_by_name(&dv).is_ok())
            })
            .await?;
        if taken {
            return Err(Error::Duplicate { what: "volume" });
        }
        note(
            ctx,
            &mut p,
            json!({ "volume": { "pool": pool_uuid, "name": disk_volume } }),
        )
        .await?;
        let (c, pu, dv, kind) = (conn.clone(), pool_uuid.clone(), disk_volume.clone(), disk_kind.clone());
        let (sp, sv, spath) = src_volume.clone();
        let src_format = text(&src, &["format"])?;
        let src_size = src["capacity"].as_u64().unwrap_or(0);
        ctx.blocking(
            if kind == "blank" { "making_disk" } else { "cloning_disk" },
            src_size.max(1),
            move |meter| {
                let lv = from_libvirt;
                let pool = storage::pool(&c, &pu).map_err(lv)?;
                if pool.lookup_storage_vol_by_name(&dv).is_ok() {
                    return Err(Error::Duplicate { what: "volume" });
                }
                let backing = (kind == "linked").then_some((spath.as_str(), src_format.as_str()));
                let x = pool_xml::volume_xml(&dv, "qcow2", capacity, backing).map_err(|e| Error::Internal(e.into()))?;
                if kind == "full" {
                    let base = storage::pool(&c, &sp)
                        .map_err(lv)?
                        .lookup_storage_vol_by_name(&sv)
                        .map_err(lv)?;
                    storage::ensure_space(&pool, src_size)?;
                    let v = StorageVol::create_xml_from(&pool, &x, &base, 0).map_err(lv)?;
                    meter.set(src_size);
                    if v.info().map_err(lv)?.capacity < capacity {
                        v.resize(capacity, 0).map_err(lv)?;
                    }
                } else {
                    StorageVol::create_xml(&pool, &x, 0).map_err(lv)?;
                }
                Ok(())
            },
        )
        .await?;
    }

    // 3. The cloud-init seed.
    let seed_volume = p["seed_volume"].as_str().map(str::to_string);
    let ci = p["cloud_init"].clone();
    if let Some(sv) = &seed_volume {
        ctx.check()?;
        ctx.progress("building_seed", None, None).await;
        let merged: serde_norway::Mapping =
            serde_norway::from_str(&text(&ci, &["user_data"])?).map_err(|e| Error::Internal(e.into()))?;
        let files = [
            (
                "meta-data",
                cloud_init::meta_data(&text(&ci, &["instance_id"])?, &text(&ci, &["hostname"])?)?,
            ),
            ("user-data", cloud_init::user_data(&merged)?),
            ("network-config", text(&ci, &["network_config"])?),
        ];
        note(ctx, &mut p, json!({ "volume": { "pool": pool_uuid, "name": sv } })).await?;
        write_seed(&ctx.state, host.id, &host.name, &pool_uuid, sv, &files).await?;
    }

    // 4. The domain.
    ctx.check()?;
    if disk_kind == "existing" {
        // Another VM may have taken the volume since the request: two VMs never write one disk.
        let path = src_volume.2.clone();
        let users = ctx.state.virt.call(host.id, &host.name, storage::disk_users).await?;
        if users.contains_key(&path) || users.contains_key(&format!("{}/{}", text(&src, &["pool_name"])?, src_volume.1))
        {
            return Err(Error::InUse { by: "vm".into() });
        }
    }
    ctx.progress("defining", None, None).await;
    let owner_id = field(&p, &["owner_id"])?.as_i64().unwrap_or(0);
    let owner_name = {
        let mut c = ctx.state.db.acquire().await?;
        db::users::by_id(&mut c, owner_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default()
    };
    let tags: Vec<String> = serde_json::from_value(p["tags"].clone()).unwrap_or_default();
    let mut spec = spec(&p, &ctx.state.installation, (owner_id, &owner_name), &tags, &pool_name)?;
    // Beyond this machine, the console bridge reaches VNC over the network: it listens there, with a password.
    if !crate::virt::console::is_local(&host.uri) {
        spec.vnc_listen = ctx.state.config.consoles.remote_vnc_listen.clone();
        spec.vnc_password = Some(crate::auth::tokens::random_urlsafe(6).chars().take(8).collect());
    }
    let xml_text = domain_xml::domain_xml(&spec).map_err(|e| Error::Internal(e.into()))?;
    note(ctx, &mut p, json!({ "domain": uuid })).await?;
    let facts = ctx
        .state
        .virt
        .call(host.id, &host.name, move |c| {
            domain::facts(&c.define_domain_xml(&xml_text)?)
        })
        .await?;

    // 5. Ownership and what it was made with, in one transaction (the quota was reserved by the request).
    let seed = match &seed_volume {
        Some(sv) => Some(db::vm_cloud_init::SeedRow {
            uuid: uuid.clone(),
            settings: ci["shown"].to_string(),
            user_data: text(&ci, &["user_data"])?,
            network_config: text(&ci, &["network_config"])?,
            instance_id: text(&ci, &["instance_id"])?,
            host_id: host.id,
            pool_uuid: pool_uuid.clone(),
            seed_volume: sv.clone(),
        }),
        None => None,
    };
    take_ownership(ctx, &mut p, host.id, &facts, seed).await?;

    // 6. Start.
    if p["start"].as_bool().unwrap_or(true) {
        ctx.check()?;
        start(ctx, &host, &uuid).await?;
    }
    Ok(json!({ "vm_id": uuid }))
}

/// Records the new VM as its owner's, counting the reservation the request made (`params.reserve`), with the
/// seed it was made with, in one transaction; from then on the VM's row holds the reservation (`owned`), and
/// whoever deletes the VM gives it back.
pub(super) async fn take_ownership(
    ctx: &tasks::Ctx,
    p: &mut Value,
    host_id: i64,
    facts: &domain::Facts,
    seed: Option<db::vm_cloud_init::SeedRow>,
) -> Result<()> {
    let uuid = text(p, &["uuid"])?;
    let owner_id = field(p, &["owner_id"])?.as_i64().unwrap_or(0);
    let reserve = usage(&p["reserve"]);
    let mut tx = db::begin_write(&ctx.state.db).await?;
    db::vms::upsert(&mut tx, host_id, facts, &ctx.state.installation).await?;
    db::vms::set_owner(
        &mut tx,
        &uuid,
        Some(owner_id),
        (reserve.vcpus, reserve.memory_mib, reserve.disk_gib),
    )
    .await?;
    if let Some(row) = &seed {
        db::vm_cloud_init::insert(&mut tx, row).await?;
    }
    db::vms::add_event(&mut tx, &uuid, "created", "").await?;
    p["owned"] = json!(true);
    db::tasks::set_params(&mut *tx, ctx.id, p).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts the new VM (the task's last step).
pub(super) async fn start(ctx: &tasks::Ctx, host: &db::hosts::HostRow, uuid: &str) -> Result<()> {
    ctx.progress("starting", None, None).await;
    let id = uuid.to_string();
    ctx.state
        .virt
        .call(host.id, &host.name, move |c| domain::lookup(c, &id)?.create())
        .await
}

fn usage(v: &Value) -> Usage {
    let n = |k: &str| v[k].as_i64().unwrap_or(0);
    Usage {
        vms: n("vms"),
        vcpus: n("vcpus"),
        memory_mib: n("memory_mib"),
        disk_gib: n("disk_gib"),
    }
}

/// The domain the params describe: its disk, the ISO on a CD-ROM (booted first) or the seed (read-only), its NIC.
fn spec(
    p: &Value,
    installation: &str,
    owner: (i64, &str),
    tags: &[String],
    pool_name: &str,
) -> Result<domain_xml::DomainSpec> {
    let bus = text(p, &["bus"])?;
    let prefix = match bus.as_str() {
        "virtio" => "vd",
        "ide" => "hd",
        _ => "sd",
    };
    let is_iso = p["source"]["kind"] == "iso";
    let disk_pool = if p["disk"]["kind"] == "existing" {
        text(p, &["source", "pool_name"])?
    } else {
        pool_name.to_string()
    };
    let mut disks = vec![domain_xml::DiskSpec {
        device: "disk".into(),
        source: Some((disk_pool, text(p, &["disk", "volume"])?)),
        format: text(p, &["disk", "format"])?,
        bus: bus.clone(),
        target: format!("{prefix}a"),
        readonly: false,
        boot: Some(if is_iso { 2 } else { 1 }),
    }];
    if let Some(sv) = p["seed_volume"].as_str() {
        disks.push(domain_xml::DiskSpec {
            device: "disk".into(),
            source: Some((pool_name.to_string(), sv.to_string())),
            format: "raw".into(),
            bus: bus.clone(),
            target: format!("{prefix}z"),
            readonly: true,
            boot: None,
        });
    }
    // Every VM gets a CD-ROM drive (IDE/SATA drives cannot be added while it runs): the ISO, booted first,
    // when it installs from one; empty otherwise, for media later.
    let q35 = text(p, &["machine"])? == "q35";
    disks.push(domain_xml::DiskSpec {
        device: "cdrom".into(),
        source: if is_iso {
            Some((text(p, &["source", "pool_name"])?, text(p, &["source", "volume"])?))
        } else {
            None
        },
        format: "raw".into(),
        bus: if q35 { "sata".into() } else { "ide".into() },
        target: if q35 { "sdc".into() } else { "hdc".into() },
        readonly: true,
        boot: is_iso.then_some(1),
    });
    let nics = match &p["nic"] {
        Value::Null => Vec::new(),
        n => vec![domain_xml::NicSpec {
            kind: text(n, &["kind"])?,
            source: text(n, &["source"])?,
            mac: text(p, &["mac"])?,
            model: if bus == "virtio" {
                "virtio".into()
            } else {
                "e1000".into()
            },
        }],
    };
    let uuid = text(p, &["uuid"])?;
    Ok(domain_xml::DomainSpec {
        name: text(p, &["name"])?,
        uuid: uuid.clone(),
        domain_type: text(p, &["domain_type"])?,
        arch: text(p, &["arch"])?,
        machine: text(p, &["machine"])?,
        vcpus: field(p, &["vcpus"])?.as_i64().unwrap_or(1),
        memory_mib: field(p, &["memory_mib"])?.as_i64().unwrap_or(256),
        firmware: text(p, &["firmware"])?,
        description: p["description"].as_str().unwrap_or_default().to_string(),
        metadata: xml::metadata_xml(installation, Some(owner), tags).map_err(|e| Error::Internal(e.into()))?,
        disks,
        nics,
        serial_log: Some(format!("/var/log/libvirt/qemu/hangar-{uuid}-serial.log")),
        vnc_listen: "127.0.0.1".into(),
        vnc_password: None,
    })
}

/// Makes the seed volume (raw, 1 MiB) and writes the FAT image into it.
pub async fn write_seed(
    state: &crate::state::AppState,
    host_id: i64,
    host_name: &str,
    pool_uuid: &str,
    volume: &str,
    files: &[(&str, String)],
) -> Result<()> {
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
    let image = seed::fat_image(&refs).map_err(|e| Error::Internal(e.into()))?;
    let (pu, vol) = (pool_uuid.to_string(), volume.to_string());
    let conn = state.virt.connection(host_id, host_name)?;
    tokio::task::spawn_blocking(move || {
        let lv = from_libvirt;
        let pool = storage::pool(&conn, &pu).map_err(lv)?;
        let v = match pool.lookup_storage_vol_by_name(&vol) {
            Ok(v) => v,
            Err(_) => {
                let x = pool_xml::volume_xml(&vol, "raw", seed::SEED_BYTES as u64, None)
                    .map_err(|e| Error::Internal(e.into()))?;
                StorageVol::create_xml(&pool, &x, 0).map_err(lv)?
            }
        };
        storage::upload_bytes(&conn, &v, &image)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

/// Removes what a failed, cancelled or interrupted creation made, newest first: the domain, its volumes, and a
/// template copy it brought to the host (unless a VM uses it by now).
pub async fn rollback(ctx: &tasks::Ctx, row: &TaskRow) -> Result<()> {
    let p = match db::tasks::by_id(&ctx.state.db, row.id).await? {
        Some(r) => r.params(),
        None => row.params(),
    };
    let Some(made) = p["made"].as_array().filter(|m| !m.is_empty()).cloned() else {
        return Ok(());
    };
    let host_id = p["host_id"].as_i64().unwrap_or(0);
    let source = p["source_uuid"].as_str().map(str::to_string);
    ctx.progress("rolling_back", None, None).await;
    ctx.state
        .virt
        .wait_online(host_id, std::time::Duration::from_secs(30))
        .await;
    // Each thing on its own: one that cannot be removed does not keep the others.
    let mut first_error = None;
    for thing in made.iter().rev() {
        if let Err(e) = undo(ctx, host_id, &source, thing).await {
            tracing::warn!(task = ctx.id, ?thing, error = ?e, "could not remove what a task made");
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Removes one thing a task made.
async fn undo(ctx: &tasks::Ctx, host_id: i64, source: &Option<String>, thing: &Value) -> Result<()> {
    if let Some(uuid) = thing["domain"].as_str() {
        let id = uuid.to_string();
        ctx.state
            .virt
            .call(host_id, "", move |c| {
                if let Ok(d) = domain::lookup(c, &id) {
                    let _ = d.destroy();
                    d.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM)?;
                }
                Ok(())
            })
            .await?;
    } else if let (Some(d), Some(src)) = (thing.get("source_disk").filter(|d| d.is_object()), &source) {
        // A linked clone had moved its source onto an overlay: point the source back at its own disk.
        let spec = domain_xml::DiskSpec {
            device: "disk".into(),
            source: Some((
                d["pool_name"].as_str().unwrap_or_default().into(),
                d["volume"].as_str().unwrap_or_default().into(),
            )),
            format: d["format"].as_str().unwrap_or("qcow2").into(),
            bus: d["bus"].as_str().unwrap_or("virtio").into(),
            target: d["target"].as_str().unwrap_or_default().into(),
            readonly: false,
            boot: d["boot"].as_u64().map(|b| b as u32),
        };
        let x = domain_xml::device_xml(|w| domain_xml::disk(w, &spec)).map_err(|e| Error::Internal(e.into()))?;
        let src = src.clone();
        ctx.state
            .virt
            .call(host_id, "", move |c| {
                domain::lookup(c, &src)?.update_device_flags(&x, virt::sys::VIR_DOMAIN_AFFECT_CONFIG)
            })
            .await?;
    } else if let (Some(pool), Some(name)) = (thing["volume"]["pool"].as_str(), thing["volume"]["name"].as_str()) {
        storage::delete_volume_if_exists(&ctx.state.virt, host_id, pool, name).await?;
    } else if let Some(copy) = thing.get("template_copy").filter(|c| c.is_object()) {
        let (pool, volume) = (
            copy["pool"].as_str().unwrap_or_default().to_string(),
            copy["volume"].as_str().unwrap_or_default().to_string(),
        );
        let path_in_use = {
            let (pool, volume) = (pool.clone(), volume.clone());
            ctx.state
                .virt
                .call(host_id, "", move |c| {
                    let users = storage::disk_users(c)?;
                    let v = storage::pool(c, &pool).and_then(|p| p.lookup_storage_vol_by_name(&volume));
                    Ok(match v.and_then(|v| v.path()) {
                        Ok(path) => users.contains_key(&path),
                        Err(_) => false,
                    })
                })
                .await?
        };
        if !path_in_use {
            let mut tx = db::begin_write(&ctx.state.db).await?;
            sqlx::query("DELETE FROM image_copies WHERE host_id = ? AND pool_uuid = ? AND volume = ?")
                .bind(host_id)
                .bind(&pool)
                .bind(&volume)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            storage::delete_volume_if_exists(&ctx.state.virt, host_id, &pool, &volume).await?;
        }
    }
    Ok(())
}

/// In the transaction that ends the task: a creation that did not succeed gives its reservation back and
/// leaves no VM row or seed record.
pub async fn settle_task(conn: &mut SqliteConnection, row: &TaskRow, state: TaskState) -> Result<()> {
    if !matches!(row.kind.as_str(), "vm.create" | "vm.clone") || state == TaskState::Succeeded {
        return Ok(());
    }
    // The params as they are now (the task's row was read when it started).
    let p: Value = sqlx::query_scalar::<_, String>("SELECT params FROM tasks WHERE id = ?")
        .bind(row.id)
        .fetch_optional(&mut *conn)
        .await?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| row.params());
    let uuid = p["uuid"].as_str().unwrap_or_default();
    // A row left by the sync or by the task: gone, giving back what it counts (if it still exists: whoever
    // removed it gave it back already).
    if let Some(vm) = db::vms::by_uuid(conn, uuid).await? {
        super::inventory::forget(conn, &vm).await?;
    }
    db::vm_cloud_init::delete(conn, uuid).await?;
    // Before the row held it, the reservation was the task's.
    if p["owned"] != json!(true) {
        if let Some(owner) = p["owner_id"].as_i64() {
            db::quotas::subtract(conn, owner, usage(&p["reserve"])).await?;
        }
    }
    Ok(())
}
