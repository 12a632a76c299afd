//! A VM's removable media: ending an installation from an ISO (eject it, boot from the disk).
use super::audit;
use super::vms::visible;
use crate::auth::{Action, Caller};
use crate::db;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::virt::{domain, domain_xml, xml};
use app::api::Vm;
use serde_json::json;
use virt::sys;

/// Ejects every CD-ROM (live and in the configuration; that also drops its place in the boot order) and, when
/// the VM runs, power-cycles it so it boots from its disk.
pub async fn finish_install(state: &AppState, caller: &Caller, uuid: &str) -> Result<Vm> {
    let p = caller.require()?;
    let vm = visible(state, p, uuid, Action::VmEdit).await?;
    let id = vm.uuid.clone();
    let (facts, ejected) = state
        .virt
        .call(vm.host_id, &vm.host_name, move |c| {
            let dom = domain::lookup(c, &id)?;
            let parsed = xml::parse_domain(&dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?).unwrap_or_default();
            let running = dom.is_active()?;
            let mut ejected = Vec::new();
            for d in parsed.disks.iter().filter(|d| d.device == "cdrom" && d.path.is_some()) {
                let bus = if d.target.starts_with("hd") { "ide" } else { "sata" };
                let spec = domain_xml::DiskSpec {
                    device: "cdrom".into(),
                    source: None,
                    format: "raw".into(),
                    bus: bus.into(),
                    target: d.target.clone(),
                    readonly: true,
                    boot: None,
                };
                let x = domain_xml::device_xml(|w| domain_xml::disk(w, &spec))
                    .map_err(|_| virt::error::Error::last_error())?;
                dom.update_device_flags(&x, sys::VIR_DOMAIN_AFFECT_CONFIG)?;
                if running {
                    dom.update_device_flags(&x, sys::VIR_DOMAIN_AFFECT_LIVE | sys::VIR_DOMAIN_DEVICE_MODIFY_FORCE)?;
                }
                ejected.push(d.target.clone());
            }
            if ejected.is_empty() {
                return Ok(Err(()));
            }
            if running {
                dom.destroy()?;
                dom.create()?;
            }
            Ok(Ok((domain::facts(&dom)?, ejected)))
        })
        .await?
        .map_err(|_| Error::InvalidState("the VM has no installation media to eject".into()))?;
    let mut tx = db::begin_write(&state.db).await?;
    db::vms::upsert(&mut tx, vm.host_id, &facts, &state.installation).await?;
    let fresh = db::vms::by_uuid(&mut tx, uuid).await?.ok_or(Error::NotFound("vm"))?;
    let details = json!({ "name": vm.name, "ejected": ejected });
    audit::commit(tx, caller, "vm.finish_install", &format!("vm:{uuid}"), &details).await?;
    Ok(p.redact(fresh.to_api()))
}
