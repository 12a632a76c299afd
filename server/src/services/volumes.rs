//! Volumes of a pool: list (with who uses each), create, resize, clone (a task), wipe, delete, download.
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, hosts::HostRow};
use crate::error::{Error, Result};
use crate::services::{audit, pools, storage_rules, tasks};
use crate::state::AppState;
use crate::virt::{pool_xml, storage};
use app::api::{CloneVolume, CreateVolume, ResizeVolume, Task, Volume, VolumeQuery, VolumeUser};
use serde_json::{json, Value};
use virt::sys;

/// Every volume of the pool with the VMs (and images) that use it, directly or as the backing file of an
/// overlay in the same pool.
pub async fn with_users(state: &AppState, h: &HostRow, pool_id: &str) -> Result<Vec<Volume>> {
    let uuid = pool_id.to_string();
    let (pool_name, vols, users) = state
        .virt
        .call(h.id, &h.name, move |c| {
            let p = storage::pool(c, &uuid)?;
            Ok((p.name()?, storage::list_volumes(&p)?, storage::disk_users(c)?))
        })
        .await?;
    let images = db::images::copies_on_host(&state.db, h.id).await?;
    let direct = |v: &storage::VolFacts| -> Vec<VolumeUser> {
        let mut out: Vec<VolumeUser> = users
            .get(&v.path)
            .into_iter()
            .chain(users.get(&format!("{pool_name}/{}", v.name)))
            .flatten()
            .map(|(id, name)| VolumeUser {
                id: id.clone(),
                name: name.clone(),
            })
            .collect();
        out.dedup_by(|a, b| a.id == b.id);
        out
    };
    let mut out: Vec<Volume> = vols
        .iter()
        .map(|v| Volume {
            name: v.name.clone(),
            pool_id: pool_id.to_string(),
            path: v.path.clone(),
            format: v.format.clone(),
            capacity: v.capacity,
            allocation: v.allocation,
            backing: v.backing.clone(),
            used_by: direct(v),
        })
        .collect();
    // A base is in use by whatever uses its overlays.
    let inherited: Vec<(String, Vec<VolumeUser>)> = out
        .iter()
        .filter_map(|v| v.backing.clone().map(|b| (b, v.used_by.clone())))
        .collect();
    for v in &mut out {
        for (base, users) in &inherited {
            if base == &v.path {
                for u in users {
                    if !v.used_by.iter().any(|x| x.id == u.id) {
                        v.used_by.push(u.clone());
                    }
                }
            }
        }
        if let Some((id, name)) = images
            .iter()
            .find(|(_, path, _)| path == &v.path)
            .map(|(id, _, n)| (id, n))
        {
            v.used_by.push(VolumeUser {
                id: format!("image:{id}"),
                name: name.clone(),
            });
        }
    }
    Ok(out)
}

pub async fn list(state: &AppState, caller: &Caller, pool_id: &str, q: &VolumeQuery) -> Result<Vec<Volume>> {
    authorize(caller.require()?, Action::StorageRead, Resource::System)?;
    let (h, f) = pools::locate(state, pool_id).await?;
    if f.state != "running" {
        return Err(Error::InvalidState("the pool is not running".into()));
    }
    let mut vols = with_users(state, &h, pool_id).await?;
    vols.retain(|v| {
        q.format.as_deref().is_none_or(|f| f.is_empty() || v.format == f)
            && q.in_use.is_none_or(|u| u != v.used_by.is_empty())
    });
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(vols)
}

async fn one(state: &AppState, h: &HostRow, pool_id: &str, name: &str) -> Result<Volume> {
    with_users(state, h, pool_id)
        .await?
        .into_iter()
        .find(|v| v.name == name)
        .ok_or(Error::NotFound("volume"))
}

/// A volume of a running pool, checked to exist, for a change.
async fn target(state: &AppState, caller: &Caller, pool_id: &str, name: &str) -> Result<(HostRow, Volume)> {
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    storage_rules::volume_name(name).map_err(|_| Error::NotFound("volume"))?;
    let (h, f) = pools::locate(state, pool_id).await?;
    if f.state != "running" {
        return Err(Error::InvalidState("the pool is not running".into()));
    }
    let v = one(state, &h, pool_id, name).await?;
    Ok((h, v))
}

fn refuse_if_used(v: &Volume) -> Result<()> {
    match v.used_by.first() {
        Some(u) => Err(Error::InUse { by: u.name.clone() }),
        None => Ok(()),
    }
}

pub async fn get(state: &AppState, caller: &Caller, pool_id: &str, name: &str) -> Result<Volume> {
    authorize(caller.require()?, Action::StorageRead, Resource::System)?;
    let (h, _) = pools::locate(state, pool_id).await?;
    one(state, &h, pool_id, name).await
}

pub async fn create(state: &AppState, caller: &Caller, pool_id: &str, req: CreateVolume) -> Result<Volume> {
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    storage_rules::volume_name(&req.name)?;
    let format = storage_rules::volume_format(&req.format)?;
    if req.capacity_bytes == 0 || req.capacity_bytes > (64u64 << 40) {
        return Err(Error::invalid("capacity_bytes", "out_of_range"));
    }
    if req.backing.is_some() && format != "qcow2" {
        return Err(Error::invalid("backing", "needs_qcow2"));
    }
    if let Some(b) = &req.backing {
        storage_rules::volume_name(b).map_err(|_| Error::invalid("backing", "bad_format"))?;
    }
    let (h, f) = pools::locate(state, pool_id).await?;
    if f.state != "running" {
        return Err(Error::InvalidState("the pool is not running".into()));
    }
    let (uuid, name, cap, backing) = (
        pool_id.to_string(),
        req.name.clone(),
        req.capacity_bytes,
        req.backing.clone(),
    );
    state
        .virt
        .call(h.id, &h.name, move |c| {
            let p = storage::pool(c, &uuid)?;
            if p.lookup_storage_vol_by_name(&name).is_ok() {
                return Ok(Err(Error::Duplicate { what: "name" }));
            }
            let base = match &backing {
                Some(b) => match p.lookup_storage_vol_by_name(b) {
                    Ok(v) => Some(storage::vol_facts(&v)?),
                    Err(_) => return Ok(Err(Error::invalid("backing", "not_found"))),
                },
                None => None,
            };
            // An overlay is at least as large as its base.
            let cap = base.as_ref().map_or(cap, |b| cap.max(b.capacity));
            let backing = base.as_ref().map(|b| (b.path.as_str(), b.format.as_str()));
            let xml = match pool_xml::volume_xml(&name, format, cap, backing) {
                Ok(x) => x,
                Err(e) => return Ok(Err(Error::Internal(e.into()))),
            };
            virt::storage_vol::StorageVol::create_xml(&p, &xml, 0)?;
            Ok(Ok(()))
        })
        .await??;
    let tx = db::begin_write(&state.db).await?;
    let target = format!("pool:{pool_id}/{}", req.name);
    audit::commit(tx, caller, "volume.create", &target, &json!(req)).await?;
    one(state, &h, pool_id, &req.name).await
}

pub async fn delete(state: &AppState, caller: &Caller, pool_id: &str, name: &str) -> Result<()> {
    let (h, v) = target(state, caller, pool_id, name).await?;
    refuse_if_used(&v)?;
    let (uuid, n) = (pool_id.to_string(), name.to_string());
    state
        .virt
        .call(h.id, &h.name, move |c| {
            storage::pool(c, &uuid)?.lookup_storage_vol_by_name(&n)?.delete(0)
        })
        .await?;
    let tx = db::begin_write(&state.db).await?;
    let details = json!({ "capacity": v.capacity, "format": v.format });
    audit::commit(tx, caller, "volume.delete", &format!("pool:{pool_id}/{name}"), &details).await
}

/// Grows a volume; shrinking only a raw volume, only when asked (qcow2 cannot shrink safely).
pub async fn resize(state: &AppState, caller: &Caller, pool_id: &str, name: &str, req: ResizeVolume) -> Result<Volume> {
    let (h, v) = target(state, caller, pool_id, name).await?;
    if req.capacity_bytes == 0 || req.capacity_bytes > (64u64 << 40) {
        return Err(Error::invalid("capacity_bytes", "out_of_range"));
    }
    let shrinking = req.capacity_bytes < v.capacity;
    if shrinking && (!req.shrink || v.format != "raw") {
        return Err(Error::invalid(
            "capacity_bytes",
            if v.format == "raw" {
                "shrink_needs_confirmation"
            } else {
                "cannot_shrink"
            },
        ));
    }
    if shrinking {
        refuse_if_used(&v)?;
    }
    let (uuid, n, cap) = (pool_id.to_string(), name.to_string(), req.capacity_bytes);
    state
        .virt
        .call(h.id, &h.name, move |c| {
            let vol = storage::pool(c, &uuid)?.lookup_storage_vol_by_name(&n)?;
            vol.resize(
                cap,
                if shrinking {
                    sys::VIR_STORAGE_VOL_RESIZE_SHRINK
                } else {
                    0
                },
            )
        })
        .await?;
    let tx = db::begin_write(&state.db).await?;
    let details = json!({ "from": v.capacity, "to": req.capacity_bytes });
    audit::commit(tx, caller, "volume.resize", &format!("pool:{pool_id}/{name}"), &details).await?;
    one(state, &h, pool_id, name).await
}

/// Overwrites the volume's data with zeros (refused while in use).
pub async fn wipe(state: &AppState, caller: &Caller, pool_id: &str, name: &str) -> Result<Volume> {
    let (h, v) = target(state, caller, pool_id, name).await?;
    refuse_if_used(&v)?;
    let (uuid, n) = (pool_id.to_string(), name.to_string());
    state
        .virt
        .call(h.id, &h.name, move |c| {
            storage::pool(c, &uuid)?.lookup_storage_vol_by_name(&n)?.wipe(0)
        })
        .await?;
    let tx = db::begin_write(&state.db).await?;
    audit::commit(
        tx,
        caller,
        "volume.wipe",
        &format!("pool:{pool_id}/{name}"),
        &Value::Null,
    )
    .await?;
    one(state, &h, pool_id, name).await
}

/// Starts a full copy of the volume into a new one in the same pool, as a task.
pub async fn clone(state: &AppState, caller: &Caller, pool_id: &str, name: &str, req: CloneVolume) -> Result<Task> {
    let (h, v) = target(state, caller, pool_id, name).await?;
    storage_rules::volume_name(&req.name)?;
    let exists = with_users(state, &h, pool_id).await?.iter().any(|x| x.name == req.name);
    if exists {
        return Err(Error::Duplicate { what: "name" });
    }
    let p = caller.require()?;
    let params = json!({
        "host_id": h.id, "pool": pool_id, "source": name, "name": req.name,
        "format": v.format, "capacity": v.capacity, "allocation": v.allocation,
        "partial": { "host_id": h.id, "pool": pool_id, "volume": req.name },
    });
    let mut tx = db::begin_write(&state.db).await?;
    let target = format!("pool:{pool_id}/{}", req.name);
    let id = db::tasks::insert(&mut tx, "volume.clone", &target, Some(p.id), true, &params).await?;
    let details = json!({ "source": name, "task": id });
    audit::commit(tx, caller, "volume.clone", &target, &details).await?;
    tasks::spawn(state, id);
    tasks::get(state, caller, id).await
}

/// The clone task: makes an empty volume of the same format and size, then streams the bytes across.
pub async fn run_clone(ctx: &tasks::Ctx) -> Result<Value> {
    let p = &ctx.params;
    let (Some(host_id), Some(pool), Some(source), Some(name), Some(format)) = (
        p["host_id"].as_i64(),
        p["pool"].as_str(),
        p["source"].as_str(),
        p["name"].as_str(),
        p["format"].as_str(),
    ) else {
        return Err(Error::Internal(anyhow::anyhow!("clone task without its parameters")));
    };
    let capacity = p["capacity"].as_u64().unwrap_or(0);
    let total = if format == "raw" {
        capacity
    } else {
        p["allocation"].as_u64().unwrap_or(capacity)
    };
    let host = crate::services::hosts::row(&ctx.state, host_id).await?;
    // A task resumed at start may come before its host's connection.
    ctx.state
        .virt
        .wait_online(host.id, std::time::Duration::from_secs(30))
        .await;
    let conn = ctx.state.virt.connection(host.id, &host.name)?;
    let (pool, source, name, format) = (
        pool.to_string(),
        source.to_string(),
        name.to_string(),
        format.to_string(),
    );
    ctx.blocking("copying", total, move |meter| {
        let p = storage::pool(&conn, &pool).map_err(crate::virt::from_libvirt)?;
        let src = p
            .lookup_storage_vol_by_name(&source)
            .map_err(crate::virt::from_libvirt)?;
        storage::ensure_space(&p, total)?;
        let xml = pool_xml::volume_xml(&name, &format, capacity, None).map_err(|e| Error::Internal(e.into()))?;
        let dst = virt::storage_vol::StorageVol::create_xml(&p, &xml, 0).map_err(crate::virt::from_libvirt)?;
        storage::copy_between(&conn, &src, &conn, &dst, 0, &meter)?;
        let _ = p.refresh(0);
        Ok(())
    })
    .await?;
    Ok(json!({ "volume": ctx.params["name"] }))
}

/// Where to read a volume's bytes: its host and its size on disk (what a download delivers).
pub async fn content_source(state: &AppState, caller: &Caller, pool_id: &str, name: &str) -> Result<(i64, u64)> {
    // The bytes of a volume are a VM's disk: those who manage storage read them, not every reader of the list.
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    storage_rules::volume_name(name).map_err(|_| Error::NotFound("volume"))?;
    let (h, _) = pools::locate(state, pool_id).await?;
    let (uuid, n) = (pool_id.to_string(), name.to_string());
    let size = state
        .virt
        .call(h.id, &h.name, move |c| {
            let v = storage::pool(c, &uuid)?.lookup_storage_vol_by_name(&n)?;
            // The physical size: what a stream of the volume's file holds.
            Ok(v.info_flags(sys::VIR_STORAGE_VOL_GET_PHYSICAL)?.allocation)
        })
        .await?;
    Ok((h.id, size))
}
