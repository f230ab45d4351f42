//! The decision path on its own: chain rules, batches, scope, conflicts.

use super::*;
use fieldbook_core::events::payload as ev;
use fieldbook_core::events::{EventBody, Payload};
use fieldbook_core::ids::RecordId;
use fieldbook_core::vocab::Stamp;
use serde_json::{json, Value};

/// A record id named for the test: the name's bytes in hex, zero-padded.
fn rid(name: &str) -> String {
    format!("{:0>32}", hex::encode(name))
}

fn id(name: &str) -> RecordId {
    RecordId::parse(&rid(name)).expect("id")
}

const AT: Stamp = Stamp {
    utc_ms: 0,
    offset_min: 0,
};

fn event(seq: u64, prev: &str, kind: &str, payload: Value) -> Incoming {
    let body: EventBody = serde_json::from_value(json!({
        "format": 1, "id": format!("{seq:032x}"), "device": "d", "seq": seq, "officer": "o",
        "recorded_at_ms": 0, "utc_offset_min": 0, "monotonic_ms": 0, "kind": kind,
        "payload": payload, "prev_hash": prev
    }))
    .expect("body");
    Incoming {
        id: body.id.clone(),
        seq,
        body: String::new(),
        signature: String::new(),
        hash: format!("h{seq}"),
        subject: crate::payload::subject_of(&body.kind, &body.payload),
        parsed: Some(body),
        refused: None,
    }
}

fn incoming(seq: u64, prev: &str) -> Incoming {
    event(seq, prev, "k", json!({}))
}

fn outcome_event(seq: u64, appointment: &str) -> Incoming {
    let p = Payload::Outcome(Box::new(ev::OutcomeRecorded {
        appointment_id: id(appointment),
        session_id: id("s1"),
        requirement_id: None,
        crn: "X1".into(),
        session_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"),
        code: "ATTC".into(),
        arrival: Some(AT),
        departure: Some(AT),
        penalty_minutes: 0,
        work_quality: fieldbook_core::unpaid_work::model::Rating::Good,
        behaviour: fieldbook_core::unpaid_work::model::Rating::Good,
        notes: String::new(),
        sensitive: false,
        raise_alert: false,
        travel_minutes: None,
        compliance: Default::default(),
        ete: false,
        after_expected_end: false,
        minutes_credited: 0,
        late_by_minutes: None,
        enforcement_step: None,
        policy_version: "t".into(),
    }));
    event(
        seq,
        &format!("h{}", seq - 1),
        p.kind(),
        p.to_value().expect("value"),
    )
}

fn facts_at(last_seq: u64) -> Facts {
    Facts {
        last_seq,
        last_hash: format!("h{last_seq}"),
        officer_id: "o".into(),
        device_of_batch: Some("d".into()),
        ..Facts::default()
    }
}

fn statuses(plan: &Plan<'_>) -> Vec<PushOutcome> {
    plan.results.iter().map(|r| r.outcome.clone()).collect()
}

#[test]
fn chain_decisions() {
    assert_eq!(
        decide(&incoming(1, "g"), false, 0, "g", true),
        Decision::Accept
    );
    assert_eq!(
        decide(&incoming(1, "g"), true, 1, "h1", true),
        Decision::Duplicate
    );
    assert_eq!(
        decide(&incoming(3, "h2"), false, 1, "h1", true),
        Decision::Gap { expected: 2 }
    );
    assert_eq!(
        decide(&incoming(2, "zz"), false, 1, "h1", true),
        Decision::Refuse(RejectReason::ChainBroken)
    );
    assert_eq!(
        decide(&incoming(2, "h1"), false, 1, "h1", false),
        Decision::Refuse(RejectReason::OutOfScope)
    );
    assert_eq!(
        decide(&incoming(1, "g"), false, 1, "h1", true),
        Decision::Refuse(RejectReason::ChainBroken)
    );
    let mut bad = incoming(2, "h1");
    bad.refused = Some(RejectReason::BadSignature);
    assert_eq!(
        decide(&bad, false, 1, "h1", true),
        Decision::Refuse(RejectReason::BadSignature)
    );
}

#[test]
fn a_batch_advances_the_chain_and_stops_at_a_gap() {
    let mut first = incoming(1, "g");
    first.hash = "h1".into();
    let events = vec![
        first,
        incoming(2, "h1"),
        incoming(4, "h3"),
        incoming(5, "h4"),
    ];
    let mut facts = facts_at(0);
    facts.last_hash = "g".into();
    let plan = decide_batch(facts, &events);
    assert_eq!(
        statuses(&plan),
        vec![
            PushOutcome::Accepted,
            PushOutcome::Accepted,
            PushOutcome::Retry { expected_seq: 3 },
            PushOutcome::Retry { expected_seq: 3 },
        ]
    );
    assert_eq!(plan.events.len(), 2);
    assert_eq!(plan.links.len(), 2);
    assert_eq!((plan.last_seq, plan.last_hash.as_str()), (2, "h2"));
}

#[test]
fn a_refused_event_repeated_in_the_batch_is_refused_again() {
    let mut bad = incoming(1, "g");
    bad.refused = Some(RejectReason::BadSignature);
    let events = vec![bad.clone(), bad];
    let mut facts = facts_at(0);
    facts.last_hash = "g".into();
    let plan = decide_batch(facts, &events);
    let refused = PushOutcome::Rejected {
        reason: RejectReason::BadSignature,
    };
    assert_eq!(statuses(&plan), vec![refused.clone(), refused]);
    assert_eq!(plan.links.len(), 1, "one link, refused");
    assert!(plan.events.is_empty());
}

#[test]
fn scope_comes_from_the_facts() {
    let events = vec![outcome_event(1, "a1")];
    let plan = decide_batch(facts_at(0), &events);
    assert_eq!(
        statuses(&plan),
        vec![PushOutcome::Rejected {
            reason: RejectReason::OutOfScope
        }]
    );
    // In scope: the session in the audience and the appointment in it.
    let facts = with_appointment(facts_at(0), "a1", "s1", "X1");
    let plan = decide_batch(facts, &events);
    assert_eq!(statuses(&plan), vec![PushOutcome::Accepted]);
    assert_eq!(plan.events[0].subject.appointment_id, Some(rid("a1")));
    // A visit event needs the visit started on this device, stored or
    // earlier in the batch.
    let p = Payload::VisitSafety(ev::VisitSafety {
        visit_id: id("v1"),
        action: "check_in".into(),
        status: fieldbook_core::home_visits::safety::SafetyStatus::Active,
        silent: Some(false),
        expected_finish_ms: 0,
        at: AT,
    });
    let safety = event(1, "h0", p.kind(), p.to_value().expect("value"));
    let plan = decide_batch(facts_at(0), std::slice::from_ref(&safety));
    assert!(matches!(
        plan.results[0].outcome,
        PushOutcome::Rejected { .. }
    ));
    let mut facts = facts_at(0);
    facts.visits_started.insert(rid("v1"));
    let plan = decide_batch(facts, std::slice::from_ref(&safety));
    assert_eq!(statuses(&plan), vec![PushOutcome::Accepted]);
}

#[test]
fn every_other_device_outcome_on_the_subject_is_a_conflict() {
    let events = vec![outcome_event(1, "a1"), outcome_event(2, "a2")];
    let needs = Needs::of(&events);
    assert_eq!(
        needs.subjects,
        vec![
            ConflictSubject {
                kind: "outcome",
                id: rid("a1")
            },
            ConflictSubject {
                kind: "outcome",
                id: rid("a2")
            },
        ]
    );
    assert_eq!(needs.audience, vec![(entity::SESSION, rid("s1"))]);
    let mut facts = with_appointment(facts_at(0), "a1", "s1", "X1");
    facts = with_appointment(facts, "a2", "s1", "X1");
    facts
        .others_on
        .insert(needs.subjects[0].clone(), vec!["x".into(), "y".into()]);
    let plan = decide_batch(facts, &events);
    let pairs: Vec<(&str, &str, &str)> = plan
        .conflicts
        .iter()
        .map(|c| {
            (
                c.subject.id.as_str(),
                c.event_a.as_str(),
                c.event_b.as_str(),
            )
        })
        .collect();
    let first = events[0].id.as_str();
    let a1 = rid("a1");
    assert_eq!(
        pairs,
        vec![(a1.as_str(), "x", first), (a1.as_str(), "y", first)]
    );
}

#[test]
fn needs_are_sorted_and_unique() {
    let events = vec![
        outcome_event(1, "b"),
        outcome_event(2, "a"),
        outcome_event(3, "b"),
    ];
    let ids: Vec<String> = Needs::of(&events)
        .subjects
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![rid("a"), rid("b")]);
}

fn with_appointment(mut facts: Facts, appointment: &str, session: &str, crn: &str) -> Facts {
    facts.in_audience.insert((entity::SESSION, rid(session)));
    facts.appointments.insert(
        rid(appointment),
        AppointmentRef {
            session_id: rid(session),
            requirement_id: None,
            crn: crn.into(),
        },
    );
    facts
}

#[test]
fn an_event_must_name_its_devices_own_officer() {
    let events = vec![outcome_event(1, "a1")];
    let mut facts = with_appointment(facts_at(0), "a1", "s1", "X1");
    facts.officer_id = "someone-else".into();
    let plan = decide_batch(facts, &events);
    assert_eq!(
        statuses(&plan),
        vec![PushOutcome::Rejected {
            reason: RejectReason::DeviceMismatch
        }]
    );
    assert!(plan.events.is_empty());
}

#[test]
fn every_id_must_belong_together() {
    let events = vec![outcome_event(1, "a1")];
    // In the audience and in the office's data: accepted.
    let plan = decide_batch(with_appointment(facts_at(0), "a1", "s1", "X1"), &events);
    assert_eq!(statuses(&plan), vec![PushOutcome::Accepted]);
    let refused = vec![PushOutcome::Rejected {
        reason: RejectReason::OutOfScope,
    }];
    // The appointment belongs to another session (one the device does not
    // hold): refused although the named session is in the audience.
    let mut other = with_appointment(facts_at(0), "a1", "s2", "X1");
    other.in_audience.insert((entity::SESSION, rid("s1")));
    assert_eq!(statuses(&decide_batch(other, &events)), refused);
    // The CRN is not the appointment's.
    let wrong_crn = with_appointment(facts_at(0), "a1", "s1", "X999");
    assert_eq!(statuses(&decide_batch(wrong_crn, &events)), refused);
    // An appointment the office never issued and this device never created.
    let mut unknown = facts_at(0);
    unknown.in_audience.insert((entity::SESSION, rid("s1")));
    assert_eq!(statuses(&decide_batch(unknown.clone(), &events)), refused);
    // One this device created for that session (an unallocated arrival) is fine.
    unknown.device_appointments.insert(rid("a1"), rid("s1"));
    assert_eq!(
        statuses(&decide_batch(unknown, &events)),
        vec![PushOutcome::Accepted]
    );
}

#[test]
fn a_correction_supersedes_only_its_own_devices_event_on_the_same_subject() {
    let mut correction = outcome_event(1, "a1");
    if let Some(b) = correction.parsed.as_mut() {
        b.supersedes = Some("old".into());
        b.reason = Some("typo".into());
    }
    let events = vec![correction];
    let refused = vec![PushOutcome::Rejected {
        reason: RejectReason::OutOfScope,
    }];
    let base = with_appointment(facts_at(0), "a1", "s1", "X1");
    let old = |device: &str, subject: &str| SupersededRef {
        device_id: device.into(),
        kind: kinds::OUTCOME_RECORDED.into(),
        subject: Some(rid(subject)),
    };
    let mut mine = base.clone();
    mine.superseded.insert("old".into(), old("d", "a1"));
    assert_eq!(
        statuses(&decide_batch(mine, &events)),
        vec![PushOutcome::Accepted]
    );
    let mut theirs = base.clone();
    theirs
        .superseded
        .insert("old".into(), old("other-device", "a1"));
    assert_eq!(statuses(&decide_batch(theirs, &events)), refused);
    let mut elsewhere = base.clone();
    elsewhere.superseded.insert("old".into(), old("d", "a2"));
    assert_eq!(statuses(&decide_batch(elsewhere, &events)), refused);
    // Naming an event nobody stored.
    assert_eq!(statuses(&decide_batch(base, &events)), refused);
}

/// A visit recorded in a later push than the one that started it: the
/// start is stored, so the batch must ask for it (it once did not, and the
/// record was refused as out of scope).
#[test]
fn a_visit_recorded_after_its_start_was_pushed_is_accepted() {
    use fieldbook_core::home_visits::model::VisitForm;
    let p = Payload::VisitRecorded(Box::new(ev::VisitRecorded {
        visit_id: id("v1"),
        case_id: id("c1"),
        crn: "X1".into(),
        contact_type: "CHVS".into(),
        planned: false,
        scheduled_visit_id: None,
        arranged: true,
        respond_by: None,
        address: "1 Test Street".into(),
        purpose: "Accommodation check".into(),
        start: AT,
        end: Some(AT),
        start_location: None,
        end_location: None,
        form: VisitForm {
            outcome: Some("ATTC".into()),
            officers_present: vec!["o".into()],
            ..VisitForm::default()
        },
        policy_version: "2026.2".into(),
    }));
    let recorded = event(1, "h0", p.kind(), p.to_value().expect("value"));
    let needs = Needs::of(std::slice::from_ref(&recorded));
    assert_eq!(needs.visits, vec![rid("v1")], "the start is looked up");
    assert_eq!(needs.audience, vec![(entity::CASE, rid("c1"))]);
    let mut facts = facts_at(0);
    facts.in_audience.insert((entity::CASE, rid("c1")));
    // Case in the audience but no start on this device: refused.
    let plan = decide_batch(facts.clone(), std::slice::from_ref(&recorded));
    assert!(matches!(
        plan.results[0].outcome,
        PushOutcome::Rejected { .. }
    ));
    // The start stored from an earlier push: accepted.
    facts.visits_started.insert(rid("v1"));
    let plan = decide_batch(facts, std::slice::from_ref(&recorded));
    assert_eq!(statuses(&plan), vec![PushOutcome::Accepted]);
}

/// An event refused before, sent again under the next sequence number (a
/// fuzzer did): refused again with its reason, and no second link for its
/// id (which storage would refuse, failing the whole push).
#[test]
fn a_refused_id_resent_at_the_next_seq_is_refused_without_a_new_link() {
    let mut facts = facts_at(3);
    facts.known.insert(
        "0000000000000000000000000000000a".into(),
        Some("bad_signature".into()),
    );
    let mut ev = incoming(4, "h3");
    ev.id = "0000000000000000000000000000000a".into();
    let plan = decide_batch(facts, std::slice::from_ref(&ev));
    assert_eq!(
        statuses(&plan),
        vec![PushOutcome::Rejected {
            reason: RejectReason::BadSignature
        }]
    );
    assert!(plan.links.is_empty(), "no second link for a held id");
    assert_eq!(plan.last_seq, 3, "the chain stays where it was");
}
