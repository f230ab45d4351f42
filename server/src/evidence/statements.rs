//! The one function that turns a pack's events into the statements the PDF
//! shows. The producer and the verifier both call it, so the verifier can
//! recompute every statement from the bundle and compare.

use fieldbook_core::events::{EventBody, Payload};
use fieldbook_core::vocab::Stamp;
use serde::Serialize;

/// An event as the statements read it (from a full or a redacted body).
#[derive(Debug, Clone)]
pub struct EventView {
    /// The device's id at the office.
    pub device_id: String,
    /// The body (redacted values replaced).
    pub body: EventBody,
    /// Whether values were redacted.
    pub redacted: bool,
}

/// One statement of what was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// `S-001`, in order.
    pub reference: String,
    /// The event it states.
    pub event_id: String,
    /// The device.
    pub device_id: String,
    /// Its sequence number on the device.
    pub seq: u64,
    /// A heading line.
    pub heading: String,
    /// The lines below it.
    pub lines: Vec<String>,
}

fn hm(s: &Stamp) -> String {
    s.local().format("%H:%M").to_string()
}

fn when(ms: i64, offset_min: i32) -> String {
    let s = Stamp {
        utc_ms: ms,
        offset_min,
    };
    let sign = if offset_min < 0 { '-' } else { '+' };
    format!(
        "{} (UTC{sign}{:02}:{:02})",
        s.local().format("%Y-%m-%d %H:%M:%S"),
        offset_min.abs() / 60,
        offset_min.abs() % 60
    )
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not recorded",
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn debug_words<T: std::fmt::Debug>(v: &T) -> String {
    let raw = format!("{v:?}");
    let mut out = String::new();
    for (i, c) in raw.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The statements for `events` (any order): sorted by device time, then
/// device and sequence; one statement per event; a correction names the
/// statement it corrects and its reason.
pub fn statements(events: &[EventView]) -> Vec<Statement> {
    let mut sorted: Vec<&EventView> = events.iter().collect();
    sorted.sort_by(|a, b| {
        (a.body.recorded_at_ms, &a.device_id, a.body.seq).cmp(&(
            b.body.recorded_at_ms,
            &b.device_id,
            b.body.seq,
        ))
    });
    let mut refs: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::with_capacity(sorted.len());
    for (i, e) in sorted.into_iter().enumerate() {
        let reference = format!("S-{:03}", i + 1);
        refs.insert(e.body.id.clone(), reference.clone());
        let b = &e.body;
        let mut lines = vec![format!(
            "Recorded by officer {} on device {} (event {} no. {}) at {}",
            b.officer,
            short(&e.device_id),
            short(&b.id),
            b.seq,
            when(b.recorded_at_ms, b.utc_offset_min)
        )];
        if let Some(old) = &b.supersedes {
            let target = refs
                .get(old)
                .cloned()
                .unwrap_or_else(|| format!("event {}", short(old)));
            lines.push(format!(
                "Corrects {target}. Reason given: {}",
                b.reason.as_deref().unwrap_or("")
            ));
        }
        let heading = match Payload::parse(&b.kind, &b.payload) {
            Ok(Payload::Outcome(o)) => {
                let times = match (&o.arrival, &o.departure) {
                    (Some(a), Some(d)) => format!("arrived {}, left {}", hm(a), hm(d)),
                    (Some(a), None) => format!("arrived {}", hm(a)),
                    _ => "no times recorded".into(),
                };
                lines.push(format!(
                    "{times}; penalty {} min; credited {} min",
                    o.penalty_minutes, o.minutes_credited
                ));
                lines.push(format!(
                    "Work quality: {}; behaviour: {}; hi-vis worn: {}; worked intensively: {}",
                    debug_words(&o.work_quality),
                    debug_words(&o.behaviour),
                    yes_no(o.compliance.hi_vis_worn),
                    yes_no(o.compliance.worked_intensively)
                ));
                if let Some(r) = &o.compliance.left_early_reason {
                    lines.push(format!("Left early because: {r}"));
                }
                if let Some(r) = &o.compliance.unable_to_work_reason {
                    lines.push(format!("Could not work because: {r}"));
                }
                if !o.notes.is_empty() {
                    lines.push(format!("Notes: {}", o.notes));
                }
                if let Some(step) = &o.enforcement_step {
                    lines.push(format!(
                        "Enforcement flagged by the device: {} (the office decides)",
                        debug_words(step)
                    ));
                }
                if o.raise_alert {
                    lines.push("Sent to the alert diary".into());
                }
                lines.push(format!("Rules: {}", o.policy_version));
                let what = if b.supersedes.is_some() {
                    "Correction"
                } else {
                    "Outcome"
                };
                format!(
                    "{what}: appointment on {}, CRN {}, code {}",
                    o.session_date, o.crn, o.code
                )
            }
            Ok(Payload::Arrived(a)) => {
                lines.push(format!(
                    "Arrived {}; identity checked: {}; hi-vis issued: {}; worn: {}",
                    hm(&a.arrival),
                    yes_no(Some(a.identity_checked)),
                    yes_no(Some(a.hi_vis_issued)),
                    yes_no(Some(a.hi_vis_worn))
                ));
                format!("Arrival: CRN {}", a.crn)
            }
            Ok(Payload::UnallocatedArrival(a)) => {
                lines.push(format!("Arrived {} without an allocation", hm(&a.arrival)));
                format!("Unallocated arrival: CRN {}", a.crn)
            }
            Ok(Payload::WarningGiven(w)) => {
                lines.push(format!("Warning given on site on {}", w.date));
                format!("Warning given: CRN {}", w.crn)
            }
            Ok(Payload::VisitRecorded(v)) => {
                lines.push(format!(
                    "Visit {} at {}; started {}{}",
                    if v.arranged {
                        "arranged"
                    } else {
                        "unannounced"
                    },
                    v.address,
                    hm(&v.start),
                    v.end
                        .as_ref()
                        .map(|e| format!(", ended {}", hm(e)))
                        .unwrap_or_default()
                ));
                lines.push(format!(
                    "Outcome: {}",
                    v.form.outcome.as_deref().unwrap_or("none (no answer)")
                ));
                for p in &v.form.people_present {
                    lines.push(format!("Also present: {} ({})", p.name, p.relationship));
                }
                if !v.form.notes.is_empty() {
                    lines.push(format!("Notes: {}", v.form.notes));
                }
                format!("Home visit record: CRN {}", v.crn)
            }
            Ok(Payload::VisitStarted(v)) => {
                lines.push(format!("Visit to {} for {}", v.address, v.purpose));
                format!("Home visit started: CRN {}", v.crn)
            }
            _ => format!("Event {}", b.kind),
        };
        if e.redacted {
            lines.push(
                "Some values are redacted under the disclosure rules (see the manifest)".into(),
            );
        }
        out.push(Statement {
            reference,
            event_id: b.id.clone(),
            device_id: e.device_id.clone(),
            seq: b.seq,
            heading,
            lines,
        });
    }
    out
}

/// Every statement of a pack: the events' ([`statements`]), then the
/// office records' ([`super::office::statements`]).
pub fn all(events: &[EventView], office: Option<&super::office::OfficeRecords>) -> Vec<Statement> {
    let mut out = statements(events);
    if let Some(records) = office {
        let more = super::office::statements(records, events, &out);
        out.extend(more);
    }
    out
}

/// SHA-256 of the statements' JSON (the manifest records it).
pub fn digest(statements: &[Statement]) -> String {
    super::sha256_hex(&serde_json::to_vec(statements).unwrap_or_default())
}
