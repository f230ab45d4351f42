//! The Safety page over the office's lone-worker lane ([`crate::safety`]):
//! its live alerts (overdue, escalated or raised on the phone; open or
//! acknowledged), updated by server-sent events that read the database on
//! every tick (instances keep nothing in memory), and the acknowledgement
//! with a note, recorded by the lane as the signed-in safety monitor or
//! manager and sent to the officer's phone.

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
use super::{sessions, Failure, Viewer};
use crate::api::{now_ms, AppState};
use crate::safety::{AlertLevel, AlertStatus};

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
        .route("/console/safety/{alert_id}/acknowledge", post(acknowledge))
}

/// A live alert as the page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shown {
    /// The lane's alert id.
    pub alert_id: String,
    /// `Overdue`, `Escalated`, `Alert`.
    pub level: &'static str,
    /// Open (nobody has it) or acknowledged.
    pub open: bool,
    /// A silent alert: never call or message the phone.
    pub silent: bool,
    /// The officer on the visit.
    pub officer: String,
    /// The device.
    pub device: String,
    /// When it opened (server time), ms.
    pub opened_ms: i64,
    /// The expected finish it was judged against, ms.
    pub expected_finish_ms: i64,
    /// The case's CRN and name, when held.
    pub crn: String,
    /// Name.
    pub name: String,
    /// The case's main address, when held.
    pub address: String,
    /// Who acknowledged it, when, and the note.
    pub acknowledged: Option<Value>,
    /// Whether the device has received the acknowledgement.
    pub device_seen: bool,
}

/// The live alerts (open or acknowledged) of the office's safety lane
/// ([`crate::safety`]) in `account`'s teams, newest first.
pub async fn live_alerts(db: &crate::db::Db, account: &Account) -> Result<Vec<Shown>, Failure> {
    let alerts: Vec<crate::safety::Alert> = db
        .safety_alerts(false, 500, 0)
        .await?
        .into_iter()
        .filter(|a| a.is_live() && account.sees(&a.officer_id))
        .collect();
    if alerts.is_empty() {
        return Ok(vec![]);
    }
    let cases: HashMap<String, data::Item> = data::items(db, "hv_case")
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    Ok(alerts
        .into_iter()
        .map(|a| {
            let case = a.case_id.as_ref().and_then(|c| cases.get(c));
            let address = case
                .and_then(|c| {
                    let list = c.data.get("addresses")?.as_array()?;
                    list.iter()
                        .find(|x| x.get("main").and_then(Value::as_bool) == Some(true))
                        .or_else(|| list.first())
                        .and_then(|x| x.get("text"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            Shown {
                level: match a.level {
                    AlertLevel::Overdue => "Overdue",
                    AlertLevel::Escalated => "Escalated",
                    AlertLevel::Alert => "Alert",
                },
                open: a.status == AlertStatus::Open,
                silent: a.silent,
                officer: a.officer_id.clone(),
                device: a.device_id.clone(),
                opened_ms: a.opened_ms,
                expected_finish_ms: a.expected_finish_ms,
                crn: case.map(|c| c.s("crn")).unwrap_or_default(),
                name: case.map(|c| c.s("name")).unwrap_or_default(),
                address,
                acknowledged: a
                    .acknowledged
                    .as_ref()
                    .map(|k| json!({"by": k.by, "at": k.at_ms, "note": k.note})),
                device_seen: a.device_seen_ms.is_some(),
                alert_id: a.alert_id,
            }
        })
        .collect())
}

async fn context(state: &AppState, viewer: &Viewer) -> Result<Value, Failure> {
    let alerts = live_alerts(&state.db, &viewer.account).await?;
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
    let (open, taken): (Vec<Shown>, Vec<Shown>) = alerts.into_iter().partition(|a| a.open);
    Ok(json!({
        "alerts": open,
        "taken": taken,
        "can_acknowledge": ACKNOWLEDGERS.contains(&viewer.account.role),
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
                let Ok(alerts) = live_alerts(&state.db, &account).await else {
                    continue;
                };
                let ids: Vec<String> = alerts
                    .iter()
                    .filter(|a| a.open)
                    .map(|a| a.alert_id.clone())
                    .collect();
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
    Path(alert_id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ACKNOWLEDGERS)?;
    let gone = || {
        Failure::Bad(
            "This alert is no longer open: someone acknowledged it, or the officer's device cleared it. Nothing was changed.".into(),
        )
    };
    let Some(found) = state.db.safety_alert(&alert_id).await? else {
        return Err(Failure::NotFound);
    };
    if !viewer.account.sees(&found.officer_id) {
        return Err(Failure::NotFound);
    }
    if found.status != AlertStatus::Open {
        return Err(gone());
    }
    let note = field(&form, "note");
    if note.is_empty() || note.chars().count() > 1000 {
        let mut ctx = context(&state, &viewer).await?;
        ctx["errors"] = json!([{
            "text": "Enter a note of what was done (up to 1000 characters), for example who called the officer",
            "href": format!("#note-{alert_id}")}]);
        return state
            .console
            .views
            .page("safety.html", &viewer, "/console/safety", ctx);
    }
    // The lane records who: the signed-in account, never a typed name.
    let by = format!(
        "{} ({})",
        viewer.account.display_name, viewer.account.username
    );
    let now = state.safety.now();
    let id = alert_id.clone();
    let decided = state
        .db
        .safety_mutate(
            &found.visit_id,
            &found.officer_id,
            state.safety.writing(now),
            move |l| crate::safety::acknowledge(l, &id, &by, &note, now),
        )
        .await?;
    match decided {
        Ok(_) => {}
        Err(crate::safety::Refusal::Conflict(_)) => return Err(gone()),
        Err(crate::safety::Refusal::NotFound) => return Err(Failure::NotFound),
        Err(crate::safety::Refusal::Invalid(why)) => return Err(Failure::Bad(why.to_owned())),
    }
    let crn = match &found.case_id {
        Some(c) => data::items(&state.db, "hv_case")
            .await?
            .into_iter()
            .find(|i| &i.id == c)
            .map(|i| i.s("crn"))
            .unwrap_or_default(),
        None => String::new(),
    };
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "safety alert acknowledged",
        &crn,
        &alert_id,
    )
    .await?;
    Ok(Redirect::to("/console/safety").into_response())
}
