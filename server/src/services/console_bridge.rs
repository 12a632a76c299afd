//! The console bridge: a browser's WebSocket to the VM's VNC server (a socket libvirt hands over, TCP, or an SSH
//! tunnel) or to its serial console (libvirt's console stream), with back-pressure both ways, bounded memory,
//! byte counts, an idle timeout, view-only filtering, and one reason for every end.
use super::consoles::{Live, Ticket};
use super::rfb;
use crate::db;
use crate::state::AppState;
use crate::virt::console;
use app::api::ConsoleKind;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The VM side of a session: anything that reads and writes bytes.
pub trait Target: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Target for T {}

/// What happens to the browser's bytes.
pub enum Input {
    Pass,
    /// RFB: screen requests pass, input is dropped.
    ViewOnlyRfb(rfb::ViewOnly),
    /// Serial: nothing passes.
    Drop,
}

pub struct PumpLimits {
    pub max_message: usize,
    pub idle: Duration,
}

/// Counts and signals shared with the registry.
pub struct Meter<'a> {
    pub live: &'a Live,
    /// Milliseconds since the epoch when the session must end (a share link's expiry).
    pub deadline: Option<i64>,
    /// Checked every few seconds: a reason to end (the host went offline).
    pub still_ok: &'a (dyn Fn() -> Option<&'static str> + Send + Sync),
}

/// The close code the browser gets for each reason: 1000 for ends that are nobody's fault, 1008/1009 for input
/// the bridge refuses, 4000–4099 for the rest (noVNC and the console page show the reason text).
pub fn close_code(reason: &str) -> u16 {
    match reason {
        "vm_closed" | "closed_by_browser" => 1000,
        "frame_too_large" => 1009,
        "bad_input" | "bad_handshake" => 1008,
        "idle" => 4000,
        "ended_by_admin" | "ended_by_user" => 4001,
        "signed_out" => 4002,
        "host_offline" => 4003,
        "link_expired" | "link_revoked" => 4004,
        "shutdown" => 1001,
        _ => 4010,
    }
}

async fn close(ws: &mut futures::stream::SplitSink<WebSocket, Message>, reason: &str) {
    let frame = CloseFrame {
        code: close_code(reason),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.send(Message::Close(Some(frame)))).await;
}

/// Browser messages for the RFB handshake.
struct WsMessages<'a> {
    rx: &'a mut futures::stream::SplitStream<WebSocket>,
    tx: &'a mut futures::stream::SplitSink<WebSocket, Message>,
}

impl rfb::Messages for WsMessages<'_> {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.rx.next().await? {
                Ok(Message::Binary(b)) => return Some(b.to_vec()),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                _ => return None,
            }
        }
    }
    async fn send(&mut self, data: Vec<u8>) -> bool {
        self.tx.send(Message::Binary(data.into())).await.is_ok()
    }
}

fn now_ms() -> i64 {
    db::now_ms()
}

/// Moves bytes both ways until one side ends, the session is ended, goes idle or passes its deadline; returns
/// why it ended. `first` is what the browser already sent (after a handshake).
pub async fn pump<T: Target>(
    ws: WebSocket,
    target: T,
    mut input: Input,
    first: Vec<u8>,
    limits: &PumpLimits,
    meter: Meter<'_>,
) -> &'static str {
    let (tx, rx) = ws.split();
    pump_split(tx, rx, target, &mut input, first, limits, meter).await
}

async fn pump_split<T: Target>(
    mut tx: futures::stream::SplitSink<WebSocket, Message>,
    mut rx: futures::stream::SplitStream<WebSocket>,
    target: T,
    input: &mut Input,
    first: Vec<u8>,
    limits: &PumpLimits,
    meter: Meter<'_>,
) -> &'static str {
    let live = meter.live;
    let (mut rd, mut wr) = tokio::io::split(target);
    let last = AtomicI64::new(now_ms());
    let mut end = live.end.subscribe();
    let reason = {
        let up = async {
            let mut pending = first;
            loop {
                let bytes = match input {
                    Input::Pass => std::mem::take(&mut pending),
                    Input::ViewOnlyRfb(f) => match f.filter(&pending) {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::info!(session = live.id, error = %e, "view-only session sent something unknown");
                            return "bad_input";
                        }
                    },
                    Input::Drop => Vec::new(),
                };
                pending.clear();
                if !bytes.is_empty() && wr.write_all(&bytes).await.is_err() {
                    return "vm_closed";
                }
                match rx.next().await {
                    Some(Ok(Message::Binary(b))) => {
                        if b.len() > limits.max_message {
                            return "frame_too_large";
                        }
                        live.to_vm.fetch_add(b.len() as u64, Ordering::Relaxed);
                        last.store(now_ms(), Ordering::Relaxed);
                        pending = b.to_vec();
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    // The bridge speaks binary only: text is someone else's protocol.
                    Some(Ok(Message::Text(_))) => return "bad_input",
                    Some(Ok(Message::Close(_))) | None => return "closed_by_browser",
                    Some(Err(e)) => {
                        let too_big = e.to_string().contains("too long") || e.to_string().contains("too big");
                        return if too_big {
                            "frame_too_large"
                        } else {
                            "closed_by_browser"
                        };
                    }
                }
            }
        };
        let down = async {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return "vm_closed",
                    Ok(n) => n,
                };
                live.from_vm.fetch_add(n as u64, Ordering::Relaxed);
                last.store(now_ms(), Ordering::Relaxed);
                if tx.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                    return "closed_by_browser";
                }
            }
        };
        let watch = async {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    r = end.changed() => {
                        if r.is_err() {
                            return "shutdown";
                        }
                    }
                }
                if let Some(r) = *end.borrow() {
                    return r;
                }
                let now = now_ms();
                if now - last.load(Ordering::Relaxed) > limits.idle.as_millis() as i64 {
                    return "idle";
                }
                if meter.deadline.is_some_and(|d| now >= d) {
                    return "link_expired";
                }
                if let Some(r) = (meter.still_ok)() {
                    return r;
                }
            }
        };
        tokio::select! {
            r = up => r,
            r = down => r,
            r = watch => r,
        }
    };
    let _ = wr.shutdown().await;
    close(&mut tx, reason).await;
    reason
}

/// Why the VM side could not be reached: a reason for the page and words for the log.
pub struct Unreachable {
    pub reason: &'static str,
    pub detail: String,
}

fn unreachable(reason: &'static str, detail: impl Into<String>) -> Unreachable {
    Unreachable {
        reason,
        detail: detail.into(),
    }
}

type Boxed = Box<dyn Target>;

/// The ticket's host and what the VM's live XML says, once the VM is seen running.
async fn running(state: &AppState, t: &Ticket) -> Result<(db::hosts::HostRow, console::ConsoleFacts), Unreachable> {
    let host = super::hosts::row(state, t.host_id)
        .await
        .map_err(|e| unreachable("host_offline", e.to_string()))?;
    let uuid = t.vm_uuid.clone();
    let facts = state
        .virt
        .call(host.id, &host.name, move |c| console::facts(c, &uuid))
        .await
        .map_err(|e| unreachable("host_offline", e.to_string()))?;
    if facts.state != "running" {
        return Err(unreachable("vm_off", facts.state));
    }
    Ok((host, facts))
}

/// The VM's VNC server, with the handshake done (the password answered), ready for the browser's ClientInit.
pub async fn vnc_target(state: &AppState, t: &Ticket) -> Result<Boxed, Unreachable> {
    let (host, facts) = running(state, t).await?;
    let vnc = facts.vnc.ok_or_else(|| unreachable("no_graphics", ""))?;
    let (mut io, password): (Boxed, Option<String>) = if console::is_local(&host.uri) {
        // The local daemon hands over a socket: no port, no password needed.
        let uuid = t.vm_uuid.clone();
        let sock = state
            .virt
            .call(host.id, &host.name, move |c| console::open_vnc_socket(c, &uuid))
            .await
            .map_err(|e| unreachable("vnc_unreachable", e.to_string()))?;
        let sock = sock
            .set_nonblocking(true)
            .and_then(|_| tokio::net::UnixStream::from_std(sock))
            .map_err(|e| unreachable("vnc_unreachable", e.to_string()))?;
        (Box::new(sock), None)
    } else {
        let port = vnc.port.ok_or_else(|| unreachable("vm_off", "no VNC port"))?;
        let listen = vnc.listen.clone().unwrap_or_else(|| "127.0.0.1".into());
        let loopback = listen.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback()) || listen == "localhost";
        if loopback {
            let Some((dest, ssh_port)) = console::ssh_target(&host.uri) else {
                return Err(unreachable("vnc_loopback_only", listen));
            };
            (Box::new(ssh_tunnel(&dest, ssh_port, port).await?), vnc.password.clone())
        } else {
            let unspecified = listen.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_unspecified());
            let addr = if unspecified {
                console::uri_host(&host.uri).unwrap_or_else(|| "127.0.0.1".into())
            } else {
                listen
            };
            let tcp = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect((addr.as_str(), port)),
            )
            .await
            .map_err(|_| unreachable("vnc_unreachable", format!("{addr}:{port}: timed out")))?
            .map_err(|e| unreachable("vnc_unreachable", format!("{addr}:{port}: {e}")))?;
            let _ = tcp.set_nodelay(true);
            (Box::new(tcp), vnc.password.clone())
        }
    };
    tokio::time::timeout(
        Duration::from_secs(10),
        rfb::connect_server(&mut io, password.as_deref()),
    )
    .await
    .map_err(|_| unreachable("vnc_unreachable", "the VNC server did not answer"))?
    .map_err(|e| unreachable(e.reason, e.detail))?;
    Ok(io)
}

/// `ssh -W`: the VNC port on the remote host's loopback, through the same SSH access libvirt uses.
async fn ssh_tunnel(dest: &str, ssh_port: Option<u16>, vnc_port: u16) -> Result<impl Target, Unreachable> {
    let mut cmd = tokio::process::Command::new("ssh");
    cmd.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-W"])
        .arg(format!("127.0.0.1:{vnc_port}"));
    if let Some(p) = ssh_port {
        cmd.arg("-p").arg(p.to_string());
    }
    // `--` so a destination can never be read as an option.
    cmd.arg("--").arg(dest);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| unreachable("vnc_unreachable", format!("ssh: {e}")))?;
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        return Err(unreachable("vnc_unreachable", "ssh: no pipes"));
    };
    Ok(Tunnel {
        io: tokio::io::join(stdout, stdin),
        _child: child,
    })
}

/// An SSH child process's pipes; the process ends with the session.
struct Tunnel {
    io: tokio::io::Join<tokio::process::ChildStdout, tokio::process::ChildStdin>,
    _child: tokio::process::Child,
}

impl AsyncRead for Tunnel {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Scrollback sent before the live serial output: the end of the serial log, when it is on this machine.
const SCROLLBACK: u64 = 64 * 1024;

/// The VM's serial console as a byte stream: libvirt's blocking console stream read on a thread of its own,
/// written from the async side; ending the session aborts the stream, which ends the thread.
pub async fn serial_target(state: &AppState, t: &Ticket) -> Result<(Boxed, Vec<u8>), Unreachable> {
    let (host, facts) = running(state, t).await?;
    if !facts.serial.present {
        return Err(unreachable("no_serial", ""));
    }
    let scrollback = match (&facts.serial.log, console::is_local(&host.uri)) {
        (Some(path), true) => tail(path).await,
        _ => Vec::new(),
    };
    let conn = state
        .virt
        .connection(host.id, &host.name)
        .map_err(|e| unreachable("host_offline", e.to_string()))?;
    let uuid = t.vm_uuid.clone();
    // Watching must not take the console from someone using it; using it takes it over.
    let force = !t.view_only;
    let stream = tokio::task::spawn_blocking(move || console::open_serial(&conn, &uuid, force))
        .await
        .map_err(|e| unreachable("serial_unavailable", e.to_string()))?
        .map_err(|e| unreachable(if force { "serial_unavailable" } else { "serial_busy" }, e.to_string()))?;
    let stream = Arc::new(stream);
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut their_rd, mut their_wr) = tokio::io::split(theirs);
    // Guest → browser: a blocking reader thread.
    let reader = stream.clone();
    let rt = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        // `sc-` and the VM's first 8 hex digits: which VM's console a thread reads (a Linux thread name holds 15).
        .name(format!("sc-{}", &t.vm_uuid[..t.vm_uuid.len().min(8)]))
        .spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match reader.recv(&mut buf) {
                    Ok(n) if n > 0 => {
                        if rt.block_on(their_wr.write_all(&buf[..n as usize])).is_err() {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            let _ = rt.block_on(their_wr.shutdown());
        })
        .map_err(|e| unreachable("serial_unavailable", e.to_string()))?;
    // Browser → guest: sends on the blocking pool; when the session ends, the stream is aborted.
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match their_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let (s, data) = (stream.clone(), buf[..n].to_vec());
            let sent = tokio::task::spawn_blocking(move || {
                let mut at = 0;
                while at < data.len() {
                    match s.send(&data[at..]) {
                        Ok(n) if n > 0 => at += n as usize,
                        _ => return false,
                    }
                }
                true
            })
            .await;
            if !matches!(sent, Ok(true)) {
                break;
            }
        }
        let s = stream.clone();
        let _ = tokio::task::spawn_blocking(move || {
            // SAFETY: the stream is alive (we hold a reference); aborting wakes the reader thread's recv.
            unsafe { virt::sys::virStreamAbort(s.as_ptr()) };
        })
        .await;
    });
    Ok((Box::new(ours), scrollback))
}

async fn tail(path: &str) -> Vec<u8> {
    let Ok(mut f) = tokio::fs::File::open(path).await else {
        return Vec::new();
    };
    let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(SCROLLBACK);
    if tokio::io::AsyncSeekExt::seek(&mut f, std::io::SeekFrom::Start(from))
        .await
        .is_err()
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let _ = f.take(SCROLLBACK).read_to_end(&mut out).await;
    out
}

/// The kind's target and the bytes to send the browser first.
pub async fn connect(state: &AppState, t: &Ticket) -> Result<(Boxed, Vec<u8>), Unreachable> {
    match t.kind {
        ConsoleKind::Vnc => Ok((vnc_target(state, t).await?, Vec::new())),
        ConsoleKind::Serial => serial_target(state, t).await,
    }
}

/// The browser's side of the RFB handshake, then the pump; the serial console starts with the scrollback.
pub async fn run(
    ws: WebSocket,
    t: &Ticket,
    target: Boxed,
    scrollback: Vec<u8>,
    limits: &PumpLimits,
    meter: Meter<'_>,
) -> &'static str {
    let (mut tx, mut rx) = ws.split();
    let mut input = match (t.kind, t.view_only) {
        (ConsoleKind::Vnc, true) => Input::ViewOnlyRfb(rfb::ViewOnly::default()),
        (ConsoleKind::Serial, true) => Input::Drop,
        _ => Input::Pass,
    };
    let first = match t.kind {
        ConsoleKind::Vnc => {
            let mut m = WsMessages {
                rx: &mut rx,
                tx: &mut tx,
            };
            match rfb::accept_client(&mut m).await {
                Ok(rest) => rest,
                Err(e) => {
                    close(&mut tx, e.reason).await;
                    return e.reason;
                }
            }
        }
        ConsoleKind::Serial => {
            if !scrollback.is_empty() {
                meter.live.from_vm.fetch_add(scrollback.len() as u64, Ordering::Relaxed);
                if tx.send(Message::Binary(scrollback.into())).await.is_err() {
                    return "closed_by_browser";
                }
            }
            Vec::new()
        }
    };
    pump_split(tx, rx, target, &mut input, first, limits, meter).await
}

/// The pump alone, between a WebSocket and any byte stream, with nobody's session around it: what the benchmark
/// measures against other proxies (the same code that serves users, without the ticket and the recording).
pub async fn pump_plain<T: Target>(ws: WebSocket, target: T, limits: &PumpLimits) -> &'static str {
    let live = Live {
        id: 0,
        holder: super::consoles::Holder {
            user_id: None,
            name: String::new(),
            link_id: None,
        },
        vm_uuid: String::new(),
        host_id: 0,
        kind: ConsoleKind::Vnc,
        view_only: false,
        source: String::new(),
        started_at: 0,
        to_vm: Default::default(),
        from_vm: Default::default(),
        end: tokio::sync::watch::channel(None).0,
    };
    let ok = || None;
    let meter = Meter {
        live: &live,
        deadline: None,
        still_ok: &ok,
    };
    pump(ws, target, Input::Pass, Vec::new(), limits, meter).await
}
