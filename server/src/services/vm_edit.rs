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
        let ok = (1..=64).contains(&n.chars().count())
            && n.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
        if !ok {
            return Err(Error::invalid("name", "bad_format"));
        }
    }
    if let Some(d) = &u.description {
        validate::description(d)?;
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
    let d = detail(state, &row(state, uuid).await?).await?;
    let _ = state.events.send(app::api::StreamEvent::Vm {
        vm: d.vm.clone(),
        event: "updated".into(),
    });
    Ok(d)
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
