//! Virtual machines: the list across hosts, details, lifecycle actions, edits, ownership, deletion, batches.
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, quotas::Usage, vms::VmRow};
use crate::error::{Error, Result};
use crate::services::{audit, inventory, quota};
use crate::state::AppState;
use crate::virt::{domain, xml};
use app::api::{BatchItem, BatchRequest, Role, UpdateVm, Vm, VmDetail, VmDisk, VmPage, VmQuery};
use serde_json::json;
use virt::sys;

pub async fn list(state: &AppState, caller: &Caller, q: &VmQuery) -> Result<VmPage> {
    let p = caller.require()?;
    let only_owner = (p.role == Role::User).then_some(p.id);
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=1000).contains(&per_page) {
        return Err(Error::invalid("per_page", "out_of_range"));
    }
    let page = q.page.unwrap_or(1).max(1);
    let rows = state.vm_list.rows().await?;
    let (total, items) = super::vm_list::select(&rows, q, only_owner, page, per_page)?;
    Ok(VmPage {
        items: items.iter().map(VmRow::to_api).collect(),
        total,
        page,
        per_page,
    })
}

async fn row(state: &AppState, uuid: &str) -> Result<VmRow> {
    let mut conn = state.db.acquire().await?;
    db::vms::by_uuid(&mut conn, uuid).await?.ok_or(Error::NotFound("vm"))
}

/// The VM, if the principal may see it; someone else's VM is "not found" to a `user`.
async fn visible(state: &AppState, p: &Principal, uuid: &str, action: Action) -> Result<VmRow> {
    let vm = row(state, uuid).await?;
    if authorize(p, Action::VmRead, Resource::Vm(vm.owner_id)).is_err() {
        return Err(if p.role == Role::User {
            Error::Forbidden
        } else {
            Error::NotFound("vm")
        });
    }
    authorize(p, action, Resource::Vm(vm.owner_id))?;
    Ok(vm)
}

pub async fn get(state: &AppState, caller: &Caller, uuid: &str) -> Result<VmDetail> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmRead).await?;
    detail(state, &vm).await
}

async fn detail(state: &AppState, vm: &VmRow) -> Result<VmDetail> {
    let id = vm.uuid.clone();
    let (facts, text, autostart, persistent, vols) = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let text = dom.xml_desc(0)?;
            let parsed = xml::parse_domain(&text).unwrap_or_default();
            let vols: Vec<_> = parsed
                .disks
                .iter()
                .map(|d| d.path.as_deref().map(|p| domain::volume_facts(c, p)))
                .collect();
            Ok((
                domain::facts(&dom)?,
                text,
                dom.autostart().unwrap_or(false),
                dom.is_persistent().unwrap_or(false),
                vols,
            ))
        })
        .await?;
    let parsed = xml::parse_domain(&text).map_err(|e| Error::Internal(anyhow::anyhow!("domain XML: {e}")))?;
    let mut conn = state.db.acquire().await?;
    db::vms::upsert(&mut conn, vm.host_id, &facts).await?;
    let fresh = db::vms::by_uuid(&mut conn, &vm.uuid)
        .await?
        .ok_or(Error::NotFound("vm"))?;
    drop(conn);
    let events = db::vms::history(&state.db, &vm.uuid, 50).await?;
    let uptime_seconds = (fresh.state == "running")
        .then(|| {
            events
                .iter()
                .find(|e| e.kind == "started" || e.kind == "vm.start")
                .map(|e| ((db::now_ms() - e.at) / 1000) as u64)
        })
        .flatten();
    let disks = parsed
        .disks
        .iter()
        .zip(vols)
        .map(|(d, v)| {
            let (capacity, allocation, pool) = v.unwrap_or((None, None, None));
            VmDisk {
                target: d.target.clone(),
                device: d.device.clone(),
                path: d.path.clone(),
                pool: pool.or(d.pool.clone()),
                format: d.format.clone(),
                capacity_bytes: capacity,
                allocation_bytes: allocation,
            }
        })
        .collect();
    Ok(VmDetail {
        vm: fresh.to_api(),
        description: parsed.description,
        uptime_seconds,
        max_vcpus: parsed.max_vcpus,
        max_memory_mib: parsed.max_memory_mib,
        disks,
        nics: parsed.nics,
        graphics: parsed.graphics,
        boot_order: parsed.boot_order,
        autostart,
        persistent,
        events,
    })
}

pub async fn xml_of(state: &AppState, caller: &Caller, uuid: &str) -> Result<String> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmRead).await?;
    let id = vm.uuid.clone();
    state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| domain::lookup(c, &id)?.xml_desc(0))
        .await
}

pub const ACTIONS: [&str; 7] = ["start", "shutdown", "poweroff", "reboot", "reset", "pause", "resume"];

/// Which states an action fits; anything else is refused with `invalid_state` before libvirt is asked.
fn fits(action: &str, state: &str) -> bool {
    match action {
        "start" => matches!(state, "shutoff" | "crashed" | "nostate"),
        "shutdown" | "reboot" | "reset" | "pause" => matches!(state, "running" | "blocked"),
        "poweroff" => matches!(
            state,
            "running" | "blocked" | "paused" | "shutdown" | "crashed" | "pmsuspended"
        ),
        "resume" => matches!(state, "paused" | "pmsuspended"),
        _ => false,
    }
}

async fn do_action(state: &AppState, p: &Principal, uuid: &str, action: &str) -> Result<(VmRow, Vm)> {
    if !ACTIONS.contains(&action) {
        return Err(Error::NotFound("action"));
    }
    let vm = visible(state, p, uuid, Action::VmOperate).await?;
    let id = vm.uuid.clone();
    let act = action.to_string();
    let facts = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let current = domain::state_name(dom.info()?.state);
            if !fits(&act, current) {
                return Ok(Err(current.to_string()));
            }
            match act.as_str() {
                "start" => dom.create()?,
                "shutdown" => dom.shutdown()?,
                "poweroff" => dom.destroy()?,
                "reboot" => dom.reboot(sys::VIR_DOMAIN_REBOOT_DEFAULT)?,
                "reset" => dom.reset()?,
                "pause" => dom.suspend()?,
                _ => dom.resume()?,
            }
            Ok(Ok(domain::facts(&dom)?))
        })
        .await?
        .map_err(|current| Error::InvalidAction {
            action: action.to_string(),
            state: current,
        })?;
    let mut conn = state.db.acquire().await?;
    db::vms::upsert(&mut conn, vm.host_id, &facts).await?;
    let fresh = db::vms::by_uuid(&mut conn, uuid).await?.ok_or(Error::NotFound("vm"))?;
    Ok((vm, fresh.to_api()))
}

pub async fn action(state: &AppState, caller: &Caller, uuid: &str, action: &str) -> Result<Vm> {
    let p = caller.require()?;
    let (before, vm) = do_action(state, p, uuid, action).await?;
    let details = json!({ "name": vm.name, "host": vm.host_name, "from": before.state, "to": vm.state });
    audit::record_alone(
        state,
        caller,
        &format!("vm.{action}"),
        Some(&format!("vm:{uuid}")),
        audit::Outcome::Ok,
        &details,
    )
    .await?;
    Ok(vm)
}

fn validate(u: &UpdateVm) -> Result<()> {
    if let Some(n) = &u.name {
        let ok = (1..=64).contains(&n.chars().count())
            && n.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
        if !ok {
            return Err(Error::invalid("name", "bad_format"));
        }
    }
    if let Some(d) = &u.description {
        if d.chars().count() > 1000 || d.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid("description", "bad_format"));
        }
    }
    if let Some(tags) = &u.tags {
        if tags.len() > 20
            || tags
                .iter()
                .any(|t| t.trim().is_empty() || t.chars().count() > 32 || t.chars().any(char::is_control))
        {
            return Err(Error::invalid("tags", "bad_format"));
        }
    }
    for (field, v, max) in [("vcpus", u.vcpus, 512), ("max_vcpus", u.max_vcpus, 512)] {
        if v.is_some_and(|v| !(1..=max).contains(&v)) {
            return Err(Error::invalid(field, "out_of_range"));
        }
    }
    for (field, v) in [("memory_mib", u.memory_mib), ("max_memory_mib", u.max_memory_mib)] {
        if v.is_some_and(|v| !(16..=4 * 1024 * 1024).contains(&v)) {
            return Err(Error::invalid(field, "out_of_range"));
        }
    }
    Ok(())
}

/// What a VM counts against its owner's quota: itself, its maximum vCPUs and memory, and the capacity of
/// its disk volumes (rounded up to whole GiB).
fn counted(d: &VmDetail, max_vcpus: i64, max_memory_mib: i64) -> Usage {
    let bytes: u64 = d
        .disks
        .iter()
        .filter(|k| k.device == "disk")
        .filter_map(|k| k.capacity_bytes)
        .sum();
    Usage {
        vms: 1,
        vcpus: max_vcpus,
        memory_mib: max_memory_mib,
        disk_gib: bytes.div_ceil(1 << 30) as i64,
    }
}

pub async fn update(state: &AppState, caller: &Caller, uuid: &str, u: UpdateVm) -> Result<VmDetail> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmEdit).await?;
    if u.owner_id.is_some() {
        authorize(p, Action::VmAssign, Resource::Vm(vm.owner_id))?;
    }
    validate(&u)?;
    let current = detail(state, &vm).await?;
    let new_owner = match u.owner_id {
        Some(0) => None,
        Some(id) => {
            let mut conn = state.db.acquire().await?;
            let user = db::users::by_id(&mut conn, id)
                .await?
                .ok_or(Error::invalid("owner_id", "unknown_user"))?;
            Some((user.id, user.username))
        }
        None => vm.owner_id.zip(vm.owner.clone()),
    };
    let new_max_vcpus = u.max_vcpus.unwrap_or(current.max_vcpus.max(u.vcpus.unwrap_or(0)));
    let new_max_mem = u
        .max_memory_mib
        .unwrap_or(current.max_memory_mib.max(u.memory_mib.unwrap_or(0)));
    let want = counted(&current, new_max_vcpus, new_max_mem);
    let had = Usage {
        vms: 1,
        vcpus: vm.q_vcpus,
        memory_mib: vm.q_memory_mib,
        disk_gib: vm.q_disk_gib,
    };

    // Reserve first (committed), change libvirt, then settle; a failure gives the reservation back.
    let mut tx = db::begin_write(&state.db).await?;
    if let Some(old) = vm.owner_id {
        quota::release(&mut tx, old, had).await?;
    }
    if let Some((owner, _)) = &new_owner {
        quota::reserve(&mut tx, *owner, want).await?;
    }
    tx.commit().await?;
    let id = vm.uuid.clone();
    let (tags, owner_meta) = (u.tags.clone().unwrap_or(vm.to_api().tags), new_owner.clone());
    let change = u.clone();
    let changed = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            apply(&dom, &change, owner_meta.as_ref().map(|(i, n)| (*i, n.as_str())), &tags)?;
            domain::facts(&dom)
        })
        .await;
    let mut tx = db::begin_write(&state.db).await?;
    let facts = match changed {
        Ok(f) => f,
        Err(e) => {
            if let Some((owner, _)) = &new_owner {
                quota::release(&mut tx, *owner, want).await?;
            }
            if let Some(old) = vm.owner_id {
                quota::reserve(&mut tx, old, had).await.ok();
            }
            tx.commit().await?;
            return Err(e);
        }
    };
    db::vms::upsert(&mut tx, vm.host_id, &facts).await?;
    let counted_now = if new_owner.is_some() {
        (want.vcpus, want.memory_mib, want.disk_gib)
    } else {
        (0, 0, 0)
    };
    db::vms::set_owner(&mut tx, uuid, new_owner.as_ref().map(|o| o.0), counted_now).await?;
    audit::commit(tx, caller, "vm.update", &format!("vm:{uuid}"), &json!(u)).await?;
    let fresh = row(state, uuid).await?;
    if let Ok(d) = detail(state, &fresh).await {
        let _ = state.events.send(app::api::StreamEvent::Vm {
            vm: d.vm.clone(),
            event: "updated".into(),
        });
        return Ok(d);
    }
    detail(state, &fresh).await
}

/// The libvirt side of an edit (blocking).
fn apply(
    dom: &virt::domain::Domain,
    u: &UpdateVm,
    owner: Option<(i64, &str)>,
    tags: &[String],
) -> std::result::Result<(), virt::error::Error> {
    let active = dom.is_active()?;
    let config = sys::VIR_DOMAIN_AFFECT_CONFIG;
    if let Some(n) = &u.name {
        if *n != dom.name()? {
            dom.rename(n, 0)?;
        }
    }
    if let Some(d) = &u.description {
        dom.set_metadata(
            sys::VIR_DOMAIN_METADATA_DESCRIPTION as i32,
            Some(d),
            None,
            None,
            domain::affect_flags(dom)?,
        )?;
    }
    domain::write_metadata(dom, owner, tags)?;
    if let Some(a) = u.autostart {
        dom.set_autostart(a)?;
    }
    if let Some(max) = u.max_vcpus {
        dom.set_vcpus_flags(max as u32, config | sys::VIR_DOMAIN_VCPU_MAXIMUM)?;
    }
    if let Some(n) = u.vcpus {
        let live = if active { sys::VIR_DOMAIN_AFFECT_LIVE } else { 0 };
        dom.set_vcpus_flags(n as u32, config | live)?;
    }
    if let Some(max) = u.max_memory_mib {
        dom.set_memory_flags(max as u64 * 1024, config | sys::VIR_DOMAIN_MEM_MAXIMUM)?;
    }
    if let Some(m) = u.memory_mib {
        // A running guest changes through its balloon; the configuration follows.
        let live = if active { sys::VIR_DOMAIN_AFFECT_LIVE } else { 0 };
        dom.set_memory_flags(m as u64 * 1024, config | live)?;
    }
    Ok(())
}

async fn do_delete(state: &AppState, p: &Principal, uuid: &str, disks: bool) -> Result<(VmRow, Vec<String>)> {
    let vm = visible(state, p, uuid, Action::VmDelete).await?;
    let id = vm.uuid.clone();
    let removed = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(0)?).unwrap_or_default();
            if dom.is_active()? {
                dom.destroy()?;
            }
            if dom.is_persistent()? {
                dom.undefine_flags(
                    sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                        | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                        | sys::VIR_DOMAIN_UNDEFINE_NVRAM
                        | sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
                )?;
            }
            let mut removed = Vec::new();
            if disks {
                for d in parsed.disks.iter().filter(|d| d.device == "disk") {
                    let Some(path) = &d.path else { continue };
                    // Only storage volumes are deleted: libvirt knows them, and nothing else is touched.
                    if let Ok(vol) = c.lookup_storage_vol_by_path(path) {
                        vol.delete(0)?;
                        removed.push(path.clone());
                    }
                }
            }
            Ok(removed)
        })
        .await?;
    let mut tx = db::begin_write(&state.db).await?;
    if let Some(r) = db::vms::by_uuid(&mut tx, uuid).await? {
        inventory::forget(&mut tx, &r).await?;
    }
    tx.commit().await?;
    let _ = state.events.send(app::api::StreamEvent::VmRemoved {
        id: uuid.to_string(),
        host_id: vm.host_id,
        owner_id: vm.owner_id,
    });
    Ok((vm, removed))
}

pub async fn delete(state: &AppState, caller: &Caller, uuid: &str, disks: bool) -> Result<()> {
    let p = caller.require()?;
    let (vm, removed) = do_delete(state, p, uuid, disks).await?;
    let details = json!({ "name": vm.name, "host": vm.host_name, "disks_deleted": removed });
    audit::record_alone(
        state,
        caller,
        "vm.delete",
        Some(&format!("vm:{uuid}")),
        audit::Outcome::Ok,
        &details,
    )
    .await
}

pub async fn batch(state: &AppState, caller: &Caller, req: BatchRequest) -> Result<Vec<BatchItem>> {
    let p = caller.require()?;
    let allowed = ["start", "shutdown", "poweroff", "reboot", "delete"];
    if !allowed.contains(&req.action.as_str()) {
        return Err(Error::invalid("action", "unknown_value"));
    }
    if req.ids.is_empty() || req.ids.len() > 500 {
        return Err(Error::invalid("ids", "out_of_range"));
    }
    let (action, delete_disks) = (req.action.as_str(), req.delete_disks);
    let work = req.ids.iter().map(|id| async move {
        let r = if action == "delete" {
            do_delete(state, p, id, delete_disks).await.map(|_| ())
        } else {
            do_action(state, p, id, action).await.map(|_| ())
        };
        BatchItem {
            id: id.clone(),
            ok: r.is_ok(),
            error: r.err().map(|e| e.to_api()),
        }
    });
    let items = futures::future::join_all(work).await;
    let results: Vec<_> = items
        .iter()
        .map(|i| json!({ "id": i.id, "ok": i.ok, "code": i.error.as_ref().map(|e| e.code.clone()) }))
        .collect();
    let details = json!({ "action": req.action, "delete_disks": req.delete_disks, "results": results });
    audit::record_alone(
        state,
        caller,
        "vm.batch",
        Some(&format!("vms:{}", req.ids.len())),
        audit::Outcome::Ok,
        &details,
    )
    .await?;
    Ok(items)
}
