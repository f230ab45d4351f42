//! Fieldbook's office sync server.
//!
//! Devices enrol with a one-time code, then push signed events and pull
//! reference data with signed requests ([`api`]); the office manages
//! officers, reference data and devices and reads what devices sent
//! ([`office`]). Storage is embedded SQLite by default or PostgreSQL
//! ([`db`]); nothing is kept between requests outside the database, so
//! several instances can serve one PostgreSQL behind a load balancer.

pub mod api;
pub mod cli;
pub mod console;
pub mod db;
pub mod delivery;
pub mod evidence;
pub mod ingest;
pub mod limits;
pub mod model;
pub mod office;
pub mod openapi;
pub mod payload;
pub mod retry;
pub mod safety;
pub mod schema;
pub mod storage;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Embedded SQLite at this path.
    Sqlite(PathBuf),
    /// PostgreSQL at this URL.
    Postgres(String),
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks one).
    pub listen: SocketAddr,
    /// Storage.
    pub storage: Storage,
    /// The office's bearer token.
    pub office_token: String,
    /// Certificate chain and private key (PEM) to terminate TLS; `None`
    /// serves plain HTTP (loopback, or behind a TLS proxy).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The scrape credential for `/metrics` (`None`: metrics refused).
    pub metrics_token: Option<String>,
    /// Connection, request and rate limits.
    pub limits: limits::Limits,
    /// The office console's settings.
    pub console: console::ConsoleConfig,
    /// The lone-worker safety clock and its notifiers.
    pub safety: safety::timer::SafetyConfig,
    /// Delivery to the Community Payback API (`None`: outcomes wait in
    /// the outbox until it is configured).
    pub delivery: Option<delivery::worker::DeliveryConfig>,
    /// The office's evidence signing key file (owner-only; generated when
    /// missing); `None` signs packs with a key held in memory only.
    pub evidence_key_file: Option<PathBuf>,
}

impl ServerConfig {
    /// Plain HTTP on `listen` with the default limits and no metrics
    /// credential.
    pub fn new(listen: SocketAddr, storage: Storage, office_token: String) -> Self {
        Self {
            listen,
            storage,
            office_token,
            tls: None,
            metrics_token: None,
            limits: limits::Limits::default(),
            console: console::ConsoleConfig::default(),
            safety: safety::timer::SafetyConfig::default(),
            delivery: None,
            evidence_key_file: None,
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The state (for tests and the demo).
    pub state: api::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    timer_stop: tokio::sync::watch::Sender<bool>,
    timer: tokio::task::JoinHandle<()>,
    deliveries: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, finishes in-flight requests, and returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        let _ = self.timer_stop.send(true);
        let _ = (&mut self.timer).await;
        if let Some(d) = self.deliveries.as_mut() {
            let _ = d.await;
        }
    }

    /// Stops at once, dropping in-flight requests (a crash, for tests).
    pub fn abort(self) {
        self.task.abort();
        self.timer.abort();
        if let Some(d) = &self.deliveries {
            d.abort();
        }
    }

    /// Waits until the server stops (for the binary).
    pub async fn wait(self) -> std::io::Result<()> {
        let served = self.task.await.unwrap_or(Ok(()));
        let _ = self.timer_stop.send(true);
        let _ = self.timer.await;
        if let Some(d) = self.deliveries {
            let _ = d.await;
        }
        served
    }
}

/// Opens storage and starts serving.
pub async fn start(
    config: ServerConfig,
) -> Result<RunningServer, Box<dyn std::error::Error + Send + Sync>> {
    let db = db::Db::open(&config.storage).await?;
    let state = api::AppState {
        db,
        office_token: Arc::new(config.office_token.clone()),
        metrics: Arc::new(api::Metrics::default()),
        metrics_token: config.metrics_token.clone().map(Arc::new),
        guards: limits::Guards::new(&config.limits),
        console: console::Console::new(config.console.clone())?,
        safety: Arc::new(safety::timer::SafetyService::new(config.safety.clone())),
        delivery: match &config.delivery {
            Some(d) => Some(Arc::new(delivery::worker::DeliveryService::new(d.clone())?)),
            None => None,
        },
        evidence_key: Arc::new(evidence::key::for_server(
            config.evidence_key_file.as_deref(),
        )?),
    };
    if config.safety.notifiers.is_empty() {
        tracing::warn!(
            "no safety notifier configured: lone-worker alerts reach only the office's alert list"
        );
    }
    let (timer_stop, stopped) = tokio::sync::watch::channel(false);
    let timer = state
        .safety
        .clone()
        .spawn(state.db.clone(), stopped.clone());
    let deliveries = match &state.delivery {
        Some(d) => Some(d.clone().spawn(state.db.clone(), stopped)),
        None => {
            tracing::warn!(
                "no Community Payback API configured: outcomes wait in the delivery outbox"
            );
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = api::router(state.clone());
    let stop = async move {
        let _ = rx.await;
    };
    let lim = config.limits.clone();
    let task = match &config.tls {
        None => tokio::spawn(limits::serve(listener, app, lim, stop)),
        Some((cert, key)) => {
            let tls = tls::TlsListener::new(listener, tls::load_config(cert, key)?)?;
            tokio::spawn(limits::serve(tls, app, lim, stop))
        }
    };
    tracing::info!(%addr, storage = ?matches!(config.storage, Storage::Postgres(_)), "fieldbook-server listening");
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(tx),
        task,
        timer_stop,
        timer,
        deliveries,
    })
}
