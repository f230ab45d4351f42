//! The safety lane's HTTP routes: the devices' beacons, and the office's
//! alerts (list, detail with timeline and delivery log, acknowledge,
//! resolve).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Json;
use fieldbook_core::events::kinds::is_safety_lane;
use fieldbook_core::events::Payload;
use fieldbook_core::sync::protocol::{
    BeaconOutcome, BeaconRequest, BeaconResponse, BeaconResult, OfficeAck, PushOutcome, PushResult,
    MAX_BEACON_EVENTS,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::Delivery;
use super::{Alert, Fact, Refusal, TimelineEntry, VisitClock};
use crate::api::{ApiFailure, ApiResult, AppState};
use crate::model::{DeviceRow, Incoming};
use crate::openapi::{ErrorDoc, PushEventDoc};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(beacons))
        .routes(routes!(alerts))
        .routes(routes!(alert))
        .routes(routes!(acknowledge))
        .routes(routes!(resolve))
}

/// `POST /v1/safety/beacons` body.
#[derive(Debug, ToSchema)]
#[schema(as = BeaconRequest)]
pub struct BeaconRequestDoc {
    /// Safety-lane events (`visit.started`, `visit.safety`, `visit.ended`,
    /// `visit.ack_seen`), in sequence order; empty is a heartbeat.
    #[schema(max_items = 50)]
    pub events: Vec<PushEventDoc>,
}

/// What the office did with one beacon event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BeaconResult)]
pub struct BeaconResultDoc {
    /// Event id.
    pub id: String,
    /// `applied` (the office's clock has it) or `refused` (the ordered
    /// push reports why).
    #[schema(pattern = "^(applied|refused)$")]
    pub outcome: String,
}

/// An acknowledgement for the device.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OfficeAck)]
pub struct OfficeAckDoc {
    /// The alert.
    pub alert_id: String,
    /// The visit.
    pub visit_id: String,
    /// Who at the office.
    pub by: String,
    /// When (UTC ms).
    pub at_ms: i64,
    /// The office's note to the officer.
    pub note: String,
}

/// `POST /v1/safety/beacons` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BeaconResponse)]
pub struct BeaconResponseDoc {
    /// One per event, in order.
    pub results: Vec<BeaconResultDoc>,
    /// Acknowledgements the device has not yet reported seeing.
    pub acknowledgements: Vec<OfficeAckDoc>,
    /// The office's clock (UTC ms).
    pub server_time_ms: i64,
}

/// The safety facts in a push, by position, read before ingest takes the
/// events.
pub fn candidates(
    device: &DeviceRow,
    incoming: &[Incoming],
    now: i64,
) -> Vec<(usize, (String, Fact))> {
    incoming
        .iter()
        .enumerate()
        .filter_map(|(n, i)| fact_of(device, i, now).map(|f| (n, f)))
        .collect()
}

/// The candidates whose events the office stored now or already had.
pub fn stored(
    candidates: Vec<(usize, (String, Fact))>,
    results: &[PushResult],
) -> Vec<(String, Fact)> {
    candidates
        .into_iter()
        .filter(|(n, _)| {
            results.get(*n).is_some_and(|r| {
                matches!(r.outcome, PushOutcome::Accepted | PushOutcome::Duplicate)
            })
        })
        .map(|(_, f)| f)
        .collect()
}

fn fact_of(device: &DeviceRow, i: &Incoming, now: i64) -> Option<(String, Fact)> {
    let body = i.parsed.as_ref().filter(|_| i.refused.is_none())?;
    if !is_safety_lane(&body.kind) {
        return None;
    }
    let payload = Payload::parse(&body.kind, &body.payload).ok()?;
    Fact::from_payload(&body.id, &device.id, &device.officer_id, now, &payload)
}

/// The lone-worker safety lane: signed safety events ahead of the ordered
/// log, applied to the office's clock at once (idempotently: by event
/// id); the answer carries the office's acknowledgements.
#[utoipa::path(post, path = "/v1/safety/beacons", tag = "device", security(("deviceId" = [], "deviceTimestamp" = [], "deviceNonce" = [], "deviceSignature" = [])),
    request_body(content = BeaconRequestDoc, description = "JSON, optionally gzip (`Content-Encoding: gzip`)"),
    responses(
        (status = 200, description = "One result per event, and acknowledgements", body = BeaconResponseDoc),
        (status = 400, description = "Malformed body or gzip, or more than 50 events", body = ErrorDoc),
        (status = 401, description = "Request not authorised (see the device headers)", body = ErrorDoc),
        (status = 403, description = "The device is revoked", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not JSON, or an encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn beacons(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<BeaconResponse>> {
    let (device, bytes) =
        crate::api::device_auth(&state, &method, &uri, &headers, &body, true).await?;
    let now = crate::api::now_ms();
    if device.revoked && !device.final_push_open(now) {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "the device is revoked",
        ));
    }
    let req: BeaconRequest = crate::api::parse_json(&bytes)?;
    // As for a push: sequence numbers are signed 64-bit at the office.
    if req.events.iter().any(|e| i64::try_from(e.seq).is_err()) {
        return Err(ApiFailure::bad("malformed", "seq must be below 2^63"));
    }
    if req.events.len() > MAX_BEACON_EVENTS {
        return Err(ApiFailure::bad(
            "too_many_events",
            "at most 50 events in one beacon",
        ));
    }
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
    let mut results = Vec::with_capacity(incoming.len());
    let mut facts = Vec::new();
    let mut started_here: Vec<String> = Vec::new();
    for i in &incoming {
        let fact = fact_of(&device, i, now);
        let allowed = match &fact {
            Some((visit, _)) if started_here.contains(visit) => true,
            Some((visit, f)) => {
                let ok = in_scope(&state, &device, visit, f).await?;
                if ok && matches!(f.what, super::FactKind::Started { .. }) {
                    started_here.push(visit.clone());
                }
                ok
            }
            None => false,
        };
        results.push(BeaconResult {
            id: i.id.clone(),
            outcome: if allowed {
                BeaconOutcome::Applied
            } else {
                BeaconOutcome::Refused
            },
        });
        if allowed {
            facts.extend(fact);
        }
    }
    state.safety.apply(&state.db, facts).await?;
    let acknowledgements = state
        .db
        .safety_acks_for(&device.id)
        .await?
        .into_iter()
        .filter_map(|a| {
            let ack = a.acknowledged?;
            Some(OfficeAck {
                alert_id: a.alert_id,
                visit_id: a.visit_id,
                by: ack.by,
                at_ms: ack.at_ms,
                note: ack.note,
            })
        })
        .collect();
    Ok(Json(BeaconResponse {
        results,
        acknowledgements,
        server_time_ms: now,
    }))
}

/// A beacon may only move a visit this device runs, and start one only
/// for a case in its officer's caseload (the ordered push checks the
/// same and more).
async fn in_scope(state: &AppState, device: &DeviceRow, visit: &str, f: &Fact) -> ApiResult<bool> {
    if let Some(clock) = state.db.safety_clock(visit).await? {
        return Ok(clock.device_id == device.id);
    }
    match &f.what {
        super::FactKind::Started { case_id, .. } => Ok(state
            .db
            .in_audience(crate::ingest::entity::CASE, case_id, &device.officer_id)
            .await?),
        // A visit the office has not seen start: its start is queued
        // behind this on the device, or was refused; an action alone is
        // accepted only for a visit the device itself already logged.
        _ => Ok(state.db.device_has_visit(&device.id, visit).await?),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    all: bool,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    100
}

/// Lone-worker alerts, newest first: the live ones (open or
/// acknowledged), or every one with `all=true`.
#[utoipa::path(get, path = "/v1/office/alerts", tag = "office", security(("officeToken" = [])),
    params(
        ("all" = Option<bool>, Query, description = "Include cleared and resolved alerts"),
        ("limit" = Option<i64>, Query, description = "Page size, clamped to 1..=500 (default 100)"),
        ("offset" = Option<i64>, Query, description = "Alerts to skip (negative counts as 0)"),
    ),
    responses(
        (status = 200, description = "Alerts", body = Vec<Alert>),
        (status = 400, description = "A query that does not parse", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn alerts(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<Alert>>> {
    crate::office::office_auth(&state, &headers)?;
    let Query(q) = query.map_err(|_| ApiFailure::bad("malformed", "query does not parse"))?;
    Ok(Json(
        state
            .db
            .safety_alerts(q.all, q.limit.clamp(1, 500), q.offset.max(0))
            .await?,
    ))
}

/// One alert with its visit's clock, timeline and delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetail {
    /// The alert.
    pub alert: Alert,
    /// Its visit's clock.
    pub clock: Option<VisitClock>,
    /// Everything that happened to the visit's safety, in order.
    pub timeline: Vec<TimelineEntry>,
    /// Every notice delivery attempt for the alert.
    pub deliveries: Vec<Delivery>,
}

/// One alert, its timeline and its delivery log.
#[utoipa::path(get, path = "/v1/office/alerts/{alert_id}", tag = "office", security(("officeToken" = [])),
    params(("alert_id" = String, Path, description = "The alert")),
    responses(
        (status = 200, description = "The alert", body = AlertDetail),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such alert", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn alert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
) -> ApiResult<Json<AlertDetail>> {
    crate::office::office_auth(&state, &headers)?;
    let alert =
        state.db.safety_alert(&alert_id).await?.ok_or_else(|| {
            ApiFailure::new(StatusCode::NOT_FOUND, "unknown_alert", "no such alert")
        })?;
    Ok(Json(AlertDetail {
        clock: state.db.safety_clock(&alert.visit_id).await?,
        timeline: state.db.safety_timeline(&alert.visit_id).await?,
        deliveries: state.db.safety_deliveries(&alert.alert_id).await?,
        alert,
    }))
}

/// An office user's action on an alert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertActionBody {
    /// Who is acting (1 to 200 characters).
    pub by: String,
    /// A note (at most 1,000 characters); an acknowledgement's note is
    /// shown to the officer.
    #[serde(default)]
    pub note: String,
}

async fn act(
    state: &AppState,
    headers: &HeaderMap,
    alert_id: &str,
    body: &Bytes,
    decide: fn(&super::Loaded, &str, &str, &str, i64) -> Result<super::Plan, Refusal>,
) -> ApiResult<Json<Alert>> {
    crate::office::office_auth(state, headers)?;
    let action: AlertActionBody = crate::office::json_body(headers, body)?;
    let Some(found) = state.db.safety_alert(alert_id).await? else {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "unknown_alert",
            "no such alert",
        ));
    };
    let now = state.safety.now();
    let id = alert_id.to_owned();
    let plan = state
        .db
        .safety_mutate(
            &found.visit_id,
            &found.officer_id,
            state.safety.writing(now),
            move |l| decide(l, &id, &action.by, &action.note, now),
        )
        .await?
        .map_err(|r| match r {
            Refusal::NotFound => {
                ApiFailure::new(StatusCode::NOT_FOUND, "unknown_alert", "no such alert")
            }
            Refusal::Conflict(why) => ApiFailure::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("the alert is {why}"),
            ),
            Refusal::Invalid(why) => {
                ApiFailure::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", why)
            }
        })?;
    let alert = plan
        .alerts
        .into_iter()
        .find(|a| a.alert_id == alert_id)
        .ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, "unknown_alert", "no such alert"))?;
    Ok(Json(alert))
}

/// Acknowledges an open alert: recorded with who, when and the note, and
/// sent to the device on its next contact.
#[utoipa::path(post, path = "/v1/office/alerts/{alert_id}/acknowledge", tag = "office", security(("officeToken" = [])),
    params(("alert_id" = String, Path, description = "The alert")),
    request_body = AlertActionBody,
    responses(
        (status = 200, description = "The alert, acknowledged", body = Alert),
        (status = 400, description = "Malformed body", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such alert", body = ErrorDoc),
        (status = 409, description = "Already acknowledged, cleared or resolved", body = ErrorDoc),
        (status = 415, description = "Not JSON", body = ErrorDoc),
        (status = 422, description = "`by` or `note` out of bounds", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn acknowledge(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Alert>> {
    act(&state, &headers, &alert_id, &body, super::acknowledge).await
}

/// Closes an open or acknowledged alert.
#[utoipa::path(post, path = "/v1/office/alerts/{alert_id}/resolve", tag = "office", security(("officeToken" = [])),
    params(("alert_id" = String, Path, description = "The alert")),
    request_body = AlertActionBody,
    responses(
        (status = 200, description = "The alert, resolved", body = Alert),
        (status = 400, description = "Malformed body", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such alert", body = ErrorDoc),
        (status = 409, description = "Already cleared or resolved", body = ErrorDoc),
        (status = 415, description = "Not JSON", body = ErrorDoc),
        (status = 422, description = "`by` or `note` out of bounds", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Alert>> {
    act(&state, &headers, &alert_id, &body, super::resolve).await
}
