//! Editing a VM: name, description, tags, autostart, vCPUs and memory, and its owner (quota checked).
use super::vms::{detail, row, visible};
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, quotas::Usage};
use crate::error::{Error, Result};
use crate::services::{audit, quota, validate};
use crate::state::AppState;
use crate::virt::domain;
use app::api::{UpdateVm, VmDetail};
use serde_json::json;
use virt::sys;

fn validate(u: &UpdateVm) -> Result<()> {
    if let Some(n) = &u.name {
        super::vm_create::vm_name(n)?;
    }
    if let Some(d) = &u.description {
        validate::description(d)?;
    }
    if let Some(tags) = &u.tags {
        super::vm_create::tags(tags)?;
    }
    let mem = (16, 4 * 1024 * 1024);
    for (field, v, (min, max)) in [
        ("vcpus", u.vcpus, (1, 512)),
        ("max_vcpus", u.max_vcpus, (1, 512)),
        ("memory_mib", u.memory_mib, mem),
        ("max_memory_mib", u.max_memory_mib, mem),
    ] {
        if v.is_some_and(|v| !(min..=max).contains(&v)) {
            return Err(Error::Invalid {
                field,
                reason: "out_of_range",
                details: serde_json::json!({ "min": min, "max": max }),
            });
        }
    }
    Ok(())
}

/// Current vCPUs and memory may not exceed the maximum (the new one when it changes too): refused here with the
/// limit, rather than by libvirt with its own words.
fn within_maximum(u: &UpdateVm, current: &VmDetail) -> Result<()> {
    let max_vcpus = u.max_vcpus.unwrap_or(current.max_vcpus);
    let max_memory = u.max_memory_mib.unwrap_or(current.max_memory_mib);
    for (field, v, max) in [("vcpus", u.vcpus, max_vcpus), ("memory_mib", u.memory_mib, max_memory)] {
        if v.is_some_and(|v| v > max) {
            return Err(Error::Invalid {
                field,
                reason: "above_maximum",
                details: json!({ "max": max }),
            });
        }
    }
    Ok(())
}

/// What a VM counts against its owner's quota: itself, its maximum vCPUs and memory, and the capacity of
/// its disk volumes (rounded up to whole GiB).
pub(super) fn counted(d: &VmDetail, max_vcpus: i64, max_memory_mib: i64) -> Usage {
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
    within_maximum(&u, &current)?;
    // `None`: the owner stays; `Some(None)`: no owner; `Some(Some(user))`: that user.
    let new_owner = match u.owner_id {
        None => None,
        Some(0) => Some(None),
        Some(id) => {
            let mut conn = state.db.acquire().await?;
            let user = db::users::by_id(&mut conn, id)
                .await?
                .ok_or(Error::invalid("owner_id", "unknown_user"))?;
            Some(Some((user.id, user.username)))
        }
    };
    let new_max_vcpus = u.max_vcpus.unwrap_or(current.max_vcpus);
    let new_max_mem = u.max_memory_mib.unwrap_or(current.max_memory_mib);
    // Enough for whichever way libvirt's part ends (all, nothing, or some of it); settled to the truth after.
    let cover =
        counted(&current, new_max_vcpus, new_max_mem).max(counted(&current, current.max_vcpus, current.max_memory_mib));
    let owner = reassign(state, uuid, new_owner.as_ref().map(|o| o.as_ref().map(|o| o.0)), cover).await?;

    let id = vm.uuid.clone();
    let tags = u.tags.clone().unwrap_or(vm.to_api().tags);
    let owner_meta = match &new_owner {
        Some(o) => o.clone(),
        None => owner.zip(vm.owner.clone()),
    };
    let installation = state.installation.clone();
    let change = u.clone();
    let outcome = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let mut applied = Vec::new();
            let owner = owner_meta.as_ref().map(|(i, n)| (*i, n.as_str()));
            let failure = apply(&dom, &change, &installation, owner, &tags, &mut applied).err();
            Ok((applied, failure.map(crate::virt::from_libvirt)))
        })
        .await;
    // The owner has moved already: whatever happens from here is settled and recorded, never just returned.
    let (applied, failure) = match outcome {
        Ok(r) => r,
        Err(e) => (Vec::new(), Some(e)),
    };
    // What libvirt holds now, whatever happened: the answer shows it and the quota counts it. When it cannot be
    // read, the reservation stands (it covers every way the change can have ended).
    let fresh = match row(state, uuid).await {
        Ok(r) => detail(state, &r).await,
        Err(e) => Err(e),
    };
    let actual = match &fresh {
        Ok(d) => counted(d, d.max_vcpus, d.max_memory_mib),
        Err(_) => cover,
    };
    let mut tx = db::begin_write(&state.db).await?;
    settle(&mut tx, uuid, actual).await?;
    let target = format!("vm:{uuid}");
    let mut details = json!(u);
    details["applied"] = json!(applied);
    let failure = match (failure, fresh) {
        (None, Ok(mut d)) => {
            d.vm = p.redact(d.vm);
            audit::commit(tx, caller, "vm.update", &target, &details).await?;
            let _ = state.events.send(app::api::StreamEvent::Vm {
                vm: d.vm.clone(),
                event: "updated".into(),
            });
            return Ok(d);
        }
        (Some(e), _) | (None, Err(e)) => e,
    };
    let changed_owner = new_owner.is_some() && owner != vm.owner_id;
    details["error"] = json!(failure.code());
    details["owner_changed"] = json!(changed_owner);
    audit::record(
        &mut tx,
        caller,
        "vm.update",
        Some(&target),
        audit::Outcome::Failed,
        &details,
    )
    .await?;
    tx.commit().await?;
    caller.slot.mark_written();
    if let Ok(r) = row(state, uuid).await {
        let _ = state.events.send(app::api::StreamEvent::Vm {
            vm: r.to_api(),
            event: "updated".into(),
        });
    }
    if applied.is_empty() && !changed_owner {
        return Err(failure);
    }
    let mut done: Vec<String> = applied.iter().map(|s| s.to_string()).collect();
    if changed_owner {
        done.insert(0, "owner_id".into());
    }
    Err(Error::PartiallyApplied {
        applied: done,
        cause: Box::new(failure),
    })
}

/// Moves the VM to `new_owner` (`None`: keeps its owner) and makes sure its owner has `cover` reserved, in one
/// transaction against the row as it is now, so concurrent edits can never count a VM twice. Returns the owner.
async fn reassign(state: &AppState, uuid: &str, new_owner: Option<Option<i64>>, cover: Usage) -> Result<Option<i64>> {
    let mut tx = db::begin_write(&state.db).await?;
    let row = db::vms::by_uuid(&mut tx, uuid).await?.ok_or(Error::NotFound("vm"))?;
    let had = row.counted();
    let owner = new_owner.unwrap_or(row.owner_id);
    let q = if owner == row.owner_id {
        // The same owner is only asked for what the change adds: a lowered limit does not block a rename.
        let grow = cover.minus(had).positive();
        if let (Some(o), true) = (owner, grow.without_vm() != Usage::default()) {
            quota::reserve(&mut tx, o, grow.without_vm()).await?;
        }
        had.plus(grow)
    } else {
        if let Some(old) = row.owner_id {
            quota::release(&mut tx, old, had).await?;
        }
        if let Some(o) = owner {
            quota::reserve(&mut tx, o, cover).await?;
        }
        cover
    };
    let q = if owner.is_some() { q } else { Usage::default() };
    db::vms::set_owner(&mut tx, uuid, owner, (q.vcpus, q.memory_mib, q.disk_gib)).await?;
    tx.commit().await?;
    Ok(owner)
}

/// Counts `actual` for the VM's owner (whoever that is now), adjusting their usage by the difference.
async fn settle(conn: &mut sqlx::SqliteConnection, uuid: &str, actual: Usage) -> Result<()> {
    let Some(row) = db::vms::by_uuid(conn, uuid).await? else {
        return Ok(());
    };
    let Some(owner) = row.owner_id else { return Ok(()) };
    let had = row.counted();
    db::quotas::adjust(conn, owner, actual.minus(had).without_vm()).await?;
    db::vms::set_owner(
        conn,
        uuid,
        Some(owner),
        (actual.vcpus, actual.memory_mib, actual.disk_gib),
    )
    .await?;
    Ok(())
}

/// The libvirt side of an edit (blocking); `applied` names each field libvirt took, in order, so a failure
/// part-way is reported as exactly that.
fn apply(
    dom: &virt::domain::Domain,
    u: &UpdateVm,
    installation: &str,
    owner: Option<(i64, &str)>,
    tags: &[String],
    applied: &mut Vec<&'static str>,
) -> std::result::Result<(), virt::error::Error> {
    let active = dom.is_active()?;
    let config = sys::VIR_DOMAIN_AFFECT_CONFIG;
    let live = if active { sys::VIR_DOMAIN_AFFECT_LIVE } else { 0 };
    if let Some(n) = &u.name {
        if *n != dom.name()? {
            dom.rename(n, 0)?;
        }
        applied.push("name");
    }
    if let Some(d) = &u.description {
        dom.set_metadata(
            sys::VIR_DOMAIN_METADATA_DESCRIPTION as i32,
            Some(d),
            None,
            None,
            domain::affect_flags(dom)?,
        )?;
        applied.push("description");
    }
    domain::write_metadata(dom, installation, owner, tags)?;
    if u.tags.is_some() {
        applied.push("tags");
    }
    if let Some(a) = u.autostart {
        dom.set_autostart(a)?;
        applied.push("autostart");
    }
    if let Some(max) = u.max_vcpus {
        dom.set_vcpus_flags(max as u32, config | sys::VIR_DOMAIN_VCPU_MAXIMUM)?;
        applied.push("max_vcpus");
    }
    // The configuration first, then the running guest: some drivers refuse both flags in one call.
    if let Some(n) = u.vcpus {
        dom.set_vcpus_flags(n as u32, config)?;
        if live != 0 {
            dom.set_vcpus_flags(n as u32, live)?;
        }
        applied.push("vcpus");
    }
    if let Some(max) = u.max_memory_mib {
        dom.set_memory_flags(max as u64 * 1024, config | sys::VIR_DOMAIN_MEM_MAXIMUM)?;
        applied.push("max_memory_mib");
    }
    if let Some(m) = u.memory_mib {
        // A running guest changes through its balloon.
        dom.set_memory_flags(m as u64 * 1024, config)?;
        if live != 0 {
            dom.set_memory_flags(m as u64 * 1024, live)?;
        }
        applied.push("memory_mib");
    }
    Ok(())
}
