//! The server's view of devices and incoming events, and the decision the
//! chain rules make for each event — shared by both storage backends.

use fieldbook_core::events::{EventBody, SignedEvent};
use fieldbook_core::sync::protocol::{PushEvent, PushOutcome, RejectReason, Role};

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// Device id.
    pub id: String,
    /// Its officer.
    pub officer_id: String,
    /// The officer's role.
    pub role: Role,
    /// Ed25519 public key.
    pub public_key: Vec<u8>,
    /// Revoked by the office.
    pub revoked: bool,
    /// A revoked device may still push what it holds.
    pub final_push_allowed: bool,
    /// It reported crypto-shredding.
    pub shredded: bool,
    /// Last sequence number in the office's copy of its chain.
    pub last_seq: u64,
}

/// An event after the checks that need no database.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Event id.
    pub id: String,
    /// Sequence number.
    pub seq: u64,
    /// The signed JSON text.
    pub body: String,
    /// Signature, hex.
    pub signature: String,
    /// SHA-256 of the body, hex (the chain hash).
    pub hash: String,
    /// The parsed body, when it parsed.
    pub parsed: Option<EventBody>,
    /// A refusal already decided (signature, format, clock).
    pub refused: Option<RejectReason>,
}

impl Incoming {
    /// Checks what can be checked without the database.
    pub fn check(event: &PushEvent, public_key: &[u8], now_ms: i64) -> Incoming {
        let mut out = Incoming {
            id: event.id.clone(),
            seq: event.seq,
            body: String::new(),
            signature: event.signature.clone(),
            hash: String::new(),
            parsed: None,
            refused: None,
        };
        let refuse = |mut o: Incoming, r| {
            o.refused = Some(r);
            o
        };
        let Ok(bytes) = event.body_bytes() else {
            return refuse(out, RejectReason::Malformed);
        };
        out.hash = hex::encode(fieldbook_core::events::hash_bytes(&bytes));
        if bytes.len() > 256 * 1024 {
            return refuse(out, RejectReason::TooLarge);
        }
        let Ok(text) = String::from_utf8(bytes.clone()) else {
            return refuse(out, RejectReason::Malformed);
        };
        out.body = text;
        let sig: Option<[u8; 64]> = hex::decode(&event.signature)
            .ok()
            .and_then(|s| s.try_into().ok());
        let Some(signature) = sig else {
            return refuse(out, RejectReason::Malformed);
        };
        let signed = SignedEvent { bytes, signature };
        if !signed.verify(public_key) {
            return refuse(out, RejectReason::BadSignature);
        }
        let Ok(body) = signed.body() else {
            return refuse(out, RejectReason::Malformed);
        };
        let fingerprint = fieldbook_core::crypto::signing::fingerprint(public_key);
        if body.device != fingerprint {
            return refuse(out, RejectReason::DeviceMismatch);
        }
        if body.id != event.id || body.seq != event.seq {
            return refuse(out, RejectReason::Malformed);
        }
        // A day's slack for badly set device clocks.
        if body.recorded_at_ms > now_ms + 24 * 3_600_000 {
            out.parsed = Some(body);
            return refuse(out, RejectReason::TimestampInFuture);
        }
        out.parsed = Some(body);
        out
    }

    /// A payload field as text.
    pub fn field(&self, name: &str) -> Option<String> {
        self.parsed
            .as_ref()
            .and_then(|b| b.payload.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
}

/// What the chain rules say about the next event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store it.
    Accept,
    /// Already stored.
    Duplicate,
    /// An earlier event is missing: answer Retry and stop.
    Gap { expected: u64 },
    /// Record the link as refused (and advance the chain) with this reason.
    Refuse(RejectReason),
}

/// Applies the chain rules given the office's position.
pub fn decide(
    ev: &Incoming,
    known: bool,
    last_seq: u64,
    last_hash: &str,
    in_scope: bool,
) -> Decision {
    if known {
        return Decision::Duplicate;
    }
    if ev.seq <= last_seq {
        return Decision::Refuse(RejectReason::ChainBroken);
    }
    if ev.seq != last_seq + 1 {
        return Decision::Gap {
            expected: last_seq + 1,
        };
    }
    if let Some(r) = ev.refused {
        return Decision::Refuse(r);
    }
    let prev_ok = ev.parsed.as_ref().is_some_and(|b| b.prev_hash == last_hash);
    if !prev_ok {
        return Decision::Refuse(RejectReason::ChainBroken);
    }
    if !in_scope {
        return Decision::Refuse(RejectReason::OutOfScope);
    }
    Decision::Accept
}

/// The wire outcome of a decision.
pub fn outcome(d: &Decision) -> PushOutcome {
    match d {
        Decision::Accept => PushOutcome::Accepted,
        Decision::Duplicate => PushOutcome::Duplicate,
        Decision::Gap { expected } => PushOutcome::Retry {
            expected_seq: *expected,
        },
        Decision::Refuse(r) => PushOutcome::Rejected { reason: *r },
    }
}

/// Which reference item an event must be in scope for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeNeed {
    /// Nothing (access log, device-wide events).
    None,
    /// An unpaid work session in the officer's audience.
    Session(String),
    /// A case in the officer's audience.
    Case(String),
    /// A visit this device started (earlier or in this batch).
    Visit(String),
    /// A field the kind requires is missing.
    Missing,
}

/// What scope an event needs.
pub fn scope_need(ev: &Incoming) -> ScopeNeed {
    let Some(body) = &ev.parsed else {
        return ScopeNeed::None;
    };
    let need = |field: &str, f: fn(String) -> ScopeNeed| match ev.field(field) {
        Some(v) => f(v),
        None => ScopeNeed::Missing,
    };
    let kind = body.kind.as_str();
    if kind.starts_with("upw.") {
        need("session_id", ScopeNeed::Session)
    } else if kind == "visit.started" || kind == "visit.recorded" {
        need("case_id", ScopeNeed::Case)
    } else if kind.starts_with("visit.") {
        need("visit_id", ScopeNeed::Visit)
    } else {
        ScopeNeed::None
    }
}

/// Role names as stored.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Supervisor => "supervisor",
        Role::ProbationOfficer => "probation_officer",
    }
}

/// Parses a stored role.
pub fn parse_role(text: &str) -> Role {
    if text == "supervisor" {
        Role::Supervisor
    } else {
        Role::ProbationOfficer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(seq: u64, prev: &str) -> Incoming {
        let body: EventBody = serde_json::from_value(serde_json::json!({
            "format": 1, "id": format!("{seq:032x}"), "device": "d", "seq": seq, "officer": "o",
            "recorded_at_ms": 0, "utc_offset_min": 0, "monotonic_ms": 0, "kind": "k",
            "payload": {}, "prev_hash": prev
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
}

#[cfg(test)]
mod decoder_props {
    use super::*;
    use fieldbook_core::sync::protocol::PushRequest;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn push_decoding_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(req) = serde_json::from_slice::<PushRequest>(&data) {
                for e in &req.events {
                    let _ = Incoming::check(e, &[7u8; 32], 0);
                }
            }
        }

        #[test]
        fn arbitrary_events_are_refused_not_panicking(id in "[a-f0-9]{0,40}", seq in any::<u64>(), body in "[A-Za-z0-9+/=]{0,200}", sig in "[a-f0-9]{0,140}") {
            let e = PushEvent { id, seq, body, signature: sig };
            let checked = Incoming::check(&e, &[7u8; 32], 0);
            prop_assert!(checked.refused.is_some());
        }

        #[test]
        fn csv_parsing_never_panics(text in "[a-z0-9,;:\"\\n{}\\[\\] ]{0,300}") {
            let _ = crate::office::parse_csv(&text);
        }
    }
}
