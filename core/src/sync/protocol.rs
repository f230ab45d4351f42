//! The device–office sync protocol: request signing and the JSON bodies
//! both sides exchange. Shared by the core's client and the server.
//!
//! Every device request carries four headers: the device id, a timestamp
//! (ms), a random nonce, and an Ed25519 signature over
//! [`SignedRequest::signing_string`]: method, path with query, device id,
//! content encoding, SHA-256 of the body as sent, timestamp and nonce. The server refuses unknown or
//! revoked devices, bad signatures, timestamps outside the window and
//! nonces it has seen.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Header: the device id the office issued.
pub const H_DEVICE: &str = "x-fieldbook-device";
/// Header: request time, ms since the epoch.
pub const H_TIMESTAMP: &str = "x-fieldbook-timestamp";
/// Header: random nonce, 32 hex digits.
pub const H_NONCE: &str = "x-fieldbook-nonce";
/// Header: Ed25519 signature, hex.
pub const H_SIGNATURE: &str = "x-fieldbook-signature";
/// How far a request's timestamp may be from the server's clock.
pub const TIMESTAMP_WINDOW_MS: i64 = 5 * 60_000;
/// Largest push body accepted (uncompressed).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most events in one push.
pub const MAX_PUSH_EVENTS: usize = 1000;

/// Extra time, beyond [`TIMESTAMP_WINDOW_MS`], that the office keeps a
/// used nonce: instances of one office share the nonce table but not a
/// clock, so one running a little behind must still see the nonce.
pub const NONCE_MARGIN_MS: i64 = 2 * 60_000;

/// Everything a device signs for one request.
///
/// The body is signed as sent (after gzip, with the `Content-Encoding`
/// label beside it), so the office checks the signature before it
/// decompresses anything: an unknown or forged sender cannot make it
/// inflate a bomb. The device id is signed so a signature made for one
/// device can never verify as another's.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method (case-insensitive).
    pub method: &'a str,
    /// Path with query, as sent.
    pub path_and_query: &'a str,
    /// The `x-fieldbook-device` header.
    pub device_id: &'a str,
    /// The `Content-Encoding` header, `""` when absent.
    pub content_encoding: &'a str,
    /// The body bytes as sent on the wire.
    pub body: &'a [u8],
    /// The `x-fieldbook-timestamp` header.
    pub timestamp_ms: i64,
    /// The `x-fieldbook-nonce` header.
    pub nonce: &'a str,
}

impl SignedRequest<'_> {
    /// The bytes signed: one function for the client and the server, so
    /// the two can never drift apart.
    pub fn signing_string(&self) -> Vec<u8> {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.body);
        format!(
            "fieldbook-request-v2\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.method.to_ascii_uppercase(),
            self.path_and_query,
            self.device_id,
            self.content_encoding.to_ascii_lowercase(),
            hex::encode(digest.as_ref()),
            self.timestamp_ms,
            self.nonce
        )
        .into_bytes()
    }
}

/// Parses the timestamp header strictly: ASCII digits only, in the
/// canonical form the client writes (no sign, no leading zeros, no
/// spaces), so one signed value has exactly one spelling.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// Whether `timestamp_ms` is within the window of `now_ms`; checked
/// arithmetic, so extreme values are refused rather than wrapping.
pub fn within_window(now_ms: i64, timestamp_ms: i64) -> bool {
    now_ms
        .checked_sub(timestamp_ms)
        .and_then(i64::checked_abs)
        .is_some_and(|d| d <= TIMESTAMP_WINDOW_MS)
}

/// Normalises a hex Ed25519 public key to lower case; `None` unless it is
/// exactly 32 bytes of hex. Stored keys are always in this form, so one
/// key cannot enrol twice under two spellings.
pub fn normalise_public_key(hex_key: &str) -> Option<String> {
    let bytes = hex::decode(hex_key).ok()?;
    (bytes.len() == 32).then(|| hex::encode(bytes))
}

/// Enrolment request: the office's one-time code and the device's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// One-time code from the office.
    pub code: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// A label for the office's device list.
    pub label: String,
}

/// Officer roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Community Payback supervisor.
    Supervisor,
    /// Probation officer.
    ProbationOfficer,
}

/// Enrolment answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// The device's id.
    pub device_id: String,
    /// The officer it belongs to.
    pub officer_id: String,
    /// Their role.
    pub role: Role,
}

/// The device's standing with the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// In use.
    Active,
    /// Revoked by the office.
    Revoked,
}

/// `GET /v1/sync/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// Active or revoked.
    pub status: DeviceStatus,
    /// Whether a revoked device may push what it has before shredding.
    pub final_push_allowed: bool,
    /// Server clock.
    pub server_time_ms: i64,
    /// The last sequence number the office holds from this device.
    pub last_seq: u64,
}

/// One event in a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushEvent {
    /// Event id.
    pub id: String,
    /// Per-device sequence number.
    pub seq: u64,
    /// The signed body bytes, base64.
    pub body: String,
    /// Ed25519 signature, hex.
    pub signature: String,
}

impl PushEvent {
    /// The signed bytes.
    pub fn body_bytes(&self) -> Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.body)
            .map_err(|_| Error::invalid("body", "not base64"))
    }

    /// Encodes signed bytes.
    pub fn encode_body(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Events in sequence order.
    pub events: Vec<PushEvent>,
}

/// Why the office refused an event (never retried as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Body or fields malformed.
    Malformed,
    /// Signature does not verify against the device key.
    BadSignature,
    /// The event claims another device.
    DeviceMismatch,
    /// `prev_hash` does not match the office's copy of the chain.
    ChainBroken,
    /// It refers to a session or case outside the device's scope.
    OutOfScope,
    /// Recorded too far in the future.
    TimestampInFuture,
    /// Too large.
    TooLarge,
}

impl RejectReason {
    /// Every reason.
    pub const ALL: [RejectReason; 7] = [
        RejectReason::Malformed,
        RejectReason::BadSignature,
        RejectReason::DeviceMismatch,
        RejectReason::ChainBroken,
        RejectReason::OutOfScope,
        RejectReason::TimestampInFuture,
        RejectReason::TooLarge,
    ];

    /// The reason with this machine-readable name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The machine-readable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::DeviceMismatch => "device_mismatch",
            RejectReason::ChainBroken => "chain_broken",
            RejectReason::OutOfScope => "out_of_scope",
            RejectReason::TimestampInFuture => "timestamp_in_future",
            RejectReason::TooLarge => "too_large",
        }
    }
}

/// The office's answer for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum PushOutcome {
    /// Stored now.
    Accepted,
    /// Already stored (treated as accepted).
    Duplicate,
    /// Refused for `reason`; goes to the device's quarantine.
    Rejected { reason: RejectReason },
    /// Not processed (an earlier event is missing); send again from
    /// `expected_seq`.
    Retry { expected_seq: u64 },
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    /// Event id.
    pub id: String,
    /// Sequence number.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub outcome: PushOutcome,
}

/// `POST /v1/sync/push` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// One per event, in order.
    pub results: Vec<PushResult>,
}

/// `POST /v1/safety/beacons`: the lone-worker safety lane. The device's
/// signed safety events (start, extend, check-in, alert, end, and
/// acknowledgement seen), sent ahead of the ordered log the moment there
/// is a connection; the ordered push still delivers them in their place.
pub const BEACON_PATH: &str = "/v1/safety/beacons";

/// While a visit runs (or a safety event is unconfirmed), the lane is
/// contacted at least this often: it retries what is unconfirmed and
/// collects the office's acknowledgements.
pub const BEACON_INTERVAL_MS: i64 = 30_000;

/// At most this many events in one beacon request.
pub const MAX_BEACON_EVENTS: usize = 50;

/// `POST /v1/safety/beacons` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconRequest {
    /// Safety-lane events, in sequence order (may be empty: a heartbeat
    /// that collects acknowledgements).
    pub events: Vec<PushEvent>,
}

/// What the office answered for one beacon event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BeaconOutcome {
    /// The office's safety clock has it (now or before).
    Applied,
    /// Refused (the ordered push will report why); not sent again as a
    /// beacon.
    Refused,
}

/// One answer on the safety lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconResult {
    /// Event id.
    pub id: String,
    /// What happened.
    pub outcome: BeaconOutcome,
}

/// The office acknowledged a lone-worker alert on one of this device's
/// visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeAck {
    /// The office's alert.
    pub alert_id: String,
    /// The visit.
    pub visit_id: String,
    /// Who acknowledged it (an office user's display name).
    pub by: String,
    /// When (UTC ms).
    pub at_ms: i64,
    /// What the office said to the officer (may be empty).
    pub note: String,
}

/// `POST /v1/safety/beacons` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconResponse {
    /// One per event, in order.
    pub results: Vec<BeaconResult>,
    /// Acknowledgements the device has not yet reported seeing.
    pub acknowledgements: Vec<OfficeAck>,
    /// The office's clock (UTC ms).
    pub server_time_ms: i64,
}

/// One reference-data change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The server cursor of this change.
    pub cursor: i64,
    /// Entity kind (`upw_project`, `upw_session`, `upw_requirement`,
    /// `upw_appointment`, `hv_case`, `hv_scheduled`).
    pub entity: String,
    /// Record id (32 hex digits).
    pub id: String,
    /// The record, or `null` when deleted.
    pub data: serde_json::Value,
}

/// `GET /v1/sync/pull` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullPage {
    /// The server's data epoch; a change means start again.
    pub epoch: String,
    /// Set when the device must drop its reference data and refetch.
    pub reset: bool,
    /// Changes after the cursor asked for.
    pub changes: Vec<Change>,
    /// The cursor to ask from next.
    pub next_cursor: i64,
    /// Whether more pages follow.
    pub more: bool,
}

/// An error body from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: String,
    /// Human-readable message (no personal data).
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path_and_query: "/v1/sync/push",
            device_id: "dev-a",
            content_encoding: "gzip",
            body,
            timestamp_ms: 1,
            nonce: "n",
        }
    }

    #[test]
    fn signing_string_binds_every_part() {
        let base = req(b"{}").signing_string();
        let differs = |r: SignedRequest<'_>| assert_ne!(base, r.signing_string(), "{r:?}");
        differs(SignedRequest {
            method: "GET",
            ..req(b"{}")
        });
        differs(SignedRequest {
            path_and_query: "/v1/sync/pull",
            ..req(b"{}")
        });
        differs(req(b"{ }"));
        differs(SignedRequest {
            timestamp_ms: 2,
            ..req(b"{}")
        });
        differs(SignedRequest {
            nonce: "m",
            ..req(b"{}")
        });
        // A signature for one device never verifies as another's.
        differs(SignedRequest {
            device_id: "dev-b",
            ..req(b"{}")
        });
        differs(SignedRequest {
            content_encoding: "",
            ..req(b"{}")
        });
        assert_eq!(
            base,
            SignedRequest {
                method: "post",
                ..req(b"{}")
            }
            .signing_string()
        );
    }

    #[test]
    fn timestamps_parse_strictly_and_compare_without_overflow() {
        assert_eq!(parse_timestamp("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(parse_timestamp("0"), Some(0));
        for bad in [
            "",
            "+1700000000000",
            "-1",
            " 1",
            "1 ",
            "01",
            "1e3",
            "1.0",
            "0x10",
            "99999999999999999999",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        assert!(within_window(1_000_000, 1_000_000 + TIMESTAMP_WINDOW_MS));
        assert!(!within_window(1_000_000, 1_000_001 + TIMESTAMP_WINDOW_MS));
        // `(now - ts).abs()` overflowed (a panic in debug, a wrap in release).
        assert!(!within_window(i64::MAX, i64::MIN));
        assert!(!within_window(i64::MIN, i64::MAX));
        assert!(!within_window(0, i64::MIN));
    }

    #[test]
    fn public_keys_normalise_to_lower_case_hex() {
        let lower = "ab".repeat(32);
        assert_eq!(normalise_public_key(&"AB".repeat(32)), Some(lower.clone()));
        assert_eq!(normalise_public_key(&lower), Some(lower));
        assert_eq!(normalise_public_key("ab"), None);
        assert_eq!(normalise_public_key(&"zz".repeat(32)), None);
    }

    #[test]
    fn push_outcome_wire_format() {
        let r = PushResult {
            id: "a".into(),
            seq: 1,
            outcome: PushOutcome::Rejected {
                reason: RejectReason::OutOfScope,
            },
        };
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["status"], "rejected");
        assert_eq!(json["reason"], "out_of_scope");
        let back: PushResult = serde_json::from_value(json).expect("parse");
        assert_eq!(back, r);
    }
}
