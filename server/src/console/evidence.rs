//! Evidence packs ([`crate::evidence`]) from the console: the form on a person's page (a date
//! range) and on an enforcement item's page (that appointment), a reason
//! and a recipient required, produces the pack as the signed-in account
//! (recorded in the pack audit and in the s.62 log as a disclosure: who,
//! why, for whom, about whom) and shows a page with its two files to
//! download (the PDF and the bundle, which the verifier takes as they
//! are), each download a disclosure in the log too.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::json;

use crate::api::AppState;
use crate::console::accounts::{Account, Role};
use crate::console::audit::{self, Action};
use crate::console::pages::field;
use crate::console::{data, Failure, Viewer};
use crate::evidence::pack::PackRequest;
use crate::payload::{kinds, outcome_of};

/// Who produces and downloads packs (those who see a person's record).
pub const PRODUCERS: &[Role] = &[
    Role::Administrator,
    Role::UnpaidWorkManager,
    Role::OffenderManager,
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/people/{crn}/evidence-pack", post(for_person))
        .route(
            "/console/enforcement/{event_id}/evidence-pack",
            post(for_item),
        )
        .route("/console/evidence-packs/{pack_id}/{file}", get(download))
}

type Fields = Vec<(String, String)>;

/// Whether `account` sees any of the person's records.
async fn sees_person(state: &AppState, account: &Account, crn: &str) -> Result<bool, Failure> {
    use fieldbook_core::vocab::normalise_crn;
    for entity in ["upw_requirement", "hv_case"] {
        let seen = data::visible_items(&state.db, entity, account)
            .await?
            .into_values()
            .any(|i| normalise_crn(&i.s("crn")) == crn);
        if seen {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn produce(
    state: &AppState,
    viewer: &Viewer,
    crn: &str,
    appointment_id: Option<String>,
    form: &Fields,
) -> Result<Response, Failure> {
    let a = &viewer.account;
    let names: Vec<String> = field(form, "redact_names")
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let req = PackRequest {
        crn: crn.to_owned(),
        from: field(form, "from"),
        to: field(form, "to"),
        // The signed-in account, never a typed name.
        produced_by: format!("{} ({})", a.display_name, a.username),
        reason: field(form, "reason"),
        recipient: field(form, "recipient"),
        redact_names: names,
        withhold_sensitive_notes: field(form, "withhold_sensitive_notes") == "yes",
        appointment_id,
    };
    let made = crate::evidence::routes::produce_pack(state, &req).await?;
    let m = &made.manifest;
    audit::record(
        &state.db,
        &a.actor(),
        Action::Disclosure,
        "evidence pack",
        &m.request.crn,
        &format!(
            "{} for {}: {} ({} to {})",
            m.reference, m.request.recipient, m.request.reason, m.request.from, m.request.to
        ),
    )
    .await?;
    state.console.views.page(
        "evidence_pack.html",
        viewer,
        "/console/people",
        json!({
            "pack_id": m.pack_id, "reference": m.reference, "crn": m.request.crn,
            "from": m.request.from, "to": m.request.to, "recipient": m.request.recipient,
            "reason": m.request.reason, "statements": m.statements, "office_key": m.office_key,
        }),
    )
}

async fn for_person(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(crn): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, Failure> {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(PRODUCERS)?;
    let crn = fieldbook_core::vocab::normalise_crn(&crn);
    if !sees_person(&state, &viewer.account, &crn).await? {
        return Err(Failure::NotFound);
    }
    produce(&state, &viewer, &crn, None, &form).await
}

async fn for_item(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, Failure> {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(PRODUCERS)?;
    let Some(e) = data::event(&state.db, &event_id).await? else {
        return Err(Failure::NotFound);
    };
    if e.kind != kinds::OUTCOME_RECORDED || !viewer.account.sees(&e.officer_id) {
        return Err(Failure::NotFound);
    }
    let f = outcome_of(&e.payload);
    let crn = fieldbook_core::vocab::normalise_crn(&f.crn.unwrap_or_default());
    produce(&state, &viewer, &crn, e.appointment_id.clone(), &form).await
}

async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((pack_id, file)): Path<(String, String)>,
) -> Result<Response, Failure> {
    viewer.require(PRODUCERS)?;
    if !crate::evidence::routes::valid_pack_id(&pack_id)
        || !matches!(file.as_str(), "pack.pdf" | "bundle.json")
    {
        return Err(Failure::NotFound);
    }
    let Some(row) = crate::evidence::store::list(&state.db)
        .await?
        .into_iter()
        .find(|r| r.pack_id == pack_id)
    else {
        return Err(Failure::NotFound);
    };
    if !sees_person(&state, &viewer.account, &row.crn).await? {
        return Err(Failure::NotFound);
    }
    let Some((bundle, pdf)) = crate::evidence::store::files(&state.db, &pack_id).await? else {
        return Err(Failure::NotFound);
    };
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Disclosure,
        "evidence pack download",
        &row.crn,
        &format!("{} {file}", row.reference),
    )
    .await?;
    let (content_type, bytes) = if file == "pack.pdf" {
        ("application/pdf", pdf)
    } else {
        ("application/json", bundle.into_bytes())
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-{file}\"", row.reference),
            ),
        ],
        bytes,
    )
        .into_response();
    crate::console::security_headers(r.headers_mut());
    Ok(r)
}
