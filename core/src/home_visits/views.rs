//! View models for the officer's screens: today's visits, the active
//! visit, and the person's visit history. Views that show personal data
//! record a consultation in the access log.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::model::{
    Address, Case, FollowUp, RecordStatus, ScheduledVisit, StaffRisk, Visit, VisitForm,
};
use super::policy::{check_form, visit_outcome, VisitOutcomeKind};
use super::safety::SafetyStatus;
use super::{now_of, HomeVisits, SafetyView};
use crate::error::Result;
use crate::forms::FieldError;
use crate::ids::RecordId;
use crate::store::Records;
use crate::vocab::now_stamp;
use crate::vocab::{RiskLevel, Stamp};

/// One line of today's visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDue {
    /// The case.
    pub case_id: RecordId,
    /// Name or CRN.
    pub label: String,
    /// CRN.
    pub crn: String,
    /// The scheduled visit today, if any.
    pub scheduled_visit_id: Option<RecordId>,
    /// Its purpose.
    pub purpose: Option<String>,
    /// The address to visit, with access notes.
    pub address: Address,
    /// Risk level.
    pub risk_level: RiskLevel,
    /// Risks to staff.
    pub staff_risks: Vec<StaffRisk>,
    /// When a visit is due under the policy.
    pub due: NaiveDate,
    /// Days past due (0 when due today or later).
    pub overdue_days: i64,
    /// Days since the last home visit (`None`: never visited).
    pub days_since_last_visit: Option<i64>,
}

/// Where an unfinished draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum DraftExpiry {
    /// Not a draft.
    NotDraft,
    /// Fine until `expires_ms`.
    Fresh { expires_ms: i64 },
    /// Expires soon: warn the officer.
    ExpiresSoon { expires_ms: i64 },
    /// Expired: will be (or was) erased.
    Expired,
}

/// A safety action the active-visit screen offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyAction {
    /// Extend the expected finish.
    Extend,
    /// Check in safe.
    CheckIn,
    /// Raise an alert.
    RaiseAlert,
    /// Raise a silent alert.
    RaiseSilentAlert,
    /// End the visit.
    End,
}

/// The active-visit screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveVisitView {
    /// The visit.
    pub visit_id: RecordId,
    /// Name or CRN.
    pub label: String,
    /// Address and access notes.
    pub address: Address,
    /// Risks to staff.
    pub staff_risks: Vec<StaffRisk>,
    /// The timer.
    pub safety: SafetyView,
    /// Safety actions available.
    pub actions: Vec<SafetyAction>,
    /// Record status.
    pub status: RecordStatus,
    /// The draft form.
    pub form: VisitForm,
    /// What finalising would complain about now.
    pub validation: Vec<FieldError>,
    /// Draft expiry.
    pub draft_expiry: DraftExpiry,
    /// Outcome codes offered (code, description).
    pub outcomes: Vec<(String, String)>,
}

/// One visit in a person's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitLine {
    /// The visit.
    pub visit_id: RecordId,
    /// When it started.
    pub start: Stamp,
    /// Planned or not.
    pub planned: bool,
    /// Outcome code (current version).
    pub outcome: Option<String>,
    /// Record status.
    pub status: RecordStatus,
    /// How many amendments.
    pub amendments: usize,
}

/// The person screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonVisits {
    /// Name or CRN.
    pub label: String,
    /// CRN.
    pub crn: String,
    /// Visits, newest first.
    pub history: Vec<VisitLine>,
    /// Follow-ups not yet done, soonest first: (visit, index, follow-up).
    pub open_follow_ups: Vec<(RecordId, usize, FollowUp)>,
    /// Next visit due.
    pub next_due: NaiveDate,
    /// Whether it is overdue by policy.
    pub overdue_by_policy: bool,
}

fn visits_of(records: &Records<'_>, case_id: &RecordId) -> Result<Vec<(RecordId, Visit)>> {
    Ok(records
        .find::<Visit>("case", case_id.as_str())?
        .into_iter()
        .map(|s| (s.id, s.value))
        .collect())
}

/// The date of the last visit at which the person was seen.
fn last_seen(visits: &[(RecordId, Visit)]) -> Option<NaiveDate> {
    visits
        .iter()
        .filter(|(_, v)| {
            v.current()
                .and_then(|c| c.form.outcome.as_deref())
                .and_then(visit_outcome)
                .is_some_and(|o| o.kind == VisitOutcomeKind::Seen)
        })
        .map(|(_, v)| v.start.local().date())
        .max()
}

impl HomeVisits {
    /// Today's visits: scheduled today or due by policy, overdue first
    /// (records a consultation).
    pub fn today(&self) -> Result<Vec<VisitDue>> {
        self.store.write(|w| {
            let today = now_stamp(w.clock()).local().date();
            let records = w.records();
            let scheduled: Vec<(RecordId, ScheduledVisit)> = records
                .find::<ScheduledVisit>("date", &today.to_string())?
                .into_iter()
                .map(|s| (s.id, s.value))
                .collect();
            let mut out = Vec::new();
            for case in records.find::<Case>("all", "all")? {
                let visits = visits_of(&records, &case.id)?;
                let seen = last_seen(&visits);
                let due = self.policy.next_due(&case.value, seen, today);
                let last = seen.max(case.value.last_visit);
                let todays = scheduled.iter().find(|(_, s)| s.case_id == case.id);
                let visited_today = visits.iter().any(|(_, v)| v.start.local().date() == today);
                if (todays.is_none() && due > today) || visited_today {
                    continue;
                }
                let address = todays
                    .and_then(|(_, s)| case.value.addresses.iter().find(|a| a.id == s.address_id))
                    .or_else(|| case.value.addresses.iter().find(|a| a.main))
                    .or(case.value.addresses.first())
                    .cloned()
                    .ok_or_else(|| crate::Error::Corrupt("case without address".into()))?;
                out.push(VisitDue {
                    case_id: case.id.clone(),
                    label: case.value.display_name(),
                    crn: case.value.crn.clone(),
                    scheduled_visit_id: todays.map(|(id, _)| id.clone()),
                    purpose: todays.map(|(_, s)| s.purpose.clone()),
                    address,
                    risk_level: case.value.risk_level,
                    staff_risks: case.value.staff_risks.clone(),
                    due,
                    overdue_days: (today - due).num_days().max(0),
                    days_since_last_visit: last.map(|d| (today - d).num_days()),
                });
            }
            out.sort_by(|a, b| {
                b.overdue_days
                    .cmp(&a.overdue_days)
                    .then(b.risk_level.cmp(&a.risk_level))
                    .then(a.label.cmp(&b.label))
            });
            w.record_consultation("hv_today".into(), "today's visits")?;
            Ok(out)
        })
    }

    /// The active-visit screen (records a consultation).
    pub fn active_visit(&self, visit_id: &RecordId) -> Result<ActiveVisitView> {
        let now = now_of(&self.store);
        self.store.write(|w| {
            let records = w.records();
            let visit = records.require::<Visit>(visit_id)?.value;
            let case = records.require::<Case>(&visit.case_id)?.value;
            let mut safety = visit.safety.clone();
            // A view does not record transitions (tick does); it shows them.
            safety.evaluate(&self.policy.safety, now);
            let actions = match safety.status {
                SafetyStatus::Ended => vec![],
                _ => vec![
                    SafetyAction::Extend,
                    SafetyAction::CheckIn,
                    SafetyAction::RaiseAlert,
                    SafetyAction::RaiseSilentAlert,
                    SafetyAction::End,
                ],
            };
            let expires = visit.draft_saved_ms + self.policy.draft_expiry_hours * 3_600_000;
            let warn_from = expires - self.policy.draft_warning_hours * 3_600_000;
            let draft_expiry = match visit.status {
                RecordStatus::Draft if now.wall_ms >= expires => DraftExpiry::Expired,
                RecordStatus::Draft if now.wall_ms >= warn_from => DraftExpiry::ExpiresSoon {
                    expires_ms: expires,
                },
                RecordStatus::Draft => DraftExpiry::Fresh {
                    expires_ms: expires,
                },
                RecordStatus::DraftExpired => DraftExpiry::Expired,
                RecordStatus::Final => DraftExpiry::NotDraft,
            };
            let form = match (visit.status, visit.current()) {
                (RecordStatus::Final, Some(c)) => c.form.clone(),
                _ => visit.draft.clone(),
            };
            let previous_sensitive = visit.current().is_some_and(|c| c.form.sensitive);
            let view = ActiveVisitView {
                visit_id: visit_id.clone(),
                label: case.display_name(),
                address: visit.address.clone(),
                staff_risks: case.staff_risks.clone(),
                safety: self.safety_view(visit_id, &safety, &visit.office_acks, now),
                actions,
                status: visit.status,
                validation: check_form(
                    &self.policy,
                    &form,
                    super::policy::FormContext {
                        arranged: visit.arranged,
                        previous_sensitive,
                    },
                ),
                form,
                draft_expiry,
                outcomes: super::policy::VISIT_OUTCOMES
                    .iter()
                    .map(|o| (o.code.to_owned(), o.description.to_owned()))
                    .collect(),
            };
            w.record_consultation(format!("hv_visit/{visit_id}"), "active visit")?;
            Ok(view)
        })
    }

    /// The person screen (records a consultation).
    pub fn person(&self, case_id: &RecordId) -> Result<PersonVisits> {
        self.store.write(|w| {
            let today = now_stamp(w.clock()).local().date();
            let records = w.records();
            let case = records
                .get::<Case>(case_id)?
                .ok_or_else(|| crate::Error::invalid("case_id", "unknown person"))?
                .value;
            let visits = visits_of(&records, case_id)?;
            let next_due = self.policy.next_due(&case, last_seen(&visits), today);
            let mut history: Vec<VisitLine> = visits
                .iter()
                .map(|(id, v)| VisitLine {
                    visit_id: id.clone(),
                    start: v.start,
                    planned: v.planned,
                    outcome: v.current().and_then(|c| c.form.outcome.clone()),
                    status: v.status,
                    amendments: v.finals.len().saturating_sub(1),
                })
                .collect();
            history.sort_by_key(|l| std::cmp::Reverse(l.start.utc_ms));
            let mut open_follow_ups = Vec::new();
            for (id, v) in &visits {
                if let Some(c) = v.current() {
                    for (i, f) in c.form.follow_ups.iter().enumerate() {
                        if !f.done {
                            open_follow_ups.push((id.clone(), i, f.clone()));
                        }
                    }
                }
            }
            open_follow_ups.sort_by_key(|(_, _, f)| f.due);
            let view = PersonVisits {
                label: case.display_name(),
                crn: case.crn.clone(),
                history,
                open_follow_ups,
                next_due,
                overdue_by_policy: next_due < today,
            };
            w.record_consultation(format!("hv_case/{case_id}"), "visit history")?;
            Ok(view)
        })
    }
}
