//! Part 7 of the benchmark, office reads on a year of a region's data.
//!
//! A real server process (embedded SQLite) is seeded through its own
//! paths: reference data by the office API's CSV import, events pushed
//! signed by 20 enrolled simulated devices, decisions through the
//! console's form. Then every console page (as an administrator and as a
//! team-scoped manager) and every office API list is requested in turn,
//! p50 and p95 per page.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use fieldbook_core::crypto::signing::DeviceKey;
use fieldbook_core::events::payload as ev;
use fieldbook_core::events::{hash_bytes, EventBody, Payload, EVENT_FORMAT, GENESIS_HASH};
use fieldbook_core::home_visits::model::{FollowUp, VisitForm};
use fieldbook_core::home_visits::safety::SafetyStatus;
use fieldbook_core::sync::protocol::*;
use fieldbook_core::unpaid_work::model::{Compliance, EnforcementStep, Rating};
use fieldbook_core::vocab::Stamp;
use serde_json::{json, Value};

use crate::ingest::{server, TOKEN};
use crate::report::Table;

const ADMIN_PASSWORD: &str = "bench-admin-password-0123";
const MANAGER_PASSWORD: &str = "bench-manager-password-0123";
/// Supervisors' devices (one each; the first two have a second phone,
/// which records some of the same outcomes: conflicts), and officers'.
const SUPERVISORS: usize = 10;
const OFFICERS: usize = 8;
const PER_SESSION: usize = 9;

/// The region's size.
struct Region {
    weeks: usize,
    sessions_per_week: usize,
    people: usize,
    cases: usize,
    visits_per_case: usize,
}

fn id(tag: u32, n: usize) -> String {
    format!("{tag:08x}{n:024x}")
}

fn sup(i: usize) -> String {
    format!("sup-{:02}", i + 1)
}

fn po(i: usize) -> String {
    format!("po-{:02}", i + 1)
}

/// A CSV cell, quoted when it must be.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn stamp(ms: i64) -> Stamp {
    Stamp {
        utc_ms: ms,
        offset_min: 0,
    }
}

fn midnight_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// A device's events, built and signed in order as its app would chain them.
struct Chain {
    key: DeviceKey,
    officer: String,
    prev: [u8; 32],
    seq: u64,
    out: Vec<PushEvent>,
}

impl Chain {
    fn new(key: DeviceKey, officer: String) -> Self {
        Chain {
            key,
            officer,
            prev: GENESIS_HASH,
            seq: 0,
            out: Vec::new(),
        }
    }
    fn push(&mut self, at_ms: i64, p: &Payload) {
        self.seq += 1;
        let body = EventBody {
            format: EVENT_FORMAT,
            id: fieldbook_core::ids::RecordId::random()
                .expect("rng")
                .to_string(),
            device: self.key.fingerprint(),
            seq: self.seq,
            officer: self.officer.clone(),
            recorded_at_ms: at_ms,
            utc_offset_min: 0,
            monotonic_ms: self.seq,
            kind: p.kind().to_owned(),
            payload: p.to_value().expect("payload"),
            supersedes: None,
            reason: None,
            prev_hash: hex::encode(self.prev),
        };
        let bytes = serde_json::to_vec(&body).expect("json");
        self.prev = hash_bytes(&bytes);
        self.out.push(PushEvent {
            id: body.id,
            seq: self.seq,
            body: PushEvent::encode_body(&bytes),
            signature: hex::encode(self.key.sign(&bytes)),
        });
    }
}

struct Office {
    http: reqwest::Client,
    url: String,
}

impl Office {
    async fn send(&self, r: reqwest::RequestBuilder, what: &str) -> Value {
        let resp = r.bearer_auth(TOKEN).send().await.expect("office");
        let status = resp.status();
        if !status.is_success() {
            panic!("{what}: {status} {}", resp.text().await.unwrap_or_default());
        }
        resp.json().await.unwrap_or(Value::Null)
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(
            self.http.post(format!("{}{path}", self.url)).json(&body),
            path,
        )
        .await
    }
    async fn import(&self, entity: &str, header: &str, rows: &[String]) {
        for chunk in rows.chunks(5000) {
            let mut text = format!("id,audience,{header}\n");
            for r in chunk {
                text.push_str(r);
                text.push('\n');
            }
            let r = self
                .http
                .post(format!("{}/v1/office/import/{entity}", self.url))
                .header("content-type", "text/csv")
                .body(text);
            self.send(r, entity).await;
        }
    }
}

/// What the seeding made, for the item pages.
#[derive(Default)]
struct Seeded {
    events: usize,
    /// Events the server holds (the devices' last sequence numbers), and
    /// how many it refused.
    held: usize,
    refused: usize,
    appointments: usize,
    sessions: usize,
    /// A person (CRN) of the manager's team, and a case.
    crn: String,
    case_id: String,
}

async fn enrol(office: &Office, officer: &str, key: &DeviceKey) -> String {
    let code = office
        .post(
            &format!("/v1/office/officers/{officer}/enrolment-codes"),
            Value::Null,
        )
        .await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    crate::ingest::enrol(&office.http, &office.url, code, key, "bench").await
}

/// Pushes a device's events in batches as its app does (500), retrying a
/// batch the server answers 503 as the app's sync would (a retried batch
/// the server had stored after all comes back as duplicates: held).
/// Returns how many events the server refused (the row's note says so).
async fn push_all(
    office: &Office,
    device_id: &str,
    key: &DeviceKey,
    events: &[PushEvent],
) -> usize {
    let mut refused = 0;
    for batch in events.chunks(500) {
        let body = serde_json::to_vec(&PushRequest {
            events: batch.to_vec(),
        })
        .expect("json");
        let mut attempt = 0;
        let out: PushResponse = loop {
            attempt += 1;
            let ts = chrono::Utc::now().timestamp_millis();
            let nonce = fieldbook_core::ids::RecordId::random()
                .expect("rng")
                .to_string();
            let sig = key.sign(
                &SignedRequest {
                    method: "POST",
                    path_and_query: "/v1/sync/push",
                    device_id,
                    content_encoding: "",
                    body: &body,
                    timestamp_ms: ts,
                    nonce: &nonce,
                }
                .signing_string(),
            );
            let resp = office
                .http
                .post(format!("{}/v1/sync/push", office.url))
                .header(H_DEVICE, device_id)
                .header(H_TIMESTAMP, ts.to_string())
                .header(H_NONCE, nonce)
                .header(H_SIGNATURE, hex::encode(sig))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("push");
            let status = resp.status();
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && attempt < 50 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            assert!(status.is_success(), "push: {status}");
            break resp.json().await.expect("response");
        };
        let held = |r: &PushResult| {
            r.outcome == PushOutcome::Accepted
                || (attempt > 1 && r.outcome == PushOutcome::Duplicate)
        };
        if let Some(r) = out.results.iter().find(|r| !held(r)) {
            eprintln!(
                "  office reads: the server did not hold seq {} (attempt {attempt}): {:?}",
                r.seq, r.outcome
            );
        }
        refused += out.results.iter().filter(|r| !held(r)).count();
    }
    refused
}

/// Reference data by CSV import, then each device's year of events.
async fn seed(office: &Office, r: &Region, today: NaiveDate) -> Seeded {
    let mut seeded = Seeded::default();
    for i in 0..SUPERVISORS {
        office
            .post(
                "/v1/office/officers",
                json!({ "id": sup(i), "name": format!("Supervisor {}", i + 1), "role": "supervisor" }),
            )
            .await;
    }
    for i in 0..OFFICERS {
        office
            .post(
                "/v1/office/officers",
                json!({ "id": po(i), "name": format!("Officer {}", i + 1), "role": "probation_officer" }),
            )
            .await;
    }
    // Five projects per supervisor.
    let projects = SUPERVISORS * 5;
    let days = cell(r#"["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]"#);
    let rows: Vec<String> = (0..projects)
        .map(|p| {
            format!(
                "{},{},P{p:03},Project {p},group_placement,false,{p} Park Road,Town council,Site office,true,Sharps,None known,{days},00:00:00,23:59:00",
                id(1, p),
                sup(p % SUPERVISORS)
            )
        })
        .collect();
    office
        .import("upw_project", "code,name,project_type,travel_time_eligible:json,address,beneficiary,site_contact,hi_vis_required:json,hazards,risk_notes,available_days:json,available_from,available_until", &rows)
        .await;
    // Each person works with one supervisor's sessions.
    let crn = |n: usize| format!("X{:06}", 100_000 + n);
    let rows: Vec<String> = (0..r.people)
        .map(|n| {
            format!(
                "{},{},{},Person {n},false,low,[],120,0,{},{}",
                id(2, n),
                sup(n % SUPERVISORS),
                crn(n),
                today - Days::days(400),
                today + Days::days(400)
            )
        })
        .collect();
    office
        .import("upw_requirement", "crn,name,restricted:json,risk_level,registrations:json,hours_required:json,minutes_credited_office:json,order_start,order_end", &rows)
        .await;
    let total = r.weeks * r.sessions_per_week;
    let first = today - Days::days(i64::try_from(r.weeks * 7).unwrap_or(0) - 1);
    let span = r.weeks * 7;
    let session_date =
        move |s: usize| first + Days::days(i64::try_from(s * span / total).unwrap_or(0));
    let session_sup = |s: usize| s % SUPERVISORS;
    let rows: Vec<String> = (0..total)
        .map(|s| {
            let k = session_sup(s);
            format!(
                "{},{},{},{},09:00:00,16:00:00,{},Station car park",
                id(3, s),
                sup(k),
                id(1, k + SUPERVISORS * (s / SUPERVISORS % 5)),
                session_date(s),
                sup(k)
            )
        })
        .collect();
    office
        .import(
            "upw_session",
            "project_id,date,planned_start,planned_end,supervisor_id,pick_up_point",
            &rows,
        )
        .await;
    let per_sup = r.people / SUPERVISORS;
    // The j-th person of session s: one of its supervisor's people.
    let person = move |s: usize, j: usize| {
        let k = session_sup(s);
        let local = (s / SUPERVISORS * PER_SESSION + j) % per_sup;
        local * SUPERVISORS + k
    };
    let mut rows = Vec::with_capacity(total * PER_SESSION);
    for s in 0..total {
        for j in 0..PER_SESSION {
            let n = person(s, j);
            rows.push(format!(
                "{},{},{},{},{},true",
                id(4, s * PER_SESSION + j),
                sup(session_sup(s)),
                id(3, s),
                id(2, n),
                crn(n)
            ));
        }
    }
    office
        .import(
            "upw_appointment",
            "session_id,requirement_id,crn,allocated:json",
            &rows,
        )
        .await;
    let case_crn = |c: usize| format!("X{:06}", 700_000 + c);
    let addresses = |c: usize| {
        cell(
            &json!([{"id": "home", "text": format!("{c} Example Street"), "access_notes": "", "main": true}])
                .to_string(),
        )
    };
    let rows: Vec<String> = (0..r.cases)
        .map(|c| {
            format!(
                "{},{},{},Case {c},false,{},medium,[],[],[],current,{}",
                id(5, c),
                po(c % OFFICERS),
                case_crn(c),
                addresses(c),
                today - Days::days(400)
            )
        })
        .collect();
    office
        .import("hv_case", "crn,name,restricted:json,addresses:json,risk_level,registrations:json,staff_risks:json,known_occupants:json,assessment,supervision_start", &rows)
        .await;
    seeded.sessions = total;
    seeded.appointments = total * PER_SESSION;
    seeded.crn = crn(0);
    seeded.case_id = id(5, 0);

    // The devices' events, built and signed on every core at once.
    let mut jobs = Vec::new();
    for k in 0..SUPERVISORS + 2 {
        let officer = sup(k % SUPERVISORS);
        let second = k >= SUPERVISORS;
        let key = DeviceKey::generate().expect("key");
        let device = enrol(office, &officer, &key).await;
        jobs.push(tokio::task::spawn_blocking(move || {
            let mut chain = Chain::new(key, officer);
            for s in (0..total).filter(|s| session_sup(*s) == k % SUPERVISORS) {
                let date = session_date(s);
                let day = midnight_ms(date);
                let is_today = date == today;
                // The second phone recorded a few of the same outcomes.
                if second && s % 97 != 0 {
                    continue;
                }
                for j in 0..PER_SESSION {
                    let a = s * PER_SESSION + j;
                    let n = person(s, j);
                    let (appointment_id, session_id, requirement_id) = (
                        fieldbook_core::ids::RecordId::parse(&id(4, a)).expect("id"),
                        fieldbook_core::ids::RecordId::parse(&id(3, s)).expect("id"),
                        fieldbook_core::ids::RecordId::parse(&id(2, n)).expect("id"),
                    );
                    let arrival = day + 9 * 3_600_000 + i64::try_from(j).unwrap_or(0) * 60_000;
                    // 85% attend, 10% fail to (enforcement), 5% absent with reason.
                    let roll = a % 20;
                    if roll < 17 && !second {
                        chain.push(
                            arrival,
                            &Payload::Arrived(ev::Arrived {
                                appointment_id: appointment_id.clone(),
                                session_id: session_id.clone(),
                                requirement_id: Some(requirement_id.clone()),
                                crn: crn(n),
                                arrival: stamp(arrival),
                                identity_checked: true,
                                hi_vis_issued: true,
                                hi_vis_worn: true,
                            }),
                        );
                    }
                    if is_today {
                        continue;
                    }
                    let (code, step, minutes) = match roll {
                        0..17 => ("ATTC", None, 420 - i64::from(second) * 60),
                        17..19 => ("UACP", Some(EnforcementStep::WarningOrReferral), 0),
                        _ => ("AAME", None, 0),
                    };
                    let end = day + 16 * 3_600_000;
                    chain.push(
                        end,
                        &Payload::Outcome(Box::new(ev::OutcomeRecorded {
                            appointment_id,
                            session_id,
                            requirement_id: Some(requirement_id),
                            crn: crn(n),
                            session_date: date,
                            code: code.into(),
                            arrival: (minutes > 0).then(|| stamp(arrival)),
                            departure: (minutes > 0).then(|| stamp(end)),
                            penalty_minutes: 0,
                            work_quality: Rating::Good,
                            behaviour: Rating::Good,
                            notes: "Worked well on the litter pick.".into(),
                            sensitive: false,
                            raise_alert: step.is_some(),
                            travel_minutes: None,
                            compliance: Compliance::default(),
                            ete: false,
                            after_expected_end: false,
                            minutes_credited: minutes,
                            late_by_minutes: None,
                            enforcement_step: step,
                            policy_version: "2026.2".into(),
                        })),
                    );
                }
            }
            (device, chain)
        }));
    }
    let (cases, per_case) = (r.cases, r.visits_per_case);
    for k in 0..OFFICERS {
        let officer = po(k);
        let key = DeviceKey::generate().expect("key");
        let device = enrol(office, &officer, &key).await;
        jobs.push(tokio::task::spawn_blocking(move || {
            let mut chain = Chain::new(key, officer.clone());
            let mut visits: Vec<(i64, usize, usize)> = (0..cases)
                .filter(|c| c % OFFICERS == k)
                .flat_map(|c| {
                    (0..per_case).map(move |t| {
                        let d = (c * 7 + t * span / per_case) % span;
                        (i64::try_from(d).unwrap_or(0), c, t)
                    })
                })
                .collect();
            visits.sort_unstable();
            for (d, c, t) in visits {
                let date = first + Days::days(d);
                let start = midnight_ms(date) + 11 * 3_600_000;
                let visit_id =
                    fieldbook_core::ids::RecordId::parse(&id(6, c * per_case + t)).expect("id");
                let case_id = fieldbook_core::ids::RecordId::parse(&id(5, c)).expect("id");
                let address = format!("{c} Example Street");
                chain.push(
                    start,
                    &Payload::VisitStarted(Box::new(ev::VisitStarted {
                        visit_id: visit_id.clone(),
                        case_id: case_id.clone(),
                        crn: case_crn(c),
                        planned: false,
                        scheduled_visit_id: None,
                        arranged: true,
                        address: address.clone(),
                        purpose: "Accommodation check".into(),
                        officers_present: vec![officer.clone()],
                        start: stamp(start),
                        expected_finish_ms: start + 30 * 60_000,
                        location: None,
                        warnings: vec![],
                    })),
                );
                // A few visits of the last day raised a lone-worker alert
                // and are still open.
                if date == today && c % 50 == 0 {
                    chain.push(
                        start + 60_000,
                        &Payload::VisitSafety(ev::VisitSafety {
                            visit_id,
                            action: "alert".into(),
                            status: SafetyStatus::Alert,
                            silent: Some(false),
                            expected_finish_ms: start + 30 * 60_000,
                            at: stamp(start + 60_000),
                        }),
                    );
                    continue;
                }
                let end = start + 25 * 60_000;
                chain.push(
                    end,
                    &Payload::VisitEnded(ev::VisitEnded {
                        visit_id: visit_id.clone(),
                        end: stamp(end),
                        location: None,
                    }),
                );
                let follow_ups = if (c + t) % 10 == 0 {
                    vec![FollowUp {
                        action: "Check the tenancy agreement".into(),
                        due: date + Days::days(14),
                        done: false,
                    }]
                } else {
                    vec![]
                };
                chain.push(
                    end + 60_000,
                    &Payload::VisitRecorded(Box::new(ev::VisitRecorded {
                        visit_id,
                        case_id,
                        crn: case_crn(c),
                        contact_type: "CHVS".into(),
                        planned: false,
                        scheduled_visit_id: None,
                        arranged: true,
                        respond_by: None,
                        address,
                        purpose: "Accommodation check".into(),
                        start: stamp(start),
                        end: Some(stamp(end)),
                        start_location: None,
                        end_location: None,
                        form: VisitForm {
                            outcome: Some("ATTC".into()),
                            officers_present: vec![officer.clone()],
                            people_present: vec![],
                            accommodation: None,
                            risk_concerns: String::new(),
                            safeguarding_concerns: String::new(),
                            visor: false,
                            follow_ups,
                            enforcement: None,
                            notes: "Seen at home; no concerns.".into(),
                            sensitive: false,
                            no_answer: false,
                        },
                        policy_version: "2026.2".into(),
                    })),
                );
            }
            (device, chain)
        }));
    }
    let mut pushes = Vec::new();
    for job in jobs {
        let (device, chain) = job.await.expect("build");
        seeded.events += chain.out.len();
        pushes.push((device, chain));
    }
    // One device after another: a year arrives over a year, not at once,
    // and twenty devices pushing a year each would only measure ingest.
    for (device, chain) in pushes {
        seeded.refused += push_all(office, &device, &chain.key, &chain.out).await;
    }
    let held: usize = office
        .send(
            office.http.get(format!("{}/v1/office/devices", office.url)),
            "devices",
        )
        .await
        .as_array()
        .map_or(0, |ds| {
            ds.iter()
                .map(|d| usize::try_from(d["last_seq"].as_i64().unwrap_or(0)).unwrap_or(0))
                .sum()
        });
    seeded.held = held;
    seeded
}

/// A console session: its cookie and CSRF token.
struct ConsoleUser {
    http: reqwest::Client,
    url: String,
    cookie: String,
    csrf: String,
}

fn cookie_of(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_owned())
        .unwrap_or_default()
}

impl ConsoleUser {
    async fn sign_in(url: &str, username: &str, password: &str) -> ConsoleUser {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http");
        let page = http
            .get(format!("{url}/console/sign-in"))
            .send()
            .await
            .expect("sign-in page");
        let pre = cookie_of(&page, "fb_signin").expect("pre-session cookie");
        let resp = http
            .post(format!("{url}/console/sign-in"))
            .header("cookie", format!("fb_signin={pre}"))
            .form(&[
                ("username", username),
                ("password", password),
                ("pre", &pre),
            ])
            .send()
            .await
            .expect("sign in");
        let cookie = cookie_of(&resp, "fb_session").expect("signed in");
        let mut user = ConsoleUser {
            http,
            url: url.to_owned(),
            cookie,
            csrf: String::new(),
        };
        let (_, html) = user.get("/console/today").await;
        user.csrf = hidden(&html, "csrf");
        user
    }
    async fn get(&self, path: &str) -> (Duration, String) {
        let t = Instant::now();
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", format!("fb_session={}", self.cookie))
            .send()
            .await
            .expect("page");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let took = t.elapsed();
        assert!(status.is_success(), "{path}: {status}");
        (took, text)
    }
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> String {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        fields.extend_from_slice(form);
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", format!("fb_session={}", self.cookie))
            .header("origin", self.url.clone())
            .form(&fields)
            .send()
            .await
            .expect("form");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success() || status.is_redirection(),
            "{path}: {status}"
        );
        text
    }
}

/// The first link in `html` that starts with `prefix` (and is longer).
fn link(html: &str, prefix: &str) -> Option<String> {
    html.match_indices(&format!("href=\"{prefix}"))
        .filter_map(|(i, _)| {
            let rest = &html[i + 6..];
            rest.split_once('"').map(|(h, _)| h.replace("&amp;", "&"))
        })
        .find(|h| h.len() > prefix.len() && !h.contains('?'))
}

/// p50 and p95 of samples.
fn p50_p95(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    if samples.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    let at = |q: usize| {
        samples[((samples.len() * q).div_ceil(100))
            .saturating_sub(1)
            .min(samples.len() - 1)]
    };
    (at(50), at(95))
}

fn ms1(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Requests each path `n` times and returns each path's p50 and p95 and
/// how many requests were made: a page slow enough to spend its time
/// budget (4 s) stops after two, so one slow page cannot make the run
/// long (the row's note gives the count when it is under ten).
async fn measure(
    user: Option<&ConsoleUser>,
    office: &Office,
    paths: &[String],
    n: usize,
) -> Vec<(String, Duration, Duration, usize)> {
    let budget = Duration::from_secs(4);
    let mut out = Vec::new();
    for p in paths {
        let mut samples = Vec::new();
        let started = Instant::now();
        while samples.len() < n && (samples.len() < 2 || started.elapsed() < budget) {
            let took = match user {
                Some(u) => u.get(p).await.0,
                None => {
                    let t = Instant::now();
                    let resp = office
                        .http
                        .get(format!("{}{p}", office.url))
                        .bearer_auth(TOKEN)
                        .send()
                        .await
                        .expect("office read");
                    let status = resp.status();
                    let _ = resp.bytes().await.expect("body");
                    assert!(status.is_success(), "{p}: {status}");
                    t.elapsed()
                }
            };
            samples.push(took);
        }
        let (a, b) = p50_p95(&mut samples);
        out.push((p.clone(), a, b, samples.len()));
    }
    out
}

fn row(table: &mut Table, what: &str, results: &[(String, Duration, Duration, usize)], note: &str) {
    let Some(worst) = results.iter().max_by_key(|r| r.2) else {
        return;
    };
    let over = results
        .iter()
        .filter(|r| r.2 > Duration::from_millis(100))
        .count();
    let mut list = String::new();
    for (p, a, b, k) in results {
        let _ = write!(list, "{} {}/{}", p, ms1(*a), ms1(*b));
        if *k < 10 {
            let _ = write!(list, " ({k} requests)");
        }
        list.push_str("; ");
    }
    eprintln!("  {what}, per page (p50/p95 ms):");
    for (p, a, b, k) in results {
        eprintln!("    {p:<60} {:>9} {:>9} ({k})", ms1(*a), ms1(*b));
    }
    table.row(
        what,
        format!("worst p95 {} ms ({})", ms1(worst.2), worst.0),
        "target 100 ms".into(),
        format!("{} of {} over", over, results.len()),
        &format!("{note} p50/p95 ms: {}", list.trim_end_matches("; ")),
    );
}

/// 7. A year of a region's data, then every console page and office list.
pub async fn office_reads(table: &mut Table, quick: bool) {
    let region = if quick {
        Region {
            weeks: 52,
            sessions_per_week: 50,
            people: 500,
            cases: 300,
            visits_per_case: 4,
        }
    } else {
        Region {
            weeks: 52,
            sessions_per_week: 500,
            people: 5000,
            cases: 3000,
            visits_per_case: 4,
        }
    };
    let n = if quick { 10 } else { 30 };
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("office.db");
    let exe = std::env::current_exe().expect("exe");
    let bin = exe.with_file_name("fieldbook-server");
    let made = std::process::Command::new(&bin)
        .args(["create-admin", "--username", "admin", "--db"])
        .arg(&db)
        .env("FIELDBOOK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("create-admin");
    assert!(made.success(), "create-admin");
    let srv = server(&["--db".to_owned(), db.display().to_string()]);
    let office = Office {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("http"),
        url: srv.url.clone(),
    };
    let today = chrono::Local::now().date_naive();
    eprintln!(
        "office reads: seeding {} weeks x {} sessions…",
        region.weeks, region.sessions_per_week
    );
    let t = Instant::now();
    let seeded = seed(&office, &region, today).await;
    let seeding = t.elapsed();
    let admin = ConsoleUser::sign_in(&srv.url, "admin", ADMIN_PASSWORD).await;
    // A manager of two supervisors' teams and one officer's.
    admin
        .post(
            "/console/accounts",
            &[
                ("username", "manager"),
                ("name", "Team Manager"),
                ("role", "unpaid_work_manager"),
                ("teams", "sup-01,sup-02,po-01"),
                ("password", MANAGER_PASSWORD),
            ],
        )
        .await;
    let manager = ConsoleUser::sign_in(&srv.url, "manager", MANAGER_PASSWORD).await;
    // Some decisions on enforcement items, through the console's form.
    let (_, queue) = manager.get("/console/enforcement").await;
    let mut decided = 0;
    let mut rest = queue.as_str();
    while decided < 20 {
        let Some(item) = link(rest, "/console/enforcement/") else {
            break;
        };
        rest = rest.split_once(&item).map_or("", |(_, r)| r);
        let html = manager
            .post(
                &item,
                &[
                    ("decision", "breach_referral"),
                    ("note", "Second unacceptable absence."),
                ],
            )
            .await;
        let _ = html;
        decided += 1;
    }
    eprintln!(
        "office reads: seeded in {:.0} s ({} sessions, {} appointments, {} events, {decided} decisions)",
        seeding.as_secs_f64(),
        seeded.sessions,
        seeded.appointments,
        seeded.events
    );

    // Item pages, found the way a user finds them: by a link on the list.
    let (_, enforcement) = manager.get("/console/enforcement").await;
    let (_, conflicts) = admin.get("/console/conflicts").await;
    let (_, devices) = admin.get("/console/devices").await;
    let mut console_pages: Vec<String> = [
        "/console/today",
        "/console/safety",
        "/console/safety/list",
        "/console/enforcement",
        "/console/people",
        "/console/visits",
        "/console/visits?show=overdue",
        "/console/conflicts",
        "/console/reports",
        "/console/reports/hours/download",
        "/console/reports/attendance/download",
        "/console/reports/enforcement/download",
        "/console/deliveries",
        "/console/reference",
        "/console/reference/upw_project",
        "/console/reference/upw_session",
        "/console/reference/upw_requirement",
        "/console/reference/upw_appointment",
        "/console/reference/hv_case",
        "/console/devices",
        "/console/accounts",
        "/console/audit",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    console_pages.push(format!("/console/people/{}", seeded.crn));
    console_pages.push(format!("/console/visits/{}", seeded.case_id));
    console_pages.push(format!("/console/reference/upw_session/{}", id(3, 0)));
    for (html, prefix) in [
        (&enforcement, "/console/enforcement/"),
        (&conflicts, "/console/conflicts/"),
        (&devices, "/console/devices/"),
    ] {
        match link(html, prefix) {
            Some(l) => console_pages.push(l),
            None => eprintln!("  no item link under {prefix}"),
        }
    }
    let manager_pages: Vec<String> = console_pages
        .iter()
        .filter(|p| {
            ![
                "/console/devices",
                "/console/accounts",
                "/console/audit",
                "/console/reference",
            ]
            .iter()
            .any(|admin_only| p.starts_with(admin_only))
        })
        .cloned()
        .collect();
    let office_lists: Vec<String> = [
        "/v1/office/devices",
        "/v1/office/events?limit=1000",
        "/v1/office/events?prefix=visit.&limit=1000",
        "/v1/office/attendance",
        "/v1/office/enforcement",
        "/v1/office/ledgers",
        "/v1/office/visits",
        "/v1/office/conflicts",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();

    let size = format!(
        "{} weeks x {} sessions ({} appointments), {} people, {} cases x {} visits, 20 devices, {} events pushed ({} held, {} refused); seeded in {:.0} s{};",
        region.weeks,
        region.sessions_per_week,
        seeded.appointments,
        region.people,
        region.cases,
        region.visits_per_case,
        seeded.events,
        seeded.held,
        seeded.refused,
        seeding.as_secs_f64(),
        if quick { " (--quick: a tenth of the region)" } else { "" }
    );
    let results = measure(Some(&admin), &office, &console_pages, n).await;
    row(
        table,
        "7. office reads, console as administrator",
        &results,
        &format!("{size} {n} requests per page;"),
    );
    let results = measure(Some(&manager), &office, &manager_pages, n).await;
    row(
        table,
        "7. office reads, console as a team manager (3 of 18 officers)",
        &results,
        &format!("{n} requests per page;"),
    );
    let results = measure(None, &office, &office_lists, n).await;
    row(
        table,
        "7. office reads, office API lists",
        &results,
        &format!("{n} requests per list (first page, the default limit);"),
    );
    drop(srv);
}
