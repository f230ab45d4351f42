//! The device's sync client: enrolment, signed requests, push in sequence
//! order with per-event acknowledgement, pull by cursor, revocation.
//!
//! Pushes go in batches (bounded memory) and stop at the first transient
//! failure; retries use capped exponential backoff with jitter and honour
//! `Retry-After`. Each attempt is signed afresh (new timestamp and nonce),
//! so a retried request is never mistaken for a replay. An acknowledgement
//! clears only the events that were sent. Refused events go to quarantine.
//! Reference data is applied one page per transaction; a server reset
//! refetches it without touching unsent captures.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::protocol::*;
use crate::error::{Error, Result};
use crate::home_visits::model::{Case, ScheduledVisit};
use crate::home_visits::{self, CaseloadBatch};
use crate::ids::RecordId;
use crate::store::{Record, Store, Writer};
use crate::unpaid_work::model::{Appointment, Project, Requirement, WorkSession};
use crate::unpaid_work::{self, ReferenceBatch};

/// How the client behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncConfig {
    /// The office server, `https://…` (or `http://` on loopback only).
    pub server_url: String,
    /// Events per push.
    pub batch_size: u32,
    /// Attempts per request before giving up for this sync.
    pub max_attempts: u32,
    /// First backoff delay.
    pub base_backoff_ms: u64,
    /// Longest backoff delay.
    pub max_backoff_ms: u64,
    /// Per-request timeout.
    pub timeout_ms: u64,
    /// Reference changes per pull page.
    pub pull_page: u32,
    /// Whether a revoked device pushes what it holds before shredding.
    pub push_before_shred: bool,
    /// SHA-256 (hex) of the office certificates to accept; empty: the
    /// public CA roots.
    pub pinned_cert_sha256: Vec<String>,
    /// After this long without a complete sync, captures are refused until
    /// the device syncs (`None`: never).
    pub max_unsynced_ms: Option<i64>,
}

impl SyncConfig {
    /// Defaults for `server_url`.
    pub fn new(server_url: impl Into<String>) -> Self {
        Self {
            server_url: server_url.into(),
            batch_size: 500,
            max_attempts: 6,
            base_backoff_ms: 200,
            max_backoff_ms: 10_000,
            timeout_ms: 30_000,
            pull_page: 500,
            push_before_shred: true,
            max_unsynced_ms: Some(7 * 24 * 3_600_000),
            pinned_cert_sha256: Vec::new(),
        }
    }
}

/// Phases reported to the shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Asking the office about this device.
    Status,
    /// Sending captures.
    Push,
    /// Fetching reference data.
    Pull,
    /// Destroying the store after revocation.
    Shredding,
    /// Finished.
    Done,
}

/// Progress for the shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Phase.
    pub phase: SyncPhase,
    /// Events sent so far.
    pub sent: u64,
    /// Events to send in all.
    pub total: u64,
    /// Bytes on the wire so far (request bodies, compressed).
    pub bytes_sent: u64,
    /// Reference changes applied so far.
    pub pulled: u64,
}

/// Receives progress.
pub trait SyncObserver: Send + Sync {
    /// Called as sync moves on.
    fn progress(&self, progress: SyncProgress);
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Events the office stored now.
    pub accepted: u64,
    /// Events it already had.
    pub duplicates: u64,
    /// Events it refused (now in quarantine).
    pub quarantined: u64,
    /// Reference changes applied.
    pub pulled: u64,
    /// Reference items from the office that failed validation (skipped).
    pub skipped: u64,
    /// Whether the office reset the reference data.
    pub reset: bool,
    /// Whether the store was crypto-shredded after revocation.
    pub shredded: bool,
    /// Compressed request bytes sent.
    pub bytes_sent: u64,
    /// Uncompressed request bytes (before gzip).
    pub bytes_uncompressed: u64,
}

/// What one contact with the safety lane did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyLaneReport {
    /// Safety events the office's clock confirmed now.
    pub confirmed: u64,
    /// Safety events still unconfirmed on the device.
    pub unconfirmed: u64,
    /// New acknowledgements from the office (recorded as seen).
    pub acknowledgements: u64,
}

/// What the device keeps about its enrolment and sync position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The office server.
    pub server_url: String,
    /// The device id the office issued.
    pub device_id: String,
    /// The officer.
    pub officer_id: String,
    /// Role.
    pub role: Role,
    /// The office's data epoch.
    pub epoch: Option<String>,
    /// Reference-data cursor.
    pub cursor: i64,
    /// Last complete sync (UTC ms).
    pub last_success_ms: Option<i64>,
}

impl Record for SyncState {
    const COLLECTION: &'static str = "sync_state";
}

const STATE_ID: &str = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";

fn state_id() -> Result<RecordId> {
    RecordId::parse(STATE_ID)
}

/// The device's sync client.
pub struct SyncClient {
    store: Arc<Store>,
    http: reqwest::Client,
    config: SyncConfig,
}

impl fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncClient")
            .field("server_url", &self.config.server_url)
            .finish_non_exhaustive()
    }
}

/// Plain HTTP is allowed to loopback only.
fn check_url(url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).map_err(|_| Error::invalid("server_url", "not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host == "localhost"
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(parsed)
            } else {
                Err(Error::invalid(
                    "server_url",
                    "plain http is allowed only to loopback",
                ))
            }
        }
        _ => Err(Error::invalid("server_url", "must be https")),
    }
}

/// Why a request failed.
enum Failure {
    /// Worth retrying: network, 5xx, 429 (with the server's delay).
    Transient(String, Option<Duration>),
    /// Not worth retrying.
    Fatal(Error),
}

fn jitter(ms: u64) -> u64 {
    let mut b = [0u8; 2];
    let r = crate::crypto::fill_random(&mut b)
        .map(|()| u16::from_le_bytes(b))
        .unwrap_or(0);
    // Between half and the whole delay.
    ms / 2 + (ms / 2) * u64::from(r) / u64::from(u16::MAX)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

/// A request body, compressed once however many attempts send it.
#[derive(Debug)]
struct Body {
    compressed: Vec<u8>,
    uncompressed_len: usize,
}

impl Body {
    fn of(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            compressed: gzip(bytes)?,
            uncompressed_len: bytes.len(),
        })
    }
}

/// A push batch read, encoded and compressed, ready to send.
#[derive(Debug)]
struct PreparedBatch {
    events: Vec<crate::store::Outgoing>,
    body: Body,
}

/// A logged event as the push and beacon requests carry it.
fn wire_event(e: &crate::store::Outgoing) -> PushEvent {
    PushEvent {
        id: e.id.clone(),
        seq: e.seq,
        body: PushEvent::encode_body(&e.signed.bytes),
        signature: hex::encode(e.signed.signature),
    }
}

/// Reads the next batch of pending events after `after` and encodes it.
fn prepare_batch(store: &Store, after: u64, limit: u32) -> Result<Option<PreparedBatch>> {
    let events = store.pending_batch(after, limit)?;
    if events.is_empty() {
        return Ok(None);
    }
    let request = PushRequest {
        events: events.iter().map(wire_event).collect(),
    };
    let body = Body::of(&serde_json::to_vec(&request)?)?;
    Ok(Some(PreparedBatch { events, body }))
}

impl SyncClient {
    /// A client for `store` with `config`.
    pub fn new(store: Arc<Store>, config: SyncConfig) -> Result<Self> {
        check_url(&config.server_url)?;
        let mut builder = reqwest::Client::builder();
        if !config.pinned_cert_sha256.is_empty() {
            builder = builder
                .use_preconfigured_tls(super::pinning::pinned_config(&config.pinned_cert_sha256)?);
        }
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms.min(10_000)))
            .https_only(false)
            .build()
            .map_err(|e| Error::Network(format!("client: {e}")))?;
        Ok(Self {
            store,
            http,
            config,
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The saved enrolment and sync position, if enrolled.
    pub fn state(&self) -> Result<Option<SyncState>> {
        self.store
            .read(|r| Ok(r.records().get::<SyncState>(&state_id()?)?.map(|s| s.value)))
    }

    fn url(&self, path: &str) -> Result<reqwest::Url> {
        let base = check_url(&self.config.server_url)?;
        base.join(path)
            .map_err(|_| Error::invalid("server_url", "cannot join path"))
    }

    /// Enrols the device with the office's one-time code.
    pub async fn enrol(&self, code: &str, label: &str) -> Result<EnrolResponse> {
        if self.state()?.is_some() {
            return Err(Error::Conflict("this device is already enrolled".into()));
        }
        let body = serde_json::to_vec(&EnrolRequest {
            code: code.trim().to_owned(),
            public_key: hex::encode(self.store.device_public_key()?),
            label: label.to_owned(),
        })?;
        let resp = self
            .http
            .post(self.url("/v1/enrol")?)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Network(redact(&e)))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| Error::Network(redact(&e)))?;
        if !status.is_success() {
            return Err(error_from(status, &bytes));
        }
        let enrolled: EnrolResponse = serde_json::from_slice(&bytes)?;
        let officer = self.store.officer_id()?;
        if enrolled.officer_id != officer {
            return Err(Error::Auth(
                "the code was issued for another officer".into(),
            ));
        }
        let state = SyncState {
            server_url: self.config.server_url.clone(),
            device_id: enrolled.device_id.clone(),
            officer_id: enrolled.officer_id.clone(),
            role: enrolled.role,
            epoch: None,
            cursor: 0,
            last_success_ms: None,
        };
        self.store.write(|w| {
            w.put(&state_id()?, &state)?;
            Ok(())
        })?;
        let now = self.store.clock().now_utc_ms();
        self.store
            .set_sync_deadline(self.config.max_unsynced_ms.map(|m| now + m))?;
        Ok(enrolled)
    }

    /// One signed request, retried on transient failures.
    async fn call<T: DeserializeOwned>(
        &self,
        device_id: &str,
        method: Method,
        path_and_query: &str,
        body: Option<&Body>,
        report: &mut SyncReport,
        cancel: &AtomicBool,
    ) -> Result<T> {
        let mut attempt: u32 = 0;
        loop {
            if cancel.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            match self
                .attempt(device_id, method.clone(), path_and_query, body, report)
                .await
            {
                Ok(bytes) => return Ok(serde_json::from_slice(&bytes)?),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(why, retry_after)) => {
                    attempt += 1;
                    if attempt >= self.config.max_attempts {
                        return Err(Error::Network(why));
                    }
                    let backoff = self
                        .config
                        .base_backoff_ms
                        .saturating_mul(1 << attempt.min(16))
                        .min(self.config.max_backoff_ms);
                    let delay = retry_after
                        .map(|d| d.min(Duration::from_millis(self.config.max_backoff_ms)))
                        .unwrap_or_else(|| Duration::from_millis(jitter(backoff)));
                    tracing::debug!(attempt, ?delay, "transient sync failure: {why}");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        device_id: &str,
        method: Method,
        path_and_query: &str,
        body: Option<&Body>,
        report: &mut SyncReport,
    ) -> std::result::Result<Vec<u8>, Failure> {
        let fatal = Failure::Fatal;
        let now = self.store.clock().now_utc_ms();
        let mut nonce = [0u8; 16];
        crate::crypto::fill_random(&mut nonce).map_err(fatal)?;
        let nonce = hex::encode(nonce);
        // Compressed first: the signature covers the bytes as sent, so the
        // office checks it before it decompresses anything.
        let compressed = body.map(|b| b.compressed.as_slice());
        let encoding = if compressed.is_some() { "gzip" } else { "" };
        let signature = self
            .store
            .sign(
                &SignedRequest {
                    method: method.as_str(),
                    path_and_query,
                    device_id,
                    content_encoding: encoding,
                    body: compressed.unwrap_or_default(),
                    timestamp_ms: now,
                    nonce: &nonce,
                }
                .signing_string(),
            )
            .map_err(fatal)?;
        let url = self.url(path_and_query).map_err(fatal)?;
        let mut req = self
            .http
            .request(method, url)
            .header(H_DEVICE, device_id)
            .header(H_TIMESTAMP, now.to_string())
            .header(H_NONCE, &nonce)
            .header(H_SIGNATURE, hex::encode(signature));
        if let Some(body) = body {
            report.bytes_sent += body.compressed.len() as u64;
            report.bytes_uncompressed += body.uncompressed_len as u64;
            req = req
                .header("content-type", "application/json")
                .header("content-encoding", encoding)
                .body(body.compressed.clone());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Transient(redact(&e), None))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Failure::Transient(redact(&e), None))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Transient(
                format!("server answered {status}"),
                retry_after,
            ));
        }
        Err(Failure::Fatal(error_from(status, &bytes)))
    }

    /// Runs a whole sync: status, push, pull. A revoked device pushes what
    /// it holds (if the office allows), crypto-shreds its store and tells
    /// the office.
    pub async fn sync(
        &self,
        observer: Option<&dyn SyncObserver>,
        cancel: &AtomicBool,
    ) -> Result<SyncReport> {
        // A shred whose report never reached the office (the app died, or
        // no network): the report was signed before the key went and kept
        // beside the database; send it before anything else.
        if let Some(pending) = ShredReport::load(&self.store.path())? {
            let report = SyncReport {
                shredded: true,
                ..SyncReport::default()
            };
            if self.send_shred_report(&pending).await? {
                ShredReport::remove(&self.store.path())?;
            }
            return Ok(report);
        }
        let mut state = self
            .state()?
            .ok_or_else(|| Error::Conflict("enrol the device first".into()))?;
        let mut report = SyncReport::default();
        // The safety lane first, so a backlog never delays what the
        // office's overdue clock needs. Its failure does not stop the sync:
        // the ordered push carries the same events.
        if let Err(e) = self.send_safety(cancel).await {
            tracing::debug!("safety lane: {e}");
        }
        let notify = |p: SyncProgress| {
            if let Some(o) = observer {
                o.progress(p);
            }
        };
        let mut progress = SyncProgress {
            phase: SyncPhase::Status,
            sent: 0,
            total: self.store.pending_count()?,
            bytes_sent: 0,
            pulled: 0,
        };
        notify(progress);
        let status: StatusResponse = match self
            .call(
                &state.device_id,
                Method::GET,
                "/v1/sync/status",
                None,
                &mut report,
                cancel,
            )
            .await
        {
            Ok(status) => status,
            // The office already holds this device as shredded (its report
            // arrived, or the final-push deadline passed): whatever is still
            // here is erased now.
            Err(Error::Auth(code)) if code == "device_revoked" => {
                progress.phase = SyncPhase::Shredding;
                notify(progress);
                self.store.shred()?;
                report.shredded = true;
                return Ok(report);
            }
            Err(e) => return Err(e),
        };
        if status.status == DeviceStatus::Revoked {
            if self.config.push_before_shred && status.final_push_allowed {
                // Best effort: whatever fails here is lost with the shred,
                // which is the office's decision.
                let _ = self
                    .push(&state, &mut report, &mut progress, &notify, cancel)
                    .await;
            }
            progress.phase = SyncPhase::Shredding;
            notify(progress);
            // Sign the report before the key is destroyed, and keep it
            // beside the database (it holds no personal data) so that it
            // is sent even if the app dies between the shred and the send.
            let body =
                serde_json::to_vec(&serde_json::json!({ "unsent": self.store.unsent_count()? }))?;
            let pending = self.sign_shred_report(&state.device_id, body)?;
            pending.save(&self.store.path())?;
            self.store.shred()?;
            report.shredded = true;
            if matches!(self.send_shred_report(&pending).await, Ok(true)) {
                ShredReport::remove(&self.store.path())?;
            }
            return Ok(report);
        }
        self.push(&state, &mut report, &mut progress, &notify, cancel)
            .await?;
        progress.phase = SyncPhase::Pull;
        notify(progress);
        self.pull(&mut state, &mut report, &mut progress, &notify, cancel)
            .await?;
        let now = self.store.clock().now_utc_ms();
        state.last_success_ms = Some(now);
        self.save_state(&state)?;
        self.store
            .set_sync_deadline(self.config.max_unsynced_ms.map(|m| now + m))?;
        progress.phase = SyncPhase::Done;
        notify(progress);
        Ok(report)
    }

    /// One contact with the lone-worker safety lane: sends the safety
    /// events the office's clock has not yet confirmed (start, extend,
    /// check-in, alert, end, acknowledgement seen), ahead of any backlog in
    /// the ordered log, and records the office's acknowledgements. One
    /// attempt, no backoff: the shell calls it after every safety action
    /// and again at `beacon_due_ms` while a visit runs, so a failure is
    /// retried within 30 seconds.
    pub async fn send_safety(&self, cancel: &AtomicBool) -> Result<SafetyLaneReport> {
        let state = self
            .state()?
            .ok_or_else(|| Error::Conflict("enrol the device first".into()))?;
        let mut out = SafetyLaneReport::default();
        // A second round sends the `visit.ack_seen` events the first one
        // created, so the office learns at once that the officer has it.
        for _round in 0..2 {
            if cancel.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            let batch = self.store.beacon_batch(MAX_BEACON_EVENTS)?;
            let request = BeaconRequest {
                events: batch.iter().map(wire_event).collect(),
            };
            let body = Body::of(&serde_json::to_vec(&request)?)?;
            let mut report = SyncReport::default();
            let bytes = match self
                .attempt(
                    &state.device_id,
                    Method::POST,
                    BEACON_PATH,
                    Some(&body),
                    &mut report,
                )
                .await
            {
                Ok(bytes) => bytes,
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(why, _)) => return Err(Error::Network(why)),
            };
            let response: BeaconResponse = serde_json::from_slice(&bytes)?;
            let confirmed: Vec<u64> = batch
                .iter()
                .filter(|e| response.results.iter().any(|r| r.id == e.id))
                .map(|e| e.seq)
                .collect();
            out.confirmed += confirmed.len() as u64;
            let now = self.store.clock().now_utc_ms();
            self.store.beacon_done(&confirmed, now)?;
            let new = self
                .store
                .write(|w| home_visits::record_office_acks(w, &response.acknowledgements))?;
            out.acknowledgements += u64::from(new);
            if new == 0 {
                break;
            }
        }
        out.unconfirmed = self.store.beacon_queue()?.seqs.len() as u64;
        Ok(out)
    }

    async fn push(
        &self,
        state: &SyncState,
        report: &mut SyncReport,
        progress: &mut SyncProgress,
        notify: &(dyn Fn(SyncProgress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<()> {
        progress.phase = SyncPhase::Push;
        notify(*progress);
        let limit = self.config.batch_size;
        let mut next = prepare_batch(&self.store, 0, limit)?;
        loop {
            if cancel.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            let Some(batch) = next.take() else {
                return Ok(());
            };
            let after = batch.events.last().map_or(0, |e| e.seq);
            // While this batch is on the wire and the office stores it, the
            // next one is read, encoded and compressed on a blocking thread:
            // at most two batches are held at once, so memory stays flat. It
            // is only sent after this batch's answer, in order, and a batch
            // is acknowledged only from the office's answer to it.
            let store = self.store.clone();
            let following =
                tokio::task::spawn_blocking(move || prepare_batch(&store, after, limit));
            let sent = self
                .call::<PushResponse>(
                    &state.device_id,
                    Method::POST,
                    "/v1/sync/push",
                    Some(&batch.body),
                    report,
                    cancel,
                )
                .await;
            // A panic in the worker is the caller's, as if it had run here;
            // a worker stopped by the runtime shutting down is a cancel.
            let following = match following.await {
                Ok(prepared) => prepared,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(Error::Cancelled),
            };
            let response = sent?;
            let events = &batch.events;
            let by_seq: std::collections::HashMap<u64, &crate::store::Outgoing> =
                events.iter().map(|e| (e.seq, e)).collect();
            let mut acked = Vec::new();
            for result in &response.results {
                // Only events this batch sent can be acknowledged.
                let Some(sent) = by_seq.get(&result.seq).filter(|e| e.id == result.id) else {
                    continue;
                };
                match &result.outcome {
                    PushOutcome::Accepted => {
                        report.accepted += 1;
                        acked.push(sent.seq);
                    }
                    PushOutcome::Duplicate => {
                        report.duplicates += 1;
                        acked.push(sent.seq);
                    }
                    PushOutcome::Rejected { reason } => {
                        report.quarantined += 1;
                        self.store.quarantine(sent.seq, reason.as_str())?;
                    }
                    PushOutcome::Retry { expected_seq } => {
                        self.store.acknowledge(&acked)?;
                        return Err(Error::Network(format!(
                            "office expects event {expected_seq} first"
                        )));
                    }
                }
            }
            self.store.acknowledge(&acked)?;
            progress.sent += events.len() as u64;
            progress.bytes_sent = report.bytes_sent;
            notify(*progress);
            next = following?;
        }
    }

    async fn pull(
        &self,
        state: &mut SyncState,
        report: &mut SyncReport,
        progress: &mut SyncProgress,
        notify: &(dyn Fn(SyncProgress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<()> {
        loop {
            let path = format!(
                "/v1/sync/pull?epoch={}&cursor={}&limit={}",
                state.epoch.clone().unwrap_or_default(),
                state.cursor,
                self.config.pull_page
            );
            let page: PullPage = self
                .call(&state.device_id, Method::GET, &path, None, report, cancel)
                .await?;
            let reset = page.reset
                || state.epoch.as_deref() != Some(page.epoch.as_str()) && state.epoch.is_some();
            if reset {
                report.reset = true;
            }
            let n = page.changes.len() as u64;
            state.epoch = Some(page.epoch.clone());
            state.cursor = page.next_cursor;
            let new_state = state.clone();
            self.store
                .write(|w| {
                    if reset {
                        clear_reference(w)?;
                    }
                    let skipped = apply_changes(w, &page.changes)?;
                    w.put(&state_id()?, &new_state)?;
                    Ok(skipped)
                })
                .map(|skipped| report.skipped += skipped)?;
            report.pulled += n;
            progress.pulled += n;
            notify(*progress);
            if !page.more {
                return Ok(());
            }
        }
    }

    fn save_state(&self, state: &SyncState) -> Result<()> {
        self.store.write(|w| {
            w.put(&state_id()?, state)?;
            Ok(())
        })
    }

    fn sign_shred_report(&self, device_id: &str, body: Vec<u8>) -> Result<ShredReport> {
        let now = self.store.clock().now_utc_ms();
        let mut nonce = [0u8; 16];
        crate::crypto::fill_random(&mut nonce)?;
        let nonce = hex::encode(nonce);
        let signature = self.store.sign(
            &SignedRequest {
                method: "POST",
                path_and_query: SHRED_PATH,
                device_id,
                content_encoding: "",
                body: &body,
                timestamp_ms: now,
                nonce: &nonce,
            }
            .signing_string(),
        )?;
        Ok(ShredReport {
            device_id: device_id.to_owned(),
            timestamp_ms: now,
            nonce,
            signature: hex::encode(signature),
            body: String::from_utf8(body).map_err(|_| Error::Encoding("shred report".into()))?,
        })
    }

    /// Sends a shred report; `true` when the office has it (now or before).
    async fn send_shred_report(&self, r: &ShredReport) -> Result<bool> {
        let resp = self
            .http
            .post(self.url(SHRED_PATH)?)
            .header(H_DEVICE, &r.device_id)
            .header(H_TIMESTAMP, r.timestamp_ms.to_string())
            .header(H_NONCE, &r.nonce)
            .header(H_SIGNATURE, &r.signature)
            .header("content-type", "application/json")
            .body(r.body.clone())
            .send()
            .await
            .map_err(|e| Error::Network(redact(&e)))?;
        if resp.status().is_success() {
            return Ok(true);
        }
        // A device the office already marks shredded answers
        // `device_revoked`: the office has the report.
        let code = resp
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
        Ok(code.as_deref() == Some("device_revoked"))
    }
}

const SHRED_PATH: &str = "/v1/sync/shredded";

/// A shred report signed before the device key was destroyed, kept in
/// `<database>.shred-report` (owner-only) until the office has it. It holds
/// the device id, a count of unsent events and a signature: nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ShredReport {
    device_id: String,
    timestamp_ms: i64,
    nonce: String,
    signature: String,
    body: String,
}

impl ShredReport {
    fn file(db: &std::path::Path) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("{}.shred-report", db.display()))
    }

    fn save(&self, db: &std::path::Path) -> Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(Self::file(db))?;
        f.write_all(&serde_json::to_vec(self)?)?;
        f.sync_all()?;
        Ok(())
    }

    fn load(db: &std::path::Path) -> Result<Option<ShredReport>> {
        match std::fs::read(Self::file(db)) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn remove(db: &std::path::Path) -> Result<()> {
        match std::fs::remove_file(Self::file(db)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Network errors without URLs (which could carry query data).
fn redact(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body failed"
    } else if e.is_request() {
        "request failed"
    } else {
        "network error"
    };
    kind.to_owned()
}

fn error_from(status: StatusCode, bytes: &[u8]) -> Error {
    let body: Option<ErrorBody> = serde_json::from_slice(bytes).ok();
    let code = body
        .map(|b| b.error)
        .unwrap_or_else(|| status.as_str().to_owned());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Auth(code),
        _ => Error::Network(format!("office refused the request: {code}")),
    }
}

/// Drops the office's reference data (not captures, not unallocated
/// arrivals recorded on the device).
fn clear_reference(w: &mut Writer<'_>) -> Result<()> {
    fn drop_all<T: Record>(w: &mut Writer<'_>, keep: impl Fn(&T) -> bool) -> Result<()> {
        for item in w.records().all::<T>()? {
            if !keep(&item.value) {
                w.remove::<T>(&item.id)?;
            }
        }
        Ok(())
    }
    drop_all::<Project>(w, |_| false)?;
    drop_all::<WorkSession>(w, |_| false)?;
    drop_all::<Requirement>(w, |_| false)?;
    drop_all::<Appointment>(w, |a| !a.allocated)?;
    drop_all::<Case>(w, |_| false)?;
    drop_all::<ScheduledVisit>(w, |_| false)?;
    Ok(())
}

/// Applies a page of changes through the services' validating imports.
fn apply_changes(w: &mut Writer<'_>, changes: &[Change]) -> Result<u64> {
    let mut upw = ReferenceBatch::default();
    let mut hv = CaseloadBatch::default();
    fn parse<T: DeserializeOwned>(c: &Change) -> Result<(RecordId, T)> {
        Ok((
            RecordId::parse(&c.id)?,
            serde_json::from_value(c.data.clone())?,
        ))
    }
    let mut withdrawn = 0u64;
    for c in changes {
        if c.data.is_null() {
            withdrawn += 1;
            let id = RecordId::parse(&c.id)?;
            match c.entity.as_str() {
                "upw_project" => w.remove::<Project>(&id)?,
                "upw_session" => w.remove::<WorkSession>(&id)?,
                "upw_requirement" => w.remove::<Requirement>(&id)?,
                "upw_appointment" => w.remove::<Appointment>(&id)?,
                "hv_case" => w.remove::<Case>(&id)?,
                "hv_scheduled" => w.remove::<ScheduledVisit>(&id)?,
                _ => return Err(Error::invalid("entity", "unknown entity")),
            };
            continue;
        }
        match c.entity.as_str() {
            "upw_project" => upw.projects.push(parse(c)?),
            "upw_session" => upw.sessions.push(parse(c)?),
            "upw_requirement" => upw.requirements.push(parse(c)?),
            "upw_appointment" => upw.appointments.push(parse(c)?),
            "hv_case" => hv.cases.push(parse(c)?),
            "hv_scheduled" => hv.scheduled.push(parse(c)?),
            _ => return Err(Error::invalid("entity", "unknown entity")),
        }
    }
    // One item at a time, in dependency order, so a bad item from the
    // office is skipped (and counted) instead of blocking every later sync.
    let mut skipped = 0;
    let mut apply = |r: Result<()>| -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(Error::InvalidInput { field, .. }) => {
                tracing::warn!(%field, "reference item from the office skipped");
                skipped += 1;
                Ok(())
            }
            Err(e) => Err(e),
        }
    };
    macro_rules! each {
        ($list:expr, $field:ident, $batch:ident, $import:path) => {
            for item in &$list.$field {
                let one = $batch {
                    $field: vec![item.clone()],
                    ..Default::default()
                };
                apply($import(w, &one))?;
            }
        };
    }
    each!(upw, projects, ReferenceBatch, unpaid_work::import_items);
    each!(upw, sessions, ReferenceBatch, unpaid_work::import_items);
    each!(upw, requirements, ReferenceBatch, unpaid_work::import_items);
    each!(upw, appointments, ReferenceBatch, unpaid_work::import_items);
    each!(hv, cases, CaseloadBatch, home_visits::import_items);
    each!(hv, scheduled, CaseloadBatch, home_visits::import_items);
    if !changes.is_empty() {
        w.record_access(
            crate::access::AccessAction::Collection,
            crate::access::AccessPayload {
                subject: format!("reference: {} changes from the office", changes.len()),
                purpose: "reference data sync".into(),
                recipient: None,
            },
        )?;
    }
    if withdrawn > 0 {
        // Items the office deleted or removed this officer from: erased
        // here, and the erasure is in the access log.
        w.record_access(
            crate::access::AccessAction::Erasure,
            crate::access::AccessPayload {
                subject: format!("reference: {withdrawn} items withdrawn by the office"),
                purpose: "removed from the officer's audience or deleted".into(),
                recipient: None,
            },
        )?;
    }
    Ok(skipped)
}
