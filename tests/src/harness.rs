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

use std::collections::BTreeMap;

use fieldbook_core::events::{ChainVerifier, EventDraft, SignedEvent, GENESIS_HASH};

use crate::{test_settings, Device, PIN};

/// The office token used in tests.
pub const OFFICE_TOKEN: &str = "test-office-token-0123456789";

/// The metrics scrape credential used in tests.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A configuration for a free loopback port. Enrolment is throttled far
/// less than in production: tests enrol many devices in a burst.
pub fn test_config(storage: Storage) -> ServerConfig {
    let mut c = ServerConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        storage,
        OFFICE_TOKEN.into(),
    );
    c.metrics_token = Some(METRICS_TOKEN.into());
    c.limits.enrolments_per_minute = 10_000;
    c
}

/// Starts a server on a free loopback port.
pub async fn server(storage: Storage) -> RunningServer {
    start(test_config(storage)).await.expect("server starts")
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
    restarting: Arc<tokio::sync::Mutex<()>>,
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
    restarting: Arc<tokio::sync::Mutex<()>>,
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
            restarting: Arc::new(tokio::sync::Mutex::new(())),
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
            restarting: state.restarting,
            _task: task,
        }
    }

    /// Sets the fault rate (0 to 1) and reseeds.
    pub fn configure(&self, rate: f64, seed: u64) {
        *self.rate.lock().expect("lock") = rate;
        *self.rng.lock().expect("lock") = rand::rngs::StdRng::seed_from_u64(seed);
        *self.saved.lock().expect("lock") = None;
    }

    /// Waits for any server restart in flight to finish.
    pub async fn settle(&self) {
        let _ = self.restarting.lock().await;
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
            // Detached, so the new address is recorded even if the client
            // hangs up (a killed device) while the server restarts.
            let (restart, upstream, gate) = (
                state.restart.clone(),
                state.upstream.clone(),
                state.restarting.clone(),
            );
            let done = tokio::spawn(async move {
                let _held = gate.lock().await;
                let new_addr = restart().await.expect("restart");
                *upstream.lock().expect("lock") = new_addr;
            });
            let _ = done.await;
            forward(&state, &method, &path, &headers, &body)
                .await
                .unwrap_or_else(|_| bad_gateway())
        }
    }
}

/// Checks the office holds exactly the device's events, each once, with an
/// intact chain.
pub async fn office_holds_exactly(
    server_db: &fieldbook_server::db::Db,
    phone: &SyncDevice,
    kind: &str,
    ctx: &str,
) {
    let public_key = phone.store.device_public_key().expect("key");
    let mut device_ids = BTreeMap::new();
    let mut after = 0;
    loop {
        let batch = phone.store.events_after(after, 1000).expect("events");
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for e in batch {
            device_ids.insert(e.seq, e.body.id);
        }
    }
    let device_id = phone
        .client
        .state()
        .expect("state")
        .expect("enrolled")
        .device_id;
    let stored: Vec<_> = server_db
        .events(kind, 1_000_000)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.device_id == device_id)
        .collect();
    let mut by_seq = BTreeMap::new();
    for e in &stored {
        assert!(
            by_seq.insert(e.seq as u64, e).is_none(),
            "{ctx}: duplicate seq {}",
            e.seq
        );
    }
    let office_ids: BTreeMap<u64, String> = by_seq
        .iter()
        .map(|(s, e)| (*s, e.event_id.clone()))
        .collect();
    assert_eq!(office_ids, device_ids, "{ctx}: office and device disagree");
    let mut verifier = ChainVerifier::new(&public_key, 1, GENESIS_HASH);
    for (seq, e) in &by_seq {
        let signature: [u8; 64] = hex::decode(&e.signature)
            .expect("hex")
            .try_into()
            .expect("64");
        let signed = SignedEvent {
            bytes: e.body.as_bytes().to_vec(),
            signature,
        };
        verifier
            .check(*seq, &e.event_id, Some(&signed))
            .unwrap_or_else(|b| panic!("{ctx}: chain broken {b:?}"));
    }
}

/// Runs seeded fault scenarios through `proxy`: each enrols a device,
/// captures events (some while a push is in flight), and syncs through
/// injected faults (and dropped syncs, as a killed device) until nothing is
/// pending; then the office must hold exactly the device's events, each
/// once, with an intact chain. Returns the number of events.
pub async fn run_fault_scenarios(
    proxy: &FaultProxy,
    db: &fieldbook_server::db::Db,
    scenarios: u64,
    base_seed: u64,
) -> u64 {
    let proxy_url = format!("http://{}", proxy.addr);
    let mut total_events = 0u64;
    for n in 0..scenarios {
        let seed = base_seed.wrapping_add(n);
        let ctx = format!("scenario seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let kind = format!("test.s{seed}");
        proxy.configure(0.0, seed);
        proxy.settle().await;
        let office_now = Office::new(proxy.upstream());
        let mut config = fast_config(&proxy_url);
        config.batch_size = rng.gen_range(1..16);
        let phone = SyncDevice::enrol(
            &office_now,
            "po-1",
            &format!("http://{}", proxy.upstream()),
            Some(config.clone()),
        )
        .await;
        let client =
            fieldbook_core::sync::SyncClient::new(phone.store.clone(), config).expect("client");
        let events = rng.gen_range(1..30);
        let rate = rng.gen_range(0.0..0.6);
        proxy.configure(rate, seed);
        let mut written = 0;
        let mut last_error = String::new();
        for round in 0..120 {
            // Captures keep arriving, some while a push is in flight.
            let add = if written < events {
                rng.gen_range(0..=(events - written).min(8))
            } else {
                0
            };
            let store = phone.store.clone();
            let kind_c = kind.clone();
            let appender = tokio::task::spawn_blocking(move || {
                for i in 0..add {
                    store
                        .append(EventDraft::new(kind_c.as_str(), json!({ "i": i })))
                        .expect("append");
                }
            });
            written += add;
            if round > 40 {
                proxy.configure(0.0, seed);
            }
            phone.device.clock.set_wall_ms(wall_now());
            // Kills too stop late on, so every scenario can converge.
            let kill = round <= 80 && rng.gen_bool(0.15);
            let never = AtomicBool::new(false);
            let sync = client.sync(None, &never);
            let result = if kill {
                // The device dies mid-sync: the future is dropped wherever it is.
                let ms = rng.gen_range(0..15);
                tokio::time::timeout(std::time::Duration::from_millis(ms), sync)
                    .await
                    .ok()
            } else {
                Some(sync.await)
            };
            appender.await.expect("appender");
            if let Some(Err(e)) = &result {
                last_error = format!("round {round}: {e}");
            }
            let clean = matches!(result, Some(Ok(_)));
            if clean && written >= events && phone.store.pending_count().expect("pending") == 0 {
                break;
            }
        }
        assert_eq!(
            phone.store.pending_count().expect("pending"),
            0,
            "{ctx}: did not converge; last error {last_error}"
        );
        assert!(
            phone.store.quarantined().expect("q").is_empty(),
            "{ctx}: nothing should be refused"
        );
        office_holds_exactly(db, &phone, &kind, &ctx).await;
        total_events += written;
    }
    total_events
}

/// A server that a fault proxy can crash and restart on the same storage.
/// Returns its first address, its database handle, and the restart hook.
pub async fn restartable(
    storage: Storage,
) -> (
    SocketAddr,
    fieldbook_server::db::Db,
    Arc<dyn Fn() -> tokio::task::JoinHandle<SocketAddr> + Send + Sync>,
) {
    let first = server(storage.clone()).await;
    let (addr, db) = (first.addr, first.state.db.clone());
    let current = Arc::new(tokio::sync::Mutex::new(Some(first)));
    let restart = Arc::new(move || {
        let current = current.clone();
        let storage = storage.clone();
        tokio::spawn(async move {
            let mut guard = current.lock().await;
            if let Some(old) = guard.take() {
                // A crash: in-flight requests are dropped mid-way.
                old.abort();
            }
            let fresh = server(storage).await;
            let addr = fresh.addr;
            *guard = Some(fresh);
            addr
        })
    });
    (addr, db, restart)
}
