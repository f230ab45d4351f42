//! The HTTP API: device endpoints (enrol, status, push, pull, shredded),
//! office endpoints (officers, enrolment codes, reference data, CSV import,
//! revocation, reads of what devices sent), health, readiness, metrics and
//! the OpenAPI document.
//!
//! Every error is a JSON body with a machine-readable code and a message
//! with no personal data; bad input never stores anything.

use std::io::Read;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fieldbook_core::sync::protocol::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::db::{Db, DbError};
use crate::model::{role_name, Incoming};
use crate::office;

/// Per-instance counters (Prometheus text at `/metrics`).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests served.
    pub requests: AtomicU64,
    /// Events stored.
    pub events_ingested: AtomicU64,
    /// Events refused.
    pub events_rejected: AtomicU64,
    /// Duplicates answered.
    pub events_duplicate: AtomicU64,
    /// Requests refused for authentication.
    pub auth_failures: AtomicU64,
    /// Lag of the newest ingested event (server time minus device time).
    pub sync_lag_ms: AtomicI64,
}

/// Shared, request-independent state: the database and configuration.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Storage.
    pub db: Db,
    /// The office's bearer token.
    pub office_token: Arc<String>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// An API error.
#[derive(Debug)]
pub struct ApiFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiFailure {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn auth(code: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, "request not authorised")
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<DbError> for ApiFailure {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "database failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "storage is unavailable; retry",
        )
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.code.to_owned(),
                message: self.message,
            }),
        )
            .into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiFailure>;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/enrol", post(enrol))
        .route("/v1/sync/status", get(status))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/pull", get(pull))
        .route("/v1/sync/shredded", post(shredded))
        .merge(office::routes())
        .fallback(|| async {
            ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.db.ping().await?;
    Ok(Json(json!({ "status": "ready" })))
}

async fn metrics(State(state): State<AppState>) -> String {
    let m = &state.metrics;
    format!(
        "# TYPE fieldbook_requests_total counter\nfieldbook_requests_total {}\n\
         # TYPE fieldbook_events_ingested_total counter\nfieldbook_events_ingested_total {}\n\
         # TYPE fieldbook_events_rejected_total counter\nfieldbook_events_rejected_total {}\n\
         # TYPE fieldbook_events_duplicate_total counter\nfieldbook_events_duplicate_total {}\n\
         # TYPE fieldbook_auth_failures_total counter\nfieldbook_auth_failures_total {}\n\
         # TYPE fieldbook_sync_lag_ms gauge\nfieldbook_sync_lag_ms {}\n",
        m.requests.load(Ordering::Relaxed),
        m.events_ingested.load(Ordering::Relaxed),
        m.events_rejected.load(Ordering::Relaxed),
        m.events_duplicate.load(Ordering::Relaxed),
        m.auth_failures.load(Ordering::Relaxed),
        m.sync_lag_ms.load(Ordering::Relaxed),
    )
}

async fn openapi() -> Response {
    ([("content-type", "application/json")], crate::OPENAPI).into_response()
}

/// Decodes a body: gzip when so labelled (capped), JSON content type.
pub(crate) fn body_bytes(
    headers: &HeaderMap,
    body: &Bytes,
    json_required: bool,
) -> ApiResult<Vec<u8>> {
    if json_required {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(ApiFailure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected application/json",
            ));
        }
    }
    match headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
            flate2::read::GzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|_| ApiFailure::bad("bad_encoding", "body is not valid gzip"))?;
            if out.len() > MAX_BODY_BYTES {
                return Err(ApiFailure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "body too large",
                ));
            }
            Ok(out)
        }
        Some(_) => Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            "gzip or identity only",
        )),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiFailure::bad(
            "malformed",
            format!(
                "body does not match the schema (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Authenticates a device request; returns the device and decoded body.
async fn device_auth(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    json_body: bool,
) -> ApiResult<(crate::model::DeviceRow, Vec<u8>)> {
    let fail = |code| {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        ApiFailure::auth(code)
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (Some(device_id), Some(ts), Some(nonce), Some(sig)) = (
        header(H_DEVICE),
        header(H_TIMESTAMP),
        header(H_NONCE),
        header(H_SIGNATURE),
    ) else {
        return Err(fail("missing_credentials"));
    };
    let ts: i64 = ts.parse().map_err(|_| fail("bad_timestamp"))?;
    let now = now_ms();
    if (now - ts).abs() > TIMESTAMP_WINDOW_MS {
        return Err(fail("stale_timestamp"));
    }
    if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail("bad_nonce"));
    }
    let decoded = body_bytes(headers, body, json_body && !body.is_empty())?;
    let device = state
        .db
        .device(&device_id)
        .await?
        .ok_or_else(|| fail("unknown_device"))?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let message = signing_string(method.as_str(), path, &decoded, ts, &nonce);
    let sig = hex::decode(sig).map_err(|_| fail("bad_signature"))?;
    if !fieldbook_core::crypto::signing::verify(&device.public_key, &message, &sig) {
        return Err(fail("bad_signature"));
    }
    if device.shredded {
        return Err(fail("device_revoked"));
    }
    if !state
        .db
        .use_nonce(&device.id, &nonce, now, TIMESTAMP_WINDOW_MS)
        .await?
    {
        return Err(fail("replayed_nonce"));
    }
    Ok((device, decoded))
}

async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<EnrolResponse>> {
    let bytes = body_bytes(&headers, &body, true)?;
    let req: EnrolRequest = parse_json(&bytes)?;
    let key = hex::decode(&req.public_key)
        .map_err(|_| ApiFailure::bad("malformed", "public_key must be hex"))?;
    if key.len() != 32 || req.label.len() > 200 || req.code.len() > 200 {
        return Err(ApiFailure::bad("malformed", "bad key or field length"));
    }
    let device_id = fieldbook_core::ids::RecordId::random()
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "random source failed",
            )
        })?
        .to_string();
    let hash = office::code_hash(&req.code);
    match state
        .db
        .enrol(&hash, &device_id, &req.public_key, &req.label, now_ms())
        .await?
    {
        Some((officer_id, role)) => {
            tracing::info!(device = %device_id, role = role_name(role), "device enrolled");
            Ok(Json(EnrolResponse {
                device_id,
                officer_id,
                role,
            }))
        }
        None => {
            state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
            Err(ApiFailure::new(
                StatusCode::FORBIDDEN,
                "bad_enrolment_code",
                "the code is unknown, used or expired",
            ))
        }
    }
}

async fn status(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<StatusResponse>> {
    let (device, _) = device_auth(&state, &method, &uri, &headers, &body, false).await?;
    Ok(Json(StatusResponse {
        status: if device.revoked {
            DeviceStatus::Revoked
        } else {
            DeviceStatus::Active
        },
        final_push_allowed: device.final_push_allowed,
        server_time_ms: now_ms(),
        last_seq: device.last_seq,
    }))
}

async fn push(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<PushResponse>> {
    let (device, bytes) = device_auth(&state, &method, &uri, &headers, &body, true).await?;
    if device.revoked && !device.final_push_allowed {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "the device is revoked",
        ));
    }
    let req: PushRequest = parse_json(&bytes)?;
    if req.events.len() > MAX_PUSH_EVENTS {
        return Err(ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            "too many events in one push",
        ));
    }
    let now = now_ms();
    // Signature checks are CPU work: off the async threads.
    let key = device.public_key.clone();
    let incoming = tokio::task::spawn_blocking(move || {
        req.events
            .iter()
            .map(|e| Incoming::check(e, &key, now))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|_| {
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "worker failed",
        )
    })?;
    let newest = incoming
        .iter()
        .filter_map(|i| i.parsed.as_ref().map(|b| b.recorded_at_ms))
        .max();
    let results = state.db.ingest(&device, incoming, now).await?;
    for r in &results {
        let counter = match r.outcome {
            PushOutcome::Accepted => &state.metrics.events_ingested,
            PushOutcome::Duplicate => &state.metrics.events_duplicate,
            PushOutcome::Rejected { .. } => &state.metrics.events_rejected,
            PushOutcome::Retry { .. } => continue,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(t) = newest {
        state.metrics.sync_lag_ms.store(now - t, Ordering::Relaxed);
    }
    Ok(Json(PushResponse { results }))
}

#[derive(Debug, Deserialize)]
struct PullQuery {
    #[serde(default)]
    epoch: String,
    #[serde(default)]
    cursor: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    500
}

async fn pull(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<PullPage>> {
    let (device, _) = device_auth(&state, &method, &uri, &headers, &body, false).await?;
    if device.revoked {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "the device is revoked",
        ));
    }
    let Query(q): Query<PullQuery> =
        Query::try_from_uri(&uri).map_err(|_| ApiFailure::bad("malformed", "bad query"))?;
    let limit = q.limit.clamp(1, 1000);
    let epoch = state.db.epoch().await?;
    let reset = !q.epoch.is_empty() && q.epoch != epoch;
    let cursor = if reset { 0 } else { q.cursor.max(0) };
    let rows = state.db.pull(&device.officer_id, cursor, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<_> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(500))
        .collect();
    let next_cursor = rows.last().map(|r| r.cursor).unwrap_or(cursor);
    let changes = rows
        .into_iter()
        .map(|r| {
            let data = match r.data {
                None => Value::Null,
                Some(text) => {
                    let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if r.restricted {
                        office::restrict(&r.entity, &mut v);
                    }
                    v
                }
            };
            Change {
                cursor: r.cursor,
                entity: r.entity,
                id: r.id,
                data,
            }
        })
        .collect();
    Ok(Json(PullPage {
        epoch,
        reset,
        changes,
        next_cursor,
        more,
    }))
}

async fn shredded(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let (device, _) = device_auth(&state, &method, &uri, &headers, &body, true).await?;
    state.db.mark_shredded(&device.id, now_ms()).await?;
    tracing::warn!(device = %device.id, "device reported crypto-shred");
    Ok(StatusCode::NO_CONTENT)
}
