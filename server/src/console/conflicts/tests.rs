//! Conflicts per record and the resolution rules, pure and against a real
//! (temporary) SQLite database written the way ingest writes it.

use serde_json::{json, Value};

use super::*;
use crate::console::{data, sql};
use crate::payload::outcome_of;

fn v(id: &str, device: &str, recorded: i64, supersedes: Option<&str>) -> Version {
    Version {
        event_id: id.into(),
        device_id: device.into(),
        officer_id: "sup-ada".into(),
        recorded_ms: recorded,
        received_ms: recorded,
        supersedes: supersedes.map(Into::into),
        payload: Value::Null,
    }
}

fn asked(choice: &str, code: &str, minutes: &str, reason: &str) -> Asked {
    Asked {
        choice: choice.into(),
        code: code.into(),
        minutes: minutes.into(),
        reason: reason.into(),
    }
}

#[test]
fn a_devices_own_correction_is_not_a_version_and_versions_are_oldest_first() {
    let got = versions_of(vec![
        v("c", "phone-3", 30, None),
        v("a2", "phone-1", 40, Some("a1")),
        v("a1", "phone-1", 10, None),
        v("b", "phone-2", 20, None),
    ]);
    let ids: Vec<&str> = got.iter().map(|v| v.event_id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "a2"]);
}

#[test]
fn a_record_is_open_until_resolved_after_its_latest_conflict() {
    assert!(is_open(100, None));
    assert!(!is_open(100, Some(100)));
    assert!(!is_open(100, Some(150)));
    assert!(is_open(200, Some(150)), "a later version reopens it");
}

#[test]
fn a_resolution_needs_a_version_of_the_record_or_valid_values_and_a_reason() {
    let versions = [v("a", "p1", 1, None), v("b", "p2", 2, None)];
    let fields = |r: Result<Resolution, Vec<Problem>>| -> Vec<&'static str> {
        r.expect_err("refused").iter().map(|p| p.0).collect()
    };
    assert_eq!(
        check(
            &versions,
            &asked("choose:b", "", "", "  Supervisor confirmed ")
        ),
        Ok(Resolution {
            method: Method::Choose("b".into()),
            reason: "Supervisor confirmed".into()
        })
    );
    assert_eq!(
        fields(check(&versions, &asked("choose:b", "", "", " "))),
        ["reason"]
    );
    assert_eq!(
        fields(check(&versions, &asked("choose:zzz", "", "", "why"))),
        ["choice"],
        "an event that is not one of this record's versions"
    );
    assert_eq!(
        fields(check(&versions, &asked("", "", "", ""))),
        ["choice", "reason"]
    );
    assert_eq!(
        check(
            &versions,
            &asked("correct", "attc", "150", "Times from the sign-in sheet")
        ),
        Ok(Resolution {
            method: Method::Correct {
                code: "ATTC".into(),
                minutes: 150
            },
            reason: "Times from the sign-in sheet".into()
        })
    );
    assert_eq!(
        fields(check(&versions, &asked("correct", "NOPE", "10", "why"))),
        ["code"]
    );
    assert_eq!(
        fields(check(&versions, &asked("correct", "ATTC", "", "why"))),
        ["minutes"]
    );
    assert_eq!(
        fields(check(&versions, &asked("correct", "ATTC", "-5", "why"))),
        ["minutes"]
    );
    assert_eq!(
        fields(check(&versions, &asked("correct", "ATTC", "1441", "why"))),
        ["minutes"]
    );
    assert_eq!(
        fields(check(&versions, &asked("correct", "ATTC", "2.5", "why"))),
        ["minutes"]
    );
    let r = check(&versions, &asked("correct", "UACP", "60", "why"));
    assert_eq!(fields(r.clone()), ["minutes"]);
    assert!(r.expect_err("refused")[0]
        .1
        .contains("UACP does not credit time"));
    assert!(check(&versions, &asked("correct", "UACP", "0", "why")).is_ok());
    let long = "x".repeat(MAX_REASON + 1);
    assert_eq!(
        fields(check(&versions, &asked("choose:a", "", "", &long))),
        ["reason"]
    );
}

const APPT_1: &str = "11111111111111111111111111111111";
const APPT_2: &str = "22222222222222222222222222222222";
const SESSION: &str = "33333333333333333333333333333333";

fn outcome(appointment: &str, code: &str, minutes: i64) -> Value {
    json!({
        "appointment_id": appointment, "session_id": SESSION, "requirement_id": null, "crn": "X100001",
        "session_date": "2026-12-02", "code": code, "arrival": null, "departure": null, "penalty_minutes": 0,
        "work_quality": "good", "behaviour": "good", "notes": "", "sensitive": false, "raise_alert": false,
        "travel_minutes": null, "minutes_credited": minutes, "late_by_minutes": null,
        "enforcement_step": if code == "UACP" { json!("warning_or_referral") } else { Value::Null },
        "policy_version": "test",
    })
}

async fn event(
    db: &Db,
    id: &str,
    device: &str,
    seq: i64,
    appointment: &str,
    (code, minutes): (&str, i64),
    at: i64,
) {
    let body = json!({ "payload": outcome(appointment, code, minutes) }).to_string();
    sql::exec(
        db,
        "INSERT INTO events (event_id, device_id, seq, officer_id, kind, recorded_ms, received_ms, supersedes,
            session_id, case_id, visit_id, appointment_id, body, signature)
         VALUES (?1, ?2, ?3, 'sup-ada', ?4, ?5, ?5, NULL, ?6, NULL, NULL, ?7, ?8, 'sig')",
        vec![
            Val::from(id), Val::from(device), Val::I(seq), Val::from(kinds::OUTCOME_RECORDED), Val::I(at),
            Val::from(SESSION), Val::from(appointment), Val::from(body),
        ],
    )
    .await
    .expect("event");
    // The projection: the latest event wins, as ingest keeps it.
    sql::exec(
        db,
        "INSERT INTO current_records (kind, subject, event_id, received_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, subject) DO UPDATE SET event_id = excluded.event_id, received_ms = excluded.received_ms",
        vec![Val::from(kinds::OUTCOME_RECORDED), Val::from(appointment), Val::from(id), Val::I(at)],
    )
    .await
    .expect("projection");
}

async fn pair(db: &Db, appointment: &str, a: &str, b: &str, at: i64) {
    sql::exec(
        db,
        "INSERT INTO conflicts (kind, subject, event_a, event_b, created_ms) VALUES ('outcome', ?1, ?2, ?3, ?4)",
        vec![Val::from(appointment), Val::from(a), Val::from(b), Val::I(at)],
    )
    .await
    .expect("conflict");
}

async fn current_of(db: &Db, appointment: &str) -> data::Ev {
    data::current(db, kinds::OUTCOME_RECORDED)
        .await
        .expect("current")
        .into_iter()
        .find(|e| e.appointment_id.as_deref() == Some(appointment))
        .expect("projected")
}

#[tokio::test]
async fn pairs_are_one_record_per_appointment_and_a_resolution_updates_what_the_office_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Db::open_sqlite(&dir.path().join("office.db"))
        .await
        .expect("open");
    // Three phones on one appointment (three pair rows, as ingest stores
    // them), two on another.
    event(&db, "e1", "p1", 1, APPT_1, ("ATTC", 180), 1_000).await;
    event(&db, "e2", "p2", 1, APPT_1, ("ATTC", 120), 2_000).await;
    pair(&db, APPT_1, "e1", "e2", 2_000).await;
    event(&db, "e3", "p3", 1, APPT_1, ("UACP", 0), 3_000).await;
    pair(&db, APPT_1, "e1", "e3", 3_000).await;
    pair(&db, APPT_1, "e2", "e3", 3_000).await;
    event(&db, "f1", "p1", 2, APPT_2, ("ATTC", 60), 1_500).await;
    event(&db, "f2", "p2", 2, APPT_2, ("ATTC", 90), 2_500).await;
    pair(&db, APPT_2, "f1", "f2", 2_500).await;

    let list = records(&db).await.expect("records");
    assert_eq!(list.len(), 2, "one item per record, not per pair");
    assert_eq!(list[0].subject, APPT_1);
    let ids: Vec<&str> = list[0]
        .versions
        .iter()
        .map(|v| v.event_id.as_str())
        .collect();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    assert_eq!((list[0].first_ms, list[0].last_ms), (2_000, 3_000));
    assert!(list.iter().all(Record::open));
    assert_eq!(list[1].versions.len(), 2);
    assert!(record(&db, "44444444444444444444444444444444")
        .await
        .expect("db")
        .is_none());

    // Choosing: the office reads the chosen version from then on.
    assert_eq!(current_of(&db, APPT_1).await.event_id, "e3");
    let one = record(&db, APPT_1).await.expect("db").expect("held");
    let chose = check(
        &one.versions,
        &asked("choose:e1", "", "", "Sheet signed by Ada"),
    )
    .expect("valid");
    assert!(resolve(&db, APPT_1, &chose, &one.versions, "acct-1", 4_000)
        .await
        .expect("db"));
    let now = current_of(&db, APPT_1).await;
    assert_eq!(now.event_id, "e1");
    assert_eq!(outcome_of(&now.payload).minutes_credited, 180);
    let one = record(&db, APPT_1).await.expect("db").expect("held");
    assert!(!one.open(), "resolved");
    assert_eq!(one.versions.len(), 3, "every version stays visible");
    // Resolving again is refused and writes nothing.
    let other = check(&one.versions, &asked("choose:e2", "", "", "again")).expect("valid");
    assert!(
        !resolve(&db, APPT_1, &other, &one.versions, "acct-2", 4_500)
            .await
            .expect("db")
    );
    assert_eq!(current_of(&db, APPT_1).await.event_id, "e1");
    assert_eq!(history(&db, APPT_1).await.expect("db").len(), 1);

    // A fourth phone's version afterwards reopens it; a correction then
    // overlays the office's values.
    event(&db, "e4", "p4", 1, APPT_1, ("ATTC", 60), 5_000).await;
    pair(&db, APPT_1, "e1", "e4", 5_000).await;
    let one = record(&db, APPT_1).await.expect("db").expect("held");
    assert!(one.open(), "a later version reopens the record");
    let fix = check(
        &one.versions,
        &asked("correct", "UACP", "0", "Not on site: CCTV"),
    )
    .expect("valid");
    assert!(resolve(&db, APPT_1, &fix, &one.versions, "acct-1", 6_000)
        .await
        .expect("db"));
    let f = outcome_of(&current_of(&db, APPT_1).await.payload);
    assert_eq!((f.code.as_deref(), f.minutes_credited), (Some("UACP"), 0));
    let f2 = outcome_of(&current_of(&db, APPT_2).await.payload);
    assert_eq!(f2.minutes_credited, 90, "another record is untouched");
    let past = history(&db, APPT_1).await.expect("db");
    assert_eq!(past.len(), 2, "resolutions stay as history");
    assert_eq!(past[0].method, "correct");
    assert_eq!(past[1].chosen_event.as_deref(), Some("e1"));

    // A device event that reaches the projection after the correction wins.
    event(&db, "e5", "p4", 2, APPT_1, ("ATTC", 30), 7_000).await;
    let f = outcome_of(&current_of(&db, APPT_1).await.payload);
    assert_eq!((f.code.as_deref(), f.minutes_credited), (Some("ATTC"), 30));
}

#[tokio::test]
async fn three_phones_on_960_appointments_are_960_records_read_through_the_index() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Db::open_sqlite(&dir.path().join("office.db"))
        .await
        .expect("open");
    let mut statements = vec![];
    for n in 0..960u32 {
        let appointment = format!("{n:032x}");
        for d in 0..3i64 {
            let body =
                json!({ "payload": outcome(&appointment, "ATTC", 60 * (d + 1)) }).to_string();
            statements.push((
                "INSERT INTO events (event_id, device_id, seq, officer_id, kind, recorded_ms, received_ms, supersedes,
                    session_id, case_id, visit_id, appointment_id, body, signature)
                 VALUES (?1, ?2, ?3, 'sup-ada', ?4, ?5, ?5, NULL, ?6, NULL, NULL, ?7, ?8, 'sig')",
                vec![
                    Val::from(format!("{n}-{d}")), Val::from(format!("phone-{d}")), Val::I(i64::from(n) + 1),
                    Val::from(kinds::OUTCOME_RECORDED), Val::I(d), Val::from(SESSION), Val::from(appointment.clone()),
                    Val::from(body),
                ],
            ));
        }
        // Every pair, as ingest stores them.
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            statements.push((
                "INSERT INTO conflicts (kind, subject, event_a, event_b, created_ms) VALUES ('outcome', ?1, ?2, ?3, ?4)",
                vec![Val::from(appointment.clone()), Val::from(format!("{n}-{a}")), Val::from(format!("{n}-{b}")), Val::I(b)],
            ));
        }
    }
    sql::transaction(&db, statements).await.expect("written");
    let list = records(&db).await.expect("records");
    assert_eq!(list.len(), 960, "one item per record");
    assert!(list.iter().all(|r| r.versions.len() == 3 && r.open()));
    let plan = sql::query(
        &db,
        &format!("EXPLAIN QUERY PLAN {GROUPS}"),
        vec![Val::from(OUTCOME)],
    )
    .await
    .expect("plan");
    let plan: Vec<String> = plan.iter().map(|r| r.text(3)).collect();
    assert!(
        plan.iter().any(|d| d.contains("INDEX conflicts_subject")),
        "grouped through the index: {plan:?}"
    );
    assert!(
        !plan.iter().any(|d| d.contains("TEMP B-TREE FOR GROUP BY")),
        "no sort to group: {plan:?}"
    );
}

async fn outbox(db: &Db) -> Vec<(String, String, String, i64)> {
    sql::query(
        db,
        "SELECT event_id, kind, subject, seq FROM delivery_outbox ORDER BY created_ms, seq",
        vec![],
    )
    .await
    .expect("outbox")
    .iter()
    .map(|r| (r.text(0), r.text(1), r.text(2), r.int(3)))
    .collect()
}

#[tokio::test]
async fn a_resolution_is_queued_for_delivery_once_in_its_own_transaction() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Db::open_sqlite(&dir.path().join("office.db"))
        .await
        .expect("open");
    event(&db, "e1", "p1", 1, APPT_1, ("ATTC", 180), 1_000).await;
    event(&db, "e2", "p2", 1, APPT_1, ("ATTC", 120), 2_000).await;
    pair(&db, APPT_1, "e1", "e2", 2_000).await;
    let one = record(&db, APPT_1).await.expect("db").expect("held");
    let fix = check(&one.versions, &asked("correct", "ATTC", "150", "Sheet")).expect("valid");
    assert!(resolve(&db, APPT_1, &fix, &one.versions, "acct-1", 3_000)
        .await
        .expect("db"));
    // A second submit of the same resolution writes nothing.
    assert!(!resolve(&db, APPT_1, &fix, &one.versions, "acct-1", 3_001)
        .await
        .expect("db"));
    let queued = outbox(&db).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (id, kind, subject, seq) = &queued[0];
    assert!(id.starts_with("resolution-"), "{id}");
    assert_eq!(kind, crate::delivery::outbox::RESOLUTION);
    assert_eq!(subject, APPT_1);
    assert_eq!(*seq, i64::MAX, "after any device delivery at the same time");
    let to_send = db
        .resolution_to_deliver(id)
        .await
        .expect("db")
        .expect("held");
    assert_eq!(
        to_send.base_event.as_deref(),
        Some("e2"),
        "the version shown"
    );
    assert_eq!(
        to_send.correction,
        Some(("ATTC".to_owned(), 150, 3_000)),
        "the office's values"
    );
}

#[tokio::test]
async fn a_correction_to_an_enforceable_code_joins_the_queue_and_one_away_closes_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Db::open_sqlite(&dir.path().join("office.db"))
        .await
        .expect("open");
    // APPT_1: two attended versions, corrected to an unacceptable absence.
    event(&db, "e1", "p1", 1, APPT_1, ("ATTC", 180), 1_000).await;
    event(&db, "e2", "p2", 1, APPT_1, ("ATTC", 120), 2_000).await;
    pair(&db, APPT_1, "e1", "e2", 2_000).await;
    let one = record(&db, APPT_1).await.expect("db").expect("held");
    let fix = check(&one.versions, &asked("correct", "UACP", "0", "Not on site")).expect("ok");
    assert!(resolve(&db, APPT_1, &fix, &one.versions, "acct-1", 3_000)
        .await
        .expect("db"));
    let now = current_of(&db, APPT_1).await.payload;
    assert_eq!(
        now["enforcement_step"], "warning_or_referral",
        "the step a device flags with no warning on the order"
    );
    assert!(now.get(CLOSED_BY).is_none());

    // APPT_2: an unacceptable absence (flagged) corrected to attended.
    event(&db, "f1", "p1", 2, APPT_2, ("UACP", 0), 1_500).await;
    event(&db, "f2", "p2", 2, APPT_2, ("UACP", 0), 2_500).await;
    pair(&db, APPT_2, "f1", "f2", 2_500).await;
    let two = record(&db, APPT_2).await.expect("db").expect("held");
    let fix = check(
        &two.versions,
        &asked("correct", "ATTC", "240", "Was on site: CCTV"),
    )
    .expect("ok");
    assert!(resolve(&db, APPT_2, &fix, &two.versions, "acct-1", 3_500)
        .await
        .expect("db"));
    let now = current_of(&db, APPT_2).await.payload;
    assert!(now["enforcement_step"].is_null(), "out of the queue");
    assert_eq!(
        now[CLOSED_BY], "Was on site: CCTV",
        "closed with the reason"
    );
}

#[test]
fn a_corrected_enforceable_outcome_counts_the_orders_warnings() {
    let correction = Correction {
        code: "UACP".into(),
        minutes: 0,
        at_ms: 10,
        reason: "why".into(),
    };
    let mut p = outcome(APPT_1, "ATTC", 60);
    let warned = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    assert!(overlay(&mut p, &correction, 5, &[warned]));
    assert_eq!(
        p["enforcement_step"], "breach_referral",
        "a warning within the window makes it a breach referral"
    );
    // A device event after the correction wins: nothing laid over it.
    let mut p = outcome(APPT_1, "ATTC", 60);
    assert!(!overlay(&mut p, &correction, 11, &[]));
    assert_eq!(p["code"], "ATTC");
}
