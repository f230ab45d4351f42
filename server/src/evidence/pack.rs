//! Assembles a pack from what the office holds: picks the person's events
//! in the period, discloses each device's chain (the person's events whole
//! or redacted, every other event as its link only), makes the statements
//! and the PDF, and signs the manifest.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use fieldbook_core::events::{EventBody, Payload};
use fieldbook_core::vocab::{normalise_crn, Stamp};
use serde::Deserialize;

use super::redact::{self, Rules};
use super::statements::{self, EventView};
use super::store::Link;
use super::*;

/// What the office asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    /// The person's CRN.
    pub crn: String,
    /// First local date, `YYYY-MM-DD`.
    pub from: String,
    /// Last local date, `YYYY-MM-DD`.
    pub to: String,
    /// Who is producing it (the office user).
    pub produced_by: String,
    /// Why (the proceedings).
    pub reason: String,
    /// For whom (the court, the defence solicitor, the office).
    pub recipient: String,
    /// Names of other people to redact wherever they appear.
    #[serde(default)]
    pub redact_names: Vec<String>,
    /// Withhold notes marked sensitive.
    #[serde(default)]
    pub withhold_sensitive_notes: bool,
    /// Only this appointment's events (a pack for one enforcement item).
    #[serde(default)]
    pub appointment_id: Option<String>,
}

/// A pack that was made.
#[derive(Debug, Clone)]
pub struct Made {
    /// The bundle.
    pub bundle: Bundle,
    /// The manifest (as signed inside the bundle).
    pub manifest: Manifest,
    /// The PDF.
    pub pdf: Vec<u8>,
}

/// Why a pack cannot be made (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// The request is invalid: the field and why.
    #[error("{0}: {1}")]
    Invalid(&'static str, &'static str),
    /// Nothing recorded about the person in the period.
    #[error("no events about this person in the period")]
    Empty,
    /// The pack could not be produced.
    #[error("{0}")]
    Failed(String),
}

fn text_field(v: &str, field: &'static str, max: usize) -> Result<String, PackError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(PackError::Invalid(field, "is required"));
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(PackError::Invalid(
            field,
            "too long or holds control characters",
        ));
    }
    Ok(t.to_owned())
}

/// The request, checked.
pub fn check(req: &PackRequest) -> Result<(RequestRecord, Rules), PackError> {
    let crn = normalise_crn(&req.crn);
    if crn.is_empty() || crn.len() > 16 || !crn.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(PackError::Invalid("crn", "must be a CRN"));
    }
    let date = |s: &str, f| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| PackError::Invalid(f, "must be YYYY-MM-DD"))
    };
    let (from, to) = (date(&req.from, "from")?, date(&req.to, "to")?);
    if to < from {
        return Err(PackError::Invalid("to", "must not be before from"));
    }
    if (to - from).num_days() > 3 * 366 {
        return Err(PackError::Invalid("to", "at most three years per pack"));
    }
    if req.redact_names.len() > 100 {
        return Err(PackError::Invalid("redact_names", "at most 100"));
    }
    let mut terms = Vec::new();
    for n in &req.redact_names {
        let n = text_field(n, "redact_names", 200)?;
        if n.chars().count() < 2 {
            return Err(PackError::Invalid(
                "redact_names",
                "each at least 2 characters",
            ));
        }
        terms.push(n);
    }
    let appointment_id = match &req.appointment_id {
        None => None,
        Some(a) => Some(
            fieldbook_core::ids::RecordId::parse(a)
                .map_err(|_| PackError::Invalid("appointment_id", "must be a record id"))?
                .to_string(),
        ),
    };
    Ok((
        RequestRecord {
            appointment_id,
            crn,
            from: from.to_string(),
            to: to.to_string(),
            produced_by: text_field(&req.produced_by, "produced_by", 200)?,
            reason: text_field(&req.reason, "reason", 1000)?,
            recipient: text_field(&req.recipient, "recipient", 200)?,
        },
        Rules {
            terms,
            withhold_sensitive_notes: req.withhold_sensitive_notes,
        },
    ))
}

fn local_date(b: &EventBody) -> NaiveDate {
    Stamp {
        utc_ms: b.recorded_at_ms,
        offset_min: b.utc_offset_min,
    }
    .local()
    .date()
}

fn random_hex(n: usize) -> Result<String, PackError> {
    let mut b = vec![0u8; n];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| PackError::Failed("the random source failed".into()))?;
    Ok(hex::encode(b))
}

/// Makes a pack from every chain link the office holds.
pub fn make(
    request: RequestRecord,
    rules: Rules,
    links: Vec<Link>,
    devices: Vec<super::store::DeviceTuple>,
    office: Option<super::office::OfficeRecords>,
    key: &OfficeKey,
    now_ms: i64,
) -> Result<Made, PackError> {
    let from = NaiveDate::parse_from_str(&request.from, "%Y-%m-%d")
        .map_err(|_| PackError::Invalid("from", "must be YYYY-MM-DD"))?;
    let to = NaiveDate::parse_from_str(&request.to, "%Y-%m-%d")
        .map_err(|_| PackError::Invalid("to", "must be YYYY-MM-DD"))?;
    // Parse every stored body once.
    let parsed: Vec<Option<EventBody>> = links
        .iter()
        .map(|l| {
            l.stored
                .as_ref()
                .and_then(|(_, b, _)| serde_json::from_str::<EventBody>(b).ok())
        })
        .collect();
    // The person's visits, so visit events without a CRN are theirs too.
    let mut visits: HashSet<String> = HashSet::new();
    let crn_of = |b: &EventBody| {
        Payload::parse(&b.kind, &b.payload)
            .ok()
            .map(|p| p.subject())
    };
    for b in parsed.iter().flatten() {
        if let Some(s) = crn_of(b) {
            if s.crn.as_deref().map(normalise_crn).as_deref() == Some(request.crn.as_str()) {
                if let Some(v) = s.visit_id {
                    visits.insert(v.to_string());
                }
            }
        }
    }
    let about = |b: &EventBody| -> bool {
        let Some(s) = crn_of(b) else { return false };
        let mine = s.crn.as_deref().map(normalise_crn).as_deref() == Some(request.crn.as_str())
            || s.visit_id.is_some_and(|v| visits.contains(&v.to_string()));
        let item = match &request.appointment_id {
            None => true,
            Some(a) => s.appointment_id.is_some_and(|id| id.to_string() == *a),
        };
        let d = local_date(b);
        mine && item && d >= from && d <= to
    };
    let mut by_device: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
    for (i, l) in links.iter().enumerate() {
        let inc = parsed[i].as_ref().is_some_and(&about);
        by_device
            .entry(l.device_id.clone())
            .or_default()
            .push((i, inc));
    }
    by_device.retain(|_, v| v.iter().any(|(_, inc)| *inc));
    if by_device.is_empty() {
        return Err(PackError::Empty);
    }
    let mut chains = Vec::new();
    let mut views = Vec::new();
    for (device_id, items) in &by_device {
        let mut entries = Vec::new();
        for &(i, inc) in items {
            let l = &links[i];
            let seq = u64::try_from(l.seq).unwrap_or(0);
            let entry = match (&l.stored, inc, &parsed[i]) {
                (Some((received_ms, body, signature)), true, Some(b)) => {
                    match redact::redact(body, &rules) {
                        None => {
                            views.push(EventView {
                                device_id: device_id.clone(),
                                body: b.clone(),
                                redacted: false,
                            });
                            Entry::Full {
                                seq,
                                event_id: l.event_id.clone(),
                                received_ms: *received_ms,
                                body: body.clone(),
                                signature: signature.clone(),
                            }
                        }
                        Some((redacted_body, redactions)) => {
                            let rb: EventBody =
                                serde_json::from_str(&redacted_body).map_err(|_| {
                                    PackError::Failed("a redacted event does not read back".into())
                                })?;
                            views.push(EventView {
                                device_id: device_id.clone(),
                                body: rb,
                                redacted: true,
                            });
                            Entry::Redacted {
                                seq,
                                event_id: l.event_id.clone(),
                                received_ms: *received_ms,
                                hash: l.hash.clone(),
                                signature: signature.clone(),
                                redacted_body,
                                redactions,
                            }
                        }
                    }
                }
                _ => Entry::Withheld {
                    seq,
                    event_id: l.event_id.clone(),
                    hash: l.hash.clone(),
                    prev_hash: parsed[i]
                        .as_ref()
                        .map(|b| b.prev_hash.clone())
                        .unwrap_or_default(),
                },
            };
            entries.push(entry);
        }
        chains.push(Chain {
            device_id: device_id.clone(),
            entries,
        });
    }
    let records: Vec<DeviceRecord> = devices
        .into_iter()
        .filter(|d| by_device.contains_key(&d.0))
        .map(|d| DeviceRecord {
            device_id: d.0,
            officer_id: d.1,
            public_key: d.2,
            enrolled_ms: d.3,
            revoked_ms: d.4,
            shredded_ms: d.5,
        })
        .collect();
    let in_pack: HashSet<String> = views.iter().map(|v| v.body.id.clone()).collect();
    let office = office.map(|o| o.for_pack(&in_pack, &rules.terms));
    let stated = statements::all(&views, office.as_ref());
    let pack_id = random_hex(16)?;
    let day = chrono::DateTime::from_timestamp_millis(now_ms)
        .map(|t| t.format("%Y%m%d").to_string())
        .unwrap_or_default();
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        reference: format!("FB-EP-{day}-{}", pack_id[..8].to_uppercase()),
        pack_id,
        created_ms: now_ms,
        office_key: key.public_hex(),
        request,
        rules: rules.describe(),
        devices: records
            .iter()
            .map(|d| ManifestDevice {
                device_id: d.device_id.clone(),
                public_key: d.public_key.clone(),
                record_sha256: d.digest(),
            })
            .collect(),
        chains: chains
            .iter()
            .map(|c| ManifestChain {
                device_id: c.device_id.clone(),
                entries: c
                    .entries
                    .iter()
                    .map(|e| ManifestEntry {
                        seq: e.seq(),
                        event_id: e.event_id().to_owned(),
                        form: e.form().into(),
                        sha256: e.digest(),
                        redactions: match e {
                            Entry::Redacted { redactions, .. } => redactions.clone(),
                            _ => Vec::new(),
                        },
                    })
                    .collect(),
            })
            .collect(),
        statements_sha256: statements::digest(&stated),
        statements: stated.len(),
        pdf_sha256: String::new(),
        office_records_sha256: office.as_ref().map(super::office::OfficeRecords::digest),
    };
    let pdf = super::pdf::render(&manifest, &stated).map_err(PackError::Failed)?;
    manifest.pdf_sha256 = sha256_hex(&pdf);
    let text = serde_json::to_string(&manifest)
        .map_err(|_| PackError::Failed("the manifest cannot be encoded".into()))?;
    let bundle = Bundle {
        format: BUNDLE_FORMAT.into(),
        manifest_signature: key.sign_hex(text.as_bytes()),
        manifest: text,
        devices: records,
        chains,
        office_records: office,
    };
    Ok(Made {
        bundle,
        manifest,
        pdf,
    })
}
