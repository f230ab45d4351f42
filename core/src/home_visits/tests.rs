//! Home visits through the store: every outcome path, drafts, amendments,
//! expiry, the lone-worker timer end to end (restart, clock changes), the
//! views, and invalid input that changes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;

use super::model::*;
use super::safety::{AlarmKind, SafetyStatus};
use super::views::{DraftExpiry, SafetyAction};
use super::*;
use crate::clock::ManualClock;
use crate::platform::SoftwareKeyStore;
use crate::store::StoreSettings;
use crate::vocab::RiskLevel;

const PIN: &str = "274913";
const MIN: u64 = 60_000;

fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|d| d.and_hms_opt(h, mi, 0))
        .expect("valid")
        .and_utc()
        .timestamp_millis()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

struct Fx {
    _dir: tempfile::TempDir,
    path: PathBuf,
    platform: Arc<SoftwareKeyStore>,
    clock: Arc<ManualClock>,
    hv: HomeVisits,
}

fn case(crn: &str, name: &str, risk: RiskLevel) -> Case {
    Case {
        escalation_flagged: false,
        crn: crn.into(),
        name: Some(name.into()),
        restricted: false,
        addresses: vec![Address {
            id: "home".into(),
            text: format!("{crn} Home Street"),
            access_notes: "Side gate".into(),
            main: true,
        }],
        risk_level: risk,
        registrations: vec![],
        staff_risks: vec![],
        known_occupants: vec!["Partner".into()],
        assessment: AssessmentStatus::Current,
        supervision_start: date(2026, 11, 1),
        last_visit: None,
    }
}

fn id() -> RecordId {
    RecordId::random().expect("rng")
}

impl Fx {
    /// A store at Monday 2026-11-23 10:00 UTC.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("db");
        let clock = Arc::new(ManualClock::new(ms(2026, 11, 23, 10, 0)));
        let platform = Arc::new(SoftwareKeyStore::random().expect("rng"));
        let mut settings = StoreSettings::new("po-1");
        settings.kdf_iterations = 1000;
        let store =
            Store::create(&path, settings, PIN, platform.clone(), clock.clone()).expect("store");
        Fx {
            _dir: dir,
            path,
            platform,
            clock,
            hv: HomeVisits::new(Arc::new(store)),
        }
    }

    fn add(&self, c: Case) -> RecordId {
        let i = id();
        self.hv
            .import(CaseloadBatch {
                cases: vec![(i.clone(), c)],
                scheduled: vec![],
            })
            .expect("import");
        i
    }

    fn start(&self, case_id: &RecordId, minutes: i64) -> Started {
        self.hv
            .start_visit(start_input(case_id, minutes))
            .expect("start")
    }

    fn events(&self) -> Vec<crate::store::LoggedEvent> {
        self.hv.store().events_after(0, 10_000).expect("events")
    }

    fn visit(&self, v: &RecordId) -> Visit {
        self.hv
            .store()
            .read(|r| r.records().require::<Visit>(v))
            .expect("visit")
            .value
    }

    /// Closes the store and opens it again, as after the app was killed;
    /// the new process's monotonic clock starts again.
    fn restart(self) -> Fx {
        let Fx {
            _dir,
            path,
            platform,
            clock,
            hv,
        } = self;
        let store = Arc::try_unwrap(hv.store).expect("sole owner");
        drop(store);
        let clock = Arc::new(ManualClock::new(clock.now_utc_ms()));
        let store = Store::open(&path, platform.clone(), clock.clone()).expect("open");
        store.unlock(PIN).expect("unlock");
        Fx {
            _dir,
            path,
            platform,
            clock,
            hv: HomeVisits::new(Arc::new(store)),
        }
    }
}

use crate::clock::Clock;

fn start_input(case_id: &RecordId, minutes: i64) -> StartVisit {
    StartVisit {
        arranged: true,
        manager_override: None,
        case_id: case_id.clone(),
        address_id: None,
        scheduled_visit_id: None,
        purpose: "Check accommodation".into(),
        officers_present: vec!["po-1".into()],
        expected_minutes: minutes,
        location_consent: false,
        location: None,
    }
}

fn form(outcome: &str) -> VisitForm {
    let kind = policy::visit_outcome(outcome).map(|o| o.kind);
    VisitForm {
        no_answer: false,
        outcome: Some(outcome.into()),
        officers_present: vec!["po-1".into()],
        people_present: vec![PersonPresent {
            name: "Partner".into(),
            relationship: "partner".into(),
            child: false,
        }],
        accommodation: (kind == Some(policy::VisitOutcomeKind::Seen)).then_some(Accommodation {
            suitability: Suitability::Suitable,
            condition: Condition::Fair,
            changes: "New lodger".into(),
        }),
        risk_concerns: String::new(),
        safeguarding_concerns: String::new(),
        visor: false,
        follow_ups: vec![],
        enforcement: policy::visit_outcome(outcome)
            .is_some_and(|o| o.enforceable)
            .then_some(EnforcementAction::WarningLetter),
        notes: "Spoke at the door".into(),
        sensitive: false,
    }
}

fn field_of(err: Error) -> String {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other}"),
    }
}

#[test]
fn every_outcome_path_finalises() {
    for o in policy::VISIT_OUTCOMES {
        let fx = Fx::new();
        let c = fx.add(case("X1", "Ann", RiskLevel::Medium));
        let v = fx.start(&c, 30).visit_id;
        fx.clock.advance_ms(20 * MIN);
        fx.hv.end_visit(&v, None, None).expect("end");
        let errors = fx.hv.save_draft(&v, form(o.code)).expect("draft");
        assert!(errors.is_empty(), "{}: {errors:?}", o.code);
        let event = fx.hv.finalise(&v).expect(o.code);
        assert_eq!(event.record_id, None);
        let recorded = fx
            .events()
            .into_iter()
            .find(|e| e.body.id == event.event_id)
            .expect("event");
        assert_eq!(recorded.seq, event.seq);
        assert_eq!(recorded.body.kind, kinds::RECORDED);
        assert_eq!(recorded.body.payload["form"]["outcome"], o.code);
        assert_eq!(recorded.body.payload["contact_type"], "CHVS");
        assert_eq!(fx.visit(&v).status, RecordStatus::Final);
    }
}

#[test]
fn outcome_specific_requirements() {
    let fx = Fx::new();
    let c = fx.add(case("X1", "Ann", RiskLevel::Medium));
    let v = fx.start(&c, 30).visit_id;
    fx.clock.advance_ms(10 * MIN);
    fx.hv.end_visit(&v, None, None).expect("end");
    // Seen without accommodation; a failure without enforcement; an
    // enforcement action on a non-failure.
    let mut seen = form("ATTC");
    seen.accommodation = None;
    assert_eq!(
        fx.hv.save_draft(&v, seen).expect("draft")[0].field,
        "accommodation"
    );
    assert_eq!(
        field_of(fx.hv.finalise(&v).expect_err("incomplete")),
        "accommodation"
    );
    let mut fta = form("AFTA");
    fta.enforcement = None;
    assert_eq!(
        fx.hv.save_draft(&v, fta).expect("draft")[0].field,
        "enforcement"
    );
    let mut nsna = form("AAME");
    nsna.enforcement = Some(EnforcementAction::InitiateBreach);
    assert_eq!(
        fx.hv.save_draft(&v, nsna).expect("draft")[0].field,
        "enforcement"
    );
    let mut pending = form("UAAB");
    pending.enforcement = Some(EnforcementAction::DecisionPendingResponse {
        respond_by: date(2026, 11, 30),
    });
    assert!(fx.hv.save_draft(&v, pending).expect("draft").is_empty());
    fx.hv.finalise(&v).expect("finalise");
}

#[test]
fn draft_across_sittings_then_final_then_amendments() {
    let fx = Fx::new();
    let c = fx.add(case("X2", "Bob", RiskLevel::High));
    let v = fx.start(&c, 45).visit_id;
    let mut f = form("ATTC");
    f.notes = "First sitting".into();
    fx.hv.save_draft(&v, f.clone()).expect("sitting 1");
    fx.clock.advance_ms(30 * MIN);
    fx.hv.end_visit(&v, None, None).expect("end");
    let events_before = fx.events().len();
    fx.clock.advance_ms(60 * MIN);
    f.notes = "First sitting. Second sitting.".into();
    f.follow_ups = vec![FollowUp {
        action: "Contact landlord".into(),
        due: date(2026, 11, 27),
        done: false,
    }];
    fx.hv.save_draft(&v, f.clone()).expect("sitting 2");
    assert_eq!(fx.events().len(), events_before, "drafts are not events");
    assert_eq!(fx.visit(&v).draft.notes, "First sitting. Second sitting.");
    let first = fx.hv.finalise(&v).expect("final").event_id;
    assert!(matches!(
        fx.hv.save_draft(&v, f.clone()),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(fx.hv.finalise(&v), Err(Error::Conflict(_))));

    // Amendments: a reason is required; each supersedes the previous.
    assert_eq!(
        field_of(fx.hv.amend(&v, f.clone(), " ").expect_err("reason")),
        "reason"
    );
    let mut f2 = f.clone();
    f2.sensitive = true;
    f2.safeguarding_concerns = "Child at the address not previously known".into();
    let second = fx
        .hv
        .amend(&v, f2.clone(), "added safeguarding concern")
        .expect("amend")
        .event_id;
    let mut f3 = f2.clone();
    f3.sensitive = false;
    assert_eq!(
        field_of(fx.hv.amend(&v, f3, "unset").expect_err("sensitive")),
        "sensitive"
    );
    let mut f4 = f2.clone();
    f4.visor = true;
    let third = fx
        .hv
        .amend(&v, f4, "include in ViSOR report")
        .expect("amend 2")
        .event_id;
    let visit = fx.visit(&v);
    let ids: Vec<&str> = visit.finals.iter().map(|f| f.event_id.as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str(), third.as_str()]);
    let events = fx.events();
    let find = |id: &str| {
        events
            .iter()
            .find(|e| e.body.id == id)
            .expect("event")
            .clone()
    };
    assert_eq!(
        find(&second).body.supersedes.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        find(&third).body.supersedes.as_deref(),
        Some(second.as_str())
    );
    assert_eq!(
        find(&third).body.reason.as_deref(),
        Some("include in ViSOR report")
    );

    let person = fx.hv.person(&c).expect("person");
    assert_eq!(person.history.len(), 1);
    assert_eq!(person.history[0].amendments, 2);
    assert_eq!(person.history[0].outcome.as_deref(), Some("ATTC"));
    assert_eq!(person.open_follow_ups.len(), 1);
    // Seen today; high risk: next due in 15 days.
    assert_eq!(person.next_due, date(2026, 12, 8));
    assert!(!person.overdue_by_policy);
    let done = fx.hv.complete_follow_up(&v, 0).expect("done");
    let done = done.expect("recorded the first time");
    let logged = fx
        .events()
        .into_iter()
        .find(|e| e.body.id == done.event_id)
        .expect("event");
    assert_eq!(
        (logged.seq, logged.body.kind.as_str()),
        (done.seq, kinds::FOLLOW_UP_DONE)
    );
    assert_eq!(fx.hv.complete_follow_up(&v, 0).expect("again"), None);
    assert!(fx.hv.person(&c).expect("person").open_follow_ups.is_empty());
    assert!(fx.hv.complete_follow_up(&v, 5).is_err());
}

#[test]
fn drafts_warn_then_expire_and_are_erased() {
    let fx = Fx::new();
    let c = fx.add(case("X3", "Cat", RiskLevel::Low));
    let v = fx.start(&c, 30).visit_id;
    let mut f = form("ATTC");
    f.notes = "DRAFTMARKER".into();
    fx.hv.save_draft(&v, f).expect("draft");
    fx.clock.advance_ms(10 * MIN);
    fx.hv.end_visit(&v, None, None).expect("end");
    let expiry = |fx: &Fx| fx.hv.active_visit(&v).expect("view").draft_expiry;
    assert!(matches!(expiry(&fx), DraftExpiry::Fresh { .. }));
    fx.clock.advance_ms(47 * 60 * MIN);
    assert_eq!(fx.hv.expire_drafts().expect("expire"), 0);
    fx.clock.advance_ms(2 * 60 * MIN);
    assert!(matches!(expiry(&fx), DraftExpiry::ExpiresSoon { .. }));
    fx.clock.advance_ms(24 * 60 * MIN);
    assert_eq!(expiry(&fx), DraftExpiry::Expired);
    assert_eq!(fx.hv.expire_drafts().expect("expire"), 1);
    let visit = fx.visit(&v);
    assert_eq!(visit.status, RecordStatus::DraftExpired);
    assert!(visit.draft.notes.is_empty());
    assert!(matches!(fx.hv.finalise(&v), Err(Error::Conflict(_))));
    let log = fx.hv.store().access_log().expect("log");
    assert!(log
        .iter()
        .any(|e| e.action == AccessAction::Erasure && e.subject.ends_with("/draft")));
    // The visit's start and end stay in the log.
    let kinds: Vec<String> = fx.events().into_iter().map(|e| e.body.kind).collect();
    assert!(kinds.contains(&kinds::STARTED.to_owned()));
    assert!(kinds.contains(&kinds::ENDED.to_owned()));
}

#[test]
fn invalid_input_is_refused_and_changes_nothing() {
    let fx = Fx::new();
    let c = fx.add(case("X4", "Dee", RiskLevel::Medium));
    let before = fx.events().len();
    let cases: Vec<(StartVisit, &str)> = vec![
        (
            StartVisit {
                case_id: id(),
                ..start_input(&c, 30)
            },
            "case_id",
        ),
        (
            StartVisit {
                purpose: " ".into(),
                ..start_input(&c, 30)
            },
            "purpose",
        ),
        (
            StartVisit {
                officers_present: vec![],
                ..start_input(&c, 30)
            },
            "officers_present",
        ),
        (
            StartVisit {
                expected_minutes: 1,
                ..start_input(&c, 30)
            },
            "expected_minutes",
        ),
        (
            StartVisit {
                address_id: Some("nowhere".into()),
                ..start_input(&c, 30)
            },
            "address_id",
        ),
        (
            StartVisit {
                location: Some(GeoPoint {
                    lat: 51.5,
                    lon: -0.1,
                    accuracy_m: 10.0,
                }),
                ..start_input(&c, 30)
            },
            "location",
        ),
        (
            StartVisit {
                location_consent: true,
                location: Some(GeoPoint {
                    lat: 99.0,
                    lon: 0.0,
                    accuracy_m: 1.0,
                }),
                ..start_input(&c, 30)
            },
            "location",
        ),
        (
            StartVisit {
                scheduled_visit_id: Some(id()),
                ..start_input(&c, 30)
            },
            "scheduled_visit_id",
        ),
    ];
    for (input, field) in cases {
        assert_eq!(field_of(fx.hv.start_visit(input).expect_err(field)), field);
    }
    assert_eq!(fx.events().len(), before);

    let v = fx.start(&c, 30).visit_id;
    fx.clock.advance_ms(20 * MIN);
    let events = fx.events().len();
    let visit = fx.visit(&v);
    let before_start = Stamp {
        utc_ms: visit.start.utc_ms - MIN as i64,
        offset_min: 0,
    };
    assert_eq!(
        field_of(
            fx.hv
                .end_visit(&v, Some(before_start), None)
                .expect_err("end")
        ),
        "end"
    );
    assert_eq!(field_of(fx.hv.finalise(&v).expect_err("not ended")), "end");
    fx.hv.end_visit(&v, None, None).expect("end");
    let mut long = form("ATTC");
    long.notes = "x".repeat(4000);
    assert_eq!(fx.hv.save_draft(&v, long).expect("saved")[0].field, "notes");
    assert_eq!(field_of(fx.hv.finalise(&v).expect_err("too long")), "notes");
    let mut missing = form("ATTC");
    missing.outcome = None;
    missing.officers_present = vec![];
    let fields: Vec<String> = fx
        .hv
        .save_draft(&v, missing)
        .expect("saved")
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["outcome", "officers_present"]);
    assert_eq!(
        fx.events().len(),
        events + 1,
        "only the end event was added"
    );
    assert_eq!(fx.visit(&v).status, RecordStatus::Draft);
    assert!(matches!(
        fx.hv.person(&id()),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn lone_worker_timer_end_to_end() {
    let fx = Fx::new();
    let c = fx.add(case("X5", "Eve", RiskLevel::High));
    let started = fx.start(&c, 30);
    let v = started.visit_id.clone();
    let t0 = fx.clock.now_utc_ms();
    assert_eq!(started.safety.status, SafetyStatus::Active);
    assert_eq!(started.safety.remaining_ms, 30 * MIN as i64);
    let kinds_of = |alarms: &[safety::Alarm]| alarms.iter().map(|a| a.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds_of(&started.safety.alarms),
        [
            AlarmKind::Reminder,
            AlarmKind::Overdue,
            AlarmKind::Escalation
        ]
    );
    assert!(matches!(
        fx.hv.start_visit(start_input(&c, 30)),
        Err(Error::Conflict(_))
    ));

    fx.clock.advance_ms(25 * MIN);
    let tick = fx.hv.tick().expect("tick");
    assert!(tick.entered.is_empty());
    assert_eq!(tick.next_wake_ms, Some(t0 + 45 * MIN as i64));
    let ext = fx.hv.extend(&v, 15).expect("extend");
    assert_eq!(ext.expected_finish_ms, t0 + 45 * MIN as i64);
    fx.clock.advance_ms(35 * MIN); // 60 min: overdue at 45+15
    let tick = fx.hv.tick().expect("tick");
    assert_eq!(tick.entered, vec![(v.clone(), SafetyStatus::Overdue)]);
    fx.clock.advance_ms(15 * MIN);
    let tick = fx.hv.tick().expect("tick");
    assert_eq!(tick.entered, vec![(v.clone(), SafetyStatus::Escalated)]);
    let safe = fx.hv.check_in_safe(&v).expect("check in");
    assert_eq!(safe.status, SafetyStatus::Active);
    let silent = fx.hv.raise_alert(&v, true).expect("alert");
    assert_eq!(silent.status, SafetyStatus::Alert);
    assert!(silent.silent);
    // The screen must look unchanged: the core says to show the timer, and
    // shows no office acknowledgement (the phone still records receiving it).
    assert_eq!(silent.shown_status, SafetyStatus::Active);
    let ack = crate::sync::protocol::OfficeAck {
        alert_id: "a-1".into(),
        visit_id: v.to_string(),
        by: "Sam".into(),
        at_ms: t0,
        note: "Police on the way".into(),
    };
    let new = fx
        .hv
        .store()
        .write(|w| super::record_office_acks(w, std::slice::from_ref(&ack)))
        .expect("ack");
    assert_eq!(new, 1);
    let view = fx.hv.tick().expect("tick");
    assert_eq!(
        view.visits[0].office_ack, None,
        "not shown after a silent alert"
    );
    assert_eq!(view.visits[0].shown_status, SafetyStatus::Active);
    let view = fx.hv.active_visit(&v).expect("view");
    assert_eq!(view.actions.len(), 5);
    assert!(view.actions.contains(&SafetyAction::RaiseSilentAlert));
    let safe = fx.hv.check_in_safe(&v).expect("safe again");
    assert_eq!(safe.shown_status, SafetyStatus::Active);
    assert_eq!(
        safe.office_ack.map(|a| a.by),
        Some("Sam".to_owned()),
        "shown once the officer has checked in safe"
    );
    fx.hv.end_visit(&v, None, None).expect("end");
    assert!(fx.hv.tick().expect("tick").visits.is_empty());
    assert!(matches!(fx.hv.extend(&v, 10), Err(Error::Conflict(_))));

    // Every transition and action is an event, in order.
    let trail: Vec<(String, String)> = fx
        .events()
        .into_iter()
        .filter(|e| e.body.kind == kinds::SAFETY)
        .map(|e| {
            (
                e.body.payload["action"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e.body.payload["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("extended", "active"),
        ("timer", "overdue"),
        ("timer", "escalated"),
        ("checked_in", "active"),
        ("alert", "alert"),
        ("checked_in", "active"),
    ]
    .iter()
    .map(|(a, s)| (a.to_string(), s.to_string()))
    .collect();
    assert_eq!(trail, expected);
}

#[test]
fn timer_survives_restart_and_clock_changes() {
    let fx = Fx::new();
    let c = fx.add(case("X6", "Fay", RiskLevel::Medium));
    let v = fx.start(&c, 30).visit_id;
    fx.clock.advance_ms(20 * MIN);
    fx.hv.tick().expect("tick");
    // The app is killed and restarted 30 minutes later.
    fx.clock.advance_ms(30 * MIN);
    let fx = fx.restart();
    let tick = fx.hv.tick().expect("tick after restart");
    assert_eq!(tick.entered, vec![(v.clone(), SafetyStatus::Overdue)]);
    // The wall clock is set back an hour; 15 real minutes pass: it still
    // escalates on time.
    let wall = fx.clock.now_utc_ms();
    fx.clock.advance_ms(15 * MIN);
    fx.clock.set_wall_ms(wall - 60 * MIN as i64);
    let tick = fx.hv.tick().expect("tick");
    assert_eq!(tick.entered, vec![(v.clone(), SafetyStatus::Escalated)]);
}

#[test]
fn safety_prerequisites_refuse_a_start_unless_a_manager_overrides() {
    // Changed: these were warnings only; now the start is refused unless a
    // manager's override (who and why) is recorded with it, as an event.
    let fx = Fx::new();
    let mut c = case("X7", "Gus", RiskLevel::VeryHigh);
    c.staff_risks = vec![
        StaffRisk::PairsOnly,
        StaffRisk::Dogs("Two large dogs".into()),
    ];
    c.assessment = AssessmentStatus::ReviewDue;
    let c = fx.add(c);
    let before = fx.events().len();
    let err = fx
        .hv
        .start_visit(start_input(&c, 30))
        .expect_err("pairs only, one officer");
    assert_eq!(field_of(err), "manager_override");
    let mut pair = start_input(&c, 30);
    pair.officers_present = vec!["po-1".into(), "po-2".into()];
    let err = fx
        .hv
        .start_visit(pair.clone())
        .expect_err("assessment not current");
    assert_eq!(field_of(err), "manager_override");
    let mut blank = pair.clone();
    blank.manager_override = Some(ManagerOverride {
        manager_id: "spo-3".into(),
        reason: " ".into(),
    });
    assert_eq!(
        field_of(fx.hv.start_visit(blank).expect_err("no reason")),
        "manager_override.reason"
    );
    assert_eq!(fx.events().len(), before, "nothing recorded");

    let mut alone = start_input(&c, 30);
    alone.manager_override = Some(ManagerOverride {
        manager_id: "spo-3".into(),
        reason: "Urgent safeguarding check; police nearby".into(),
    });
    let started = fx.hv.start_visit(alone).expect("start with override");
    assert_eq!(started.recorded.record_id.as_ref(), Some(&started.visit_id));
    let start_event = fx
        .events()
        .into_iter()
        .find(|e| e.body.id == started.recorded.event_id)
        .expect("event");
    assert_eq!(
        (start_event.seq, start_event.body.kind.as_str()),
        (started.recorded.seq, kinds::STARTED)
    );
    assert_eq!(
        started.warnings,
        vec![
            StartWarning::PairsOnlyWithOneOfficer,
            StartWarning::AssessmentNotCurrent,
            StartWarning::StaffRisk(StaffRisk::Dogs("Two large dogs".into())),
        ]
    );
    let events = fx.events();
    let ov = events
        .iter()
        .find(|e| e.body.kind == kinds::SAFETY_OVERRIDE)
        .expect("override event");
    assert_eq!(ov.body.payload["manager_id"], "spo-3");
    assert_eq!(ov.body.payload["visit_id"], started.visit_id.as_str());
    assert!(events.iter().any(|e| e.body.kind == kinds::STARTED));
    fx.hv
        .end_visit(&started.visit_id, None, None)
        .expect_err("end at start time");
    fx.clock.advance_ms(MIN);
    fx.hv.end_visit(&started.visit_id, None, None).expect("end");
    // In pairs with a current assessment: no override needed.
    let mut ok = case("X7b", "Hew", RiskLevel::High);
    ok.staff_risks = vec![StaffRisk::PairsOnly];
    let ok = fx.add(ok);
    let mut pair = start_input(&ok, 30);
    pair.officers_present = vec!["po-1".into(), "po-2".into()];
    let started = fx.hv.start_visit(pair).expect("start in pairs");
    assert!(started.warnings.is_empty());
}

#[test]
fn no_answer_at_arranged_and_unannounced_visits() {
    // (arranged, outcome, expected first error field or none, respond-by)
    type Case<'a> = (bool, Option<&'a str>, Option<&'a str>, Option<NaiveDate>);
    let cases: &[Case<'_>] = &[
        (true, Some("AFTA"), None, Some(date(2026, 11, 30))),
        (true, None, Some("outcome"), None),
        (false, None, None, None),
        (false, Some("AFTA"), Some("outcome"), None),
    ];
    for (arranged, outcome, error, respond_by) in cases {
        let fx = Fx::new();
        let c = fx.add(case("X9", "Ida", RiskLevel::Medium));
        let mut input = start_input(&c, 30);
        input.arranged = *arranged;
        let v = fx.hv.start_visit(input).expect("start").visit_id;
        fx.clock.advance_ms(5 * MIN);
        fx.hv.end_visit(&v, None, None).expect("end");
        let mut f = form(outcome.unwrap_or("AFTA"));
        f.outcome = outcome.map(str::to_owned);
        f.no_answer = true;
        f.accommodation = None;
        f.people_present = vec![];
        if outcome.is_none() {
            f.enforcement = None;
        }
        let errors = fx.hv.save_draft(&v, f).expect("draft");
        match error {
            Some(field) => assert_eq!(errors[0].field, *field, "{arranged} {outcome:?}"),
            None => {
                assert!(errors.is_empty(), "{arranged} {outcome:?}: {errors:?}");
                let event = fx.hv.finalise(&v).expect("finalise");
                let recorded = fx
                    .events()
                    .into_iter()
                    .find(|e| e.body.id == event.event_id)
                    .expect("ev");
                let expected = respond_by.map(|d| serde_json::json!(d)).unwrap_or_default();
                assert_eq!(recorded.body.payload["respond_by"], expected);
                assert_eq!(fx.visit(&v).respond_by, *respond_by);
            }
        }
    }
}

#[test]
fn location_only_with_consent_and_sealed() {
    let fx = Fx::new();
    let c = fx.add(case("X8", "Hal", RiskLevel::Low));
    let mut input = start_input(&c, 30);
    input.location_consent = true;
    input.location = Some(GeoPoint {
        lat: 53.4808,
        lon: -2.2426,
        accuracy_m: 8.0,
    });
    let v = fx.hv.start_visit(input).expect("start").visit_id;
    fx.clock.advance_ms(10 * MIN);
    fx.hv
        .end_visit(
            &v,
            None,
            Some(GeoPoint {
                lat: 53.4809,
                lon: -2.2427,
                accuracy_m: 9.0,
            }),
        )
        .expect("end");
    let visit = fx.visit(&v);
    assert!(visit.start_location.is_some() && visit.end_location.is_some());
    // Without consent, the end location is refused.
    let v2 = fx.start(&c, 30).visit_id;
    fx.clock.advance_ms(10 * MIN);
    let err = fx
        .hv
        .end_visit(
            &v2,
            None,
            Some(GeoPoint {
                lat: 53.0,
                lon: -2.0,
                accuracy_m: 5.0,
            }),
        )
        .expect_err("no consent");
    assert_eq!(field_of(err), "location");
}

#[test]
fn today_lists_due_and_scheduled_overdue_first() {
    let fx = Fx::new();
    // Supervision started 2026-11-01; today is 2026-11-23.
    let high = fx.add(case("X10", "High Risk", RiskLevel::High)); // due 11-16: 7 days over
    let medium = fx.add(case("X11", "Medium", RiskLevel::Medium)); // due 12-13
                                                                   // A registered sex offender: 15 days whatever the risk level (a MAPPA
                                                                   // registration alone no longer shortens it).
    let mut reg = case("X12", "Registered", RiskLevel::Low);
    reg.registrations = vec!["RSO".into()];
    reg.supervision_start = date(2026, 11, 5); // due 11-20: 3 days over
    let mut mappa = case("X14", "Mappa Only", RiskLevel::Low);
    mappa.registrations = vec!["MAPPA".into()];
    let mappa = fx.add(mappa); // due 2027-01-24
    let mut flagged = case("X15", "Flagged", RiskLevel::Low);
    flagged.escalation_flagged = true;
    let flagged = fx.add(flagged); // due now
    let reg = fx.add(reg);
    let mut restricted = case("X13", "Hidden Name", RiskLevel::Low);
    restricted.restricted = true;
    restricted.staff_risks = vec![StaffRisk::Weapons("Knife found 2025".into())];
    let restricted = fx.add(restricted);
    let sched = id();
    fx.hv
        .import(CaseloadBatch {
            cases: vec![],
            scheduled: vec![(
                sched.clone(),
                ScheduledVisit {
                    case_id: restricted.clone(),
                    date: date(2026, 11, 23),
                    purpose: "Address check".into(),
                    address_id: "home".into(),
                },
            )],
        })
        .expect("schedule");
    let today = fx.hv.today().expect("today");
    let order: Vec<&RecordId> = today.iter().map(|d| &d.case_id).collect();
    assert_eq!(order, [&high, &reg, &flagged, &restricted]);
    assert!(!today
        .iter()
        .any(|d| d.case_id == medium || d.case_id == mappa));
    assert_eq!(today[0].overdue_days, 7);
    assert_eq!(today[0].days_since_last_visit, None);
    assert_eq!(today[0].address.access_notes, "Side gate");
    assert_eq!(today[3].label, "X13");
    assert_eq!(today[3].purpose.as_deref(), Some("Address check"));
    assert_eq!(today[3].staff_risks.len(), 1);
    // After a visit today, the case leaves today's list.
    let v = fx.start(&high, 30).visit_id;
    fx.clock.advance_ms(20 * MIN);
    fx.hv.end_visit(&v, None, None).expect("end");
    assert!(!fx
        .hv
        .today()
        .expect("today")
        .iter()
        .any(|d| d.case_id == high));
}

#[test]
fn import_rejects_bad_caseload() {
    let fx = Fx::new();
    let mut no_address = case("X20", "No Address", RiskLevel::Low);
    no_address.addresses.clear();
    let err = fx
        .hv
        .import(CaseloadBatch {
            cases: vec![(id(), no_address)],
            scheduled: vec![],
        })
        .expect_err("no address");
    assert_eq!(field_of(err), "cases[0].addresses");
    let err = fx
        .hv
        .import(CaseloadBatch {
            cases: vec![],
            scheduled: vec![(
                id(),
                ScheduledVisit {
                    case_id: id(),
                    date: date(2026, 11, 23),
                    purpose: "x".into(),
                    address_id: "home".into(),
                },
            )],
        })
        .expect_err("unknown case");
    assert_eq!(field_of(err), "scheduled[0].case_id");
}
