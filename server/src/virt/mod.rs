//! The libvirt boundary: one long-lived connection per host (kept alive, reconnected with back-off),
//! lifecycle events, and every libvirt call run off the async executor.
pub mod conn;
pub mod console;
pub mod domain;
pub mod domain_xml;
pub mod events;
pub mod pool_xml;
pub mod stats;
pub mod storage;
pub mod xml;
pub mod xml_edit;

use crate::error::{Error, Result};
use app::api::HostStatus;
use conn::HostConn;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use virt::connect::Connect;

/// What the per-host threads tell the async side.
#[derive(Debug, Clone)]
pub enum VirtEvent {
    /// The host's status changed; `Online` means a fresh connection (time for a full sync).
    HostStatus { host_id: i64 },
    /// A libvirt lifecycle event (`VIR_DOMAIN_EVENT_*`).
    Lifecycle {
        host_id: i64,
        uuid: String,
        event: i32,
        detail: i32,
    },
}

/// How long a libvirt call may take before the request gives up (the call itself finishes in the background).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// libvirt calls in flight per host: a batch of 500 VMs queues here instead of opening 500 blocking threads.
const CALLS_PER_HOST: usize = 4;

/// A host's connection and the permits for calls in flight on it.
type HostSlot = (Arc<HostConn>, Arc<tokio::sync::Semaphore>);

pub struct Virt {
    hosts: RwLock<HashMap<i64, HostSlot>>,
    /// Which host each storage pool seen so far is on (pool ids are libvirt UUIDs).
    pools: RwLock<HashMap<String, i64>>,
    tx: mpsc::UnboundedSender<VirtEvent>,
}

impl Virt {
    pub fn new(tx: mpsc::UnboundedSender<VirtEvent>) -> Virt {
        events::init_event_loop();
        Virt {
            hosts: RwLock::new(HashMap::new()),
            pools: RwLock::new(HashMap::new()),
            tx,
        }
    }

    fn get(&self, id: i64) -> Option<Arc<HostConn>> {
        self.slot(id).map(|h| h.0)
    }

    fn slot(&self, id: i64) -> Option<HostSlot> {
        self.hosts.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Starts keeping a connection to the host (replacing any earlier one for the same id).
    pub fn add(&self, id: i64, uri: &str) {
        let host = HostConn::start(id, uri.to_string(), self.tx.clone());
        let calls = Arc::new(tokio::sync::Semaphore::new(CALLS_PER_HOST));
        if let Some(old) = self
            .hosts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (host, calls))
        {
            old.0.stop();
        }
    }

    pub fn remove(&self, id: i64) {
        if let Some(old) = self.hosts.write().unwrap_or_else(|p| p.into_inner()).remove(&id) {
            old.0.stop();
        }
    }

    pub fn status(&self, id: i64) -> (HostStatus, i64, Option<String>) {
        match self.get(id) {
            Some(h) => h.status(),
            None => (HostStatus::Offline, 0, Some("not connected".into())),
        }
    }

    /// Remembers which host a pool is on.
    pub fn remember_pool(&self, uuid: &str, host_id: i64) {
        self.pools
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uuid.to_string(), host_id);
    }

    /// The host a pool was last seen on.
    pub fn pool_host(&self, uuid: &str) -> Option<i64> {
        self.pools.read().unwrap_or_else(|p| p.into_inner()).get(uuid).copied()
    }

    /// The host's live connection, for long work on a blocking thread of its own (streams, tasks): no call
    /// timeout applies, so the caller bounds how many such jobs run.
    pub fn connection(&self, host_id: i64, host_name: &str) -> Result<Connect> {
        let host = self.get(host_id).ok_or(Error::NotFound("host"))?;
        host.connection().ok_or_else(|| {
            let (status, _, last_error) = host.status();
            Error::HostOffline {
                host: host_name.to_string(),
                status,
                last_error,
            }
        })
    }

    /// Waits (at most `limit`) for the host to be online: after a start, connections come up in the background.
    pub async fn wait_online(&self, id: i64, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        while self.status(id).0 != HostStatus::Online && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn online_hosts(&self) -> Vec<i64> {
        let hosts = self.hosts.read().unwrap_or_else(|p| p.into_inner());
        hosts
            .values()
            .filter(|h| h.0.status().0 == HostStatus::Online)
            .map(|h| h.0.id)
            .collect()
    }

    /// Runs `f` with the host's connection on a blocking thread; fails at once when the host is not online.
    pub async fn call<T, F>(&self, host_id: i64, host_name: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connect) -> std::result::Result<T, virt::error::Error> + Send + 'static,
    {
        let (host, calls) = self.slot(host_id).ok_or(Error::NotFound("host"))?;
        let offline = || {
            let (status, _, last_error) = host.status();
            Error::HostOffline {
                host: host_name.to_string(),
                status,
                last_error,
            }
        };
        host.connection().ok_or_else(offline)?;
        // Waiting for a turn is bounded on its own: a request that never got one did nothing, and says so.
        let permit = match tokio::time::timeout(CALL_TIMEOUT, calls.acquire_owned()).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(Error::Internal(e.into())),
            Err(_) => return Err(Error::Busy { retry_after: 10 }),
        };
        let run = async {
            let conn = host.connection().ok_or_else(offline)?;
            let task = tokio::task::spawn_blocking(move || {
                let r = f(&conn).map_err(from_libvirt);
                drop(permit);
                r
            });
            task.await.map_err(|join| Error::Internal(join.into()))?
        };
        match tokio::time::timeout(CALL_TIMEOUT, run).await {
            Ok(r) => r,
            Err(_) => Err(Error::Hypervisor("the host did not answer in time".into())),
        }
    }
}

/// Opens a connection once, to check a URI before it is saved; gives up after `timeout`.
pub async fn probe(uri: &str, timeout: Duration) -> Result<String> {
    events::init_event_loop();
    let uri = uri.to_string();
    let task = tokio::task::spawn_blocking(move || {
        let c = Connect::open(Some(&uri))?;
        let name = c.hostname().unwrap_or_default();
        conn::close(c);
        Ok::<_, virt::error::Error>(name)
    });
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(Ok(name))) => Ok(name),
        Ok(Ok(Err(e))) => {
            use virt::error::ErrorNumber::*;
            let msg = e.message().to_string();
            Err(match e.code() {
                virt::enumutil::Enum::Known(AuthFailed | AuthCancelled | AuthUnavailable) => Error::HostAuthFailed(msg),
                _ => match cause_of(&msg) {
                    "auth" => Error::HostAuthFailed(msg),
                    cause => Error::HostUnreachable { cause, raw: msg },
                },
            })
        }
        Ok(Err(join)) => Err(Error::Internal(join.into())),
        Err(_) => Err(Error::HostUnreachable {
            cause: "no_answer",
            raw: format!("no answer within {} s", timeout.as_secs()),
        }),
    }
}

/// What probably went wrong, read from libvirt's words, so that people get a cause and a remedy instead of
/// "packet 1213486156 bytes received from server too large" (the words stay in the log).
pub fn cause_of(msg: &str) -> &'static str {
    let m = msg.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["connection refused"]) {
        "refused"
    } else if has(&["too large", "unexpected", "malformed", "protocol"]) {
        "wrong_protocol"
    } else if has(&[
        "name or service not known",
        "could not resolve",
        "unknown host",
        "temporary failure in name",
    ]) {
        "unknown_host"
    } else if has(&["host key verification", "known_hosts"]) {
        "ssh_host_key"
    } else if has(&["permission denied", "authentication", "sasl", "polkit", "access denied"]) {
        "auth"
    } else if has(&["certificate", "tls", "gnutls", "x509"]) {
        "tls"
    } else if has(&["no route", "network is unreachable", "timed out", "no answer"]) {
        "no_route"
    } else if has(&["no such file or directory", "failed to connect socket"]) {
        "no_daemon"
    } else {
        "other"
    }
}

/// libvirt's error, sorted into what the client can act on.
pub fn from_libvirt(e: virt::error::Error) -> Error {
    use virt::error::ErrorNumber::*;
    match e.code() {
        virt::enumutil::Enum::Known(NoDomain) => Error::NotFound("vm"),
        virt::enumutil::Enum::Known(NoStoragePool) => Error::NotFound("pool"),
        virt::enumutil::Enum::Known(NoStorageVolume) => Error::NotFound("volume"),
        virt::enumutil::Enum::Known(StorageVolExist) => Error::Duplicate { what: "volume" },
        _ if e.message().contains("No space left") => Error::NoSpace,
        virt::enumutil::Enum::Known(OperationInvalid) => Error::InvalidState(e.message().to_string()),
        virt::enumutil::Enum::Known(NoSupport | ArgumentUnsupported | OperationUnsupported) => {
            Error::Unsupported(e.message().to_string())
        }
        _ => Error::Hypervisor(e.message().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::cause_of;

    #[test]
    fn libvirt_words_become_causes() {
        assert_eq!(
            cause_of("packet 1213486156 bytes received from server too large, maximum is 33554432"),
            "wrong_protocol"
        );
        assert_eq!(
            cause_of("unable to connect to server at '10.0.0.9:16509': Connection refused"),
            "refused"
        );
        assert_eq!(
            cause_of("unable to connect to server at 'x:16509': No route to host"),
            "no_route"
        );
        assert_eq!(
            cause_of("Cannot recv data: Host key verification failed."),
            "ssh_host_key"
        );
        assert_eq!(cause_of("Name or service not known"), "unknown_host");
        assert_eq!(cause_of("something else"), "other");
    }
}
