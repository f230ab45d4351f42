//! A real office server in the test process, an office API client, a
//! fault-injecting proxy, and devices enrolled through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fieldbook_core::store::Store;
use fieldbook_core::sync::{SyncClient, SyncConfig};
use fieldbook_server::{start, RunningServer, ServerConfig, Storage};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::{test_settings, Device, PIN};

/// The office token used in tests.
pub const OFFICE_TOKEN: &str = "test-office-token-0123456789";

/// Starts a server on a free loopback port.
pub async fn server(storage: Storage) -> RunningServer {
    start(ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        storage,
        office_token: OFFICE_TOKEN.into(),
    })
    .await
    .expect("server starts")
}

/// The office's side of the API.
#[derive(Debug, Clone)]
pub struct Office {
    /// Base URL.
    pub base: String,
    http: reqwest::Client,
}

impl Office {
    /// An office client for the server at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    /// A raw request with the office token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(OFFICE_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("office request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates an officer.
    pub async fn officer(&self, id: &str, role: &str) {
        let (s, _) = self
            .send(
                Method::POST,
                "/v1/office/officers",
                Some(json!({ "id": id, "name": id, "role": role })),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }

    /// Issues an enrolment code.
    pub async fn code(&self, officer: &str) -> String {
        let (s, v) = self
            .send(
                Method::POST,
                &format!("/v1/office/officers/{officer}/enrolment-codes"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["code"].as_str().expect("code").to_owned()
    }

    /// Puts a reference item.
    pub async fn reference(
        &self,
        entity: &str,
        id: &str,
        data: Value,
        audience: &[&str],
        restricted_for: &[&str],
    ) {
        let (s, v) = self
            .send(
                Method::PUT,
                &format!("/v1/office/reference/{entity}/{id}"),
                Some(
                    json!({ "data": data, "audience": audience, "restricted_for": restricted_for }),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{entity}: {v}");
    }

    /// A GET returning JSON.
    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.send(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }
}

/// A device: a store and its sync client.
pub struct SyncDevice {
    /// The store's files and clock.
    pub device: Device,
    /// The store.
    pub store: Arc<Store>,
    /// The client.
    pub client: SyncClient,
}

impl std::fmt::Debug for SyncDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncDevice")
    }
}

/// Fast retries for tests.
pub fn fast_config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.base_backoff_ms = 1;
    c.max_backoff_ms = 5;
    c.max_attempts = 4;
    c.timeout_ms = 5_000;
    c
}

impl SyncDevice {
    /// Creates a store for `officer` and enrols it through `url`.
    pub async fn enrol(
        office: &Office,
        officer: &str,
        url: &str,
        config: Option<SyncConfig>,
    ) -> SyncDevice {
        let device = Device::new();
        // Real time: the server checks request timestamps.
        device.clock.set_wall_ms(wall_now());
        let store = Arc::new(
            Store::create(
                &device.db,
                test_settings(officer),
                PIN,
                device.platform(),
                device.clock(),
            )
            .expect("store"),
        );
        let client = SyncClient::new(store.clone(), config.unwrap_or_else(|| fast_config(url)))
            .expect("client");
        let code = office.code(officer).await;
        client.enrol(&code, "test phone").await.expect("enrol");
        SyncDevice {
            device,
            store,
            client,
        }
    }

    /// Syncs once.
    pub async fn sync(&self) -> fieldbook_core::Result<fieldbook_core::sync::SyncReport> {
        self.device.clock.set_wall_ms(wall_now());
        self.client.sync(None, &AtomicBool::new(false)).await
    }
}

/// The real wall clock, ms.
pub fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the proxy does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass it on.
    Forward,
    /// Fail before the server sees it.
    DropBefore,
    /// Pass it on, then lose the response.
    LoseResponse,
    /// Send it twice; answer with the first.
    Duplicate,
    /// Keep a copy and send it again before a later request (reordering).
    ReplayLater,
    /// Answer 500 without forwarding.
    ServerError,
    /// Answer 429 with Retry-After: 0.
    TooMany,
    /// Restart the server, then pass it on.
    Restart,
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Requests seen.
    pub requests: AtomicU64,
    /// Faults injected.
    pub faults: AtomicU64,
    /// Restarts.
    pub restarts: AtomicU64,
}

type Saved = (Method, String, HeaderMap, Bytes);

/// A proxy between devices and the server that injects faults.
pub struct FaultProxy {
    /// The proxy's address.
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    rng: Arc<Mutex<rand::rngs::StdRng>>,
    rate: Arc<Mutex<f64>>,
    saved: Arc<Mutex<Option<Saved>>>,
    /// What it did.
    pub counts: Arc<FaultCounts>,
    restart: Arc<dyn Fn() -> tokio::task::JoinHandle<SocketAddr> + Send + Sync>,
    _task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultProxy({})", self.addr)
    }
}

#[derive(Clone)]
struct ProxyState {
    upstream: Arc<Mutex<SocketAddr>>,
    rng: Arc<Mutex<rand::rngs::StdRng>>,
    rate: Arc<Mutex<f64>>,
    saved: Arc<Mutex<Option<Saved>>>,
    counts: Arc<FaultCounts>,
    http: reqwest::Client,
    restart: Arc<dyn Fn() -> tokio::task::JoinHandle<SocketAddr> + Send + Sync>,
}

impl FaultProxy {
    /// A proxy to `upstream`; `restart` restarts the server and gives its
    /// new address.
    pub async fn start(
        upstream: SocketAddr,
        seed: u64,
        restart: Arc<dyn Fn() -> tokio::task::JoinHandle<SocketAddr> + Send + Sync>,
    ) -> FaultProxy {
        let state = ProxyState {
            upstream: Arc::new(Mutex::new(upstream)),
            rng: Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed))),
            rate: Arc::new(Mutex::new(0.0)),
            saved: Arc::new(Mutex::new(None)),
            counts: Arc::new(FaultCounts::default()),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            restart: restart.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .fallback(proxy)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy {
            addr,
            upstream: state.upstream,
            rng: state.rng,
            rate: state.rate,
            saved: state.saved,
            counts: state.counts,
            restart,
            _task: task,
        }
    }

    /// Sets the fault rate (0 to 1) and reseeds.
    pub fn configure(&self, rate: f64, seed: u64) {
        *self.rate.lock().expect("lock") = rate;
        *self.rng.lock().expect("lock") = rand::rngs::StdRng::seed_from_u64(seed);
        *self.saved.lock().expect("lock") = None;
    }

    /// The upstream address now.
    pub fn upstream(&self) -> SocketAddr {
        *self.upstream.lock().expect("lock")
    }

    #[doc(hidden)]
    pub fn restart_fn(&self) -> Arc<dyn Fn() -> tokio::task::JoinHandle<SocketAddr> + Send + Sync> {
        self.restart.clone()
    }
}

fn pick(state: &ProxyState) -> Fault {
    let rate = *state.rate.lock().expect("lock");
    let mut rng = state.rng.lock().expect("lock");
    if rng.gen::<f64>() >= rate {
        return Fault::Forward;
    }
    match rng.gen_range(0..100) {
        0..=19 => Fault::DropBefore,
        20..=39 => Fault::LoseResponse,
        40..=54 => Fault::Duplicate,
        55..=64 => Fault::ReplayLater,
        65..=79 => Fault::ServerError,
        80..=94 => Fault::TooMany,
        _ => Fault::Restart,
    }
}

async fn forward(
    state: &ProxyState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, String> {
    let upstream = *state.upstream.lock().expect("lock");
    let mut req = state
        .http
        .request(method.clone(), format!("http://{upstream}{path}"));
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let resp = req
        .body(body.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in resp.headers() {
        if name == "content-type" || name == "retry-after" {
            out_headers.insert(name.clone(), value.clone());
        }
    }
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, out_headers, bytes).into_response())
}

async fn proxy(
    State(state): State<ProxyState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.counts.requests.fetch_add(1, Ordering::Relaxed);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    // A request kept earlier arrives late, out of order.
    let late = state.saved.lock().expect("lock").take();
    if let Some((m, p, h, b)) = late {
        let _ = forward(&state, &m, &p, &h, &b).await;
    }
    let fault = pick(&state);
    if fault != Fault::Forward {
        state.counts.faults.fetch_add(1, Ordering::Relaxed);
    }
    let bad_gateway = || (StatusCode::BAD_GATEWAY, "proxy fault").into_response();
    match fault {
        Fault::Forward => forward(&state, &method, &path, &headers, &body)
            .await
            .unwrap_or_else(|_| bad_gateway()),
        Fault::DropBefore => bad_gateway(),
        Fault::LoseResponse => {
            let _ = forward(&state, &method, &path, &headers, &body).await;
            bad_gateway()
        }
        Fault::Duplicate => {
            let first = forward(&state, &method, &path, &headers, &body).await;
            let _ = forward(&state, &method, &path, &headers, &body).await;
            first.unwrap_or_else(|_| bad_gateway())
        }
        Fault::ReplayLater => {
            *state.saved.lock().expect("lock") =
                Some((method.clone(), path.clone(), headers.clone(), body.clone()));
            forward(&state, &method, &path, &headers, &body)
                .await
                .unwrap_or_else(|_| bad_gateway())
        }
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "injected").into_response(),
        Fault::TooMany => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            "slow down",
        )
            .into_response(),
        Fault::Restart => {
            state.counts.restarts.fetch_add(1, Ordering::Relaxed);
            let new_addr = (state.restart)().await.expect("restart");
            *state.upstream.lock().expect("lock") = new_addr;
            forward(&state, &method, &path, &headers, &body)
                .await
                .unwrap_or_else(|_| bad_gateway())
        }
    }
}
