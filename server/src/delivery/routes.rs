//! The office's view of deliveries to the system of record: what needs
//! attention and why, each delivery's attempts, a retry once the cause is
//! fixed, and the links from Fieldbook appointments to nDelius ones.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::console::apikeys::Scope;

use super::outbox::{Attempt, DeliveryRow, State as DeliveryState};
use super::AppointmentLink;
use crate::api::{ApiFailure, ApiResult, AppState};
use crate::openapi::ErrorDoc;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(retry))
        .routes(routes!(link))
        .routes(routes!(import_links))
        .routes(routes!(import_reference))
}

fn import_failure(e: super::links::ImportError) -> ApiFailure {
    use super::links::ImportError;
    match e {
        ImportError::Invalid(why) => {
            ApiFailure::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", why)
        }
        ImportError::Far(_) => ApiFailure::new(StatusCode::BAD_GATEWAY, "far_end", e.to_string()),
        ImportError::Rejected(_) => {
            ApiFailure::new(StatusCode::BAD_GATEWAY, "invalid_reference", e.to_string())
        }
        ImportError::Storage => ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "storage is unavailable; retry",
        ),
    }
}

fn configured(state: &AppState) -> ApiResult<&super::worker::DeliveryService> {
    state.delivery.as_deref().ok_or_else(|| {
        ApiFailure::new(
            StatusCode::CONFLICT,
            "not_configured",
            "no Community Payback API is configured",
        )
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: Option<DeliveryState>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    100
}

/// Deliveries to the Community Payback API (and contacts), oldest first;
/// `state=attention` is the "needs attention" list.
#[utoipa::path(get, path = "/v1/office/deliveries", tag = "office", security(("officeToken" = [])),
    params(
        ("state" = Option<DeliveryState>, Query, description = "pending, delivered, attention or off"),
        ("limit" = Option<i64>, Query, description = "Page size, clamped to 1..=500 (default 100)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (negative counts as 0)"),
    ),
    responses(
        (status = 200, description = "Deliveries", body = Vec<DeliveryRow>),
        (status = 400, description = "A query that does not parse", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<DeliveryRow>>> {
    crate::office::office_key_auth(&state, &headers, Scope::Read, "deliveries").await?;
    let Query(q) = query.map_err(|_| ApiFailure::bad("malformed", "query does not parse"))?;
    Ok(Json(
        state
            .db
            .deliveries(q.state, q.limit.clamp(1, 500), q.offset.max(0))
            .await?,
    ))
}

/// One delivery's attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

/// Every attempt at one event's delivery.
#[utoipa::path(get, path = "/v1/office/deliveries/{event_id}", tag = "office", security(("officeToken" = [])),
    params(("event_id" = String, Path, description = "The event")),
    responses(
        (status = 200, description = "Attempts", body = DeliveryDetail),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
) -> ApiResult<Json<DeliveryDetail>> {
    crate::office::office_key_auth(&state, &headers, Scope::Read, "delivery").await?;
    Ok(Json(DeliveryDetail {
        attempts: state.db.delivery_attempts(&event_id).await?,
    }))
}

/// Sends a delivery that needed attention again (after the office fixed
/// the cause: a link, a reference list, the record at the far end).
#[utoipa::path(post, path = "/v1/office/deliveries/{event_id}/retry", tag = "office", security(("officeToken" = [])),
    params(("event_id" = String, Path, description = "The event")),
    responses(
        (status = 204, description = "Queued again"),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 409, description = "It does not need attention", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
) -> ApiResult<StatusCode> {
    crate::office::office_key_auth(&state, &headers, Scope::Reference, "delivery retry").await?;
    if state
        .db
        .delivery_retry(&event_id, crate::api::now_ms())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiFailure::new(
            StatusCode::CONFLICT,
            "not_waiting",
            "that delivery does not need attention",
        ))
    }
}

/// Links a Fieldbook appointment to its nDelius appointment (id, version,
/// project code), as the far end's reference data gives them.
#[utoipa::path(put, path = "/v1/office/integration/appointments/{appointment_id}", tag = "office", security(("officeToken" = [])),
    params(("appointment_id" = String, Path, description = "Fieldbook's appointment id (32 hex digits)")),
    request_body = AppointmentLink,
    responses(
        (status = 204, description = "Linked"),
        (status = 400, description = "Malformed body", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 415, description = "Not JSON", body = ErrorDoc),
        (status = 422, description = "A field out of bounds", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(appointment_id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    crate::office::office_key_auth(
        &state,
        &headers,
        Scope::Reference,
        "nDelius appointment link",
    )
    .await?;
    let link: AppointmentLink = crate::office::json_body(&headers, &body)?;
    let invalid =
        |why: &'static str| ApiFailure::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", why);
    if fieldbook_core::ids::RecordId::parse(&appointment_id).is_err() {
        return Err(invalid("appointment_id: 32 hex digits"));
    }
    if link.delius_id <= 0 {
        return Err(invalid("delius_id: a positive number"));
    }
    let code_ok = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !code_ok(&link.delius_version, 64) {
        return Err(invalid("delius_version: letters, digits and hyphens"));
    }
    if !code_ok(&link.project_code, 32) {
        return Err(invalid("project_code: letters, digits and hyphens"));
    }
    state
        .db
        .link_appointment(&appointment_id, &link, crate::api::now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links Fieldbook's appointments to nDelius's from the Community Payback
/// API (a team and up to 31 days): matched by project code, date and CRN;
/// every read happens before anything is written.
#[utoipa::path(post, path = "/v1/office/integration/import-links", tag = "office", security(("officeToken" = [])),
    request_body = super::links::LinkImport,
    responses(
        (status = 200, description = "What was linked, and what was not", body = super::links::LinkReport),
        (status = 400, description = "Malformed body", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 409, description = "No Community Payback API is configured", body = ErrorDoc),
        (status = 415, description = "Not JSON", body = ErrorDoc),
        (status = 422, description = "Team code or dates out of bounds", body = ErrorDoc),
        (status = 502, description = "The Community Payback API could not be read; nothing changed", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn import_links(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<super::links::LinkReport>> {
    crate::office::office_key_auth(&state, &headers, Scope::Reference, "nDelius link import")
        .await?;
    let req: super::links::LinkImport = crate::office::json_body(&headers, &body)?;
    configured(&state)?
        .import_links(&state.db, &req)
        .await
        .map(Json)
        .map_err(import_failure)
}

/// Imports projects, sessions, allocations and people from the Community
/// Payback API (a team and up to 31 days), through the same validation as
/// the CSV import, with each appointment's nDelius link, in one
/// transaction: a far end that fails part-way, or one record that does not
/// validate, changes nothing. People Fieldbook holds no requirement for are
/// reported (their order dates and risk level come by CSV).
#[utoipa::path(post, path = "/v1/office/integration/import-reference", tag = "office", security(("officeToken" = [])),
    request_body = super::links::LinkImport,
    responses(
        (status = 200, description = "What was imported", body = super::reference::ReferenceReport),
        (status = 400, description = "Malformed body", body = ErrorDoc),
        (status = 401, description = "Office token missing or wrong", body = ErrorDoc),
        (status = 403, description = "The API key lacks the reference scope", body = ErrorDoc),
        (status = 409, description = "No Community Payback API is configured", body = ErrorDoc),
        (status = 415, description = "Not JSON", body = ErrorDoc),
        (status = 422, description = "Team code or dates out of bounds", body = ErrorDoc),
        (status = 502, description = "The Community Payback API could not be read, or sent a record that does not validate; nothing changed", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn import_reference(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<super::reference::ReferenceReport>> {
    crate::office::office_key_auth(&state, &headers, Scope::Reference, "reference import").await?;
    let req: super::links::LinkImport = crate::office::json_body(&headers, &body)?;
    configured(&state)?
        .import_reference(&state.db, &req)
        .await
        .map(Json)
        .map_err(import_failure)
}
