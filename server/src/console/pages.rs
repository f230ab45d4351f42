//! The console's pages and forms: sign-in and sign-out, Today, Enforcement
//! (evidence and decisions), Conflicts (versions and resolutions), Reports,
//! People (ledger, attendance, visits), Devices
//! (enrolment codes, revocation), Reference data (CSV import with a
//! preview), Accounts and API keys, and the Audit log. Every read of
//! personal data and every change is written to the audit log.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{json, Value};

use super::accounts::{self, NewAccount, Role, SignIn};
use super::apikeys::{self, Scope};
use super::audit::{self, Action};
use super::conflicts;
use super::data::{self, Ev};
use super::reports;
use super::sessions;
use super::{same_origin, Failure, Viewer};
use crate::api::{now_ms, AppState};
use crate::payload::{kinds, outcome_of};

type Page = Result<Response, Failure>;
type Fields = Vec<(String, String)>;

/// The value of form field `name` (empty when absent).
pub fn field(form: &Fields, name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

fn all(form: &Fields, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

const MANAGERS: &[Role] = &[
    Role::Administrator,
    Role::UnpaidWorkManager,
    Role::OffenderManager,
];
const DECIDERS: &[Role] = &[Role::UnpaidWorkManager, Role::OffenderManager];
const ADMIN: &[Role] = &[Role::Administrator];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/today") }))
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/today") }),
        )
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/sign-out-everywhere", post(sign_out_everywhere))
        .route("/console/today", get(today))
        .route("/console/enforcement", get(enforcement))
        .route(
            "/console/enforcement/{event_id}",
            get(enforcement_item).post(decide),
        )
        .route("/console/conflicts", get(conflicts))
        .route(
            "/console/conflicts/{subject}",
            get(conflict_item).post(resolve_conflict),
        )
        .route("/console/visits", get(super::visits::list))
        .route("/console/visits/{case_id}", get(super::visits::case))
        .route("/console/reports", get(reports_page))
        .route("/console/reports/{report}/download", get(report_csv))
        .route("/console/people", get(people))
        .route("/console/people/{crn}", get(person))
        .route("/console/devices", get(devices))
        .route("/console/devices/codes", post(issue_code))
        .route(
            "/console/devices/{id}/revoke",
            get(revoke_page).post(revoke),
        )
        .route("/console/reference", get(reference))
        .route("/console/reference/import", post(import))
        .route("/console/reference/{entity}", get(reference_list))
        .route(
            "/console/reference/{entity}/{id}",
            get(reference_item).post(save_reference_item),
        )
        .route("/console/accounts", get(accounts_page).post(create_account))
        .route("/console/accounts/{id}/unlock", post(unlock))
        .route("/console/api-keys", post(create_key))
        .route("/console/api-keys/{id}/revoke", post(revoke_key))
        .route("/console/audit", get(audit_page))
        .route("/console/{*rest}", get(|| async { Failure::NotFound }))
}

fn redirect_with_cookies(to: &str, cookies: &[String]) -> Response {
    let mut r = Redirect::to(to).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

// ---------- sign-in ----------

#[derive(Debug, serde::Deserialize)]
struct SignInQuery {
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    sso_error: Option<String>,
}

async fn sign_in_page(State(state): State<AppState>, Query(q): Query<SignInQuery>) -> Page {
    let token = super::random_token(16)?;
    let notice = if q.sso_error.is_some() {
        Some("Single sign-on did not complete. Try again, or sign in with your password.")
    } else if q.expired.is_some() {
        Some("Your session has ended. Sign in again to continue.")
    } else {
        None
    };
    let mut r = state.console.views.public(
        "sign_in.html",
        json!({ "pre": token, "notice": notice, "errors": [], "username": "" }),
    )?;
    let c = sessions::set_cookie(
        sessions::PRE_COOKIE,
        &token,
        state.console.config.secure_cookies,
        Some(1800),
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    same_origin(&headers)?;
    let pre = sessions::cookie(&headers, sessions::PRE_COOKIE).unwrap_or_default();
    let given = field(&form, "pre");
    if pre.is_empty() || !fieldbook_core::crypto::ct_eq(pre.as_bytes(), given.as_bytes()) {
        return Err(Failure::Csrf);
    }
    let username = field(&form, "username");
    let password = form
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let render_error = |errors: Value| {
        state.console.views.public(
            "sign_in.html",
            json!({ "pre": pre, "errors": errors, "username": username }),
        )
    };
    if username.is_empty() || password.is_empty() {
        let mut errors = vec![];
        if username.is_empty() {
            errors.push(json!({"text": "Enter your username", "href": "#username"}));
        }
        if password.is_empty() {
            errors.push(json!({"text": "Enter your password", "href": "#password"}));
        }
        return render_error(Value::Array(errors));
    }
    let now = now_ms();
    match accounts::sign_in(&state.db, &username, &password, now).await? {
        SignIn::Ok(account) => {
            let token = sessions::create(&state.db, &account.id, now).await?;
            audit::record(
                &state.db,
                &account.actor(),
                Action::Security,
                "sign-in",
                &account.username,
                "password",
            )
            .await?;
            let secure = state.console.config.secure_cookies;
            Ok(redirect_with_cookies(
                "/console/today",
                &[
                    sessions::set_cookie(sessions::COOKIE, &token, secure, None),
                    sessions::set_cookie(sessions::PRE_COOKIE, "", secure, Some(0)),
                ],
            ))
        }
        SignIn::Refused => render_error(json!([{
            "text": "Enter a correct username and password", "href": "#username"}])),
        SignIn::Locked(until) => {
            audit::record(
                &state.db,
                &format!("account:{username}"),
                Action::Security,
                "sign-in locked out",
                &username,
                "",
            )
            .await?;
            render_error(json!([{
                "text": format!(
                    "This account is locked after {} failed sign-in attempts. Try again after {} (UTC), or ask an administrator to unlock it",
                    accounts::MAX_FAILED_LOGINS,
                    super::view::fmt_time(until)
                ),
                "href": "#username"}]))
        }
    }
}

async fn sign_out(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    sessions::end(&state.db, &viewer.session).await?;
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Security,
        "sign-out",
        &viewer.account.username,
        "",
    )
    .await?;
    Ok(redirect_with_cookies(
        "/console/sign-in",
        &[sessions::set_cookie(
            sessions::COOKIE,
            "",
            state.console.config.secure_cookies,
            Some(0),
        )],
    ))
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    let n = sessions::end_all(&state.db, &viewer.account.id).await?;
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Security,
        "sign-out everywhere",
        &viewer.account.username,
        &format!("{n} sessions ended"),
    )
    .await?;
    Ok(redirect_with_cookies(
        "/console/sign-in",
        &[sessions::set_cookie(
            sessions::COOKIE,
            "",
            state.console.config.secure_cookies,
            Some(0),
        )],
    ))
}

// ---------- Today ----------

/// Sessions the Today page shows.
const TODAY_SESSIONS: usize = 30;

fn today_date() -> String {
    chrono::Local::now().date_naive().to_string()
}

async fn today(State(state): State<AppState>, viewer: Viewer) -> Page {
    let db = &state.db;
    let a = &viewer.account;
    let today = today_date();
    // The 30 sessions shown (today's first, then the latest), read along
    // the date index, and only what they name: never the whole year.
    let list = data::visible_latest(db, "upw_session", "date", &today, a, TODAY_SESSIONS).await?;
    let ids = |xs: &mut dyn Iterator<Item = String>| {
        let mut v: Vec<String> = xs.collect();
        v.sort();
        v.dedup();
        v
    };
    let session_ids = ids(&mut list.iter().map(|s| s.id.clone()));
    let appointments = data::items_where(db, "upw_appointment", "session_id", &session_ids).await?;
    let appointment_ids = ids(&mut appointments.iter().map(|ap| ap.id.clone()));
    let projects: HashMap<_, _> = data::items_by_id(
        db,
        "upw_project",
        &ids(&mut list.iter().map(|s| s.s("project_id"))),
    )
    .await?
    .into_iter()
    .map(|p| (p.id.clone(), p))
    .collect();
    let requirements: HashMap<_, _> = data::items_by_id(
        db,
        "upw_requirement",
        &ids(&mut appointments.iter().map(|ap| ap.s("requirement_id"))),
    )
    .await?
    .into_iter()
    .map(|r| (r.id.clone(), r))
    .collect();
    let outcomes: HashMap<String, Ev> =
        data::current_for(db, kinds::OUTCOME_RECORDED, &appointment_ids)
            .await?
            .into_iter()
            .filter_map(|e| e.appointment_id.clone().map(|k| (k, e)))
            .collect();
    let arrivals: HashMap<String, Ev> = data::of_kind_for_appointments(
        db,
        fieldbook_core::events::kinds::UPW_ARRIVED,
        &appointment_ids,
    )
    .await?
    .into_iter()
    .filter_map(|e| e.appointment_id.clone().map(|k| (k, e)))
    .collect();
    let mut out = vec![];
    let mut subjects = vec![];
    for s in &list {
        subjects.push(s.id.clone());
        let mut rows = vec![];
        let (mut on_site, mut done, mut minutes) = (0, 0, 0i64);
        for ap in appointments.iter().filter(|ap| ap.s("session_id") == s.id) {
            let req = requirements.get(&ap.s("requirement_id"));
            let name = req.map(|r| r.s("name")).unwrap_or_default();
            let (status, code, credited, by, at) = match outcomes.get(&ap.id) {
                Some(o) => {
                    let f = outcome_of(&o.payload);
                    done += 1;
                    minutes += f.minutes_credited;
                    (
                        "Outcome recorded",
                        f.code.unwrap_or_default(),
                        f.minutes_credited,
                        o.officer_id.clone(),
                        o.recorded_ms,
                    )
                }
                None => match arrivals.get(&ap.id) {
                    Some(e) => {
                        on_site += 1;
                        (
                            "On site",
                            String::new(),
                            0,
                            e.officer_id.clone(),
                            e.recorded_ms,
                        )
                    }
                    None => ("Expected", String::new(), 0, String::new(), 0),
                },
            };
            rows.push(json!({
                "crn": ap.s("crn"), "name": name, "status": status, "code": code,
                "minutes": credited, "by": by, "at": at,
            }));
        }
        rows.sort_by(|x, y| x["crn"].as_str().cmp(&y["crn"].as_str()));
        let project = projects.get(&s.s("project_id"));
        out.push(json!({
            "id": s.id, "date": s.s("date"), "is_today": s.s("date") == today,
            "project": project.map(|p| p.s("name")).unwrap_or_else(|| "Unknown project".into()),
            "project_code": project.map(|p| p.s("code")).unwrap_or_default(),
            "start": s.s("planned_start"), "end": s.s("planned_end"), "supervisor": s.s("supervisor_id"),
            "rows": rows, "on_site": on_site, "done": done, "minutes": minutes, "expected": rows.len(),
        }));
    }
    let devices: Vec<Value> = db
        .devices()
        .await?
        .into_iter()
        .filter(|d| a.sees(&d.officer_id))
        .map(|d| {
            json!({
                "officer": d.officer_id, "label": d.label, "last_sync": d.last_sync_ms,
                "revoked": d.revoked_ms.is_some(),
            })
        })
        .collect();
    audit::record(
        db,
        &a.actor(),
        Action::Consultation,
        "roll calls (Today)",
        &subjects.join(","),
        "",
    )
    .await?;
    state.console.views.page(
        "today.html",
        &viewer,
        "/console/today",
        json!({ "sessions": out, "devices": devices, "today": today }),
    )
}

// ---------- Enforcement ----------

/// Decisions an office can take on an enforcement item.
pub const DECISIONS: &[(&str, &str)] = &[
    ("warning_given", "Warning given"),
    ("breach_referral", "Breach referral"),
    ("no_further_action", "No further action"),
    ("outcome_downgraded", "Outcome downgraded"),
    ("absence_accepted", "Absence accepted"),
];

/// How an item a conflict correction took out of the queue shows.
const CLOSED_LABEL: &str = "Closed by a conflict resolution";

fn decision_label(d: &str) -> &'static str {
    DECISIONS
        .iter()
        .find(|(k, _)| *k == d)
        .map_or("Unknown", |(_, l)| l)
}

async fn decisions_by_event(
    db: &crate::db::Db,
) -> Result<HashMap<String, super::sql::Row>, Failure> {
    Ok(super::sql::query(
        db,
        "SELECT event_id, decision, decision_date, note, account_id, at_ms FROM console_decisions",
        vec![],
    )
    .await?
    .into_iter()
    .map(|r| (r.text(0), r))
    .collect())
}

async fn enforcement(State(state): State<AppState>, viewer: Viewer) -> Page {
    viewer.require(MANAGERS)?;
    let db = &state.db;
    let a = &viewer.account;
    let decided = decisions_by_event(db).await?;
    let names = requirement_names(db).await?;
    let accounts_: HashMap<String, String> = accounts::list(db)
        .await?
        .into_iter()
        .map(|x| (x.id, x.display_name))
        .collect();
    let (mut open, mut closed) = (vec![], vec![]);
    for e in data::current(db, kinds::OUTCOME_RECORDED).await? {
        if !a.sees(&e.officer_id) {
            continue;
        }
        let f = outcome_of(&e.payload);
        // Corrected away from an enforceable code: closed with the
        // resolution's reason.
        let closed_by = e.payload.get(conflicts::CLOSED_BY).and_then(Value::as_str);
        if f.enforcement_step.is_null() && closed_by.is_none() {
            continue;
        }
        if let Some(reason) = closed_by {
            closed.push(json!({
                "event_id": e.event_id, "crn": f.crn, "code": f.code,
                "name": f.requirement_id.as_ref().and_then(|r| names.get(r)).cloned().unwrap_or_default(),
                "decision": format!("{CLOSED_LABEL}: {reason}"), "decided_by": Value::Null,
            }));
            continue;
        }
        let item = json!({
            "event_id": e.event_id, "crn": f.crn, "code": f.code,
            "name": f.requirement_id.as_ref().and_then(|r| names.get(r)).cloned().unwrap_or_default(),
            "step": step_label(&f.enforcement_step), "date": f.session_date,
            "by": e.officer_id, "recorded": e.recorded_ms,
            "decision": decided.get(&e.event_id).map(|d| decision_label(&d.text(1))),
            "decision_date": decided.get(&e.event_id).and_then(|d| d.opt_text(2)),
            "decided_by": decided.get(&e.event_id).and_then(|d| accounts_.get(&d.text(4))).cloned(),
        });
        if decided.contains_key(&e.event_id) {
            closed.push(item);
        } else {
            open.push(item);
        }
    }
    audit::record(
        db,
        &a.actor(),
        Action::Consultation,
        "enforcement queue",
        "",
        &format!("{} open", open.len()),
    )
    .await?;
    state.console.views.page(
        "enforcement.html",
        &viewer,
        "/console/enforcement",
        json!({ "open": open, "closed": closed }),
    )
}

fn step_label(v: &Value) -> String {
    match v.as_str() {
        Some("warning_or_referral") => "Warning or referral".into(),
        Some("breach_referral") => "Breach referral".into(),
        Some("warning") => "Warning".into(),
        Some(other) => other.replace('_', " "),
        None => String::new(),
    }
}

async fn item_context(
    state: &AppState,
    viewer: &Viewer,
    event_id: &str,
) -> Result<(Ev, Value), Failure> {
    let db = &state.db;
    let Some(mut e) = data::event(db, event_id).await? else {
        return Err(Failure::NotFound);
    };
    // The item as the office holds it: a conflict correction in force on
    // the current outcome is laid over it (one rule, `data::current`).
    if let Some(ap) = e.appointment_id.clone() {
        if let Some(cur) = data::current_one(db, kinds::OUTCOME_RECORDED, &ap).await? {
            if cur.event_id == e.event_id {
                e.payload = cur.payload;
            }
        }
    }
    let f = outcome_of(&e.payload);
    let closed_by = e
        .payload
        .get(conflicts::CLOSED_BY)
        .and_then(Value::as_str)
        .map(str::to_owned);
    if e.kind != kinds::OUTCOME_RECORDED
        || (f.enforcement_step.is_null() && closed_by.is_none())
        || !viewer.account.sees(&e.officer_id)
    {
        return Err(Failure::NotFound);
    }
    let name = match &f.requirement_id {
        Some(r) => data::item(db, "upw_requirement", r)
            .await?
            .map(|i| i.s("name"))
            .unwrap_or_default(),
        None => String::new(),
    };
    let evidence: Vec<Value> = match &e.appointment_id {
        Some(ap) => data::for_appointment(db, ap)
            .await?
            .into_iter()
            .map(|x| json!({
                "event_id": x.event_id, "kind": x.kind, "officer": x.officer_id, "device": x.device_id,
                "seq": x.seq, "recorded": x.recorded_ms, "received": x.received_ms,
                "signature": x.signature.chars().take(16).collect::<String>(),
            }))
            .collect(),
        None => vec![],
    };
    let decided = decisions_by_event(db).await?;
    let decision = match closed_by {
        Some(reason) => Some(json!({ "label": CLOSED_LABEL, "date": Value::Null, "note": reason })),
        None => decided.get(&e.event_id).map(|d| json!({
            "label": decision_label(&d.text(1)), "date": d.opt_text(2), "note": d.text(3), "at": d.int(5),
        })),
    };
    let ctx = json!({
        "event_id": e.event_id, "crn": f.crn, "name": name, "code": f.code, "step": step_label(&f.enforcement_step),
        "session_date": f.session_date, "minutes": f.minutes_credited, "by": e.officer_id, "device": e.device_id,
        "recorded": e.recorded_ms, "evidence": evidence, "decision": decision,
        "decisions": DECISIONS.iter().map(|(k, l)| json!({"value": k, "label": l})).collect::<Vec<_>>(),
        "can_decide": DECIDERS.contains(&viewer.account.role),
        "errors": [], "form": {},
    });
    Ok((e, ctx))
}

async fn enforcement_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(event_id): Path<String>,
) -> Page {
    viewer.require(MANAGERS)?;
    let (e, ctx) = item_context(&state, &viewer, &event_id).await?;
    let crn = outcome_of(&e.payload).crn.unwrap_or_default();
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Consultation,
        "enforcement evidence",
        &crn,
        &e.event_id,
    )
    .await?;
    state.console.views.page(
        "enforcement_item.html",
        &viewer,
        "/console/enforcement",
        ctx,
    )
}

fn parse_date(day: &str, month: &str, year: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(DECIDERS)?;
    let (e, mut ctx) = item_context(&state, &viewer, &event_id).await?;
    if !ctx["decision"].is_null() {
        return Err(Failure::Bad(
            "This item has already been decided; a decision is not changed here.".into(),
        ));
    }
    let decision = field(&form, "decision");
    let note = field(&form, "note");
    let mut errors = vec![];
    if !DECISIONS.iter().any(|(k, _)| *k == decision) {
        errors.push(json!({"text": "Select a decision", "href": "#decision"}));
    }
    let mut date = None;
    if decision == "warning_given" {
        match parse_date(&field(&form, "warning-day"), &field(&form, "warning-month"), &field(&form, "warning-year")) {
            Some(d) if d <= chrono::Local::now().date_naive()
                && d >= chrono::Local::now().date_naive() - chrono::Duration::days(365) => date = Some(d),
            Some(_) => errors.push(json!({"text": "The date the warning was given must be today or in the past 12 months", "href": "#warning-day"})),
            None => errors.push(json!({"text": "Enter the date the warning was given, for example 2 12 2026", "href": "#warning-day"})),
        }
    }
    if note.chars().count() > 1000 {
        errors.push(json!({"text": "The note must be 1000 characters or fewer", "href": "#note"}));
    } else if note.is_empty()
        && matches!(
            decision.as_str(),
            "no_further_action" | "outcome_downgraded" | "absence_accepted"
        )
    {
        errors.push(json!({"text": "Enter a note saying why", "href": "#note"}));
    }
    if !errors.is_empty() {
        ctx["errors"] = Value::Array(errors);
        ctx["form"] = json!({
            "decision": decision, "note": note, "day": field(&form, "warning-day"),
            "month": field(&form, "warning-month"), "year": field(&form, "warning-year"),
        });
        return state.console.views.page(
            "enforcement_item.html",
            &viewer,
            "/console/enforcement",
            ctx,
        );
    }
    let f = outcome_of(&e.payload);
    let crn = f.crn.clone().unwrap_or_default();
    // A warning reaches the devices as reference data: the requirement's
    // `warnings` gain the date, so the statutory step counts it.
    if let (Some(d), Some(req_id)) = (date, f.requirement_id.as_ref()) {
        let Some(item) = data::item(&state.db, "upw_requirement", req_id).await? else {
            return Err(Failure::Bad("The requirement this outcome counts towards is no longer held, so the warning cannot reach devices.".into()));
        };
        let mut value = item.data.clone();
        let mut warnings: Vec<Value> = value
            .get("warnings")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let text = Value::String(d.to_string());
        if !warnings.contains(&text) {
            warnings.push(text);
        }
        value["warnings"] = Value::Array(warnings);
        let value = crate::office::validate("upw_requirement", &value)?;
        let restricted: std::collections::HashSet<&String> = item.restricted_for.iter().collect();
        let audience = item
            .audience
            .iter()
            .map(|o| (o.clone(), restricted.contains(o)))
            .collect();
        let text = serde_json::to_string(&value).map_err(|_| Failure::Storage)?;
        state
            .db
            .put_reference("upw_requirement", req_id, Some(text), audience)
            .await?;
    }
    let id = super::random_token(16)?;
    let inserted = super::sql::exec(
        &state.db,
        "INSERT INTO console_decisions (id, event_id, appointment_id, requirement_id, crn, decision, decision_date, note, account_id, at_ms)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE NOT EXISTS (SELECT 1 FROM console_decisions WHERE event_id = ?2)",
        vec![
            super::sql::Val::from(&id), super::sql::Val::from(&e.event_id),
            super::sql::Val::from(e.appointment_id.clone().unwrap_or_default()),
            super::sql::Val::from(f.requirement_id.clone()), super::sql::Val::from(&crn),
            super::sql::Val::from(&decision), super::sql::Val::from(date.map(|d| d.to_string())),
            super::sql::Val::from(&note), super::sql::Val::from(&viewer.account.id), super::sql::Val::I(now_ms()),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(Failure::Bad(
            "This item has already been decided; a decision is not changed here.".into(),
        ));
    }
    let detail = match date {
        Some(d) => format!("{decision} dated {d}"),
        None => decision.clone(),
    };
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "enforcement decision",
        &crn,
        &detail,
    )
    .await?;
    Ok(Redirect::to(&format!("/console/enforcement/{}", e.event_id)).into_response())
}

// ---------- Conflicts ----------

/// How one field of an outcome version reads.
type FieldOf =
    Box<dyn Fn(&fieldbook_core::events::payload::OutcomeRecorded) -> String + Send + Sync>;

/// Who resolves conflicts.
const RESOLVERS: &[Role] = &[Role::Administrator, Role::UnpaidWorkManager];

/// Whether the viewer's teams hold a record: any of its versions is
/// their work.
fn sees_record(a: &accounts::Account, r: &conflicts::Record) -> bool {
    a.sees_any(r.versions.iter().map(|v| v.officer_id.as_str()))
}

async fn requirement_names(db: &crate::db::Db) -> Result<HashMap<String, String>, Failure> {
    Ok(data::items(db, "upw_requirement")
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r.s("name")))
        .collect())
}

fn record_summary(r: &conflicts::Record, names: &HashMap<String, String>) -> Value {
    let f = r
        .versions
        .first()
        .map(|v| outcome_of(&v.payload))
        .unwrap_or_default();
    json!({
        "subject": r.subject, "crn": f.crn, "date": f.session_date,
        "name": f.requirement_id.as_ref().and_then(|x| names.get(x)).cloned().unwrap_or_default(),
        "versions": r.versions.len(), "first": r.first_ms, "last": r.last_ms, "resolved": r.resolved_ms,
    })
}

/// Records with a conflict, one line each: open ones, then resolved ones
/// (kept as history).
async fn conflicts(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> Page {
    viewer.require(MANAGERS)?;
    let db = &state.db;
    let a = &viewer.account;
    let names = requirement_names(db).await?;
    let (mut open, mut resolved) = (vec![], vec![]);
    for r in conflicts::records(db).await? {
        if r.versions.len() < 2 || !sees_record(a, &r) {
            continue;
        }
        if r.open() {
            open.push(record_summary(&r, &names));
        } else {
            resolved.push(record_summary(&r, &names));
        }
    }
    let (open_page, open_pager) = paged(open, q.page, "/console/conflicts?page=");
    let (resolved_page, resolved_pager) = paged(
        resolved,
        q.resolved_page,
        "/console/conflicts?resolved_page=",
    );
    audit::record(
        db,
        &a.actor(),
        Action::Consultation,
        "conflicts",
        "",
        &format!("{} open records", open_pager["total"]),
    )
    .await?;
    state.console.views.page(
        "conflicts.html",
        &viewer,
        "/console/conflicts",
        json!({ "open": open_page, "open_pager": open_pager, "resolved": resolved_page, "resolved_pager": resolved_pager }),
    )
}

/// Every version of one record side by side, its resolutions, and the
/// form that resolves it.
async fn conflict_context(
    state: &AppState,
    viewer: &Viewer,
    subject: &str,
) -> Result<(conflicts::Record, Value), Failure> {
    let db = &state.db;
    let Some(r) = conflicts::record(db, subject).await? else {
        return Err(Failure::NotFound);
    };
    if r.versions.len() < 2 || !sees_record(&viewer.account, &r) {
        return Err(Failure::NotFound);
    }
    let names = requirement_names(db).await?;
    let current = data::current_one(db, kinds::OUTCOME_RECORDED, subject).await?;
    let accounts_: HashMap<String, String> = accounts::list(db)
        .await?
        .into_iter()
        .map(|x| (x.id, format!("{} ({})", x.display_name, x.username)))
        .collect();
    let typed: Vec<Option<fieldbook_core::events::payload::OutcomeRecorded>> = r
        .versions
        .iter()
        .map(
            |v| match crate::payload::typed(kinds::OUTCOME_RECORDED, &v.payload) {
                Some(fieldbook_core::events::Payload::Outcome(o)) => Some(*o),
                _ => None,
            },
        )
        .collect();
    let time = |s: &Option<fieldbook_core::vocab::Stamp>| {
        s.map(|s| s.local_minute().format("%H:%M").to_string())
            .unwrap_or_else(|| "-".into())
    };
    let rating = |x: &fieldbook_core::unpaid_work::model::Rating| {
        serde_json::to_value(x)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default()
    };
    let fields: Vec<(&str, FieldOf)> = vec![
        (
            "Outcome",
            Box::new(|o| {
                let d = fieldbook_core::unpaid_work::codes::outcome(&o.code)
                    .map(|c| c.description)
                    .unwrap_or("");
                format!("{} {}", o.code, d).trim().to_owned()
            }),
        ),
        (
            "Credited",
            Box::new(|o| super::view::fmt_hours(o.minutes_credited)),
        ),
        ("Arrived", Box::new(move |o| time(&o.arrival))),
        ("Left", Box::new(move |o| time(&o.departure))),
        (
            "Penalty",
            Box::new(|o| super::view::fmt_hours(o.penalty_minutes)),
        ),
        ("Work quality", Box::new(move |o| rating(&o.work_quality))),
        ("Behaviour", Box::new(move |o| rating(&o.behaviour))),
        (
            "Flagged step",
            Box::new(|o| {
                step_label(&serde_json::to_value(o.enforcement_step).unwrap_or(Value::Null))
            }),
        ),
        (
            "Notes",
            Box::new(|o| {
                if o.sensitive {
                    "Sensitive: not shown here".into()
                } else {
                    o.notes.clone()
                }
            }),
        ),
    ];
    let rows: Vec<Value> = fields
        .iter()
        .map(|(label, f)| {
            let values: Vec<String> = typed
                .iter()
                .map(|o| {
                    o.as_ref()
                        .map(f.as_ref())
                        .unwrap_or_else(|| "Unreadable".into())
                })
                .collect();
            let differs = values.iter().any(|x| Some(x) != values.first());
            json!({"label": label, "values": values, "differs": differs})
        })
        .collect();
    let versions: Vec<Value> = r
        .versions
        .iter()
        .map(|v| {
            json!({
                "event_id": v.event_id, "officer": v.officer_id, "device": v.device_id,
                "recorded": v.recorded_ms, "received": v.received_ms,
                "current": current.as_ref().is_some_and(|c| c.event_id == v.event_id),
            })
        })
        .collect();
    let history: Vec<Value> = conflicts::history(db, subject)
        .await?
        .into_iter()
        .map(|p| {
            let what = match (&p.chosen_event, &p.code) {
                (Some(e), _) => {
                    let n = r.versions.iter().position(|v| &v.event_id == e).map_or(0, |i| i + 1);
                    format!("Chose version {n} (device {})", r.versions.get(n.wrapping_sub(1)).map(|v| v.device_id.as_str()).unwrap_or("no longer held"))
                }
                (None, Some(c)) => format!("Corrected to {c}, {}", super::view::fmt_hours(p.minutes.unwrap_or(0))),
                (None, None) => "Resolved".into(),
            };
            json!({"what": what, "reason": p.reason, "at": p.at_ms, "by": accounts_.get(&p.account_id).cloned().unwrap_or_else(|| p.account_id.clone())})
        })
        .collect();
    let f = current
        .as_ref()
        .map(|c| outcome_of(&c.payload))
        .unwrap_or_default();
    let summary = record_summary(&r, &names);
    let ctx = json!({
        "subject": subject, "crn": summary["crn"], "name": summary["name"], "date": summary["date"],
        "open": r.open(), "versions": versions, "rows": rows, "history": history,
        "current": {"code": f.code, "minutes": f.minutes_credited},
        "codes": fieldbook_core::unpaid_work::codes::OUTCOME_CODES.iter()
            .map(|c| json!({"value": c.code, "label": format!("{} – {}", c.code, c.description)})).collect::<Vec<_>>(),
        "can_resolve": RESOLVERS.contains(&viewer.account.role),
        "errors": [], "form": {},
    });
    Ok((r, ctx))
}

async fn conflict_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(subject): Path<String>,
) -> Page {
    viewer.require(MANAGERS)?;
    let (_, ctx) = conflict_context(&state, &viewer, &subject).await?;
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Consultation,
        "conflict versions",
        ctx["crn"].as_str().unwrap_or_default(),
        &subject,
    )
    .await?;
    state
        .console
        .views
        .page("conflict.html", &viewer, "/console/conflicts", ctx)
}

/// Resolves a record: a version chosen or the values corrected, with a
/// reason; an audited office decision (alteration).
async fn resolve_conflict(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(subject): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(RESOLVERS)?;
    let (r, mut ctx) = conflict_context(&state, &viewer, &subject).await?;
    if !r.open() {
        return Err(Failure::Bad(
            "This conflict has already been resolved; nothing was changed.".into(),
        ));
    }
    let asked = conflicts::Asked {
        choice: field(&form, "choice"),
        code: field(&form, "code"),
        minutes: field(&form, "minutes"),
        reason: field(&form, "reason"),
    };
    let resolution = match conflicts::check(&r.versions, &asked) {
        Ok(x) => x,
        Err(problems) => {
            ctx["errors"] = Value::Array(
                problems
                    .iter()
                    .map(|(f, t)| json!({"text": t, "href": format!("#{f}")}))
                    .collect(),
            );
            ctx["form"] = json!({"choice": asked.choice, "code": asked.code, "minutes": asked.minutes, "reason": asked.reason});
            ctx["form_errors"] = problems
                .iter()
                .map(|(f, t)| (f.to_string(), json!(t)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            return state
                .console
                .views
                .page("conflict.html", &viewer, "/console/conflicts", ctx);
        }
    };
    if !conflicts::resolve(
        &state.db,
        &subject,
        &resolution,
        &r.versions,
        &viewer.account.id,
        now_ms(),
    )
    .await?
    {
        return Err(Failure::Bad(
            "This conflict has just been resolved by someone else; nothing was changed.".into(),
        ));
    }
    let detail = match &resolution.method {
        conflicts::Method::Choose(e) => {
            let d = r
                .versions
                .iter()
                .find(|v| &v.event_id == e)
                .map(|v| v.device_id.clone())
                .unwrap_or_default();
            format!("chose event {e} from device {d}")
        }
        conflicts::Method::Correct { code, minutes } => {
            format!("corrected to {code}, {minutes} min")
        }
    };
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "conflict resolved",
        ctx["crn"].as_str().unwrap_or_default(),
        &detail,
    )
    .await?;
    Ok(Redirect::to(&format!("/console/conflicts/{subject}?resolved=1")).into_response())
}

// ---------- Reports ----------

/// Who reads reports.
const REPORTERS: &[Role] = &[
    Role::Administrator,
    Role::UnpaidWorkManager,
    Role::OffenderManager,
];

fn date_fields(q: &HashMap<String, String>, prefix: &str) -> reports::DateFields {
    let get = |k: &str| q.get(&format!("{prefix}-{k}")).cloned().unwrap_or_default();
    reports::DateFields {
        day: get("day"),
        month: get("month"),
        year: get("year"),
    }
}

/// The outcomes the account's teams recorded, as the reports count them
/// (the office's current version of each, with its decision).
async fn counted_outcomes(
    db: &crate::db::Db,
    a: &accounts::Account,
) -> Result<Vec<reports::Counted>, Failure> {
    let sessions_: HashMap<String, data::Item> = data::items(db, "upw_session")
        .await?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let projects: HashMap<String, String> = data::items(db, "upw_project")
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p.s("name")))
        .collect();
    let decided = decisions_by_event(db).await?;
    let mut out = vec![];
    for e in data::current(db, kinds::OUTCOME_RECORDED).await? {
        if !a.sees(&e.officer_id) {
            continue;
        }
        let f = outcome_of(&e.payload);
        let Some(date) = f
            .session_date
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        let project = e
            .session_id
            .as_ref()
            .and_then(|s| sessions_.get(s))
            .and_then(|s| projects.get(&s.s("project_id")))
            .cloned()
            .unwrap_or_else(|| "Unknown project".into());
        out.push(reports::Counted {
            date,
            project,
            code: f.code.unwrap_or_default(),
            minutes: f.minutes_credited,
            step: step_label(&f.enforcement_step),
            decision: decided
                .get(&e.event_id)
                .map(|d| decision_label(&d.text(1)).to_owned())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

fn range_query(r: &reports::Range) -> String {
    use chrono::Datelike;
    format!(
        "from-day={}&from-month={}&from-year={}&to-day={}&to-month={}&to-year={}",
        r.from.day(),
        r.from.month(),
        r.from.year(),
        r.to.day(),
        r.to.month(),
        r.to.year()
    )
}

/// The reports page: a date range, then each report's chart, table and
/// CSV link.
async fn reports_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Page {
    viewer.require(REPORTERS)?;
    let today = chrono::Local::now().date_naive();
    let (from, to) = (date_fields(&q, "from"), date_fields(&q, "to"));
    let range = match reports::check_range(&from, &to, today) {
        Ok(r) => r,
        Err(problems) => {
            let errors: Vec<Value> = problems
                .iter()
                .map(|(f, t)| json!({"text": t, "href": format!("#{f}")}))
                .collect();
            let form_errors: serde_json::Map<String, Value> = problems
                .iter()
                .map(|(f, t)| (f.to_string(), json!(t)))
                .collect();
            return state.console.views.page(
                "reports.html",
                &viewer,
                "/console/reports",
                json!({"errors": errors, "form_errors": form_errors, "from": from, "to": to, "report": null}),
            );
        }
    };
    let f = reports::figures(&counted_outcomes(&state.db, &viewer.account).await?, range);
    let fmt = super::view::fmt_hours;
    let by_week: Vec<(String, i64, String)> = f
        .hours_by_week
        .iter()
        .map(|(w, m)| (format!("Week of {w}"), *m, fmt(*m)))
        .collect();
    let by_project: Vec<(String, i64, String)> = f
        .hours_by_project
        .iter()
        .map(|(p, m)| (p.clone(), *m, fmt(*m)))
        .collect();
    let attendance: Vec<(String, i64, String)> = reports::CATEGORIES
        .iter()
        .map(|c| {
            let n = f.attendance_total.get(c).copied().unwrap_or(0);
            ((*c).to_owned(), n, n.to_string())
        })
        .collect();
    let enforcement: Vec<(String, i64, String)> = f
        .enforcement_by_state
        .iter()
        .map(|(s, n)| (s.clone(), *n, n.to_string()))
        .collect();
    let q = range_query(&range);
    let ctx = json!({
        "errors": [], "form_errors": {}, "from": reports::DateFields::of(range.from), "to": reports::DateFields::of(range.to),
        "report": {
            "from": range.from.to_string(), "to": range.to.to_string(), "query": q,
            "hours_week_chart": reports::bar_chart("hours-week", &format!("Hours credited by week, {} to {}", range.from, range.to), &by_week),
            "hours_project_chart": reports::bar_chart("hours-project", &format!("Hours credited by project, {} to {}", range.from, range.to), &by_project),
            "hours": f.hours.iter().map(|((p, w), m)| json!({"project": p, "week": w.to_string(), "minutes": m})).collect::<Vec<_>>(),
            "hours_total": f.hours_by_week.values().sum::<i64>(),
            "attendance_chart": reports::bar_chart("attendance", &format!("Attendance outcomes, {} to {}", range.from, range.to), &attendance),
            "attendance_header": reports::attendance_header(), "attendance": reports::attendance_rows(&f),
            "enforcement_chart": reports::bar_chart("enforcement", &format!("Enforcement items by state, {} to {}", range.from, range.to), &enforcement),
            "enforcement": reports::enforcement_rows(&f),
        },
    });
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Consultation,
        "reports",
        "",
        &format!("{} to {}", range.from, range.to),
    )
    .await?;
    state
        .console
        .views
        .page("reports.html", &viewer, "/console/reports", ctx)
}

/// One report as a CSV download.
async fn report_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(report): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Page {
    viewer.require(REPORTERS)?;
    let today = chrono::Local::now().date_naive();
    let range = reports::check_range(&date_fields(&q, "from"), &date_fields(&q, "to"), today)
        .map_err(|p| Failure::Bad(p.into_iter().map(|x| x.1).collect::<Vec<_>>().join(". ")))?;
    let f = reports::figures(&counted_outcomes(&state.db, &viewer.account).await?, range);
    let (name, body) = match report.as_str() {
        "hours" => (
            "hours-by-project-and-week",
            reports::csv(reports::HOURS_HEADER, &reports::hours_rows(&f)),
        ),
        "attendance" => (
            "attendance-by-week",
            reports::csv(&reports::attendance_header(), &reports::attendance_rows(&f)),
        ),
        "enforcement" => (
            "enforcement-by-state",
            reports::csv(reports::ENFORCEMENT_HEADER, &reports::enforcement_rows(&f)),
        ),
        _ => return Err(Failure::NotFound),
    };
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Disclosure,
        "report CSV download",
        name,
        &format!("{} to {}", range.from, range.to),
    )
    .await?;
    let mut r = body.into_response();
    let h = r.headers_mut();
    super::security_headers(h);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"{name}-{}-to-{}.csv\"",
        range.from, range.to
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

// ---------- Paging ----------

/// Page numbers in a query (`?page=2`).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    resolved_page: Option<String>,
}

/// Items on one page.
pub const PAGE_SIZE: usize = 50;

/// One page of `items` (page numbers from 1; a bad or too-high number
/// shows the last page) and the pager's links.
pub fn paged(items: Vec<Value>, page: Option<String>, href: &str) -> (Vec<Value>, Value) {
    let total = items.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = page
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let shown: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let pager = pager_of(page, total, shown.len(), href);
    (shown, pager)
}

/// The pager of page `page` (from 1) showing `shown` of `total` items.
pub fn pager_of(page: usize, total: usize, shown: usize, href: &str) -> Value {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let start = (page - 1) * PAGE_SIZE;
    json!({
        "page": page, "pages": pages, "total": total,
        "from": if shown == 0 { 0 } else { start + 1 }, "to": start + shown,
        "prev": (page > 1).then(|| format!("{href}{}", page - 1)),
        "next": (page < pages).then(|| format!("{href}{}", page + 1)),
        "links": (1..=pages).map(|n| json!({"n": n, "href": format!("{href}{n}"), "current": n == page})).collect::<Vec<_>>(),
    })
}

// ---------- People ----------

async fn people(State(state): State<AppState>, viewer: Viewer) -> Page {
    viewer.require(MANAGERS)?;
    let db = &state.db;
    let a = &viewer.account;
    let mut by_crn: BTreeMap<String, Value> = BTreeMap::new();
    for r in data::visible_items(db, "upw_requirement", a)
        .await?
        .values()
    {
        let e = by_crn.entry(r.s("crn")).or_insert_with(
            || json!({"crn": r.s("crn"), "name": r.s("name"), "upw": false, "hv": false}),
        );
        e["upw"] = Value::Bool(true);
    }
    for c in data::visible_items(db, "hv_case", a).await?.values() {
        let e = by_crn.entry(c.s("crn")).or_insert_with(
            || json!({"crn": c.s("crn"), "name": c.s("name"), "upw": false, "hv": false}),
        );
        e["hv"] = Value::Bool(true);
    }
    let list: Vec<Value> = by_crn.into_values().collect();
    audit::record(
        db,
        &a.actor(),
        Action::Consultation,
        "people list",
        "",
        &format!("{} people", list.len()),
    )
    .await?;
    state.console.views.page(
        "people.html",
        &viewer,
        "/console/people",
        json!({ "people": list }),
    )
}

async fn person(State(state): State<AppState>, viewer: Viewer, Path(crn): Path<String>) -> Page {
    viewer.require(MANAGERS)?;
    let db = &state.db;
    let a = &viewer.account;
    let crn = fieldbook_core::vocab::normalise_crn(&crn);
    let reqs: Vec<_> = data::visible_items(db, "upw_requirement", a)
        .await?
        .into_values()
        .filter(|r| fieldbook_core::vocab::normalise_crn(&r.s("crn")) == crn)
        .collect();
    let cases: Vec<_> = data::visible_items(db, "hv_case", a)
        .await?
        .into_values()
        .filter(|c| fieldbook_core::vocab::normalise_crn(&c.s("crn")) == crn)
        .collect();
    if reqs.is_empty() && cases.is_empty() {
        return Err(Failure::NotFound);
    }
    let mut ledgers = vec![];
    let mut attendance = vec![];
    let mut name = String::new();
    for r in &reqs {
        name = r.s("name");
        let Ok(req) = serde_json::from_value::<fieldbook_core::unpaid_work::model::Requirement>(
            r.data.clone(),
        ) else {
            continue;
        };
        // Only the outcomes naming this requirement are read (by index);
        // the payload's requirement decides, as before.
        let outcomes = data::current_outcomes_of_requirement(db, &r.id).await?;
        let mut mine: Vec<(String, i64, &Ev)> = outcomes
            .iter()
            .filter_map(|e| {
                let f = outcome_of(&e.payload);
                (f.requirement_id.as_deref() == Some(r.id.as_str())).then(|| {
                    (
                        f.session_date.as_str().unwrap_or_default().to_owned(),
                        f.minutes_credited,
                        e,
                    )
                })
            })
            .collect();
        mine.sort_by(|x, y| x.0.cmp(&y.0));
        use fieldbook_core::unpaid_work::model::AdjustmentDirection;
        let adj: i64 = req
            .adjustments
            .iter()
            .map(|x| {
                if x.direction == AdjustmentDirection::Positive {
                    x.minutes
                } else {
                    -x.minutes
                }
            })
            .sum();
        let devices: i64 = mine.iter().map(|m| m.1).sum();
        let required = i64::from(req.hours_required) * 60;
        let credited = req
            .minutes_credited_office
            .saturating_add(req.ete_minutes_credited_office)
            .saturating_add(devices);
        let outstanding = required.saturating_add(adj).saturating_sub(credited).max(0);
        // Hours over time: the office's opening balance, then each outcome.
        let mut points = vec![
            json!({"label": "Office balance", "minutes": req.minutes_credited_office + req.ete_minutes_credited_office}),
        ];
        let mut total = req.minutes_credited_office + req.ete_minutes_credited_office;
        for (date, m, e) in &mine {
            total = total.saturating_add(*m);
            points.push(json!({"label": date, "minutes": total}));
            let f = outcome_of(&e.payload);
            attendance.push(json!({
                "date": date, "code": f.code, "minutes": m, "by": e.officer_id, "device": e.device_id,
                "step": step_label(&f.enforcement_step),
            }));
        }
        let max = required.max(total).max(1);
        let chart: Vec<Value> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let m = p["minutes"].as_i64().unwrap_or(0);
                json!({"label": p["label"], "minutes": m, "height": (m.saturating_mul(100) / max).clamp(0, 100), "x": 10 + i64::try_from(i).unwrap_or(0).saturating_mul(60)})
            })
            .collect();
        ledgers.push(json!({
            "id": r.id, "order_start": req.order_start.to_string(), "order_end": req.order_end.to_string(),
            "required": required, "adjustments": adj, "office": req.minutes_credited_office + req.ete_minutes_credited_office,
            "devices": devices, "outstanding": outstanding,
            "warnings": req.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "chart": chart, "chart_width": 20 + chart_len(&points).saturating_mul(60), "required_y": 110 - (required.saturating_mul(100) / max).clamp(0, 100),
        }));
    }
    let mut visits = vec![];
    let mut next_due = None;
    if !cases.is_empty() {
        // The same visits, and the same next-visit rule, as the Visits page.
        let today = chrono::Local::now().date_naive();
        let mut by_case = super::visits::by_case(db, today).await?;
        for c in &cases {
            if name.is_empty() {
                name = c.s("name");
            }
            let rows = by_case.remove(&c.id).unwrap_or_default();
            for r in &rows {
                visits.push(
                    json!({"at": r.at_ms, "code": r.outcome, "by": r.by, "device": r.device}),
                );
            }
            if let Some(due) = super::visits::next_due(&c.data, &rows, today) {
                next_due = Some(due.to_string());
            }
        }
    }
    audit::record(
        db,
        &a.actor(),
        Action::Consultation,
        "person record",
        &crn,
        "ledger, attendance, visits",
    )
    .await?;
    state.console.views.page(
        "person.html",
        &viewer,
        "/console/people",
        json!({ "crn": crn, "name": name, "ledgers": ledgers, "attendance": attendance, "visits": visits, "next_due": next_due }),
    )
}

fn chart_len(p: &[Value]) -> i64 {
    i64::try_from(p.len()).unwrap_or(0)
}

// ---------- Devices ----------

async fn devices_context(state: &AppState) -> Result<Value, Failure> {
    let list: Vec<Value> = state
        .db
        .devices()
        .await?
        .into_iter()
        .map(|d| json!({
            "id": d.device_id, "officer": d.officer_id, "label": d.label, "enrolled": d.enrolled_ms,
            "last_sync": d.last_sync_ms, "revoked": d.revoked_ms, "shredded": d.shredded_ms,
            "after_revocation": d.events_after_revocation,
        }))
        .collect();
    let officers: Vec<Value> = data::officers(&state.db)
        .await?
        .into_iter()
        .map(|(id, name, role)| json!({"id": id, "name": name, "role": role}))
        .collect();
    Ok(json!({ "devices": list, "officers": officers, "code": null, "errors": [] }))
}

async fn devices(State(state): State<AppState>, viewer: Viewer) -> Page {
    viewer.require(ADMIN)?;
    let ctx = devices_context(&state).await?;
    state
        .console
        .views
        .page("devices.html", &viewer, "/console/devices", ctx)
}

async fn issue_code(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    let officer = field(&form, "officer");
    let mut ctx = devices_context(&state).await?;
    match crate::office::issue_enrolment_code(&state.db, &officer).await {
        Ok(code) => {
            audit::record(
                &state.db,
                &viewer.account.actor(),
                Action::Alteration,
                "enrolment code issued",
                &officer,
                "",
            )
            .await?;
            ctx["code"] = json!({"officer": officer, "qr": qr_svg(&code.code), "code": code.code, "expires": code.expires_ms});
        }
        Err(_) => {
            ctx["errors"] =
                json!([{"text": "Select an officer the office holds", "href": "#officer"}]);
        }
    }
    state
        .console
        .views
        .page("devices.html", &viewer, "/console/devices", ctx)
}

/// The enrolment code as a QR code (inline SVG), for the app to scan.
fn qr_svg(code: &str) -> Option<String> {
    use qrcode::render::svg;
    let qr = qrcode::QrCode::new(code.as_bytes()).ok()?;
    let image = qr
        .render::<svg::Color<'_>>()
        .min_dimensions(180, 180)
        .dark_color(svg::Color("#0b0c0c"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The renderer writes an XML prolog; inline SVG in HTML starts at <svg.
    image.find("<svg").map(|i| image[i..].to_owned())
}

async fn find_device(state: &AppState, id: &str) -> Result<crate::db::DeviceInfo, Failure> {
    state
        .db
        .devices()
        .await?
        .into_iter()
        .find(|d| d.device_id == id)
        .ok_or(Failure::NotFound)
}

async fn revoke_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    viewer.require(ADMIN)?;
    let d = find_device(&state, &id).await?;
    state.console.views.page(
        "device_revoke.html",
        &viewer,
        "/console/devices",
        json!({ "device": {"id": d.device_id, "officer": d.officer_id, "label": d.label, "revoked": d.revoked_ms}, "errors": [] }),
    )
}

async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    let d = find_device(&state, &id).await?;
    let final_push = match field(&form, "final_push").as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return state.console.views.page(
                "device_revoke.html",
                &viewer,
                "/console/devices",
                json!({ "device": {"id": d.device_id, "officer": d.officer_id, "label": d.label, "revoked": d.revoked_ms},
                        "errors": [{"text": "Select whether the device may send what it holds first", "href": "#final_push"}] }),
            )
        }
    };
    let now = now_ms();
    state
        .db
        .revoke(&d.device_id, final_push, now + 86_400_000, now)
        .await?;
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "device revoked",
        &d.device_id,
        if final_push {
            "final push allowed"
        } else {
            "no final push"
        },
    )
    .await?;
    Ok(Redirect::to("/console/devices").into_response())
}

// ---------- Reference data ----------

async fn reference_context(state: &AppState) -> Result<Value, Failure> {
    let mut counts = vec![];
    for e in crate::office::ENTITIES {
        counts.push(json!({"entity": e, "count": data::count(&state.db, e).await?}));
    }
    Ok(
        json!({ "counts": counts, "entities": crate::office::ENTITIES, "preview": null, "errors": [], "entity": "", "csv": "", "imported": null }),
    )
}

async fn reference(State(state): State<AppState>, viewer: Viewer) -> Page {
    viewer.require(ADMIN)?;
    let ctx = reference_context(&state).await?;
    state
        .console
        .views
        .page("reference.html", &viewer, "/console/reference", ctx)
}

/// What one reference item must hold, whether it comes from a CSV row
/// or the item form: a well-formed id, an audience of valid officer ids
/// (someone receives it), restricted officers within the audience, and
/// data the core's type accepts. Returns the data as validated, or each
/// problem with the form field it belongs to.
pub fn check_item(
    entity: &str,
    id: &str,
    data: &Value,
    audience: &[String],
    restricted_for: &[String],
) -> Result<Value, Vec<(&'static str, String)>> {
    let mut problems = vec![];
    if fieldbook_core::ids::RecordId::parse(id).is_err() {
        problems.push(("id", "the id must be 32 lowercase hex digits".to_owned()));
    }
    if audience.is_empty() {
        problems.push((
            "audience",
            "no audience: no officer would receive it".to_owned(),
        ));
    } else if let Some(bad) = audience
        .iter()
        .find(|o| !crate::office::valid_officer_id(o))
    {
        problems.push((
            "audience",
            format!(
                "the audience holds \"{}\", which is not an officer id",
                bad.chars().take(64).collect::<String>()
            ),
        ));
    }
    if restricted_for.iter().any(|o| !audience.contains(o)) {
        problems.push((
            "restricted_for",
            "everyone who receives it restricted must also be in the audience".to_owned(),
        ));
    }
    let value = match crate::office::validate(entity, data) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(("data", e.to_string()));
            None
        }
    };
    match value {
        Some(v) if problems.is_empty() => Ok(v),
        _ => Err(problems),
    }
}

fn capitalise(t: &str) -> String {
    let mut c = t.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Checks every row of a CSV import as [`check_item`] checks an item.
/// Returns each row's id and problem (if any), and the items.
pub fn check_csv(
    entity: &str,
    text: &str,
) -> Result<(Vec<Value>, Vec<crate::office::CsvItem>), String> {
    let mut rows = crate::office::parse_csv(text)?;
    let mut preview = vec![];
    for (i, (id, item, audience, restricted_for)) in rows.iter_mut().enumerate() {
        let problem = match check_item(entity, id, item, audience, restricted_for) {
            Ok(v) => {
                *item = v;
                Value::Null
            }
            Err(problems) => Value::String(
                problems
                    .into_iter()
                    .map(|p| p.1)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        preview.push(json!({
            "row": i + 1, "id": id, "audience": audience.join(", "),
            "summary": item.get("name").or(item.get("code")).or(item.get("crn")).cloned().unwrap_or(Value::Null),
            "problem": problem,
        }));
    }
    Ok((preview, rows))
}

async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    let entity = field(&form, "entity");
    let csv = form
        .iter()
        .find(|(k, _)| k == "csv")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut ctx = reference_context(&state).await?;
    ctx["entity"] = json!(entity);
    ctx["csv"] = json!(csv);
    if !crate::office::ENTITIES.contains(&entity.as_str()) {
        ctx["errors"] = json!([{"text": "Select what the file holds", "href": "#entity"}]);
        return state
            .console
            .views
            .page("reference.html", &viewer, "/console/reference", ctx);
    }
    if csv.trim().is_empty() {
        ctx["errors"] = json!([{"text": "Paste the CSV file or choose one", "href": "#csv"}]);
        return state
            .console
            .views
            .page("reference.html", &viewer, "/console/reference", ctx);
    }
    let (preview, rows) = match check_csv(&entity, &csv) {
        Ok(x) => x,
        Err(why) => {
            ctx["errors"] =
                json!([{"text": format!("The file cannot be read: {why}"), "href": "#csv"}]);
            return state
                .console
                .views
                .page("reference.html", &viewer, "/console/reference", ctx);
        }
    };
    let bad = preview.iter().filter(|p| !p["problem"].is_null()).count();
    ctx["preview"] = json!({"rows": preview, "bad": bad, "total": rows.len()});
    if bad > 0 {
        ctx["errors"] = json!([{"text": format!("{bad} of {} rows have a problem. Nothing has been imported.", rows.len()), "href": "#preview"}]);
        return state
            .console
            .views
            .page("reference.html", &viewer, "/console/reference", ctx);
    }
    if field(&form, "action") != "import" {
        return state
            .console
            .views
            .page("reference.html", &viewer, "/console/reference", ctx);
    }
    let n = rows.len();
    for (id, item, audience, restricted_for) in rows {
        let restricted: std::collections::HashSet<&String> = restricted_for.iter().collect();
        let audience = audience
            .iter()
            .map(|o| (o.clone(), restricted.contains(o)))
            .collect();
        let text = serde_json::to_string(&item).map_err(|_| Failure::Storage)?;
        state
            .db
            .put_reference(&entity, &id, Some(text), audience)
            .await?;
    }
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "reference CSV import",
        &entity,
        &format!("{n} rows"),
    )
    .await?;
    let mut ctx = reference_context(&state).await?;
    ctx["imported"] = json!({"entity": entity, "count": n});
    state
        .console
        .views
        .page("reference.html", &viewer, "/console/reference", ctx)
}

/// One entity's items, a page at a time.
async fn reference_list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(entity): Path<String>,
    Query(q): Query<PageQuery>,
) -> Page {
    viewer.require(ADMIN)?;
    if !crate::office::ENTITIES.contains(&entity.as_str()) {
        return Err(Failure::NotFound);
    }
    let total = data::count(&state.db, &entity).await?;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = q
        .page
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let (found, total) =
        data::items_page(&state.db, &entity, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let items: Vec<Value> = found
        .into_iter()
        .map(|i| {
            let summary = ["name", "code", "crn", "date"]
                .iter()
                .map(|f| i.s(f))
                .find(|v| !v.is_empty())
                .unwrap_or_default();
            json!({"id": i.id, "summary": summary, "audience": i.audience.join(", ")})
        })
        .collect();
    let pager = pager_of(
        page,
        total,
        items.len(),
        &format!("/console/reference/{entity}?page="),
    );
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Consultation,
        "reference list",
        &entity,
        &format!("page {page}: {} items", items.len()),
    )
    .await?;
    state.console.views.page(
        "reference_list.html",
        &viewer,
        "/console/reference",
        json!({ "entity": entity, "items": items, "pager": pager }),
    )
}

/// An item's fields as the form shows them, one input each: text for a
/// text value, JSON for anything else (as a CSV import's `:json` column).
fn fields_of(data: &Value, blank: bool) -> Vec<Value> {
    let Some(obj) = data.as_object() else {
        return vec![];
    };
    obj.iter()
        .map(|(k, v)| {
            let json = !v.is_string();
            let value = match v {
                _ if blank => String::new(),
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            json!({"key": k, "label": k.replace('_', " "), "json": json, "value": value})
        })
        .collect()
}

fn item_form(entity: &str, id: &str, item: Option<&data::Item>) -> Value {
    json!({
        "entity": entity, "id": id, "new": item.is_none(),
        "data": item.map(|i| serde_json::to_string_pretty(&i.data).unwrap_or_default()).unwrap_or_else(|| "{}".into()),
        "fields": item.map(|i| fields_of(&i.data, false)).unwrap_or_default(),
        "audience": item.map(|i| i.audience.join(", ")).unwrap_or_default(),
        "restricted_for": item.map(|i| i.restricted_for.join(", ")).unwrap_or_default(),
        "errors": [],
    })
}

/// The form's fields (`f:KEY` text, `j:KEY` JSON) as the one CSV row an
/// import would hold, read by the import's own parser and checks: the
/// form and the import cannot disagree on what an item is.
pub(crate) fn fields_item(
    entity: &str,
    id: &str,
    form: &Fields,
    audience: &[String],
    restricted_for: &[String],
) -> Result<Value, Vec<(&'static str, String)>> {
    let mut header = vec!["id".to_owned(), "audience".into(), "restricted_for".into()];
    let mut row = vec![id.to_owned(), audience.join(";"), restricted_for.join(";")];
    for (k, v) in form {
        if let Some(name) = k.strip_prefix("f:") {
            // An empty text field is empty text (a CSV cell left empty
            // would leave the field out).
            if v.is_empty() {
                header.push(format!("{name}:json"));
                row.push("\"\"".to_owned());
            } else {
                header.push(name.to_owned());
                row.push(v.clone());
            }
        } else if let Some(name) = k.strip_prefix("j:") {
            header.push(format!("{name}:json"));
            row.push(v.trim().to_owned());
        }
    }
    let mut w = csv::Writer::from_writer(vec![]);
    let text = w
        .write_record(&header)
        .and_then(|()| w.write_record(&row))
        .ok()
        .and_then(|()| w.into_inner().ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| vec![("fields", "the fields cannot be read".to_owned())])?;
    let (preview, mut rows) = check_csv(entity, &text)
        .map_err(|why| vec![("fields", why.replace("row 1 column ", "field "))])?;
    match (preview.first().map(|p| p["problem"].clone()), rows.pop()) {
        (Some(Value::Null), Some((_, item, _, _))) => Ok(item),
        (Some(Value::String(p)), _) => Err(vec![("fields", p)]),
        _ => Err(vec![("fields", "the fields cannot be read".to_owned())]),
    }
}

/// One item's form (`new` for a new one).
async fn reference_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((entity, id)): Path<(String, String)>,
) -> Page {
    viewer.require(ADMIN)?;
    if !crate::office::ENTITIES.contains(&entity.as_str()) {
        return Err(Failure::NotFound);
    }
    let ctx = if id == "new" {
        let mut ctx = item_form(&entity, &super::random_token(16)?, None);
        // The fields an item of this entity has, from the first one held.
        if let Some(first) = data::items_page(&state.db, &entity, 1, 0).await?.0.first() {
            ctx["fields"] = json!(fields_of(&first.data, true));
        }
        ctx
    } else {
        let item = data::item(&state.db, &entity, &id)
            .await?
            .ok_or(Failure::NotFound)?;
        audit::record(
            &state.db,
            &viewer.account.actor(),
            Action::Consultation,
            "reference item",
            &format!("{entity}/{id}"),
            "",
        )
        .await?;
        item_form(&entity, &id, Some(&item))
    };
    state
        .console
        .views
        .page("reference_item.html", &viewer, "/console/reference", ctx)
}

/// Saves one item: its data read as the core's type (an unknown field or
/// a wrong value is refused with the reason, nothing written).
async fn save_reference_item(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((entity, id)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    if !crate::office::ENTITIES.contains(&entity.as_str()) {
        return Err(Failure::NotFound);
    }
    if fieldbook_core::ids::RecordId::parse(&id).is_err() {
        return Err(Failure::Bad(
            "The item id must be 32 lowercase hex digits.".into(),
        ));
    }
    let audience = accounts::split_teams(&field(&form, "audience"));
    let restricted_for = accounts::split_teams(&field(&form, "restricted_for"));
    let raw = form
        .iter()
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut errors = vec![];
    let result = if field(&form, "mode") == "fields" {
        fields_item(&entity, &id, &form, &audience, &restricted_for)
    } else {
        match serde_json::from_str::<Value>(&raw) {
            Ok(v) => check_item(&entity, &id, &v, &audience, &restricted_for),
            Err(e) => Err(vec![(
                "data",
                format!(
                    "The data is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )]),
        }
    };
    let checked = match result {
        Ok(v) => Some(v),
        Err(problems) => {
            errors.extend(problems.into_iter().map(|(f, t)| {
                // The data's reason starts with the entity's name: kept.
                let text = if matches!(f, "data" | "fields") {
                    t
                } else {
                    capitalise(&t)
                };
                json!({"text": text, "href": format!("#{f}")})
            }));
            None
        }
    };
    let (Some(value), true) = (checked, errors.is_empty()) else {
        let mut ctx = item_form(&entity, &id, None);
        ctx["new"] = json!(field(&form, "new") == "1");
        ctx["data"] = json!(raw);
        ctx["audience"] = json!(field(&form, "audience"));
        ctx["restricted_for"] = json!(field(&form, "restricted_for"));
        ctx["fields"] = form
            .iter()
            .filter_map(|(k, v)| {
                let (name, json) = match (k.strip_prefix("f:"), k.strip_prefix("j:")) {
                    (Some(n), _) => (n, false),
                    (None, Some(n)) => (n, true),
                    _ => return None,
                };
                Some(
                    json!({"key": name, "label": name.replace('_', " "), "json": json, "value": v}),
                )
            })
            .collect();
        ctx["errors"] = Value::Array(errors);
        return state
            .console
            .views
            .page("reference_item.html", &viewer, "/console/reference", ctx);
    };
    let text = serde_json::to_string(&value).map_err(|_| Failure::Storage)?;
    let pairs = audience
        .iter()
        .map(|o| (o.clone(), restricted_for.contains(o)))
        .collect();
    state
        .db
        .put_reference(&entity, &id, Some(text), pairs)
        .await?;
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Alteration,
        "reference item saved",
        &format!("{entity}/{id}"),
        "",
    )
    .await?;
    Ok(Redirect::to(&format!("/console/reference/{entity}")).into_response())
}

// ---------- Accounts and API keys ----------

async fn accounts_context(state: &AppState) -> Result<Value, Failure> {
    let now = now_ms();
    let list: Vec<Value> = accounts::list(&state.db)
        .await?
        .into_iter()
        .map(|x| {
            json!({
                "id": x.id, "username": x.username, "name": x.display_name, "role": x.role.label(),
                "teams": x.teams.join(", "), "locked": x.locked_until_ms.is_some_and(|u| u > now),
                "password": x.has_password,
            })
        })
        .collect();
    let keys: Vec<Value> = apikeys::list(&state.db)
        .await?
        .into_iter()
        .map(|k| json!({
            "id": k.id, "name": k.name, "scopes": k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            "created": k.created_ms, "by": k.created_by, "revoked": k.revoked_ms, "last_used": k.last_used_ms,
        }))
        .collect();
    Ok(json!({
        "accounts": list, "keys": keys,
        "roles": Role::ALL.iter().map(|r| json!({"value": r.as_str(), "label": r.label()})).collect::<Vec<_>>(),
        "scopes": Scope::ALL.iter().map(|s| json!({"value": s.as_str(), "label": s.label()})).collect::<Vec<_>>(),
        "errors": [], "form": {}, "new_key": null, "created": null,
    }))
}

async fn accounts_page(State(state): State<AppState>, viewer: Viewer) -> Page {
    viewer.require(ADMIN)?;
    let ctx = accounts_context(&state).await?;
    state
        .console
        .views
        .page("accounts.html", &viewer, "/console/accounts", ctx)
}

async fn create_account(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    let mut ctx = accounts_context(&state).await?;
    let Some(role) = Role::parse(&field(&form, "role")) else {
        ctx["errors"] = json!([{"text": "Select a role", "href": "#role"}]);
        ctx["form"] = json!({"username": field(&form, "username"), "name": field(&form, "name"), "teams": field(&form, "teams")});
        return state
            .console
            .views
            .page("accounts.html", &viewer, "/console/accounts", ctx);
    };
    let password = form
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .filter(|p| !p.is_empty());
    let new = NewAccount {
        username: field(&form, "username"),
        display_name: field(&form, "name"),
        role,
        teams: accounts::split_teams(&field(&form, "teams")),
        password,
    };
    match accounts::create(&state.db, new, now_ms()).await {
        Ok(a) => {
            audit::record(
                &state.db,
                &viewer.account.actor(),
                Action::Security,
                "account created",
                &a.username,
                a.role.as_str(),
            )
            .await?;
            let mut ctx = accounts_context(&state).await?;
            ctx["created"] = json!(a.username);
            state
                .console
                .views
                .page("accounts.html", &viewer, "/console/accounts", ctx)
        }
        Err(e) => {
            ctx["errors"] = json!([{"text": e.to_string(), "href": "#username"}]);
            ctx["form"] = json!({"username": field(&form, "username"), "name": field(&form, "name"), "teams": field(&form, "teams"), "role": role.as_str()});
            state
                .console
                .views
                .page("accounts.html", &viewer, "/console/accounts", ctx)
        }
    }
}

async fn unlock(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    if !accounts::unlock(&state.db, &id).await? {
        return Err(Failure::NotFound);
    }
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Security,
        "account unlocked",
        &id,
        "",
    )
    .await?;
    Ok(Redirect::to("/console/accounts").into_response())
}

async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    let name = field(&form, "key_name");
    let scopes: Vec<Scope> = all(&form, "scope")
        .iter()
        .filter_map(|s| Scope::parse(s))
        .collect();
    let mut ctx = accounts_context(&state).await?;
    let mut errors = vec![];
    if name.is_empty() || name.chars().count() > 60 {
        errors.push(
            json!({"text": "Enter a name for the key, up to 60 characters", "href": "#key_name"}),
        );
    }
    if scopes.is_empty() {
        errors.push(json!({"text": "Select at least one thing the key may do", "href": "#scope"}));
    }
    if !errors.is_empty() {
        ctx["errors"] = Value::Array(errors);
        return state
            .console
            .views
            .page("accounts.html", &viewer, "/console/accounts", ctx);
    }
    let (key, secret) = apikeys::create(
        &state.db,
        &name,
        &scopes,
        &viewer.account.username,
        now_ms(),
    )
    .await?;
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Security,
        "API key created",
        &key.name,
        &scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
    )
    .await?;
    let mut ctx = accounts_context(&state).await?;
    ctx["new_key"] = json!({"name": key.name, "secret": secret});
    state
        .console
        .views
        .page("accounts.html", &viewer, "/console/accounts", ctx)
}

async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Page {
    viewer.check_form(&headers, &field(&form, "csrf"))?;
    viewer.require(ADMIN)?;
    if !apikeys::revoke(&state.db, &id, now_ms()).await? {
        return Err(Failure::NotFound);
    }
    audit::record(
        &state.db,
        &viewer.account.actor(),
        Action::Security,
        "API key revoked",
        &id,
        "",
    )
    .await?;
    Ok(Redirect::to("/console/accounts").into_response())
}

// ---------- Audit ----------

#[derive(Debug, serde::Deserialize)]
struct AuditQuery {
    #[serde(default)]
    actor: Option<String>,
}

async fn audit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Page {
    viewer.require(ADMIN)?;
    let actor = q.actor.filter(|a| !a.is_empty());
    let entries = audit::recent(&state.db, 500, actor.as_deref()).await?;
    state.console.views.page(
        "audit.html",
        &viewer,
        "/console/audit",
        json!({ "entries": entries, "actor": actor.unwrap_or_default() }),
    )
}
