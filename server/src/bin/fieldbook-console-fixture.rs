//! Real device data for the office console's browser tests
//! (`tests/console/run.sh`): against a running server, `setup` creates
//! officers in two teams and their reference data, enrols five devices
//! (two supervisors', two officers' and a spare) and has them capture and sync
//! signed events: a roll call (attended, unacceptable absence, on site; one person recorded on two
//! phones, a conflict),
//! a finished home visit (with an overdue follow-up), and two lone-worker alerts in different teams.
//! `sync --device NAME` syncs one device again and prints, as JSON,
//! whether it shredded and the warnings its ledger holds; `alert` has
//! Cat's second device (enrolled by `setup`, idle until then) start a
//! visit, raise an alert and sync it.
//!
//! The office token comes from `FIELDBOOK_OFFICE_TOKEN`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use fieldbook_core::clock::SystemClock;
use fieldbook_core::home_visits::model::{Accommodation, Condition, Suitability, VisitForm};
use fieldbook_core::home_visits::{HomeVisits, StartVisit};
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::store::{Store, StoreSettings};
use fieldbook_core::sync::{SyncClient, SyncConfig};
use fieldbook_core::unpaid_work::policy::OutcomeInput;
use fieldbook_core::unpaid_work::{CheckIn, UnpaidWork};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const PIN: &str = "274913";

struct Office {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Office {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Res<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
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
    async fn put(&self, entity: &str, id: &str, audience: &[&str], data: Value) -> Res<()> {
        self.call(
            reqwest::Method::PUT,
            &format!("/v1/office/reference/{entity}/{id}"),
            Some(json!({ "audience": audience, "data": data })),
        )
        .await?;
        Ok(())
    }
}

fn rid() -> Res<String> {
    Ok(RecordId::random()?.to_string())
}

fn platform(dir: &Path, name: &str) -> Res<Arc<SoftwareKeyStore>> {
    Ok(Arc::new(SoftwareKeyStore::load_or_create(
        &dir.join(format!("{name}.key")),
    )?))
}

async fn setup(office: &Office, dir: &Path) -> Res<Value> {
    let post = reqwest::Method::POST;
    for (id, name, role) in [
        ("sup-ada", "Ada Supervisor", "supervisor"),
        ("po-ben", "Ben Officer", "probation_officer"),
        ("po-cat", "Cat Officer", "probation_officer"),
    ] {
        office
            .call(
                post.clone(),
                "/v1/office/officers",
                Some(json!({"id": id, "name": name, "role": role})),
            )
            .await?;
    }
    let today = chrono::Local::now().date_naive();
    let (project, session) = (rid()?, rid()?);
    let days = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    office.put("upw_project", &project, &["sup-ada"], json!({
        "code": "PARK01", "name": "Riverside Park clean-up", "project_type": "group_placement", "travel_time_eligible": false,
        "address": "Riverside Park", "beneficiary": "Town council", "site_contact": "Park office", "hi_vis_required": true,
        "hazards": "Sharps, water", "risk_notes": "", "available_days": days, "available_from": "00:00:00", "available_until": "23:59:00"})).await?;
    office.put("upw_session", &session, &["sup-ada"], json!({
        "project_id": project, "date": today, "planned_start": "00:01:00", "planned_end": "23:58:00", "supervisor_id": "sup-ada",
        "pick_up_point": "Station car park", "pick_up_time": null})).await?;
    let mut appointments = vec![];
    let mut requirements = vec![];
    for (crn, name) in [
        ("X100001", "Alex Example"),
        ("X100002", "Sam Sample"),
        ("X100003", "Jo Onsite"),
    ] {
        let (req, appt) = (rid()?, rid()?);
        office.put("upw_requirement", &req, &["sup-ada"], json!({
            "crn": crn, "name": name, "restricted": false, "photo_ref": null, "risk_level": "low", "registrations": [],
            "hours_required": 120, "minutes_credited_office": 600, "order_start": "2026-01-01", "order_end": "2027-12-31"})).await?;
        office.put("upw_appointment", &appt, &["sup-ada"], json!({
            "session_id": session, "requirement_id": req, "crn": crn, "allocated": true, "agreed_absence": null})).await?;
        appointments.push(RecordId::parse(&appt)?);
        requirements.push(req);
    }
    let mut cases = vec![];
    for (crn, name, officer, street) in [
        ("X200001", "Casey Client", "po-ben", "12 Example Street"),
        ("X300001", "Dana Other", "po-cat", "3 Far Road"),
    ] {
        let case = rid()?;
        office.put("hv_case", &case, &[officer], json!({
            "crn": crn, "name": name, "restricted": false,
            "addresses": [{"id": "home", "text": street, "access_notes": "Side door", "main": true}],
            "risk_level": "medium", "registrations": [], "staff_risks": [], "known_occupants": [],
            "assessment": "current", "supervision_start": "2026-10-01", "last_visit": null})).await?;
        cases.push(case);
    }

    let never = AtomicBool::new(false);
    let mut devices = serde_json::Map::new();
    let mut stores = vec![];
    for (name, officer) in [
        ("supervisor", "sup-ada"),
        ("ben", "po-ben"),
        ("cat", "po-cat"),
        ("cat2", "po-cat"),
        ("supervisor2", "sup-ada"),
    ] {
        let store = Arc::new(Store::create(
            &dir.join(format!("{name}.db")),
            StoreSettings::new(officer),
            PIN,
            platform(dir, name)?,
            Arc::new(SystemClock),
        )?);
        let client = SyncClient::new(store.clone(), SyncConfig::new(&office.base))?;
        let code = office
            .call(
                post.clone(),
                &format!("/v1/office/officers/{officer}/enrolment-codes"),
                None,
            )
            .await?;
        let enrolled = client
            .enrol(
                code["code"].as_str().unwrap_or_default(),
                &format!("{name} phone"),
            )
            .await?;
        devices.insert(name.to_owned(), json!(enrolled.device_id));
        client.sync(None, &never).await?;
        stores.push((store, client));
    }

    // The roll call.
    let uw = UnpaidWork::new(stores[0].0.clone());
    let check = CheckIn {
        arrival: None,
        identity_checked: true,
        hi_vis_issued: true,
        hi_vis_worn: true,
    };
    uw.check_in(&appointments[0], check.clone())?;
    let now = fieldbook_core::unpaid_work::now_stamp(&SystemClock);
    let arrival = fieldbook_core::unpaid_work::model::Stamp {
        utc_ms: now.utc_ms - 3 * 3_600_000,
        ..now
    };
    uw.record_outcome(
        &appointments[0],
        OutcomeInput::attended("ATTC", arrival, now),
    )?;
    uw.did_not_attend(&appointments[1], true)?;
    uw.check_in(&appointments[2], check.clone())?;
    // A second supervisor's phone records Alex too: a conflict.
    let uw2 = UnpaidWork::new(stores[4].0.clone());
    uw2.check_in(&appointments[0], check)?;
    let arrival2 = fieldbook_core::unpaid_work::model::Stamp {
        utc_ms: now.utc_ms - 2 * 3_600_000,
        ..now
    };
    uw2.record_outcome(
        &appointments[0],
        OutcomeInput::attended("ATTC", arrival2, now),
    )?;

    // A finished visit for Ben, then an alert on a second one; an alert
    // in Cat's team too.
    let hv = HomeVisits::new(stores[1].0.clone());
    let start = |case: &str| -> Res<StartVisit> {
        Ok(StartVisit {
            arranged: true,
            manager_override: None,
            case_id: RecordId::parse(case)?,
            address_id: None,
            scheduled_visit_id: None,
            purpose: "Accommodation check".into(),
            officers_present: vec![],
            expected_minutes: 30,
            location_consent: false,
            location: None,
        })
    };
    let mut first = start(&cases[0])?;
    first.officers_present = vec!["po-ben".into()];
    let v = hv.start_visit(first)?;
    hv.check_in_safe(&v.visit_id)?;
    hv.end_visit(&v.visit_id, None, None)?;
    hv.save_draft(
        &v.visit_id,
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
            // One follow-up already overdue, one not yet due: the
            // console's Visits page filters by the overdue one.
            follow_ups: vec![
                fieldbook_core::home_visits::model::FollowUp {
                    action: "Check the tenancy agreement".into(),
                    due: chrono::Local::now().date_naive() - chrono::Duration::days(3),
                    done: false,
                },
                fieldbook_core::home_visits::model::FollowUp {
                    action: "Confirm the GP registration".into(),
                    due: chrono::Local::now().date_naive() + chrono::Duration::days(7),
                    done: false,
                },
            ],
            enforcement: None,
            notes: "Seen at home".into(),
            sensitive: false,
            no_answer: false,
        },
    )?;
    hv.finalise(&v.visit_id)?;
    let mut second = start(&cases[0])?;
    second.officers_present = vec!["po-ben".into()];
    let v2 = hv.start_visit(second)?;
    hv.raise_alert(&v2.visit_id, false)?;
    let hv_cat = HomeVisits::new(stores[2].0.clone());
    let mut third = start(&cases[1])?;
    third.officers_present = vec!["po-cat".into()];
    let v3 = hv_cat.start_visit(third)?;
    hv_cat.raise_alert(&v3.visit_id, false)?;

    for (store, client) in &stores {
        let r = client.sync(None, &never).await?;
        if store.pending_count()? != 0 || r.quarantined != 0 {
            return Err("a device did not send everything".into());
        }
    }
    let summary = json!({
        "devices": devices, "requirements": requirements, "cases": cases,
        "absent_requirement": requirements[1],
    });
    std::fs::write(
        dir.join("fixture.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    Ok(summary)
}

async fn sync_again(url: &str, dir: &Path, name: &str) -> Res<Value> {
    let store = Arc::new(Store::open(
        &dir.join(format!("{name}.db")),
        platform(dir, name)?,
        Arc::new(SystemClock),
    )?);
    store.unlock(PIN)?;
    let client = SyncClient::new(store.clone(), SyncConfig::new(url))?;
    let r = client.sync(None, &AtomicBool::new(false)).await?;
    let mut warnings = vec![];
    if !r.shredded && name == "supervisor" {
        let summary: Value = serde_json::from_slice(&std::fs::read(dir.join("fixture.json"))?)?;
        let req = RecordId::parse(summary["absent_requirement"].as_str().unwrap_or_default())?;
        let ledger = UnpaidWork::new(store.clone()).person_ledger(&req)?;
        warnings = ledger
            .warnings_given
            .iter()
            .map(ToString::to_string)
            .collect();
    }
    Ok(
        json!({ "shredded": r.shredded, "pulled": r.pulled, "warnings": warnings, "store_shredded": store.is_shredded() }),
    )
}

async fn alert_again(url: &str, dir: &Path) -> Res<Value> {
    let name = "cat2";
    let store = Arc::new(Store::open(
        &dir.join(format!("{name}.db")),
        platform(dir, name)?,
        Arc::new(SystemClock),
    )?);
    store.unlock(PIN)?;
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.join("fixture.json"))?)?;
    let case = RecordId::parse(summary["cases"][1].as_str().unwrap_or_default())?;
    let hv = HomeVisits::new(store.clone());
    let v = hv.start_visit(StartVisit {
        arranged: false,
        manager_override: None,
        case_id: case,
        address_id: None,
        scheduled_visit_id: None,
        purpose: "Unannounced check".into(),
        officers_present: vec!["po-cat".into()],
        expected_minutes: 20,
        location_consent: false,
        location: None,
    })?;
    hv.raise_alert(&v.visit_id, false)?;
    let client = SyncClient::new(store.clone(), SyncConfig::new(url))?;
    let r = client.sync(None, &AtomicBool::new(false)).await?;
    Ok(json!({ "accepted": r.accepted, "visit_id": v.visit_id.to_string() }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(url), Some(dir)) = (get("--url"), get("--dir")) else {
        eprintln!(
            "usage: fieldbook-console-fixture (setup | sync --device NAME) --url URL --dir DIR"
        );
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let result = match args.first().map(String::as_str) {
        Some("setup") => {
            let token = std::env::var("FIELDBOOK_OFFICE_TOKEN").unwrap_or_default();
            let office = Office {
                http: reqwest::Client::new(),
                base: url.trim_end_matches('/').to_owned(),
                token,
            };
            match std::fs::create_dir_all(&dir) {
                Ok(()) => setup(&office, &dir).await,
                Err(e) => Err(e.into()),
            }
        }
        Some("sync") => match get("--device") {
            Some(name) => sync_again(url.trim_end_matches('/'), &dir, &name).await,
            None => Err("--device is required".into()),
        },
        Some("alert") => alert_again(url.trim_end_matches('/'), &dir).await,
        _ => Err("the command is setup, sync or alert".into()),
    };
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fieldbook-console-fixture: {e}");
            ExitCode::FAILURE
        }
    }
}
