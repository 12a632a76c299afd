//! Virtual machines: the list across hosts, one VM's details and XML, and who may see which VM.
use crate::auth::{authorize, Action, Caller, Principal, Resource};
use crate::db::{self, vms::VmRow};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::{domain, xml};
use app::api::{VmDetail, VmDisk, VmPage, VmQuery};

pub async fn list(state: &AppState, caller: &Caller, q: &VmQuery) -> Result<VmPage> {
    let p = caller.require()?;
    let only_owner = match crate::auth::policy::scope(p) {
        app::api::Scope::All => None,
        app::api::Scope::Own => Some(p.id),
    };
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=1000).contains(&per_page) {
        return Err(Error::invalid("per_page", "out_of_range"));
    }
    let page = q.page.unwrap_or(1).max(1);
    let rows = state.vm_list.rows().await?;
    let (total, items) = super::vm_list::select(&rows, q, only_owner, page, per_page)?;
    Ok(VmPage {
        items: items.iter().map(|r| p.redact(r.to_api())).collect(),
        total,
        page,
        per_page,
        by_state: super::vm_list::count_by_state(&rows, q, only_owner),
    })
}

pub(super) async fn row(state: &AppState, uuid: &str) -> Result<VmRow> {
    let mut conn = state.db.acquire().await?;
    db::vms::by_uuid(&mut conn, uuid).await?.ok_or(Error::NotFound("vm"))
}

/// The VM, if the principal may see it. A VM someone may not see answers exactly like one that does not
/// exist, so ids reveal nothing.
pub(super) async fn visible(state: &AppState, p: &Principal, uuid: &str, action: Action) -> Result<VmRow> {
    let vm = row(state, uuid).await?;
    if authorize(p, Action::VmRead, Resource::Vm(vm.owner_id)).is_err() {
        return Err(Error::NotFound("vm"));
    }
    authorize(p, action, Resource::Vm(vm.owner_id))?;
    Ok(vm)
}

pub async fn get(state: &AppState, caller: &Caller, uuid: &str) -> Result<VmDetail> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmRead).await?;
    let mut d = detail(state, &vm).await?;
    d.vm = p.redact(d.vm);
    Ok(d)
}

pub(super) async fn detail(state: &AppState, vm: &VmRow) -> Result<VmDetail> {
    let id = vm.uuid.clone();
    let (facts, (text, config), autostart, persistent, vols) = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let text = dom.xml_desc(0)?;
            // The boot order that counts is the one the next start uses: the configuration's.
            let config = if dom.is_persistent().unwrap_or(false) && dom.is_active().unwrap_or(false) {
                dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).ok()
            } else {
                None
            };
            let parsed = xml::parse_domain(&text).unwrap_or_default();
            let vols: Vec<_> = parsed
                .disks
                .iter()
                .map(|d| d.path.as_deref().map(|p| domain::volume_facts(c, p, d.pool.as_deref())))
                .collect();
            Ok((
                domain::facts(&dom)?,
                (text, config),
                dom.autostart().unwrap_or(false),
                dom.is_persistent().unwrap_or(false),
                vols,
            ))
        })
        .await?;
    let mut parsed = xml::parse_domain(&text).map_err(|e| Error::Internal(anyhow::anyhow!("domain XML: {e}")))?;
    if let Some(c) = config.as_deref().and_then(|c| xml::parse_domain(c).ok()) {
        parsed.boot_order = c.boot_order;
    }
    let mut conn = state.db.acquire().await?;
    db::vms::upsert(&mut conn, vm.host_id, &facts, &state.installation).await?;
    let fresh = db::vms::by_uuid(&mut conn, &vm.uuid)
        .await?
        .ok_or(Error::NotFound("vm"))?;
    drop(conn);
    let events = db::vms::history(&state.db, &vm.uuid, 50).await?;
    let cloud_init = db::vm_cloud_init::get(&state.db, &vm.uuid).await?.and_then(|r| {
        serde_json::from_str::<app::api::VmCloudInit>(&r.settings)
            .ok()
            .map(|mut c| {
                c.instance_id = r.instance_id;
                c
            })
    });
    let installing = parsed.disks.iter().any(|d| d.device == "cdrom" && d.path.is_some())
        && parsed.boot_order.iter().any(|b| {
            b.starts_with("1: ")
                && parsed
                    .disks
                    .iter()
                    .any(|d| d.device == "cdrom" && b.ends_with(&d.target))
        });
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
        cloud_init,
        installing,
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
