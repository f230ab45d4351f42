//! The office's clock decided at exact boundaries, against plain data.

use super::*;

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

fn fact(id: &str, what: FactKind) -> Fact {
    Fact {
        event_id: id.into(),
        device_id: "dev-1".into(),
        officer_id: "po-1".into(),
        received_ms: T0,
        what,
    }
}

fn started(minutes: i64) -> Fact {
    fact(
        "e-start",
        FactKind::Started {
            case_id: "case-1".into(),
            scheduled_visit_id: None,
            at_ms: T0,
            expected_finish_ms: T0 + minutes * MIN,
        },
    )
}

fn safety(id: &str, action: &str, at_min: i64, finish_min: i64) -> Fact {
    fact(
        id,
        FactKind::Safety {
            action: action.into(),
            silent: false,
            at_ms: T0 + at_min * MIN,
            expected_finish_ms: T0 + finish_min * MIN,
        },
    )
}

/// Applies a plan to what is stored (what the store does).
fn commit(mut l: Loaded, plan: &Plan) -> Loaded {
    if let Some(c) = &plan.clock {
        l.clock = Some(c.clone());
    }
    for a in &plan.alerts {
        match l.alerts.iter_mut().find(|x| x.alert_id == a.alert_id) {
            Some(x) => *x = a.clone(),
            None => l.alerts.push(a.clone()),
        }
    }
    l.facts.extend(plan.facts.iter().cloned());
    l
}

fn empty() -> Loaded {
    Loaded {
        visit_id: "visit-1".into(),
        officer_name: Some("Pat Officer".into()),
        ..Loaded::default()
    }
}

fn at(l: Loaded, minute: i64) -> (Loaded, Plan) {
    let plan = advance(&l, Periods::default(), T0 + minute * MIN);
    (commit(l, &plan), plan)
}

fn begin(minutes: i64) -> Loaded {
    let l = empty();
    let plan = apply_facts(&l, &[started(minutes)], Periods::default(), T0);
    commit(l, &plan)
}

fn status(l: &Loaded) -> ClockStatus {
    l.clock
        .as_ref()
        .map(|c| c.status)
        .unwrap_or(ClockStatus::Ended)
}

fn kinds(p: &Plan) -> Vec<NoticeKind> {
    p.notices.iter().map(|n| n.kind).collect()
}

#[test]
fn overdue_and_escalation_happen_at_the_exact_minutes() {
    // 30 minutes planned: overdue at 45 (15 grace), escalated at 60.
    let l = begin(30);
    assert_eq!(
        l.clock
            .as_ref()
            .map(|c| c.next_check_ms(&Periods::default())),
        Some(Some(T0 + 45 * MIN))
    );
    let (l, p) = at(l, 44);
    assert_eq!(status(&l), ClockStatus::Active);
    assert!(p.notices.is_empty());
    let (l, p) = advance_ms(l, 45 * MIN - 1);
    assert_eq!(status(&l), ClockStatus::Active, "one millisecond early");
    assert!(p.notices.is_empty());
    let (l, p) = at(l, 45);
    assert_eq!(status(&l), ClockStatus::Overdue);
    assert_eq!(kinds(&p), vec![NoticeKind::Overdue]);
    assert_eq!(l.alerts.len(), 1);
    assert_eq!(l.alerts[0].level, AlertLevel::Overdue);
    let (l, p) = advance_ms(l, 60 * MIN - 1);
    assert_eq!(status(&l), ClockStatus::Overdue);
    assert!(p.notices.is_empty());
    let (l, p) = at(l, 60);
    assert_eq!(status(&l), ClockStatus::Escalated);
    assert_eq!(kinds(&p), vec![NoticeKind::Escalated]);
    assert_eq!(l.alerts.len(), 1, "the same alert, raised");
    assert_eq!(l.alerts[0].level, AlertLevel::Escalated);
    assert_eq!(l.alerts[0].escalated_ms, Some(T0 + 60 * MIN));
    // Nothing more happens, however long the device stays silent.
    let (l, p) = at(l, 600);
    assert!(p.is_empty() && p.clock.is_none(), "{p:?}");
    assert_eq!(l.alerts.len(), 1);
    assert_eq!(
        l.clock
            .as_ref()
            .and_then(|c| c.next_check_ms(&Periods::default())),
        None
    );
}

fn advance_ms(l: Loaded, ms: i64) -> (Loaded, Plan) {
    let plan = advance(&l, Periods::default(), T0 + ms);
    (commit(l, &plan), plan)
}

#[test]
fn a_late_first_look_enters_both_states_once() {
    let (l, p) = at(begin(30), 90);
    assert_eq!(status(&l), ClockStatus::Escalated);
    assert_eq!(kinds(&p), vec![NoticeKind::Overdue, NoticeKind::Escalated]);
    assert_eq!(l.alerts.len(), 1);
}

#[test]
fn an_extension_or_check_in_before_overdue_moves_the_deadline() {
    let l = begin(30);
    let p = apply_facts(
        &l,
        &[safety("e-x", "extended", 40, 70)],
        Periods::default(),
        T0 + 40 * MIN,
    );
    let l = commit(l, &p);
    let (l, p) = at(l, 84);
    assert_eq!(status(&l), ClockStatus::Active);
    assert!(p.notices.is_empty());
    let (l, _) = at(l, 85);
    assert_eq!(status(&l), ClockStatus::Overdue);
}

#[test]
fn a_check_in_while_overdue_clears_the_alert_before_it_escalates() {
    let (l, _) = at(begin(30), 50);
    assert_eq!(status(&l), ClockStatus::Overdue);
    let p = apply_facts(
        &l,
        &[safety("e-c", "checked_in", 52, 67)],
        Periods::default(),
        T0 + 52 * MIN,
    );
    assert_eq!(kinds(&p), vec![NoticeKind::Cleared]);
    let l = commit(l, &p);
    assert_eq!(status(&l), ClockStatus::Active);
    assert_eq!(l.alerts[0].status, AlertStatus::Cleared);
    // It would have escalated at 60; now nothing until 67 + 15.
    let (l, p) = at(l, 81);
    assert!(p.notices.is_empty());
    let (l, p) = at(l, 82);
    assert_eq!(kinds(&p), vec![NoticeKind::Overdue]);
    assert_eq!(l.alerts.len(), 2, "a new episode is a new alert");
}

#[test]
fn an_escalation_stays_when_the_officer_checks_in_afterwards() {
    let (l, _) = at(begin(30), 61);
    let p = apply_facts(
        &l,
        &[safety("e-c", "checked_in", 62, 77)],
        Periods::default(),
        T0 + 62 * MIN,
    );
    let l = commit(l, &p);
    assert!(p.notices.is_empty(), "no cleared notice for an escalation");
    assert_eq!(status(&l), ClockStatus::Active, "the timer runs again");
    assert_eq!(l.alerts[0].status, AlertStatus::Open);
    assert_eq!(l.alerts[0].level, AlertLevel::Escalated);
    assert!(p.timeline.iter().any(|e| e.what == "checked_in" && !e.late));
}

#[test]
fn an_alert_escalates_at_once_and_a_silent_one_says_so() {
    let l = begin(60);
    let mut f = safety("e-a", "alert", 10, 60);
    if let FactKind::Safety { silent, .. } = &mut f.what {
        *silent = true;
    }
    let p = apply_facts(&l, &[f], Periods::default(), T0 + 10 * MIN);
    let l = commit(l, &p);
    assert_eq!(kinds(&p), vec![NoticeKind::Alert]);
    assert_eq!(status(&l), ClockStatus::Escalated);
    assert_eq!(l.alerts[0].level, AlertLevel::Alert);
    assert!(l.alerts[0].silent && p.notices[0].silent);
    assert_eq!(l.alerts[0].escalated_ms, Some(T0 + 10 * MIN));
    assert!(p.timeline.iter().any(|e| e.what == "silent_alert"));
}

#[test]
fn a_late_check_in_made_offline_is_recorded_and_the_escalation_stays() {
    // The device checked in at minute 40 (expected finish moved to 55)
    // with no signal; the office escalated at 60 and hears of it at 70.
    let (l, _) = at(begin(30), 60);
    assert_eq!(status(&l), ClockStatus::Escalated);
    let p = apply_facts(
        &l,
        &[safety("e-c", "checked_in", 40, 55)],
        Periods::default(),
        T0 + 70 * MIN,
    );
    let l = commit(l, &p);
    let entry = p
        .timeline
        .iter()
        .find(|e| e.what == "checked_in")
        .expect("recorded");
    assert!(entry.late, "made before the alert, arrived after");
    assert_eq!(entry.at_ms, T0 + 40 * MIN);
    assert_eq!(entry.received_ms, T0 + 70 * MIN);
    assert_eq!(
        l.alerts[0].status,
        AlertStatus::Open,
        "the escalation stays"
    );
    assert_eq!(l.alerts[0].level, AlertLevel::Escalated);
    // Its new expected finish (55) plus grace is now (70): overdue again,
    // on the same open alert; escalated again at 85.
    assert_eq!(kinds(&p), vec![NoticeKind::Overdue]);
    let (l, p) = at(l, 85);
    assert_eq!(kinds(&p), vec![NoticeKind::Escalated]);
    assert_eq!(l.alerts.len(), 1, "one alert throughout");
}

#[test]
fn out_of_order_facts_never_move_the_timer_back() {
    let l = begin(30);
    let p = apply_facts(
        &l,
        &[
            safety("e-2", "extended", 20, 90),
            safety("e-1", "extended", 10, 50),
        ],
        Periods::default(),
        T0 + 21 * MIN,
    );
    let l = commit(l, &p);
    assert_eq!(
        l.clock.as_ref().map(|c| c.expected_finish_ms),
        Some(T0 + 90 * MIN)
    );
    assert!(p
        .timeline
        .iter()
        .any(|e| e.event_id.as_deref() == Some("e-1") && e.late));
}

#[test]
fn the_same_fact_twice_changes_nothing() {
    let l = begin(30);
    let f = safety("e-x", "extended", 10, 60);
    let p1 = apply_facts(
        &l,
        std::slice::from_ref(&f),
        Periods::default(),
        T0 + 10 * MIN,
    );
    let l = commit(l, &p1);
    let p2 = apply_facts(&l, &[f.clone(), f], Periods::default(), T0 + 11 * MIN);
    assert!(p2.is_empty() && p2.clock.is_none(), "{p2:?}");
    let again = apply_facts(&l, &[started(30)], Periods::default(), T0 + 11 * MIN);
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn ending_stops_the_clock_and_clears_an_overdue_alert() {
    let (l, _) = at(begin(30), 50);
    let end = fact(
        "e-end",
        FactKind::Ended {
            at_ms: T0 + 51 * MIN,
        },
    );
    let p = apply_facts(&l, &[end], Periods::default(), T0 + 51 * MIN);
    let l = commit(l, &p);
    assert_eq!(status(&l), ClockStatus::Ended);
    assert_eq!(kinds(&p), vec![NoticeKind::Cleared]);
    let (_, p) = at(l, 600);
    assert!(p.notices.is_empty());
}

#[test]
fn a_start_and_end_that_arrive_together_late_raise_nothing() {
    let l = empty();
    let end = fact(
        "e-end",
        FactKind::Ended {
            at_ms: T0 + 25 * MIN,
        },
    );
    let p = apply_facts(&l, &[started(30), end], Periods::default(), T0 + 300 * MIN);
    assert!(p.notices.is_empty(), "{:?}", p.notices);
    assert_eq!(p.clock.map(|c| c.status), Some(ClockStatus::Ended));
}

#[test]
fn an_action_before_its_start_starts_the_clock() {
    let l = empty();
    let p = apply_facts(
        &l,
        &[safety("e-x", "extended", 5, 40)],
        Periods::default(),
        T0 + 5 * MIN,
    );
    let l = commit(l, &p);
    assert_eq!(
        l.clock.as_ref().map(|c| c.expected_finish_ms),
        Some(T0 + 40 * MIN)
    );
    assert!(p.timeline.iter().any(|e| e.what == "extended" && !e.late));
    let p = apply_facts(&l, &[started(30)], Periods::default(), T0 + 6 * MIN);
    let l = commit(l, &p);
    assert_eq!(
        l.clock.as_ref().and_then(|c| c.case_id.clone()).as_deref(),
        Some("case-1")
    );
    assert_eq!(
        l.clock.as_ref().map(|c| c.expected_finish_ms),
        Some(T0 + 40 * MIN)
    );
}

#[test]
fn acknowledgement_and_resolution_are_recorded_once() {
    let (l, _) = at(begin(30), 61);
    let id = l.alerts[0].alert_id.clone();
    assert_eq!(
        acknowledge(&l, &id, " ", "", T0),
        Err(Refusal::Invalid("by: 1 to 200 characters"))
    );
    assert_eq!(
        acknowledge(&l, "nope", "Sam Monitor", "", T0),
        Err(Refusal::NotFound)
    );
    let long = "x".repeat(MAX_NOTE_CHARS + 1);
    assert!(matches!(
        acknowledge(&l, &id, "Sam Monitor", &long, T0),
        Err(Refusal::Invalid(_))
    ));
    let p = acknowledge(&l, &id, "Sam Monitor", "Calling you now", T0 + 62 * MIN).expect("ack");
    assert_eq!(kinds(&p), vec![NoticeKind::Acknowledged]);
    let l = commit(l, &p);
    let a = &l.alerts[0];
    assert_eq!(a.status, AlertStatus::Acknowledged);
    assert!(a.ack_pending());
    assert_eq!(
        a.acknowledged.as_ref().map(|x| x.by.as_str()),
        Some("Sam Monitor")
    );
    assert_eq!(
        acknowledge(&l, &id, "Other", "", T0),
        Err(Refusal::Conflict("already acknowledged"))
    );
    // The device reports it saw it.
    let seen = fact(
        "e-seen",
        FactKind::AckSeen {
            alert_id: id.clone(),
            at_ms: T0 + 63 * MIN,
        },
    );
    let p = apply_facts(&l, &[seen], Periods::default(), T0 + 63 * MIN);
    let l = commit(l, &p);
    assert_eq!(l.alerts[0].device_seen_ms, Some(T0 + 63 * MIN));
    assert!(!l.alerts[0].ack_pending());
    let p = resolve(
        &l,
        &id,
        "Sam Monitor",
        "Officer safe, spoke by phone",
        T0 + 70 * MIN,
    )
    .expect("resolve");
    let l = commit(l, &p);
    assert_eq!(l.alerts[0].status, AlertStatus::Resolved);
    assert!(!l.alerts[0].is_live());
    assert_eq!(l.clock.as_ref().and_then(|c| c.alert_id.clone()), None);
    assert_eq!(
        resolve(&l, &id, "Sam", "", T0),
        Err(Refusal::Conflict("resolved"))
    );
}

#[test]
fn notices_carry_ids_and_times_never_case_details() {
    let (_, p) = at(begin(30), 61);
    let text = serde_json::to_string(&p.notices).expect("json");
    for n in &p.notices {
        assert_eq!(n.officer_name.as_deref(), Some("Pat Officer"));
        assert_eq!(n.case_id.as_deref(), Some("case-1"));
    }
    let v: serde_json::Value = serde_json::from_str(&text).expect("parse");
    let keys: std::collections::BTreeSet<String> =
        v[0].as_object().expect("object").keys().cloned().collect();
    let expected: std::collections::BTreeSet<String> = [
        "kind",
        "alert_id",
        "visit_id",
        "officer_id",
        "officer_name",
        "device_id",
        "case_id",
        "scheduled_visit_id",
        "level",
        "silent",
        "started_ms",
        "expected_finish_ms",
        "at_ms",
        "last_contact_ms",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(
        keys, expected,
        "exactly these fields: no notes, names of people on probation or addresses"
    );
}

#[test]
fn the_timeline_is_numbered_in_order_across_decisions() {
    let l = begin(30);
    let (l, p1) = at(l, 45);
    let (_, p2) = at(l, 60);
    let ns: Vec<i64> = p1
        .timeline
        .iter()
        .chain(&p2.timeline)
        .map(|e| e.n)
        .collect();
    assert_eq!(ns, vec![1, 2]);
}
