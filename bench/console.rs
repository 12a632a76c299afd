//! The console bridge, WebSocket ↔ TCP over loopback: Hangar's pump (`pump_plain` behind an axum route) against
//! Python `websockify` 0.13.0 (the proxy WebVirtCloud and OpenStack use), both bridging to the same local TCP
//! servers in the same run: throughput each way with 4 KiB and 64 KiB frames, the round-trip latency each bridge
//! adds to 16-byte frames, and each bridge's memory with 200 idle sessions, with Hangar / websockify for each.
//!
//! Each bridge runs as a process of its own, so its memory is its own: this binary started with
//! `HANGAR_BENCH_BRIDGE=<listen-port>:<target-host:port>` is the Hangar bridge alone (it prints its port and
//! serves); websockify runs as `python3 -m websockify`. Without websockify installed, Hangar is measured alone.
//! Run: `bench/run.sh` (or `cargo bench -p server --bench console`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use axum::extract::ws::WebSocketUpgrade;
use axum::routing::get;
use axum::serve::ListenerExt;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hangar::services::console_bridge::{pump_plain, PumpLimits};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::connect_async_with_config;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The small frame of the latency and memory figures.
const SMALL: usize = 16;
const WARMUP: usize = 200;
const ROUNDS: usize = 2000;
const SESSIONS: usize = 200;
/// A throughput run shorter than this is repeated with more data: short runs measure the start, not the pace.
const MIN_SECS: f64 = 1.0;
const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    // The child process mode; cargo's `--bench` and any other argument are ignored.
    if let Ok(spec) = std::env::var("HANGAR_BENCH_BRIDGE") {
        serve_bridge(&spec);
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(bench());
}

/// The Hangar bridge alone, as Hangar serves a console: `/ws` upgraded, a TCP connection to `target`, the pump
/// between them. Listens on 127.0.0.1:`listen` (0: any free port) and prints the port.
fn serve_bridge(spec: &str) {
    let (listen, target) = spec
        .split_once(':')
        .expect("HANGAR_BENCH_BRIDGE=<listen-port>:<target-host:port>");
    let listen: u16 = listen.parse().expect("the listen port");
    let target: Arc<str> = target.into();
    tokio::runtime::Runtime::new().unwrap().block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", listen)).await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let handler = move |up: WebSocketUpgrade| upgrade(up, target.clone());
        let app = axum::Router::new().route("/ws", get(handler));
        // As Hangar's own server does (http/serve.rs): no Nagle on browser connections.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await.unwrap();
    });
}

async fn upgrade(up: WebSocketUpgrade, target: Arc<str>) -> axum::response::Response {
    up.max_message_size(1 << 20)
        .max_frame_size(1 << 20)
        .on_upgrade(move |socket| async move {
            let Ok(tcp) = TcpStream::connect(&*target).await else {
                return;
            };
            let _ = tcp.set_nodelay(true);
            let limits = PumpLimits {
                max_message: 1 << 20,
                idle: Duration::from_secs(600),
            };
            pump_plain(socket, tcp, &limits).await;
        })
}

/// The stand-in for the VM: one TCP server whose first byte picks what it does, so that one bridge (with one
/// target address) serves every measurement. `E`: echoes everything after it. `S` + total (u64 LE): reads and
/// discards `total` bytes, then answers one byte (everything arrived). `D` + chunk (u32 LE) + total (u64 LE):
/// writes `total` bytes, `chunk` at a time.
async fn lab_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            if let Ok((s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = lab_session(s).await;
                });
            }
        }
    });
    port
}

async fn lab_session(mut s: TcpStream) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    match s.read_u8().await? {
        b'E' => {
            let (mut rd, mut wr) = s.split();
            tokio::io::copy(&mut rd, &mut wr).await?;
            return Ok(());
        }
        b'S' => {
            let total = s.read_u64_le().await?;
            if tokio::io::copy(&mut (&mut s).take(total), &mut tokio::io::sink()).await? == total {
                s.write_all(b"!").await?;
            }
        }
        b'D' => {
            let chunk = s.read_u32_le().await? as usize;
            let total = s.read_u64_le().await?;
            let buf = vec![0x5a_u8; chunk];
            let mut sent = 0;
            while sent < total {
                let n = chunk.min((total - sent) as usize);
                s.write_all(&buf[..n]).await?;
                sent += n as u64;
            }
        }
        _ => return Ok(()),
    }
    // Open until the bridge hangs up: a bridge may end a session when its target closes, before all is delivered.
    tokio::io::copy(&mut s, &mut tokio::io::sink()).await?;
    Ok(())
}

/// A bridge process; dropping it (at the end or on a panic) kills it and whatever it forked.
struct Bridge {
    name: &'static str,
    port: u16,
    child: Child,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Descendants first (websockify forks one process per session), each by its pid.
        for pid in tree(self.child.id()).into_iter().rev() {
            // SAFETY: kill(2) on a pid touches no memory of ours.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// Hangar's bridge (this binary in its child mode) and, when it is installed, websockify.
fn start_bridges(lab: u16, websockify: bool) -> Vec<Bridge> {
    let mut hangar = Bridge {
        name: "Hangar",
        port: 0,
        child: Command::new(std::env::current_exe().unwrap())
            .env("HANGAR_BENCH_BRIDGE", format!("0:127.0.0.1:{lab}"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    };
    let mut line = String::new();
    std::io::BufReader::new(hangar.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    hangar.port = line.trim().parse().expect("the bridge child prints its port");
    let mut bridges = vec![hangar];
    if !websockify {
        return bridges;
    }
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    // Its defaults, as deployed: one forked process per session, no TLS, no token plugin.
    bridges.push(Bridge {
        name: "websockify",
        port,
        child: Command::new("python3")
            .args(["-m", "websockify"])
            .arg(format!("127.0.0.1:{port}"))
            .arg(format!("127.0.0.1:{lab}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    });
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return bridges;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("websockify does not listen on port {port}");
}

/// websockify's version, Python's, and whether numpy (websockify's fast unmasking) is there; None without it.
fn websockify_version() -> Option<String> {
    let script = "import sys, importlib.metadata as m, importlib.util as u, websockify; \
        print(m.version('websockify'), 'on Python', sys.version.split()[0], \
        'with numpy' if u.find_spec('numpy') else 'WITHOUT numpy (slow unmasking)')";
    let out = Command::new("python3")
        .args(["-c", script])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn connect(port: u16) -> Ws {
    // No subprotocol: websockify 0.13 sends binary frames without one (it picks `binary` only when offered), and
    // asking for one that Hangar's route does not answer would fail the handshake. Nagle off, as in a browser.
    let url = format!("ws://127.0.0.1:{port}/ws");
    connect_async_with_config(url, None, true).await.unwrap().0
}

/// A binary message of the parts, one after the other.
fn message(parts: &[&[u8]]) -> Message {
    Message::binary(parts.concat())
}

/// Reads binary messages until `n` bytes arrived: a bridge may split or merge what the TCP side wrote.
async fn read_n(ws: &mut Ws, n: u64) {
    let mut got = 0;
    while got < n {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => got += b.len() as u64,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("the session ended after {got} of {n} bytes: {other:?}"),
        }
    }
}

#[derive(Clone, Copy)]
enum Dir {
    Up,
    Down,
}

/// One transfer of `total` bytes on a new session, `frame` bytes at a time; its seconds.
async fn transfer(port: u16, dir: Dir, frame: usize, total: u64) -> f64 {
    let mut ws = connect(port).await;
    let data = Bytes::from(vec![0x5a_u8; frame]);
    let t = Instant::now();
    match dir {
        Dir::Up => {
            ws.send(message(&[b"S", &total.to_le_bytes()])).await.unwrap();
            // Pipelined: `feed` queues a frame and writes when the buffer fills; nothing waits for the far side
            // until the sink's one-byte answer says all arrived.
            for _ in 0..total / frame as u64 {
                ws.feed(Message::binary(data.clone())).await.unwrap();
            }
            ws.flush().await.unwrap();
            read_n(&mut ws, 1).await;
        }
        Dir::Down => {
            let chunk = (frame as u32).to_le_bytes();
            ws.send(message(&[b"D", &chunk, &total.to_le_bytes()])).await.unwrap();
            read_n(&mut ws, total).await;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    secs
}

/// MiB/s of one direction and frame size. The amount adapts to the bridge (Hangar and websockify differ by far
/// more than any fixed size suits): from 8 MiB it grows until a run takes at least `MIN_SECS`, and that run counts.
async fn throughput(port: u16, dir: Dir, frame: usize) -> f64 {
    let frame64 = frame as u64;
    let mut total = 8_u64 << 20;
    loop {
        let secs = transfer(port, dir, frame, total).await;
        if secs >= MIN_SECS {
            return total as f64 / MIB / secs;
        }
        // Aim at 1.5 s, at most 16× per step so that a noisy short run cannot overshoot by much.
        let grow = (1.5 / secs.max(1e-3)).min(16.0);
        total = ((total as f64 * grow) as u64).div_ceil(frame64) * frame64;
    }
}

/// Round trips of a 16-byte message straight to the echo server, over TCP: the floor the bridges add to.
async fn rtt_direct(lab: u16) -> Vec<Duration> {
    let mut s = TcpStream::connect(("127.0.0.1", lab)).await.unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(b"E").await.unwrap();
    let mut back = [0_u8; SMALL];
    let mut out = Vec::with_capacity(ROUNDS);
    for i in 0..WARMUP + ROUNDS {
        let t = Instant::now();
        s.write_all(&[i as u8; SMALL]).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
        if i >= WARMUP {
            out.push(t.elapsed());
        }
    }
    out
}

/// The same round trips through a bridge, one binary message each way.
async fn rtt_bridge(port: u16) -> Vec<Duration> {
    let mut ws = connect(port).await;
    ws.send(message(&[b"E"])).await.unwrap();
    let mut out = Vec::with_capacity(ROUNDS);
    for i in 0..WARMUP + ROUNDS {
        let t = Instant::now();
        ws.send(Message::binary(vec![i as u8; SMALL])).await.unwrap();
        read_n(&mut ws, SMALL as u64).await;
        if i >= WARMUP {
            out.push(t.elapsed());
        }
    }
    let _ = ws.close(None).await;
    out
}

/// p50 and p99, in milliseconds.
fn p50_p99(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let at = |p: f64| d[((d.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}

/// Sessions that each completed the upgrade and echoed one small message, then stay open and idle.
async fn open_sessions(port: u16) -> Vec<Ws> {
    let mut sessions = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let mut ws = connect(port).await;
        ws.send(message(&[b"E", &[7; SMALL]])).await.unwrap();
        read_n(&mut ws, SMALL as u64).await;
        sessions.push(ws);
    }
    sessions
}

/// The process and its descendants (websockify forks one process per session), from the kernel's lists of
/// children (`CONFIG_PROC_CHILDREN`, on in distribution kernels); websockify forks from its main thread.
fn tree(pid: u32) -> Vec<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut out = vec![pid];
    for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
        out.extend(tree(child));
    }
    out
}

/// The kibibytes of the `field` line of `/proc/<pid>/<file>`.
fn proc_kib(pid: u32, file: &str, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// RSS and PSS in MiB, summed over the process and its descendants, and how many processes. websockify's forks
/// share most pages, which their summed RSS counts once per process; PSS splits each shared page among them.
fn memory(pid: u32) -> (f64, f64, usize) {
    let pids = tree(pid);
    let sum = |file: &str, field: &str| {
        let kib: u64 = pids.iter().map(|&p| proc_kib(p, file, field)).sum();
        kib as f64 / 1024.0
    };
    (sum("status", "VmRSS:"), sum("smaps_rollup", "Pss:"), pids.len())
}

/// A section's title and the column names.
fn head(title: &str, bridges: &[Bridge]) {
    println!("\n{title}");
    let mut line = " ".repeat(42);
    for b in bridges {
        line.push_str(&format!("{:>12}", b.name));
    }
    if bridges.len() == 2 {
        line.push_str(&format!("{:>19}", "Hangar/websockify"));
    }
    println!("{line}");
}

/// One figure per bridge (Hangar first) and, when both ran, Hangar / websockify.
fn row(label: &str, v: &[f64], decimals: usize, goal: &str) {
    let mut line = format!("  {label:<40}");
    for x in v {
        line.push_str(&format!("{x:>12.decimals$}"));
    }
    if let [hangar, websockify] = v {
        line.push_str(&format!("{:>18.2}×", hangar / websockify));
    }
    if !goal.is_empty() {
        line.push_str(&format!("   {goal}"));
    }
    println!("{line}");
}

async fn bench() {
    let lab = lab_server().await;
    let websockify = websockify_version();
    println!("console bridge, WebSocket ↔ TCP over loopback: Hangar (pump_plain behind axum) against websockify");
    match &websockify {
        Some(v) if v.starts_with("0.13.0 ") => println!("websockify {v}"),
        Some(v) => println!("websockify {v} (the reference is 0.13.0: python3 -m pip install websockify==0.13.0)"),
        None => {
            println!("websockify 0.13.0 is missing (install: python3 -m pip install websockify==0.13.0)");
            println!("measuring Hangar alone");
        }
    }
    let bridges = start_bridges(lab, websockify.is_some());

    head("throughput, MiB/s (goal: Hangar ≥ 3× websockify)", &bridges);
    for (label, dir, frame) in [
        ("up (browser→VM), 4 KiB frames", Dir::Up, 4 << 10),
        ("up (browser→VM), 64 KiB frames", Dir::Up, 64 << 10),
        ("down (VM→browser), the VM writes 4 KiB", Dir::Down, 4 << 10),
        ("down (VM→browser), the VM writes 64 KiB", Dir::Down, 64 << 10),
    ] {
        let mut v = Vec::new();
        for b in &bridges {
            v.push(throughput(b.port, dir, frame).await);
        }
        row(label, &v, 1, "");
    }

    let (d50, d99) = p50_p99(rtt_direct(lab).await);
    head(
        &format!(
            "added round-trip latency, {SMALL}-byte messages, ms: through the bridge − direct TCP \
             (direct: p50 {d50:.3}, p99 {d99:.3}; {ROUNDS} round trips after {WARMUP})"
        ),
        &bridges,
    );
    let (mut added50, mut added99) = (Vec::new(), Vec::new());
    for b in &bridges {
        let (p50, p99) = p50_p99(rtt_bridge(b.port).await);
        added50.push(p50 - d50);
        added99.push(p99 - d99);
    }
    row("p50 added", &added50, 3, "goal: Hangar ≤ 0.2 ms");
    row("p99 added", &added99, 3, "");

    // Fresh processes: what an allocator kept from the throughput runs is not what idle sessions cost.
    drop(bridges);
    let bridges = start_bridges(lab, websockify.is_some());
    let (mut idle, mut rss, mut pss, mut procs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in &bridges {
        idle.push(memory(b.child.id()).0);
        let sessions = open_sessions(b.port).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (r, p, n) = memory(b.child.id());
        rss.push(r);
        pss.push(p);
        procs.push(format!("{} {n}", b.name));
        drop(sessions);
    }
    let procs = procs.join(", ");
    head(
        &format!("memory with {SESSIONS} idle sessions, MiB (processes: {procs})"),
        &bridges,
    );
    row("RSS, no session", &idle, 1, "");
    row(&format!("RSS, {SESSIONS} sessions"), &rss, 1, "goal: Hangar < 100 MiB");
    row(&format!("PSS, {SESSIONS} sessions (shared pages split)"), &pss, 1, "");
}
