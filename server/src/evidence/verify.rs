//! The offline verifier: needs no server and no network. It checks the
//! manifest's signature (against a pinned office key when given), every
//! device key against the manifest and the events' fingerprints, every
//! device signature and chain link, every entry against the digest the
//! office signed, events recorded after their device's revocation, the
//! statements recomputed from the events, and the PDF's text line by line.
//! Every failure is named in the verdict; a check that cannot be made
//! (a redacted event's signature) is said so, never passed silently.

use std::collections::HashMap;

use fieldbook_core::crypto::signing::fingerprint;
use fieldbook_core::events::{hash_bytes, EventBody, SignedEvent};
use serde::Serialize;

use super::pdf::{self, Owner};
use super::statements::{self, EventView};
use super::*;

/// What failed, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The bundle or the manifest does not parse.
    Malformed,
    /// The manifest's signature does not verify, or its key is not the
    /// pinned one.
    ManifestSignature,
    /// A device key differs from the manifest or from the fingerprint its
    /// events carry.
    DeviceKey,
    /// A device's signature over an event does not verify.
    BadSignature,
    /// An event is missing from a chain (a gap in the sequence).
    ChainGap,
    /// An event does not link to the one before it.
    ChainLink,
    /// An entry differs from what the office signed (or is missing or
    /// added).
    EntryChanged,
    /// An event recorded by a device after the office revoked it.
    RevokedDevice,
    /// The statements recomputed from the events differ from the signed
    /// ones.
    Statements,
    /// The office's records (the order and requirement, the enforcement
    /// decisions) differ from those the office signed.
    OfficeRecords,
    /// The PDF is not the one the office signed.
    PdfChanged,
    /// A line of the PDF does not read as the events say.
    PdfStatement,
}

/// One failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Its kind.
    pub kind: FailureKind,
    /// What exactly (ids, sequence numbers, pages; no personal data).
    pub detail: String,
}

/// The verifier's answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    /// Whether everything checked passed.
    pub verified: bool,
    /// Whether the office key was pinned (otherwise the manifest was checked
    /// against the key it names itself).
    pub pinned: bool,
    /// The pack's reference, when the manifest read.
    pub reference: Option<String>,
    /// What was checked, in plain words.
    pub checked: Vec<String>,
    /// What failed.
    pub failures: Vec<Failure>,
    /// What could not be checked, and other remarks.
    pub notes: Vec<String>,
}

impl Verdict {
    /// Whether a failure of `kind` was found.
    pub fn has(&self, kind: FailureKind) -> bool {
        self.failures.iter().any(|f| f.kind == kind)
    }

    fn fail(&mut self, kind: FailureKind, detail: impl Into<String>) {
        self.failures.push(Failure {
            kind,
            detail: detail.into(),
        });
    }

    /// The verdict in plain text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(match (self.verified, self.pinned) {
            (true, true) => "VERDICT: VERIFIED\n",
            (true, false) => {
                "VERDICT: VERIFIED against the office key the pack names (not pinned)\n"
            }
            (false, _) => "VERDICT: NOT VERIFIED\n",
        });
        if let Some(r) = &self.reference {
            out.push_str(&format!("Pack: {r}\n"));
        }
        out.push_str("Checked:\n");
        for c in &self.checked {
            out.push_str(&format!("  - {c}\n"));
        }
        if !self.failures.is_empty() {
            out.push_str("Failed:\n");
            for f in &self.failures {
                let kind = serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                out.push_str(&format!("  - [{kind}] {}\n", f.detail));
            }
        }
        if !self.notes.is_empty() {
            out.push_str("Notes:\n");
            for n in &self.notes {
                out.push_str(&format!("  - {n}\n"));
            }
        }
        out
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Verifies a pack: the bundle's bytes, the PDF's (if given) and the
/// office key to pin (hex; without it the manifest's own key is used and
/// the verdict says so).
pub fn verify(bundle: &[u8], pdf_bytes: Option<&[u8]>, pinned_key: Option<&str>) -> Verdict {
    let mut v = Verdict::default();
    let bundle: Bundle = match serde_json::from_slice(bundle) {
        Ok(b) => b,
        Err(e) => {
            v.fail(
                FailureKind::Malformed,
                format!(
                    "the bundle does not parse (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            );
            return v;
        }
    };
    if bundle.format != BUNDLE_FORMAT {
        v.fail(
            FailureKind::Malformed,
            "the bundle's format is not one this verifier reads",
        );
        return v;
    }
    let manifest: Manifest = match serde_json::from_str(&bundle.manifest) {
        Ok(m) => m,
        Err(_) => {
            v.fail(FailureKind::Malformed, "the manifest does not parse");
            return v;
        }
    };
    v.reference = Some(manifest.reference.clone());

    // 1. The manifest.
    v.pinned = pinned_key.is_some();
    let key = match pinned_key {
        Some(k) => {
            let k = k.trim().to_lowercase();
            if k != manifest.office_key {
                v.fail(
                    FailureKind::ManifestSignature,
                    format!(
                        "the manifest names office key {}…, not the pinned key {}…",
                        short(&manifest.office_key),
                        short(&k)
                    ),
                );
            }
            k
        }
        None => {
            v.notes.push(format!(
                "no office key was pinned: the manifest was checked against the key it names ({}); compare it with the key the office publishes",
                manifest.office_key
            ));
            manifest.office_key.clone()
        }
    };
    if super::key::verify_hex(&key, bundle.manifest.as_bytes(), &bundle.manifest_signature) {
        v.checked
            .push("the manifest's signature by the office key".into());
    } else {
        v.fail(
            FailureKind::ManifestSignature,
            "the office's signature over the manifest does not verify",
        );
    }

    // 2. Devices.
    let listed: HashMap<&str, &ManifestDevice> = manifest
        .devices
        .iter()
        .map(|d| (d.device_id.as_str(), d))
        .collect();
    let mut keys: HashMap<String, Vec<u8>> = HashMap::new();
    let mut revoked: HashMap<String, i64> = HashMap::new();
    for d in &bundle.devices {
        match listed.get(d.device_id.as_str()) {
            None => v.fail(
                FailureKind::DeviceKey,
                format!("device {} is not in the manifest", short(&d.device_id)),
            ),
            Some(m) if m.public_key != d.public_key => v.fail(
                FailureKind::DeviceKey,
                format!(
                    "device {}: its public key is not the one the office signed",
                    short(&d.device_id)
                ),
            ),
            Some(m) if m.record_sha256 != d.digest() => v.fail(
                FailureKind::DeviceKey,
                format!(
                    "device {}: its enrolment record differs from the one the office signed",
                    short(&d.device_id)
                ),
            ),
            Some(_) => {}
        }
        match hex::decode(&d.public_key) {
            Ok(k) if k.len() == 32 => {
                keys.insert(d.device_id.clone(), k);
            }
            _ => v.fail(
                FailureKind::DeviceKey,
                format!(
                    "device {}: the public key is not an Ed25519 key",
                    short(&d.device_id)
                ),
            ),
        }
        if let Some(r) = d.revoked_ms {
            revoked.insert(d.device_id.clone(), r);
        }
    }
    for m in &manifest.devices {
        if !bundle.devices.iter().any(|d| d.device_id == m.device_id) {
            v.fail(
                FailureKind::DeviceKey,
                format!("device {} is missing from the bundle", short(&m.device_id)),
            );
        }
    }
    v.checked.push(format!(
        "{} device key(s) and enrolment record(s) against the manifest",
        bundle.devices.len()
    ));

    // 3. Chains.
    let signed_chains: HashMap<&str, &ManifestChain> = manifest
        .chains
        .iter()
        .map(|c| (c.device_id.as_str(), c))
        .collect();
    let mut views = Vec::new();
    let (mut signatures, mut links, mut unsigned) = (0usize, 0usize, 0usize);
    for chain in &bundle.chains {
        let dev = short(&chain.device_id).to_owned();
        let Some(signed) = signed_chains.get(chain.device_id.as_str()) else {
            v.fail(
                FailureKind::EntryChanged,
                format!("device {dev}: its chain is not in the manifest"),
            );
            continue;
        };
        let digests: HashMap<u64, &ManifestEntry> =
            signed.entries.iter().map(|e| (e.seq, e)).collect();
        for e in &chain.entries {
            match digests.get(&e.seq()) {
                None => v.fail(
                    FailureKind::EntryChanged,
                    format!(
                        "device {dev} no. {}: an entry the office did not sign",
                        e.seq()
                    ),
                ),
                Some(m) if m.sha256 != e.digest() || m.event_id != e.event_id() => v.fail(
                    FailureKind::EntryChanged,
                    format!(
                        "device {dev} no. {} (event {}): differs from what the office signed",
                        e.seq(),
                        short(e.event_id())
                    ),
                ),
                Some(_) => {}
            }
        }
        for m in &signed.entries {
            if !chain.entries.iter().any(|e| e.seq() == m.seq) {
                v.fail(
                    FailureKind::EntryChanged,
                    format!(
                        "device {dev} no. {} (event {}): signed by the office but missing from the bundle",
                        m.seq,
                        short(&m.event_id)
                    ),
                );
            }
        }
        let key = keys.get(&chain.device_id).cloned().unwrap_or_default();
        let expected_fp = fingerprint(&key);
        let mut expected_seq = 1u64;
        let mut prev = hex::encode(fieldbook_core::events::GENESIS_HASH);
        for e in &chain.entries {
            let seq = e.seq();
            if seq != expected_seq {
                v.fail(
                    FailureKind::ChainGap,
                    format!(
                        "device {dev}: no. {expected_seq} is missing (the next entry is no. {seq})"
                    ),
                );
                // Carry on from this entry (the end of the loop moves
                // `expected_seq` past it) so later breaks are found too.
                prev.clear();
            }
            let check_link = |v: &mut Verdict, stated: &str, prev: &str| {
                if !prev.is_empty() && stated != prev {
                    v.fail(
                        FailureKind::ChainLink,
                        format!(
                            "device {dev} no. {seq} (event {}): does not link to the event before it",
                            short(e.event_id())
                        ),
                    );
                }
            };
            let body_of = |text: &str| serde_json::from_str::<EventBody>(text).ok();
            match e {
                Entry::Full {
                    event_id,
                    received_ms,
                    body,
                    signature,
                    ..
                } => {
                    let sig: Option<[u8; 64]> =
                        hex::decode(signature).ok().and_then(|s| s.try_into().ok());
                    let signed_ok = sig.is_some_and(|signature| {
                        SignedEvent {
                            bytes: body.as_bytes().to_vec(),
                            signature,
                        }
                        .verify(&key)
                    });
                    if signed_ok {
                        signatures += 1;
                    } else {
                        v.fail(
                            FailureKind::BadSignature,
                            format!(
                                "device {dev} no. {seq} (event {}): the device's signature does not verify",
                                short(event_id)
                            ),
                        );
                    }
                    match body_of(body) {
                        None => v.fail(
                            FailureKind::Malformed,
                            format!("device {dev} no. {seq}: the event does not parse"),
                        ),
                        Some(b) => {
                            if b.device != expected_fp {
                                v.fail(
                                    FailureKind::DeviceKey,
                                    format!(
                                        "device {dev} no. {seq}: the event was signed as device key {}, not the key listed for this device",
                                        b.device
                                    ),
                                );
                            }
                            if b.seq != seq || b.id != *event_id {
                                v.fail(
                                    FailureKind::ChainLink,
                                    format!("device {dev} no. {seq}: the event's own number or id differ"),
                                );
                            }
                            check_link(&mut v, &b.prev_hash, &prev);
                            if let Some(r) = revoked.get(&chain.device_id) {
                                if b.recorded_at_ms >= *r {
                                    v.fail(FailureKind::RevokedDevice, format!("device {dev} no. {seq} (event {}): recorded after the office revoked the device", short(event_id)));
                                } else if received_ms >= r {
                                    v.notes.push(format!("device {dev} no. {seq}: recorded before the device was revoked, received after (its final push)"));
                                }
                            }
                            views.push(EventView {
                                device_id: chain.device_id.clone(),
                                body: b,
                                redacted: false,
                            });
                        }
                    }
                    prev = hex::encode(hash_bytes(body.as_bytes()));
                    links += 1;
                }
                Entry::Redacted {
                    event_id,
                    received_ms,
                    hash,
                    redacted_body,
                    ..
                } => {
                    unsigned += 1;
                    match body_of(redacted_body) {
                        None => v.fail(
                            FailureKind::Malformed,
                            format!("device {dev} no. {seq}: the redacted event does not parse"),
                        ),
                        Some(b) => {
                            check_link(&mut v, &b.prev_hash, &prev);
                            if b.seq != seq || b.id != *event_id {
                                v.fail(
                                    FailureKind::ChainLink,
                                    format!("device {dev} no. {seq}: the event's own number or id differ"),
                                );
                            }
                            if let Some(r) = revoked.get(&chain.device_id) {
                                if b.recorded_at_ms >= *r {
                                    v.fail(FailureKind::RevokedDevice, format!("device {dev} no. {seq} (event {}): recorded after the office revoked the device", short(event_id)));
                                } else if received_ms >= r {
                                    v.notes.push(format!("device {dev} no. {seq}: recorded before the device was revoked, received after (its final push)"));
                                }
                            }
                            views.push(EventView {
                                device_id: chain.device_id.clone(),
                                body: b,
                                redacted: true,
                            });
                        }
                    }
                    prev = hash.clone();
                    links += 1;
                }
                Entry::Withheld {
                    hash, prev_hash, ..
                } => {
                    if prev_hash.is_empty() {
                        v.notes.push(format!("device {dev} no. {seq}: an event the office refused at ingest (its link is unchecked)"));
                    } else {
                        check_link(&mut v, prev_hash, &prev);
                    }
                    prev = hash.clone();
                    links += 1;
                }
            }
            expected_seq = seq.saturating_add(1);
        }
    }
    v.checked.push(format!(
        "{signatures} device signature(s) and {links} chain link(s) in {} chain(s); every entry against the digest the office signed",
        bundle.chains.len()
    ));
    if unsigned > 0 {
        v.notes.push(format!(
            "{unsigned} event(s) are redacted: their device signatures cannot be checked without the withheld values; each one's hash is bound by the next event's signed link and by the office's manifest, and what remains was checked"
        ));
    }
    v.checked
        .push("events recorded after their device's revocation (none allowed)".into());

    // 4. The office's records.
    match (&manifest.office_records_sha256, &bundle.office_records) {
        (None, None) => v
            .notes
            .push("the pack holds no office records (order, requirement, decisions)".into()),
        (Some(signed), Some(records)) if *signed == records.digest() => v.checked.push(format!(
            "the office records against the manifest: {} requirement(s), {} enforcement decision(s)",
            records.requirements.len(),
            records.decisions.len()
        )),
        (Some(_), Some(_)) => v.fail(
            FailureKind::OfficeRecords,
            "the office records (order, requirement, enforcement decisions) differ from those the office signed",
        ),
        (Some(_), None) => v.fail(
            FailureKind::OfficeRecords,
            "the office records the manifest lists are missing from the bundle",
        ),
        (None, Some(_)) => v.fail(
            FailureKind::OfficeRecords,
            "the bundle holds office records the office did not sign",
        ),
    }

    // 5. Statements.
    let stated = statements::all(&views, bundle.office_records.as_ref());
    if statements::digest(&stated) == manifest.statements_sha256 {
        v.checked.push(format!(
            "{} statement(s) recomputed from the events and office records match the manifest",
            stated.len()
        ));
    } else {
        v.fail(
            FailureKind::Statements,
            "the statements recomputed from the events and office records differ from those the office signed",
        );
    }

    // 6. The PDF.
    match pdf_bytes {
        None => v
            .notes
            .push("no PDF was given: its text was not checked".into()),
        Some(bytes) => {
            if sha256_hex(bytes) != manifest.pdf_sha256 {
                v.fail(
                    FailureKind::PdfChanged,
                    "the PDF is not the file the office signed (its SHA-256 differs)",
                );
            }
            check_pdf(&mut v, bytes, &manifest, &stated);
        }
    }
    v.verified = v.failures.is_empty();
    v
}

fn check_pdf(v: &mut Verdict, bytes: &[u8], manifest: &Manifest, stated: &[statements::Statement]) {
    let expected_lines = pdf::drawn(manifest, stated);
    let expected = match pdf::render(manifest, stated).and_then(|b| pdf::text_runs(&b)) {
        Ok(e) => e,
        Err(e) => {
            v.fail(
                FailureKind::PdfStatement,
                format!("the expected PDF cannot be laid out: {e}"),
            );
            return;
        }
    };
    let given = match pdf::text_runs(bytes) {
        Ok(g) => g,
        Err(e) => {
            v.fail(FailureKind::PdfStatement, format!("the PDF: {e}"));
            return;
        }
    };
    if given.len() != expected.len() {
        v.fail(
            FailureKind::PdfStatement,
            format!(
                "the PDF has {} page(s); the events give {}",
                given.len(),
                expected.len()
            ),
        );
    }
    let mut bad = 0usize;
    for (p, (g, e)) in given.iter().zip(&expected).enumerate() {
        let lines = expected_lines.get(p).cloned().unwrap_or_default();
        let n = g.len().max(e.len());
        for i in 0..n {
            if g.get(i) != e.get(i) {
                let whose = match lines.get(i).map(|l| &l.owner) {
                    Some(Owner::Statement(r)) => format!("statement {r}"),
                    Some(Owner::Cover) => "the pack's description".into(),
                    Some(Owner::Frame) => "the page header or footer".into(),
                    None => "text the events do not give".into(),
                };
                v.fail(
                    FailureKind::PdfStatement,
                    format!(
                        "page {}, line {}: {whose} does not read as the events say",
                        p + 1,
                        i + 1
                    ),
                );
                bad += 1;
                if bad >= 20 {
                    return;
                }
            }
        }
    }
    if bad == 0 && given.len() == expected.len() {
        v.checked.push(format!(
            "the PDF's text, {} page(s), line by line against the statements",
            given.len()
        ));
    }
}
