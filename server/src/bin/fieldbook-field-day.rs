//! The main job's demonstration: starts the office server on the embedded
//! default (SQLite) with demonstration data, runs a scripted field day on
//! two devices (a Community Payback supervisor and a probation officer)
//! that capture offline, brings the server back, syncs with visible
//! progress, and prints what the office sees.
//!
//! Afterwards it keeps serving and prints the office console's address and
//! a one-time administrator sign-in, until interrupted; `--exit` ends it
//! after the field day instead (scripted use). `--office-db PATH` keeps the
//! office database there (the API tester serves it as demonstration data).

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

/// One progress bar per device sync.
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new(label: &str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "  {prefix:<11} [{bar:30}] {pos}/{len} events  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        Self(bar)
    }
}

impl SyncObserver for Progress {
    fn progress(&self, p: SyncProgress) {
        use fieldbook_core::sync::SyncPhase as P;
        self.0.set_length(p.total);
        self.0.set_position(p.sent);
        self.0.set_message(match p.phase {
            P::Status => "asking the office".to_owned(),
            P::Push => "sending".to_owned(),
            P::Pull => format!("{} reference changes received", p.pulled),
            P::Shredding => "erasing this device".to_owned(),
            P::Done => "done".to_owned(),
        });
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

/// "1 item", "2 items": the demo is read by people, not parsed.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

/// How the demonstration ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// Keep serving, with a console sign-in, until interrupted.
    Serve,
    /// Stop after the field day.
    Exit,
}

async fn run(
    dir: &Path,
    db: std::path::PathBuf,
    after: After,
    assets: Option<std::path::PathBuf>,
) -> Res<()> {
    let config = |listen| {
        let mut c = ServerConfig::new(listen, Storage::Sqlite(db.clone()), TOKEN.into());
        // GOV.UK Frontend from npm when scripts/demo.sh could install it.
        c.console.assets_dir = assets.clone();
        // The demonstration enrols its devices in a burst from loopback.
        c.limits.enrolments_per_minute = 1_000;
        c
    };
    // The usual port, so the console's address is the one in the README;
    // any free one when it is taken.
    let server = match start(config("127.0.0.1:8787".parse()?)).await {
        Ok(s) => s,
        Err(_) => start(config("127.0.0.1:0".parse()?)).await?,
    };
    let addr = server.addr;
    let base = format!("http://{addr}");
    println!(
        "The office server is running at {base}, keeping its data in {}.",
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
            "The {label}'s phone is enrolled and has received {} of reference data.",
            counted(r.pulled as u64, "item", "items")
        );
    }

    // The signal goes: the server stops.
    server.shutdown().await;
    println!("\nThe signal goes: the office server is stopped, and the phones carry on.");
    let uw = UnpaidWork::new(sup.0.clone());
    let session_id = RecordId::parse(&session)?;
    let roll = uw.roll_call(&session_id)?;
    println!(
        "Roll call at {}: {} people expected.",
        roll.summary.project_name,
        roll.rows.len()
    );
    for row in &roll.rows {
        println!("  {:<16} not yet arrived", row.label);
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
        Ok(r) => println!(
            "The supervisor records that {} attended and complied: {} minutes credited.",
            roll.rows[0].label, r.minutes_credited
        ),
        Err(e) => println!("The attendance was refused: {e}"),
    }
    let dna = uw.did_not_attend(&appointments[1], true)?;
    println!(
        "{} did not attend: recorded as an unacceptable absence{}.",
        roll.rows[1].label,
        if dna.enforcement.is_some() {
            ", and the office must decide on a warning or a breach referral"
        } else {
            ""
        }
    );
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
        "The officer starts a home visit; the lone-worker timer is running{}.",
        if started.warnings.is_empty() {
            String::new()
        } else {
            format!(
                " (the phone shows {} to staff)",
                counted(
                    started.warnings.len() as u64,
                    "recorded risk",
                    "recorded risks"
                )
            )
        }
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
        "The officer checks in safe, ends the visit and records it. Waiting to sync: {} records on the supervisor's phone, {} on the officer's.",
        sup.0.pending_count()?,
        po.0.pending_count()?
    );

    // Back online on the same address.
    let server = start(config(addr)).await?;
    println!("\nThe signal is back. Each phone syncs:");
    for (label, (store, client)) in [("supervisor", &sup), ("officer", &po)] {
        let bar = Progress::new(label);
        let r = client.sync(Some(&bar), &never).await?;
        bar.0.finish();
        println!(
            "  the office stored {} ({} already held, {} refused); {} bytes sent; {} left to send",
            counted(r.accepted as u64, "new record", "new records"),
            r.duplicates,
            r.quarantined,
            r.bytes_sent,
            store.pending_count()?
        );
    }

    println!("\nWhat the office now has:");
    for (path, one, many) in [
        (
            "/v1/office/attendance",
            "attendance record",
            "attendance records",
        ),
        (
            "/v1/office/enforcement",
            "enforcement item waiting for a decision",
            "enforcement items waiting for a decision",
        ),
        (
            "/v1/office/visits",
            "home visit record",
            "home visit records",
        ),
        ("/v1/office/devices", "enrolled device", "enrolled devices"),
    ] {
        let v = office(&http, &base, reqwest::Method::GET, path, None).await?;
        let n = v.as_array().map(Vec::len).unwrap_or(0) as u64;
        println!("  {}", counted(n, one, many));
    }

    println!("\nLone-worker safety:");
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
        "  On a second visit the officer presses the silent alert; the safety lane reaches the office at once ({} safety events).",
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
        "  The office sees an open alert {}{}.",
        match alert["level"].as_str() {
            Some("alert") => "raised by the officer",
            Some("escalated") => "escalated by the office's clock",
            _ => "for an overdue visit",
        },
        if alert["silent"] == true {
            " marked silent (do not ring the phone)"
        } else {
            ""
        }
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
    println!(
        "  A safety monitor acknowledges it. The phone receives it ({}) but shows nothing while the alert is silent.",
        counted(back.acknowledgements as u64, "acknowledgement", "acknowledgements")
    );
    debug_assert!(shown.visits.first().is_some_and(|v| v.office_ack.is_none()));
    let safe = hv.check_in_safe(&second.visit_id)?;
    if let Some(ack) = safe.office_ack {
        println!(
            "  When the officer checks in safe, the phone shows \"The office has acknowledged: {}: {}\".",
            ack.by, ack.note
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
        .map(|t| {
            t.iter()
                .filter_map(|e| e["what"].as_str())
                .map(|w| match w {
                    "started" => "visit started",
                    "silent_alert" => "silent alert raised",
                    "alert" => "alert raised",
                    "acknowledged" => "acknowledged by the office",
                    "ack_seen" => "seen on the officer's phone",
                    other => other,
                })
                .collect()
        })
        .unwrap_or_default();
    println!("  The alert's record: {}.", timeline.join("; "));
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
        "\nThe office holds {} signed events in all.",
        events.as_array().map(Vec::len).unwrap_or(0)
    );
    if after == After::Exit {
        server.shutdown().await;
        println!("Field day complete.");
        return Ok(());
    }
    // A one-time administrator for the demonstration: a random password,
    // shown once, stored only as its argon2id hash.
    let mut b = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| "the random source failed")?;
    let password = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let username = format!("demo-admin-{}", &hex::encode(&b[..3]));
    use fieldbook_server::console::accounts;
    accounts::create(
        &server.state.db,
        accounts::NewAccount {
            username: username.clone(),
            display_name: "Demonstration administrator".into(),
            role: accounts::Role::Administrator,
            teams: vec!["*".into()],
            password: Some(password.clone()),
        },
        chrono::Utc::now().timestamp_millis(),
    )
    .await
    .map_err(|e| format!("cannot create the demonstration administrator: {e}"))?;
    println!("\nField day complete. The office console is open at:\n");
    println!("    {base}/console\n");
    println!("  Sign in as {username} with the password {password}");
    println!("  (shown only now). Today, Safety, Enforcement and People hold the day's captures.");
    println!("\nPress Ctrl-C to stop the server.");
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut kept = None;
    let mut assets = None;
    let mut after = After::Serve;
    let usage = "usage: fieldbook-field-day [--exit] [--office-db PATH] [--console-assets DIR]";
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), kept.is_none()) {
            ("--exit", _) => after = After::Exit,
            ("--office-db", true) => match it.next() {
                Some(p) => kept = Some(std::path::PathBuf::from(p)),
                None => {
                    eprintln!("{usage}");
                    return ExitCode::from(2);
                }
            },
            ("--console-assets", _) => match it.next() {
                Some(p) if std::path::Path::new(p).is_dir() => {
                    assets = Some(std::path::PathBuf::from(p))
                }
                _ => {
                    eprintln!("--console-assets needs an existing folder\n{usage}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{usage}");
                return ExitCode::from(2);
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("fieldbook-field-day-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        eprintln!("cannot create {}", dir.display());
        return ExitCode::FAILURE;
    }
    let db = kept.unwrap_or_else(|| dir.join("office.db"));
    let result = run(&dir, db, after, assets).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("field day failed: {e}");
            ExitCode::FAILURE
        }
    }
}
