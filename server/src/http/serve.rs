//! The HTTP server loop: a cap on open connections, a header-read timeout (which also ends idle keep-alive
//! connections), an idle timeout on every connection, and graceful shutdown.
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time a client has to send a request's headers, counted from when the server starts waiting for them
    /// (so it also closes keep-alive connections that stay quiet between requests).
    pub header_read: Duration,
    /// A connection on which nothing moves either way for this long is closed (a stalled body, a dead peer).
    pub idle: Duration,
    /// Connections open at once; beyond it, new ones wait in the kernel's backlog until one closes.
    pub max_connections: usize,
}

/// Serves `app` until `shutdown` resolves, then lets open requests finish (at most 10 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(io::Error::other)?,
            _ = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let busy = Arc::new(Busy::default());
        let in_flight = busy.clone();
        let svc = tower::service_fn(move |req: axum::http::Request<Incoming>| {
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo(addr));
            parts.extensions.insert(Working(in_flight.clone()));
            let body = axum::body::Body::new(Tracked {
                inner: body,
                busy: in_flight.clone(),
            });
            let work = app.clone().oneshot(axum::http::Request::from_parts(parts, body));
            let guard = InFlight::new(in_flight.clone());
            async move {
                let resp = work.await;
                drop(guard);
                resp
            }
        });
        let io = TokioIo::new(IdleTimeout::new(stream, limits.idle, busy));
        let conn = builder
            .serve_connection_with_upgrades(io, TowerToHyperService::new(svc))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}

/// What a connection's server side is doing: requests being worked on, and whether a handler is waiting for the
/// client to send more of a body (that wait is the client's idleness, not the server's work).
#[derive(Default)]
pub struct Busy {
    in_flight: AtomicUsize,
    awaiting_body: AtomicUsize,
}

impl Busy {
    fn working(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0 && self.awaiting_body.load(Ordering::SeqCst) == 0
    }
}

/// A connection's activity, for handlers that keep working after their answer (a WebSocket session): while
/// they hold `hold()`, the connection's idle timeout leaves it alone and their own timeouts apply.
#[derive(Clone)]
pub struct Working(Arc<Busy>);

impl Working {
    pub fn hold(&self) -> InFlight {
        InFlight::new(self.0.clone())
    }
}

/// Counts a request as being worked on until its handler has answered.
pub struct InFlight(Arc<Busy>);

impl InFlight {
    fn new(b: Arc<Busy>) -> Self {
        b.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(b)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request body that tells `Busy` while its reader waits for the client.
struct Tracked {
    inner: Incoming,
    busy: Arc<Busy>,
}

impl http_body::Body for Tracked {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let waiting = &self.busy.awaiting_body;
        match polled {
            Poll::Pending => {
                // Marked once per wait (a repeated Pending does not count twice).
                if waiting.load(Ordering::SeqCst) == 0 {
                    waiting.store(1, Ordering::SeqCst);
                }
            }
            Poll::Ready(_) => waiting.store(0, Ordering::SeqCst),
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A TCP stream that fails with `TimedOut` once nothing was read or written for `limit` while no request was
/// being worked on (a long batch is the server's wait, not the client's idleness).
struct IdleTimeout {
    inner: TcpStream,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    busy: Arc<Busy>,
}

impl IdleTimeout {
    fn new(inner: TcpStream, limit: Duration, busy: Arc<Busy>) -> Self {
        IdleTimeout {
            inner,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            busy,
        }
    }

    fn moved(&mut self) {
        let at = Instant::now() + self.limit;
        self.timer.as_mut().reset(at);
    }

    /// Called when the inner stream has nothing to offer: is it time to give up?
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.timer.as_mut().poll(cx).is_ready() {
            return false;
        }
        if self.busy.working() {
            // A request is being worked on: look again a full period later.
            self.moved();
            let _ = self.timer.as_mut().poll(cx);
            return false;
        }
        true
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle")
}

impl AsyncRead for IdleTimeout {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                self.moved();
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                self.moved();
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                self.moved();
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
