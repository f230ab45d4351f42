//! The Safety page: open lone-worker alerts (the latest safety state of
//! each visit is overdue, escalated or an alert, and nobody at the office
//! has acknowledged it), live by server-sent events that read the
//! database on every tick (instances keep nothing in memory), and the
//! acknowledgement with a note by the signed-in safety monitor or manager.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{json, Value};

use super::accounts::{Account, Role};
use super::audit::{self, Action};
use super::data;
use super::pages::field;
use super::sql::{self, Val};
use super::{sessions, Failure, Viewer};
use crate::api::{now_ms, AppState};
use crate::payload::{kinds, safety_status_of};

/// Roles that acknowledge alerts.
pub const ACKNOWLEDGERS: &[Role] = &[
    Role::SafetyMonitor,
    Role::UnpaidWorkManager,
    Role::OffenderManager,
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/safety", get(page))
        .route("/console/safety/list", get(list_fragment))
        .route("/console/safety/live", get(live))
        .route("/console/safety/{event_id}/acknowledge", post(acknowledge))
}

/// An open alert as the page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    /// The safety event that opened it.
    pub event_id: String,
    /// The visit.
    pub visit_id: String,
    /// Status (`overdue`, `escalated`, `alert`).
    pub status: String,
    /// The officer on the visit.
    pub officer: String,
    /// The device.
    pub device: String,
    /// When the device recorded it, ms.
    pub recorded_ms: i64,
    /// The case's CRN and name, when the visit's case is held.
    pub crn: String,
    /// Name.
    pub name: String,
    /// The visit's address, when held.
    pub address: String,
}

/// Open, unacknowledged alerts in `account`'s teams, newest first.
pub async fn open_alerts(db: &crate::db::Db, account: &Account) -> Result<Vec<Alert>, Failure> {
    let acked: std::collections::HashSet<String> =
        sql::query(db, "SELECT event_id FROM console_alert_acks", vec![])
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect();
    let latest = data::current(db, kinds::VISIT_SAFETY).await?;
    let open: Vec<_> = latest
        .into_iter()
        .filter(|e| account.sees(&e.officer_id) && !acked.contains(&e.event_id))
        .filter_map(|e| {
            let status = safety_status_of(&e.payload)?;
            matches!(status.as_str(), "overdue" | "escalated" | "alert").then_some((e, status))
        })
        .collect();
    if open.is_empty() {
        return Ok(vec![]);
    }
    let started: HashMap<String, data::Ev> = data::of_kind(db, kinds::VISIT_STARTED)
        .await?
        .into_iter()
        .filter_map(|e| e.visit_id.clone().map(|v| (v, e)))
        .collect();
    let cases: HashMap<String, data::Item> = data::items(db, "hv_case")
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let mut out: Vec<Alert> = open
        .into_iter()
        .map(|(e, status)| {
            let visit_id = e.visit_id.clone().unwrap_or_default();
            let start = started.get(&visit_id);
            let case = start
                .and_then(|s| s.case_id.as_ref())
                .and_then(|c| cases.get(c));
            let address = case
                .and_then(|c| {
                    let wanted = start
                        .and_then(|s| s.payload.get("address_id"))
                        .and_then(Value::as_str);
                    let list = c.data.get("addresses")?.as_array()?;
                    list.iter()
                        .find(|a| {
                            wanted.is_some_and(|w| a.get("id").and_then(Value::as_str) == Some(w))
                        })
                        .or_else(|| list.first())
                        .and_then(|a| a.get("text"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            Alert {
                event_id: e.event_id.clone(),
                visit_id,
                status,
                officer: e.officer_id.clone(),
                device: e.device_id.clone(),
                recorded_ms: e.recorded_ms,
                crn: case.map(|c| c.s("crn")).unwrap_or_default(),
                name: case.map(|c| c.s("name")).unwrap_or_default(),
                address,
            }
        })
        .collect();
    out.sort_by_key(|a| std::cmp::Reverse(a.recorded_ms));
    Ok(out)
}

async fn recent_acks(db: &crate::db::Db) -> Result<Vec<Value>, Failure> {
    Ok(sql::query(
        db,
        "SELECT k.event_id, k.note, k.at_ms, a.display_name FROM console_alert_acks k
         LEFT JOIN console_accounts a ON a.id = k.account_id ORDER BY k.at_ms DESC LIMIT 20",
        vec![],
    )
    .await?
    .iter()
    .map(|r| json!({"event_id": r.text(0), "note": r.text(1), "at": r.int(2), "by": r.text(3)}))
    .collect())
}

async fn context(state: &AppState, viewer: &Viewer) -> Result<Value, Failure> {
    let alerts = open_alerts(&state.db, &viewer.account).await?;
    if !alerts.is_empty() {
        let crns: Vec<&str> = alerts.iter().map(|a| a.crn.as_str()).collect();
        audit::record(
            &state.db,
            &viewer.account.actor(),
            Action::Consultation,
            "safety alerts",
            &crns.join(","),
            "",
        )
        .await?;
    }
    Ok(json!({
        "alerts": alerts,
        "can_acknowledge": ACKNOWLEDGERS.contains(&viewer.account.role),
        "acks": recent_acks(&state.db).await?,
        "errors": [],
    }))
}

async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, Failure> {
    let ctx = context(&state, &viewer).await?;
    state
        .console
        .views
        .page("safety.html", &viewer, "/console/safety", ctx)
}

async fn list_fragment(State(state): State<AppState>, viewer: Viewer) -> Result<Response, Failure> {
    let ctx = context(&state, &viewer).await?;
    state
        .console
        .views
        .page("safety_list.html", &viewer, "/console/safety", ctx)
}

/// The live stream: an `alerts` event with the open alerts' ids whenever
/// they change (and once at the start), read from the database every
/// tick; `signed-out` and the end of the stream when the session ends.
async fn live(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Response {
    let token = sessions::cookie(&headers, sessions::COOKIE).unwrap_or_default();
    let every = Duration::from_millis(state.console.config.live_poll_ms.max(200));
    let start = (state, viewer.account, token, None::<Vec<String>>, false);
    let stream = futures_util::stream::unfold(
        start,
        move |(state, account, token, last, done)| async move {
            if done {
                return None;
            }
            let mut last = last;
            loop {
                if last.is_some() {
                    tokio::time::sleep(every).await;
                }
                let c = &state.console.config;
                let live = sessions::lookup(
                    &state.db,
                    &token,
                    now_ms(),
                    c.idle_timeout_ms,
                    c.absolute_timeout_ms,
                    false,
                )
                .await
                .ok()
                .flatten();
                if live.is_none() {
                    let ev = Event::default().event("signed-out").data("{}");
                    return Some((Ok::<_, Infallible>(ev), (state, account, token, last, true)));
                }
                let Ok(alerts) = open_alerts(&state.db, &account).await else {
                    continue;
                };
                let ids: Vec<String> = alerts.iter().map(|a| a.event_id.clone()).collect();
                if last.as_ref() != Some(&ids) {
                    let data = json!({"count": ids.len(), "ids": ids}).to_string();
                    let ev = Event::default().event("alerts").data(data);
                    last = Some(ids);
                    return Some((Ok(ev), (state, account, token, last, false)));
                }
            }
        },
    );
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    super::security_headers(r.headers_mut());
    r
}

async fn acknowledge(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ACKNOWLEDGERS)?;
    let alerts = open_alerts(&state.db, &viewer.account).await?;
    let Some(alert) = alerts.iter().find(|a| a.event_id == event_id) else {
        return Err(Failure::Bad(
            "This alert is no longer open: it was acknowledged, or the officer's device has sent a newer state. Nothing was changed.".into(),
        ));
    };
    let note = field(&form, "note");
    if note.is_empty() || note.chars().count() > 1000 {
        let mut ctx = context(&state, &viewer).await?;
        ctx["errors"] = json!([{
            "text": "Enter a note of what was done (up to 1000 characters), for example who called the officer",
            "href": format!("#note-{}", alert.event_id)}]);
        return state
            .console
            .views
            .page("safety.html", &viewer, "/console/safety", ctx);
    }
    let n = sql::exec(
        &state.db,
        "INSERT INTO console_alert_acks (event_id, visit_id, account_id, note, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (event_id) DO NOTHING",
        vec![
            Val::from(&alert.event_id),
            Val::from(&alert.visit_id),
            Val::from(&viewer.account.id),
            Val::from(&note),
            Val::I(now_ms()),
        ],
    )
    .await?;
    if n == 0 {
        return Err(Failure::Bad(
            "This alert was acknowledged by someone else a moment ago. Nothing was changed.".into(),
        ));
    }
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "safety alert acknowledged",
        &alert.crn,
        &alert.event_id,
    )
    .await?;
    Ok(Redirect::to("/console/safety").into_response())
}
