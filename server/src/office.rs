//! The office's API: officers and enrolment codes, reference data (one
//! item, or CSV for the first load), device revocation, and reads of what
//! devices have sent (attendance, ledgers, enforcement, visits, alerts,
//! conflicts). Every call needs the office's bearer token.

use std::collections::{BTreeMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fieldbook_core::sync::protocol::Role;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{now_ms, ApiFailure, ApiResult, AppState};
use crate::db::StoredEvent;

/// Entities the office can send to devices.
pub const ENTITIES: &[&str] = &[
    "upw_project",
    "upw_session",
    "upw_requirement",
    "upw_appointment",
    "hv_case",
    "hv_scheduled",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/officers", post(put_officer))
        .route("/v1/office/officers/{id}/enrolment-codes", post(issue_code))
        .route(
            "/v1/office/reference/{entity}/{id}",
            put(put_reference).delete(delete_reference),
        )
        .route("/v1/office/import/{entity}", post(import_csv))
        .route("/v1/office/devices", get(devices))
        .route("/v1/office/devices/{id}/revoke", post(revoke))
        .route("/v1/office/reset-epoch", post(reset_epoch))
        .route("/v1/office/events", get(events))
        .route("/v1/office/attendance", get(attendance))
        .route("/v1/office/ledgers", get(ledgers))
        .route("/v1/office/enforcement", get(enforcement))
        .route("/v1/office/visits", get(visits))
        .route("/v1/office/alerts", get(alerts))
        .route("/v1/office/conflicts", get(conflicts))
}

/// SHA-256 of an enrolment code (only the hash is stored).
pub fn code_hash(code: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, code.trim().as_bytes()).as_ref())
}

fn office_auth(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if fieldbook_core::crypto::ct_eq(given.as_bytes(), state.office_token.as_bytes())
        && !given.is_empty()
    {
        Ok(())
    } else {
        Err(ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "office_auth",
            "office token required",
        ))
    }
}

fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    let bytes = crate::api::body_bytes(headers, body, true)?;
    serde_json::from_slice(&bytes).map_err(|e| {
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

#[derive(Debug, Deserialize)]
struct OfficerBody {
    id: String,
    name: String,
    role: Role,
}

async fn put_officer(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    office_auth(&state, &headers)?;
    let o: OfficerBody = json_body(&headers, &body)?;
    if o.id.trim().is_empty() || o.id.len() > 64 || o.name.len() > 200 {
        return Err(ApiFailure::bad(
            "malformed",
            "officer id 1 to 64 characters, name up to 200",
        ));
    }
    state.db.upsert_officer(&o.id, &o.name, o.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A one-time enrolment code as issued (the code itself is shown once).
#[derive(Debug, Clone)]
pub struct IssuedCode {
    /// The code the officer types into the app.
    pub code: String,
    /// When it stops working, ms since the epoch.
    pub expires_ms: i64,
}

/// How long an enrolment code stays valid.
pub const CODE_LIFETIME_MS: i64 = 72 * 3_600_000;

/// Issues a one-time code for `officer_id` (only its hash is stored); the
/// API and the `enrolment-code` command both come here.
pub async fn issue_enrolment_code(db: &crate::db::Db, officer_id: &str) -> ApiResult<IssuedCode> {
    if !db.officer_exists(officer_id).await? {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "unknown_officer",
            "no such officer",
        ));
    }
    let mut raw = [0u8; 10];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw).map_err(|_| {
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "random source failed",
        )
    })?;
    let code = hex::encode(raw).to_uppercase();
    let expires_ms = now_ms() + CODE_LIFETIME_MS;
    db.create_code(officer_id, &code_hash(&code), expires_ms)
        .await?;
    Ok(IssuedCode { code, expires_ms })
}

async fn issue_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    let issued = issue_enrolment_code(&state.db, &id).await?;
    Ok(Json(
        json!({ "code": issued.code, "expires_ms": issued.expires_ms }),
    ))
}

/// Validates an item by reading it as the core's own type.
fn validate(entity: &str, data: &Value) -> ApiResult<()> {
    use fieldbook_core::home_visits::model as hv;
    use fieldbook_core::unpaid_work::model as upw;
    fn check<T: serde::de::DeserializeOwned>(v: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(v.clone())
            .map(|_| ())
            .map_err(|e| {
                // Keep serde's category, not its quote of the value.
                let text = e.to_string();
                text.split(':').next().unwrap_or("invalid").to_owned()
            })
    }
    let result = match entity {
        "upw_project" => check::<upw::Project>(data),
        "upw_session" => check::<upw::WorkSession>(data),
        "upw_requirement" => check::<upw::Requirement>(data),
        "upw_appointment" => check::<upw::Appointment>(data),
        "hv_case" => check::<hv::Case>(data),
        "hv_scheduled" => check::<hv::ScheduledVisit>(data),
        _ => {
            return Err(ApiFailure::new(
                StatusCode::NOT_FOUND,
                "unknown_entity",
                "no such entity",
            ))
        }
    };
    result.map_err(|why| {
        ApiFailure::bad(
            "invalid_reference",
            format!("{entity} does not validate: {why}"),
        )
    })
}

fn check_id(id: &str) -> ApiResult<()> {
    fieldbook_core::ids::RecordId::parse(id)
        .map(|_| ())
        .map_err(|_| ApiFailure::bad("malformed", "id must be 32 lowercase hex digits"))
}

#[derive(Debug, Deserialize)]
struct ReferenceBody {
    data: Value,
    audience: Vec<String>,
    #[serde(default)]
    restricted_for: Vec<String>,
}

async fn put_reference(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    check_id(&id)?;
    let item: ReferenceBody = json_body(&headers, &body)?;
    validate(&entity, &item.data)?;
    let cursor = write_item(&state, &entity, &id, item).await?;
    Ok(Json(json!({ "cursor": cursor })))
}

async fn write_item(
    state: &AppState,
    entity: &str,
    id: &str,
    item: ReferenceBody,
) -> ApiResult<i64> {
    let restricted: HashSet<&String> = item.restricted_for.iter().collect();
    let audience = item
        .audience
        .iter()
        .map(|o| (o.clone(), restricted.contains(o)))
        .collect();
    let data =
        serde_json::to_string(&item.data).map_err(|_| ApiFailure::bad("malformed", "data"))?;
    Ok(state
        .db
        .put_reference(entity, id, Some(data), audience)
        .await?)
}

async fn delete_reference(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    check_id(&id)?;
    if !ENTITIES.contains(&entity.as_str()) {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "unknown_entity",
            "no such entity",
        ));
    }
    let cursor = state.db.put_reference(&entity, &id, None, vec![]).await?;
    Ok(Json(json!({ "cursor": cursor })))
}

/// One CSV row: id, the item, its audience, who sees it restricted.
pub type CsvItem = (String, Value, Vec<String>, Vec<String>);

/// Parses CSV into reference items. Columns: `id`, `audience` and
/// `restricted_for` (officer ids separated by `;`), then the entity's
/// fields; a header ending in `:json` holds JSON (lists, objects, numbers,
/// booleans); an empty cell is omitted.
pub fn parse_csv(text: &str) -> Result<Vec<CsvItem>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| "unreadable header row".to_owned())?
        .clone();
    if !headers.iter().any(|h| h == "id") {
        return Err("an id column is required".into());
    }
    let mut out = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|_| format!("row {} is not valid CSV", line + 1))?;
        let mut obj = Map::new();
        let (mut id, mut audience, mut restricted) = (String::new(), vec![], vec![]);
        for (h, cell) in headers.iter().zip(record.iter()) {
            let list = |c: &str| {
                c.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            match h {
                "id" => id = cell.trim().to_owned(),
                "audience" => audience = list(cell),
                "restricted_for" => restricted = list(cell),
                _ if cell.is_empty() => {}
                _ => {
                    if let Some(name) = h.strip_suffix(":json") {
                        let v: Value = serde_json::from_str(cell)
                            .map_err(|_| format!("row {} column {name}: not JSON", line + 1))?;
                        obj.insert(name.to_owned(), v);
                    } else {
                        obj.insert(h.to_owned(), Value::String(cell.to_owned()));
                    }
                }
            }
        }
        out.push((id, Value::Object(obj), audience, restricted));
    }
    Ok(out)
}

async fn import_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(entity): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected text/csv",
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiFailure::bad("malformed", "CSV must be UTF-8"))?;
    let rows = parse_csv(text).map_err(|why| ApiFailure::bad("malformed", why))?;
    // Validate every row before writing any.
    for (i, (id, data, _, _)) in rows.iter().enumerate() {
        check_id(id).map_err(|_| {
            ApiFailure::bad(
                "malformed",
                format!("row {}: id must be 32 lowercase hex digits", i + 1),
            )
        })?;
        validate(&entity, data).map_err(|_| {
            ApiFailure::bad(
                "invalid_reference",
                format!("row {} does not validate as {entity}", i + 1),
            )
        })?;
    }
    let n = rows.len();
    for (id, data, audience, restricted_for) in rows {
        write_item(
            &state,
            &entity,
            &id,
            ReferenceBody {
                data,
                audience,
                restricted_for,
            },
        )
        .await?;
    }
    Ok(Json(json!({ "imported": n })))
}

/// Removes what a restricted officer must not see: the name and photo.
pub fn restrict(entity: &str, v: &mut Value) {
    if let Some(obj) = v.as_object_mut() {
        if entity == "upw_requirement" || entity == "hv_case" {
            obj.insert("restricted".into(), Value::Bool(true));
            obj.insert("name".into(), Value::Null);
            if obj.contains_key("photo_ref") {
                obj.insert("photo_ref".into(), Value::Null);
            }
        }
    }
}

async fn devices(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    Ok(Json(Value::Array(state.db.devices().await?)))
}

#[derive(Debug, Deserialize)]
struct RevokeBody {
    #[serde(default = "yes")]
    final_push_allowed: bool,
}

fn yes() -> bool {
    true
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    office_auth(&state, &headers)?;
    let b: RevokeBody = if body.is_empty() {
        RevokeBody {
            final_push_allowed: true,
        }
    } else {
        json_body(&headers, &body)?
    };
    if state.db.revoke(&id, b.final_push_allowed, now_ms()).await? {
        tracing::warn!(device = %id, "device revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "unknown_device",
            "no such device",
        ))
    }
}

async fn reset_epoch(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    Ok(Json(json!({ "epoch": state.db.new_epoch().await? })))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    #[serde(default)]
    prefix: String,
    #[serde(default = "big")]
    limit: i64,
}

fn big() -> i64 {
    100_000
}

fn event_json(e: &StoredEvent) -> Value {
    let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
    json!({
        "event_id": e.event_id, "device_id": e.device_id, "seq": e.seq, "officer_id": e.officer_id,
        "kind": e.kind, "recorded_ms": e.recorded_ms, "received_ms": e.received_ms,
        "supersedes": e.supersedes, "payload": body.get("payload").cloned().unwrap_or(Value::Null),
        "reason": body.get("reason").cloned().unwrap_or(Value::Null),
    })
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    let events = state
        .db
        .events(&q.prefix, q.limit.clamp(1, 1_000_000))
        .await?;
    Ok(Json(Value::Array(events.iter().map(event_json).collect())))
}

/// The current (not superseded) events of a kind, keyed by a payload field.
async fn current(state: &AppState, kind: &str, key: &str) -> ApiResult<BTreeMap<String, Value>> {
    let events = state.db.events(kind, 1_000_000).await?;
    let superseded: HashSet<&str> = events
        .iter()
        .filter_map(|e| e.supersedes.as_deref())
        .collect();
    let mut out = BTreeMap::new();
    for e in &events {
        if e.kind != kind || superseded.contains(e.event_id.as_str()) {
            continue;
        }
        let v = event_json(e);
        if let Some(k) = v["payload"][key].as_str() {
            out.insert(k.to_owned(), v);
        }
    }
    Ok(out)
}

async fn attendance(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    Ok(Json(Value::Array(
        current(&state, "upw.outcome_recorded", "appointment_id")
            .await?
            .into_values()
            .collect(),
    )))
}

async fn enforcement(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    let items = current(&state, "upw.outcome_recorded", "appointment_id")
        .await?
        .into_values()
        .filter(|v| !v["payload"]["enforcement_step"].is_null())
        .map(|v| {
            json!({ "appointment_id": v["payload"]["appointment_id"], "requirement_id": v["payload"]["requirement_id"],
                    "crn": v["payload"]["crn"], "code": v["payload"]["code"], "step": v["payload"]["enforcement_step"],
                    "raise_alert": v["payload"]["raise_alert"], "session_date": v["payload"]["session_date"],
                    "event_id": v["event_id"] })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn ledgers(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    let mut sums: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for v in current(&state, "upw.outcome_recorded", "appointment_id")
        .await?
        .into_values()
    {
        let key = v["payload"]["requirement_id"]
            .as_str()
            .or(v["payload"]["crn"].as_str())
            .unwrap_or("unknown")
            .to_owned();
        let entry = sums.entry(key).or_insert((
            0,
            v["payload"]["crn"].as_str().unwrap_or_default().to_owned(),
        ));
        entry.0 += v["payload"]["minutes_credited"].as_i64().unwrap_or(0);
    }
    Ok(Json(Value::Array(
        sums.into_iter()
            .map(|(req, (minutes, crn))| json!({ "requirement_id": req, "crn": crn, "minutes_credited_by_devices": minutes }))
            .collect(),
    )))
}

async fn visits(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    Ok(Json(Value::Array(
        current(&state, "visit.recorded", "visit_id")
            .await?
            .into_values()
            .collect(),
    )))
}

async fn alerts(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    let events = state.db.events("visit.safety", 1_000_000).await?;
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    for e in &events {
        let v = event_json(e);
        if let Some(visit) = v["payload"]["visit_id"].as_str() {
            latest.insert(visit.to_owned(), v);
        }
    }
    let open = latest
        .into_values()
        .filter(|v| {
            matches!(
                v["payload"]["status"].as_str(),
                Some("overdue" | "escalated" | "alert")
            )
        })
        .collect();
    Ok(Json(Value::Array(open)))
}

async fn conflicts(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    office_auth(&state, &headers)?;
    Ok(Json(Value::Array(state.db.conflicts().await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_items() {
        let text = "id,audience,restricted_for,code,name,available_days:json\n\
                    00000000000000000000000000000001,sup-1;sup-2,sup-2,PARK1,Park,\"[\"\"Mon\"\"]\"\n";
        let rows = parse_csv(text).expect("csv");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].2, vec!["sup-1", "sup-2"]);
        assert_eq!(rows[0].3, vec!["sup-2"]);
        assert_eq!(rows[0].1["available_days"][0], "Mon");
        assert!(parse_csv("name\nx\n").is_err());
        assert!(parse_csv("id,x:json\n1,{bad\n").is_err());
    }

    #[test]
    fn restriction_removes_name_and_photo() {
        let mut v = json!({ "crn": "X1", "name": "Secret", "photo_ref": "p", "restricted": false });
        restrict("upw_requirement", &mut v);
        assert_eq!(v["name"], Value::Null);
        assert_eq!(v["photo_ref"], Value::Null);
        assert_eq!(v["restricted"], true);
    }
}
