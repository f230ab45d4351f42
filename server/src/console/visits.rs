//! Home visits and their follow-ups as the office reads them: each visit
//! a device recorded (arranged or unannounced, who was seen, the outcome,
//! follow-ups with their due dates, done or overdue) and each case's next
//! visit due by the core's visit policy. The pages are team-scoped by
//! case audience, by menu and by link, and every read is audited.

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use fieldbook_core::events::Payload;
use fieldbook_core::home_visits::policy::{visit_outcome, VisitOutcomeKind, VisitPolicy};
use serde_json::{json, Value};

use super::accounts::Role;
use super::audit::{self, Action};
use super::data::{self, Ev};
use super::{Failure, Viewer};
use crate::api::AppState;
use crate::payload::{kinds, typed};

/// Who reads visits.
pub const READERS: &[Role] = &[
    Role::Administrator,
    Role::UnpaidWorkManager,
    Role::OffenderManager,
];

/// A follow-up as the office sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FollowUpRow {
    /// What.
    pub action: String,
    /// By when.
    pub due: NaiveDate,
    /// Done (on the form, or marked done on the device since).
    pub done: bool,
    /// Not done and past its due date.
    pub overdue: bool,
}

/// One recorded visit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VisitRow {
    /// The visit.
    pub visit_id: String,
    /// Its case.
    pub case_id: String,
    /// When it started (device time, ms).
    pub at_ms: i64,
    /// Its local date.
    pub date: Option<NaiveDate>,
    /// Arranged with the person, or unannounced.
    pub arranged: bool,
    /// Outcome code.
    pub outcome: String,
    /// Its meaning.
    pub outcome_label: String,
    /// Whether the person on probation was seen.
    pub seen: bool,
    /// Others present (name and relationship).
    pub others: Vec<String>,
    /// Follow-ups.
    pub follow_ups: Vec<FollowUpRow>,
    /// Officer who recorded it.
    pub by: String,
    /// Device.
    pub device: String,
}

/// Whether an outcome code means the person was seen.
pub fn seen(code: &str) -> bool {
    visit_outcome(code).is_some_and(|o| o.kind == VisitOutcomeKind::Seen)
}

/// Reads a recorded visit; `done` holds the (visit, follow-up index)
/// pairs marked done since.
pub fn visit_row(ev: &Ev, done: &HashSet<(String, usize)>, today: NaiveDate) -> Option<VisitRow> {
    let Some(Payload::VisitRecorded(v)) = typed(kinds::VISIT_RECORDED, &ev.payload) else {
        return None;
    };
    let visit_id = v.visit_id.to_string();
    let outcome = v.form.outcome.clone().unwrap_or_default();
    let follow_ups = v
        .form
        .follow_ups
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let done = f.done || done.contains(&(visit_id.clone(), i));
            FollowUpRow {
                action: f.action.clone(),
                due: f.due,
                done,
                overdue: !done && f.due < today,
            }
        })
        .collect();
    Some(VisitRow {
        case_id: v.case_id.to_string(),
        at_ms: v.start.utc_ms,
        date: Some(v.start.local().date()),
        arranged: v.arranged,
        outcome_label: visit_outcome(&outcome)
            .map(|o| o.description.to_owned())
            .unwrap_or_default(),
        seen: seen(&outcome),
        outcome,
        others: v
            .form
            .people_present
            .iter()
            .map(|p| {
                if p.relationship.trim().is_empty() {
                    p.name.clone()
                } else {
                    format!("{} ({})", p.name, p.relationship)
                }
            })
            .collect(),
        follow_ups,
        by: ev.officer_id.clone(),
        device: ev.device_id.clone(),
        visit_id,
    })
}

/// The latest day the person was seen.
pub fn last_seen(rows: &[VisitRow]) -> Option<NaiveDate> {
    rows.iter().filter(|r| r.seen).filter_map(|r| r.date).max()
}

/// When the case's next visit is due (the core's policy), if its
/// reference data reads as a case.
pub fn next_due(case: &Value, rows: &[VisitRow], today: NaiveDate) -> Option<NaiveDate> {
    let case: fieldbook_core::home_visits::model::Case =
        serde_json::from_value(case.clone()).ok()?;
    Some(VisitPolicy::default().next_due(&case, last_seen(rows), today))
}

/// Every recorded visit (the office's current version of each), with the
/// follow-ups marked done since, by case.
pub async fn by_case(
    db: &crate::db::Db,
    today: NaiveDate,
) -> Result<BTreeMap<String, Vec<VisitRow>>, Failure> {
    let done: HashSet<(String, usize)> =
        data::of_kind(db, fieldbook_core::events::kinds::VISIT_FOLLOW_UP_DONE)
            .await?
            .iter()
            .filter_map(|e| {
                match typed(
                    fieldbook_core::events::kinds::VISIT_FOLLOW_UP_DONE,
                    &e.payload,
                ) {
                    Some(Payload::FollowUpDone(f)) => Some((f.visit_id.to_string(), f.index)),
                    _ => None,
                }
            })
            .collect();
    let mut out: BTreeMap<String, Vec<VisitRow>> = BTreeMap::new();
    for e in data::current(db, kinds::VISIT_RECORDED).await? {
        if let Some(r) = visit_row(&e, &done, today) {
            out.entry(r.case_id.clone()).or_default().push(r);
        }
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|r| std::cmp::Reverse(r.at_ms));
    }
    Ok(out)
}

fn case_json(c: &data::Item, rows: &[VisitRow], today: NaiveDate) -> Value {
    let overdue = rows
        .iter()
        .flat_map(|r| &r.follow_ups)
        .filter(|f| f.overdue)
        .count();
    let open = rows
        .iter()
        .flat_map(|r| &r.follow_ups)
        .filter(|f| !f.done)
        .count();
    let due = next_due(&c.data, rows, today);
    json!({
        "id": c.id, "crn": c.s("crn"), "name": c.s("name"), "visits": rows,
        "last": rows.first().map(|r| r.at_ms), "overdue": overdue, "open": open,
        "next_due": due.map(|d| d.to_string()), "visit_overdue": due.is_some_and(|d| d < today),
    })
}

/// Filter for the list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    show: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

/// Cases in the viewer's teams with their visits; `?show=overdue` keeps
/// those with an overdue follow-up.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<axum::response::Response, Failure> {
    viewer.require(READERS)?;
    let db = &state.db;
    let today = chrono::Local::now().date_naive();
    let overdue_only = q.show.as_deref() == Some("overdue");
    let mut visits = by_case(db, today).await?;
    let mut cases: Vec<Value> = data::visible_items(db, "hv_case", &viewer.account)
        .await?
        .into_values()
        .map(|c| {
            let rows = visits.remove(&c.id).unwrap_or_default();
            case_json(&c, &rows, today)
        })
        .filter(|c| !overdue_only || c["overdue"].as_u64().unwrap_or(0) > 0)
        .collect();
    cases.sort_by(|a, b| {
        (a["next_due"].as_str(), a["crn"].as_str())
            .cmp(&(b["next_due"].as_str(), b["crn"].as_str()))
    });
    let base = if overdue_only {
        "/console/visits?show=overdue&page="
    } else {
        "/console/visits?page="
    };
    let (shown, pager) = super::pages::paged(cases, q.page, base);
    let subjects: Vec<String> = shown
        .iter()
        .filter_map(|c| c["crn"].as_str().map(str::to_owned))
        .collect();
    audit::record(
        db,
        &viewer.account.actor(),
        Action::Consultation,
        "visits and follow-ups",
        &subjects.join(","),
        if overdue_only {
            "overdue follow-ups"
        } else {
            "all"
        },
    )
    .await?;
    state.console.views.page(
        "visits.html",
        &viewer,
        "/console/visits",
        json!({ "cases": shown, "pager": pager, "overdue_only": overdue_only, "today": today.to_string() }),
    )
}

/// One case's visits (404 outside the viewer's teams, as by menu).
pub async fn case(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(case_id): Path<String>,
) -> Result<axum::response::Response, Failure> {
    viewer.require(READERS)?;
    let db = &state.db;
    let today = chrono::Local::now().date_naive();
    let Some(c) = data::visible_items(db, "hv_case", &viewer.account)
        .await?
        .remove(&case_id)
    else {
        return Err(Failure::NotFound);
    };
    let rows = by_case(db, today).await?.remove(&c.id).unwrap_or_default();
    let ctx = case_json(&c, &rows, today);
    audit::record(
        db,
        &viewer.account.actor(),
        Action::Consultation,
        "case visits",
        &c.s("crn"),
        &c.id,
    )
    .await?;
    state
        .console
        .views
        .page("visit_case.html", &viewer, "/console/visits", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_core::events::payload as ev;
    use fieldbook_core::home_visits::model::{FollowUp, PersonPresent, VisitForm};
    use fieldbook_core::ids::RecordId;
    use fieldbook_core::vocab::Stamp;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn recorded(
        visit: &RecordId,
        case: &RecordId,
        outcome: &str,
        arranged: bool,
        at: NaiveDate,
    ) -> Ev {
        let ms = at
            .and_hms_opt(10, 0, 0)
            .expect("time")
            .and_utc()
            .timestamp_millis();
        let form = VisitForm {
            outcome: Some(outcome.into()),
            officers_present: vec!["po-ben".into()],
            people_present: vec![PersonPresent {
                name: "Pat".into(),
                relationship: "partner".into(),
                child: false,
            }],
            accommodation: None,
            risk_concerns: String::new(),
            safeguarding_concerns: String::new(),
            visor: false,
            follow_ups: vec![
                FollowUp {
                    action: "Check tenancy".into(),
                    due: d(2026, 11, 28),
                    done: false,
                },
                FollowUp {
                    action: "Call GP".into(),
                    due: d(2026, 12, 10),
                    done: false,
                },
                FollowUp {
                    action: "Book next".into(),
                    due: d(2026, 11, 1),
                    done: true,
                },
            ],
            enforcement: None,
            notes: String::new(),
            sensitive: false,
            no_answer: false,
        };
        let p = ev::VisitRecorded {
            visit_id: visit.clone(),
            case_id: case.clone(),
            crn: "X200001".into(),
            contact_type: "CHVS".into(),
            planned: false,
            scheduled_visit_id: None,
            arranged,
            respond_by: None,
            address: "1 Road".into(),
            purpose: "Check".into(),
            start: Stamp {
                utc_ms: ms,
                offset_min: 0,
            },
            end: None,
            start_location: None,
            end_location: None,
            form,
            policy_version: "test".into(),
        };
        Ev {
            event_id: "e".into(),
            device_id: "dev".into(),
            officer_id: "po-ben".into(),
            kind: kinds::VISIT_RECORDED.into(),
            recorded_ms: ms,
            received_ms: ms,
            appointment_id: None,
            session_id: None,
            case_id: Some(case.to_string()),
            visit_id: Some(visit.to_string()),
            seq: 1,
            signature: String::new(),
            payload: Payload::VisitRecorded(Box::new(p))
                .to_value()
                .expect("payload"),
        }
    }

    #[test]
    fn follow_ups_are_overdue_when_past_due_and_not_done_on_the_form_or_since() {
        let (v, c) = (
            RecordId::random().expect("rng"),
            RecordId::random().expect("rng"),
        );
        let e = recorded(&v, &c, "ATTC", false, d(2026, 11, 20));
        let today = d(2026, 12, 2);
        let row = visit_row(&e, &HashSet::new(), today).expect("reads");
        assert!(!row.arranged, "unannounced");
        assert!(row.seen);
        assert_eq!(row.others, ["Pat (partner)"]);
        let overdue: Vec<bool> = row.follow_ups.iter().map(|f| f.overdue).collect();
        assert_eq!(overdue, [true, false, false]);
        let done = HashSet::from([(v.to_string(), 0usize)]);
        let row = visit_row(&e, &done, today).expect("reads");
        assert!(
            row.follow_ups[0].done && !row.follow_ups[0].overdue,
            "marked done on the device since"
        );
    }

    #[test]
    fn only_a_visit_where_the_person_was_seen_moves_the_next_visit() {
        let (c, today) = (RecordId::random().expect("rng"), d(2026, 12, 2));
        let seen_row = visit_row(
            &recorded(
                &RecordId::random().expect("rng"),
                &c,
                "ATTC",
                true,
                d(2026, 11, 20),
            ),
            &HashSet::new(),
            today,
        )
        .expect("row");
        let failed = visit_row(
            &recorded(
                &RecordId::random().expect("rng"),
                &c,
                "AFTA",
                true,
                d(2026, 11, 30),
            ),
            &HashSet::new(),
            today,
        )
        .expect("row");
        assert!(!failed.seen);
        assert_eq!(
            last_seen(&[seen_row.clone(), failed.clone()]),
            Some(d(2026, 11, 20))
        );
        let case = json!({
            "crn": "X200001", "name": "Casey", "restricted": false, "risk_level": "low", "registrations": [],
            "staff_risks": [], "known_occupants": [], "addresses": [], "assessment": "current",
            "supervision_start": "2026-11-01",
        });
        let with_seen = next_due(&case, &[seen_row, failed.clone()], today).expect("a case");
        let without = next_due(&case, &[failed], today).expect("a case");
        assert!(
            with_seen > d(2026, 11, 20),
            "due after the visit the person was seen"
        );
        assert_ne!(with_seen, without, "a failed visit does not count as seen");
        assert_eq!(next_due(&json!({"not": "a case"}), &[], today), None);
    }
}
