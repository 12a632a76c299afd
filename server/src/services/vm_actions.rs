//! Lifecycle actions on VMs, deletion (with or without disk volumes) and batches of either.
use super::vms::visible;
use crate::auth::{Action, Caller, Principal};
use crate::db::{self, vms::VmRow};
use crate::error::{Error, Result};
use crate::services::{audit, inventory};
use crate::state::AppState;
use crate::virt::{domain, xml};
use app::api::{BatchItem, BatchRequest, Vm};
use serde_json::json;
use virt::sys;

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
