//! The listener: accepts TCP connections and serves HTTP/1.1 (with upgrades) on them, under
//! the [`ConnLimits`] of the configuration, before any authentication runs:
//!
//! - a request header must arrive within `header_read_timeout` (slow-header senders are cut);
//! - a connection with no request in flight and no bytes either way for `idle_timeout` is
//!   closed (idle sockets cannot pile up);
//! - a client whose socket takes no bytes for `write_timeout` (it stopped reading) is
//!   disconnected and counted; this holds for upgraded WebSocket and Socket.IO connections
//!   too, since they run on the same socket wrapper, and never delays other clients;
//! - at most `max_connections` HTTP connections are served at once; beyond that new ones are
//!   closed at accept, with one log line per 10 s.
//!
//! On shutdown the listener closes, every connection finishes its in-flight request and
//! closes, and [`serve`] returns once all have.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::state::ConnLimits;

/// What [`serve`] serves: an axum router (or any service like it), cloned per connection.
pub trait AppService:
    tower::Service<
        axum::http::Request<axum::body::Body>,
        Response = axum::response::Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> AppService for S where
    S: tower::Service<
            axum::http::Request<axum::body::Body>,
            Response = axum::response::Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve<S: AppService>(
    listener: TcpListener,
    app: S,
    limits: ConnLimits,
    evicted: Arc<AtomicUsize>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Every connection task holds a sender; `recv` returns `None` once all are gone.
    let (alive_tx, mut alive_rx) = tokio::sync::mpsc::channel::<()>(1);
    let cap_warning = CapWarning::default();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            cap_warning.warn(limits.max_connections);
            drop(stream);
            continue;
        };
        let conn = Connection {
            peer,
            limits,
            evicted: evicted.clone(),
            permit,
            stop: stop_rx.clone(),
            alive: alive_tx.clone(),
        };
        conn.spawn(stream, &builder, app.clone());
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
    Ok(())
}

/// One accepted connection: served until it ends or the server stops (then gracefully).
struct Connection {
    peer: SocketAddr,
    limits: ConnLimits,
    evicted: Arc<AtomicUsize>,
    /// Its place under `MAX_CONNECTIONS`, released when the connection ends.
    permit: tokio::sync::OwnedSemaphorePermit,
    stop: tokio::sync::watch::Receiver<bool>,
    /// Dropped when the connection ends; the server waits for all of them on shutdown.
    alive: tokio::sync::mpsc::Sender<()>,
}

impl Connection {
    fn spawn<S: AppService>(
        self,
        stream: TcpStream,
        builder: &hyper::server::conn::http1::Builder,
        app: S,
    ) {
        let Self {
            peer,
            limits,
            evicted,
            permit,
            mut stop,
            alive,
        } = self;
        let _ = stream.set_nodelay(true);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let io = GuardedIo::new(stream, peer, limits, in_flight.clone(), evicted);
        let service = hyper::service::service_fn(move |req: axum::http::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let guard = InFlight::enter(in_flight.clone());
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await;
                drop(guard);
                res
            }
        });
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = stopped => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
            drop(alive);
        });
    }
}

/// Logs "connection limit reached" at most every 10 s.
#[derive(Default)]
struct CapWarning {
    /// Seconds (since `started`, plus 10) of the last warning.
    last: AtomicU64,
    started: std::sync::OnceLock<Instant>,
}

impl CapWarning {
    fn warn(&self, max_connections: usize) {
        let now = self.started.get_or_init(Instant::now).elapsed().as_secs() + 10;
        let last = self.last.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                max_connections,
                "connection limit reached (MAX_CONNECTIONS); new connections are closed"
            );
        }
    }
}

/// Errors of `accept`: per-connection ones are skipped; others (e.g. out of file
/// descriptors) are logged and retried after a pause instead of spinning.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Counts a request in flight on a connection while alive.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(n: Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream with an idle deadline and a write-stall deadline.
struct GuardedIo {
    inner: TcpStream,
    peer: SocketAddr,
    limits: ConnLimits,
    in_flight: Arc<AtomicUsize>,
    evicted: Arc<AtomicUsize>,
    last_activity: Instant,
    idle: Option<Pin<Box<Sleep>>>,
    stall: Option<Pin<Box<Sleep>>>,
    /// Set when the client was evicted: every later read or write fails at once.
    dead: bool,
    /// Woken on eviction, so a reader parked on this socket ends too and the socket closes.
    read_waker: Option<std::task::Waker>,
}

impl GuardedIo {
    fn new(
        inner: TcpStream,
        peer: SocketAddr,
        limits: ConnLimits,
        in_flight: Arc<AtomicUsize>,
        evicted: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            inner,
            peer,
            limits,
            in_flight,
            evicted,
            last_activity: Instant::now(),
            idle: None,
            stall: None,
            dead: false,
            read_waker: None,
        }
    }

    fn evicted_error() -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")
    }

    /// `Pending` from a write: starts (or checks) the stall deadline.
    fn write_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let timeout = self.limits.write_timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stall.as_mut().poll(cx).is_ready() {
            self.dead = true;
            self.evicted.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                peer = %self.peer,
                seconds = timeout.as_secs_f64(),
                "client stopped reading (send buffer full); disconnected"
            );
            if let Some(w) = self.read_waker.take() {
                w.wake();
            }
            return Poll::Ready(Err(Self::evicted_error()));
        }
        Poll::Pending
    }

    fn wrote(&mut self, n: usize) {
        self.stall = None;
        if n > 0 {
            self.last_activity = Instant::now();
        }
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.dead {
            return Poll::Ready(Err(Self::evicted_error()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.last_activity = Instant::now();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                this.read_waker = Some(cx.waker().clone());
                // A request in flight (e.g. a mail long-poll) is not idleness.
                if this.in_flight.load(Ordering::SeqCst) == 0 {
                    let deadline = this.last_activity + this.limits.idle_timeout;
                    let idle = this
                        .idle
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    if idle.deadline() != deadline {
                        idle.as_mut().reset(deadline);
                    }
                    if idle.as_mut().poll(cx).is_ready() {
                        tracing::debug!(peer = %this.peer, "idle connection closed");
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "idle connection",
                        )));
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.dead {
            return Poll::Ready(Err(Self::evicted_error()));
        }
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.write_pending(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.dead {
            return Poll::Ready(Err(Self::evicted_error()));
        }
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                this.wrote(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.write_pending(cx),
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
