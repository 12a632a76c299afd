//! The image library: ISOs and templates, public or private to their owner (private ones count against the
//! owner's disk quota), with their copies on hosts, the VMs using them, import, edit, copy and delete.
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, images::ImageRow, quotas::Usage};
use crate::error::{Error, Result};
use crate::services::{audit, pools, quota, storage_rules, tasks, volumes};
use crate::state::AppState;
use crate::virt::{pool_xml, storage};
use app::api::{CopyImage, Image, ImageFacts, ImageQuery, ImportImage, Task, UpdateImage};
use serde_json::{json, Value};
use std::collections::HashMap;

const GIB: i64 = 1 << 30;

pub fn validate_facts(f: &ImageFacts) -> Result<()> {
    let short = |field: &'static str, v: &str, max: usize| -> Result<()> {
        if v.chars().count() > max || v.chars().any(char::is_control) {
            Err(Error::invalid(field, "bad_format"))
        } else {
            Ok(())
        }
    };
    short("os_family", &f.os_family, 40)?;
    short("os_version", &f.os_version, 40)?;
    short("default_user", &f.default_user, 64)?;
    if f.description.chars().count() > 2000 {
        return Err(Error::invalid("description", "too_long"));
    }
    if !matches!(f.arch.as_str(), "x86_64" | "aarch64") {
        return Err(Error::invalid("arch", "unknown"));
    }
    if !matches!(f.firmware.as_str(), "bios" | "uefi") {
        return Err(Error::invalid("firmware", "unknown"));
    }
    if !matches!(f.disk_bus.as_str(), "virtio" | "scsi" | "sata" | "ide") {
        return Err(Error::invalid("disk_bus", "unknown"));
    }
    if !(0..=65536).contains(&f.min_disk_gib) {
        return Err(Error::invalid("min_disk_gib", "out_of_range"));
    }
    if !(0..=16 << 20).contains(&f.min_memory_mib) {
        return Err(Error::invalid("min_memory_mib", "out_of_range"));
    }
    if !(0..=512).contains(&f.default_vcpus) {
        return Err(Error::invalid("default_vcpus", "out_of_range"));
    }
    Ok(())
}

fn resource(row: &ImageRow) -> Resource {
    Resource::Image {
        owner: row.owner_id,
        public: row.is_public(),
    }
}

fn sees(p: &Principal, row: &ImageRow) -> bool {
    authorize(p, Action::ImageRead, resource(row)).is_ok()
}

/// How many VMs use each image, read from every host holding a copy (one pass per pool).
async fn usage(state: &AppState, copies: &[db::images::CopyRow]) -> HashMap<i64, i64> {
    let mut by_pool: HashMap<(i64, String), Vec<app::api::Volume>> = HashMap::new();
    let mut out: HashMap<i64, i64> = HashMap::new();
    for c in copies {
        let key = (c.host_id, c.pool_uuid.clone());
        if !by_pool.contains_key(&key) {
            let vols = match pools::locate(state, &c.pool_uuid).await {
                Ok((h, _)) => volumes::with_users(state, &h, &c.pool_uuid).await.unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            by_pool.insert(key.clone(), vols);
        }
        let users = by_pool[&key]
            .iter()
            .find(|v| v.path == c.path)
            .map_or(0, |v| v.used_by.iter().filter(|u| !u.id.starts_with("image:")).count());
        *out.entry(c.image_id).or_default() += users as i64;
    }
    out
}

pub async fn list(state: &AppState, caller: &Caller, q: &ImageQuery) -> Result<Vec<Image>> {
    let p = caller.require()?;
    let needle = q.q.as_deref().unwrap_or("").to_lowercase();
    let copies = db::images::copies(&state.db).await?;
    let rows: Vec<ImageRow> = db::images::all(&state.db)
        .await?
        .into_iter()
        .filter(|r| sees(p, r))
        .filter(|r| q.kind.as_deref().is_none_or(|k| k.is_empty() || r.kind == k))
        .filter(|r| {
            q.visibility
                .as_deref()
                .is_none_or(|v| v.is_empty() || r.visibility == v)
        })
        .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle))
        .filter(|r| {
            q.host_id
                .is_none_or(|h| copies.iter().any(|c| c.image_id == r.id && c.host_id == h))
        })
        .collect();
    let shown: Vec<db::images::CopyRow> = copies
        .into_iter()
        .filter(|c| rows.iter().any(|r| r.id == c.image_id))
        .collect();
    let used = usage(state, &shown).await;
    Ok(rows
        .iter()
        .map(|r| r.to_api(&shown, used.get(&r.id).copied().unwrap_or(0)))
        .collect())
}

pub(super) async fn row(state: &AppState, p: &Principal, id: i64) -> Result<ImageRow> {
    let mut conn = state.db.acquire().await?;
    db::images::by_id(&mut conn, id)
        .await?
        .filter(|r| sees(p, r))
        .ok_or(Error::NotFound("image"))
}

async fn detail(state: &AppState, r: &ImageRow) -> Result<Image> {
    let copies: Vec<_> = db::images::copies(&state.db)
        .await?
        .into_iter()
        .filter(|c| c.image_id == r.id)
        .collect();
    let used = usage(state, &copies).await;
    Ok(r.to_api(&copies, used.get(&r.id).copied().unwrap_or(0)))
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<Image> {
    let r = row(state, caller.require()?, id).await?;
    detail(state, &r).await
}

/// Makes an existing volume an image (its bytes stay where they are). Checksums are not computed for imports.
pub async fn import(state: &AppState, caller: &Caller, req: ImportImage) -> Result<Image> {
    let p = caller.require()?.clone();
    authorize(&p, Action::StorageManage, Resource::System)?;
    storage_rules::image_name(&req.name)?;
    validate_facts(&req.facts)?;
    if !matches!(req.kind.as_str(), "iso" | "template") {
        return Err(Error::invalid("kind", "unknown"));
    }
    let visibility = if req.visibility.is_empty() {
        "public"
    } else {
        req.visibility.as_str()
    };
    if !matches!(visibility, "public" | "private") {
        return Err(Error::invalid("visibility", "unknown"));
    }
    authorize(
        &p,
        Action::ImageManage,
        Resource::Image {
            owner: Some(p.id),
            public: visibility == "public",
        },
    )?;
    let (h, pool) = pools::locate(state, &req.pool_id).await.map_err(|e| match e {
        Error::NotFound(_) => Error::invalid("pool_id", "not_found"),
        other => other,
    })?;
    let vols = volumes::with_users(state, &h, &req.pool_id).await?;
    let v = vols
        .iter()
        .find(|v| v.name == req.volume)
        .ok_or(Error::invalid("volume", "not_found"))?;
    if v.used_by.iter().any(|u| u.id.starts_with("image:")) {
        return Err(Error::Duplicate { what: "volume" });
    }
    let format = match (req.kind.as_str(), v.format.as_str()) {
        ("iso", _) => "iso",
        (_, "qcow2") => "qcow2",
        (_, "raw") => "raw",
        _ => return Err(Error::invalid("volume", "unsupported_format")),
    };
    // Its size is what a download of it delivers: the file's physical size, not its allocation.
    let (_, physical) = volumes::content_source(state, caller, &req.pool_id, &v.name).await?;
    let q_disk_gib = if visibility == "private" {
        (v.capacity as i64 + GIB - 1) / GIB
    } else {
        0
    };
    let mut tx = db::begin_write(&state.db).await?;
    if q_disk_gib > 0 {
        quota::reserve(
            &mut tx,
            p.id,
            Usage {
                disk_gib: q_disk_gib,
                ..Usage::default()
            },
        )
        .await?;
    }
    let id = db::images::insert(
        &mut tx,
        &db::images::NewImage {
            name: req.name.trim(),
            kind: &req.kind,
            visibility,
            owner_id: Some(p.id),
            format,
            size_bytes: physical as i64,
            virtual_size_bytes: v.capacity as i64,
            sha256: "",
            md5: "",
            facts: &req.facts,
            q_disk_gib,
        },
    )
    .await?;
    db::images::add_copy(&mut tx, id, h.id, &pool.uuid, &pool.name, &v.name, &v.path).await?;
    // Its checksums are read off the volume by a task (the bytes may be large, and stream through libvirt).
    let params = json!({ "image_id": id, "host_id": h.id, "pool": pool.uuid, "volume": v.name, "size": physical });
    let task = db::tasks::insert(
        &mut tx,
        "image.checksum",
        &format!("image:{id}"),
        Some(p.id),
        true,
        &params,
    )
    .await?;
    let details = json!({ "name": req.name, "pool": pool.name, "volume": v.name, "task": task });
    audit::commit(tx, caller, "image.import", &format!("image:{id}"), &details).await?;
    tasks::spawn(state, task);
    get(state, caller, id).await
}

/// The checksum task of an imported volume: streams it through libvirt, hashing SHA-256 and MD5.
pub async fn run_checksum(ctx: &tasks::Ctx) -> Result<Value> {
    use md5::Md5;
    use sha2::{Digest, Sha256};
    let p = ctx.params.clone();
    let (Some(image_id), Some(host_id), Some(pool), Some(volume)) = (
        p["image_id"].as_i64(),
        p["host_id"].as_i64(),
        p["pool"].as_str().map(str::to_string),
        p["volume"].as_str().map(str::to_string),
    ) else {
        return Err(Error::Internal(anyhow::anyhow!("checksum task without its parameters")));
    };
    let size = p["size"].as_u64().unwrap_or(0);
    ctx.state
        .virt
        .wait_online(host_id, std::time::Duration::from_secs(30))
        .await;
    let conn = ctx.state.virt.connection(host_id, "")?;
    let (sha256, md5) = ctx
        .blocking("hashing", size, move |meter| {
            let lv = crate::virt::from_libvirt;
            let vol = storage::pool(&conn, &pool)
                .map_err(lv)?
                .lookup_storage_vol_by_name(&volume)
                .map_err(lv)?;
            let (mut a, mut b) = (Sha256::new(), Md5::new());
            let mut stopped = false;
            storage::download(&conn, &vol, 0, 0, |chunk| {
                if meter.cancelled() {
                    stopped = true;
                    return false;
                }
                a.update(&chunk);
                b.update(&chunk);
                meter.add(chunk.len() as u64);
                true
            })?;
            if stopped {
                return Err(Error::Cancelled);
            }
            Ok((hex::encode(a.finalize()), hex::encode(b.finalize())))
        })
        .await?;
    sqlx::query("UPDATE images SET sha256 = ?, md5 = ? WHERE id = ?")
        .bind(&sha256)
        .bind(&md5)
        .bind(image_id)
        .execute(&ctx.state.db)
        .await?;
    Ok(json!({ "image_id": image_id, "sha256": sha256 }))
}

pub async fn update(state: &AppState, caller: &Caller, id: i64, req: UpdateImage) -> Result<Image> {
    let p = caller.require()?.clone();
    let mut r = row(state, &p, id).await?;
    authorize(&p, Action::ImageManage, resource(&r))?;
    if let Some(n) = &req.name {
        storage_rules::image_name(n)?;
        r.name = n.trim().to_string();
    }
    if let Some(f) = &req.facts {
        validate_facts(f)?;
        (r.os_family, r.os_version, r.arch, r.firmware, r.disk_bus) = (
            f.os_family.clone(),
            f.os_version.clone(),
            f.arch.clone(),
            f.firmware.clone(),
            f.disk_bus.clone(),
        );
        (r.min_disk_gib, r.min_memory_mib, r.cloud_init) = (f.min_disk_gib, f.min_memory_mib, f.cloud_init);
        r.default_vcpus = f.default_vcpus;
        (r.default_user, r.description) = (f.default_user.clone(), f.description.clone());
    }
    let mut tx = db::begin_write(&state.db).await?;
    // What the quota counts is read again under the write lock: two changes at once count once.
    let current = db::images::by_id(&mut tx, id).await?.ok_or(Error::NotFound("image"))?;
    (r.visibility, r.q_disk_gib) = (current.visibility, current.q_disk_gib);
    if let Some(v) = &req.visibility {
        let public = match v.as_str() {
            "public" => true,
            "private" => false,
            _ => return Err(Error::invalid("visibility", "unknown")),
        };
        // Making an image public or private is managing a public image either way.
        authorize(
            &p,
            Action::ImageManage,
            Resource::Image {
                owner: r.owner_id,
                public: true,
            },
        )?;
        if public != r.is_public() {
            let owner = r.owner_id.ok_or(Error::invalid("visibility", "no_owner"))?;
            let gib = (r.virtual_size_bytes.max(r.size_bytes) + GIB - 1) / GIB;
            if public {
                quota::release(
                    &mut tx,
                    owner,
                    Usage {
                        disk_gib: r.q_disk_gib,
                        ..Usage::default()
                    },
                )
                .await?;
                r.q_disk_gib = 0;
            } else {
                quota::reserve(
                    &mut tx,
                    owner,
                    Usage {
                        disk_gib: gib,
                        ..Usage::default()
                    },
                )
                .await?;
                r.q_disk_gib = gib;
            }
            r.visibility = v.clone();
        }
    }
    db::images::update(&mut tx, &r).await?;
    audit::commit(tx, caller, "image.update", &format!("image:{id}"), &json!(req)).await?;
    get(state, caller, id).await
}

/// Deletes the image and its copies' volumes; refused while a VM uses a copy (as a disk or a backing file).
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let p = caller.require()?.clone();
    let r = row(state, &p, id).await?;
    authorize(&p, Action::ImageManage, resource(&r))?;
    let img = detail(state, &r).await?;
    if img.used_by > 0 {
        return Err(Error::InUse {
            by: format!("{} VM(s)", img.used_by),
        });
    }
    // Checked strictly, copy by copy: a host that cannot be asked refuses the delete rather than passing it. An
    // overlay made from a copy (even one no VM uses yet) would lose its base.
    for c in &img.copies {
        let (h, _) = pools::locate(state, &c.pool_id).await?;
        let vols = volumes::with_users(state, &h, &c.pool_id).await?;
        let copy = vols.iter().find(|v| v.name == c.volume);
        if let Some(u) = copy.and_then(|v| v.used_by.iter().find(|u| !u.id.starts_with("image:"))) {
            return Err(Error::InUse { by: u.name.clone() });
        }
        let path = copy.map(|v| v.path.clone());
        if let Some(overlay) = vols.iter().find(|v| v.backing.is_some() && v.backing == path) {
            return Err(Error::InUse {
                by: overlay.name.clone(),
            });
        }
    }
    for c in &img.copies {
        storage::delete_volume_if_exists(&state.virt, c.host_id, &c.pool_id, &c.volume).await?;
    }
    let mut tx = db::begin_write(&state.db).await?;
    // What the row counted when it was deleted, inside this transaction: two deletes at once give back once.
    let Some((owner, q_disk_gib)) = db::images::delete(&mut tx, id).await? else {
        return Err(Error::NotFound("image"));
    };
    if let (Some(owner), true) = (owner, q_disk_gib > 0) {
        quota::release(
            &mut tx,
            owner,
            Usage {
                disk_gib: q_disk_gib,
                ..Usage::default()
            },
        )
        .await?;
    }
    audit::commit(
        tx,
        caller,
        "image.delete",
        &format!("image:{id}"),
        &json!({ "name": r.name }),
    )
    .await
}

/// Starts copying the image to another host's pool, streamed host to host through libvirt, as a task.
pub async fn copy(state: &AppState, caller: &Caller, id: i64, req: CopyImage) -> Result<Task> {
    let p = caller.require()?.clone();
    let r = row(state, &p, id).await?;
    authorize(&p, Action::ImageManage, resource(&r))?;
    let img = detail(state, &r).await?;
    if img.copies.iter().any(|c| c.host_id == req.host_id) {
        return Err(Error::Duplicate { what: "host" });
    }
    let src = img
        .copies
        .iter()
        .find(|c| state.virt.online_hosts().contains(&c.host_id))
        .ok_or(Error::InvalidState("no host holding this image is online".into()))?;
    let (dst_host, dst_pool) = match &req.pool_id {
        Some(pool) => {
            authorize(&p, Action::StorageManage, Resource::System)?;
            let found = pools::locate(state, pool).await?;
            if found.0.id != req.host_id {
                return Err(Error::invalid("pool_id", "not_on_host"));
            }
            found
        }
        None => pools::images_pool(state, req.host_id).await?,
    };
    let volume = format!("hangar-image-{id}.{}", if r.kind == "iso" { "iso" } else { "img" });
    let params = json!({
        "image_id": id, "src_host": src.host_id, "src_pool": src.pool_id, "src_volume": src.volume,
        "dst_host": dst_host.id, "dst_pool": dst_pool.uuid, "volume": volume,
        "format": if r.format == "qcow2" { "qcow2" } else { "raw" },
        "capacity": r.virtual_size_bytes, "size": r.size_bytes,
        "partial": { "host_id": dst_host.id, "pool": dst_pool.uuid, "volume": volume },
    });
    let mut tx = db::begin_write(&state.db).await?;
    let target = format!("image:{id}");
    let task = db::tasks::insert(&mut tx, "image.copy", &target, Some(p.id), true, &params).await?;
    let details = json!({ "to_host": dst_host.name, "pool": dst_pool.name, "task": task });
    audit::commit(tx, caller, "image.copy", &target, &details).await?;
    tasks::spawn(state, task);
    tasks::get(state, caller, task).await
}

/// The copy task: a new volume on the target host, filled from the source volume through two libvirt streams.
pub async fn run_copy(ctx: &tasks::Ctx) -> Result<Value> {
    let p = ctx.params.clone();
    let field = |k: &str| {
        p[k].as_str()
            .map(str::to_string)
            .ok_or(Error::Internal(anyhow::anyhow!("copy without {k}")))
    };
    let (src_pool, src_volume, dst_pool, volume, format) = (
        field("src_pool")?,
        field("src_volume")?,
        field("dst_pool")?,
        field("volume")?,
        field("format")?,
    );
    let (src_host, dst_host, image_id) = (
        p["src_host"].as_i64().unwrap_or(0),
        p["dst_host"].as_i64().unwrap_or(0),
        p["image_id"].as_i64().unwrap_or(0),
    );
    let (sh, dh) = (
        super::hosts::row(&ctx.state, src_host).await?,
        super::hosts::row(&ctx.state, dst_host).await?,
    );
    for id in [sh.id, dh.id] {
        ctx.state.virt.wait_online(id, std::time::Duration::from_secs(30)).await;
    }
    let src_conn = ctx.state.virt.connection(sh.id, &sh.name)?;
    let dst_conn = ctx.state.virt.connection(dh.id, &dh.name)?;
    let capacity = p["capacity"].as_u64().unwrap_or(0);
    let total = p["size"].as_u64().unwrap_or(capacity);
    let vol = volume.clone();
    let (pool_name, path) = ctx
        .blocking("copying", total, move |meter| {
            let lv = crate::virt::from_libvirt;
            let sp = storage::pool(&src_conn, &src_pool).map_err(lv)?;
            let src = sp.lookup_storage_vol_by_name(&src_volume).map_err(lv)?;
            let dp = storage::pool(&dst_conn, &dst_pool).map_err(lv)?;
            if let Ok(old) = dp.lookup_storage_vol_by_name(&vol) {
                old.delete(0).map_err(lv)?;
            }
            storage::ensure_space(&dp, total)?;
            let xml = pool_xml::volume_xml(&vol, &format, capacity, None).map_err(|e| Error::Internal(e.into()))?;
            let dst = virt::storage_vol::StorageVol::create_xml(&dp, &xml, 0).map_err(lv)?;
            storage::copy_between(&src_conn, &src, &dst_conn, &dst, 0, &meter)?;
            let _ = dp.refresh(0);
            let dst = dp.lookup_storage_vol_by_name(&vol).map_err(lv)?;
            Ok((dp.name().map_err(lv)?, dst.path().map_err(lv)?))
        })
        .await?;
    let dst_pool = field("dst_pool")?;
    let mut tx = db::begin_write(&ctx.state.db).await?;
    db::images::add_copy(&mut tx, image_id, dst_host, &dst_pool, &pool_name, &volume, &path).await?;
    tx.commit().await?;
    Ok(json!({ "image_id": image_id, "host_id": dst_host }))
}

/// Where to read an image's bytes: a copy on an online host (pool, volume, size).
pub async fn content_source(state: &AppState, caller: &Caller, id: i64) -> Result<(i64, String, String, String, u64)> {
    let p = caller.require()?.clone();
    let r = row(state, &p, id).await?;
    let img = detail(state, &r).await?;
    let online = state.virt.online_hosts();
    let c = img
        .copies
        .iter()
        .find(|c| online.contains(&c.host_id))
        .ok_or(Error::InvalidState("no host holding this image is online".into()))?;
    let ext = if r.kind == "iso" { "iso" } else { r.format.as_str() };
    let filename = format!("{}.{ext}", r.name.replace(['"', '\\'], "_"));
    Ok((
        c.host_id,
        c.pool_id.clone(),
        c.volume.clone(),
        filename,
        r.size_bytes as u64,
    ))
}
