//! The main job's demonstration: starts the office server on the embedded
//! default (SQLite) with demonstration data, runs a scripted field day on
//! two devices (a Community Payback supervisor and a probation officer)
//! that capture offline, brings the server back, syncs with visible
//! progress, and prints what the office sees.
//!
//! `--office-db PATH` keeps the office database there afterwards (the API
//! tester serves it as demonstration data).

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use fieldbook_core::clock::SystemClock;
use fieldbook_core::home_visits::model::{Accommodation, Condition, Suitability, VisitForm};
use fieldbook_core::home_visits::{HomeVisits, StartVisit};
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::store::{Store, StoreSettings};
use fieldbook_core::sync::{SyncClient, SyncConfig, SyncObserver, SyncProgress};
use fieldbook_core::unpaid_work::policy::OutcomeInput;
use fieldbook_core::unpaid_work::{CheckIn, UnpaidWork};
use fieldbook_server::{start, ServerConfig, Storage};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const TOKEN: &str = "demo-office-token-0123456789";
const PIN: &str = "274913";

struct Printer(&'static str);

impl SyncObserver for Printer {
    fn progress(&self, p: SyncProgress) {
        println!(
            "  [{}] {:?}: sent {}/{} events, {} bytes, {} reference changes",
            self.0, p.phase, p.sent, p.total, p.bytes_sent, p.pulled
        );
    }
}

async fn office(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Res<Value> {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        return Err(format!("office call {path} failed: {status} {text}").into());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn rid() -> Res<String> {
    Ok(RecordId::random()?.to_string())
}

fn device(dir: &Path, name: &str, officer: &str, url: &str) -> Res<(Arc<Store>, SyncClient)> {
    let platform = Arc::new(SoftwareKeyStore::load_or_create(
        &dir.join(format!("{name}.key")),
    )?);
    let store = Arc::new(Store::create(
        &dir.join(format!("{name}.db")),
        StoreSettings::new(officer),
        PIN,
        platform,
        Arc::new(SystemClock),
    )?);
    let client = SyncClient::new(store.clone(), SyncConfig::new(url))?;
    Ok((store, client))
}

async fn run(dir: &Path, db: std::path::PathBuf) -> Res<()> {
    let config = |listen| {
        let mut c = ServerConfig::new(listen, Storage::Sqlite(db.clone()), TOKEN.into());
        // The demonstration enrols its devices in a burst from loopback.
        c.limits.enrolments_per_minute = 1_000;
        c
    };
    let server = start(config("127.0.0.1:0".parse()?)).await?;
    let addr = server.addr;
    let base = format!("http://{addr}");
    println!(
        "office server on {base} (embedded SQLite at {})",
        db.display()
    );
    let http = reqwest::Client::new();
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;

    // Demonstration data.
    office(
        &http,
        &base,
        post.clone(),
        "/v1/office/officers",
        Some(json!({"id": "sup-ada", "name": "Ada Supervisor", "role": "supervisor"})),
    )
    .await?;
    office(
        &http,
        &base,
        post.clone(),
        "/v1/office/officers",
        Some(json!({"id": "po-ben", "name": "Ben Officer", "role": "probation_officer"})),
    )
    .await?;
    let today = chrono::Local::now().date_naive();
    let project = rid()?;
    let session = rid()?;
    let days = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    office(&http, &base, put.clone(), &format!("/v1/office/reference/upw_project/{project}"), Some(json!({"audience": ["sup-ada"], "data": {
        "code": "PARK01", "name": "Riverside Park clean-up", "project_type": "group_placement", "travel_time_eligible": false,
        "address": "Riverside Park", "beneficiary": "Town council", "site_contact": "Park office", "hi_vis_required": true,
        "hazards": "Sharps, water", "risk_notes": "", "available_days": days, "available_from": "00:00:00", "available_until": "23:59:00"}}))).await?;
    office(&http, &base, put.clone(), &format!("/v1/office/reference/upw_session/{session}"), Some(json!({"audience": ["sup-ada"], "data": {
        "project_id": project, "date": today, "planned_start": "00:01:00", "planned_end": "23:58:00", "supervisor_id": "sup-ada",
        "pick_up_point": "Station car park", "pick_up_time": null}}))).await?;
    let mut appointments = Vec::new();
    for (i, (crn, name, restricted)) in [
        ("X100001", "Alex Example", false),
        ("X100002", "Sam Sample", false),
        ("X100003", "Restricted Case", true),
    ]
    .iter()
    .enumerate()
    {
        let req = rid()?;
        let appt = rid()?;
        let restricted_for: Vec<&str> = if *restricted { vec!["sup-ada"] } else { vec![] };
        office(&http, &base, put.clone(), &format!("/v1/office/reference/upw_requirement/{req}"), Some(json!({"audience": ["sup-ada"], "restricted_for": restricted_for, "data": {
            "crn": crn, "name": name, "restricted": false, "photo_ref": format!("photo-{i}"), "risk_level": "low", "registrations": [],
            "hours_required": 120, "minutes_credited_office": 600, "order_start": "2026-01-01",
            "order_end": "2027-12-31"}}))).await?;
        office(&http, &base, put.clone(), &format!("/v1/office/reference/upw_appointment/{appt}"), Some(json!({"audience": ["sup-ada"], "data": {
            "session_id": session, "requirement_id": req, "crn": crn, "allocated": true, "agreed_absence": null}}))).await?;
        appointments.push(RecordId::parse(&appt)?);
    }
    let case = rid()?;
    office(&http, &base, put.clone(), &format!("/v1/office/reference/hv_case/{case}"), Some(json!({"audience": ["po-ben"], "data": {
        "crn": "X200001", "name": "Casey Client", "restricted": false,
        "addresses": [{"id": "home", "text": "12 Example Street", "access_notes": "Flat 2, side door", "main": true}],
        "risk_level": "medium", "registrations": [], "staff_risks": [{"type": "dogs", "detail": "One dog, friendly"}],
        "known_occupants": ["Partner"], "assessment": "current", "supervision_start": "2026-10-01", "last_visit": null}}))).await?;

    // Two devices enrol and pull while connected.
    let sup = device(dir, "supervisor", "sup-ada", &base)?;
    let po = device(dir, "officer", "po-ben", &base)?;
    let never = AtomicBool::new(false);
    for (label, (_, client), officer) in
        [("supervisor", &sup, "sup-ada"), ("officer", &po, "po-ben")]
    {
        let code = office(
            &http,
            &base,
            post.clone(),
            &format!("/v1/office/officers/{officer}/enrolment-codes"),
            None,
        )
        .await?;
        client
            .enrol(code["code"].as_str().unwrap_or_default(), label)
            .await?;
        let r = client.sync(None, &never).await?;
        println!(
            "{label} device enrolled and pulled {} reference changes",
            r.pulled
        );
    }

    // The signal goes: the server stops.
    server.shutdown().await;
    println!("\n-- offline: the office server is stopped --");
    let uw = UnpaidWork::new(sup.0.clone());
    let session_id = RecordId::parse(&session)?;
    let roll = uw.roll_call(&session_id)?;
    println!(
        "roll call at {}: {} people",
        roll.summary.project_name,
        roll.rows.len()
    );
    for row in &roll.rows {
        println!(
            "  {:<16} {:?} actions {:?}",
            row.label, row.status, row.actions
        );
    }
    uw.check_in(
        &appointments[0],
        CheckIn {
            arrival: None,
            identity_checked: true,
            hi_vis_issued: true,
            hi_vis_worn: true,
        },
    )?;
    // Worked three hours: the arrival is edited back to three hours ago.
    let now = fieldbook_core::unpaid_work::now_stamp(&SystemClock);
    let arrival = fieldbook_core::unpaid_work::model::Stamp {
        utc_ms: now.utc_ms - 3 * 3_600_000,
        ..now
    };
    let mut outcome = OutcomeInput::attended("ATTC", arrival, now);
    outcome.notes = "Good work on the footpath".into();
    let attended = uw.record_outcome(&appointments[0], outcome);
    match attended {
        Ok(r) => println!("ATTC recorded: {} minutes credited", r.minutes_credited),
        Err(e) => println!("ATTC refused: {e}"),
    }
    let dna = uw.did_not_attend(&appointments[1], true)?;
    println!("UACP recorded: enforcement step {:?}", dna.enforcement);
    let hv = HomeVisits::new(po.0.clone());
    let started = hv.start_visit(StartVisit {
        arranged: true,
        manager_override: None,
        case_id: RecordId::parse(&case)?,
        address_id: None,
        scheduled_visit_id: None,
        purpose: "Accommodation check".into(),
        officers_present: vec!["po-ben".into()],
        expected_minutes: 30,
        location_consent: false,
        location: None,
    })?;
    println!(
        "home visit started: warnings {:?}, lone-worker timer {:?}",
        started.warnings, started.safety.status
    );
    hv.check_in_safe(&started.visit_id)?;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    hv.end_visit(&started.visit_id, None, None)?;
    hv.save_draft(
        &started.visit_id,
        VisitForm {
            outcome: Some("ATTC".into()),
            officers_present: vec!["po-ben".into()],
            people_present: vec![],
            accommodation: Some(Accommodation {
                suitability: Suitability::Suitable,
                condition: Condition::Good,
                changes: "None".into(),
            }),
            risk_concerns: String::new(),
            safeguarding_concerns: String::new(),
            visor: false,
            follow_ups: vec![],
            enforcement: None,
            notes: "Seen at home; no concerns".into(),
            sensitive: false,
            no_answer: false,
        },
    )?;
    hv.finalise(&started.visit_id)?;
    println!(
        "supervisor has {} events waiting, officer {}",
        sup.0.pending_count()?,
        po.0.pending_count()?
    );

    // Back online on the same address.
    let server = start(config(addr)).await?;
    println!("\n-- online again: syncing --");
    for (label, (store, client)) in [("supervisor", &sup), ("officer", &po)] {
        let printer = Printer(label);
        let r = client.sync(Some(&printer), &never).await?;
        println!(
            "{label}: {} accepted, {} duplicates, {} quarantined; {} bytes sent for {} uncompressed; {} still pending",
            r.accepted, r.duplicates, r.quarantined, r.bytes_sent, r.bytes_uncompressed, store.pending_count()?
        );
    }

    println!("\n-- what the office sees --");
    for path in [
        "/v1/office/attendance",
        "/v1/office/enforcement",
        "/v1/office/ledgers",
        "/v1/office/visits",
        "/v1/office/alerts",
        "/v1/office/devices",
    ] {
        let v = office(&http, &base, reqwest::Method::GET, path, None).await?;
        let items = v.as_array().cloned().unwrap_or_default();
        println!("{path}: {} item(s)", items.len());
        for item in items.iter().take(4) {
            // Payload fields are read where the server reads them.
            let line = match item.get("payload").filter(|p| p.is_object()) {
                Some(p) => {
                    let o = fieldbook_server::payload::outcome_of(p);
                    let code = o
                        .code
                        .or_else(|| fieldbook_server::payload::visit_outcome_of(p))
                        .unwrap_or_else(|| "-".into());
                    format!(
                        "{} crn={} code={code} minutes={} step={}",
                        item["kind"],
                        o.crn.unwrap_or_default(),
                        o.minutes_credited,
                        o.enforcement_step
                    )
                }
                None => item.to_string(),
            };
            println!("    {line}");
        }
    }
    println!("\n-- lone-worker safety lane --");
    // A second visit: the officer presses the silent alert. The lane
    // carries it to the office at once, ahead of anything queued.
    let second = hv.start_visit(StartVisit {
        arranged: false,
        manager_override: None,
        case_id: RecordId::parse(&case)?,
        address_id: None,
        scheduled_visit_id: None,
        purpose: "Unannounced check".into(),
        officers_present: vec!["po-ben".into()],
        expected_minutes: 30,
        location_consent: false,
        location: None,
    })?;
    hv.raise_alert(&second.visit_id, true)?;
    let lane = po.1.send_safety(&never).await?;
    println!(
        "officer's phone: safety lane sent, {} event(s) confirmed by the office's clock",
        lane.confirmed
    );
    let alerts = office(
        &http,
        &base,
        reqwest::Method::GET,
        "/v1/office/alerts",
        None,
    )
    .await?;
    let alert = alerts
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .ok_or("the office has no alert")?;
    println!(
        "office: alert {} level={} silent={} status={}",
        alert["alert_id"].as_str().unwrap_or("-"),
        alert["level"].as_str().unwrap_or("-"),
        alert["silent"],
        alert["status"].as_str().unwrap_or("-")
    );
    let id = alert["alert_id"].as_str().unwrap_or_default().to_owned();
    office(
        &http,
        &base,
        reqwest::Method::POST,
        &format!("/v1/office/alerts/{id}/acknowledge"),
        Some(json!({ "by": "Sam (safety monitor)", "note": "Calling the police now" })),
    )
    .await?;
    let back = po.1.send_safety(&never).await?;
    let shown = hv.tick()?;
    if let Some(ack) = shown.visits.first().and_then(|v| v.office_ack.clone()) {
        println!(
            "officer's phone: {} acknowledgement(s); shows \"the office has acknowledged: {}: {}\"",
            back.acknowledgements, ack.by, ack.note
        );
    }
    let detail = office(
        &http,
        &base,
        reqwest::Method::GET,
        &format!("/v1/office/alerts/{id}"),
        None,
    )
    .await?;
    let timeline: Vec<&str> = detail["timeline"]
        .as_array()
        .map(|t| t.iter().filter_map(|e| e["what"].as_str()).collect())
        .unwrap_or_default();
    println!("office: the alert's timeline: {}", timeline.join(" → "));
    hv.check_in_safe(&second.visit_id)?;
    hv.end_visit(&second.visit_id, None, None)?;
    po.1.sync(None, &never).await?;

    let events = office(
        &http,
        &base,
        reqwest::Method::GET,
        "/v1/office/events",
        None,
    )
    .await?;
    println!(
        "office holds {} signed events in all",
        events.as_array().map(Vec::len).unwrap_or(0)
    );
    server.shutdown().await;
    println!("\nfield day complete");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kept = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--office-db" => Some(std::path::PathBuf::from(path)),
        _ => {
            eprintln!("usage: fieldbook-field-day [--office-db PATH]");
            return ExitCode::from(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("fieldbook-field-day-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        eprintln!("cannot create {}", dir.display());
        return ExitCode::FAILURE;
    }
    let db = kept.unwrap_or_else(|| dir.join("office.db"));
    let result = run(&dir, db).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("field day failed: {e}");
            ExitCode::FAILURE
        }
    }
}
