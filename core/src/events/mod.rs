//! The signed, append-only event log's record format and its verification.
//!
//! Every capture is an immutable event. Its body (JSON) is signed by the
//! device's Ed25519 key and carries the SHA-256 of the previous event's
//! body, so the log is a tamper-evident chain. The exact signed bytes are
//! kept and sent as they are, so nobody ever has to re-serialise to check a
//! signature. Corrections are new events that name the event they supersede
//! and give a reason.

use std::fmt;

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::crypto::signing::{self, SIGNATURE_LEN};
use crate::error::{Error, Result};

pub mod payload;
pub use payload::{kinds, Payload, Subject};

/// Format of [`EventBody`].
pub const EVENT_FORMAT: u32 = 1;
/// The `prev_hash` of a device's first event.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];
/// Longest accepted reason for a correction.
pub const MAX_REASON_CHARS: usize = 1000;

/// What a caller asks to record.
#[derive(Clone, PartialEq)]
pub struct EventDraft {
    /// What happened, e.g. `attendance.arrived`: lowercase letters, digits,
    /// `.`, `_` and `-`, at most 64 characters.
    pub kind: String,
    /// The captured facts.
    pub payload: serde_json::Value,
    /// The event this one corrects, if any.
    pub supersedes: Option<String>,
    /// Why the correction was made; required with `supersedes`.
    pub reason: Option<String>,
}

impl EventDraft {
    /// A new capture of `kind`.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            supersedes: None,
            reason: None,
        }
    }

    /// A capture of a typed payload.
    pub fn typed(payload: &Payload) -> Result<Self> {
        Ok(Self::new(payload.kind().to_owned(), payload.to_value()?))
    }

    /// A typed correction of event `supersedes`, for `reason`.
    pub fn typed_correction(
        payload: &Payload,
        supersedes: impl Into<String>,
        reason: impl Into<String>,
    ) -> Result<Self> {
        Ok(Self::correction(
            payload.kind().to_owned(),
            payload.to_value()?,
            supersedes,
            reason,
        ))
    }

    /// A correction of event `supersedes`, for `reason`.
    pub fn correction(
        kind: impl Into<String>,
        payload: serde_json::Value,
        supersedes: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            payload,
            supersedes: Some(supersedes.into()),
            reason: Some(reason.into()),
        }
    }

    /// Checks the kind and the correction fields.
    pub fn validate(&self) -> Result<()> {
        let kind_ok = !self.kind.is_empty()
            && self.kind.len() <= 64
            && self
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !kind_ok {
            return Err(Error::invalid(
                "kind",
                "must be 1 to 64 of a-z, 0-9, '.', '_', '-'",
            ));
        }
        match (&self.supersedes, &self.reason) {
            (Some(_), None) => Err(Error::invalid("reason", "a correction needs a reason")),
            (Some(_), Some(r)) if r.trim().is_empty() => {
                Err(Error::invalid("reason", "a correction needs a reason"))
            }
            (None, Some(_)) => Err(Error::invalid(
                "reason",
                "only a correction carries a reason",
            )),
            (_, Some(r)) if r.chars().count() > MAX_REASON_CHARS => Err(Error::invalid(
                "reason",
                format!("at most {MAX_REASON_CHARS} characters"),
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for EventDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventDraft")
            .field("kind", &self.kind)
            .field("supersedes", &self.supersedes)
            .finish_non_exhaustive()
    }
}

/// The signed content of an event.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    /// [`EVENT_FORMAT`].
    pub format: u32,
    /// Random id; the idempotency key for sync.
    pub id: String,
    /// Fingerprint of the signing device key.
    pub device: String,
    /// Per-device sequence number, from 1, without gaps.
    pub seq: u64,
    /// The officer signed in when it was recorded.
    pub officer: String,
    /// Device wall clock, ms since the epoch, UTC.
    pub recorded_at_ms: i64,
    /// UTC offset in minutes in force at capture.
    pub utc_offset_min: i32,
    /// Device monotonic reading at capture.
    pub monotonic_ms: u64,
    /// See [`EventDraft::kind`].
    pub kind: String,
    /// The captured facts.
    pub payload: serde_json::Value,
    /// The event this corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Why it was corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SHA-256 of the previous event's signed bytes, hex.
    pub prev_hash: String,
}

impl EventBody {
    /// The typed payload (an unknown kind is kept whole).
    pub fn typed_payload(&self) -> Result<Payload> {
        Payload::parse(&self.kind, &self.payload)
    }
}

impl fmt::Debug for EventBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payload and reason hold personal data: never printed.
        f.debug_struct("EventBody")
            .field("id", &self.id)
            .field("seq", &self.seq)
            .field("kind", &self.kind)
            .field("supersedes", &self.supersedes)
            .finish_non_exhaustive()
    }
}

/// An event as signed: the exact body bytes and the signature over them.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedEvent {
    /// The JSON body exactly as signed.
    pub bytes: Vec<u8>,
    /// Ed25519 signature of `bytes`.
    pub signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for SignedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedEvent({} bytes)", self.bytes.len())
    }
}

impl SignedEvent {
    /// The chain hash: SHA-256 of the signed bytes.
    pub fn hash(&self) -> [u8; 32] {
        hash_bytes(&self.bytes)
    }

    /// Parses the body.
    pub fn body(&self) -> Result<EventBody> {
        Ok(serde_json::from_slice(&self.bytes)?)
    }

    /// Whether the signature is `public_key`'s.
    pub fn verify(&self, public_key: &[u8]) -> bool {
        signing::verify(public_key, &self.bytes, &self.signature)
    }

    /// The stored form: `[len: u32 BE][bytes][signature]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.bytes.len() + SIGNATURE_LEN);
        out.extend_from_slice(&(self.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the stored form.
    pub fn decode(data: &[u8]) -> Result<Self> {
        let bad = || Error::Encoding("stored event is malformed".into());
        let len_bytes: [u8; 4] = data
            .get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        if data.len() != 4 + len + SIGNATURE_LEN {
            return Err(bad());
        }
        let bytes = data[4..4 + len].to_vec();
        let signature: [u8; SIGNATURE_LEN] = data[4 + len..].try_into().map_err(|_| bad())?;
        Ok(Self { bytes, signature })
    }
}

/// SHA-256 of `bytes`.
pub fn hash_bytes(bytes: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Why a link in the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokenReason {
    /// The sealed row failed to open or parse (edited or corrupted).
    Unreadable,
    /// Sequence numbers skip or repeat: an event was removed or reordered.
    SequenceGap { expected: u64 },
    /// The body's id or sequence does not match its row.
    RowMismatch,
    /// `prev_hash` does not match the previous event.
    PrevHashMismatch,
    /// The signature does not verify.
    BadSignature,
}

/// The first broken link found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// Sequence number of the row where the break shows.
    pub seq: u64,
    /// What is wrong there.
    pub reason: BrokenReason,
}

/// Result of verifying a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Events checked before the first break (or all of them).
    pub verified: u64,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

impl ChainReport {
    /// Whether the whole chain verified.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Checks a chain link by link, in order.
#[derive(Debug)]
pub struct ChainVerifier<'a> {
    public_key: &'a [u8],
    expected_seq: u64,
    prev_hash: [u8; 32],
    verified: u64,
}

impl<'a> ChainVerifier<'a> {
    /// Starts after the event `start_seq - 1` whose hash is `prev_hash`
    /// (`1` and [`GENESIS_HASH`] for a whole log).
    pub fn new(public_key: &'a [u8], start_seq: u64, prev_hash: [u8; 32]) -> Self {
        Self {
            public_key,
            expected_seq: start_seq,
            prev_hash,
            verified: 0,
        }
    }

    /// Checks the next row: its sequence number, id and unsealed content
    /// (`None` when it would not open).
    pub fn check(
        &mut self,
        row_seq: u64,
        row_id: &str,
        event: Option<&SignedEvent>,
    ) -> std::result::Result<(), BrokenLink> {
        let broken = |reason| BrokenLink {
            seq: row_seq,
            reason,
        };
        if row_seq != self.expected_seq {
            return Err(broken(BrokenReason::SequenceGap {
                expected: self.expected_seq,
            }));
        }
        let event = event.ok_or_else(|| broken(BrokenReason::Unreadable))?;
        if !event.verify(self.public_key) {
            return Err(broken(BrokenReason::BadSignature));
        }
        let body = event.body().map_err(|_| broken(BrokenReason::Unreadable))?;
        if body.seq != row_seq || body.id != row_id {
            return Err(broken(BrokenReason::RowMismatch));
        }
        if body.prev_hash != hex::encode(self.prev_hash) {
            return Err(broken(BrokenReason::PrevHashMismatch));
        }
        self.prev_hash = event.hash();
        self.expected_seq += 1;
        self.verified += 1;
        Ok(())
    }

    /// The report for what was checked.
    pub fn finish(self, first_broken: Option<BrokenLink>) -> ChainReport {
        ChainReport {
            verified: self.verified,
            first_broken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn draft_validation() {
        let ok = EventDraft::new("attendance.arrived", serde_json::json!({}));
        assert!(ok.validate().is_ok());
        assert!(EventDraft::new("Bad Kind", serde_json::json!({}))
            .validate()
            .is_err());
        assert!(EventDraft::new("", serde_json::json!({}))
            .validate()
            .is_err());
        let mut no_reason = ok.clone();
        no_reason.supersedes = Some("x".into());
        assert!(no_reason.validate().is_err());
        let blank = EventDraft::correction("a", serde_json::json!({}), "x", "  ");
        assert!(blank.validate().is_err());
        let good = EventDraft::correction("a", serde_json::json!({}), "x", "typo");
        assert!(good.validate().is_ok());
    }

    #[test]
    fn debug_hides_payload() {
        let draft = EventDraft::new("a", serde_json::json!({"name": "MARKER"}));
        assert!(!format!("{draft:?}").contains("MARKER"));
    }

    use crate::crypto::signing::DeviceKey;

    /// Builds a valid chain of `n` events signed by `key`.
    fn chain(key: &DeviceKey, n: u64) -> Vec<(u64, String, SignedEvent)> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let body = EventBody {
                    format: EVENT_FORMAT,
                    id: format!("{seq:032x}"),
                    device: key.fingerprint(),
                    seq,
                    officer: "o".into(),
                    recorded_at_ms: 0,
                    utc_offset_min: 0,
                    monotonic_ms: seq,
                    kind: "k".into(),
                    payload: serde_json::json!({ "n": seq }),
                    supersedes: None,
                    reason: None,
                    prev_hash: hex::encode(prev),
                };
                let bytes = serde_json::to_vec(&body).expect("json");
                let signature = key.sign(&bytes);
                let signed = SignedEvent { bytes, signature };
                prev = signed.hash();
                (seq, body.id, signed)
            })
            .collect()
    }

    fn verify(key: &DeviceKey, rows: &[(u64, String, SignedEvent)]) -> ChainReport {
        let public = key.public_key();
        let mut v = ChainVerifier::new(&public, 1, GENESIS_HASH);
        for (seq, id, e) in rows {
            if let Err(broken) = v.check(*seq, id, Some(e)) {
                return v.finish(Some(broken));
            }
        }
        v.finish(None)
    }

    #[test]
    fn intact_chain_verifies() {
        let key = DeviceKey::generate().expect("key");
        let report = verify(&key, &chain(&key, 5));
        assert!(report.is_intact());
        assert_eq!(report.verified, 5);
    }

    #[test]
    fn removed_event_is_found_even_if_renumbered() {
        let key = DeviceKey::generate().expect("key");
        let mut rows = chain(&key, 5);
        rows.remove(2);
        let report = verify(&key, &rows);
        assert_eq!(report.verified, 2);
        assert_eq!(
            report.first_broken,
            Some(BrokenLink {
                seq: 4,
                reason: BrokenReason::SequenceGap { expected: 3 }
            })
        );
        // Renumbering the rows to hide the gap breaks the row/body match.
        for (i, row) in rows.iter_mut().enumerate() {
            row.0 = i as u64 + 1;
        }
        let report = verify(&key, &rows);
        assert_eq!(report.first_broken.expect("broken").seq, 3);
    }

    #[test]
    fn reordered_events_break_the_chain() {
        let key = DeviceKey::generate().expect("key");
        let mut rows = chain(&key, 5);
        // Swap the contents of rows 2 and 3 while keeping the row numbers.
        let (a, b) = (rows[1].2.clone(), rows[2].2.clone());
        rows[1].2 = b;
        rows[2].2 = a;
        let report = verify(&key, &rows);
        assert_eq!(
            report.first_broken,
            Some(BrokenLink {
                seq: 2,
                reason: BrokenReason::RowMismatch
            })
        );
    }

    #[test]
    fn edited_event_fails_its_signature_and_resigning_breaks_the_link() {
        let key = DeviceKey::generate().expect("key");
        let mut rows = chain(&key, 4);
        let mut body = rows[1].2.body().expect("body");
        body.payload = serde_json::json!({ "n": 99 });
        rows[1].2.bytes = serde_json::to_vec(&body).expect("json");
        let report = verify(&key, &rows);
        assert_eq!(
            report.first_broken,
            Some(BrokenLink {
                seq: 2,
                reason: BrokenReason::BadSignature
            })
        );
        // Someone holding the device key re-signs the edit: the next event's
        // prev_hash no longer matches.
        rows[1].2.signature = key.sign(&rows[1].2.bytes);
        let report = verify(&key, &rows);
        assert_eq!(
            report.first_broken,
            Some(BrokenLink {
                seq: 3,
                reason: BrokenReason::PrevHashMismatch
            })
        );
        // Another device's key cannot sign for this one.
        let other = DeviceKey::generate().expect("key");
        let rows = chain(&other, 2);
        assert_eq!(
            verify(&key, &rows).first_broken.expect("broken").reason,
            BrokenReason::BadSignature
        );
    }

    proptest! {
        #[test]
        fn stored_form_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..512), sig in proptest::collection::vec(any::<u8>(), 64)) {
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&sig);
            let e = SignedEvent { bytes, signature };
            prop_assert_eq!(SignedEvent::decode(&e.encode()).expect("decode"), e);
        }

        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SignedEvent::decode(&data);
        }
    }
}
