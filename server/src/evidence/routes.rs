//! The office's evidence-pack API: produce a pack (an audited action: who,
//! why, for whom), list what was produced, download a pack's bundle and
//! PDF; and the office's public evidence key for verifiers to pin.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pack::{self, PackError, PackRequest};
use super::store::{self, PackRow};
use crate::api::{now_ms, ApiFailure, ApiResult, AppState};
use crate::console::apikeys::Scope;
use crate::office::{json_body, office_key_auth};
use crate::openapi::{ErrorDoc, RecordIdText};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(produce, list))
        .routes(routes!(bundle))
        .routes(routes!(pdf))
        .routes(routes!(office_key))
}

/// A pack produced.
#[derive(Debug, Serialize, ToSchema)]
struct Produced {
    /// Pack id.
    pack_id: String,
    /// The reference on every page.
    reference: String,
    /// How many statements.
    statements: usize,
    /// The office key that signed the manifest, hex.
    office_key: String,
    /// Where to download the bundle.
    bundle: String,
    /// Where to download the PDF.
    pdf: String,
}

/// The office's evidence key.
#[derive(Debug, Serialize, ToSchema)]
struct OfficeKeyAnswer {
    /// Algorithm.
    algorithm: String,
    /// Public key, hex.
    public_key: String,
}

fn pack_failure(e: PackError) -> ApiFailure {
    match e {
        PackError::Invalid(field, why) => ApiFailure::bad("invalid", format!("{field}: {why}")),
        PackError::Empty => ApiFailure::new(
            StatusCode::NOT_FOUND,
            "no_events",
            "no events about this person in the period",
        ),
        PackError::Failed(why) => {
            tracing::error!(%why, "evidence pack failed");
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the pack could not be produced",
            )
        }
    }
}

/// Produces a pack and records it (who, why, for whom, about whom) with
/// its files; the API and the console both come here.
pub(crate) async fn produce_pack(state: &AppState, req: &PackRequest) -> ApiResult<pack::Made> {
    let (request, rules) = pack::check(req).map_err(pack_failure)?;
    let (links, devices) = store::load(&state.db).await?;
    let office = super::office::load(&state.db, &request.crn).await?;
    let key = state.evidence_key.clone();
    let now = now_ms();
    let made = tokio::task::spawn_blocking(move || {
        pack::make(request, rules, links, devices, Some(office), &key, now)
    })
    .await
    .map_err(|_| {
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "worker failed",
        )
    })?
    .map_err(pack_failure)?;
    let m = &made.manifest;
    let bundle_json = serde_json::to_string_pretty(&made.bundle).map_err(|_| {
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "cannot encode the pack",
        )
    })?;
    let row = PackRow {
        pack_id: m.pack_id.clone(),
        reference: m.reference.clone(),
        created_ms: m.created_ms,
        produced_by: m.request.produced_by.clone(),
        reason: m.request.reason.clone(),
        recipient: m.request.recipient.clone(),
        crn: m.request.crn.clone(),
        from: m.request.from.clone(),
        to: m.request.to.clone(),
    };
    store::insert(&state.db, row, bundle_json, &made.pdf).await?;
    // The audit rows hold who, why and for whom; the log holds ids only.
    tracing::info!(pack = %m.pack_id, statements = m.statements, "evidence pack produced");
    Ok(made)
}

pub(crate) fn valid_pack_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[utoipa::path(post, path = "/v1/office/evidence-packs", tag = "office", security(("officeToken" = [])),
    request_body = PackRequest,
    responses(
        (status = 201, description = "Produced and recorded in the audit", body = Produced),
        (status = 400, description = "Malformed or invalid request", body = ErrorDoc),
        (status = 401, description = "Office token or API key missing or wrong", body = ErrorDoc),
        (status = 403, description = "The API key lacks the evidence scope", body = ErrorDoc),
        (status = 404, description = "No events about this person in the period", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
        (status = 415, description = "Not JSON, or an encoding other than gzip", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn produce(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Produced>)> {
    office_key_auth(&state, &headers, Scope::Evidence, "evidence pack").await?;
    let req: PackRequest = json_body(&headers, &body)?;
    let made = produce_pack(&state, &req).await?;
    let m = &made.manifest;
    Ok((
        StatusCode::CREATED,
        Json(Produced {
            bundle: format!("/v1/office/evidence-packs/{}/bundle.json", m.pack_id),
            pdf: format!("/v1/office/evidence-packs/{}/pack.pdf", m.pack_id),
            pack_id: m.pack_id.clone(),
            reference: m.reference.clone(),
            statements: m.statements,
            office_key: m.office_key.clone(),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/office/evidence-packs", tag = "office", security(("officeToken" = [])),
    responses(
        (status = 200, description = "Every pack produced: who, why, for whom, about whom", body = [PackRow]),
        (status = 401, description = "Office token or API key missing or wrong", body = ErrorDoc),
        (status = 403, description = "The API key lacks the evidence scope", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Vec<PackRow>>> {
    office_key_auth(&state, &headers, Scope::Evidence, "evidence pack list").await?;
    Ok(Json(store::list(&state.db).await?))
}

async fn files(state: &AppState, headers: &HeaderMap, id: &str) -> ApiResult<(String, Vec<u8>)> {
    office_key_auth(state, headers, Scope::Evidence, "evidence pack download").await?;
    if !valid_pack_id(id) {
        return Err(ApiFailure::bad(
            "malformed",
            "a pack id is 32 lower-case hex digits",
        ));
    }
    store::files(&state.db, id)
        .await?
        .ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, "unknown_pack", "no such pack"))
}

#[utoipa::path(get, path = "/v1/office/evidence-packs/{id}/bundle.json", tag = "office", security(("officeToken" = [])),
    params(("id" = RecordIdText, Path, description = "Pack id (32 lower-case hex digits)")),
    responses(
        (status = 200, description = "The bundle (signed events, device keys, signed manifest)", content_type = "application/json"),
        (status = 400, description = "Malformed id", body = ErrorDoc),
        (status = 401, description = "Office token or API key missing or wrong", body = ErrorDoc),
        (status = 403, description = "The API key lacks the evidence scope", body = ErrorDoc),
        (status = 404, description = "No such pack", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn bundle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (bundle, _) = files(&state, &headers, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"evidence-{id}.json\""),
            ),
        ],
        bundle,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/office/evidence-packs/{id}/pack.pdf", tag = "office", security(("officeToken" = [])),
    params(("id" = RecordIdText, Path, description = "Pack id (32 lower-case hex digits)")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf"),
        (status = 400, description = "Malformed id", body = ErrorDoc),
        (status = 401, description = "Office token or API key missing or wrong", body = ErrorDoc),
        (status = 403, description = "The API key lacks the evidence scope", body = ErrorDoc),
        (status = 404, description = "No such pack", body = ErrorDoc),
        (status = 503, description = "Storage unavailable; retry", body = ErrorDoc),
    ))]
async fn pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (_, pdf) = files(&state, &headers, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"evidence-{id}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/evidence/office-key", tag = "service",
    responses(
        (status = 200, description = "The office's public evidence key, for verifiers to pin", body = OfficeKeyAnswer),
    ))]
async fn office_key(State(state): State<AppState>) -> Json<OfficeKeyAnswer> {
    Json(OfficeKeyAnswer {
        algorithm: "Ed25519".into(),
        public_key: state.evidence_key.public_hex(),
    })
}
