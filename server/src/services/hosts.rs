//! Hosts: register, edit and remove libvirt hosts; their status and facts.
use crate::auth::{authorize, Action, Caller, Resource};
use crate::db::{self, hosts::HostRow};
use crate::error::{Error, Result};
use crate::services::{audit, inventory, validate};
use crate::state::AppState;
use crate::virt;
use app::api::{CreateHost, Host, HostDetail, NodeFacts, UpdateHost};
use serde_json::json;
use std::time::Duration;

const SCHEMES: [&str; 5] = ["qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "test"];

pub fn to_api(state: &AppState, h: &HostRow) -> Host {
    let (status, status_since, last_error) = state.virt.status(h.id);
    Host {
        id: h.id,
        name: h.name.clone(),
        uri: h.uri.clone(),
        description: h.description.clone(),
        maintenance: h.maintenance,
        status,
        status_since,
        last_error,
        demo: h.uri.starts_with("test:"),
        vm_count: h.vm_count,
    }
}

fn validate_uri(uri: &str) -> Result<()> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(Error::invalid("uri", "bad_format"));
    };
    if !SCHEMES.contains(&scheme) {
        return Err(Error::invalid("uri", "unsupported_scheme"));
    }
    if uri.len() > 512 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) || !rest.contains('/') {
        return Err(Error::invalid("uri", "bad_format"));
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("name", "empty"));
    }
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "bad_format"));
    }
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<Host>> {
    authorize(caller.require()?, Action::HostRead, Resource::System)?;
    Ok(db::hosts::list(&state.db)
        .await?
        .iter()
        .map(|h| to_api(state, h))
        .collect())
}

/// A registered host by id (`not_found` otherwise), with the pooled connection returned before the caller goes on.
pub async fn row(state: &AppState, id: i64) -> Result<HostRow> {
    let mut conn = state.db.acquire().await?;
    db::hosts::by_id(&mut conn, id).await?.ok_or(Error::NotFound("host"))
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<HostDetail> {
    authorize(caller.require()?, Action::HostRead, Resource::System)?;
    let h = row(state, id).await?;
    let node = state.virt.call(h.id, &h.name, node_facts).await.ok();
    let vms_by_state = db::vms::counts_by_state(&state.db, id).await?;
    Ok(HostDetail {
        host: to_api(state, &h),
        node,
        vms_by_state,
    })
}

fn version(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

fn node_facts(c: &::virt::connect::Connect) -> std::result::Result<NodeFacts, ::virt::error::Error> {
    let n = c.node_info()?;
    Ok(NodeFacts {
        hostname: c.hostname().unwrap_or_default(),
        cpu_model: n.model,
        cpus: n.cpus,
        sockets: n.sockets,
        cores: n.cores,
        threads: n.threads,
        mhz: n.mhz,
        numa_cells: n.nodes,
        memory_total_mib: n.memory / 1024,
        memory_free_mib: c.free_memory().unwrap_or(0) / (1024 * 1024),
        hypervisor: c.driver_type().unwrap_or_default(),
        hypervisor_version: c.hyp_version().map(version).unwrap_or_default(),
        libvirt_version: c.lib_version().map(version).unwrap_or_default(),
    })
}

/// Probes the URI (so an unreachable host or bad credentials are reported and nothing is saved), then saves it.
pub async fn create(state: &AppState, caller: &Caller, req: CreateHost) -> Result<Host> {
    authorize(caller.require()?, Action::HostManage, Resource::System)?;
    let name = req.name.trim();
    validate_name(name)?;
    validate_uri(&req.uri)?;
    validate::description(&req.description)?;
    // Checked before the probe so a duplicate is refused at once; the insert checks again.
    let existing = db::hosts::list(&state.db).await?;
    if existing.iter().any(|h| h.uri == req.uri) {
        return Err(Error::Duplicate { what: "uri" });
    }
    if existing.iter().any(|h| h.name.eq_ignore_ascii_case(name)) {
        return Err(Error::Duplicate { what: "name" });
    }
    virt::probe(&req.uri, Duration::from_secs(15)).await?;
    let mut tx = db::begin_write(&state.db).await?;
    let id = db::hosts::insert(&mut tx, name, &req.uri, &req.description)
        .await?
        .map_err(|what| Error::Duplicate { what })?;
    let target = format!("host:{id}");
    let details = json!({ "name": name, "uri": req.uri });
    let h = db::hosts::by_id(&mut tx, id).await?.ok_or(Error::NotFound("host"))?;
    audit::commit(tx, caller, "host.create", &target, &details).await?;
    state.virt.add(id, &h.uri);
    Ok(to_api(state, &h))
}

pub async fn update(state: &AppState, caller: &Caller, id: i64, req: UpdateHost) -> Result<Host> {
    authorize(caller.require()?, Action::HostManage, Resource::System)?;
    let mut h = row(state, id).await?;
    if let Some(n) = &req.name {
        validate_name(n.trim())?;
        h.name = n.trim().to_string();
    }
    if let Some(d) = &req.description {
        validate::description(d)?;
        h.description = d.clone();
    }
    if let Some(m) = req.maintenance {
        h.maintenance = m;
    }
    let uri_changed = req.uri.as_ref().is_some_and(|u| *u != h.uri);
    if let Some(u) = req.uri.as_ref().filter(|_| uri_changed) {
        validate_uri(u)?;
        virt::probe(u, Duration::from_secs(15)).await?;
        h.uri = u.clone();
    }
    let mut tx = db::begin_write(&state.db).await?;
    db::hosts::update(&mut tx, &h)
        .await?
        .map_err(|what| Error::Duplicate { what })?;
    let target = format!("host:{id}");
    audit::commit(tx, caller, "host.update", &target, &json!(req)).await?;
    if uri_changed {
        state.virt.add(id, &h.uri);
    }
    Ok(to_api(state, &row(state, id).await?))
}

/// Forgets the host (its domains are left alone on it); their owners get their quota back.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    authorize(caller.require()?, Action::HostManage, Resource::System)?;
    let h = row(state, id).await?;
    let mut tx = db::begin_write(&state.db).await?;
    for vm in db::vms::of_host(&mut tx, id).await? {
        inventory::forget(&mut tx, &vm).await?;
    }
    db::hosts::delete(&mut tx, id).await?;
    let target = format!("host:{id}");
    audit::commit(
        tx,
        caller,
        "host.delete",
        &target,
        &json!({ "name": h.name, "uri": h.uri }),
    )
    .await?;
    state.virt.remove(id);
    Ok(())
}

/// At first start: the local daemon when it answers, else libvirt's demo driver (the UI says so).
pub async fn bootstrap(state: &AppState, how: &str) -> anyhow::Result<()> {
    if how == "none" || !db::hosts::list(&state.db).await?.is_empty() {
        return Ok(());
    }
    let (name, uri, description) = if how != "auto" {
        ("local", how.to_string(), "")
    } else if virt::probe("qemu:///system", Duration::from_secs(10)).await.is_ok() {
        ("local", "qemu:///system".to_string(), "This machine's libvirt daemon")
    } else {
        tracing::warn!("no libvirt daemon reachable: registering libvirt's demo driver (test:///default)");
        (
            "demo",
            "test:///default".to_string(),
            "libvirt's demo driver: fake machines, nothing runs",
        )
    };
    let mut tx = db::begin_write(&state.db).await?;
    let id = db::hosts::insert(&mut tx, name, &uri, description)
        .await?
        .map_err(|e| anyhow::anyhow!("host {e} taken"))?;
    let caller = Caller::system("startup");
    audit::record(
        &mut tx,
        &caller,
        "host.create",
        Some(&format!("host:{id}")),
        audit::Outcome::Ok,
        &json!({ "uri": uri }),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for ok in [
            "qemu:///system",
            "qemu+tcp://10.0.0.2/system",
            "qemu+ssh://root@h/system",
            "test:///default",
        ] {
            assert!(validate_uri(ok).is_ok(), "{ok}");
        }
        for bad in ["", "qemu", "http://x/", "qemu+tcp://h /system", "qemu+tcp://host"] {
            assert!(validate_uri(bad).is_err(), "{bad}");
        }
    }
}
