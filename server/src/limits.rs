//! Bounds on what a client can make the server hold or do before it is
//! authenticated: connections (header read and idle timeouts, a header
//! size cap, a connection cap), requests (a time limit and a concurrency
//! limit) and rates (per client address, with a strict one for
//! enrolment, where codes could otherwise be guessed at hundreds a second).
//!
//! The health probes are exempt from the request limits: they must answer
//! while the server is loaded, which is when they are needed.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::api::ApiFailure;

/// The limits a server runs with (the defaults suit production; tests
/// shorten the timeouts).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// A connection with no bytes read or written for this long is
    /// closed (gracefully: a response being computed is finished first).
    pub idle_timeout: Duration,
    /// Time a request may take, body upload included (503 after it).
    pub request_timeout: Duration,
    /// Largest request head (request line and headers), bytes.
    pub max_header_bytes: usize,
    /// Requests in progress at once (503 `overloaded` beyond).
    pub max_concurrent_requests: usize,
    /// Open connections at once (more are closed on accept).
    pub max_connections: usize,
    /// Requests per second from one client address (burst: 5 s worth).
    pub per_address_per_second: u32,
    /// Enrolment attempts per minute from one client address (and the
    /// burst allowed).
    pub enrolments_per_minute: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (the
    /// one the TLS proxy in front appended) rather than the peer, which
    /// behind a proxy is always the proxy. Only with `--behind-tls-proxy`:
    /// without a proxy the header is the client's to forge.
    pub trust_forwarded_for: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_header_bytes: 32 * 1024,
            max_concurrent_requests: 256,
            max_connections: 1024,
            per_address_per_second: 200,
            enrolments_per_minute: 10,
            trust_forwarded_for: false,
        }
    }
}

/// The shared limiters (one per server).
#[derive(Debug, Clone)]
pub struct Guards {
    limits: Limits,
    in_flight: Arc<Semaphore>,
    per_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    enrolment: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl Guards {
    /// Limiters for `limits`.
    pub fn new(limits: &Limits) -> Self {
        let per_second = nz(limits.per_address_per_second);
        Self {
            limits: limits.clone(),
            in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
            per_address: Arc::new(RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(nz(per_second.get().saturating_mul(5))),
            )),
            enrolment: Arc::new(RateLimiter::keyed(
                Quota::per_minute(nz(limits.enrolments_per_minute))
                    .allow_burst(nz(limits.enrolments_per_minute)),
            )),
        }
    }
}

fn too_many(retry_after_s: u64, code: &'static str, message: &'static str) -> Response {
    let mut r = ApiFailure::new(StatusCode::TOO_MANY_REQUESTS, code, message).into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after_s.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The address limits are counted against: the peer, or behind a
/// declared proxy the last `X-Forwarded-For` entry.
pub fn client_address(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| req.headers().get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded.unwrap_or_else(|| {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    })
}

/// The request-level guard: header size, rates, concurrency and time.
pub async fn guard(State(g): State<Guards>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    // hyper caps the head it buffers; this also counts what it let through.
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if head > g.limits.max_header_bytes {
        return ApiFailure::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "request headers too large",
        )
        .into_response();
    }
    let ip = client_address(&req, g.limits.trust_forwarded_for);
    let clock = governor::clock::DefaultClock::default();
    if let Err(not_until) = g.per_address.check_key(&ip) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&clock));
        return too_many(
            wait.as_secs() + 1,
            "rate_limited",
            "too many requests; retry later",
        );
    }
    if path == "/v1/enrol" {
        if let Err(not_until) = g.enrolment.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&clock));
            tracing::warn!(peer = %ip, "enrolment attempts throttled");
            return too_many(
                wait.as_secs() + 1,
                "rate_limited",
                "too many enrolment attempts; retry later",
            );
        }
    }
    let Ok(_permit) = g.in_flight.clone().try_acquire_owned() else {
        let mut r = ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is busy; retry",
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    match tokio::time::timeout(g.limits.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long; retry",
        )
        .into_response(),
    }
}

/// An I/O stream that notes when bytes last moved, for the idle timeout.
struct Watched<T> {
    inner: T,
    base: Instant,
    last_ms: Arc<AtomicU64>,
}

impl<T> Watched<T> {
    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let base = Instant::now();
    let last_ms = Arc::new(AtomicU64::new(0));
    let io = hyper_util::rt::TokioIo::new(Watched {
        inner: io,
        base,
        last_ms: last_ms.clone(),
    });
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move { app.oneshot(req.map(axum::body::Body::new)).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper refuses a head that does not fit (431); its floor is 8 KiB.
        .max_buf_size(limits.max_header_bytes.max(8192));
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let mut closing = false;
    let mut tick = tokio::time::interval((limits.idle_timeout / 4).max(Duration::from_millis(50)));
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = stop.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tick.tick() => {
                let idle = base
                    .elapsed()
                    .saturating_sub(Duration::from_millis(last_ms.load(Ordering::Relaxed)));
                if idle >= limits.idle_timeout.saturating_mul(2) {
                    // Even the graceful close stalled (a client not reading).
                    return;
                }
                if idle >= limits.idle_timeout && !closing {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Serves `app` on `listener` with the connection limits until `stop`
/// completes; then finishes in-flight requests (at most the request
/// timeout) and returns.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let (tx, rx) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            (io, peer) = listener.accept() => {
                if conns.len() >= limits.max_connections {
                    drop(io);
                    continue;
                }
                conns.spawn(connection(io, peer, app.clone(), limits.clone(), rx.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = &mut stop => break,
        }
    }
    drop(listener);
    let _ = tx.send(true);
    let _ = tokio::time::timeout(limits.request_timeout, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
    Ok(())
}
