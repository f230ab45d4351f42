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
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use fieldbook_core::sync::protocol::*;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::{Db, DbError};
use crate::model::{role_name, Incoming};
use crate::office;
use crate::openapi::{
    EnrolRequestDoc, EnrolResponseDoc, ErrorDoc, PullPageDoc, PushRequestDoc, PushResponseDoc,
    StatusResponseDoc,
};

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
    /// The bearer credential a Prometheus scraper presents at `/metrics`;
    /// `None` turns `/metrics` off (every scrape is refused).
    pub metrics_token: Option<Arc<String>>,
    /// Rate, concurrency and time limits.
    pub guards: crate::limits::Guards,
    /// The office console (pages, sessions, settings).
    pub console: Arc<crate::console::Console>,
    /// The lone-worker safety clock and its notifiers.
    pub safety: Arc<crate::safety::timer::SafetyService>,
    /// Delivery to the Community Payback API, when configured.
    pub delivery: Option<Arc<crate::delivery::worker::DeliveryService>>,
    /// The office's evidence signing key.
    pub evidence_key: Arc<crate::evidence::OfficeKey>,
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

/// Every route with its OpenAPI operation: the router and the document
/// are built from this one list, so neither can have a route the other
/// lacks.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
        .routes(routes!(enrol))
        .routes(routes!(status))
        .routes(routes!(push))
        .routes(routes!(pull))
        .routes(routes!(shredded))
        .merge(crate::safety::routes::routes())
        .merge(crate::delivery::routes::routes())
        .merge(crate::evidence::routes::routes())
        .merge(office::routes())
}

/// The OpenAPI document of every route the router serves.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = api_routes().split_for_parts().1;
    crate::openapi::add_limit_responses(&mut doc);
    doc
}

/// The router.
pub fn router(state: AppState) -> Router {
    let (routes, _) = api_routes().split_for_parts();
    routes
        .fallback(|| async {
            ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.guards.clone(),
            crate::limits::guard,
        ))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .merge(crate::console::router(&state))
        .with_state(state)
}

/// Every error answer is a JSON [`ErrorBody`]: the ones axum makes itself
/// (405 for a method a path lacks, 413 from the body limit, rejected
/// path or query text) are rewritten here, keeping their status and the
/// `Allow` header.
async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "malformed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut out = ApiFailure::new(
        status,
        code,
        status.canonical_reason().unwrap_or("request refused"),
    )
    .into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

/// `{"status": …}` from the health and readiness probes.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Storage unavailable", body = ErrorDoc),
    ))]
async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.db.ping().await?;
    Ok(Json(json!({ "status": "ready" })))
}

/// Prometheus counters of this instance, for a scraper holding the
/// metrics credential (`FIELDBOOK_METRICS_TOKEN`; without one configured,
/// every scrape is refused).
#[utoipa::path(get, path = "/metrics", tag = "service", security(("metricsToken" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "Metrics credential missing or wrong, or metrics not configured", body = ErrorDoc),
    ))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<String> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let allowed = state.metrics_token.as_ref().is_some_and(|t| {
        !given.is_empty() && fieldbook_core::crypto::ct_eq(given.as_bytes(), t.as_bytes())
    });
    if !allowed {
        return Err(ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "metrics_auth",
            "metrics credential required",
        ));
    }
    let m = &state.metrics;
    // From the database, so every instance reports the same; left out
    // (not zero) when the database does not answer.
    let safety = match state.db.safety_gauges().await {
        Ok([open, pending, failed]) => format!(
            "# TYPE fieldbook_safety_alerts_open gauge\nfieldbook_safety_alerts_open {open}\n\
             # TYPE fieldbook_safety_notices_pending gauge\nfieldbook_safety_notices_pending {pending}\n\
             # TYPE fieldbook_safety_notices_failed gauge\nfieldbook_safety_notices_failed {failed}\n"
        ),
        Err(_) => String::new(),
    };
    Ok(format!(
        "# TYPE fieldbook_requests_total counter\nfieldbook_requests_total {}\n\
         # TYPE fieldbook_events_ingested_total counter\nfieldbook_events_ingested_total {}\n\
         # TYPE fieldbook_events_rejected_total counter\nfieldbook_events_rejected_total {}\n\
         # TYPE fieldbook_events_duplicate_total counter\nfieldbook_events_duplicate_total {}\n\
         # TYPE fieldbook_auth_failures_total counter\nfieldbook_auth_failures_total {}\n\
         # TYPE fieldbook_sync_lag_ms gauge\nfieldbook_sync_lag_ms {}\n{safety}",
        m.requests.load(Ordering::Relaxed),
        m.events_ingested.load(Ordering::Relaxed),
        m.events_rejected.load(Ordering::Relaxed),
        m.events_duplicate.load(Ordering::Relaxed),
        m.auth_failures.load(Ordering::Relaxed),
        m.sync_lag_ms.load(Ordering::Relaxed),
    ))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json")))]
async fn openapi() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = DOC.get_or_init(|| document().to_json().unwrap_or_else(|_| String::from("{}")));
    ([(header::CONTENT_TYPE, "application/json")], text.as_str()).into_response()
}

/// Whether a `Content-Type` is JSON: the media type must be exactly
/// `application/json` (any case), with at most a UTF-8 charset
/// parameter; `application/jsonfoo` or `application/json-patch` are not.
pub(crate) fn is_json_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("charset=utf-8") || p.eq_ignore_ascii_case("charset=\"utf-8\"")
        })
}

fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if is_json_content_type(ct) {
        Ok(())
    } else {
        Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected application/json",
        ))
    }
}

/// The `Content-Encoding` label: `""` for none or identity, `gzip`, or a
/// refusal.
fn content_encoding(headers: &HeaderMap) -> ApiResult<&'static str> {
    match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().map(str::trim))
    {
        None => Ok(""),
        Some(Ok(v)) if v.eq_ignore_ascii_case("identity") => Ok(""),
        Some(Ok(v)) if v.eq_ignore_ascii_case("gzip") => Ok("gzip"),
        Some(_) => Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            "gzip or identity only",
        )),
    }
}

/// Inflates a gzip body, capped at [`MAX_BODY_BYTES`]. Called only for
/// senders already authenticated (a device whose signature over the
/// compressed bytes verified, or the office).
fn inflate(body: &[u8]) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(body)
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

/// Decodes an authenticated caller's body: gzip when so labelled
/// (capped), JSON content type when required.
pub(crate) fn body_bytes(
    headers: &HeaderMap,
    body: &Bytes,
    json_required: bool,
) -> ApiResult<Vec<u8>> {
    if json_required {
        require_json(headers)?;
    }
    match content_encoding(headers)? {
        "gzip" => inflate(body),
        _ => Ok(body.to_vec()),
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
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

/// How fresh a signed device request must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    /// Within the timestamp window, with a nonce not seen before (every
    /// request).
    Window,
    /// Any time up to now, from a revoked device only: a shred report
    /// signed before the key was destroyed and sent late (the app died, or
    /// no signal). No nonce: marking a revoked device shredded twice
    /// changes nothing.
    LateShredReport,
}

/// A device request whose signature verified.
struct Verified {
    device: crate::model::DeviceRow,
    encoding: &'static str,
}

/// The one check of a signed device request: headers, freshness, the
/// known device, its signature over the bytes as sent (before anything is
/// inflated), and for [`Freshness::Window`] the nonce.
async fn verify_signed(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    json_body: bool,
    freshness: Freshness,
) -> ApiResult<Verified> {
    let fail = |code| {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        ApiFailure::auth(code)
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(device_id), Some(ts), Some(nonce), Some(sig)) = (
        header(H_DEVICE),
        header(H_TIMESTAMP),
        header(H_NONCE),
        header(H_SIGNATURE),
    ) else {
        return Err(fail("missing_credentials"));
    };
    let ts = parse_timestamp(ts).ok_or_else(|| fail("bad_timestamp"))?;
    let now = now_ms();
    let fresh = match freshness {
        Freshness::Window => within_window(now, ts),
        Freshness::LateShredReport => ts <= now,
    };
    if !fresh {
        return Err(fail("stale_timestamp"));
    }
    if freshness == Freshness::Window
        && (nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(fail("bad_nonce"));
    }
    // Labels are checked before any work; the body stays compressed
    // until the device is known and its signature over the bytes as sent
    // has verified, so nobody unauthenticated can make us inflate a bomb.
    if json_body && !body.is_empty() {
        require_json(headers)?;
    }
    let encoding = content_encoding(headers)?;
    let device = state
        .db
        .device(device_id)
        .await?
        .ok_or_else(|| fail("unknown_device"))?;
    if freshness == Freshness::LateShredReport && !device.revoked {
        return Err(fail("stale_timestamp"));
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let message = SignedRequest {
        method: method.as_str(),
        path_and_query: path,
        device_id,
        content_encoding: encoding,
        body,
        timestamp_ms: ts,
        nonce,
    }
    .signing_string();
    let sig = hex::decode(sig).map_err(|_| fail("bad_signature"))?;
    if !fieldbook_core::crypto::signing::verify(&device.public_key, &message, &sig) {
        return Err(fail("bad_signature"));
    }
    if freshness == Freshness::Window {
        if device.shredded {
            return Err(fail("device_revoked"));
        }
        if !state.db.use_nonce(&device.id, nonce, ts, now).await? {
            return Err(fail("replayed_nonce"));
        }
    }
    Ok(Verified { device, encoding })
}

/// Authenticates a device request; returns the device and decoded body.
pub(crate) async fn device_auth(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    json_body: bool,
) -> ApiResult<(crate::model::DeviceRow, Vec<u8>)> {
    let Verified { device, encoding } = verify_signed(
        state,
        method,
        uri,
        headers,
        body,
        json_body,
        Freshness::Window,
    )
    .await?;
    let decoded = match encoding {
        "gzip" => {
            let body = body.clone();
            // Inflating up to 8 MiB is CPU work: off the async threads.
            tokio::task::spawn_blocking(move || inflate(&body))
                .await
                .map_err(|_| {
                    ApiFailure::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "worker failed",
                    )
                })??
        }
        _ => body.to_vec(),
    };
    Ok((device, decoded))
}

/// Enrols a device with the office's one-time code and its public key.
#[utoipa::path(post, path = "/v1/enrol", tag = "device",
    request_body(content = EnrolRequestDoc, description = "JSON, uncompressed (nobody is known yet, so a compressed body is refused unread)"),
    responses(
        (status = 200, description = "Enrolled", body = EnrolResponseDoc),
        (status = 400, description = "Malformed body or key", body = ErrorDoc),
        (status = 403, description = "The code is unknown, used or expired, or the key is enrolled already", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not JSON, or a compressed body", body = ErrorDoc),
        (status = 429, description = "Too many enrolment attempts from this address; retry after `Retry-After` seconds", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn enrol(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<EnrolResponse>> {
    require_json(&headers)?;
    // Nobody is known yet: a compressed body is refused, never inflated.
    if !content_encoding(&headers)?.is_empty() {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            "enrolment bodies are not compressed",
        ));
    }
    let req: EnrolRequest = parse_json(&body)?;
    // One spelling per key (lower-case hex): the same key in capitals
    // must meet the UNIQUE constraint as a duplicate, not enrol again.
    let key = normalise_public_key(&req.public_key)
        .ok_or_else(|| ApiFailure::bad("malformed", "public_key must be 32 bytes of hex"))?;
    // Lengths in characters, as the document's maxLength counts them.
    if req.label.chars().count() > 200 || req.code.chars().count() > 200 {
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
        .enrol(&hash, &device_id, &key, &req.label, now_ms())
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
            // The address, never the code: a wrong code may be a typo of
            // a real one. Repeated attempts are throttled per address
            // (`limits::guard`).
            let peer = peer.map(|p| p.0 .0.ip().to_string()).unwrap_or_default();
            tracing::warn!(%peer, "enrolment refused: unknown, used or expired code");
            Err(ApiFailure::new(
                StatusCode::FORBIDDEN,
                "bad_enrolment_code",
                "the code is unknown, used or expired",
            ))
        }
    }
}

/// The device's standing and the office's position in its chain.
#[utoipa::path(get, path = "/v1/sync/status", tag = "device", security(("deviceId" = [], "deviceTimestamp" = [], "deviceNonce" = [], "deviceSignature" = [])),
    responses(
        (status = 200, description = "Standing", body = StatusResponseDoc),
        (status = 400, description = "A body that is not valid gzip", body = ErrorDoc),
        (status = 401, description = "Missing, stale, replayed or wrongly signed request headers, or an unknown or shredded device", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "An encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
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
        // After the deadline the device is told it may not push: it
        // shreds at once. (Status and the shred report stay answered
        // after the deadline, signed and read-only, so a phone found
        // later still learns to destroy what it holds.)
        final_push_allowed: device.final_push_open(now_ms()),
        server_time_ms: now_ms(),
        last_seq: device.last_seq,
    }))
}

/// Pushes events in sequence order; one result per event.
#[utoipa::path(post, path = "/v1/sync/push", tag = "device", security(("deviceId" = [], "deviceTimestamp" = [], "deviceNonce" = [], "deviceSignature" = [])),
    request_body(content = PushRequestDoc, description = "JSON, optionally gzip (`Content-Encoding: gzip`)"),
    responses(
        (status = 200, description = "One result per event", body = PushResponseDoc),
        (status = 400, description = "Malformed body or gzip, or more than 1,000 events", body = ErrorDoc),
        (status = 401, description = "Request not authorised (see the device headers)", body = ErrorDoc),
        (status = 403, description = "The device is revoked without a final push", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not JSON, or an encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn push(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<PushResponse>> {
    let (device, bytes) = device_auth(&state, &method, &uri, &headers, &body, true).await?;
    if device.revoked && !device.final_push_open(now_ms()) {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "the device is revoked",
        ));
    }
    let req: PushRequest = parse_json(&bytes)?;
    // The office stores sequence numbers as signed 64-bit integers (as the
    // document's int64 says): a larger one is malformed, not a gap.
    if req.events.iter().any(|e| i64::try_from(e.seq).is_err()) {
        return Err(ApiFailure::bad("malformed", "seq must be below 2^63"));
    }
    // The document's `maxItems`: a request that breaks its schema is
    // malformed (400), as every other schema violation is.
    if req.events.len() > MAX_PUSH_EVENTS {
        return Err(ApiFailure::bad(
            "too_many_events",
            "at most 1000 events in one push",
        ));
    }
    let now = now_ms();
    let incoming = check_events(req.events, &device.public_key, now).await?;
    let newest = incoming
        .iter()
        .filter_map(|i| i.parsed.as_ref().map(|b| b.recorded_at_ms))
        .max();
    // The office's safety clock learns from the ordered log too (the
    // lane may have been down); facts it already has change nothing.
    let candidates = crate::safety::routes::candidates(&device, &incoming, now);
    let results = state.db.ingest(&device, incoming, now).await?;
    let facts = crate::safety::routes::stored(candidates, &results);
    if !facts.is_empty() {
        state.safety.apply(&state.db, facts).await?;
    }
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

/// Events a blocking worker checks before a push is split across more
/// than one: below this the hand-off costs more than it saves.
const CHECK_CHUNK_MIN: usize = 32;

/// Checks a push's events (signature, body, limits), in order. Signature
/// checks are CPU work, so they run on the blocking pool, never on the
/// async threads; a large batch is split across one worker per core, so a
/// single device's 500-event push does not wait on one core's checks.
async fn check_events(
    events: Vec<PushEvent>,
    public_key: &[u8],
    now: i64,
) -> ApiResult<Vec<Incoming>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let chunk = events.len().div_ceil(cores).max(CHECK_CHUNK_MIN);
    let key: Arc<[u8]> = Arc::from(public_key);
    let total = events.len();
    let mut rest = events;
    let mut workers = Vec::new();
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        let key = key.clone();
        workers.push(tokio::task::spawn_blocking(move || {
            part.iter()
                .map(|e| Incoming::check(e, &key, now))
                .collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::with_capacity(total);
    for w in workers {
        out.extend(w.await.map_err(|_| {
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "worker failed",
            )
        })?);
    }
    Ok(out)
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

/// Reference changes for the device's officer after a cursor, a page at a time.
#[utoipa::path(get, path = "/v1/sync/pull", tag = "device", security(("deviceId" = [], "deviceTimestamp" = [], "deviceNonce" = [], "deviceSignature" = [])),
    params(
        ("epoch" = Option<String>, Query, description = "The epoch the device holds; another one answers `reset` from cursor 0"),
        ("cursor" = Option<i64>, Query, description = "Changes after this cursor (negative counts as 0)"),
        ("limit" = Option<i64>, Query, description = "Page size, clamped to 1..=1000 (default 500)"),
    ),
    responses(
        (status = 200, description = "A page of changes", body = PullPageDoc),
        (status = 400, description = "A query that does not parse, or a body that is not valid gzip", body = ErrorDoc),
        (status = 401, description = "Request not authorised (see the device headers)", body = ErrorDoc),
        (status = 403, description = "The device is revoked", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "An encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
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

/// Reports that the device crypto-shredded its store (signed before the key went).
#[utoipa::path(post, path = "/v1/sync/shredded", tag = "device", security(("deviceId" = [], "deviceTimestamp" = [], "deviceNonce" = [], "deviceSignature" = [])),
    request_body(content = Option<serde_json::Value>, description = "Optional JSON, not read (devices send `{\"unsent\": n}`, the events they held unsent)"),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "A body that is not valid gzip", body = ErrorDoc),
        (status = 401, description = "Request not authorised (see the device headers)", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "A body that is not JSON, or an encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn shredded(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let device = match device_auth(&state, &method, &uri, &headers, &body, true).await {
        Ok((device, _)) => device,
        // A report signed before the key was destroyed may arrive late
        // (the app died, or no signal): accepted from a revoked device.
        Err(e) if e.code == "stale_timestamp" => {
            late_shred_report(&state, &method, &uri, &headers, &body).await?
        }
        Err(e) => return Err(e),
    };
    state.db.mark_shredded(&device.id, now_ms()).await?;
    tracing::warn!(device = %device.id, "device reported crypto-shred");
    Ok(StatusCode::NO_CONTENT)
}

/// Verifies a shred report whose signed timestamp is older than the usual
/// window (see [`Freshness::LateShredReport`]).
async fn late_shred_report(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<crate::model::DeviceRow> {
    let v = verify_signed(
        state,
        method,
        uri,
        headers,
        body,
        false,
        Freshness::LateShredReport,
    )
    .await?;
    Ok(v.device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_core::crypto::signing::DeviceKey;
    use fieldbook_core::events::{hash_bytes, EventBody, EVENT_FORMAT, GENESIS_HASH};

    /// `n` chained, signed events of `key`.
    fn signed_events(key: &DeviceKey, n: u64) -> Vec<PushEvent> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let body = EventBody {
                    format: EVENT_FORMAT,
                    id: format!("{seq:032x}"),
                    device: key.fingerprint(),
                    seq,
                    officer: "po".into(),
                    recorded_at_ms: 1_800_000_000_000,
                    utc_offset_min: 0,
                    monotonic_ms: seq,
                    kind: "test.check".into(),
                    payload: json!({ "seq": seq }),
                    supersedes: None,
                    reason: None,
                    prev_hash: hex::encode(prev),
                };
                let bytes = serde_json::to_vec(&body).expect("json");
                prev = hash_bytes(&bytes);
                PushEvent {
                    id: body.id,
                    seq,
                    body: PushEvent::encode_body(&bytes),
                    signature: hex::encode(key.sign(&bytes)),
                }
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_push_checked_in_parts_keeps_its_order_and_every_refusal() {
        let key = DeviceKey::generate().expect("key");
        let n = (CHECK_CHUNK_MIN * 5 + 3) as u64;
        let mut events = signed_events(&key, n);
        // One forged signature in the middle, one in the last part.
        let forged = [CHECK_CHUNK_MIN * 2 + 1, events.len() - 1];
        for i in forged {
            let other = DeviceKey::generate().expect("key");
            let bytes = events[i].body_bytes().expect("body");
            events[i].signature = hex::encode(other.sign(&bytes));
        }
        let checked = check_events(events.clone(), &key.public_key(), 1_800_000_000_000)
            .await
            .expect("checked");
        assert_eq!(checked.len(), events.len());
        for (i, (c, e)) in checked.iter().zip(&events).enumerate() {
            assert_eq!(
                (c.id.as_str(), c.seq),
                (e.id.as_str(), e.seq),
                "order at {i}"
            );
            let expected = forged.contains(&i).then_some(RejectReason::BadSignature);
            assert_eq!(c.refused, expected, "event {i}");
        }
        // The same answer as checking them one by one on one thread.
        let one_by_one: Vec<Incoming> = events
            .iter()
            .map(|e| Incoming::check(e, &key.public_key(), 1_800_000_000_000))
            .collect();
        for (a, b) in checked.iter().zip(&one_by_one) {
            assert_eq!(
                (&a.hash, &a.refused, &a.body),
                (&b.hash, &b.refused, &b.body)
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_empty_or_small_push_is_checked_whole() {
        let key = DeviceKey::generate().expect("key");
        assert!(check_events(Vec::new(), &key.public_key(), 0)
            .await
            .expect("empty")
            .is_empty());
        let events = signed_events(&key, 3);
        let checked = check_events(events, &key.public_key(), 1_800_000_000_000)
            .await
            .expect("checked");
        assert_eq!(checked.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(checked.iter().all(|c| c.refused.is_none()));
    }
}
