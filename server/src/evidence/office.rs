//! What the office itself holds about the person, for the pack: the order
//! and requirement (hours required, adjustments, credited, outstanding,
//! warnings given with their dates) and the office's enforcement decisions
//! (recorded in the console, `console_decisions`). Devices did not sign
//! these, so the bundle carries them as office records, bound by a digest
//! in the manifest the office signs; the statements about them are made by
//! one function here from the records and the pack's events, so the
//! verifier recomputes them too.

use std::collections::{BTreeMap, HashMap, HashSet};

use fieldbook_core::events::Payload;
use serde::{Deserialize, Serialize};

use super::statements::{EventView, Statement};
use crate::db::{Db, DbError};

/// The office's records in a pack. Unknown fields are refused: the
/// digest is over the records as read, so a renamed key must not read as
/// an absent value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeRecords {
    /// Each unpaid work requirement of the person.
    pub requirements: Vec<OrderRecord>,
    /// The office's enforcement decisions on the pack's outcomes.
    pub decisions: Vec<DecisionRecord>,
}

/// One requirement as the office holds it when the pack is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    /// Fieldbook's requirement id.
    pub requirement_id: String,
    /// The order (nDelius event) it belongs to, if given.
    pub order_ref: Option<String>,
    /// Order start, `YYYY-MM-DD`.
    pub order_start: String,
    /// The order's expected end, `YYYY-MM-DD`.
    pub order_end: String,
    /// Hours ordered.
    pub hours_required: u32,
    /// Adjustments: (+ or −, minutes, reason).
    pub adjustments: Vec<(String, i64, String)>,
    /// Minutes the office credited outside Fieldbook's devices.
    pub credited_office_minutes: i64,
    /// Minutes credited by the current outcomes of every appointment the
    /// office holds for it (not only those in the pack's dates).
    pub credited_devices_minutes: i64,
    /// Dates of the warnings the office gave on the order.
    pub warnings: Vec<String>,
}

/// One enforcement decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// The outcome event decided on.
    pub event_id: String,
    /// The decision, as worded in the console.
    pub decision: String,
    /// The date it names (the warning's date), if any.
    pub decision_date: Option<String>,
    /// The office's note (redacted by the pack's rules).
    pub note: String,
    /// Who decided (the console account's name).
    pub decided_by: String,
    /// When it was recorded, ms.
    pub at_ms: i64,
}

impl OrderRecord {
    fn adjustment_minutes(&self) -> i64 {
        self.adjustments
            .iter()
            .map(|(d, m, _)| if d == "+" { *m } else { -*m })
            .sum()
    }

    /// Required + adjustments − credited (office and devices), never below 0.
    pub fn outstanding_minutes(&self) -> i64 {
        (i64::from(self.hours_required) * 60)
            .saturating_add(self.adjustment_minutes())
            .saturating_sub(self.credited_office_minutes)
            .saturating_sub(self.credited_devices_minutes)
            .max(0)
    }
}

fn hours(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.abs();
    format!("{sign}{} h {:02} min", m / 60, m % 60)
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The statements about the office's records (`O-001`, …), after the
/// device statements `device` (whose references they name).
pub fn statements(
    records: &OfficeRecords,
    events: &[EventView],
    device: &[Statement],
) -> Vec<Statement> {
    let refs: HashMap<&str, &str> = device
        .iter()
        .map(|s| (s.event_id.as_str(), s.reference.as_str()))
        .collect();
    // The pack's current outcomes: those no event in the pack corrects.
    let superseded: HashSet<&str> = events
        .iter()
        .filter_map(|e| e.body.supersedes.as_deref())
        .collect();
    let mut in_pack: BTreeMap<String, i64> = BTreeMap::new();
    for e in events {
        if superseded.contains(e.body.id.as_str()) {
            continue;
        }
        if let Ok(Payload::Outcome(o)) = Payload::parse(&e.body.kind, &e.body.payload) {
            if let Some(r) = o.requirement_id {
                *in_pack.entry(r.to_string()).or_default() += o.minutes_credited;
            }
        }
    }
    let mut out = Vec::new();
    let mut next = |heading: String, lines: Vec<String>| {
        out.push(Statement {
            reference: format!("O-{:03}", out.len() + 1),
            event_id: String::new(),
            device_id: String::new(),
            seq: 0,
            heading,
            lines,
        });
    };
    for r in &records.requirements {
        let mut lines = vec![format!(
            "Order {} to {} (expected end){}",
            r.order_start,
            r.order_end,
            r.order_ref
                .as_deref()
                .map(|o| format!(", order {o}"))
                .unwrap_or_default()
        )];
        lines.push(format!(
            "Required: {}; adjustments: {}",
            hours(i64::from(r.hours_required) * 60),
            hours(r.adjustment_minutes())
        ));
        for (d, m, why) in &r.adjustments {
            lines.push(format!("Adjustment {d}{}: {why}", hours(*m)));
        }
        lines.push(format!(
            "Credited by the office: {}; credited on site (devices, all dates): {}; of which in this pack: {}",
            hours(r.credited_office_minutes),
            hours(r.credited_devices_minutes),
            hours(in_pack.get(&r.requirement_id).copied().unwrap_or(0))
        ));
        lines.push(format!("Outstanding: {}", hours(r.outstanding_minutes())));
        lines.push(if r.warnings.is_empty() {
            "Warnings given by the office: none".into()
        } else {
            format!("Warnings given by the office: {}", r.warnings.join(", "))
        });
        next("Order and requirement (office record)".into(), lines);
    }
    for d in &records.decisions {
        let on = refs
            .get(d.event_id.as_str())
            .map(|r| format!("statement {r}"))
            .unwrap_or_else(|| format!("event {}", d.event_id.get(..8).unwrap_or("")));
        let mut lines = vec![format!(
            "On the outcome in {on}; decided by {} at {}",
            d.decided_by,
            utc(d.at_ms)
        )];
        if !d.note.is_empty() {
            lines.push(format!("Note: {}", d.note));
        }
        next(
            format!(
                "Enforcement decision (office record): {}{}",
                d.decision,
                d.decision_date
                    .as_deref()
                    .map(|x| format!(" on {x}"))
                    .unwrap_or_default()
            ),
            lines,
        );
    }
    out
}

/// The decisions' wording in the console.
fn decision_label(code: &str) -> String {
    crate::console::pages::DECISIONS
        .iter()
        .find(|(k, _)| *k == code)
        .map_or_else(|| code.replace('_', " "), |(_, l)| (*l).to_owned())
}

/// Reads the office's records about `crn` (normalised): its requirements
/// with the ledger the console shows, and every decision on its outcomes
/// ([`OfficeRecords::for_pack`] keeps those on the pack's events).
pub async fn load(db: &Db, crn: &str) -> Result<OfficeRecords, DbError> {
    use fieldbook_core::unpaid_work::model::{AdjustmentDirection, Requirement};
    use fieldbook_core::vocab::normalise_crn;
    let mut requirements = Vec::new();
    let current =
        crate::console::data::current(db, crate::payload::kinds::OUTCOME_RECORDED).await?;
    for item in crate::console::data::items(db, "upw_requirement").await? {
        let Ok(r) = serde_json::from_value::<Requirement>(item.data.clone()) else {
            continue;
        };
        if normalise_crn(&r.crn) != crn {
            continue;
        }
        let devices: i64 = current
            .iter()
            .map(|e| crate::payload::outcome_of(&e.payload))
            .filter(|f| f.requirement_id.as_deref() == Some(item.id.as_str()))
            .map(|f| f.minutes_credited)
            .sum();
        requirements.push(OrderRecord {
            requirement_id: item.id.clone(),
            order_ref: r.order_ref.clone(),
            order_start: r.order_start.to_string(),
            order_end: r.order_end.to_string(),
            hours_required: r.hours_required,
            adjustments: r
                .adjustments
                .iter()
                .map(|a| {
                    let sign = if a.direction == AdjustmentDirection::Positive {
                        "+"
                    } else {
                        "-"
                    };
                    (
                        sign.to_owned(),
                        a.minutes,
                        format!("{} on {}", a.reason_code, a.date),
                    )
                })
                .collect(),
            credited_office_minutes: r
                .minutes_credited_office
                .saturating_add(r.ete_minutes_credited_office),
            credited_devices_minutes: devices,
            warnings: r.warnings.iter().map(ToString::to_string).collect(),
        });
    }
    let names: HashMap<String, String> = crate::console::accounts::list(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    let rows = crate::console::sql::query(
        db,
        "SELECT event_id, decision, decision_date, note, account_id, at_ms, crn FROM console_decisions
         ORDER BY at_ms, event_id",
        vec![],
    )
    .await?;
    let decisions = rows
        .iter()
        .filter(|r| normalise_crn(&r.text(6)) == crn)
        .map(|r| DecisionRecord {
            event_id: r.text(0),
            decision: decision_label(&r.text(1)),
            decision_date: r.opt_text(2),
            note: r.text(3),
            decided_by: names.get(&r.text(4)).cloned().unwrap_or_else(|| r.text(4)),
            at_ms: r.int(5),
        })
        .collect();
    Ok(OfficeRecords {
        requirements,
        decisions,
    })
}

impl OfficeRecords {
    /// The records as a pack discloses them: only the decisions on events
    /// in the pack (`events`), their notes redacted by the pack's name
    /// rule (`terms`).
    pub fn for_pack(mut self, events: &HashSet<String>, terms: &[String]) -> Self {
        self.decisions.retain(|d| events.contains(&d.event_id));
        for d in &mut self.decisions {
            if let Some(r) = super::redact::replace_terms(&d.note, terms) {
                d.note = r;
            }
        }
        self
    }

    /// SHA-256 of the records' JSON (the manifest holds it).
    pub fn digest(&self) -> String {
        super::sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}
