//! Requests built in the Community Payback API's published shapes.

use super::*;
use fieldbook_core::ids::RecordId;
use fieldbook_core::vocab::Stamp;

fn id() -> RecordId {
    RecordId::random().expect("id")
}

/// 2026-07-01 (BST, UTC+1): arrival 09:00:40 local, departure 15:30:10.
fn outcome(code: &str) -> OutcomeRecorded {
    let day = 1_782_864_000_000; // 2026-07-01T00:00:00Z
    OutcomeRecorded {
        appointment_id: id(),
        session_id: id(),
        requirement_id: None,
        crn: "X123456".into(),
        session_date: NaiveDate::from_ymd_opt(2026, 7, 1).expect("date"),
        code: code.into(),
        arrival: Some(Stamp {
            utc_ms: day + 8 * 3_600_000 + 40_000,
            offset_min: 60,
        }),
        departure: Some(Stamp {
            utc_ms: day + 14 * 3_600_000 + 30 * 60_000 + 10_000,
            offset_min: 60,
        }),
        penalty_minutes: 15,
        work_quality: Rating::Good,
        behaviour: Rating::NotApplicable,
        notes: "Worked well".into(),
        sensitive: true,
        raise_alert: false,
        travel_minutes: None,
        compliance: fieldbook_core::unpaid_work::model::Compliance {
            hi_vis_worn: Some(true),
            worked_intensively: Some(false),
            unable_to_work_reason: None,
            left_early_reason: None,
        },
        ete: false,
        after_expected_end: false,
        minutes_credited: 375,
        late_by_minutes: None,
        enforcement_step: None,
        policy_version: "test".into(),
    }
}

fn lookup() -> Lookup {
    Lookup {
        appointment: Some(AppointmentLink {
            delius_id: 101,
            delius_version: "7a0b6c1e-0000-4000-8000-000000000001".into(),
            project_code: "N56 PARK".into(),
        }),
        contact_outcome_id: Some("5b5f8c3a-0000-4000-8000-00000000a77c".into()),
        enforcement_action_id: Some("9c1d2e3f-0000-4000-8000-0000000000e1".into()),
        planned: Some((
            NaiveTime::from_hms_opt(9, 0, 0).expect("t"),
            NaiveTime::from_hms_opt(16, 0, 0).expect("t"),
        )),
    }
}

#[test]
fn an_attended_outcome_has_local_minutes_attendance_and_the_flags() {
    let (path, u) = outcome_request(&outcome("ATTC"), "N56A123", &lookup()).expect("request");
    assert_eq!(path, "/projects/N56%20PARK/appointments/101/outcome");
    assert_eq!(
        (u.start_time.as_str(), u.end_time.as_str()),
        ("09:00", "15:30")
    );
    let a = u.attendance_data.clone().expect("attendance");
    assert!(a.hi_vis_worn && !a.worked_intensively);
    assert_eq!(a.penalty_minutes, 15);
    assert_eq!(
        (a.work_quality, a.behaviour),
        (Scale::Good, Scale::NotApplicable)
    );
    assert!(u.enforcement_data.is_none());
    assert!(u.sensitive && !u.alert_active);
    assert_eq!(u.supervisor_officer_code, "N56A123");
    // The published field names and enum spellings, exactly.
    let v = serde_json::to_value(&u).expect("json");
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "alertActive",
            "attendanceData",
            "contactOutcomeId",
            "deliusId",
            "deliusVersionToUpdate",
            "endTime",
            "enforcementData",
            "formKeyToDelete",
            "notes",
            "sensitive",
            "startTime",
            "supervisorOfficerCode"
        ]
    );
    assert_eq!(v["attendanceData"]["workQuality"], "GOOD");
    assert_eq!(v["attendanceData"]["behaviour"], "NOT_APPLICABLE");
    assert_eq!(v["attendanceData"]["hiVisWorn"], true);
    assert_eq!(v["attendanceData"]["penaltyMinutes"], 15);
}

#[test]
fn a_failure_to_attend_carries_enforcement_data_and_the_planned_times() {
    let mut o = outcome("AFTC");
    o.arrival = None;
    o.departure = None;
    o.enforcement_step = Some(EnforcementStep::WarningOrReferral);
    let (_, u) = outcome_request(&o, "N56A123", &lookup()).expect("request");
    assert_eq!(
        (u.start_time.as_str(), u.end_time.as_str()),
        ("09:00", "16:00")
    );
    assert!(u.attendance_data.is_none(), "not attended");
    let e = u.enforcement_data.expect("enforceable");
    assert_eq!(
        e.respond_by,
        NaiveDate::from_ymd_opt(2026, 7, 8).expect("date")
    );
    assert_eq!(
        e.enforcement_action_id,
        "9c1d2e3f-0000-4000-8000-0000000000e1"
    );
}

#[test]
fn what_is_missing_is_named() {
    let o = outcome("ATTC");
    let mut l = lookup();
    l.appointment = None;
    assert_eq!(
        outcome_request(&o, "x", &l).err(),
        Some(Attention::NoAppointmentLink)
    );
    let mut l = lookup();
    l.contact_outcome_id = None;
    assert_eq!(
        outcome_request(&o, "x", &l).err(),
        Some(Attention::UnknownOutcome("ATTC".into()))
    );
    let mut f = outcome("AFTC");
    f.enforcement_step = Some(EnforcementStep::BreachReferral);
    let mut l = lookup();
    l.enforcement_action_id = None;
    assert_eq!(
        outcome_request(&f, "x", &l).err(),
        Some(Attention::NoEnforcementAction("breach_referral"))
    );
    let mut n = outcome("AFTC");
    n.arrival = None;
    n.departure = None;
    let mut l = lookup();
    l.planned = None;
    assert_eq!(outcome_request(&n, "x", &l).err(), Some(Attention::NoTimes));
}

#[test]
fn the_idempotency_key_is_the_events_and_stable() {
    assert_eq!(idempotency_key("abc"), "fieldbook-abc");
    assert_eq!(idempotency_key("abc"), idempotency_key("abc"));
}
