//! Keeps the SQLite index of domains in step with libvirt: a full sync when a host comes online (and every
//! 30 s), one domain on each lifecycle event, and pushes what changed to the event stream.
use crate::db::{self, quotas::Usage, vms::VmRow};
use crate::error::Result;
use crate::services::hosts;
use crate::state::AppState;
use crate::virt::{domain, events, VirtEvent};
use app::api::{HostStatus, StreamEvent};
use sqlx::SqliteConnection;
use std::time::Duration;
use tokio::sync::mpsc;

pub async fn run(state: AppState, mut rx: mpsc::UnboundedReceiver<VirtEvent>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { return };
                if let Err(e) = handle(&state, ev).await {
                    tracing::warn!(error = %e, "inventory update");
                }
            }
            _ = tick.tick() => {
                for id in state.virt.online_hosts() {
                    if let Err(e) = sync_host(&state, id).await {
                        tracing::warn!(host = id, error = %e, "periodic sync");
                    }
                }
            }
        }
    }
}

async fn handle(state: &AppState, ev: VirtEvent) -> Result<()> {
    match ev {
        VirtEvent::HostStatus { host_id } => {
            let mut conn = state.db.acquire().await?;
            let Some(h) = db::hosts::by_id(&mut conn, host_id).await? else {
                return Ok(());
            };
            drop(conn);
            let host = hosts::to_api(state, &h);
            let online = host.status == HostStatus::Online;
            let _ = state.events.send(StreamEvent::Host { host });
            if online {
                sync_host(state, host_id).await?;
            }
        }
        VirtEvent::Lifecycle {
            host_id, uuid, event, ..
        } => refresh_vm(state, host_id, &uuid, event).await?,
    }
    Ok(())
}

async fn host_name(state: &AppState, host_id: i64) -> Result<String> {
    let mut conn = state.db.acquire().await?;
    Ok(db::hosts::by_id(&mut conn, host_id)
        .await?
        .map(|h| h.name)
        .unwrap_or_default())
}

/// Removes a domain from the index and gives its owner the quota back.
pub async fn forget(conn: &mut SqliteConnection, vm: &VmRow) -> Result<()> {
    if let Some(owner) = vm.owner_id {
        let usage = Usage {
            vms: 1,
            vcpus: vm.q_vcpus,
            memory_mib: vm.q_memory_mib,
            disk_gib: vm.q_disk_gib,
        };
        crate::services::quota::release(conn, owner, usage).await?;
    }
    db::vms::delete(conn, &vm.uuid).await?;
    Ok(())
}

pub async fn sync_host(state: &AppState, host_id: i64) -> Result<()> {
    let name = host_name(state, host_id).await?;
    let all = state.virt.call(host_id, &name, domain::all).await?;
    let mut tx = db::begin_write(&state.db).await?;
    let before: std::collections::HashMap<String, VmRow> = db::vms::of_host(&mut tx, host_id)
        .await?
        .into_iter()
        .map(|r| (r.uuid.clone(), r))
        .collect();
    for f in &all {
        db::vms::upsert(&mut tx, host_id, f, &state.installation).await?;
    }
    let present: std::collections::HashSet<&str> = all.iter().map(|f| f.uuid.as_str()).collect();
    let gone: Vec<&VmRow> = before.values().filter(|r| !present.contains(r.uuid.as_str())).collect();
    for vm in &gone {
        forget(&mut tx, vm).await?;
    }
    let mut changed = Vec::new();
    for f in &all {
        if before
            .get(&f.uuid)
            .is_none_or(|b| b.state != f.state || b.name != f.name)
        {
            if let Some(row) = db::vms::by_uuid(&mut tx, &f.uuid).await? {
                changed.push(row.to_api());
            }
        }
    }
    tx.commit().await?;
    for vm in changed {
        let _ = state.events.send(StreamEvent::Vm {
            vm,
            event: "sync".into(),
        });
    }
    for vm in gone {
        let _ = state.events.send(StreamEvent::VmRemoved {
            id: vm.uuid.clone(),
            host_id,
            owner_id: vm.owner_id,
        });
    }
    Ok(())
}

/// Re-reads one domain after a lifecycle event (from Hangar or from anyone else, e.g. `virsh`).
pub async fn refresh_vm(state: &AppState, host_id: i64, uuid: &str, event: i32) -> Result<()> {
    let name = host_name(state, host_id).await?;
    let kind = events::event_name(event);
    let id = uuid.to_string();
    // Even after "undefined" the domain may live on (a running domain loses only its configuration): ask.
    let facts = {
        match state
            .virt
            .call(host_id, &name, move |c| domain::facts(&domain::lookup(c, &id)?))
            .await
        {
            Ok(f) => Some(f),
            Err(crate::error::Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        }
    };
    let mut tx = db::begin_write(&state.db).await?;
    db::vms::add_event(&mut tx, uuid, kind, "").await?;
    let msg = match facts {
        Some(f) => {
            db::vms::upsert(&mut tx, host_id, &f, &state.installation).await?;
            db::vms::by_uuid(&mut tx, uuid).await?.map(|r| StreamEvent::Vm {
                vm: r.to_api(),
                event: kind.into(),
            })
        }
        None => match db::vms::by_uuid(&mut tx, uuid).await? {
            Some(row) => {
                forget(&mut tx, &row).await?;
                Some(StreamEvent::VmRemoved {
                    id: row.uuid,
                    host_id,
                    owner_id: row.owner_id,
                })
            }
            None => None,
        },
    };
    tx.commit().await?;
    if let Some(m) = msg {
        let _ = state.events.send(m);
    }
    Ok(())
}
