//! One host's connection, kept by a thread of its own: connect, watch, reconnect with back-off.
use super::{events, VirtEvent};
use app::api::HostStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use virt::connect::Connect;

struct State {
    status: HostStatus,
    since: i64,
    last_error: Option<String>,
    conn: Option<Connect>,
}

pub struct HostConn {
    pub id: i64,
    uri: String,
    state: Mutex<State>,
    stopped: AtomicBool,
    tx: mpsc::UnboundedSender<VirtEvent>,
}

/// libvirt's `Connect` panics in `drop` if closing fails (a dead remote connection can); that must not kill us.
pub fn close(c: Connect) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(c)));
}

impl HostConn {
    pub fn start(id: i64, uri: String, tx: mpsc::UnboundedSender<VirtEvent>) -> Arc<HostConn> {
        let host = Arc::new(HostConn {
            id,
            uri,
            state: Mutex::new(State {
                status: HostStatus::Connecting,
                since: crate::db::now_ms(),
                last_error: None,
                conn: None,
            }),
            stopped: AtomicBool::new(false),
            tx,
        });
        let worker = host.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("libvirt-host-{id}"))
            .spawn(move || worker.run());
        if let Err(e) = spawned {
            host.set_status(HostStatus::Offline, Some(format!("cannot start a thread: {e}")));
        }
        host
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn status(&self) -> (HostStatus, i64, Option<String>) {
        let s = self.lock();
        (s.status, s.since, s.last_error.clone())
    }

    /// A reference to the live connection, only while online.
    pub fn connection(&self) -> Option<Connect> {
        let s = self.lock();
        if s.status == HostStatus::Online {
            s.conn.clone()
        } else {
            None
        }
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    fn set_status(&self, status: HostStatus, error: Option<String>) {
        let changed = {
            let mut s = self.lock();
            let changed = s.status != status || s.last_error != error;
            if s.status != status {
                s.since = crate::db::now_ms();
            }
            s.status = status;
            s.last_error = error;
            changed
        };
        if changed {
            let _ = self.tx.send(VirtEvent::HostStatus { host_id: self.id });
        }
    }

    fn sleep(&self, d: Duration) {
        let step = Duration::from_millis(100);
        let mut left = d;
        while !left.is_zero() && !self.stopped.load(Ordering::SeqCst) {
            std::thread::sleep(step.min(left));
            left = left.saturating_sub(step);
        }
    }

    fn run(self: Arc<Self>) {
        let mut backoff = Duration::from_secs(1);
        while !self.stopped.load(Ordering::SeqCst) {
            let current = self.lock().conn.clone();
            match current {
                None => match Connect::open(Some(&self.uri)) {
                    Ok(c) => {
                        // Keepalive notices a dead peer even when no call is in flight (3 s x 3 probes).
                        let _ = c.set_keep_alive(3, 3);
                        if let Err(e) = events::register_lifecycle(&c, self.id, self.tx.clone()) {
                            tracing::warn!(host = self.id, error = %e, "no lifecycle events from this host");
                        }
                        self.lock().conn = Some(c);
                        backoff = Duration::from_secs(1);
                        tracing::info!(host = self.id, uri = %self.uri, "host online");
                        self.set_status(HostStatus::Online, None);
                    }
                    Err(e) => {
                        self.set_status(HostStatus::Offline, Some(e.message().to_string()));
                        self.sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(8));
                    }
                },
                Some(c) => {
                    if c.is_alive().unwrap_or(false) {
                        self.sleep(Duration::from_secs(1));
                    } else {
                        tracing::warn!(host = self.id, "connection to host lost");
                        let dead = self.lock().conn.take();
                        close(c);
                        if let Some(d) = dead {
                            close(d);
                        }
                        self.set_status(HostStatus::Offline, Some("connection lost".into()));
                    }
                }
            }
        }
        let last = self.lock().conn.take();
        if let Some(c) = last {
            close(c);
        }
    }
}
