//! Evidence packs for breach proceedings: for one person (CRN) and a date
//! range, a PDF a magistrate can read and a JSON bundle holding the signed
//! events, the device keys and enrolment records, and a manifest signed by
//! the office's key; plus the offline verifier that checks all of it.
//!
//! The statements the PDF shows are made by one function from the events
//! ([`statements::statements`]), so the verifier recomputes them from the
//! bundle and compares them with the manifest and with the PDF's text.

pub mod key;
pub mod office;
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

/// The machine-readable bundle (`bundle.json`). Here and in the records
/// below unknown fields are refused: digests are over the values as read,
/// so a renamed key must not read as an absent (`null`) value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The office's own records: the order and requirement, and its
    /// enforcement decisions (bound by [`Manifest::office_records_sha256`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_records: Option<office::OfficeRecords>,
}

/// A device and its enrolment, as the office holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// SHA-256 of the bundle's office records
    /// ([`office::OfficeRecords::digest`]), when it holds them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_records_sha256: Option<String>,
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
    /// Only this appointment's events (one enforcement item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<String>,
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

#[cfg(test)]
mod tests {
    use fieldbook_core::crypto::signing::DeviceKey;
    use fieldbook_core::events::{EventBody, SignedEvent, EVENT_FORMAT, GENESIS_HASH};
    use serde_json::json;

    use super::pack::{check, make, PackRequest};
    use super::store::Link;
    use super::verify::{verify, FailureKind};
    use super::*;

    const DAY_MS: i64 = 1_795_424_400_000;

    /// A device chain of warnings: CRN X1, X2 (someone else), X1.
    fn chain(key: &DeviceKey, device: &str) -> Vec<Link> {
        let mut prev = GENESIS_HASH;
        let mut out = vec![];
        for (seq, crn) in [(1u64, "X1"), (2, "X2"), (3, "X1")] {
            let body = EventBody {
                format: EVENT_FORMAT,
                id: format!("{seq:032x}"),
                device: key.fingerprint(),
                seq,
                officer: "sup-1".into(),
                recorded_at_ms: DAY_MS + seq as i64 * 60_000,
                utc_offset_min: 0,
                monotonic_ms: seq,
                kind: "upw.warning_given".into(),
                payload: json!({ "appointment_id": format!("{:032x}", 100 + seq), "session_id": format!("{:032x}", 1),
                                 "requirement_id": null, "crn": crn, "date": "2026-11-24",
                                 "at": { "utc_ms": DAY_MS, "offset_min": 0 } }),
                supersedes: None,
                reason: None,
                prev_hash: hex::encode(prev),
            };
            let bytes = serde_json::to_vec(&body).expect("json");
            let signed = SignedEvent {
                signature: key.sign(&bytes),
                bytes,
            };
            prev = signed.hash();
            out.push(Link {
                device_id: device.into(),
                seq: seq as i64,
                event_id: body.id.clone(),
                hash: hex::encode(signed.hash()),
                stored: Some((
                    DAY_MS + 3_600_000,
                    String::from_utf8(signed.bytes.clone()).expect("utf-8"),
                    hex::encode(signed.signature),
                )),
            });
        }
        out
    }

    fn request() -> PackRequest {
        serde_json::from_value(
            json!({ "crn": "x1", "from": "2026-11-01", "to": "2026-11-30",
            "produced_by": "clerk", "reason": "breach", "recipient": "court" }),
        )
        .expect("request")
    }

    #[test]
    fn a_pack_verifies_and_a_gap_or_a_revoked_device_is_named() {
        let key = DeviceKey::generate().expect("key");
        let office = OfficeKey::generate().expect("office key");
        let device = "d".repeat(32);
        let devices = vec![(
            device.clone(),
            "sup-1".to_owned(),
            hex::encode(key.public_key()),
            DAY_MS - 1,
            None,
            None,
        )];
        let (req, rules) = check(&request()).expect("valid");
        assert_eq!(req.crn, "X1");
        let made = make(
            req.clone(),
            rules.clone(),
            chain(&key, &device),
            devices.clone(),
            None,
            &office,
            DAY_MS,
        )
        .expect("made");
        let forms: Vec<_> = made.bundle.chains[0]
            .entries
            .iter()
            .map(Entry::form)
            .collect();
        assert_eq!(forms, ["full", "withheld", "full"]);
        assert_eq!(made.manifest.statements, 2);
        let bytes = serde_json::to_vec(&made.bundle).expect("json");
        let v = verify(&bytes, Some(&made.pdf), Some(&office.public_hex()));
        assert!(v.verified, "{}", v.render());

        // A damaged PDF (truncated, or bytes changed anywhere) is reported,
        // never a panic, whatever the PDF parser makes of it.
        let pdf = made.pdf.clone();
        for cut in (0..pdf.len()).step_by(pdf.len() / 12 + 1) {
            let v = verify(&bytes, Some(&pdf[..cut]), Some(&office.public_hex()));
            assert!(v.has(FailureKind::PdfChanged) && !v.verified);
            let mut flipped = pdf.clone();
            flipped[cut] ^= 0x5a;
            let v = verify(&bytes, Some(&flipped), Some(&office.public_hex()));
            assert!(v.has(FailureKind::PdfChanged) && !v.verified);
        }

        // The withheld link dropped: a gap at no. 2.
        let mut b = made.bundle.clone();
        b.chains[0].entries.remove(1);
        let v = verify(
            &serde_json::to_vec(&b).expect("json"),
            None,
            Some(&office.public_hex()),
        );
        assert!(v.has(FailureKind::ChainGap), "{}", v.render());
        assert!(
            v.failures
                .iter()
                .any(|f| f.detail.contains("no. 2 is missing")),
            "{}",
            v.render()
        );

        // Revoked before the third event was recorded.
        let mut revoked = devices.clone();
        revoked[0].4 = Some(DAY_MS + 150_000);
        let made = make(
            req,
            rules,
            chain(&key, &device),
            revoked,
            None,
            &office,
            DAY_MS,
        )
        .expect("made");
        let v = verify(
            &serde_json::to_vec(&made.bundle).expect("json"),
            Some(&made.pdf),
            None,
        );
        assert!(v.has(FailureKind::RevokedDevice), "{}", v.render());
        assert_eq!(v.failures.len(), 1, "only the late event: {}", v.render());
        assert!(v
            .notes
            .iter()
            .any(|n| n.contains("no office key was pinned")));
        assert!(!v.pinned && v.render().starts_with("VERDICT: NOT VERIFIED"));
        let (req, rules) = check(&request()).expect("valid");
        let fine = make(
            req,
            rules,
            chain(&key, &device),
            devices,
            None,
            &office,
            DAY_MS,
        )
        .expect("made");
        let v = verify(
            &serde_json::to_vec(&fine.bundle).expect("json"),
            Some(&fine.pdf),
            None,
        );
        assert!(v.verified, "{}", v.render());
        assert!(v
            .render()
            .starts_with("VERDICT: VERIFIED against the office key the pack names (not pinned)"));

        // Garbage is refused with a reason, never a panic.
        let v = verify(b"{not json", Some(b"%PDF-garbage"), None);
        assert!(v.has(FailureKind::Malformed) && !v.verified);
    }

    #[test]
    fn two_devices_two_chains_and_a_chain_moved_to_the_other_device_is_named() {
        let (ka, kb) = (
            DeviceKey::generate().expect("key"),
            DeviceKey::generate().expect("key"),
        );
        let office = OfficeKey::generate().expect("office key");
        let (da, db) = ("a".repeat(32), "b".repeat(32));
        let mut links = chain(&ka, &da);
        links.extend(chain(&kb, &db));
        let devices = vec![
            (
                da.clone(),
                "sup-1".to_owned(),
                hex::encode(ka.public_key()),
                DAY_MS - 1,
                None,
                None,
            ),
            (
                db.clone(),
                "sup-2".to_owned(),
                hex::encode(kb.public_key()),
                DAY_MS - 1,
                None,
                None,
            ),
        ];
        let (req, rules) = check(&request()).expect("valid");
        let made = make(req, rules, links, devices, None, &office, DAY_MS).expect("made");
        assert_eq!(made.bundle.chains.len(), 2);
        assert_eq!(made.manifest.statements, 4);
        let v = verify(
            &serde_json::to_vec(&made.bundle).expect("json"),
            Some(&made.pdf),
            Some(&office.public_hex()),
        );
        assert!(v.verified, "{}", v.render());
        // Device A's events presented as device B's: B's key does not
        // verify them and their fingerprints name another key.
        let mut b = made.bundle.clone();
        b.chains[1].entries = b.chains[0].entries.clone();
        let v = verify(
            &serde_json::to_vec(&b).expect("json"),
            None,
            Some(&office.public_hex()),
        );
        assert!(
            v.has(FailureKind::BadSignature) && v.has(FailureKind::DeviceKey),
            "{}",
            v.render()
        );
        assert!(
            v.failures
                .iter()
                .any(|f| f.detail.starts_with("device bbbbbbbb")),
            "{}",
            v.render()
        );
    }

    proptest::proptest! {
        #[test]
        fn the_verifier_never_panics_and_never_passes_garbage(
            bundle in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            pdf in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        ) {
            let v = verify(&bundle, Some(&pdf), None);
            proptest::prop_assert!(!v.verified);
            proptest::prop_assert!(!v.failures.is_empty());
        }
    }

    #[test]
    fn bad_requests_name_the_field() {
        let mut r = request();
        r.reason = "  ".into();
        assert_eq!(
            check(&r).expect_err("blank").to_string(),
            "reason: is required"
        );
        let mut r = request();
        r.to = "2026-10-01".into();
        assert!(check(&r).is_err());
        let mut r = request();
        r.crn = "X1; DROP".into();
        assert!(check(&r).is_err());
    }
}
