//! Storage pools on every host: list, create (any type, built from validated fields), start, stop, refresh,
//! autostart, delete (refused while a VM uses a volume), and the images pool of each host.
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, hosts::HostRow};
use crate::error::{Error, Result};
use crate::services::{audit, storage_rules};
use crate::state::AppState;
use crate::virt::pool_xml;
use crate::virt::storage::{self, PoolFacts};
use app::api::{CreatePool, Pool, PoolDetail, PoolQuery, UpdatePool};
use serde_json::json;
use virt::sys;

fn to_api(h: &HostRow, f: &PoolFacts, images_pool: Option<&str>) -> Pool {
    Pool {
        id: f.uuid.clone(),
        host_id: h.id,
        host_name: h.name.clone(),
        name: f.name.clone(),
        kind: f.xml.kind.clone(),
        state: f.state.to_string(),
        autostart: f.autostart,
        persistent: f.persistent,
        capacity: f.capacity,
        allocation: f.allocation,
        available: f.available,
        volume_count: f.volume_count,
        target_path: f.xml.target_path.clone(),
        images_pool: images_pool == Some(f.uuid.as_str()),
    }
}

/// The pool and the host it is on; `NotFound` when no online host has it.
pub async fn locate(state: &AppState, uuid: &str) -> Result<(HostRow, PoolFacts)> {
    if uuid.len() != 36 {
        return Err(Error::NotFound("pool"));
    }
    let hosts = db::hosts::list(&state.db).await?;
    let known = state.virt.pool_host(uuid);
    // The host it was last seen on first; then every other online host.
    let mut order: Vec<&HostRow> = hosts.iter().filter(|h| Some(h.id) == known).collect();
    order.extend(hosts.iter().filter(|h| Some(h.id) != known));
    for h in order {
        let id = uuid.to_string();
        match state
            .virt
            .call(h.id, &h.name, move |c| storage::pool_facts(&storage::pool(c, &id)?))
            .await
        {
            Ok(f) => {
                state.virt.remember_pool(uuid, h.id);
                return Ok((h.clone(), f));
            }
            Err(e @ Error::HostOffline { .. }) if Some(h.id) == known => return Err(e),
            Err(_) => continue,
        }
    }
    Err(Error::NotFound("pool"))
}

pub async fn list(state: &AppState, caller: &Caller, q: &PoolQuery) -> Result<Vec<Pool>> {
    authorize(caller.require()?, Action::StorageRead, Resource::System)?;
    let mut out = Vec::new();
    for h in db::hosts::list(&state.db).await? {
        if q.host_id.is_some_and(|id| id != h.id) {
            continue;
        }
        // An offline host's pools cannot be read; the host list says why.
        let Ok(pools) = state.virt.call(h.id, &h.name, storage::list_pools).await else {
            continue;
        };
        let images = db::hosts::images_pool(&state.db, h.id).await?;
        for f in &pools {
            state.virt.remember_pool(&f.uuid, h.id);
            out.push(to_api(&h, f, images.as_deref()));
        }
    }
    out.sort_by(|a, b| (&a.host_name, &a.name).cmp(&(&b.host_name, &b.name)));
    Ok(out)
}

pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<PoolDetail> {
    authorize(caller.require()?, Action::StorageRead, Resource::System)?;
    let (h, f) = locate(state, id).await?;
    let images = db::hosts::images_pool(&state.db, h.id).await?;
    Ok(PoolDetail {
        pool: to_api(&h, &f, images.as_deref()),
        source: f.xml.source.clone(),
        xml: f.raw_xml.clone(),
    })
}

/// Defines the pool, then (unless `define_only`) builds and starts it; a pool that cannot start is undefined
/// again, so a failed create leaves nothing behind.
pub async fn create(state: &AppState, caller: &Caller, req: CreatePool) -> Result<Pool> {
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    storage_rules::create_pool(&req, &state.config.storage.pool_roots)?;
    let h = super::hosts::row(state, req.host_id).await?;
    let xml = pool_xml::pool_xml(&req).map_err(|e| Error::Internal(e.into()))?;
    let (build, start, autostart) = (req.build, !req.define_only, req.autostart);
    let name = req.name.clone();
    let facts = state
        .virt
        .call(h.id, &h.name, move |c| {
            if c.lookup_storage_pool_by_name(&name).is_ok() {
                return Ok(Err(Error::Duplicate { what: "name" }));
            }
            let p = c.define_storage_pool_xml(&xml, 0)?;
            let made = (|| {
                if build {
                    p.build(sys::VIR_STORAGE_POOL_BUILD_NEW)?;
                }
                if start {
                    p.create(0)?;
                }
                if autostart {
                    p.set_autostart(true)?;
                }
                storage::pool_facts(&p)
            })();
            match made {
                Ok(f) => Ok(Ok(f)),
                Err(e) => {
                    let _ = p.destroy();
                    let _ = p.undefine();
                    Err(e)
                }
            }
        })
        .await??;
    state.virt.remember_pool(&facts.uuid, h.id);
    let tx = db::begin_write(&state.db).await?;
    let details = json!({ "name": facts.name, "type": req.kind.as_str(), "host": h.name });
    audit::commit(tx, caller, "pool.create", &format!("pool:{}", facts.uuid), &details).await?;
    Ok(to_api(&h, &facts, None))
}

pub async fn update(state: &AppState, caller: &Caller, id: &str, req: UpdatePool) -> Result<Pool> {
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    let (h, _) = locate(state, id).await?;
    if let Some(a) = req.autostart {
        let uuid = id.to_string();
        state
            .virt
            .call(h.id, &h.name, move |c| storage::pool(c, &uuid)?.set_autostart(a))
            .await?;
    }
    let current = db::hosts::images_pool(&state.db, h.id).await?;
    let mut tx = db::begin_write(&state.db).await?;
    match req.images_pool {
        Some(true) => db::hosts::set_images_pool(&mut tx, h.id, Some(id)).await?,
        Some(false) if current.as_deref() == Some(id) => db::hosts::set_images_pool(&mut tx, h.id, None).await?,
        _ => {}
    }
    audit::commit(tx, caller, "pool.update", &format!("pool:{id}"), &json!(req)).await?;
    let (h, f) = locate(state, id).await?;
    let images = db::hosts::images_pool(&state.db, h.id).await?;
    Ok(to_api(&h, &f, images.as_deref()))
}

/// `start`, `stop` or `refresh`.
pub async fn action(state: &AppState, caller: &Caller, id: &str, action: &str) -> Result<Pool> {
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    if !matches!(action, "start" | "stop" | "refresh") {
        return Err(Error::NotFound("action"));
    }
    let (h, f) = locate(state, id).await?;
    let running = f.state == "running";
    match (action, running) {
        ("start", true) | ("stop", false) | ("refresh", false) => {
            return Err(Error::InvalidAction {
                action: action.into(),
                state: f.state.into(),
            })
        }
        _ => {}
    }
    if action == "stop" {
        refuse_if_used(state, &h, id).await?;
    }
    let (uuid, act) = (id.to_string(), action.to_string());
    state
        .virt
        .call(h.id, &h.name, move |c| {
            let p = storage::pool(c, &uuid)?;
            match act.as_str() {
                "start" => p.create(0),
                "stop" => p.destroy(),
                _ => p.refresh(0),
            }
        })
        .await?;
    let tx = db::begin_write(&state.db).await?;
    audit::commit(
        tx,
        caller,
        &format!("pool.{action}"),
        &format!("pool:{id}"),
        &json!({ "name": f.name }),
    )
    .await?;
    let (h, f) = locate(state, id).await?;
    let images = db::hosts::images_pool(&state.db, h.id).await?;
    Ok(to_api(&h, &f, images.as_deref()))
}

/// Fails with `in_use` naming a VM (or image) when any volume of the pool is in use.
async fn refuse_if_used(state: &AppState, h: &HostRow, id: &str) -> Result<()> {
    let vols = super::volumes::with_users(state, h, id).await?;
    if let Some(user) = vols.iter().flat_map(|v| v.used_by.iter()).next() {
        return Err(Error::InUse { by: user.name.clone() });
    }
    Ok(())
}

/// Deletes the pool: stops it, deletes its contents when asked, and undefines it. Refused while a VM uses one
/// of its volumes or an image is kept in it.
pub async fn delete(state: &AppState, caller: &Caller, id: &str, contents: bool) -> Result<()> {
    authorize(caller.require()?, Action::StorageManage, Resource::System)?;
    let (h, f) = locate(state, id).await?;
    if contents && f.state != "running" {
        // Its volumes can only be seen (and checked for users) while it runs.
        let uuid = id.to_string();
        state
            .virt
            .call(h.id, &h.name, move |c| storage::pool(c, &uuid)?.create(0))
            .await?;
    }
    if f.state == "running" || contents {
        refuse_if_used(state, &h, id).await?;
    }
    if db::images::copies_in_pool(&state.db, id).await? > 0 {
        return Err(Error::InUse { by: "images".into() });
    }
    let uuid = id.to_string();
    state
        .virt
        .call(h.id, &h.name, move |c| {
            let p = storage::pool(c, &uuid)?;
            if contents {
                // libvirt removes only an empty pool's directory (or volume group): its volumes go first.
                if !p.is_active()? {
                    p.create(0)?;
                }
                for v in p.list_all_volumes(0)? {
                    v.delete(0)?;
                }
            }
            if p.is_active()? {
                p.destroy()?;
            }
            if contents {
                p.delete(sys::VIR_STORAGE_POOL_DELETE_NORMAL)?;
            }
            if p.is_persistent()? {
                p.undefine()?;
            }
            Ok(())
        })
        .await?;
    let current = db::hosts::images_pool(&state.db, h.id).await?;
    let mut tx = db::begin_write(&state.db).await?;
    if current.as_deref() == Some(id) {
        db::hosts::set_images_pool(&mut tx, h.id, None).await?;
    }
    let details = json!({ "name": f.name, "contents": contents });
    audit::commit(tx, caller, "pool.delete", &format!("pool:{id}"), &details).await
}

/// The pool a host keeps images in: the chosen one, else `hangar-images` (made as a `dir` pool under
/// `storage.images_dir` when missing, started and set to autostart).
pub async fn images_pool(state: &AppState, host_id: i64) -> Result<(HostRow, PoolFacts)> {
    let h = super::hosts::row(state, host_id).await?;
    if let Some(uuid) = db::hosts::images_pool(&state.db, host_id).await? {
        if let Ok(found) = locate(state, &uuid).await {
            return Ok(found);
        }
    }
    let req = CreatePool {
        host_id,
        name: "hangar-images".into(),
        kind: app::api::PoolType::Dir,
        target_path: Some(state.config.storage.images_dir.display().to_string()),
        build: true,
        autostart: true,
        ..Default::default()
    };
    let xml = pool_xml::pool_xml(&req).map_err(|e| Error::Internal(e.into()))?;
    let facts = state
        .virt
        .call(h.id, &h.name, move |c| {
            let p = match c.lookup_storage_pool_by_name("hangar-images") {
                Ok(p) => p,
                Err(_) => {
                    let p = c.define_storage_pool_xml(&xml, 0)?;
                    p.build(0)?;
                    let _ = p.set_autostart(true);
                    p
                }
            };
            if !p.is_active()? {
                p.create(0)?;
            }
            storage::pool_facts(&p)
        })
        .await?;
    state.virt.remember_pool(&facts.uuid, h.id);
    let mut tx = db::begin_write(&state.db).await?;
    db::hosts::set_images_pool(&mut tx, h.id, Some(&facts.uuid)).await?;
    tx.commit().await?;
    Ok((h, facts))
}
