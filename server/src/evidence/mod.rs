//! Evidence packs for breach proceedings: for one person (CRN) and a date
//! range, a PDF a magistrate can read and a JSON bundle holding the signed
//! events, the device keys and enrolment records, and a manifest signed by
//! the office's key; plus the offline verifier that checks all of it.
//!
//! The statements the PDF shows are made by one function from the events
//! ([`statements::statements`]), so the verifier recomputes them from the
//! bundle and compares them with the manifest and with the PDF's text.

pub mod key;
pub mod pack;
pub mod pdf;
pub mod redact;
pub mod routes;
pub mod statements;
pub mod store;
pub mod verify;

pub use key::OfficeKey;

use serde::{Deserialize, Serialize};

/// Format name of a bundle.
pub const BUNDLE_FORMAT: &str = "fieldbook-evidence-bundle/1";
/// Format name of a manifest.
pub const MANIFEST_FORMAT: &str = "fieldbook-evidence-manifest/1";

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// The machine-readable bundle (`bundle.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// The manifest's exact JSON text (what the office signed).
    pub manifest: String,
    /// Ed25519 signature of `manifest` by the office's key, hex.
    pub manifest_signature: String,
    /// The devices whose events are in the pack, with their enrolment.
    pub devices: Vec<DeviceRecord>,
    /// Each device's chain, from its first event to the last one the
    /// office held when the pack was made.
    pub chains: Vec<Chain>,
}

/// A device and its enrolment, as the office holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Device id.
    pub device_id: String,
    /// The officer it was enrolled for.
    pub officer_id: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// When it enrolled, ms.
    pub enrolled_ms: i64,
    /// When the office revoked it.
    pub revoked_ms: Option<i64>,
    /// When it reported crypto-shredding.
    pub shredded_ms: Option<i64>,
}

/// One device's chain in the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Device id.
    pub device_id: String,
    /// Every link, in sequence order, from 1.
    pub entries: Vec<Entry>,
}

/// One link of a chain, as disclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum Entry {
    /// The event as the device signed it.
    Full {
        /// Sequence number.
        seq: u64,
        /// Event id.
        event_id: String,
        /// When the office received it, ms.
        received_ms: i64,
        /// The signed JSON, exactly.
        body: String,
        /// The device's signature, hex.
        signature: String,
    },
    /// The event with some values redacted: its signature cannot be
    /// checked, its hash is bound by the next event's signed link and by
    /// the manifest.
    Redacted {
        /// Sequence number.
        seq: u64,
        /// Event id.
        event_id: String,
        /// When the office received it, ms.
        received_ms: i64,
        /// SHA-256 of the original signed bytes, hex.
        hash: String,
        /// The device's signature of the original, hex.
        signature: String,
        /// The body with the redacted values replaced.
        redacted_body: String,
        /// What was redacted and by which rule.
        redactions: Vec<Redaction>,
    },
    /// An event not about this person: only its link.
    Withheld {
        /// Sequence number.
        seq: u64,
        /// Event id.
        event_id: String,
        /// SHA-256 of its signed bytes, hex.
        hash: String,
        /// Its link to the previous event, hex.
        prev_hash: String,
    },
}

impl Entry {
    /// Sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            Entry::Full { seq, .. } | Entry::Redacted { seq, .. } | Entry::Withheld { seq, .. } => {
                *seq
            }
        }
    }

    /// Event id.
    pub fn event_id(&self) -> &str {
        match self {
            Entry::Full { event_id, .. }
            | Entry::Redacted { event_id, .. }
            | Entry::Withheld { event_id, .. } => event_id,
        }
    }

    /// `full`, `redacted` or `withheld`.
    pub fn form(&self) -> &'static str {
        match self {
            Entry::Full { .. } => "full",
            Entry::Redacted { .. } => "redacted",
            Entry::Withheld { .. } => "withheld",
        }
    }

    /// SHA-256 of the entry's JSON (what the manifest lists).
    pub fn digest(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// One redacted value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// JSON pointer into the body (`/payload/notes`).
    pub path: String,
    /// The rule that redacted it.
    pub rule: String,
}

/// What the office signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// Random pack id.
    pub pack_id: String,
    /// The reference printed on every page.
    pub reference: String,
    /// When it was made, ms.
    pub created_ms: i64,
    /// The office's public key, hex.
    pub office_key: String,
    /// Who asked, why, for whom, about whom.
    pub request: RequestRecord,
    /// The disclosure rules applied.
    pub rules: Vec<String>,
    /// Each device and the SHA-256 of its record.
    pub devices: Vec<ManifestDevice>,
    /// Each chain's entries and their digests.
    pub chains: Vec<ManifestChain>,
    /// SHA-256 of the statements' JSON.
    pub statements_sha256: String,
    /// How many statements.
    pub statements: usize,
    /// SHA-256 of the PDF.
    pub pdf_sha256: String,
}

/// The audited request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The person's CRN (normalised).
    pub crn: String,
    /// First local date, `YYYY-MM-DD`.
    pub from: String,
    /// Last local date, `YYYY-MM-DD`.
    pub to: String,
    /// Who produced it (office user).
    pub produced_by: String,
    /// Why.
    pub reason: String,
    /// For whom (court, defence solicitor, office).
    pub recipient: String,
}

/// A device in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDevice {
    /// Device id.
    pub device_id: String,
    /// Its public key, hex.
    pub public_key: String,
    /// SHA-256 of its [`DeviceRecord`]'s JSON.
    pub record_sha256: String,
}

/// A chain in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestChain {
    /// Device id.
    pub device_id: String,
    /// The entries, in order.
    pub entries: Vec<ManifestEntry>,
}

/// An entry in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Sequence number.
    pub seq: u64,
    /// Event id.
    pub event_id: String,
    /// `full`, `redacted` or `withheld`.
    pub form: String,
    /// [`Entry::digest`].
    pub sha256: String,
    /// The paths redacted and their rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Redaction>,
}

impl DeviceRecord {
    /// SHA-256 of the record's JSON.
    pub fn digest(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}
