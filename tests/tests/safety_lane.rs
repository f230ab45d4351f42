//! The lone-worker safety lane end to end: a real device store and sync
//! client, a real server whose safety clock the test moves, and a local
//! webhook receiver that checks every signature. Two server processes on
//! one PostgreSQL escalate each overdue visit exactly once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use fieldbook_core::events::EventDraft;
use fieldbook_core::home_visits::{HomeVisits, StartVisit};
use fieldbook_core::ids::RecordId;
use fieldbook_e2e::harness::*;
use fieldbook_server::safety::clock::ManualClock;
use fieldbook_server::safety::notify::{self, Webhook};
use fieldbook_server::{start, RunningServer, Storage};
use serde_json::{json, Value};

const SECRET: &str = "webhook-secret-for-tests-0123456789";
const MIN: i64 = 60_000;

/// What the receiver got: (delivery id, event header, body).
type Got = Arc<Mutex<Vec<(String, String, Value)>>>;

/// A local webhook receiver that verifies signatures and can fail the
/// first requests.
struct Receiver {
    url: String,
    got: Got,
    bad_signatures: Arc<AtomicU32>,
    fail_first: Arc<AtomicU32>,
}

#[derive(Clone)]
struct RxState {
    got: Got,
    bad: Arc<AtomicU32>,
    fail_first: Arc<AtomicU32>,
}

async fn receive(State(s): State<RxState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).to_string();
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    if !notify::verify(
        SECRET.as_bytes(),
        &header(notify::H_SIGNATURE),
        &text,
        wall_now(),
        5 * MIN,
    ) {
        s.bad.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    if s.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    s.got
        .lock()
        .expect("lock")
        .push((header(notify::H_DELIVERY), header(notify::H_EVENT), v));
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn start(fail_first: u32) -> Receiver {
        let state = RxState {
            got: Arc::default(),
            bad: Arc::default(),
            fail_first: Arc::new(AtomicU32::new(fail_first)),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            got: state.got,
            bad_signatures: state.bad,
            fail_first: state.fail_first,
        }
    }

    fn kinds(&self) -> Vec<String> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, k, _)| k.clone())
            .collect()
    }
}

/// A server on SQLite whose safety clock is `clock`, notifying `rx`.
async fn safety_server(dir: &std::path::Path, clock: &ManualClock, rx: &Receiver) -> RunningServer {
    let mut config = test_config(Storage::Sqlite(dir.join("office.db")));
    config.safety.clock = Arc::new(clock.clone());
    config.safety.tick_ms = 20;
    config.safety.retry_base_ms = 1_000;
    config.safety.notifiers = vec![Arc::new(
        Webhook::new(&rx.url, SECRET.as_bytes()).expect("webhook"),
    )];
    start(config).await.expect("server")
}

fn case_data(crn: &str) -> Value {
    json!({
        "crn": crn, "name": "Casey Person", "restricted": false,
        "addresses": [{ "id": "home", "text": "1 Secret Road", "access_notes": "", "main": true }],
        "risk_level": "medium", "registrations": [], "staff_risks": [], "known_occupants": [],
        "assessment": "current", "supervision_start": "2026-01-01", "last_visit": null
    })
}

/// An officer with `cases` cases, enrolled and pulled.
async fn officer_with_cases(office: &Office, url: &str, cases: usize) -> (SyncDevice, Vec<String>) {
    office.officer("po-1", "probation_officer").await;
    let mut ids = Vec::new();
    for i in 0..cases {
        let id = RecordId::random().expect("id").to_string();
        office
            .reference(
                "hv_case",
                &id,
                case_data(&format!("X70{i:04}")),
                &["po-1"],
                &[],
            )
            .await;
        ids.push(id);
    }
    let phone = SyncDevice::enrol(office, "po-1", url, None).await;
    phone.sync().await.expect("pull the caseload");
    (phone, ids)
}

fn start_visit(hv: &HomeVisits, case: &str, minutes: i64) -> RecordId {
    hv.start_visit(StartVisit {
        arranged: true,
        manager_override: None,
        case_id: RecordId::parse(case).expect("id"),
        address_id: None,
        scheduled_visit_id: None,
        purpose: "Check".into(),
        officers_present: vec!["po-1".into()],
        expected_minutes: minutes,
        location_consent: false,
        location: None,
    })
    .expect("start")
    .visit_id
}

async fn lane(phone: &SyncDevice) -> fieldbook_core::sync::SafetyLaneReport {
    phone.device.clock.set_wall_ms(wall_now());
    phone
        .client
        .send_safety(&AtomicBool::new(false))
        .await
        .expect("safety lane")
}

/// Polls `f` until it gives `Some`, for up to 10 seconds.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..500 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn live_alerts(office: &Office) -> Vec<Value> {
    office
        .get("/v1/office/alerts")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_escalates_a_silent_phone_on_its_own_clock_and_the_acknowledgement_reaches_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let rx = Receiver::start(0).await;
    let t0 = wall_now();
    let clock = ManualClock::at(t0);
    let server = safety_server(dir.path(), &clock, &rx).await;
    let office = Office::new(server.addr);
    let url = format!("http://{}", server.addr);
    let (phone, cases) = officer_with_cases(&office, &url, 1).await;
    let hv = HomeVisits::new(phone.store.clone());
    let visit = start_visit(&hv, &cases[0], 30);
    let finish = hv.tick().expect("tick").visits[0].expected_finish_ms;
    // The start reaches the office on the lane alone: nothing was pushed.
    let sent = lane(&phone).await;
    assert_eq!((sent.confirmed, sent.unconfirmed), (1, 0), "{sent:?}");
    assert!(office
        .get("/v1/office/events?prefix=visit.")
        .await
        .as_array()
        .expect("array")
        .is_empty());
    // Then the phone goes silent. One millisecond before expected finish
    // plus grace, nothing; at it, overdue; 15 minutes later, escalated.
    clock.set(finish + 15 * MIN - 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(live_alerts(&office).await.is_empty());
    clock.set(finish + 15 * MIN);
    let alerts = eventually("overdue", || async {
        let a = live_alerts(&office).await;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["level"], "overdue");
    assert_eq!(alerts[0]["visit_id"], visit.to_string());
    let alert_id = alerts[0]["alert_id"].as_str().expect("id").to_owned();
    clock.set(finish + 30 * MIN - 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(live_alerts(&office).await[0]["level"], "overdue");
    clock.set(finish + 30 * MIN);
    eventually("escalated", || async {
        (live_alerts(&office).await[0]["level"] == "escalated").then_some(())
    })
    .await;
    eventually("two notices", || async {
        (rx.kinds().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(rx.kinds(), vec!["safety.overdue", "safety.escalated"]);
    assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
    // The notices carry ids and times, never the case's details.
    for (_, _, body) in rx.got.lock().expect("lock").iter() {
        let text = body.to_string();
        for secret in ["X700000", "Casey", "Secret Road"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(body["alert_id"], alert_id.as_str());
        assert_eq!(body["case_id"], cases[0].as_str());
        assert_eq!(body["officer_id"], "po-1");
    }
    // Monitoring sees it too.
    let metrics = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("fieldbook_safety_alerts_open 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fieldbook_safety_notices_failed 0\n"),
        "{metrics}"
    );
    // Acknowledged at the office, with a note for the officer.
    let path = format!("/v1/office/alerts/{alert_id}/acknowledge");
    let (s, v) = office
        .send(Method::POST, &path, Some(json!({ "by": "", "note": "x" })))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = office
        .send(
            Method::POST,
            &path,
            Some(json!({ "by": "Sam Monitor", "note": "Calling you now" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "acknowledged");
    let (s, _) = office
        .send(Method::POST, &path, Some(json!({ "by": "Sam Monitor" })))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "acknowledged once");
    // The phone comes back: it receives the acknowledgement, shows it,
    // and tells the office it has it.
    let back = lane(&phone).await;
    assert_eq!(back.acknowledgements, 1, "{back:?}");
    let view = hv.tick().expect("tick");
    let ack = view.visits[0]
        .office_ack
        .clone()
        .expect("shown on the phone");
    assert_eq!(
        (ack.by.as_str(), ack.note.as_str()),
        ("Sam Monitor", "Calling you now")
    );
    assert_eq!(lane(&phone).await.acknowledgements, 0, "once");
    let detail = office.get(&format!("/v1/office/alerts/{alert_id}")).await;
    assert!(detail["alert"]["device_seen_ms"].is_i64(), "{detail}");
    let whats: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    assert_eq!(
        whats,
        [
            "started",
            "overdue",
            "escalated",
            "acknowledged",
            "ack_seen"
        ]
    );
    let deliveries = detail["deliveries"].as_array().expect("deliveries");
    assert!(
        deliveries.iter().all(|d| d["outcome"] == "delivered"),
        "{detail}"
    );
    eventually("acknowledged notice", || async {
        rx.kinds()
            .contains(&"safety.acknowledged".to_owned())
            .then_some(())
    })
    .await;
    // The full events still arrive in order with the next sync, and
    // change nothing the lane already told the office.
    phone.sync().await.expect("sync");
    let again = office.get(&format!("/v1/office/alerts/{alert_id}")).await;
    assert_eq!(again["timeline"], detail["timeline"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_clears_overdue_a_silent_alert_escalates_at_once_and_late_facts_keep_the_escalation(
) {
    let dir = tempfile::tempdir().expect("tmp");
    let rx = Receiver::start(0).await;
    let t0 = wall_now();
    let clock = ManualClock::at(t0);
    let server = safety_server(dir.path(), &clock, &rx).await;
    let office = Office::new(server.addr);
    let url = format!("http://{}", server.addr);
    let (phone, cases) = officer_with_cases(&office, &url, 3).await;
    let hv = HomeVisits::new(phone.store.clone());

    // 1. Overdue, then the officer extends: cleared before escalation.
    let v1 = start_visit(&hv, &cases[0], 30);
    lane(&phone).await;
    clock.set(t0 + 46 * MIN);
    eventually("overdue", || async {
        (live_alerts(&office).await.len() == 1).then_some(())
    })
    .await;
    hv.extend(&v1, 60).expect("extend");
    lane(&phone).await;
    assert!(live_alerts(&office).await.is_empty(), "cleared");
    let all = office.get("/v1/office/alerts?all=true").await;
    assert_eq!(all[0]["status"], "cleared");
    clock.set(t0 + 61 * MIN);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(live_alerts(&office).await.is_empty(), "the extension holds");
    hv.end_visit(&v1, None, None).expect("end");
    lane(&phone).await;

    // 2. A silent alert escalates at once, and says it is silent.
    clock.set(wall_now());
    let v2 = start_visit(&hv, &cases[1], 60);
    hv.raise_alert(&v2, true).expect("alert");
    lane(&phone).await;
    let alerts = live_alerts(&office).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0]["level"].as_str(), alerts[0]["silent"].as_bool()),
        (Some("alert"), Some(true))
    );
    eventually("alert notice", || async {
        rx.got
            .lock()
            .expect("lock")
            .iter()
            .find(|(_, k, _)| k == "safety.alert")
            .map(|(_, _, b)| b.clone())
    })
    .await;
    // Checking in afterwards does not close what the office was told.
    hv.check_in_safe(&v2).expect("safe");
    lane(&phone).await;
    assert_eq!(live_alerts(&office).await.len(), 1, "the office closes it");
    let id2 = live_alerts(&office).await[0]["alert_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, _) = office
        .send(
            Method::POST,
            &format!("/v1/office/alerts/{id2}/resolve"),
            Some(json!({ "by": "Sam Monitor", "note": "Spoke to the officer" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(live_alerts(&office).await.is_empty());
    hv.end_visit(&v2, None, None).expect("end");
    lane(&phone).await;

    // 3. Offline: the officer extends with no signal; the office escalates
    // on what it knows; the late extension is recorded, the escalation
    // stays.
    let t3 = wall_now();
    clock.set(t3);
    let v3 = start_visit(&hv, &cases[2], 30);
    lane(&phone).await;
    hv.extend(&v3, 5).expect("extend while offline");
    clock.set(t3 + 61 * MIN);
    eventually("escalated", || async {
        live_alerts(&office)
            .await
            .first()
            .filter(|a| a["level"] == "escalated")
            .cloned()
    })
    .await;
    phone.sync().await.expect("back online");
    let alerts = live_alerts(&office).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["level"], "escalated", "the escalation stays");
    let id3 = alerts[0]["alert_id"].as_str().expect("id");
    let detail = office.get(&format!("/v1/office/alerts/{id3}")).await;
    let late = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["what"] == "extended")
        .cloned()
        .expect("the late extension is on the timeline");
    assert_eq!(late["late"], true, "{late}");
    assert!(late["at_ms"].as_i64() < late["received_ms"].as_i64());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_are_retried_with_one_delivery_id_and_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let rx = Receiver::start(2).await;
    let t0 = wall_now();
    let clock = ManualClock::at(t0);
    let server = safety_server(dir.path(), &clock, &rx).await;
    let office = Office::new(server.addr);
    let url = format!("http://{}", server.addr);
    let (phone, cases) = officer_with_cases(&office, &url, 1).await;
    let hv = HomeVisits::new(phone.store.clone());
    let v = start_visit(&hv, &cases[0], 60);
    hv.raise_alert(&v, false).expect("alert");
    lane(&phone).await;
    // The receiver fails twice; retries wait 1 s, then 2 s on the
    // safety clock.
    let got = eventually("delivered after retries", || {
        clock.advance(1_000);
        async { rx.got.lock().expect("lock").first().cloned() }
    })
    .await;
    assert_eq!(got.1, "safety.alert");
    assert_eq!(rx.fail_first.load(Ordering::SeqCst), 0);
    let id = live_alerts(&office).await[0]["alert_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let detail = office.get(&format!("/v1/office/alerts/{id}")).await;
    let log: Vec<(i64, String, Option<i64>, String)> = detail["deliveries"]
        .as_array()
        .expect("log")
        .iter()
        .map(|d| {
            (
                d["attempt"].as_i64().unwrap_or(0),
                d["outcome"].as_str().unwrap_or("").to_owned(),
                d["status_code"].as_i64(),
                d["delivery_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        log.iter()
            .map(|l| (l.0, l.1.as_str(), l.2))
            .collect::<Vec<_>>(),
        vec![
            (1, "retry", Some(503)),
            (2, "retry", Some(503)),
            (3, "delivered", Some(204))
        ]
    );
    assert!(
        log.iter().all(|l| l.3 == got.0),
        "one delivery id throughout"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacons_through_faults_are_idempotent_and_never_wait_behind_a_backlog() {
    let dir = tempfile::tempdir().expect("tmp");
    let rx = Receiver::start(0).await;
    let clock = ManualClock::at(wall_now());
    let server = safety_server(dir.path(), &clock, &rx).await;
    let office = Office::new(server.addr);
    let direct = format!("http://{}", server.addr);
    let (phone, cases) = officer_with_cases(&office, &direct, 1).await;
    // Thousands of captures queued, unsent.
    for i in 0..3000 {
        phone
            .store
            .append(EventDraft::new("test.backlog", json!({ "i": i })))
            .expect("append");
    }
    // A "restart" keeps the same server (its clock is the test's).
    let same = server.addr;
    let no_restart: Arc<dyn Fn() -> tokio::task::JoinHandle<SocketAddr> + Send + Sync> =
        Arc::new(move || tokio::spawn(async move { same }));
    let proxy = FaultProxy::start(server.addr, 7, no_restart).await;
    let phone = SyncDevice {
        client: fieldbook_core::sync::SyncClient::new(
            phone.store.clone(),
            fast_config(&format!("http://{}", proxy.addr)),
        )
        .expect("client"),
        ..phone
    };
    let hv = HomeVisits::new(phone.store.clone());
    let v = start_visit(&hv, &cases[0], 30);
    hv.extend(&v, 10).expect("extend");
    hv.check_in_safe(&v).expect("safe");
    // Drops, lost answers, duplicates, replays, 500s, 429s.
    proxy.configure(0.5, 11);
    let mut attempts = 0;
    loop {
        attempts += 1;
        phone.device.clock.set_wall_ms(wall_now());
        let r = phone.client.send_safety(&AtomicBool::new(false)).await;
        if matches!(r, Ok(ref r) if r.unconfirmed == 0) {
            break;
        }
        assert!(attempts < 40, "the lane never got through: {r:?}");
    }
    // Not one backlog event was sent: the lane is not behind the log.
    assert!(office
        .get("/v1/office/events?prefix=test.")
        .await
        .as_array()
        .expect("array")
        .is_empty());
    let clock_state = server
        .state
        .db
        .safety_clock(&v.to_string())
        .await
        .expect("db")
        .expect("the office's clock has the visit");
    let timeline = server
        .state
        .db
        .safety_timeline(&v.to_string())
        .await
        .expect("db");
    let whats: Vec<&str> = timeline.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(
        whats,
        ["started", "extended", "checked_in"],
        "each fact once"
    );
    // The ordered log then delivers everything, still through faults,
    // and the office's clock is unchanged by the repeats.
    proxy.configure(0.2, 12);
    let mut synced = false;
    for _ in 0..40 {
        if phone.sync().await.is_ok() && phone.store.pending_count().expect("pending") == 0 {
            synced = true;
            break;
        }
    }
    assert!(synced, "the backlog eventually syncs");
    let after = server
        .state
        .db
        .safety_timeline(&v.to_string())
        .await
        .expect("db");
    assert_eq!(after.len(), timeline.len(), "no fact applied twice");
    let clock_after = server
        .state
        .db
        .safety_clock(&v.to_string())
        .await
        .expect("db")
        .expect("clock");
    assert_eq!(
        clock_after.expected_finish_ms,
        clock_state.expected_finish_ms
    );
    assert!(
        proxy.counts.faults.load(Ordering::Relaxed) > 0,
        "faults were injected"
    );
    server.shutdown().await;
}

/// The server binary this test build sits beside.
fn server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("fieldbook-server");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

struct Instance {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_instance(db_url: &str, offset_file: &std::path::Path, hook: &str) -> Instance {
    use std::io::BufRead;
    let mut child = std::process::Command::new(server_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db_url,
            "--safety-tick-ms",
            "25",
            "--enrolments-per-minute",
            "1000",
            "--safety-webhook",
            hook,
            "--test-safety-clock-offset-file",
        ])
        .arg(offset_file)
        .env("FIELDBOOK_OFFICE_TOKEN", OFFICE_TOKEN)
        .env("FIELDBOOK_SAFETY_WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("address line");
    let addr = line
        .trim()
        .rsplit("//")
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Instance { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_postgres_escalate_each_visit_exactly_once() {
    let pg = fieldbook_e2e::pg::PgCluster::start()
        .expect("PostgreSQL 15 must be installed for this test");
    let dir = tempfile::tempdir().expect("tmp");
    let offset = dir.path().join("clock-offset");
    std::fs::write(&offset, "0").expect("offset");
    let rx = Receiver::start(0).await;
    let a = spawn_instance(&pg.url, &offset, &rx.url);
    let b = spawn_instance(&pg.url, &offset, &rx.url);
    let office = Office::new(a.addr);
    let url = format!("http://{}", a.addr);
    // One running visit per phone: eight phones, one visit each, their
    // lanes split between the instances.
    const VISITS: usize = 8;
    let (first, cases) = officer_with_cases(&office, &url, VISITS).await;
    let mut phones = vec![first];
    for i in 1..VISITS {
        let url = format!("http://{}", if i % 2 == 0 { a.addr } else { b.addr });
        let phone = SyncDevice::enrol(&office, "po-1", &url, None).await;
        phone.sync().await.expect("pull");
        phones.push(phone);
    }
    for (phone, case) in phones.iter().zip(&cases) {
        start_visit(&HomeVisits::new(phone.store.clone()), case, 30);
        assert_eq!(lane(phone).await.unconfirmed, 0);
    }
    // Both instances' clocks jump past escalation at once.
    std::fs::write(&offset, (61 * MIN).to_string()).expect("offset");
    eventually("every visit escalated and notified", || async {
        let k = rx.kinds();
        (k.iter().filter(|x| *x == "safety.escalated").count() >= VISITS).then_some(())
    })
    .await;
    // Give both instances many more ticks to misbehave.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let got = rx.got.lock().expect("lock").clone();
    let mut per_alert: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (_, kind, body) in &got {
        *per_alert
            .entry((
                body["alert_id"].as_str().unwrap_or("").to_owned(),
                kind.clone(),
            ))
            .or_default() += 1;
    }
    assert_eq!(per_alert.len(), 2 * VISITS, "{per_alert:?}");
    assert!(
        per_alert.values().all(|n| *n == 1),
        "exactly once: {per_alert:?}"
    );
    let office_b = Office::new(b.addr);
    let alerts = office_b.get("/v1/office/alerts").await;
    assert_eq!(alerts.as_array().expect("array").len(), VISITS);
    assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
}
