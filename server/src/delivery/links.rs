//! Links from Fieldbook's appointments to nDelius's, read from the
//! Community Payback API: its session search for a team and date range,
//! each session's appointments, and each appointment's current version.
//! A Fieldbook appointment is matched by project code, date and CRN; one
//! with no counterpart, or more than one, is reported, not guessed. Every
//! read happens before anything is written, so a failed import changes
//! nothing.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use fieldbook_core::unpaid_work::model::{Appointment, Project, WorkSession};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppointmentLink;
use crate::db::Db;

/// What the office asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkImport {
    /// The supervising team's code in nDelius.
    pub team_code: String,
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub start_date: NaiveDate,
    /// Last day (at most 31 days after the first).
    #[schema(value_type = String, format = Date)]
    pub end_date: NaiveDate,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkReport {
    /// Appointments at the far end in the range.
    pub far_appointments: u64,
    /// Fieldbook appointments linked (or re-linked to a newer version).
    pub linked: u64,
    /// Fieldbook appointments in the range with no counterpart.
    pub unmatched: Vec<String>,
    /// Fieldbook appointments with more than one counterpart.
    pub ambiguous: Vec<String>,
}

/// Why an import changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The request is out of bounds.
    #[error("{0}")]
    Invalid(&'static str),
    /// The far end could not be read (nothing was written).
    #[error("the Community Payback API could not be read: {0}")]
    Far(String),
    /// A record the far end sent does not validate as Fieldbook's type
    /// (nothing was written).
    #[error("a record from the Community Payback API does not validate: {0}")]
    Rejected(String),
    /// Storage failed (nothing was written).
    #[error("storage is unavailable")]
    Storage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionSummary {
    project_code: String,
    date: NaiveDate,
    start_time: NaiveTime,
    end_time: NaiveTime,
}

#[derive(Deserialize)]
struct Allocations {
    allocations: Vec<SessionSummary>,
}

#[derive(Deserialize)]
struct Offender {
    crn: String,
}

#[derive(Deserialize)]
struct AppointmentSummary {
    id: i64,
    offender: Offender,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionDetail {
    appointment_summaries: Vec<AppointmentSummary>,
}

#[derive(Deserialize)]
struct AppointmentDetail {
    version: String,
}

/// Where one far-end appointment is: (project code, date, CRN).
type Key = (String, NaiveDate, String);

impl LinkImport {
    pub(crate) fn check(&self) -> Result<(), ImportError> {
        let ok = !self.team_code.is_empty()
            && self.team_code.len() <= 32
            && self.team_code.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(ImportError::Invalid("team_code: letters and digits"));
        }
        let days = (self.end_date - self.start_date).num_days();
        if !(0..=31).contains(&days) {
            return Err(ImportError::Invalid(
                "end_date: on or after start_date, at most 31 days on",
            ));
        }
        Ok(())
    }
}

impl super::worker::DeliveryService {
    /// Reads the far end's appointments for `req` and links Fieldbook's.
    pub async fn import_links(&self, db: &Db, req: &LinkImport) -> Result<LinkReport, ImportError> {
        req.check()?;
        let far = |e: String| ImportError::Far(e);
        let search: Allocations = self
            .get_json(&format!(
                "/projects/session-search?startDate={}&endDate={}&teamCode={}",
                req.start_date, req.end_date, req.team_code
            ))
            .await
            .map_err(far)?;
        let mut found: BTreeMap<Key, Vec<(i64, String)>> = BTreeMap::new();
        let mut report = LinkReport::default();
        for s in &search.allocations {
            let detail: SessionDetail = self
                .get_json(&format!(
                    "/projects/{}/sessions/{}?startTime={}&endTime={}",
                    super::urlencode(&s.project_code),
                    s.date,
                    s.start_time.format("%H:%M"),
                    s.end_time.format("%H:%M")
                ))
                .await
                .map_err(far)?;
            for a in detail.appointment_summaries {
                let one: AppointmentDetail = self
                    .get_json(&format!(
                        "/projects/{}/appointments/{}",
                        super::urlencode(&s.project_code),
                        a.id
                    ))
                    .await
                    .map_err(far)?;
                report.far_appointments += 1;
                found
                    .entry((s.project_code.clone(), s.date, a.offender.crn))
                    .or_default()
                    .push((a.id, one.version));
            }
        }
        // Fieldbook's side, from its reference data.
        let store = |_| ImportError::Storage;
        let projects: BTreeMap<String, Project> = db
            .reference_items("upw_project")
            .await
            .map_err(store)?
            .into_iter()
            .filter_map(|(id, data)| Some((id, serde_json::from_str(&data).ok()?)))
            .collect();
        let sessions: BTreeMap<String, WorkSession> = db
            .reference_items("upw_session")
            .await
            .map_err(store)?
            .into_iter()
            .filter_map(|(id, data)| Some((id, serde_json::from_str::<WorkSession>(&data).ok()?)))
            .filter(|(_, s)| s.date >= req.start_date && s.date <= req.end_date)
            .collect();
        let mut links = Vec::new();
        for (id, data) in db.reference_items("upw_appointment").await.map_err(store)? {
            let Ok(a) = serde_json::from_str::<Appointment>(&data) else {
                continue;
            };
            let Some(session) = sessions.get(&a.session_id.to_string()) else {
                continue;
            };
            let Some(project) = projects.get(&session.project_id.to_string()) else {
                report.unmatched.push(id);
                continue;
            };
            let key = (project.code.clone(), session.date, a.crn.clone());
            match found.get(&key).map(Vec::as_slice) {
                Some([(delius_id, version)]) => links.push((
                    id,
                    AppointmentLink {
                        delius_id: *delius_id,
                        delius_version: version.clone(),
                        project_code: project.code.clone(),
                    },
                )),
                Some([]) | None => report.unmatched.push(id),
                Some(_) => report.ambiguous.push(id),
            }
        }
        report.linked = links.len() as u64;
        db.link_appointments(&links, crate::api::now_ms())
            .await
            .map_err(store)?;
        Ok(report)
    }
}
