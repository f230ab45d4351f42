//! Outcomes delivered to a fake Community Payback API started by the test:
//! it checks every request against the published field names, types and
//! enums, needs an OAuth2 token, honours `Idempotency-key` as the real
//! service does (the same key and body is answered without recording
//! again), and can be told to be down or to refuse an appointment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use fieldbook_core::events::Payload;
use fieldbook_core::ids::RecordId;
use fieldbook_core::unpaid_work::codes::OUTCOME_CODES;
use fieldbook_core::unpaid_work::model::EnforcementStep;
use fieldbook_e2e::harness::*;
use fieldbook_e2e::payloads;
use fieldbook_server::delivery::worker::DeliveryConfig;
use fieldbook_server::{start, RunningServer, Storage};
use serde_json::{json, Value};

const CLIENT: &str = "fieldbook";
const SECRET: &str = "client-secret-0123456789";
const ROM: &str = "0b6f0c8e-1f5d-4c1e-9a51-000000000e01";
/// The supervisor's nDelius staff code, which is their Fieldbook officer id.
const SUPERVISOR: &str = "N56A108";

fn outcome_uuid(code: &str) -> String {
    let n: u64 = code.bytes().fold(0, |a, b| a * 31 + u64::from(b)) % 1_000_000_000_000;
    format!("5b5f8c3a-0000-4000-8000-{n:012}")
}

#[derive(Default)]
struct Far {
    /// Idempotency key → (times received, body applied).
    applied: Mutex<BTreeMap<String, (u32, Value)>>,
    /// Order the applied keys arrived in, per nDelius appointment.
    order: Mutex<BTreeMap<i64, Vec<String>>>,
    /// Problems found in requests (none expected).
    problems: Mutex<Vec<String>>,
    tokens: AtomicU32,
    down: AtomicBool,
    refuse: Mutex<BTreeSet<i64>>,
    appointments: Mutex<FarAppointments>,
    /// A person's requirement minutes (`requirementMinutes`) where not the
    /// default 6000 (100 hours).
    minutes: Mutex<BTreeMap<String, i64>>,
    /// CRNs the caller may see only as `Limited` (restricted cases).
    limited: Mutex<BTreeSet<String>>,
    /// Session-search queries that lacked a published parameter.
    reads: AtomicU32,
}

type S = Arc<Far>;

async fn token(State(f): State<S>, headers: HeaderMap, body: Bytes) -> Response {
    use base64::Engine;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"))
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(want.as_str()) || body.as_ref() != b"grant_type=client_credentials" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let n = f.tokens.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "access_token": format!("tok-{n}"), "token_type": "bearer", "expires_in": 3600 }))
        .into_response()
}

use axum::Json;

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer tok-"))
}

async fn contact_outcomes(State(f): State<S>, headers: HeaderMap) -> Response {
    if !authorised(&headers) || f.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let items: Vec<Value> = OUTCOME_CODES
        .iter()
        .map(|c| json!({ "id": outcome_uuid(c.code), "code": c.code, "name": c.description }))
        .collect();
    Json(json!({ "contactOutcomes": items })).into_response()
}

async fn enforcement_actions(headers: HeaderMap) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({ "enforcementActions": [{ "id": ROM, "code": "ROM", "name": "Refer to Offender Manager" }] }))
        .into_response()
}

fn check(body: &Value, path_id: i64) -> Vec<String> {
    let mut p = Vec::new();
    let time = |v: &Value| {
        v.as_str().is_some_and(|t| {
            let b = t.as_bytes();
            b.len() == 5
                && b[2] == b':'
                && t[..2].parse::<u32>().is_ok_and(|h| h < 24)
                && t[3..].parse::<u32>().is_ok_and(|m| m < 60)
        })
    };
    let uuid = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.len() == 36 && s.matches('-').count() == 4)
    };
    let scale = |v: &Value| {
        matches!(
            v.as_str(),
            Some(
                "EXCELLENT"
                    | "GOOD"
                    | "SATISFACTORY"
                    | "UNSATISFACTORY"
                    | "POOR"
                    | "NOT_APPLICABLE"
            )
        )
    };
    let allowed = [
        "deliusId",
        "deliusVersionToUpdate",
        "startTime",
        "endTime",
        "contactOutcomeId",
        "attendanceData",
        "enforcementData",
        "supervisorOfficerCode",
        "notes",
        "formKeyToDelete",
        "alertActive",
        "sensitive",
    ];
    let Some(o) = body.as_object() else {
        return vec!["not an object".into()];
    };
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            p.push(format!("unknown field {k}"));
        }
    }
    if body["deliusId"].as_i64() != Some(path_id) {
        p.push("deliusId does not match the path".into());
    }
    if !uuid(&body["deliusVersionToUpdate"]) {
        p.push("deliusVersionToUpdate".into());
    }
    if !time(&body["startTime"]) || !time(&body["endTime"]) {
        p.push("times".into());
    }
    if !uuid(&body["contactOutcomeId"]) {
        p.push("contactOutcomeId".into());
    }
    if !body["supervisorOfficerCode"].is_string() {
        p.push("supervisorOfficerCode".into());
    }
    if !body["alertActive"].is_boolean() || !body["sensitive"].is_boolean() {
        p.push("flags".into());
    }
    if !(body["notes"].is_null() || body["notes"].is_string()) {
        p.push("notes".into());
    }
    let a = &body["attendanceData"];
    let attendance_ok = a.is_null()
        || (a["hiVisWorn"].is_boolean()
            && a["workedIntensively"].is_boolean()
            && a["penaltyMinutes"].is_i64()
            && scale(&a["workQuality"])
            && scale(&a["behaviour"]));
    if !attendance_ok {
        p.push(format!("attendanceData {a}"));
    }
    let e = &body["enforcementData"];
    let enforcement_ok = e.is_null()
        || (uuid(&e["enforcementActionId"])
            && e["respondBy"]
                .as_str()
                .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()));
    if !enforcement_ok {
        p.push(format!("enforcementData {e}"));
    }
    p
}

async fn outcome(
    State(f): State<S>,
    Path((_project, id)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if f.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        f.problems
            .lock()
            .expect("lock")
            .push("no Idempotency-key".into());
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let problems = check(&v, id);
    if !problems.is_empty() {
        f.problems.lock().expect("lock").extend(problems);
        return StatusCode::BAD_REQUEST.into_response();
    }
    if f.refuse.lock().expect("lock").contains(&id) {
        return (
            StatusCode::CONFLICT,
            Json(json!({ "status": 409, "userMessage": "A newer version of the appointment exists in Delius" })),
        )
            .into_response();
    }
    let mut applied = f.applied.lock().expect("lock");
    let entry = applied.entry(key.clone()).or_insert((0, v.clone()));
    entry.0 += 1;
    if entry.0 == 1 {
        f.order
            .lock()
            .expect("lock")
            .entry(id)
            .or_default()
            .push(key);
    } else if entry.1 != v {
        f.problems
            .lock()
            .expect("lock")
            .push("same key, another body".into());
    }
    StatusCode::OK.into_response()
}

/// The far end's appointments: (project code, date, CRN, nDelius id).
type FarAppointments = Vec<(String, String, String, i64)>;

/// The published `OffenderDto`: `Full` with the name, or `Limited`.
fn offender(f: &Far, crn: &str, i: i64) -> Value {
    if f.limited.lock().expect("lock").contains(crn) {
        json!({ "crn": crn, "objectType": "Limited" })
    } else {
        json!({ "crn": crn, "objectType": "Full", "forename": format!("Forename{i}"),
                "surname": format!("Surname{i}"), "middleNames": [], "dateOfBirth": "1990-01-01" })
    }
}

fn location() -> Value {
    json!({ "buildingName": null, "buildingNumber": "1", "streetName": "Park Road",
            "townCity": "Leeds", "county": null, "postCode": "LS1 1AA" })
}

/// `AdminSessionController` session search: `SessionSummariesDto`.
async fn session_search(
    State(f): State<S>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if !authorised(&headers) || f.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let q = query.unwrap_or_default();
    if !["startDate=", "endDate=", "teamCode="]
        .iter()
        .all(|p| q.contains(p))
    {
        f.problems
            .lock()
            .expect("lock")
            .push(format!("session-search without its parameters: {q}"));
        return StatusCode::BAD_REQUEST.into_response();
    }
    f.reads.fetch_add(1, Ordering::SeqCst);
    let appts = f.appointments.lock().expect("lock").clone();
    let sessions: BTreeSet<(String, String)> = appts
        .iter()
        .map(|(p, d, _, _)| (p.clone(), d.clone()))
        .collect();
    let allocations: Vec<Value> = sessions
        .into_iter()
        .map(|(p, d)| {
            json!({ "projectName": "Park", "projectCode": p, "date": d,
            "startTime": "09:00", "endTime": "16:00", "numberOfOffendersAllocated": 1,
            "numberOfOffendersWithOutcomes": 0, "numberOfOffendersWithEA": 0 })
        })
        .collect();
    Json(json!({ "allocations": allocations })).into_response()
}

/// One session: `SessionDto` with its `AppointmentSummaryDto`s.
async fn session(
    State(f): State<S>,
    Path((project, date)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&headers) || f.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let minutes = f.minutes.lock().expect("lock").clone();
    let summaries: Vec<Value> = f
        .appointments
        .lock()
        .expect("lock")
        .iter()
        .filter(|(p, d, _, _)| *p == project && *d == date)
        .map(|(_, _, crn, id)| {
            json!({ "id": id, "contactOutcome": null,
                    "requirementMinutes": minutes.get(crn).copied().unwrap_or(6000),
                    "adjustmentMinutes": 0, "completedMinutes": 120,
                    "offender": offender(&f, crn, *id) })
        })
        .collect();
    Json(json!({ "projectName": "Park", "projectCode": project,
        "projectLocation": "1 Park Road, Leeds", "location": location(), "date": date,
        "startTime": "09:00", "endTime": "16:00", "appointmentSummaries": summaries }))
    .into_response()
}

/// One appointment: `AppointmentDto`.
async fn appointment(
    State(f): State<S>,
    Path((project, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&headers) || f.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let found = f
        .appointments
        .lock()
        .expect("lock")
        .iter()
        .find(|(_, _, _, i)| *i == id)
        .cloned();
    let Some((_, date, crn, _)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    Json(json!({ "id": id, "version": format!("7a0b6c1e-0000-4000-8000-{id:012}"),
        "projectName": "Park", "projectCode": project, "projectTypeName": "Group Placement - Regional Project",
        "projectTypeCode": "NP1", "offender": offender(&f, &crn, id), "supervisingTeam": "Team 1",
        "supervisingTeamCode": "N56T01", "providerCode": "N56",
        "pickUpData": { "location": location(), "time": "08:30" },
        "date": date, "startTime": "09:00", "endTime": "16:00", "contactOutcomeCode": null,
        "attendanceData": null, "enforcementData": null, "supervisorOfficerCode": SUPERVISOR,
        "notes": null, "sensitive": null, "alertActive": null }))
    .into_response()
}

async fn far_end() -> (String, S) {
    let far: S = Arc::default();
    let app = axum::Router::new()
        .route(
            "/projects/session-search",
            axum::routing::get(session_search),
        )
        .route(
            "/projects/{project}/sessions/{date}",
            axum::routing::get(session),
        )
        .route(
            "/projects/{project}/appointments/{id}",
            axum::routing::get(appointment),
        )
        .route("/oauth/token", axum::routing::post(token))
        .route(
            "/references/contact-outcomes",
            axum::routing::get(contact_outcomes),
        )
        .route(
            "/references/enforcement-actions",
            axum::routing::get(enforcement_actions),
        )
        .route(
            "/projects/{project}/appointments/{id}/outcome",
            axum::routing::post(outcome),
        )
        .with_state(far.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), far)
}

fn delivery(base: &str) -> DeliveryConfig {
    let mut c = DeliveryConfig::new(base, &format!("{base}/oauth/token"), CLIENT, SECRET);
    c.tick_ms = 20;
    c.retry_base_ms = 50;
    c.timeout = Duration::from_secs(2);
    c.enforcement_actions
        .insert("warning_or_referral".into(), "ROM".into());
    c.enforcement_actions
        .insert("breach_referral".into(), "ROM".into());
    c
}

async fn server_with(storage: Storage, base: &str) -> RunningServer {
    let mut config = test_config(storage);
    config.delivery = Some(delivery(base));
    start(config).await.expect("server")
}

/// A session with one appointment per code, linked to nDelius appointments
/// 1000 + i (the last one left unlinked).
async fn field_day(office: &Office, n: usize) -> (String, Vec<String>) {
    office.officer("sup-1", "supervisor").await;
    let session = RecordId::random().expect("id").to_string();
    let project = RecordId::random().expect("id").to_string();
    let days = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    office
        .reference("upw_project", &project, json!({ "code": "P1", "name": "Park",
            "project_type": "group_placement", "travel_time_eligible": false, "address": "Park Rd",
            "beneficiary": "Council", "site_contact": "Office", "hi_vis_required": true, "hazards": "",
            "risk_notes": "", "available_days": days, "available_from": "00:00:00",
            "available_until": "23:59:00" }), &["sup-1"], &[])
        .await;
    office
        .reference(
            "upw_session",
            &session,
            json!({ "project_id": project, "date": "2026-11-23",
            "planned_start": "09:00:00", "planned_end": "16:00:00", "supervisor_id": "sup-1",
            "pick_up_point": null, "pick_up_time": null }),
            &["sup-1"],
            &[],
        )
        .await;
    let mut appts = Vec::new();
    for i in 0..n {
        let a = RecordId::random().expect("id").to_string();
        let req = RecordId::random().expect("id").to_string();
        office
            .reference(
                "upw_requirement",
                &req,
                json!({ "crn": "X1", "name": format!("Person {i}"),
                "restricted": false, "photo_ref": null, "risk_level": "low", "registrations": [],
                "hours_required": 100, "minutes_credited_office": 0, "order_start": "2020-01-01",
                "order_end": "2099-12-31" }),
                &["sup-1"],
                &[],
            )
            .await;
        office
            .reference(
                "upw_appointment",
                &a,
                json!({ "session_id": session, "requirement_id": req,
                "crn": "X1", "allocated": true, "agreed_absence": null }),
                &["sup-1"],
                &[],
            )
            .await;
        if i + 1 < n {
            let (s, v) = office
                .send(
                    Method::PUT,
                    &format!("/v1/office/integration/appointments/{a}"),
                    Some(json!({ "delius_id": 1000 + i as i64,
                        "delius_version": "7a0b6c1e-0000-4000-8000-000000000001",
                        "project_code": "N56PARK" })),
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        }
        appts.push(a);
    }
    (session, appts)
}

async fn deliveries(office: &Office, state: &str) -> Vec<Value> {
    office
        .get(&format!("/v1/office/deliveries?state={state}&limit=500"))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_days_outcomes_reach_the_far_end_once_each_in_its_shapes() {
    let (base, far) = far_end().await;
    let dir = tempfile::tempdir().expect("tmp");
    let server = server_with(Storage::Sqlite(dir.path().join("office.db")), &base).await;
    let office = Office::new(server.addr);
    let url = format!("http://{}", server.addr);
    // Every nDelius outcome code, one enforceable with its step, one
    // refused by the far end, one appointment never linked.
    let codes: Vec<&str> = OUTCOME_CODES.iter().map(|c| c.code).collect();
    let n = codes.len() + 2;
    let (session, appts) = field_day(&office, n).await;
    let phone = SyncDevice::enrol(&office, "sup-1", &url, None).await;
    // The far end is down while the day syncs.
    far.down.store(true, Ordering::SeqCst);
    let mut event_of = Vec::new();
    for (i, appt) in appts.iter().enumerate() {
        let code = codes.get(i).copied().unwrap_or("ATTC");
        let mut p = payloads::outcome(&session, appt, code);
        if let Payload::Outcome(o) = &mut p {
            if code == "AFTC" {
                o.enforcement_step = Some(EnforcementStep::WarningOrReferral);
            }
            o.notes = format!("note {i}");
        }
        event_of.push(phone.store.append(payloads::draft(&p)).expect("append").id);
    }
    // A correction to the first outcome, with its reason.
    let mut fixed = payloads::outcome(&session, &appts[0], "ATSH");
    if let Payload::Outcome(o) = &mut fixed {
        o.notes = "corrected".into();
    }
    let correction = phone
        .store
        .append(payloads::correction(&fixed, &event_of[0], "Wrong code"))
        .expect("correction")
        .id;
    let report = phone.sync().await.expect("sync");
    assert_eq!(
        report.accepted as usize,
        n + 1,
        "{report:?} {:?}",
        phone
            .store
            .quarantined()
            .expect("q")
            .first()
            .map(|q| q.1.clone())
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        far.applied.lock().expect("lock").is_empty(),
        "the far end is down"
    );
    let all = office.get("/v1/office/deliveries?limit=500").await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(n + 1),
        "nothing lost while it is down"
    );
    // The unlinked appointment is set aside at once; the rest wait.
    assert_eq!(deliveries(&office, "attention").await.len(), 1);
    let waiting = deliveries(&office, "pending").await;
    assert_eq!(waiting.len(), n);
    assert!(
        waiting.iter().any(|d| d["attempts"].as_i64() > Some(0)),
        "it kept trying"
    );
    // One appointment is refused when the far end is back.
    let refused_appt = 1000 + (n as i64 - 2);
    far.refuse.lock().expect("lock").insert(refused_appt);
    far.down.store(false, Ordering::SeqCst);
    eventually("all delivered or set aside", || async {
        deliveries(&office, "pending").await.is_empty()
    })
    .await;
    let problems = far.problems.lock().expect("lock").clone();
    assert!(problems.is_empty(), "{problems:?}");
    let applied = far.applied.lock().expect("lock").clone();
    // Every linked, accepted outcome once, plus the correction.
    assert_eq!(applied.len(), codes.len() + 1, "{:?}", applied.keys());
    assert!(applied.values().all(|(times, _)| *times == 1), "each once");
    let key = |e: &str| format!("fieldbook-{e}");
    let first = &applied[&key(&event_of[0])].1;
    assert_eq!(first["contactOutcomeId"], outcome_uuid(codes[0]));
    assert_eq!(
        (first["startTime"].as_str(), first["endTime"].as_str()),
        (Some("09:00"), Some("16:00"))
    );
    let corrected = &applied[&key(&correction)].1;
    assert_eq!(corrected["contactOutcomeId"], outcome_uuid("ATSH"));
    assert_eq!(corrected["notes"], "corrected");
    assert_eq!(
        far.order.lock().expect("lock")[&1000],
        vec![key(&event_of[0]), key(&correction)],
        "the correction after what it corrects"
    );
    let uaab = codes
        .iter()
        .position(|c| *c == "AFTC")
        .expect("AFTC is a code");
    let enforced = &applied[&key(&event_of[uaab])].1;
    assert_eq!(enforced["enforcementData"]["enforcementActionId"], ROM);
    assert_eq!(enforced["enforcementData"]["respondBy"], "2026-11-30");
    // What needs attention, with the far end's reason or the missing link.
    let attention = deliveries(&office, "attention").await;
    assert_eq!(attention.len(), 2, "{attention:?}");
    let reasons: BTreeSet<String> = attention
        .iter()
        .filter_map(|d| d["reason"].as_str().map(str::to_owned))
        .collect();
    assert!(
        reasons.contains("A newer version of the appointment exists in Delius"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains("the appointment is not linked to an nDelius appointment"),
        "{reasons:?}"
    );
    // Linking the missing appointment and retrying delivers it.
    let unlinked = attention
        .iter()
        .find(|d| d["reason"] == "the appointment is not linked to an nDelius appointment")
        .expect("unlinked");
    let (s, _) = office
        .send(
            Method::PUT,
            &format!("/v1/office/integration/appointments/{}", unlinked["subject"].as_str().expect("s")),
            Some(json!({ "delius_id": 5000, "delius_version": "7a0b6c1e-0000-4000-8000-000000000009", "project_code": "N56PARK" })),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let eid = unlinked["event_id"].as_str().expect("id");
    let (s, _) = office
        .send(
            Method::POST,
            &format!("/v1/office/deliveries/{eid}/retry"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = office
        .send(
            Method::POST,
            &format!("/v1/office/deliveries/{eid}/retry"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "only what needs attention");
    eventually("the linked one delivered", || async {
        far.applied.lock().expect("lock").contains_key(&key(eid))
    })
    .await;
    let attempts = office
        .get(&format!("/v1/office/deliveries/{}", event_of[0]))
        .await;
    let outcomes: Vec<&str> = attempts["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes.last(), Some(&"delivered"));
    assert!(outcomes.contains(&"retry"), "{outcomes:?}");
    // One token served the whole day.
    assert_eq!(far.tokens.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_deliver_each_outcome_once() {
    let pg = fieldbook_e2e::pg::PgCluster::start()
        .expect("PostgreSQL 15 must be installed for this test");
    let (base, far) = far_end().await;
    far.down.store(true, Ordering::SeqCst);
    let a = server_with(Storage::Postgres(pg.url.clone()), &base).await;
    let b = server_with(Storage::Postgres(pg.url.clone()), &base).await;
    let office = Office::new(a.addr);
    let (session, appts) = field_day(&office, 31).await;
    let phone = SyncDevice::enrol(&office, "sup-1", &format!("http://{}", b.addr), None).await;
    let mut ids = Vec::new();
    for appt in &appts[..30] {
        let p = payloads::outcome(&session, appt, "ATTC");
        ids.push(phone.store.append(payloads::draft(&p)).expect("append").id);
    }
    phone.sync().await.expect("sync");
    // Both instances find all thirty due at once.
    far.down.store(false, Ordering::SeqCst);
    eventually("all thirty", || async {
        far.applied.lock().expect("lock").len() == 30
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let applied = far.applied.lock().expect("lock").clone();
    assert!(
        applied.values().all(|(times, _)| *times == 1),
        "{applied:?}"
    );
    assert!(far.problems.lock().expect("lock").is_empty());
    let delivered = deliveries(&office, "delivered").await;
    assert_eq!(delivered.len(), 30);
    a.shutdown().await;
    b.shutdown().await;
}

fn visit_recorded(case: &str) -> Payload {
    use fieldbook_core::events::payload::VisitRecorded;
    use fieldbook_core::home_visits::model::VisitForm;
    use fieldbook_core::vocab::Stamp;
    let start = Stamp {
        utc_ms: 1_795_424_400_000,
        offset_min: 0,
    };
    Payload::VisitRecorded(Box::new(VisitRecorded {
        visit_id: RecordId::random().expect("id"),
        case_id: RecordId::parse(case).expect("id"),
        crn: "X700001".into(),
        contact_type: "CHVS".into(),
        planned: false,
        scheduled_visit_id: None,
        arranged: true,
        respond_by: None,
        address: "1 Road".into(),
        purpose: "Check".into(),
        start,
        end: Some(Stamp {
            utc_ms: start.utc_ms + 1_800_000,
            offset_min: 0,
        }),
        start_location: None,
        end_location: None,
        form: VisitForm {
            outcome: Some("ATTC".into()),
            officers_present: vec!["po-1".into()],
            people_present: vec![],
            accommodation: None,
            risk_concerns: String::new(),
            safeguarding_concerns: String::new(),
            visor: false,
            follow_ups: vec![],
            enforcement: None,
            notes: "Seen at home".into(),
            sensitive: false,
            no_answer: false,
        },
        policy_version: "test".into(),
    }))
}

/// What the contacts endpoint received: (idempotency key, body).
type Contacts = Arc<Mutex<Vec<(String, Value)>>>;

async fn contacts(State(got): State<Contacts>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !authorised(&headers) || key.is_empty() {
        return StatusCode::UNAUTHORIZED;
    }
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    got.lock().expect("lock").push((key, v));
    StatusCode::CREATED
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_visit_contacts_go_to_the_contacts_endpoint_or_are_marked_off() {
    let (base, _far) = far_end().await;
    let got: Contacts = Arc::default();
    let app = axum::Router::new()
        .route("/contacts", axum::routing::post(contacts))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let contacts_url = format!("http://{}/contacts", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    for with_contacts in [true, false] {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = test_config(Storage::Sqlite(dir.path().join("office.db")));
        let mut d = delivery(&base);
        if with_contacts {
            d.contacts_url = Some(contacts_url.clone());
        }
        config.delivery = Some(d);
        let server = start(config).await.expect("server");
        let office = Office::new(server.addr);
        office.officer("po-1", "probation_officer").await;
        let case = RecordId::random().expect("id").to_string();
        office
            .reference("hv_case", &case, json!({ "crn": "X700001", "name": "Casey", "restricted": false,
                "addresses": [{ "id": "home", "text": "1 Road", "access_notes": "", "main": true }],
                "risk_level": "medium", "registrations": [], "staff_risks": [], "known_occupants": [],
                "assessment": "current", "supervision_start": "2026-01-01", "last_visit": null }), &["po-1"], &[])
            .await;
        let phone =
            SyncDevice::enrol(&office, "po-1", &format!("http://{}", server.addr), None).await;
        let recorded = visit_recorded(&case);
        let Payload::VisitRecorded(v) = &recorded else {
            unreachable!("a visit record")
        };
        // Its record belongs to a visit this device started.
        let started =
            Payload::VisitStarted(Box::new(fieldbook_core::events::payload::VisitStarted {
                visit_id: v.visit_id.clone(),
                case_id: v.case_id.clone(),
                crn: v.crn.clone(),
                planned: false,
                scheduled_visit_id: None,
                arranged: true,
                address: v.address.clone(),
                purpose: v.purpose.clone(),
                officers_present: vec!["po-1".into()],
                start: v.start,
                expected_finish_ms: v.start.utc_ms + 1_800_000,
                location: None,
                warnings: vec![],
            }));
        phone
            .store
            .append(payloads::draft(&started))
            .expect("start");
        let e = phone
            .store
            .append(payloads::draft(&recorded))
            .expect("append")
            .id;
        let r = phone.sync().await.expect("sync");
        assert_eq!(
            r.accepted,
            2,
            "{r:?} {:?}",
            phone
                .store
                .quarantined()
                .expect("q")
                .first()
                .map(|q| q.1.clone())
        );
        let want = if with_contacts { "delivered" } else { "off" };
        eventually("the contact's delivery state", || async {
            deliveries(&office, want)
                .await
                .iter()
                .any(|d| d["event_id"] == e.as_str())
        })
        .await;
        if with_contacts {
            let got = got.lock().expect("lock").clone();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, format!("fieldbook-{e}"));
            assert_eq!(got[0].1["contactType"], "CHVS");
            assert_eq!(got[0].1["outcomeCode"], "ATTC");
            assert_eq!(
                (got[0].1["startTime"].as_str(), got[0].1["endTime"].as_str()),
                (Some("09:00"), Some("09:30"))
            );
        }
        server.shutdown().await;
    }
    assert_eq!(
        got.lock().expect("lock").len(),
        1,
        "nothing sent when contacts are off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_imported_from_the_far_end_and_a_failed_import_changes_nothing() {
    let (base, far) = far_end().await;
    let dir = tempfile::tempdir().expect("tmp");
    let server = server_with(Storage::Sqlite(dir.path().join("office.db")), &base).await;
    let office = Office::new(server.addr);
    office.officer("sup-1", "supervisor").await;
    let project = RecordId::random().expect("id").to_string();
    let session = RecordId::random().expect("id").to_string();
    let days = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    office
        .reference("upw_project", &project, json!({ "code": "N56PARK", "name": "Park",
            "project_type": "group_placement", "travel_time_eligible": false, "address": "Park Rd",
            "beneficiary": "Council", "site_contact": "Office", "hi_vis_required": true, "hazards": "",
            "risk_notes": "", "available_days": days, "available_from": "00:00:00",
            "available_until": "23:59:00" }), &["sup-1"], &[])
        .await;
    office
        .reference(
            "upw_session",
            &session,
            json!({ "project_id": project, "date": "2026-11-23",
            "planned_start": "09:00:00", "planned_end": "16:00:00", "supervisor_id": "sup-1",
            "pick_up_point": null, "pick_up_time": null }),
            &["sup-1"],
            &[],
        )
        .await;
    let mut appts = Vec::new();
    for crn in ["X100001", "X100002", "X100003", "X100004"] {
        let a = RecordId::random().expect("id").to_string();
        office
            .reference(
                "upw_appointment",
                &a,
                json!({ "session_id": session, "requirement_id": null,
                "crn": crn, "allocated": true, "agreed_absence": null }),
                &["sup-1"],
                &[],
            )
            .await;
        appts.push(a);
    }
    // The far end: the first two match once, the third twice, the fourth
    // not at all.
    *far.appointments.lock().expect("lock") = vec![
        ("N56PARK".into(), "2026-11-23".into(), "X100001".into(), 701),
        ("N56PARK".into(), "2026-11-23".into(), "X100002".into(), 702),
        ("N56PARK".into(), "2026-11-23".into(), "X100003".into(), 703),
        ("N56PARK".into(), "2026-11-23".into(), "X100003".into(), 704),
        ("N56PARK".into(), "2026-11-24".into(), "X100004".into(), 705),
    ];
    let req =
        json!({ "team_code": "N56T01", "start_date": "2026-11-23", "end_date": "2026-11-23" });
    // Down: refused, and nothing written.
    far.down.store(true, Ordering::SeqCst);
    let (s, v) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-links",
            Some(req.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!(
        server
            .state
            .db
            .appointment_link(&appts[0])
            .await
            .expect("db"),
        None
    );
    far.down.store(false, Ordering::SeqCst);
    let (s, v) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-links",
            Some(json!({ "team_code": "N56T01", "start_date": "2026-11-23", "end_date": "2027-11-23" })),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "more than 31 days: {v}"
    );
    let (s, report) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-links",
            Some(req),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["linked"], 2);
    assert_eq!(report["ambiguous"], json!([appts[2]]));
    assert_eq!(report["unmatched"], json!([appts[3]]));
    let link = server
        .state
        .db
        .appointment_link(&appts[1])
        .await
        .expect("db")
        .expect("linked");
    assert_eq!(link.delius_id, 702);
    assert_eq!(link.delius_version, "7a0b6c1e-0000-4000-8000-000000000702");
    assert_eq!(link.project_code, "N56PARK");
    server.shutdown().await;
}

/// The far end's read shapes for one person missing from Fieldbook: three
/// people allocated to one session, of whom Fieldbook holds requirements
/// (loaded by CSV, with the order dates the API does not carry) for two.
async fn people_by_csv(office: &Office) -> (String, String) {
    let (r1, r2) = (
        RecordId::random().expect("id").to_string(),
        RecordId::random().expect("id").to_string(),
    );
    let csv = format!(
        "id,audience,crn,name,restricted:json,risk_level,registrations:json,hours_required:json,minutes_credited_office:json,order_start,order_end\n\
         {r1},,X100001,Alex Example,false,medium,[],100,0,2026-01-05,2027-01-04\n\
         {r2},,X100002,Sam Sample,false,low,[],80,0,2026-02-02,2027-02-01\n"
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/office/import/upw_requirement", office.base))
        .bearer_auth(OFFICE_TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.text().await);
    (r1, r2)
}

fn far_day() -> FarAppointments {
    vec![
        ("N56PARK".into(), "2026-11-23".into(), "X100001".into(), 801),
        ("N56PARK".into(), "2026-11-23".into(), "X100002".into(), 802),
        ("N56PARK".into(), "2026-11-23".into(), "X100003".into(), 803),
    ]
}

async fn items(server: &RunningServer, entity: &str) -> Vec<(String, Value)> {
    server
        .state
        .db
        .reference_items(entity)
        .await
        .expect("db")
        .into_iter()
        .map(|(id, d)| (id, serde_json::from_str(&d).expect("json")))
        .collect()
}

/// Reference data from the far end's read endpoints: a record that does
/// not validate (a negative requirement) fails the whole import and writes
/// nothing; the import then creates the project, session and appointments
/// (each linked to nDelius), updates the people Fieldbook holds, reports
/// the one it does not; the supervisor's device pulls them; an outcome on
/// an imported appointment reaches the far end's appointment; a repeat
/// import changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_is_imported_from_the_far_end_through_the_csv_validation() {
    use fieldbook_core::unpaid_work::model as upw;
    let (base, far) = far_end().await;
    let dir = tempfile::tempdir().expect("tmp");
    let server = server_with(Storage::Sqlite(dir.path().join("office.db")), &base).await;
    let office = Office::new(server.addr);
    office.officer(SUPERVISOR, "supervisor").await;
    let (r1, r2) = people_by_csv(&office).await;
    *far.appointments.lock().expect("lock") = far_day();
    far.limited.lock().expect("lock").insert("X100002".into());
    let req =
        json!({ "team_code": "N56T01", "start_date": "2026-11-23", "end_date": "2026-11-23" });

    // One bad record: nothing at all is written.
    far.minutes
        .lock()
        .expect("lock")
        .insert("X100002".into(), -60);
    let (s, v) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-reference",
            Some(req.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert_eq!(v["error"], "invalid_reference", "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("upw_requirement")),
        "{v}"
    );
    assert!(items(&server, "upw_project").await.is_empty());
    assert!(items(&server, "upw_session").await.is_empty());
    assert!(items(&server, "upw_appointment").await.is_empty());
    let people = items(&server, "upw_requirement").await;
    assert!(
        people
            .iter()
            .all(|(_, p)| p["minutes_credited_office"] == 0),
        "people untouched"
    );

    // The far end down: nothing written either.
    far.minutes.lock().expect("lock").clear();
    far.down.store(true, Ordering::SeqCst);
    let (s, _) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-reference",
            Some(req.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    assert!(items(&server, "upw_session").await.is_empty());
    far.down.store(false, Ordering::SeqCst);

    let (s, report) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-reference",
            Some(req.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["projects"], 1);
    assert_eq!(report["sessions"], 1);
    assert_eq!(report["appointments"], 2);
    assert_eq!(report["people"], 2);
    assert_eq!(report["without_requirement"], json!(["X100003"]));
    let projects = items(&server, "upw_project").await;
    assert_eq!(projects.len(), 1);
    let (project_id, project) = &projects[0];
    assert_eq!(project["code"], "N56PARK");
    assert_eq!(project["address"], "1 Park Road, Leeds, LS1 1AA");
    assert_eq!(project["project_type"], "group_placement");
    let sessions = items(&server, "upw_session").await;
    let (session_id, session) = &sessions[0];
    assert_eq!(session["project_id"], project_id.as_str());
    assert_eq!(session["date"], "2026-11-23");
    assert_eq!(session["planned_start"], "09:00:00");
    assert_eq!(session["supervisor_id"], SUPERVISOR);
    assert_eq!(session["pick_up_time"], "08:30:00");
    let appts = items(&server, "upw_appointment").await;
    let appt_of = |crn: &str| {
        appts
            .iter()
            .find(|(_, a)| a["crn"] == crn)
            .map(|(id, a)| (id.clone(), a.clone()))
            .expect("appointment")
    };
    let (a1, appt1) = appt_of("X100001");
    assert_eq!(appt1["requirement_id"], r1.as_str());
    assert_eq!(appt1["session_id"], session_id.as_str());
    assert_eq!(appt_of("X100002").1["requirement_id"], r2.as_str());
    let people: BTreeMap<String, Value> = items(&server, "upw_requirement")
        .await
        .into_iter()
        .collect();
    // What the API says is updated; what only the CSV gave is kept.
    assert_eq!(people[&r1]["minutes_credited_office"], 120);
    assert_eq!(people[&r1]["name"], "Forename801 Surname801");
    assert_eq!(people[&r1]["order_start"], "2026-01-05");
    assert_eq!(people[&r1]["risk_level"], "medium");
    let link = server
        .state
        .db
        .appointment_link(&a1)
        .await
        .expect("db")
        .expect("linked");
    assert_eq!(
        (link.delius_id, link.project_code.as_str()),
        (801, "N56PARK")
    );

    // The supervisor's device pulls what was imported; the restricted
    // person arrives without a name.
    let url = format!("http://{}", server.addr);
    let phone = SyncDevice::enrol(&office, SUPERVISOR, &url, None).await;
    phone.sync().await.expect("pull");
    let on_phone = |id: &str| RecordId::parse(id).expect("id");
    let (s_id, a_id, r2_id) = (on_phone(session_id), on_phone(&a1), on_phone(&r2));
    let held = phone
        .store
        .read(|r| {
            let rec = r.records();
            Ok((
                rec.get::<upw::WorkSession>(&s_id)?,
                rec.get::<upw::Appointment>(&a_id)?,
                rec.get::<upw::Requirement>(&r2_id)?,
                rec.all::<upw::Project>()?,
            ))
        })
        .expect("read");
    assert_eq!(
        held.0.expect("session on the phone").value.supervisor_id,
        SUPERVISOR
    );
    assert_eq!(
        held.1.expect("appointment on the phone").value.crn,
        "X100001"
    );
    assert_eq!(held.2.expect("restricted person").value.name, None);
    assert_eq!(held.3.len(), 1);

    // An outcome on an imported appointment reaches nDelius appointment 801.
    let mut p = payloads::outcome(session_id, &a1, "ATTC");
    if let Payload::Outcome(o) = &mut p {
        o.crn = "X100001".into();
        o.requirement_id = Some(RecordId::parse(&r1).expect("id"));
    }
    phone.store.append(payloads::draft(&p)).expect("append");
    phone.sync().await.expect("push");
    eventually("delivered", || async {
        far.order.lock().expect("lock").contains_key(&801)
    })
    .await;

    // A repeat import updates the same items: no duplicates.
    let (s, _) = office
        .send(
            Method::POST,
            "/v1/office/integration/import-reference",
            Some(req),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(items(&server, "upw_appointment").await.len(), 2);
    assert_eq!(items(&server, "upw_session").await.len(), 1);
    let problems = far.problems.lock().expect("lock").clone();
    assert!(problems.is_empty(), "{problems:?}");
    server.shutdown().await;
}

/// With `--cp-import-team` and `--cp-import-reference` the import runs on
/// the reference schedule, with no office call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_import_runs_on_its_schedule() {
    let (base, far) = far_end().await;
    *far.appointments.lock().expect("lock") = far_day();
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = test_config(Storage::Sqlite(dir.path().join("office.db")));
    let mut d = delivery(&base);
    d.import_team = Some("N56T01".into());
    d.import_reference = true;
    d.references_every = Duration::from_millis(200);
    config.delivery = Some(d);
    let server = start(config).await.expect("server");
    let office = Office::new(server.addr);
    office.officer(SUPERVISOR, "supervisor").await;
    people_by_csv(&office).await;
    eventually("the scheduled import", || async {
        server
            .state
            .db
            .reference_items("upw_appointment")
            .await
            .expect("db")
            .len()
            == 2
    })
    .await;
    let before = far.reads.load(Ordering::SeqCst);
    eventually("a second scheduled run", || async {
        far.reads.load(Ordering::SeqCst) > before
    })
    .await;
    assert_eq!(items(&server, "upw_session").await.len(), 1);
    let audit = fieldbook_server::console::audit::recent(
        &server.state.db,
        10,
        Some("system:community-payback-schedule"),
    )
    .await
    .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.what == "reference import" && e.detail.contains("2 appointment(s)")),
        "{audit:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_the_office_corrects_reaches_the_far_end_once_after_the_versions() {
    use fieldbook_server::console::conflicts;
    let (base, far) = far_end().await;
    let dir = tempfile::tempdir().expect("tmp");
    let server = server_with(Storage::Sqlite(dir.path().join("office.db")), &base).await;
    let office = Office::new(server.addr);
    let url = format!("http://{}", server.addr);
    let (session, appts) = field_day(&office, 2).await;
    let appt = &appts[0];
    // Two phones record the appointment differently while the far end is
    // down.
    far.down.store(true, Ordering::SeqCst);
    let mut versions = Vec::new();
    for code in ["ATTC", "ATSH"] {
        let phone = SyncDevice::enrol(&office, "sup-1", &url, None).await;
        let p = payloads::outcome(&session, appt, code);
        versions.push(phone.store.append(payloads::draft(&p)).expect("append").id);
        let report = phone.sync().await.expect("sync");
        assert_eq!(report.accepted, 1, "{report:?}");
    }
    let db = &server.state.db;
    let record = conflicts::record(db, appt)
        .await
        .expect("db")
        .expect("a conflict");
    assert_eq!(record.versions.len(), 2);
    // The office corrects it to an enforceable outcome.
    let asked = conflicts::Asked {
        choice: "correct".into(),
        code: "AFTC".into(),
        minutes: "240".into(),
        reason: "Left early: site log".into(),
    };
    let fix = conflicts::check(&record.versions, &asked).expect("valid");
    assert!(
        conflicts::resolve(db, appt, &fix, &record.versions, "acct-1", wall_now())
            .await
            .expect("db")
    );
    // Resolving again (a double submit) records nothing more.
    assert!(
        !conflicts::resolve(db, appt, &fix, &record.versions, "acct-1", wall_now())
            .await
            .expect("db")
    );
    // The office API reads the correction as the console does.
    let attendance = office.get("/v1/office/attendance").await;
    let now = attendance
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["payload"]["appointment_id"] == appt.as_str())
        .expect("the appointment")
        .clone();
    assert_eq!(now["payload"]["code"], "AFTC", "{now}");
    assert_eq!(now["payload"]["minutes_credited"], 240);
    // It says the payload is the office's, not the one the device signed.
    assert_eq!(now["office_corrected"], true, "{now}");
    for e in attendance.as_array().expect("a list") {
        if e["payload"]["appointment_id"] != appt.as_str() {
            assert_eq!(e["office_corrected"], false, "{e}");
        }
    }
    let signed = office.get("/v1/office/events").await;
    let signed_versions: Vec<&Value> = signed
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["payload"]["appointment_id"] == appt.as_str())
        .collect();
    assert_eq!(signed_versions.len(), 2, "both phones' versions: {signed}");
    assert!(
        signed_versions
            .iter()
            .all(|e| e["office_corrected"] == false && e["payload"]["code"] != "AFTC"),
        "the signed events keep the devices' own payloads: {signed}"
    );
    let queue = office.get("/v1/office/enforcement").await;
    assert!(
        queue
            .as_array()
            .expect("a list")
            .iter()
            .any(|i| i["appointment_id"] == appt.as_str() && i["step"] == "warning_or_referral"),
        "the corrected, enforceable outcome is in the queue: {queue}"
    );
    far.down.store(false, Ordering::SeqCst);
    eventually("all delivered", || async {
        deliveries(&office, "pending").await.is_empty()
    })
    .await;
    let problems = far.problems.lock().expect("lock").clone();
    assert!(problems.is_empty(), "{problems:?}");
    let applied = far.applied.lock().expect("lock").clone();
    let order = far.order.lock().expect("lock")[&1000].clone();
    assert_eq!(order.len(), 3, "each version and the resolution: {order:?}");
    assert_eq!(
        order[..2].iter().collect::<BTreeSet<_>>(),
        versions
            .iter()
            .map(|v| format!("fieldbook-{v}"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<BTreeSet<_>>(),
        "the devices' versions first"
    );
    assert!(order[2].starts_with("fieldbook-resolution-"), "{order:?}");
    assert!(applied.values().all(|(times, _)| *times == 1), "each once");
    let resolved = &applied[&order[2]].1;
    assert_eq!(resolved["contactOutcomeId"], outcome_uuid("AFTC"));
    assert_eq!(resolved["supervisorOfficerCode"], "sup-1");
    assert_eq!(
        (resolved["startTime"].as_str(), resolved["endTime"].as_str()),
        (Some("09:00"), Some("16:00")),
        "the version's times"
    );
    assert!(
        resolved["attendanceData"].is_null(),
        "the version's attendance data (it recorded no arrival)"
    );
    assert_eq!(
        resolved["enforcementData"]["enforcementActionId"], ROM,
        "an enforceable correction carries its enforcement data"
    );
    assert_eq!(
        deliveries(&office, "delivered").await.len(),
        3,
        "the unlinked appointment had nothing"
    );
    server.shutdown().await;
}
