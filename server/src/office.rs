//! The office's API: officers and enrolment codes, reference data (one
//! item, or CSV for the first load), device revocation, and reads of what
//! devices have sent (attendance, ledgers, enforcement, visits, alerts,
//! conflicts). Every call needs a scoped API key or the office token
//! (see [`crate::console::apikeys`]), and is written to the office audit log.

use std::collections::{BTreeMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Json;
use fieldbook_core::sync::protocol::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{now_ms, ApiFailure, ApiResult, AppState};
use crate::console::apikeys::Scope;

/// Runs CPU-heavy work (parsing and projecting many stored events,
/// encoding a large answer) on the blocking pool, so the async threads
/// keep serving `/healthz` and ingest meanwhile.
async fn off_executor<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "worker failed",
        )
    })
}

/// A JSON answer encoded off the async threads (it may be large).
async fn big_json<T: Serialize + Send + 'static>(value: T) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let bytes = off_executor(move || serde_json::to_vec(&value))
        .await?
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "cannot encode the answer",
            )
        })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response())
}
use crate::db::{ConflictRow, DeviceInfo, StoredEvent};
use crate::openapi::{EntityDoc, ErrorDoc, OfficerIdText, RecordIdText, RoleDoc};
use crate::payload::{kinds, outcome_of, subject_of};

/// Entities the office can send to devices.
pub const ENTITIES: &[&str] = &[
    "upw_project",
    "upw_session",
    "upw_requirement",
    "upw_appointment",
    "hv_case",
    "hv_scheduled",
];

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_officer))
        .routes(routes!(issue_code))
        .routes(routes!(put_reference, delete_reference))
        .routes(routes!(import_csv))
        .routes(routes!(devices))
        .routes(routes!(revoke))
        .routes(routes!(reset_epoch))
        .routes(routes!(events))
        .routes(routes!(attendance))
        .routes(routes!(ledgers))
        .routes(routes!(enforcement))
        .routes(routes!(visits))
        .routes(routes!(conflicts))
}

/// Whether `id` is an officer id as documented
/// ([`crate::openapi::OFFICER_ID_PATTERN`]).
pub fn valid_officer_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'@' | b'-'))
}

/// SHA-256 of an enrolment code (only the hash is stored).
pub fn code_hash(code: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, code.trim().as_bytes()).as_ref())
}

/// Authenticates an office API call: a scoped API key
/// ([`crate::console::apikeys`]) or the configured office token (one key
/// holding every scope); each call is written to the office audit log with
/// the key's name (reads as disclosures, writes as alterations).
pub(crate) async fn office_key_auth(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
    what: &'static str,
) -> ApiResult<()> {
    use crate::console::apikeys::{self, Check};
    use crate::console::audit::{self, Action};
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let refused = || {
        ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "office_auth",
            "office token or API key required",
        )
    };
    if given.is_empty() {
        return Err(refused());
    }
    let actor = if fieldbook_core::crypto::ct_eq(given.as_bytes(), state.office_token.as_bytes()) {
        "api:office-token".to_owned()
    } else {
        match apikeys::check(&state.db, given, scope, now_ms()).await? {
            Check::Allowed(name) => format!("api:{name}"),
            Check::MissingScope => {
                return Err(ApiFailure::new(
                    StatusCode::FORBIDDEN,
                    "scope",
                    format!("this API key lacks the `{}` scope", scope.as_str()),
                ))
            }
            Check::Refused => return Err(refused()),
        }
    };
    let action = if matches!(scope, Scope::Read | Scope::Evidence) {
        Action::Disclosure
    } else {
        Action::Alteration
    };
    audit::record(&state.db, &actor, action, what, "", "office API").await?;
    Ok(())
}

/// The office token alone (no API keys, no audit entry): kept so a route
/// written against the old check still builds; use [`office_key_auth`],
/// which takes scoped API keys and writes the audit log.
#[allow(dead_code)]
pub(crate) fn office_auth(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !given.is_empty()
        && fieldbook_core::crypto::ct_eq(given.as_bytes(), state.office_token.as_bytes())
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

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<T> {
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

/// An officer as the office sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = Officer)]
struct OfficerBody {
    /// Officer id.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    id: String,
    /// Display name (up to 200 characters).
    #[schema(max_length = 200)]
    name: String,
    /// Role.
    #[schema(value_type = RoleDoc)]
    role: Role,
}

/// Creates or updates an officer.
#[utoipa::path(post, path = "/v1/office/officers", tag = "office", security(("officeToken" = [])),
    request_body = OfficerBody,
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Malformed body, id or name", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not JSON, or an encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn put_officer(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    office_key_auth(&state, &headers, Scope::Devices, "officer").await?;
    let o: OfficerBody = json_body(&headers, &body)?;
    if !valid_officer_id(&o.id) || o.name.chars().count() > 200 {
        return Err(ApiFailure::bad(
            "malformed",
            "officer id 1 to 64 of A-Z a-z 0-9 . _ @ - (starting with a letter or digit), name up to 200 characters",
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

/// A code as the API answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeIssued {
    /// The one-time code (20 hex digits), shown only now.
    pub code: String,
    /// When it stops working, ms since the epoch.
    pub expires_ms: i64,
}

/// Issues a one-time enrolment code (72 hours) for an officer.
#[utoipa::path(post, path = "/v1/office/officers/{id}/enrolment-codes", tag = "office", security(("officeToken" = [])),
    params(("id" = OfficerIdText, Path, description = "Officer id")),
    responses(
        (status = 200, description = "Issued; only its hash is stored", body = CodeIssued),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such officer", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn issue_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<CodeIssued>> {
    office_key_auth(&state, &headers, Scope::Devices, "enrolment code").await?;
    let issued = issue_enrolment_code(&state.db, &id).await?;
    Ok(Json(CodeIssued {
        code: issued.code,
        expires_ms: issued.expires_ms,
    }))
}

/// Validates an item by reading it as the core's own type.
/// Checks a reference item against the core's type and returns it as that
/// type re-serialises it; a field the type does not have is refused.
pub(crate) fn validate(entity: &str, data: &Value) -> ApiResult<Value> {
    use fieldbook_core::home_visits::model as hv;
    use fieldbook_core::unpaid_work::model as upw;
    use fieldbook_core::unpaid_work::validate as rules;
    /// The core's type, then the core's rules for it (the ones the device
    /// applies on import), so nothing a device would refuse is stored.
    fn check<T: serde::de::DeserializeOwned + serde::Serialize>(
        v: &Value,
        rule: Option<fn(&T) -> fieldbook_core::Result<()>>,
    ) -> Result<Value, String> {
        let typed = serde_json::from_value::<T>(v.clone()).map_err(|e| {
            // Keep serde's category, not its quote of the value.
            let text = e.to_string();
            text.split(':').next().unwrap_or("invalid").to_owned()
        })?;
        if let Some(rule) = rule {
            rule(&typed).map_err(|e| match e {
                fieldbook_core::Error::InvalidInput { field, reason } => {
                    format!("{field} {reason}")
                }
                _ => "invalid".to_owned(),
            })?;
        }
        let again = serde_json::to_value(&typed).map_err(|_| "invalid".to_owned())?;
        if let (Some(given), Some(known)) = (v.as_object(), again.as_object()) {
            if let Some(extra) = given.keys().find(|k| !known.contains_key(*k)) {
                return Err(format!("unknown field `{extra}`"));
            }
        }
        Ok(again)
    }
    let result = match entity {
        "upw_project" => check::<upw::Project>(data, Some(rules::project)),
        "upw_session" => check::<upw::WorkSession>(data, Some(rules::session)),
        "upw_requirement" => check::<upw::Requirement>(data, Some(rules::requirement)),
        "upw_appointment" => check::<upw::Appointment>(data, Some(rules::appointment)),
        "hv_case" => check::<hv::Case>(data, None),
        "hv_scheduled" => check::<hv::ScheduledVisit>(data, None),
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

pub(crate) fn check_id(id: &str) -> ApiResult<()> {
    fieldbook_core::ids::RecordId::parse(id)
        .map(|_| ())
        .map_err(|_| ApiFailure::bad("malformed", "id must be 32 lowercase hex digits"))
}

/// A reference item and who receives it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ReferenceItem)]
struct ReferenceBody {
    /// The entity as the core's model (`fieldbook_core::unpaid_work::model`,
    /// `fieldbook_core::home_visits::model`); checked by reading it as that
    /// type, 400 `invalid_reference` when it does not read.
    #[schema(value_type = Object)]
    data: Value,
    /// Officers who receive it.
    audience: Vec<String>,
    /// Officers who receive it restricted (CRN only: name and photo removed).
    #[serde(default)]
    restricted_for: Vec<String>,
}

/// The pull cursor a write was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorAnswer {
    /// Cursor.
    pub cursor: i64,
}

/// Creates or replaces a reference item.
#[utoipa::path(put, path = "/v1/office/reference/{entity}/{id}", tag = "office", security(("officeToken" = [])),
    params(("entity" = EntityDoc, Path, description = "Entity"), ("id" = RecordIdText, Path, description = "Record id")),
    request_body = ReferenceBody,
    responses(
        (status = 200, description = "Stored", body = CursorAnswer),
        (status = 400, description = "Malformed id or body, or data that does not validate as the entity", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such entity", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not JSON, or an encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn put_reference(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<CursorAnswer>> {
    office_key_auth(&state, &headers, Scope::Reference, "reference item").await?;
    known_entity(&entity)?;
    check_id(&id)?;
    let mut item: ReferenceBody = json_body(&headers, &body)?;
    // Stored as the core's type re-serialises it, so a restriction's
    // allowlist sees exactly the type's fields.
    item.data = validate(&entity, &item.data)?;
    let cursor = write_item(&state, &entity, &id, item).await?;
    Ok(Json(CursorAnswer { cursor }))
}

fn known_entity(entity: &str) -> ApiResult<()> {
    if ENTITIES.contains(&entity) {
        Ok(())
    } else {
        Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "unknown_entity",
            "no such entity",
        ))
    }
}

async fn write_item(
    state: &AppState,
    entity: &str,
    id: &str,
    item: ReferenceBody,
) -> ApiResult<i64> {
    let write = ref_write(entity, id, &item.data, &item.audience, &item.restricted_for)?;
    let data = write.data.clone();
    Ok(state
        .db
        .put_reference(entity, id, data, write.audience)
        .await?)
}

/// A validated item as the database writes it: its audience with who of
/// them sees it restricted.
pub(crate) fn ref_write(
    entity: &str,
    id: &str,
    data: &Value,
    audience: &[String],
    restricted_for: &[String],
) -> ApiResult<crate::db::RefWrite> {
    let restricted: HashSet<&String> = restricted_for.iter().collect();
    let audience = audience
        .iter()
        .map(|o| (o.clone(), restricted.contains(o)))
        .collect();
    let data = serde_json::to_string(data).map_err(|_| ApiFailure::bad("malformed", "data"))?;
    Ok(crate::db::RefWrite {
        entity: entity.to_owned(),
        id: id.to_owned(),
        data: Some(data),
        audience,
    })
}

/// Deletes a reference item (devices drop it at their next pull).
#[utoipa::path(delete, path = "/v1/office/reference/{entity}/{id}", tag = "office", security(("officeToken" = [])),
    params(("entity" = EntityDoc, Path, description = "Entity"), ("id" = RecordIdText, Path, description = "Record id")),
    responses(
        (status = 200, description = "Deleted (or never held)", body = CursorAnswer),
        (status = 400, description = "Malformed id", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such entity", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn delete_reference(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
) -> ApiResult<Json<CursorAnswer>> {
    office_key_auth(&state, &headers, Scope::Reference, "reference item").await?;
    known_entity(&entity)?;
    check_id(&id)?;
    let cursor = state.db.put_reference(&entity, &id, None, vec![]).await?;
    Ok(Json(CursorAnswer { cursor }))
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

/// How many items a CSV import stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    /// Rows stored.
    pub imported: usize,
}

/// Imports reference items from CSV: columns `id`, `audience`,
/// `restricted_for` (officer ids separated by `;`), then the entity's
/// fields (`name:json` for JSON cells). Every row is validated first; one
/// bad row rejects the file.
#[utoipa::path(post, path = "/v1/office/import/{entity}", tag = "office", security(("officeToken" = [])),
    params(("entity" = EntityDoc, Path, description = "Entity")),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "Every row stored", body = Imported),
        (status = 400, description = "Not UTF-8 or CSV, or a row that does not validate (nothing stored)", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such entity", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not text/csv", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn import_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(entity): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Imported>> {
    office_key_auth(&state, &headers, Scope::Reference, "reference CSV import").await?;
    known_entity(&entity)?;
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
    let mut rows = rows;
    for (i, (id, data, _, _)) in rows.iter_mut().enumerate() {
        check_id(id).map_err(|_| {
            ApiFailure::bad(
                "malformed",
                format!("row {}: id must be 32 lowercase hex digits", i + 1),
            )
        })?;
        *data = validate(&entity, data).map_err(|_| {
            ApiFailure::bad(
                "invalid_reference",
                format!("row {} does not validate as {entity}", i + 1),
            )
        })?;
    }
    let n = rows.len();
    // One transaction: a storage failure part-way stores no row.
    let writes = rows
        .iter()
        .map(|(id, data, audience, restricted_for)| {
            ref_write(&entity, id, data, audience, restricted_for)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    state.db.put_references(writes, vec![]).await?;
    Ok(Json(Imported { imported: n }))
}

/// Removes what a restricted officer must not see: the name and photo.
pub fn restrict(entity: &str, v: &mut Value) {
    // An allowlist: only these fields reach an officer restricted from the
    // case; anything else (a future `surname` or `aliases`) never does.
    let (allowed, neutral): (&[&str], &[(&str, Value)]) = match entity {
        "upw_requirement" => (
            &[
                "crn",
                "risk_level",
                "registrations",
                "hours_required",
                "minutes_credited_office",
                "ete_minutes_credited_office",
                "adjustments",
                "order_start",
                "order_end",
                "order_ref",
                "warnings",
            ],
            &[("name", Value::Null), ("photo_ref", Value::Null)],
        ),
        "hv_case" => (
            &[
                "crn",
                "addresses",
                "risk_level",
                "registrations",
                "staff_risks",
                "assessment",
                "supervision_start",
                "last_visit",
                "escalation_flagged",
            ],
            &[
                ("name", Value::Null),
                ("known_occupants", Value::Array(vec![])),
            ],
        ),
        _ => return,
    };
    let Some(obj) = v.as_object() else { return };
    let mut out = serde_json::Map::new();
    for key in allowed {
        if let Some(value) = obj.get(*key) {
            out.insert((*key).to_owned(), value.clone());
        }
    }
    for (key, value) in neutral {
        out.insert((*key).to_owned(), value.clone());
    }
    out.insert("restricted".into(), Value::Bool(true));
    *v = Value::Object(out);
}

/// Every enrolled device.
#[utoipa::path(get, path = "/v1/office/devices", tag = "office", security(("officeToken" = [])),
    responses(
        (status = 200, description = "Devices, oldest enrolment first", body = Vec<DeviceInfo>),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn devices(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<DeviceInfo>>> {
    office_key_auth(&state, &headers, Scope::Read, "devices").await?;
    Ok(Json(state.db.devices().await?))
}

/// How to revoke.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = Revoke)]
struct RevokeBody {
    /// Whether the device may push what it holds before it shreds.
    #[serde(default = "yes")]
    #[schema(default = true)]
    final_push_allowed: bool,
    /// How long, in seconds from now, the final push is accepted (default
    /// one day, at most seven); after it every push is refused.
    #[serde(default = "one_day")]
    #[schema(default = 86400, minimum = 0, maximum = 604800)]
    final_push_seconds: u32,
}

fn one_day() -> u32 {
    86_400
}

/// Longest final-push window the office may grant.
const MAX_FINAL_PUSH_SECONDS: u32 = 7 * 86_400;

fn yes() -> bool {
    true
}

/// Revokes a device; at its next sync it pushes (if allowed) and shreds.
#[utoipa::path(post, path = "/v1/office/devices/{id}/revoke", tag = "office", security(("officeToken" = [])),
    params(("id" = String, Path, description = "Device id")),
    request_body(content = Option<RevokeBody>, description = "Optional; `final_push_allowed` defaults to true"),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Malformed body", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 404, description = "No such device", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "A body that is not JSON", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    office_key_auth(&state, &headers, Scope::Devices, "device revocation").await?;
    // No body, or JSON `null`, means the defaults.
    let b: RevokeBody = if body.is_empty() {
        None
    } else {
        json_body::<Option<RevokeBody>>(&headers, &body)?
    }
    .unwrap_or(RevokeBody {
        final_push_allowed: true,
        final_push_seconds: one_day(),
    });
    if b.final_push_seconds > MAX_FINAL_PUSH_SECONDS {
        return Err(ApiFailure::bad(
            "malformed",
            "final_push_seconds is at most 604800",
        ));
    }
    let now = now_ms();
    let until = now.saturating_add(i64::from(b.final_push_seconds) * 1000);
    if state
        .db
        .revoke(&id, b.final_push_allowed, until, now)
        .await?
    {
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

/// The new data epoch.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpochAnswer {
    /// Epoch.
    pub epoch: String,
}

/// Starts a new data epoch: every device drops and refetches its reference data.
#[utoipa::path(post, path = "/v1/office/reset-epoch", tag = "office", security(("officeToken" = [])),
    responses(
        (status = 200, description = "The new epoch", body = EpochAnswer),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn reset_epoch(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<EpochAnswer>> {
    office_key_auth(&state, &headers, Scope::Devices, "epoch reset").await?;
    Ok(Json(EpochAnswer {
        epoch: state.db.new_epoch().await?,
    }))
}

/// A stored event as the office reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfficeEvent {
    /// Event id.
    pub event_id: String,
    /// Device.
    pub device_id: String,
    /// Sequence number on that device.
    pub seq: i64,
    /// Officer.
    pub officer_id: String,
    /// Kind (`upw.outcome_recorded`, `visit.recorded`, …).
    pub kind: String,
    /// Device time, ms.
    pub recorded_ms: i64,
    /// Server time, ms.
    pub received_ms: i64,
    /// The event it corrects.
    pub supersedes: Option<String>,
    /// The captured facts, as the device signed them (any JSON: the
    /// server stores what a newer device sends); on the current-record
    /// reads, an outcome the office corrected in resolving a conflict
    /// carries the office's code and minutes (as the console shows it),
    /// and `office_corrected` says so.
    pub payload: Value,
    /// Why it corrects `supersedes` (null otherwise), as signed.
    pub reason: Value,
    /// Whether this server knows the kind: `false` for a newer phone's
    /// event, which is stored whole and reported here, never mis-read.
    pub known_kind: bool,
    /// Received after the office revoked the device that sent it: the
    /// office should treat it with suspicion (the phone may be lost).
    pub after_revocation: bool,
    /// The payload is not the one the device signed: the office's conflict
    /// resolution laid its code and minutes over it. The signed original
    /// is in `/v1/office/events`, so evidence never mistakes one for the
    /// other.
    pub office_corrected: bool,
}

fn office_event(e: &StoredEvent) -> OfficeEvent {
    let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
    let payload = body.get("payload").cloned().unwrap_or(Value::Null);
    OfficeEvent {
        known_kind: crate::payload::typed(&e.kind, &payload).is_some_and(|p| p.is_known()),
        event_id: e.event_id.clone(),
        device_id: e.device_id.clone(),
        seq: e.seq,
        officer_id: e.officer_id.clone(),
        kind: e.kind.clone(),
        recorded_ms: e.recorded_ms,
        received_ms: e.received_ms,
        supersedes: e.supersedes.clone(),
        payload,
        reason: body.get("reason").cloned().unwrap_or(Value::Null),
        after_revocation: e.after_revocation,
        office_corrected: false,
    }
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

/// Stored events whose kind starts with a prefix, in arrival order.
#[utoipa::path(get, path = "/v1/office/events", tag = "office", security(("officeToken" = [])),
    params(
        ("prefix" = Option<String>, Query, description = "Kind prefix (default: every kind)"),
        ("limit" = Option<i64>, Query, description = "At most this many, clamped to 1..=1000000 (default 100000)"),
    ),
    responses(
        (status = 200, description = "Events", body = Vec<OfficeEvent>),
        (status = 400, description = "A query that does not parse", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<axum::response::Response> {
    office_key_auth(&state, &headers, Scope::Read, "events").await?;
    // Parsed after authentication: an unauthorised caller learns nothing.
    let Query(q): Query<EventsQuery> =
        Query::try_from_uri(&uri).map_err(|_| ApiFailure::bad("malformed", "bad query"))?;
    let events = state
        .db
        .events(&q.prefix, q.limit.clamp(1, 1_000_000))
        .await?;
    let out: Vec<OfficeEvent> =
        off_executor(move || events.iter().map(office_event).collect()).await?;
    big_json(out).await
}

/// A page of a projection: `limit` (1..=10000, default 1000) rows from
/// `offset`.
#[derive(Debug, Clone, Copy, Deserialize)]
struct Page {
    #[serde(default = "page_default")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn page_default() -> i64 {
    1000
}

const PAGE_MAX: i64 = 10_000;

impl Page {
    /// Parsed after authentication, so an unauthorised caller learns nothing.
    fn of(uri: &Uri) -> ApiResult<Page> {
        let Query(p): Query<Page> =
            Query::try_from_uri(uri).map_err(|_| ApiFailure::bad("malformed", "bad query"))?;
        if !(1..=PAGE_MAX).contains(&p.limit) || p.offset < 0 {
            return Err(ApiFailure::bad(
                "malformed",
                "limit must be 1 to 10000 and offset not negative",
            ));
        }
        Ok(p)
    }
}

/// The current event of each subject of a kind, from the projection kept
/// at ingest (never a scan of the event log): one page, or with `None`
/// every page in turn.
async fn current(
    state: &AppState,
    kind: &str,
    key: fn(&crate::payload::Subject) -> Option<String>,
    page: Option<Page>,
) -> ApiResult<BTreeMap<String, OfficeEvent>> {
    let mut events = Vec::new();
    match page {
        Some(p) => events = state.db.current(kind, p.limit, p.offset).await?,
        None => loop {
            let offset = i64::try_from(events.len()).unwrap_or(i64::MAX);
            let more = state.db.current(kind, PAGE_MAX, offset).await?;
            let done = i64::try_from(more.len()).unwrap_or(0) < PAGE_MAX;
            events.extend(more);
            if done {
                break;
            }
        },
    }
    // The office's conflict corrections, as the console reads them (one
    // rule: `console::conflicts::lay_over`).
    let corrections = if kind == kinds::OUTCOME_RECORDED {
        crate::console::conflicts::corrections(&state.db).await?
    } else {
        Default::default()
    };
    let mut views = Vec::with_capacity(events.len());
    for e in &events {
        let mut v = office_event(e);
        if !corrections.is_empty() {
            v.office_corrected = crate::console::conflicts::lay_over(
                &state.db,
                &corrections,
                &mut v.payload,
                // A device event reaches the projection as it arrives, so
                // its own arrival is when the projection took it.
                e.received_ms,
            )
            .await?;
        }
        views.push(v);
    }
    off_executor(move || {
        let mut out = BTreeMap::new();
        for v in views {
            if let Some(k) = key(&subject_of(&v.kind, &v.payload)) {
                out.insert(k, v);
            }
        }
        out
    })
    .await
}

async fn current_outcomes(
    state: &AppState,
    page: Option<Page>,
) -> ApiResult<BTreeMap<String, OfficeEvent>> {
    current(
        state,
        kinds::OUTCOME_RECORDED,
        |s| s.appointment_id.clone(),
        page,
    )
    .await
}

/// The current outcome of every appointment devices recorded.
#[utoipa::path(get, path = "/v1/office/attendance", tag = "office", security(("officeToken" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "At most this many (1..=10000, default 1000)"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Skip this many (default 0)"),
    ),
    responses(
        (status = 200, description = "Outcome events, one per appointment", body = Vec<OfficeEvent>),
        (status = 400, description = "A query that does not parse or is out of range", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn attendance(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<axum::response::Response> {
    office_key_auth(&state, &headers, Scope::Read, "attendance").await?;
    let page = Page::of(&uri)?;
    let out: Vec<OfficeEvent> = current_outcomes(&state, Some(page))
        .await?
        .into_values()
        .collect();
    big_json(out).await
}

/// An enforcement item a device flagged.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnforcementItem {
    /// Appointment.
    pub appointment_id: Option<String>,
    /// Requirement.
    pub requirement_id: Option<String>,
    /// Case reference.
    pub crn: Option<String>,
    /// Outcome code.
    pub code: Option<String>,
    /// The step the device flagged (`warning`, `breach_referral`), as the
    /// device signed it, or the one an office correction of the outcome
    /// carries (see `/v1/office/attendance`).
    pub step: Value,
    /// Whether the device raised an alert, as signed.
    pub raise_alert: Value,
    /// Session date, as signed.
    pub session_date: Value,
    /// The outcome event.
    pub event_id: String,
}

/// Open enforcement items from current outcomes.
#[utoipa::path(get, path = "/v1/office/enforcement", tag = "office", security(("officeToken" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "At most this many (1..=10000, default 1000)"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Skip this many (default 0)"),
    ),
    responses(
        (status = 200, description = "Items", body = Vec<EnforcementItem>),
        (status = 400, description = "A query that does not parse or is out of range", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn enforcement(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<Vec<EnforcementItem>>> {
    office_key_auth(&state, &headers, Scope::Read, "enforcement queue").await?;
    let page = Page::of(&uri)?;
    let items = current_outcomes(&state, Some(page))
        .await?
        .into_values()
        .filter_map(|v| {
            let o = outcome_of(&v.payload);
            if o.enforcement_step.is_null() {
                return None;
            }
            Some(EnforcementItem {
                appointment_id: o.appointment_id,
                requirement_id: o.requirement_id,
                crn: o.crn,
                code: o.code,
                step: o.enforcement_step,
                raise_alert: o.raise_alert,
                session_date: o.session_date,
                event_id: v.event_id,
            })
        })
        .collect();
    Ok(Json(items))
}

/// Minutes devices credited to one requirement.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerRow {
    /// Requirement (or the CRN when an outcome named none).
    pub requirement_id: String,
    /// Case reference.
    pub crn: String,
    /// Sum of the current outcomes' minutes.
    pub minutes_credited_by_devices: i64,
}

/// Minutes credited by devices, per requirement.
#[utoipa::path(get, path = "/v1/office/ledgers", tag = "office", security(("officeToken" = [])),
    responses(
        (status = 200, description = "One row per requirement", body = Vec<LedgerRow>),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn ledgers(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<LedgerRow>>> {
    office_key_auth(&state, &headers, Scope::Read, "ledgers").await?;
    let mut sums: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for v in current_outcomes(&state, None).await?.into_values() {
        let o = outcome_of(&v.payload);
        let crn = o.crn.clone().unwrap_or_default();
        let key = o
            .requirement_id
            .or(o.crn)
            .unwrap_or_else(|| "unknown".to_owned());
        let entry = sums.entry(key).or_insert((0, crn));
        entry.0 += o.minutes_credited;
    }
    Ok(Json(
        sums.into_iter()
            .map(|(requirement_id, (minutes, crn))| LedgerRow {
                requirement_id,
                crn,
                minutes_credited_by_devices: minutes,
            })
            .collect(),
    ))
}

/// The current record of every home visit.
#[utoipa::path(get, path = "/v1/office/visits", tag = "office", security(("officeToken" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "At most this many (1..=10000, default 1000)"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Skip this many (default 0)"),
    ),
    responses(
        (status = 200, description = "Visit records, one per visit", body = Vec<OfficeEvent>),
        (status = 400, description = "A query that does not parse or is out of range", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn visits(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<axum::response::Response> {
    office_key_auth(&state, &headers, Scope::Read, "visits").await?;
    let page = Page::of(&uri)?;
    let out: Vec<OfficeEvent> = current(
        &state,
        kinds::VISIT_RECORDED,
        |s| s.visit_id.clone(),
        Some(page),
    )
    .await?
    .into_values()
    .collect();
    big_json(out).await
}

/// Conflicts between devices (both events are kept).
#[utoipa::path(get, path = "/v1/office/conflicts", tag = "office", security(("officeToken" = [])),
    responses(
        (status = 200, description = "Conflicts, oldest first", body = Vec<ConflictRow>),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn conflicts(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ConflictRow>>> {
    office_key_auth(&state, &headers, Scope::Read, "conflicts").await?;
    Ok(Json(state.db.conflicts().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement() -> Value {
        serde_json::json!({ "crn": "X1", "name": "Secret Name", "restricted": false, "photo_ref": "p",
            "risk_level": "low", "registrations": [], "hours_required": 100, "minutes_credited_office": 0,
            "order_start": "2026-01-01", "order_end": "2027-01-01" })
    }

    #[test]
    fn reference_items_are_the_core_type_and_unknown_fields_are_refused() {
        let stored = validate("upw_requirement", &requirement()).expect("valid");
        // Defaults the type adds are written out; the input's fields kept.
        assert_eq!(stored["crn"], "X1");
        assert_eq!(stored["warnings"], serde_json::json!([]));
        let mut extra = requirement();
        extra["surname"] = "Other".into();
        assert!(
            validate("upw_requirement", &extra).is_err(),
            "unknown field refused"
        );
    }

    #[test]
    fn a_restricted_officer_gets_only_the_allowlisted_fields() {
        let mut v = validate("upw_requirement", &requirement()).expect("valid");
        // Even a field that slipped into storage some other way never passes.
        v["aliases"] = serde_json::json!(["Alias"]);
        restrict("upw_requirement", &mut v);
        assert_eq!(v["name"], Value::Null);
        assert_eq!(v["photo_ref"], Value::Null);
        assert_eq!(v["restricted"], true);
        assert!(v.get("aliases").is_none());
        assert_eq!(v["crn"], "X1");
        // What remains still reads as the core's type on the device.
        let _: fieldbook_core::unpaid_work::model::Requirement =
            serde_json::from_value(v).expect("still a requirement");
    }
    use serde_json::json;

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
