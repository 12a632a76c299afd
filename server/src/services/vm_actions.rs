//! Lifecycle actions on VMs, deletion (with or without disk volumes) and batches of either.
use super::vms::visible;
use crate::auth::{Action, Caller, Principal};
use crate::db::{self, vms::VmRow};
use crate::error::{Error, Result};
use crate::services::{audit, inventory};
use crate::state::AppState;
use crate::virt::{domain, xml};
use app::api::{BatchItem, BatchRequest, KeptDisk, Vm, VmAction, VmDeleted, VmState};
use serde_json::json;
use virt::sys;

async fn do_action(state: &AppState, p: &Principal, uuid: &str, action: VmAction) -> Result<(VmRow, Vm)> {
    let vm = visible(state, p, uuid, Action::VmOperate).await?;
    if action == VmAction::Start && db::vm_cloud_init::being_cloned(&state.db, uuid).await? {
        return Err(Error::InvalidState(
            "the VM is being cloned; start it when the clone is made".into(),
        ));
    }
    let id = vm.uuid.clone();
    let act = action;
    let facts = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let current = domain::state_name(dom.info()?.state);
            if !act.allowed_in(VmState::parse(current)) {
                return Ok(Err(current.to_string()));
            }
            match act {
                VmAction::Start => dom.create()?,
                VmAction::Shutdown => dom.shutdown()?,
                VmAction::Poweroff => dom.destroy()?,
                VmAction::Reboot => dom.reboot(sys::VIR_DOMAIN_REBOOT_DEFAULT)?,
                VmAction::Reset => dom.reset()?,
                VmAction::Pause => dom.suspend()?,
                VmAction::Resume => dom.resume()?,
            };
            Ok(Ok(domain::facts(&dom)?))
        })
        .await?
        .map_err(|current| Error::InvalidAction {
            action: action.as_str().to_string(),
            state: current,
        })?;
    let mut conn = state.db.acquire().await?;
    db::vms::upsert(&mut conn, vm.host_id, &facts, &state.installation).await?;
    let fresh = db::vms::by_uuid(&mut conn, uuid).await?.ok_or(Error::NotFound("vm"))?;
    Ok((vm, fresh.to_api()))
}

pub async fn action(state: &AppState, caller: &Caller, uuid: &str, action: &str) -> Result<Vm> {
    let p = caller.require()?;
    let action = VmAction::parse(action).ok_or(Error::NotFound("action"))?;
    let (before, vm) = do_action(state, p, uuid, action).await?;
    let details = json!({ "name": vm.name, "host": vm.host_name, "from": before.state, "to": vm.state });
    audit::record_alone(
        state,
        caller,
        &format!("vm.{}", action.as_str()),
        Some(&format!("vm:{uuid}")),
        audit::Outcome::Ok,
        &details,
    )
    .await?;
    Ok(vm)
}

async fn do_delete(state: &AppState, p: &Principal, uuid: &str, disks: bool) -> Result<(VmRow, VmDeleted)> {
    let vm = visible(state, p, uuid, Action::VmDelete).await?;
    let id = vm.uuid.clone();
    let (kept_unreadable, report) = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            // Without a readable XML the disks cannot be found: refuse rather than report a clean delete.
            let parsed = match xml::parse_domain(&dom.xml_desc(0)?) {
                Ok(p) => p,
                Err(_) if disks => return Ok((true, VmDeleted::default())),
                // Its disks cannot be listed, but they are all kept: say so.
                Err(_) => xml::DomainXml {
                    disks: vec![xml::DiskXml {
                        target: "(unreadable XML)".into(),
                        device: "disk".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            };
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
            Ok((false, remove_disks(c, &parsed.disks, disks)))
        })
        .await?;
    if kept_unreadable {
        return Err(Error::InvalidState(
            "the VM's XML cannot be read, so its disks cannot be found: delete it without its disks".into(),
        ));
    }
    let mut tx = db::begin_write(&state.db).await?;
    if let Some(r) = db::vms::by_uuid(&mut tx, uuid).await? {
        inventory::forget(&mut tx, &r).await?;
    }
    db::consoles::delete_links_of(&mut tx, uuid).await?;
    let seed = db::vm_cloud_init::delete(&mut tx, uuid).await?;
    tx.commit().await?;
    let mut report = report;
    // The cloud-init seed is Hangar's, not the user's data: it goes with the VM whether disks are kept or not.
    if let Some((host_id, pool, volume)) = seed {
        if let Err(e) = crate::virt::storage::delete_volume_if_exists(&state.virt, host_id, &pool, &volume).await {
            tracing::warn!(%volume, error = ?e, "removing a deleted VM's seed");
        } else if let Some(i) = report.disks_kept.iter().position(|k| k.path.ends_with(&volume)) {
            let k = report.disks_kept.remove(i);
            report.disks_deleted.push(k.path);
        }
    }
    let _ = state.events.send(app::api::StreamEvent::VmRemoved {
        id: uuid.to_string(),
        host_id: vm.host_id,
        owner_id: vm.owner_id,
    });
    let report = VmDeleted {
        id: vm.uuid.clone(),
        name: vm.name.clone(),
        ..report
    };
    Ok((vm, report))
}

/// Deletes the disks that are storage volumes (libvirt knows them; nothing else on the host is touched) and
/// says why each other disk was kept (blocking).
fn remove_disks(c: &virt::connect::Connect, disks: &[xml::DiskXml], delete: bool) -> VmDeleted {
    let mut report = VmDeleted::default();
    for d in disks {
        let path = d.path.clone().unwrap_or_else(|| d.target.clone());
        // A volume named by its pool reads "pool/volume" in the report.
        let shown = match &d.pool {
            Some(pool) => format!("{pool}/{path}"),
            None => path.clone(),
        };
        let kept = |reason: &str| KeptDisk {
            path: shown.clone(),
            reason: reason.into(),
        };
        if !delete {
            report.disks_kept.push(kept("not_requested"));
        } else if d.device != "disk" {
            report.disks_kept.push(kept("not_a_disk"));
        } else if d.path.is_none() {
            report.disks_kept.push(kept("no_source"));
        } else {
            match domain::volume_of(c, &path, d.pool.as_deref()) {
                None => report.disks_kept.push(kept("not_a_volume")),
                Some(vol) => match vol.delete(0) {
                    Ok(()) => report.disks_deleted.push(shown.clone()),
                    Err(e) => {
                        tracing::warn!(%path, error = %e, "deleting a VM's volume");
                        report.disks_kept.push(kept("delete_failed"));
                    }
                },
            }
        }
    }
    report
}

pub async fn delete(state: &AppState, caller: &Caller, uuid: &str, disks: bool) -> Result<VmDeleted> {
    let p = caller.require()?;
    let (vm, report) = do_delete(state, p, uuid, disks).await?;
    let details = json!({
        "name": vm.name,
        "host": vm.host_name,
        "disks_deleted": report.disks_deleted,
        "disks_kept": report.disks_kept,
    });
    audit::record_alone(
        state,
        caller,
        "vm.delete",
        Some(&format!("vm:{uuid}")),
        audit::Outcome::Ok,
        &details,
    )
    .await?;
    Ok(report)
}

pub async fn batch(state: &AppState, caller: &Caller, req: BatchRequest) -> Result<Vec<BatchItem>> {
    let p = caller.require()?;
    let batchable = [
        VmAction::Start,
        VmAction::Shutdown,
        VmAction::Poweroff,
        VmAction::Reboot,
    ];
    let action = match req.action.as_str() {
        "delete" => None,
        a => match VmAction::parse(a).filter(|a| batchable.contains(a)) {
            Some(a) => Some(a),
            None => return Err(Error::invalid("action", "unknown_value")),
        },
    };
    if req.ids.is_empty() || req.ids.len() > 500 {
        return Err(Error::invalid("ids", "out_of_range"));
    }
    let delete_disks = req.delete_disks;
    let work = req.ids.iter().map(|id| async move {
        let r = match action {
            None => do_delete(state, p, id, delete_disks)
                .await
                .map(|(vm, _)| (vm.name, None)),
            Some(a) => do_action(state, p, id, a)
                .await
                .map(|(_, vm)| (vm.name, Some(vm.state))),
        };
        match r {
            Ok((name, state)) => BatchItem {
                id: id.clone(),
                name: Some(name),
                state,
                ok: true,
                error: None,
            },
            Err(e) => BatchItem {
                id: id.clone(),
                name: None,
                state: None,
                ok: false,
                error: Some(e.to_api()),
            },
        }
    });
    let items = futures::future::join_all(work).await;
    // Each VM's outcome is recorded under that VM (so it shows in its history) with the same name a single
    // request would get, and the batch once more as a whole.
    let name = format!("vm.{}", req.action);
    let mut tx = db::begin_write(&state.db).await?;
    for i in &items {
        let outcome = match &i.error {
            None => audit::Outcome::Ok,
            Some(e) if matches!(e.code.as_str(), "forbidden" | "not_found") => audit::Outcome::Denied,
            Some(_) => audit::Outcome::Failed,
        };
        let details = json!({ "batch": true, "code": i.error.as_ref().map(|e| e.code.clone()) });
        let target = format!("vm:{}", i.id);
        audit::record(&mut tx, caller, &name, Some(&target), outcome, &details).await?;
    }
    let ok = items.iter().filter(|i| i.ok).count();
    let details =
        json!({ "action": req.action, "delete_disks": req.delete_disks, "ok": ok, "failed": items.len() - ok });
    let target = format!("vms:{}", req.ids.len());
    audit::commit(tx, caller, "vm.batch", &target, &details).await?;
    Ok(items)
}
