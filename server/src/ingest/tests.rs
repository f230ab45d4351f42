//! The decision path on its own: chain rules, batches, scope, conflicts.

use super::*;
use fieldbook_core::events::EventBody;
use serde_json::{json, Value};

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
        parsed: Some(body),
        refused: None,
    }
}

fn incoming(seq: u64, prev: &str) -> Incoming {
    event(seq, prev, "k", json!({}))
}

fn outcome_event(seq: u64, appointment: &str) -> Incoming {
    event(
        seq,
        &format!("h{}", seq - 1),
        kinds::OUTCOME_RECORDED,
        json!({ "session_id": "s1", "appointment_id": appointment }),
    )
}

fn facts_at(last_seq: u64) -> Facts {
    Facts {
        last_seq,
        last_hash: format!("h{last_seq}"),
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
    let mut facts = facts_at(0);
    facts.in_audience.insert((entity::SESSION, "s1".into()));
    let plan = decide_batch(facts, &events);
    assert_eq!(statuses(&plan), vec![PushOutcome::Accepted]);
    assert_eq!(plan.events[0].subject.appointment_id.as_deref(), Some("a1"));
    // A visit event needs the visit started on this device, stored or
    // earlier in the batch.
    let safety = event(1, "h0", "visit.safety_changed", json!({ "visit_id": "v1" }));
    let plan = decide_batch(facts_at(0), std::slice::from_ref(&safety));
    assert!(matches!(
        plan.results[0].outcome,
        PushOutcome::Rejected { .. }
    ));
    let mut facts = facts_at(0);
    facts.visits_started.insert("v1".into());
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
                id: "a1".into()
            },
            ConflictSubject {
                kind: "outcome",
                id: "a2".into()
            },
        ]
    );
    assert_eq!(needs.audience, vec![(entity::SESSION, "s1".to_owned())]);
    let mut facts = facts_at(0);
    facts.in_audience.insert((entity::SESSION, "s1".into()));
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
    assert_eq!(pairs, vec![("a1", "x", first), ("a1", "y", first)]);
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
    assert_eq!(ids, vec!["a", "b"]);
}
