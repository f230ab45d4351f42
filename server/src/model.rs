//! The server's view of devices and incoming events, and the checks an
//! event gets before the database is consulted (signature, format, clock).

use fieldbook_core::events::{EventBody, SignedEvent};
use fieldbook_core::sync::protocol::{PushEvent, RejectReason, Role};

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
    /// Until when (ms) a revoked device's final push is accepted.
    pub final_push_until_ms: Option<i64>,
    /// It reported crypto-shredding.
    pub shredded: bool,
    /// Last sequence number in the office's copy of its chain.
    pub last_seq: u64,
}

impl DeviceRow {
    /// Whether a revoked device may still make its final push at `now`:
    /// allowed by the office and before the deadline it set.
    pub fn final_push_open(&self, now: i64) -> bool {
        self.revoked
            && self.final_push_allowed
            && self.final_push_until_ms.is_some_and(|until| now <= until)
    }
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
    /// The ids its payload names, read once from the typed payload here
    /// (ingest consults them many times per batch).
    pub subject: crate::payload::Subject,
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
            subject: crate::payload::Subject::default(),
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
        let bytes_len = bytes.len();
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
        // Per kind, so one device cannot make every office read load
        // megabytes: the largest legitimate body of each kind, with room.
        if bytes_len > max_event_bytes(&body.kind) {
            out.parsed = Some(body);
            return refuse(out, RejectReason::TooLarge);
        }
        // A known kind must carry its typed payload; an unknown kind (a
        // newer phone) is stored and reported, never mis-read.
        let typed = fieldbook_core::events::Payload::parse(&body.kind, &body.payload);
        out.parsed = Some(body);
        if let Ok(p) = &typed {
            out.subject = crate::payload::subject_of_typed(p);
        }
        if typed.is_err() {
            return refuse(out, RejectReason::Malformed);
        }
        out
    }
}

/// The largest event body accepted for `kind`: notes are under 4,000
/// characters (up to 16 KB of UTF-8 each), a visit record holds three such
/// texts and the form, the access log only short references.
pub fn max_event_bytes(kind: &str) -> usize {
    use fieldbook_core::events::kinds::*;
    const KB: usize = 1024;
    match kind {
        VISIT_RECORDED | VISIT_STARTED => 96 * KB,
        UPW_OUTCOME | UPW_INCIDENT | UPW_SESSION_STOOD_DOWN | VISIT_SAFETY_OVERRIDE => 32 * KB,
        k if k.starts_with(fieldbook_core::access::KIND_PREFIX) => 8 * KB,
        _ => 16 * KB,
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
