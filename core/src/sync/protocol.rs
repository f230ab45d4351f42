//! The device–office sync protocol: request signing and the JSON bodies
//! both sides exchange. Shared by the core's client and the server.
//!
//! Every device request carries four headers: the device id, a timestamp
//! (ms), a random nonce, and an Ed25519 signature over
//! [`signing_string`]: method, path with query, SHA-256 of the
//! uncompressed body, timestamp and nonce. The server refuses unknown or
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

/// The bytes a device signs for a request.
pub fn signing_string(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    timestamp_ms: i64,
    nonce: &str,
) -> Vec<u8> {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    format!(
        "fieldbook-request-v1\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        hex::encode(digest.as_ref()),
        timestamp_ms,
        nonce
    )
    .into_bytes()
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

    #[test]
    fn signing_string_binds_every_part() {
        let base = signing_string("POST", "/v1/sync/push", b"{}", 1, "n");
        assert_ne!(base, signing_string("GET", "/v1/sync/push", b"{}", 1, "n"));
        assert_ne!(base, signing_string("POST", "/v1/sync/pull", b"{}", 1, "n"));
        assert_ne!(
            base,
            signing_string("POST", "/v1/sync/push", b"{ }", 1, "n")
        );
        assert_ne!(base, signing_string("POST", "/v1/sync/push", b"{}", 2, "n"));
        assert_ne!(base, signing_string("POST", "/v1/sync/push", b"{}", 1, "m"));
        assert_eq!(base, signing_string("post", "/v1/sync/push", b"{}", 1, "n"));
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
