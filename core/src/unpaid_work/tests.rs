//! Table-driven tests of every outcome and rule, invalid input, the views,
//! and a scripted full session with its exact ledger and enforcement items.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, Weekday};

use super::model::*;
use super::policy::{self, judge, OutcomeContext, OutcomeInput, Policy};
use super::views::{AppointmentStatus, RollCallAction, RollCallWarning, SyncState};
use super::*;
use crate::clock::ManualClock;
use crate::platform::SoftwareKeyStore;
use crate::store::StoreSettings;

const OFFICER: &str = "officer-7";

fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|d| d.and_hms_opt(h, mi, 0))
        .expect("valid")
        .and_utc()
        .timestamp_millis()
}

fn stamp(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Stamp {
    Stamp {
        utc_ms: ms(y, mo, d, h, mi),
        offset_min: 0,
    }
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("time")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

struct Fx {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    uw: UnpaidWork,
    project: RecordId,
    travel_project: RecordId,
    session: RecordId,
}

fn project(travel: bool) -> Project {
    Project {
        code: if travel {
            "ETE1".into()
        } else {
            "PARK1".into()
        },
        name: if travel {
            "Charity shop".into()
        } else {
            "Park clean-up".into()
        },
        project_type: if travel {
            ProjectType::IndividualPlacement
        } else {
            ProjectType::GroupPlacement
        },
        travel_time_eligible: travel,
        address: "Riverside Park".into(),
        beneficiary: "Council".into(),
        site_contact: "Site office".into(),
        hi_vis_required: !travel,
        hazards: "Sharps".into(),
        risk_notes: String::new(),
        available_days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
        ],
        available_from: t(7, 0),
        available_until: t(18, 0),
    }
}

fn requirement(crn: &str, name: &str, hours: u32) -> Requirement {
    Requirement {
        crn: crn.into(),
        name: Some(name.into()),
        restricted: false,
        photo_ref: Some(format!("photo-{crn}")),
        risk_level: RiskLevel::Low,
        registrations: vec![],
        hours_required: hours,
        minutes_credited_office: 0,
        ete_minutes_credited_office: 0,
        adjustments: vec![],
        order_start: date(2026, 1, 1),
        order_end: date(2027, 12, 31),
        order_ref: None,
        warnings: vec![],
    }
}

fn session(project: &RecordId, d: NaiveDate) -> WorkSession {
    WorkSession {
        project_id: project.clone(),
        date: d,
        planned_start: t(9, 0),
        planned_end: t(16, 0),
        supervisor_id: OFFICER.into(),
        pick_up_point: Some("Station car park".into()),
        pick_up_time: Some(t(8, 30)),
    }
}

fn id() -> RecordId {
    RecordId::random().expect("rng")
}

impl Fx {
    /// A store at Monday 2026-11-23 08:00 UTC with one project and one
    /// session today (09:00 to 16:00), no people.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let clock = Arc::new(ManualClock::new(ms(2026, 11, 23, 8, 0)));
        let mut settings = StoreSettings::new(OFFICER);
        settings.kdf_iterations = 1000;
        let store = Store::create(
            &dir.path().join("db"),
            settings,
            "274913",
            Arc::new(SoftwareKeyStore::random().expect("rng")),
            clock.clone(),
        )
        .expect("store");
        let uw = UnpaidWork::new(Arc::new(store));
        let (p, tp, s) = (id(), id(), id());
        uw.import(ReferenceBatch {
            projects: vec![(p.clone(), project(false)), (tp.clone(), project(true))],
            sessions: vec![(s.clone(), session(&p, date(2026, 11, 23)))],
            ..Default::default()
        })
        .expect("import");
        Fx {
            _dir: dir,
            clock,
            uw,
            project: p,
            travel_project: tp,
            session: s,
        }
    }

    fn person(&self, session: &RecordId, req: Requirement) -> (RecordId, RecordId) {
        let (r, a) = (id(), id());
        self.uw
            .import(ReferenceBatch {
                requirements: vec![(r.clone(), req.clone())],
                appointments: vec![(
                    a.clone(),
                    Appointment {
                        session_id: session.clone(),
                        requirement_id: Some(r.clone()),
                        crn: req.crn,
                        allocated: true,
                        agreed_absence: None,
                        office_outcome: None,
                    },
                )],
                ..Default::default()
            })
            .expect("import person");
        (r, a)
    }

    fn add_session(&self, project: &RecordId, d: NaiveDate) -> RecordId {
        let s = id();
        self.uw
            .import(ReferenceBatch {
                sessions: vec![(s.clone(), session(project, d))],
                ..Default::default()
            })
            .expect("session");
        s
    }

    fn appoint(&self, session: &RecordId, req: &RecordId, crn: &str) -> RecordId {
        let a = id();
        self.uw
            .import(ReferenceBatch {
                appointments: vec![(
                    a.clone(),
                    Appointment {
                        session_id: session.clone(),
                        requirement_id: Some(req.clone()),
                        crn: crn.into(),
                        allocated: true,
                        agreed_absence: None,
                        office_outcome: None,
                    },
                )],
                ..Default::default()
            })
            .expect("appoint");
        a
    }

    fn at(&self, h: u32, m: u32) {
        self.clock.set_wall_ms(ms(2026, 11, 23, h, m));
    }

    fn events(&self) -> u64 {
        self.uw.store().verify_chain().expect("chain").verified
    }

    /// The capture's record names an event of `kind` at its sequence
    /// number, and it is the latest in the log.
    fn assert_logged(&self, recorded: &Recorded, kind: &str) {
        let events = self.uw.store().events_after(0, 10_000).expect("events");
        let event = events
            .iter()
            .find(|e| e.body.id == recorded.event_id)
            .expect("the event is in the log");
        assert_eq!(event.seq, recorded.seq);
        assert_eq!(event.body.kind, kind);
    }

    fn attendance(&self, a: &RecordId) -> Attendance {
        self.uw
            .store()
            .read(|r| r.records().get::<Attendance>(a))
            .expect("read")
            .map(|s| s.value)
            .unwrap_or_default()
    }

    fn check_in_at(&self, a: &RecordId, h: u32, m: u32) {
        self.uw
            .check_in(
                a,
                CheckIn {
                    arrival: Some(stamp(2026, 11, 23, h, m)),
                    identity_checked: true,
                    hi_vis_issued: true,
                    hi_vis_worn: true,
                },
            )
            .expect("check in");
    }
}

fn attended(code: &str, arr: (u32, u32), dep: (u32, u32), penalty: i64) -> OutcomeInput {
    let mut i = OutcomeInput::attended(
        code,
        stamp(2026, 11, 23, arr.0, arr.1),
        stamp(2026, 11, 23, dep.0, dep.1),
    );
    i.penalty_minutes = penalty;
    i
}

fn field_of(err: Error) -> String {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other}"),
    }
}

// ---- pure rules ----

#[test]
fn credit_rules_table() {
    let p = Policy::default();
    let proj = project(false);
    let day = session(&id(), date(2026, 11, 23));
    // (name, session, arrival, departure, penalty, expected credit or error field)
    let s = |d: u32, h: u32, m: u32| stamp(2026, 11, d, h, m);
    type Case<'a> = (
        &'a str,
        &'a WorkSession,
        Stamp,
        Stamp,
        i64,
        Result<i64, &'a str>,
    );
    let cases: Vec<Case<'_>> = vec![
        ("full day", &day, s(23, 9, 0), s(23, 16, 0), 0, Ok(420)),
        ("penalty", &day, s(23, 9, 0), s(23, 16, 0), 30, Ok(390)),
        (
            "penalty equals time",
            &day,
            s(23, 9, 0),
            s(23, 10, 0),
            60,
            Ok(0),
        ),
        (
            "penalty longer than session",
            &day,
            s(23, 9, 0),
            s(23, 10, 0),
            61,
            Err("penalty_minutes"),
        ),
        (
            "departure before arrival",
            &day,
            s(23, 12, 0),
            s(23, 11, 0),
            0,
            Err("departure"),
        ),
        (
            "departure equals arrival",
            &day,
            s(23, 12, 0),
            s(23, 12, 0),
            0,
            Err("departure"),
        ),
        (
            "negative penalty",
            &day,
            s(23, 9, 0),
            s(23, 12, 0),
            -5,
            Err("penalty_minutes"),
        ),
        (
            "seconds of the departure are dropped",
            &day,
            s(23, 9, 0),
            Stamp {
                utc_ms: ms(2026, 11, 23, 9, 59) + 59_000,
                offset_min: 0,
            },
            0,
            Ok(59),
        ),
        (
            "a 09:00:40 arrival is recorded as 09:00",
            &day,
            Stamp {
                utc_ms: ms(2026, 11, 23, 9, 0) + 40_000,
                offset_min: 0,
            },
            s(23, 12, 0),
            0,
            Ok(180),
        ),
        (
            "09:00:40 to 09:01:10 is one minute on the clock",
            &day,
            Stamp {
                utc_ms: ms(2026, 11, 23, 9, 0) + 40_000,
                offset_min: 0,
            },
            Stamp {
                utc_ms: ms(2026, 11, 23, 9, 1) + 10_000,
                offset_min: 0,
            },
            0,
            Ok(1),
        ),
        (
            "within the same minute is no time",
            &day,
            Stamp {
                utc_ms: ms(2026, 11, 23, 9, 0) + 10_000,
                offset_min: 0,
            },
            Stamp {
                utc_ms: ms(2026, 11, 23, 9, 0) + 50_000,
                offset_min: 0,
            },
            0,
            Err("departure"),
        ),
    ];
    for (name, sess, arr, dep, penalty, expected) in cases {
        let mut input = OutcomeInput::attended("ATTC", arr, dep);
        input.penalty_minutes = penalty;
        let ctx = OutcomeContext {
            session: sess,
            project: &proj,
            requirement: None,
            outstanding_minutes: Some(10_000),
            agreed_absence: None,
            previous_sensitive: false,
            stood_down_before_start: false,
            ete_credited_minutes: 0,
            office_outcome: None,
        };
        let got = judge(&p, &input, &ctx);
        match expected {
            Ok(minutes) => assert_eq!(got.expect(name).minutes_credited, minutes, "{name}"),
            Err(field) => {
                let errors = got.expect_err(name);
                assert_eq!(errors[0].field, field, "{name}: {errors:?}");
            }
        }
    }
}

#[test]
fn clock_change_day_credits_the_local_clock_times() {
    // Clocks go back at 02:00 BST on Sunday 2026-10-25. Arrived 00:30 BST,
    // left 03:30 GMT: 4 hours elapsed, but nDelius records the times as
    // the supervisor reads them (00:30 to 03:30) and credits 3 hours.
    let p = Policy::default();
    let mut proj = project(false);
    proj.available_days.push(Weekday::Sun);
    let mut sess = session(&id(), date(2026, 10, 25));
    sess.planned_start = t(0, 30);
    sess.planned_end = t(3, 30);
    let arrival = Stamp {
        utc_ms: ms(2026, 10, 24, 23, 30),
        offset_min: 60,
    };
    let departure = Stamp {
        utc_ms: ms(2026, 10, 25, 3, 30),
        offset_min: 0,
    };
    assert_eq!(arrival.local(), date(2026, 10, 25).and_time(t(0, 30)));
    assert_eq!(departure.local(), date(2026, 10, 25).and_time(t(3, 30)));
    let ctx = OutcomeContext {
        session: &sess,
        project: &proj,
        requirement: None,
        outstanding_minutes: None,
        agreed_absence: None,
        previous_sensitive: false,
        stood_down_before_start: false,
        ete_credited_minutes: 0,
        office_outcome: None,
    };
    let judged = judge(
        &p,
        &OutcomeInput::attended("ATTC", arrival, departure),
        &ctx,
    )
    .expect("ok");
    assert_eq!(judged.minutes_credited, 180);
    assert_eq!(judged.late_by_minutes, None);
    // And the spring change: 00:30 GMT to 03:30 BST is 2 hours elapsed, 3
    // on the clock.
    let arrival = Stamp {
        utc_ms: ms(2026, 3, 29, 0, 30),
        offset_min: 0,
    };
    let departure = Stamp {
        utc_ms: ms(2026, 3, 29, 2, 30),
        offset_min: 60,
    };
    let mut spring = sess.clone();
    spring.date = date(2026, 3, 29);
    let ctx = OutcomeContext {
        session: &spring,
        ..ctx
    };
    let judged = judge(
        &p,
        &OutcomeInput::attended("ATTC", arrival, departure),
        &ctx,
    )
    .expect("ok");
    assert_eq!(judged.minutes_credited, 180);
}

#[test]
fn outcome_kinds_table() {
    let p = Policy::default();
    let proj = project(false);
    let sess = session(&id(), date(2026, 11, 23));
    let ctx_with = |agreed: Option<&'static str>, office: Option<&'static str>| OutcomeContext {
        session: &sess,
        project: &proj,
        requirement: None,
        outstanding_minutes: None,
        agreed_absence: agreed,
        previous_sensitive: false,
        stood_down_before_start: false,
        ete_credited_minutes: 0,
        office_outcome: office,
    };
    let ctx = |agreed: Option<&'static str>| ctx_with(agreed, None);
    let times = attended("ATTC", (9, 0), (12, 0), 0);
    for code in ["ATTC", "AFTC", "ATSH", "ATSS"] {
        let input = OutcomeInput {
            code: code.into(),
            ..times.clone()
        };
        let j = judge(&p, &input, &ctx(None)).expect(code);
        assert_eq!(j.minutes_credited, 180, "{code}");
        assert_eq!(
            j.code.enforceable,
            code != "ATTC" && code != "ATSS",
            "{code}"
        );
        // Attended outcomes need times.
        let no_times = OutcomeInput::absence(code);
        assert_eq!(
            judge(&p, &no_times, &ctx(None)).expect_err(code)[0].field,
            "arrival"
        );
    }
    let uacp = judge(&p, &OutcomeInput::absence("UACP"), &ctx(None)).expect("uacp");
    assert_eq!(uacp.minutes_credited, 0);
    assert!(uacp.code.enforceable);
    // Times on an absence are refused.
    let mut bad = OutcomeInput::absence("UACP");
    bad.arrival = Some(stamp(2026, 11, 23, 9, 0));
    assert_eq!(
        judge(&p, &bad, &ctx(None)).expect_err("times")[0].field,
        "arrival"
    );
    for code in [
        "AAME", "AASD", "AAEM", "AAFC", "AACL", "AARC", "CO05", "CO10", "RSSR", "RSOF", "ATFI",
    ] {
        let input = OutcomeInput::absence(code);
        assert_eq!(
            judge(&p, &input, &ctx(None)).expect_err(code)[0].field,
            "code",
            "{code} is recorded by the office"
        );
        let agreed: &'static str = codes::outcome(code).expect("code").code;
        let j = judge(&p, &input, &ctx_with(None, Some(agreed))).expect(code);
        assert_eq!(j.minutes_credited, 0, "{code}");
        assert_eq!(j.code.enforceable, code == "ATFI", "{code}");
    }
    // Office outcomes that credit time: AFDA, ATCH.
    for code in ["AFDA", "ATCH"] {
        let input = OutcomeInput {
            code: code.into(),
            ..times.clone()
        };
        assert_eq!(
            judge(&p, &input, &ctx(None)).expect_err(code)[0].field,
            "code"
        );
        let j = judge(&p, &input, &ctx_with(None, Some(code))).expect(code);
        assert_eq!(j.minutes_credited, 180, "{code}");
        assert!(!j.code.enforceable, "{code}");
    }
    // A rescheduled appointment cannot be marked as a failure.
    for rescheduled in ["RSSR", "RSOF"] {
        assert_eq!(
            judge(
                &p,
                &OutcomeInput::absence("UACP"),
                &ctx_with(None, Some(rescheduled))
            )
            .expect_err(rescheduled)[0]
                .message,
            "the appointment was rescheduled: it cannot be recorded as a failure"
        );
    }
    assert_eq!(
        judge(&p, &OutcomeInput::absence("ZZZZ"), &ctx(None)).expect_err("unknown")[0].field,
        "code"
    );
    // The alert diary may be chosen on any outcome (it was refused on
    // non-enforceable ones before).
    let mut alert = times.clone();
    alert.raise_alert = true;
    assert!(judge(&p, &alert, &ctx(None)).is_ok(), "alert on ATTC");
}

#[test]
fn statutory_enforcement_rule() {
    let p = Policy::default();
    let d = date(2026, 11, 23);
    let step = |warnings: &[NaiveDate]| policy::statutory_step(&p, warnings, d);
    let cases: &[(&[NaiveDate], EnforcementStep, &str)] = &[
        (
            &[],
            EnforcementStep::WarningOrReferral,
            "no warning: the office decides",
        ),
        (
            &[date(2026, 1, 10)],
            EnforcementStep::BreachReferral,
            "within 12 months",
        ),
        (
            &[date(2025, 11, 24)],
            EnforcementStep::BreachReferral,
            "the window's last day",
        ),
        (
            &[date(2025, 11, 23)],
            EnforcementStep::WarningOrReferral,
            "the anniversary is outside the 12 months beginning with the warning",
        ),
        (
            &[date(2025, 11, 22)],
            EnforcementStep::WarningOrReferral,
            "older than 12 months",
        ),
        (
            &[date(2026, 12, 1)],
            EnforcementStep::WarningOrReferral,
            "a later warning",
        ),
        (
            &[date(2026, 11, 23)],
            EnforcementStep::BreachReferral,
            "a warning the same day",
        ),
    ];
    for (warnings, expected, why) in cases {
        assert_eq!(step(warnings), *expected, "{why}");
    }
    // A leap day: 12 months from 2024-02-29 ends on 2025-02-28.
    assert_eq!(
        policy::statutory_step(&p, &[date(2024, 2, 29)], date(2025, 2, 27)),
        EnforcementStep::BreachReferral
    );
    assert_eq!(
        policy::statutory_step(&p, &[date(2024, 2, 29)], date(2025, 2, 28)),
        EnforcementStep::WarningOrReferral
    );
}

#[test]
fn session_date_rules() {
    let proj = project(false);
    let req = requirement("X1", "A", 100);
    let sunday = session(&id(), date(2026, 11, 22));
    assert_eq!(
        policy::check_session_date(&sunday, &proj, Some(&req))[0].message,
        "the project does not run on this day"
    );
    // After the expected end the requirement is still in force: no error.
    let mut late_order = req.clone();
    late_order.order_end = date(2026, 11, 20);
    let monday = session(&id(), date(2026, 11, 23));
    assert!(policy::check_session_date(&monday, &proj, Some(&late_order)).is_empty());
    // Before the order began, an error.
    let mut future_order = req.clone();
    future_order.order_start = date(2026, 11, 24);
    assert_eq!(
        policy::check_session_date(&monday, &proj, Some(&future_order))[0].message,
        "the session is before the order began"
    );
    assert!(policy::check_session_date(&monday, &proj, Some(&req)).is_empty());
}

// ---- captures through the store ----

#[test]
fn check_in_double_tap_records_once() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X100", "Ann", 100));
    fx.at(9, 2);
    let before = fx.events();
    let first = fx.uw.check_in(&a, CheckIn::default()).expect("tap");
    let recorded = first.expect("the first tap records the arrival");
    fx.assert_logged(&recorded, kinds::ARRIVED);
    assert_eq!(recorded.record_id, None);
    assert_eq!(
        fx.uw.check_in(&a, CheckIn::default()).expect("tap again"),
        None,
        "a double tap records nothing"
    );
    // session_started + arrived: two events, not three or four.
    assert_eq!(fx.events(), before + 2);
    let att = fx.attendance(&a);
    assert_eq!(att.arrival.expect("arrival").utc_ms, ms(2026, 11, 23, 9, 2));
}

#[test]
fn arrival_time_rules() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X100", "Ann", 100));
    fx.at(9, 0);
    let future = CheckIn {
        arrival: Some(stamp(2026, 11, 23, 10, 0)),
        ..CheckIn::default()
    };
    assert_eq!(
        field_of(fx.uw.check_in(&a, future).expect_err("future")),
        "arrival"
    );
    let yesterday = CheckIn {
        arrival: Some(stamp(2026, 11, 22, 9, 0)),
        ..CheckIn::default()
    };
    assert_eq!(
        field_of(fx.uw.check_in(&a, yesterday).expect_err("another day")),
        "arrival"
    );
    assert!(fx.attendance(&a).arrival.is_none(), "nothing recorded");
    // Edited arrival time in the past is fine.
    fx.check_in_at(&a, 8, 55);
}

#[test]
fn early_arrival_has_no_limit_and_check_in_closes_at_the_end() {
    // The 120-minute early limit is not in the national rules: dropped.
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X101", "Abe", 100));
    fx.at(6, 30);
    fx.uw
        .check_in(&a, CheckIn::default())
        .expect("early arrival");
    // After the scheduled end (16:00) check-in is refused.
    let (_, b) = fx.person(&fx.session, requirement("X102", "Bea", 100));
    fx.at(16, 1);
    let before = fx.events();
    let err = fx
        .uw
        .check_in(&b, CheckIn::default())
        .expect_err("after end");
    assert_eq!(field_of(err), "arrival");
    assert_eq!(fx.events(), before);
    // 16:00 itself is still within the session.
    fx.check_in_at(&b, 16, 0);
}

#[test]
fn same_person_two_sessions_same_day() {
    let fx = Fx::new();
    let (r, a) = fx.person(&fx.session, requirement("X200", "Bob", 100));
    let other = fx.add_session(&fx.travel_project, date(2026, 11, 23));
    let a2 = fx.appoint(&other, &r, "X200");
    fx.at(9, 5);
    fx.check_in_at(&a, 9, 0);
    let err = fx
        .uw
        .check_in(&a2, CheckIn::default())
        .expect_err("on site elsewhere");
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    // Once the first session's outcome is in, the second is allowed.
    fx.at(12, 0);
    fx.uw
        .record_outcome(&a, attended("ATTC", (9, 0), (12, 0), 0))
        .expect("outcome");
    fx.at(13, 0);
    fx.check_in_at(&a2, 13, 0);
}

#[test]
fn credit_beyond_outstanding_is_refused() {
    let fx = Fx::new();
    let mut req = requirement("X300", "Cat", 40);
    req.minutes_credited_office = 40 * 60 - 120; // two hours left
    let (r, a) = fx.person(&fx.session, req);
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(16, 0);
    let before = fx.events();
    let err = fx
        .uw
        .record_outcome(&a, attended("ATTC", (9, 0), (16, 0), 0))
        .expect_err("too much");
    assert_eq!(field_of(err), "departure");
    assert_eq!(fx.events(), before, "nothing recorded");
    // Leaving at the two hours is fine and completes the order.
    fx.uw
        .record_outcome(&a, attended("ATTC", (9, 0), (11, 0), 0))
        .expect("fits");
    assert_eq!(fx.uw.ledger(&r).expect("ledger").outstanding_minutes, 0);
}

#[test]
fn restricted_case_shows_crn_only() {
    let fx = Fx::new();
    let mut req = requirement("X400", "Secret Person", 100);
    req.restricted = true;
    let (r, _) = fx.person(&fx.session, req);
    let stored = fx
        .uw
        .store()
        .read(|rd| rd.records().require::<Requirement>(&r))
        .expect("read");
    assert_eq!(stored.value.name, None, "the name is not even kept");
    assert_eq!(stored.value.photo_ref, None);
    let view = fx.uw.roll_call(&fx.session).expect("roll call");
    assert_eq!(view.rows[0].label, "X400");
    assert!(view.rows[0].restricted);
    assert_eq!(view.rows[0].photo_ref, None);
    let ledger = fx.uw.person_ledger(&r).expect("ledger");
    assert_eq!(ledger.label, "X400");
}

#[test]
fn invalid_input_changes_nothing() {
    let fx = Fx::new();
    let (r, a) = fx.person(&fx.session, requirement("X500", "Dee", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(15, 0);
    let events = fx.events();
    let att = fx.attendance(&a);
    let pending = fx.uw.store().pending_count().expect("pending");
    let mut long_notes = attended("ATTC", (9, 0), (15, 0), 0);
    long_notes.notes = "x".repeat(4000);
    let mut late_travel = attended("ATTC", (9, 0), (15, 0), 0);
    late_travel.travel_minutes = Some(30);
    let bad: Vec<(OutcomeInput, &str)> = vec![
        (attended("ATTC", (15, 0), (9, 0), 0), "departure"),
        (attended("ATTC", (9, 0), (10, 0), 90), "penalty_minutes"),
        (long_notes, "notes"),
        (OutcomeInput::absence("NOPE"), "code"),
        (late_travel, "travel_minutes"),
        (OutcomeInput::absence("UACP"), "code"),
    ];
    for (input, field) in bad {
        let err = fx.uw.record_outcome(&a, input).expect_err(field);
        assert_eq!(field_of(err), field);
    }
    let missing = fx
        .uw
        .record_outcome(&id(), attended("ATTC", (9, 0), (15, 0), 0));
    assert!(matches!(missing, Err(Error::NotFound(_))));
    assert!(matches!(
        fx.uw
            .record_unallocated_arrival(&fx.session, "bad crn!", None, None),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        fx.uw.stand_down(&fx.session, "  "),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(fx.events(), events);
    assert_eq!(fx.attendance(&a), att);
    assert_eq!(fx.uw.store().pending_count().expect("pending"), pending);
    assert_eq!(fx.uw.ledger(&r).expect("ledger").credited_minutes, 0);
    // 3,999 characters is under the limit.
    let mut ok = attended("ATTC", (9, 0), (15, 0), 0);
    ok.notes = "x".repeat(3999);
    fx.uw.record_outcome(&a, ok).expect("under the limit");
}

#[test]
fn import_rejects_bad_reference_data_whole() {
    let fx = Fx::new();
    // Below 40 hours is valid (a fine default); zero is not.
    let mut bad = requirement("X600", "Eve", 20);
    bad.hours_required = 0;
    let err = fx
        .uw
        .import(ReferenceBatch {
            requirements: vec![(id(), requirement("X601", "Ok", 100)), (id(), bad)],
            ..Default::default()
        })
        .expect_err("hours");
    assert_eq!(field_of(err), "requirements[1].hours_required");
    let found = fx
        .uw
        .store()
        .read(|r| r.records().find::<Requirement>("crn", "X601"))
        .expect("find");
    assert!(found.is_empty(), "the good item was not half-imported");
    let err = fx
        .uw
        .import(ReferenceBatch {
            appointments: vec![(
                id(),
                Appointment {
                    session_id: id(),
                    requirement_id: None,
                    crn: "X1".into(),
                    allocated: true,
                    agreed_absence: None,
                    office_outcome: None,
                },
            )],
            ..Default::default()
        })
        .expect_err("unknown session");
    assert_eq!(field_of(err), "appointments[0].session_id");
}

#[test]
fn did_not_attend_only_after_start_and_flags_enforcement() {
    let fx = Fx::new();
    let (r, a) = fx.person(&fx.session, requirement("X700", "Fay", 100));
    fx.at(8, 50);
    let view = fx.uw.roll_call(&fx.session).expect("view");
    assert_eq!(view.rows[0].actions, vec![RollCallAction::CheckIn]);
    assert_eq!(
        field_of(fx.uw.did_not_attend(&a, true).expect_err("before start")),
        "code"
    );
    fx.at(9, 1);
    let view = fx.uw.roll_call(&fx.session).expect("view");
    assert_eq!(
        view.rows[0].actions,
        vec![RollCallAction::CheckIn, RollCallAction::DidNotAttend]
    );
    let res = fx.uw.did_not_attend(&a, true).expect("dna");
    assert_eq!(res.minutes_credited, 0);
    assert_eq!(res.enforcement, Some(EnforcementStep::WarningOrReferral));
    let items = fx.uw.enforcement_items().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].requirement_id.as_ref(), Some(&r));
    assert!(items[0].raise_alert);
    assert_eq!(items[0].code, "UACP");
}

#[test]
fn sensitive_flag_can_be_set_never_unset() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X800", "Gus", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(12, 0);
    fx.uw
        .record_outcome(&a, attended("ATTC", (9, 0), (12, 0), 0))
        .expect("outcome");
    let mut sensitive = attended("ATTC", (9, 0), (12, 0), 0);
    sensitive.sensitive = true;
    sensitive.notes = "disclosed something".into();
    fx.uw
        .correct_outcome(&a, sensitive.clone(), "add sensitive note")
        .expect("set");
    let unset = OutcomeInput {
        sensitive: false,
        ..sensitive
    };
    assert_eq!(
        field_of(fx.uw.correct_outcome(&a, unset, "oops").expect_err("unset")),
        "sensitive"
    );
    assert!(fx.attendance(&a).outcome.expect("outcome").sensitive);
}

#[test]
fn correction_keeps_history_and_moves_enforcement_and_ledger() {
    let fx = Fx::new();
    let (r, a) = fx.person(&fx.session, requirement("X900", "Hal", 100));
    fx.at(9, 20);
    fx.check_in_at(&a, 9, 20);
    fx.at(16, 0);
    let first = fx
        .uw
        .record_outcome(&a, attended("AFTC", (9, 20), (16, 0), 0))
        .expect("aftc");
    assert_eq!(first.enforcement, Some(EnforcementStep::WarningOrReferral));
    assert_eq!(fx.uw.ledger(&r).expect("ledger").credited_minutes, 400);
    assert!(matches!(
        fx.uw
            .correct_outcome(&a, attended("ATTC", (9, 20), (16, 0), 0), " "),
        Err(Error::InvalidInput { .. })
    ));
    let fix = fx
        .uw
        .correct_outcome(
            &a,
            attended("ATTC", (9, 0), (16, 0), 0),
            "arrived on time; bus log checked",
        )
        .expect("correct");
    assert_eq!(fix.enforcement, None);
    let att = fx.attendance(&a);
    assert_eq!(att.outcome.as_ref().expect("current").code, "ATTC");
    assert_eq!(att.history.len(), 1);
    assert_eq!(att.history[0].code, "AFTC");
    assert_eq!(fx.uw.ledger(&r).expect("ledger").credited_minutes, 420);
    let items = fx.uw.enforcement_items().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, EnforcementStatus::Withdrawn);
    // The log holds both events; the correction names the original.
    let events = fx.uw.store().events_after(0, 100).expect("events");
    let fix_event = events
        .iter()
        .find(|e| e.body.id == fix.recorded.event_id)
        .expect("fix");
    assert_eq!(fix_event.seq, fix.recorded.seq);
    assert_eq!(
        fix_event.body.supersedes.as_deref(),
        Some(first.recorded.event_id.as_str())
    );
    // The form shows the current value and its history.
    let form = fx.uw.appointment_form(&a).expect("form");
    assert_eq!(form.current.expect("current").code, "ATTC");
    assert_eq!(form.history[0].code, "AFTC");
    assert_eq!(form.row.actions, vec![RollCallAction::Correct]);
}

#[test]
fn travel_time_creates_an_office_task() {
    let fx = Fx::new();
    let s = fx.add_session(&fx.travel_project, date(2026, 11, 23));
    let (_, a) = fx.person(&s, requirement("X110", "Ivy", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(13, 0);
    let mut too_long = attended("ATTC", (9, 0), (13, 0), 0);
    too_long.travel_minutes = Some(181);
    assert_eq!(
        field_of(fx.uw.record_outcome(&a, too_long).expect_err("cap")),
        "travel_minutes"
    );
    let mut input = attended("ATTC", (9, 0), (13, 0), 0);
    input.travel_minutes = Some(90);
    fx.uw.record_outcome(&a, input).expect("ok");
    let tasks = fx.uw.travel_tasks().expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].minutes, 90);
}

#[test]
fn end_session_needs_every_outcome() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X120", "Jo", 100));
    let (_, b) = fx.person(&fx.session, requirement("X121", "Kim", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(16, 0);
    fx.uw
        .record_outcome(&a, attended("ATTC", (9, 0), (16, 0), 0))
        .expect("a");
    let err = fx.uw.end_session(&fx.session).expect_err("b missing");
    assert!(
        err.to_string()
            .contains("1 appointments still need an outcome"),
        "{err}"
    );
    let dna = fx.uw.did_not_attend(&b, false).expect("b");
    fx.assert_logged(&dna.recorded, kinds::OUTCOME);
    let ended = fx.uw.end_session(&fx.session).expect("end");
    fx.assert_logged(&ended, kinds::SESSION_ENDED);
    assert!(matches!(
        fx.uw.check_in(&b, CheckIn::default()),
        Err(Error::Conflict(_))
    ));
    let today = fx.uw.today(OFFICER, 0).expect("today");
    assert_eq!(today[0].status, SessionStatus::Ended);
}

#[test]
fn unallocated_arrival_is_recorded_not_refused() {
    let fx = Fx::new();
    let (r, _) = fx.person(&fx.session, requirement("X130", "Lee", 100));
    let other_session = fx.add_session(&fx.project, date(2026, 11, 24));
    let _ = r;
    fx.at(9, 10);
    // Known CRN (allocated elsewhere) and an unknown one.
    let known = {
        let s = &other_session;
        let (_, _) = fx.person(s, requirement("X131", "Max", 100));
        fx.uw
            .record_unallocated_arrival(&fx.session, "x131", Some("Max".into()), None)
            .expect("known")
    };
    fx.assert_logged(&known, kinds::UNALLOCATED_ARRIVAL);
    let known = known.record_id.expect("the new appointment");
    let unknown = fx
        .uw
        .record_unallocated_arrival(&fx.session, "Z999", Some("Ned".into()), None)
        .expect("unknown");
    fx.assert_logged(&unknown, kinds::UNALLOCATED_ARRIVAL);
    let unknown = unknown.record_id.expect("the new appointment");
    assert!(matches!(
        fx.uw
            .record_unallocated_arrival(&fx.session, "X130", None, None),
        Err(Error::Conflict(_))
    ));
    let view = fx.uw.roll_call(&fx.session).expect("view");
    assert_eq!(view.rows.len(), 3);
    let row = view
        .rows
        .iter()
        .find(|r| r.appointment_id == known)
        .expect("row");
    assert_eq!(row.label, "Max");
    assert!(row.warnings.contains(&RollCallWarning::Unallocated));
    assert_eq!(row.status, AppointmentStatus::OnSite);
    let row = view
        .rows
        .iter()
        .find(|r| r.appointment_id == unknown)
        .expect("row");
    assert_eq!(row.label, "Z999");
    fx.at(12, 0);
    fx.uw
        .record_outcome(
            &unknown,
            OutcomeInput::attended(
                "ATTC",
                stamp(2026, 11, 23, 9, 10),
                stamp(2026, 11, 23, 12, 0),
            ),
        )
        .expect("credited without a requirement on the device");
}

#[test]
fn headcount_and_incident_are_logged() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X140", "Ola", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    let headcount = fx.uw.record_headcount(&fx.session, 2).expect("count");
    assert_eq!((headcount.count, headcount.on_site), (2, 1));
    fx.assert_logged(&headcount.recorded, kinds::HEADCOUNT);
    let incident = fx
        .uw
        .record_incident(&fx.session, "Minor cut, first aid given")
        .expect("incident");
    fx.assert_logged(&incident, kinds::INCIDENT);
    let id = incident.event_id;
    assert!(matches!(
        fx.uw.record_incident(&fx.session, ""),
        Err(Error::InvalidInput { .. })
    ));
    let events = fx.uw.store().events_after(0, 100).expect("events");
    assert!(events
        .iter()
        .any(|e| e.body.id == id && e.body.kind == kinds::INCIDENT));
    assert!(events.iter().any(|e| e.body.kind == kinds::HEADCOUNT));
}

#[test]
fn roll_call_warnings_and_sync_state() {
    let fx = Fx::new();
    let mut req = requirement("X150", "Pat", 40);
    req.risk_level = RiskLevel::High;
    req.registrations = vec!["Child protection".into()];
    req.minutes_credited_office = 40 * 60 - 300;
    req.warnings = vec![date(2026, 6, 1)];
    let (_, a) = fx.person(&fx.session, req);
    fx.at(9, 30);
    fx.uw
        .check_in(
            &a,
            CheckIn {
                arrival: None,
                identity_checked: true,
                hi_vis_issued: false,
                hi_vis_worn: false,
            },
        )
        .expect("check in");
    let view = fx.uw.roll_call(&fx.session).expect("view");
    let row = &view.rows[0];
    assert_eq!(row.status, AppointmentStatus::OnSite);
    assert_eq!(row.actions, vec![RollCallAction::RecordOutcome]);
    assert_eq!(row.minutes_on_site, Some(0));
    for w in [
        RollCallWarning::Risk {
            level: RiskLevel::High,
        },
        RollCallWarning::Registrations {
            items: vec!["Child protection".into()],
        },
        RollCallWarning::HiVis,
        RollCallWarning::HoursNearlyComplete {
            outstanding_minutes: 300,
        },
        RollCallWarning::EnforcementHistory {
            open_items: 0,
            last_warning: Some(date(2026, 6, 1)),
        },
        RollCallWarning::Late { minutes: 30 },
    ] {
        assert!(
            row.warnings.contains(&w),
            "missing {w:?} in {:?}",
            row.warnings
        );
    }
    assert_eq!(view.summary.sync, SyncState::Pending(2));
    fx.at(10, 0);
    let later = fx.uw.roll_call(&fx.session).expect("view");
    assert_eq!(later.rows[0].minutes_on_site, Some(30));
    // A further enforceable failure within 12 months of the warning is a
    // breach referral.
    fx.at(11, 0);
    let res = fx
        .uw
        .record_outcome(&a, attended("AFTC", (9, 30), (11, 0), 0))
        .expect("aftc");
    assert_eq!(res.enforcement, Some(EnforcementStep::BreachReferral));
}

#[test]
fn views_record_consultations() {
    let fx = Fx::new();
    let (r, a) = fx.person(&fx.session, requirement("X160", "Quinn", 100));
    fx.uw.roll_call(&fx.session).expect("roll call");
    fx.uw.appointment_form(&a).expect("form");
    fx.uw.person_ledger(&r).expect("ledger");
    let log = fx.uw.store().access_log().expect("log");
    let purposes: Vec<&str> = log
        .iter()
        .filter(|e| e.action == crate::access::AccessAction::Consultation)
        .map(|e| e.purpose.as_str())
        .collect();
    assert_eq!(purposes, ["roll call", "appointment form", "ledger"]);
}

#[test]
fn ledger_warns_when_schedule_cannot_finish_the_order() {
    let fx = Fx::new();
    let mut req = requirement("X170", "Rae", 100);
    req.order_end = date(2026, 12, 31);
    req.minutes_credited_office = 60 * 60; // 40 hours left
    let (r, _) = fx.person(&fx.session, req);
    // Today plus two more 7-hour sessions: 21 hours scheduled of 40.
    for d in [24, 25] {
        let s = fx.add_session(&fx.project, date(2026, 11, d));
        fx.appoint(&s, &r, "X170");
    }
    let ledger = fx.uw.person_ledger(&r).expect("ledger").ledger;
    assert_eq!(ledger.outstanding_minutes, 40 * 60);
    assert_eq!(ledger.scheduled_minutes, 21 * 60);
    assert!(ledger.at_risk);
    assert_eq!(ledger.policy_version, "upw-rules/2026.2");
}

// ---- the scripted full session ----

#[test]
fn scripted_full_session_gives_exact_ledger_and_enforcement() {
    let fx = Fx::new();
    let people = [
        ("X001", "Ash", "ATTC"),
        ("X002", "Bea", "AFTC"),
        ("X003", "Cal", "ATSH"),
        ("X004", "Dot", "ATSS"),
        ("X005", "Eli", "UACP"),
        ("X006", "Fin", "AAME"),
        ("X007", "Gil", "ATTC"),
        ("X008", "Hep", "AFTC"),
    ];
    let mut ids = Vec::new();
    for (crn, name, code) in people {
        let mut req = requirement(crn, name, 100);
        if crn == "X008" {
            req.warnings = vec![date(2026, 9, 1)];
        }
        let (r, a) = fx.person(&fx.session, req);
        if code == "AAME" {
            fx.uw
                .import(ReferenceBatch {
                    appointments: vec![(
                        a.clone(),
                        Appointment {
                            session_id: fx.session.clone(),
                            requirement_id: Some(r.clone()),
                            crn: crn.into(),
                            allocated: true,
                            agreed_absence: Some("AAME".into()),
                            office_outcome: None,
                        },
                    )],
                    ..Default::default()
                })
                .expect("agreed absence");
        }
        ids.push((r, a, code));
    }
    // Another session next Monday for Ash, to be stood down.
    let next = fx.add_session(&fx.project, date(2026, 11, 30));
    let ash_next = fx.appoint(&next, &ids[0].0, "X001");
    let bea_next = fx.appoint(&next, &ids[1].0, "X002");

    fx.at(9, 25);
    for (i, (_, a, code)) in ids.iter().enumerate() {
        if ["UACP", "AAME"].contains(code) {
            continue;
        }
        let late = if i == 1 { 25 } else { 0 };
        fx.check_in_at(a, 9, late);
    }
    fx.at(9, 30);
    fx.uw.did_not_attend(&ids[4].1, true).expect("uacp");
    fx.uw
        .record_outcome(&ids[5].1, OutcomeInput::absence("AAME"))
        .expect("aame");
    fx.at(11, 0);
    fx.uw
        .record_outcome(&ids[2].1, {
            let mut i = attended("ATSH", (9, 0), (11, 0), 0);
            i.behaviour = Rating::Poor;
            i.raise_alert = true;
            i
        })
        .expect("atsh");
    fx.at(12, 0);
    fx.uw
        .record_outcome(&ids[3].1, attended("ATSS", (9, 0), (12, 0), 0))
        .expect("atss");
    fx.at(16, 0);
    fx.uw
        .record_outcome(&ids[0].1, attended("ATTC", (9, 0), (16, 0), 30))
        .expect("attc");
    fx.uw
        .record_outcome(&ids[1].1, attended("AFTC", (9, 25), (16, 0), 0))
        .expect("aftc");
    fx.uw
        .record_outcome(&ids[6].1, attended("ATTC", (9, 0), (16, 0), 0))
        .expect("attc 2");
    fx.uw
        .record_outcome(&ids[7].1, attended("AFTC", (9, 0), (15, 0), 0))
        .expect("aftc 2");
    // One correction: Gil actually left at 15:00.
    fx.uw
        .correct_outcome(
            &ids[6].1,
            attended("ATTC", (9, 0), (15, 0), 0),
            "left at 15:00, recorded wrongly",
        )
        .expect("correction");
    let today = fx.uw.today(OFFICER, 7).expect("today");
    assert_eq!(today.len(), 2);
    let s = &today[0];
    assert_eq!(
        (
            s.allocated,
            s.arrived,
            s.did_not_attend,
            s.sent_home,
            s.outcomes_missing
        ),
        (8, 6, 2, 2, 0)
    );
    fx.uw.end_session(&fx.session).expect("end");

    // Stand-down on another day: Ash had arrived, Bea had not.
    fx.clock.set_wall_ms(ms(2026, 11, 30, 9, 0));
    fx.uw
        .check_in(
            &ash_next,
            CheckIn {
                arrival: Some(stamp(2026, 11, 30, 9, 0)),
                identity_checked: true,
                hi_vis_issued: true,
                hi_vis_worn: true,
            },
        )
        .expect("ash next");
    fx.clock.set_wall_ms(ms(2026, 11, 30, 10, 15));
    // After the 09:00 start: Ash on site gets ATSS; Bea, not yet arrived,
    // stays open for an outcome (AASD only before the start).
    let stood_down = fx
        .uw
        .stand_down(&next, "Storm warning")
        .expect("stand down");
    assert_eq!(stood_down.outcomes_recorded, 1);
    fx.assert_logged(&stood_down.recorded, kinds::SESSION_STOOD_DOWN);
    assert_eq!(fx.attendance(&ash_next).outcome.expect("o").code, "ATSS");
    assert_eq!(fx.attendance(&bea_next).outcome, None);
    assert!(matches!(fx.uw.end_session(&next), Err(Error::Conflict(_))));

    // The ledgers, exactly.
    let credited: Vec<i64> = ids
        .iter()
        .map(|(r, _, _)| fx.uw.ledger(r).expect("ledger").credited_minutes)
        .collect();
    assert_eq!(
        credited,
        vec![
            390 + 75, // ATTC 9:00-16:00 less 30, plus 75 before the stand-down
            395,      // AFTC 9:25-16:00
            120,      // ATSH 9:00-11:00
            180,      // ATSS 9:00-12:00
            0,        // UACP
            0,        // AAME
            360,      // ATTC corrected to 9:00-15:00
            360,      // AFTC 9:00-15:00
        ]
    );
    // The enforcement items, exactly.
    let mut items: Vec<(String, String, EnforcementStep, bool)> = fx
        .uw
        .enforcement_items()
        .expect("items")
        .into_iter()
        .filter(|e| e.status == EnforcementStatus::Open)
        .map(|e| {
            let crn = people
                .iter()
                .zip(&ids)
                .find(|(_, (r, _, _))| e.requirement_id.as_ref() == Some(r))
                .map(|(p, _)| p.0.to_owned())
                .unwrap_or_default();
            (crn, e.code, e.step, e.raise_alert)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        items,
        vec![
            (
                "X002".into(),
                "AFTC".into(),
                EnforcementStep::WarningOrReferral,
                false
            ),
            (
                "X003".into(),
                "ATSH".into(),
                EnforcementStep::WarningOrReferral,
                true
            ),
            (
                "X005".into(),
                "UACP".into(),
                EnforcementStep::WarningOrReferral,
                true
            ),
            (
                "X008".into(),
                "AFTC".into(),
                EnforcementStep::BreachReferral,
                false
            ),
        ]
    );
    assert!(fx.uw.store().verify_chain().expect("chain").is_intact());
}

#[test]
fn form_check_reports_every_field_without_recording() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X180", "Sol", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(12, 0);
    let events = fx.events();
    let mut bad = attended("ATTC", (9, 0), (10, 0), 120);
    bad.notes = "n".repeat(5000);
    // The alert diary may be chosen on any outcome: no longer an error.
    bad.raise_alert = true;
    let check = fx.uw.check_outcome(&a, &bad).expect("check");
    let fields: Vec<&str> = check.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["notes", "penalty_minutes"]);
    assert_eq!(check.minutes_credited, None);
    let good = fx
        .uw
        .check_outcome(
            &a,
            &OutcomeInput::attended(
                "AFTC",
                stamp(2026, 11, 23, 9, 0),
                stamp(2026, 11, 23, 12, 0),
            ),
        )
        .expect("check");
    assert!(good.errors.is_empty());
    assert_eq!(good.minutes_credited, Some(180));
    assert_eq!(good.enforcement, Some(EnforcementStep::WarningOrReferral));
    assert_eq!(fx.events(), events, "checking records nothing");
    let form = fx.uw.appointment_form(&a).expect("form");
    let offered: Vec<&str> = form.outcomes.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(offered, ["ATTC", "AFTC", "ATSH", "ATSS"]);
    assert!(form.outcomes.iter().all(|o| !o.hint.is_empty()));
    assert_eq!(form.default_arrival, stamp(2026, 11, 23, 9, 0));
}

// ---- rules corrected to match nDelius and the Sentencing Code ----

fn ete_project() -> Project {
    Project {
        code: "ETE9".into(),
        name: "Maths course".into(),
        project_type: ProjectType::EducationTrainingEmployment,
        ..project(false)
    }
}

#[test]
fn stand_down_one_minute_either_side_of_the_start() {
    // (clock at stand-down, outcome for the person not yet arrived)
    let cases = [((8, 59), Some("AASD")), ((9, 0), None), ((9, 1), None)];
    for ((h, m), expected) in cases {
        let fx = Fx::new();
        let (_, early) = fx.person(&fx.session, requirement("X701", "Ivy", 100));
        let (_, absent) = fx.person(&fx.session, requirement("X702", "Jo", 100));
        fx.at(8, 30);
        fx.check_in_at(&early, 8, 30);
        fx.at(h, m);
        let recorded = fx
            .uw
            .stand_down(&fx.session, "Flooded site")
            .expect("stand down");
        assert_eq!(
            recorded.outcomes_recorded,
            1 + u32::from(expected.is_some()),
            "{h}:{m}"
        );
        let on_site = fx.attendance(&early).outcome.expect("ATSS");
        assert_eq!(on_site.code, "ATSS");
        assert_eq!(
            on_site.minutes_credited,
            i64::from(h * 60 + m) - 8 * 60 - 30
        );
        assert_eq!(
            fx.attendance(&absent).outcome.map(|o| o.code),
            expected.map(str::to_owned),
            "{h}:{m}"
        );
        if expected.is_none() {
            // Still open: the roll call offers "did not attend", and it records.
            let row = fx
                .uw
                .roll_call(&fx.session)
                .expect("roll call")
                .rows
                .into_iter()
                .find(|r| r.appointment_id == absent)
                .expect("row");
            assert!(
                row.actions.contains(&RollCallAction::DidNotAttend),
                "{:?}",
                row.actions
            );
            assert!(!row.actions.contains(&RollCallAction::CheckIn));
            fx.uw
                .did_not_attend(&absent, false)
                .expect("UACP after stand-down");
        }
    }
}

#[test]
fn ete_minutes_are_capped_at_30_percent_to_the_minute() {
    // 100 hours: the cap is 1,800 minutes. 1,500 already credited as ETE.
    let fx = Fx::new();
    let ete = id();
    fx.uw
        .import(ReferenceBatch {
            projects: vec![(ete.clone(), ete_project())],
            ..Default::default()
        })
        .expect("project");
    let course = fx.add_session(&ete, date(2026, 11, 23));
    let mut req = requirement("X710", "Kit", 100);
    req.minutes_credited_office = 1500;
    req.ete_minutes_credited_office = 1500;
    let (r, a) = fx.person(&course, req);
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(16, 0);
    // 301 minutes would pass the cap by one: refused, with what remains.
    let before = fx.events();
    let err = fx
        .uw
        .record_outcome(&a, attended("ATTC", (9, 0), (14, 1), 0))
        .expect_err("over the cap");
    match err {
        Error::InvalidInput { field, reason } => {
            assert_eq!(field, "departure");
            assert!(reason.contains("1800 minutes"), "{reason}");
            assert!(reason.contains("300 minutes remain"), "{reason}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(fx.events(), before, "nothing recorded");
    // Exactly 300 fits.
    fx.uw
        .record_outcome(&a, attended("ATTC", (9, 0), (14, 0), 0))
        .expect("at the cap");
    let ledger = fx.uw.ledger(&r).expect("ledger");
    assert_eq!(
        (ledger.ete_credited_minutes, ledger.ete_cap_minutes),
        (1800, 1800)
    );
    // Rounding down: 33 hours is 1,980 minutes, 30% is 594.
    let mut odd = requirement("X711", "Lou", 33);
    odd.hours_required = 33;
    assert_eq!(policy::ete_cap_minutes(&Policy::default(), &odd), 594);
    odd.hours_required = 41; // 2,460 minutes: 738
    assert_eq!(policy::ete_cap_minutes(&Policy::default(), &odd), 738);
}

#[test]
fn adjustments_move_the_minutes_required_both_ways() {
    let p = Policy::default();
    let adj = |direction, minutes, code: &str| Adjustment {
        direction,
        minutes,
        reason_code: code.into(),
        date: date(2026, 11, 1),
    };
    let mut req = requirement("X720", "Max", 100); // 6,000 minutes
    req.minutes_credited_office = 1000;
    req.adjustments = vec![
        adj(AdjustmentDirection::Positive, 120, "UPWA"),
        adj(AdjustmentDirection::Negative, 90, TRAVEL_TIME_REASON),
    ];
    let l = policy::ledger(&p, &req, 50, 0, 0);
    // Outstanding = required + positive − negative − credited.
    assert_eq!(l.outstanding_minutes, 6000 + 120 - 90 - 1050);
    assert_eq!(
        (l.positive_adjustment_minutes, l.negative_adjustment_minutes),
        (120, 90)
    );
    // Travel time is negative and at most 180 minutes; else the import fails.
    let fx = Fx::new();
    for bad in [
        adj(AdjustmentDirection::Positive, 60, TRAVEL_TIME_REASON),
        adj(AdjustmentDirection::Negative, 181, TRAVEL_TIME_REASON),
        adj(AdjustmentDirection::Negative, 0, "UPWA"),
    ] {
        let mut r = requirement("X721", "Ned", 100);
        r.adjustments = vec![bad];
        let err = fx
            .uw
            .import(ReferenceBatch {
                requirements: vec![(id(), r)],
                ..Default::default()
            })
            .expect_err("bad adjustment");
        assert_eq!(field_of(err), "requirements[0].adjustments[0]");
    }
    let mut ok = requirement("X722", "Oz", 100);
    ok.adjustments = vec![adj(AdjustmentDirection::Negative, 180, TRAVEL_TIME_REASON)];
    fx.uw
        .import(ReferenceBatch {
            requirements: vec![(id(), ok)],
            ..Default::default()
        })
        .expect("180 minutes of travel");
}

#[test]
fn only_warnings_given_count_per_order_across_requirements() {
    let fx = Fx::new();
    // Two requirements of one order; the office warned on the other one.
    let mut first = requirement("X730", "Pat", 100);
    first.order_ref = Some("EVENT-1".into());
    let mut second = first.clone();
    second.warnings = vec![date(2026, 5, 1)];
    let (_, a) = fx.person(&fx.session, first.clone());
    let other_r = id();
    fx.uw
        .import(ReferenceBatch {
            requirements: vec![(other_r, second)],
            ..Default::default()
        })
        .expect("second requirement");
    fx.at(9, 30);
    let res = fx.uw.did_not_attend(&a, false).expect("uacp");
    assert_eq!(res.enforcement, Some(EnforcementStep::BreachReferral));

    // Another person: an earlier failure flagged "warning due" on the device
    // is not a warning; only one the supervisor records as given counts.
    let (r2, a1) = fx.person(&fx.session, requirement("X731", "Quinn", 100));
    let s2 = fx.add_session(&fx.project, date(2026, 11, 24));
    let a2 = fx.appoint(&s2, &r2, "X731");
    let s3 = fx.add_session(&fx.project, date(2026, 11, 25));
    let a3 = fx.appoint(&s3, &r2, "X731");
    let first = fx.uw.did_not_attend(&a1, false).expect("first failure");
    assert_eq!(first.enforcement, Some(EnforcementStep::WarningOrReferral));
    fx.clock.set_wall_ms(ms(2026, 11, 24, 9, 30));
    let second = fx.uw.did_not_attend(&a2, false).expect("second failure");
    assert_eq!(
        second.enforcement,
        Some(EnforcementStep::WarningOrReferral),
        "the device's own flag is not a warning"
    );
    // The supervisor gives a warning on site for the second failure.
    let before = fx.events();
    let given = fx.uw.record_warning_given(&a2).expect("warning given");
    fx.assert_logged(&given, kinds::WARNING_GIVEN);
    assert_eq!(fx.events(), before + 1);
    assert!(matches!(
        fx.uw.record_warning_given(&a2),
        Err(Error::Conflict(_))
    ));
    fx.clock.set_wall_ms(ms(2026, 11, 25, 9, 30));
    let third = fx.uw.did_not_attend(&a3, false).expect("third failure");
    assert_eq!(third.enforcement, Some(EnforcementStep::BreachReferral));
    // A warning needs an enforceable outcome.
    let (_, fine) = fx.person(&fx.session, requirement("X732", "Rex", 100));
    fx.at(9, 0);
    assert_eq!(
        field_of(fx.uw.record_warning_given(&fine).expect_err("none")),
        "appointment"
    );
}

#[test]
fn work_after_the_expected_end_is_credited_and_flagged() {
    let fx = Fx::new();
    let mut req = requirement("X740", "Sam", 100);
    req.order_end = date(2026, 11, 20);
    let (r, a) = fx.person(&fx.session, req);
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    let row = &fx.uw.roll_call(&fx.session).expect("roll call").rows[0];
    assert!(row.warnings.contains(&RollCallWarning::AfterExpectedEnd {
        expected_end: date(2026, 11, 20)
    }));
    fx.at(12, 0);
    let check = fx
        .uw
        .check_outcome(&a, &attended("ATTC", (9, 0), (12, 0), 0))
        .expect("check");
    assert!(check.errors.is_empty() && check.after_expected_end);
    fx.uw
        .record_outcome(&a, attended("ATTC", (9, 0), (12, 0), 0))
        .expect("recorded, not refused");
    assert_eq!(fx.uw.ledger(&r).expect("ledger").credited_minutes, 180);
    assert!(fx.attendance(&a).outcome.expect("o").after_expected_end);
}

#[test]
fn hours_below_40_are_valid_and_the_aggregate_range_is_a_warning() {
    let fx = Fx::new();
    let (r, _) = fx.person(&fx.session, requirement("X750", "Tam", 20));
    assert_eq!(fx.uw.ledger(&r).expect("ledger").required_minutes, 1200);
    let row = &fx.uw.roll_call(&fx.session).expect("roll call").rows[0];
    assert!(row
        .warnings
        .contains(&RollCallWarning::AggregateHoursUnusual { hours: 20 }));
    // Two requirements of one order add up: 20 + 30 = 50 hours, no warning.
    let fx = Fx::new();
    let mut a = requirement("X751", "Uma", 20);
    a.order_ref = Some("E2".into());
    let mut b = a.clone();
    b.hours_required = 30;
    fx.person(&fx.session, a);
    fx.uw
        .import(ReferenceBatch {
            requirements: vec![(id(), b)],
            ..Default::default()
        })
        .expect("second");
    let row = &fx.uw.roll_call(&fx.session).expect("roll call").rows[0];
    assert!(!row
        .warnings
        .iter()
        .any(|w| matches!(w, RollCallWarning::AggregateHoursUnusual { .. })));
    assert!(policy::aggregate_hours_unusual(301) && !policy::aggregate_hours_unusual(300));
}

#[test]
fn sessions_that_cross_midnight_are_refused_at_import() {
    let fx = Fx::new();
    let mut night = session(&fx.project, date(2026, 11, 24));
    night.planned_start = t(22, 0);
    night.planned_end = t(2, 0);
    let err = fx
        .uw
        .import(ReferenceBatch {
            sessions: vec![(id(), night)],
            ..Default::default()
        })
        .expect_err("midnight");
    assert_eq!(field_of(err), "sessions[0].planned_end");
}

#[test]
fn office_outcomes_arrive_by_sync_and_are_shown_and_counted() {
    let fx = Fx::new();
    let (r, a) = fx.person(&fx.session, requirement("X760", "Val", 100));
    // The office marks the appointment rescheduled (an import from sync).
    fx.uw
        .import(ReferenceBatch {
            appointments: vec![(
                a.clone(),
                Appointment {
                    session_id: fx.session.clone(),
                    requirement_id: Some(r.clone()),
                    crn: "X760".into(),
                    allocated: true,
                    agreed_absence: None,
                    office_outcome: Some("RSSR".into()),
                },
            )],
            ..Default::default()
        })
        .expect("office outcome");
    fx.at(9, 30);
    let roll = fx.uw.roll_call(&fx.session).expect("roll call");
    let row = &roll.rows[0];
    assert_eq!(row.status, AppointmentStatus::Rescheduled);
    assert_eq!(row.outcome_code.as_deref(), Some("RSSR"));
    assert!(row.actions.is_empty(), "{:?}", row.actions);
    assert_eq!(roll.summary.did_not_attend, 0);
    assert_eq!(roll.summary.outcomes_missing, 0);
    // It cannot be marked as a failure, nor checked in.
    assert!(matches!(
        fx.uw.did_not_attend(&a, false),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        fx.uw.check_in(&a, CheckIn::default()),
        Err(Error::Conflict(_))
    ));
    // The session can close with it.
    fx.uw.end_session(&fx.session).expect("end");
    // An unknown office code is refused at import.
    let err = fx
        .uw
        .import(ReferenceBatch {
            appointments: vec![(
                id(),
                Appointment {
                    session_id: fx.session.clone(),
                    requirement_id: None,
                    crn: "X761".into(),
                    allocated: true,
                    agreed_absence: None,
                    office_outcome: Some("ZZZZ".into()),
                },
            )],
            ..Default::default()
        })
        .expect_err("unknown code");
    assert_eq!(field_of(err), "appointments[0].office_outcome");
}

#[test]
fn compliance_on_the_day_is_recorded_in_the_national_steps() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X770", "Wyn", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    fx.at(12, 0);
    let mut input = attended("ATSS", (9, 0), (11, 0), 0);
    input.compliance = Compliance {
        hi_vis_worn: Some(true),
        worked_intensively: Some(false),
        unable_to_work_reason: Some("Van broke down".into()),
        left_early_reason: None,
    };
    let mut blank = input.clone();
    blank.compliance.unable_to_work_reason = Some("  ".into());
    assert_eq!(
        field_of(fx.uw.record_outcome(&a, blank).expect_err("blank reason")),
        "compliance.unable_to_work_reason"
    );
    fx.uw.record_outcome(&a, input.clone()).expect("recorded");
    assert_eq!(
        fx.attendance(&a).outcome.expect("o").compliance,
        input.compliance
    );
    // Compliance only for someone who attended.
    let (_, b) = fx.person(&fx.session, requirement("X771", "Xan", 100));
    let mut absent = OutcomeInput::absence("UACP");
    absent.compliance.hi_vis_worn = Some(false);
    assert_eq!(
        field_of(fx.uw.record_outcome(&b, absent).expect_err("absent")),
        "compliance"
    );
}

#[test]
fn start_session_returns_its_event_once() {
    let fx = Fx::new();
    fx.at(8, 0);
    let started = fx.uw.start_session(&fx.session).expect("start");
    fx.assert_logged(&started.expect("recorded"), kinds::SESSION_STARTED);
    assert_eq!(fx.uw.start_session(&fx.session).expect("again"), None);
}

#[test]
fn compliance_is_asked_only_for_attended_outcomes() {
    let fx = Fx::new();
    let (_, a) = fx.person(&fx.session, requirement("X150", "Pat", 100));
    let (_, b) = fx.person(&fx.session, requirement("X151", "Ray", 100));
    fx.at(9, 0);
    fx.check_in_at(&a, 9, 0);
    let on_site = fx.uw.appointment_form(&a).expect("form");
    assert!(!on_site.outcomes.is_empty());
    for o in &on_site.outcomes {
        let code = codes::outcome(&o.code).expect("known");
        assert_eq!(o.asks_compliance, code.attended(), "{}", o.code);
    }
    assert!(on_site.outcomes.iter().all(|o| o.asks_compliance));
    let absent = fx.uw.appointment_form(&b).expect("form");
    let uacp = absent
        .outcomes
        .iter()
        .find(|o| o.code == "UACP")
        .expect("offered");
    assert!(!uacp.asks_compliance);
    // The flag and the rule agree: answers sent for an absence are refused.
    let mut input = OutcomeInput::absence("UACP");
    input.compliance.hi_vis_worn = Some(true);
    let check = fx.uw.check_outcome(&b, &input).expect("check");
    assert!(check.errors.iter().any(|e| e.field == "compliance"));
}

#[test]
fn every_field_the_rules_name_has_a_label() {
    // Every field name written in this module's messages, found in its source.
    let sources = [
        include_str!("mod.rs"),
        include_str!("policy.rs"),
        include_str!("model.rs"),
        include_str!("views.rs"),
    ];
    let mut names = Vec::new();
    for src in sources {
        for opener in ["invalid(", "FieldError::new(", "require_text(", "(\""] {
            for (i, _) in src.match_indices(opener) {
                let rest = src[i + opener.len()..].trim_start();
                let rest = if opener == "(\"" {
                    rest
                } else {
                    match rest.strip_prefix('"') {
                        Some(r) => r,
                        None => continue,
                    }
                };
                if let Some(end) = rest.find('"') {
                    let name = &rest[..end];
                    let after = rest[end + 1..].trim_start();
                    let is_field = name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                        && !name.is_empty()
                        && (opener != "(\""
                            || (after.starts_with(", &")
                                && src[..i].ends_with(|c: char| c.is_whitespace() || c == '[')));
                    if is_field {
                        names.push(name.to_owned());
                    }
                }
            }
        }
    }
    assert!(names.iter().any(|n| n == "compliance.left_early_reason"));
    assert!(names.iter().any(|n| n == "penalty_minutes"));
    for name in names {
        let label = views::field_label(&name).unwrap_or_else(|| panic!("no label for {name}"));
        assert!(!label.contains('_') && !label.contains('.'), "{label}");
    }
}
