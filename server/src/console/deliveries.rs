//! The Deliveries page: where each outcome (and home-visit contact) stands
//! on its way to the Community Payback API ([`crate::delivery`]): pending,
//! delivered, retrying with the next attempt's time, or needing attention
//! with the far end's reason; and the needs-attention list with a Retry
//! button, recorded in the audit log as the signed-in account.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::Role;
use super::audit::{self, Action};
use super::data;
use super::pages::field;
use super::{Failure, Viewer};
use crate::api::{now_ms, AppState};
use crate::delivery::outbox::{DeliveryRow, State as DeliveryState};
use crate::payload::{kinds, outcome_of};

/// Who sees deliveries and retries them.
pub const DELIVERY_ROLES: &[Role] = &[Role::Administrator, Role::UnpaidWorkManager];

/// Rows on one page of the full list.
const PAGE: i64 = 100;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/deliveries", get(page))
        .route("/console/deliveries/{event_id}/retry", post(retry))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: i64,
}

/// What one row shows (no request bodies: they hold notes).
async fn shown(
    db: &crate::db::Db,
    rows: Vec<DeliveryRow>,
    people: &HashMap<String, (String, String)>,
) -> Result<Vec<Value>, Failure> {
    let now = now_ms();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let body: Option<fieldbook_core::events::EventBody> = db
            .event_body(&r.event_id)
            .await?
            .and_then(|b| serde_json::from_str(&b).ok());
        let resolution = r.kind == crate::delivery::outbox::RESOLUTION;
        let (what, crn, name, date) = if r.kind == kinds::OUTCOME_RECORDED || resolution {
            let f = body
                .as_ref()
                .map(|b| outcome_of(&b.payload))
                .unwrap_or_default();
            let (crn, name) = people.get(&r.subject).cloned().unwrap_or_default();
            let corrected = body.as_ref().is_some_and(|b| b.supersedes.is_some());
            let what = if resolution {
                "The office's conflict resolution".to_owned()
            } else {
                format!(
                    "{} {}",
                    if corrected { "Correction" } else { "Outcome" },
                    f.code.unwrap_or_default()
                )
            };
            (
                what,
                crn,
                name,
                f.session_date.as_str().unwrap_or_default().to_owned(),
            )
        } else {
            (
                "Home-visit contact".to_owned(),
                String::new(),
                String::new(),
                String::new(),
            )
        };
        let (label, colour) = match r.state {
            DeliveryState::Delivered => ("Delivered", "green"),
            DeliveryState::Attention => ("Needs attention", "red"),
            DeliveryState::Off => ("Not sent", "grey"),
            DeliveryState::Pending if r.attempts > 0 => ("Retrying", "yellow"),
            DeliveryState::Pending => ("Pending", "blue"),
        };
        out.push(json!({
            "event_id": r.event_id, "what": what, "crn": crn, "name": name, "date": date,
            "officer": r.officer_id, "label": label, "colour": colour,
            "attention": r.state == DeliveryState::Attention,
            "retrying": r.state == DeliveryState::Pending && r.attempts > 0,
            // A next attempt already due shows as now.
            "next": r.next_attempt_ms.map(|t| t.max(now)),
            "attempts": r.attempts, "reason": r.reason, "status": r.status_code,
            "updated": r.updated_ms,
        }));
    }
    Ok(out)
}

async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failure> {
    viewer.require(DELIVERY_ROLES)?;
    let db = &state.db;
    let a = &viewer.account;
    // Appointment → (CRN, name), for the rows' people.
    let names: HashMap<String, String> = data::items(db, "upw_requirement")
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r.s("name")))
        .collect();
    let people: HashMap<String, (String, String)> = data::items(db, "upw_appointment")
        .await?
        .into_iter()
        .map(|ap| {
            let name = names
                .get(&ap.s("requirement_id"))
                .cloned()
                .unwrap_or_default();
            (ap.id.clone(), (ap.s("crn"), name))
        })
        .collect();
    let attention: Vec<DeliveryRow> = db
        .deliveries(Some(DeliveryState::Attention), 500, 0)
        .await?
        .into_iter()
        .filter(|r| a.sees(&r.officer_id))
        .collect();
    let page_no = q.page.clamp(0, 10_000);
    let all_rows = db.deliveries(None, PAGE + 1, page_no * PAGE).await?;
    let more = all_rows.len() as i64 > PAGE;
    let all: Vec<DeliveryRow> = all_rows
        .into_iter()
        .take(PAGE as usize)
        .filter(|r| a.sees(&r.officer_id))
        .collect();
    let attention = shown(db, attention, &people).await?;
    let all = shown(db, all, &people).await?;
    let crns: Vec<&str> = attention
        .iter()
        .chain(all.iter())
        .filter_map(|r| r["crn"].as_str())
        .filter(|c| !c.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    audit::record(
        db,
        &a.actor(),
        Action::Consultation,
        "deliveries",
        &crns.join(","),
        &format!("page {page_no}"),
    )
    .await?;
    state.console.views.page(
        "deliveries.html",
        &viewer,
        "/console/deliveries",
        json!({
            "attention": attention, "all": all, "page": page_no,
            "prev": (page_no > 0).then(|| page_no - 1), "next": more.then_some(page_no + 1),
            "configured": state.delivery.is_some(),
        }),
    )
}

async fn retry(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(DELIVERY_ROLES)?;
    let db = &state.db;
    let Some(row) = db.delivery(&event_id).await? else {
        return Err(Failure::NotFound);
    };
    if !viewer.account.sees(&row.officer_id) {
        return Err(Failure::NotFound);
    }
    if !db.delivery_retry(&event_id, now_ms()).await? {
        return Err(Failure::Bad(
            "This delivery no longer needs attention: someone retried it already. Nothing was changed."
                .into(),
        ));
    }
    let crn = data::items(db, "upw_appointment")
        .await?
        .into_iter()
        .find(|i| i.id == row.subject)
        .map(|i| i.s("crn"))
        .unwrap_or_default();
    audit::record(
        db,
        &viewer.account.actor(),
        Action::Alteration,
        "delivery retried",
        &crn,
        &event_id,
    )
    .await?;
    Ok(Redirect::to("/console/deliveries").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::accounts::{self, NewAccount};
    use crate::storage::sql::{st, P};

    /// Each state as the page words it, only the account's teams' rows,
    /// and the Retry form only on what needs attention.
    #[tokio::test]
    async fn each_state_is_shown_with_its_next_attempt_or_reason() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = crate::db::Db::open_sqlite(&dir.path().join("office.db"))
            .await
            .expect("open");
        let later = now_ms() + 3_600_000;
        for (id, officer, state, attempts, next, reason) in [
            ("e1", "sup-1", "pending", 0, 0, None),
            (
                "e2",
                "sup-1",
                "pending",
                2,
                later,
                Some("answered 503 Service Unavailable"),
            ),
            (
                "e3",
                "sup-1",
                "attention",
                1,
                0,
                Some("A newer version of the appointment exists in Delius"),
            ),
            ("e4", "sup-1", "delivered", 1, 0, None),
            ("e5", "sup-2", "attention", 1, 0, Some("another team's")),
        ] {
            db.run_stmts(vec![st(
                "INSERT INTO delivery_outbox (event_id, kind, subject, officer_id, recorded_ms, seq,
                     created_ms, next_attempt_ms, attempts, state, reason, updated_ms)
                 VALUES ($1, 'upw.outcome_recorded', 'a1', $2, 1, 1, 1, $3, $4, $5, $6, 1)",
                vec![
                    P::T(id.into()),
                    P::T(officer.into()),
                    P::I(next),
                    P::I(attempts),
                    P::T(state.into()),
                    P::OT(reason.map(str::to_owned)),
                ],
            )])
            .await
            .expect("row");
        }
        let account = accounts::create(
            &db,
            NewAccount {
                username: "upw".into(),
                display_name: "Uma Manager".into(),
                role: Role::UnpaidWorkManager,
                teams: vec!["sup-1".into()],
                password: Some("a-long-enough-password".into()),
            },
            1,
        )
        .await
        .expect("account");
        let rows: Vec<DeliveryRow> = db
            .deliveries(None, 100, 0)
            .await
            .expect("rows")
            .into_iter()
            .filter(|r| account.sees(&r.officer_id))
            .collect();
        let people = HashMap::from([("a1".to_owned(), ("X1".to_owned(), "Alex".to_owned()))]);
        let all = shown(&db, rows, &people).await.expect("shown");
        let labels: Vec<&str> = all.iter().filter_map(|r| r["label"].as_str()).collect();
        assert_eq!(
            labels,
            ["Pending", "Retrying", "Needs attention", "Delivered"]
        );
        assert_eq!(all[1]["next"], later);
        let viewer = Viewer {
            account,
            csrf: "token".into(),
            session: "s".into(),
        };
        let views = crate::console::view::Views::new(false, false).expect("views");
        let attention: Vec<Value> = all
            .iter()
            .filter(|r| r["attention"] == true)
            .cloned()
            .collect();
        let page = views
            .page(
                "deliveries.html",
                &viewer,
                "/console/deliveries",
                json!({ "attention": attention, "all": all, "page": 0, "prev": null, "next": null, "configured": true }),
            )
            .expect("page");
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("Next attempt"), "{html}");
        assert!(html.contains("(attempt 3); last: answered 503"), "{html}");
        assert!(html.contains("A newer version of the appointment exists in Delius"));
        assert!(
            !html.contains("another team"),
            "other teams' rows are not shown"
        );
        assert_eq!(
            html.matches("/console/deliveries/").count(),
            1,
            "one Retry form"
        );
        assert!(html.contains("/console/deliveries/e3/retry"));
    }
}
