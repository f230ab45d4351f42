//! Reference data read from the Community Payback API: its projects,
//! sessions, allocations (appointments) and people for a team and date
//! range become Fieldbook's `upw_project`, `upw_session`, `upw_appointment`
//! and `upw_requirement` items, checked by the same validation as every
//! other way reference data arrives ([`crate::office::check_id`],
//! [`crate::office::validate`]) and written, with each appointment's
//! nDelius link, in one transaction: a far end that fails part-way, or one
//! record that does not validate, changes nothing.
//!
//! Read from the API as published in
//! `ministryofjustice/hmpps-community-payback-api` (the version before
//! commit `df345876`, December 2025, whose outcome shape
//! [`super::OutcomeUpdate`] follows): the session search
//! (`AdminSessionController`, `dto/SessionSummariesDto.kt`), each session
//! (`dto/SessionDto.kt`, `dto/AppointmentSummaryDto.kt`, `dto/LocationDto.kt`,
//! `dto/OffenderDto.kt` with its `Full` / `Limited` / `Not_Found` variants)
//! and each appointment (`AdminAppointmentController`, `dto/AppointmentDto.kt`,
//! `dto/PickUpDataDto.kt`).
//!
//! What the API does not carry stays with the CSV import and the office's
//! reference API: a person's order dates, risk level, registrations and
//! photo (so a person Fieldbook holds no requirement for is reported, not
//! invented), a project's hazards, risk notes, beneficiary, site contact,
//! hi-vis rule and opening days, and adjustments as individual entries.
//! An item already held keeps those fields; the import overwrites only what
//! the API says.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::links::{ImportError, LinkImport};
use super::AppointmentLink;
use crate::console::data::{self, Item};
use crate::db::{Db, RefWrite};

/// What a reference import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReferenceReport {
    /// Projects created or updated.
    pub projects: u64,
    /// Sessions created or updated.
    pub sessions: u64,
    /// Appointments created or updated (each also linked to nDelius).
    pub appointments: u64,
    /// People (requirements) updated.
    pub people: u64,
    /// CRNs the API allocates that Fieldbook holds no requirement for: load
    /// them by CSV (the API carries no order dates or risk level); their
    /// appointments were not imported.
    pub without_requirement: Vec<String>,
    /// Sessions with nobody allocated (no supervisor to send them to).
    pub empty_sessions: u64,
}

// The far end's shapes (only the fields read; unknown ones are ignored, as
// the API adds fields over time).

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionSummary {
    project_code: String,
    date: NaiveDate,
    start_time: NaiveTime,
    end_time: NaiveTime,
}

#[derive(Deserialize)]
struct SessionSummaries {
    allocations: Vec<SessionSummary>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Location {
    building_name: Option<String>,
    building_number: Option<String>,
    street_name: Option<String>,
    town_city: Option<String>,
    county: Option<String>,
    post_code: Option<String>,
}

impl Location {
    fn line(&self) -> String {
        let street = [&self.building_number, &self.street_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        [
            self.building_name.clone(),
            Some(street),
            self.town_city.clone(),
            self.county.clone(),
            self.post_code.clone(),
        ]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// `OffenderDto`: `objectType` says how much the caller may see.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Offender {
    crn: String,
    object_type: String,
    #[serde(default)]
    forename: Option<String>,
    #[serde(default)]
    surname: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppointmentSummary {
    id: i64,
    requirement_minutes: i64,
    completed_minutes: i64,
    offender: Offender,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    project_name: String,
    project_code: String,
    #[serde(default)]
    location: Option<Location>,
    date: NaiveDate,
    start_time: NaiveTime,
    end_time: NaiveTime,
    appointment_summaries: Vec<AppointmentSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PickUp {
    location: Option<Location>,
    time: Option<NaiveTime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Appointment {
    version: String,
    project_type_code: String,
    #[serde(default)]
    pick_up_data: Option<PickUp>,
    supervisor_officer_code: String,
}

/// Everything read from the far end, before anything is written.
struct Read {
    session: Session,
    appointments: Vec<(AppointmentSummary, Appointment)>,
}

/// Fieldbook's placement type for the API's project type code (the codes
/// of its `project_types` table).
fn project_type(code: &str) -> &'static str {
    match code {
        c if c.starts_with("ET") || c == "UP06" => "education_training_employment",
        "PI" => "induction",
        "ICP" | "PIP" | "PIP2" | "ES" | "WH1" => "individual_placement",
        _ => "group_placement",
    }
}

/// A stable Fieldbook id for a far-end record not held yet (the same on
/// every import, so a repeat updates instead of duplicating).
fn derived_id(what: &str, key: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("cp:{what}:{key}").as_bytes());
    hex::encode(&d.as_ref()[..16])
}

/// What is held of one entity, and the writes this import makes to it.
struct Held {
    entity: &'static str,
    items: Vec<Item>,
    writes: BTreeMap<String, (Value, BTreeSet<String>, BTreeSet<String>)>,
}

impl Held {
    async fn load(db: &Db, entity: &'static str) -> Result<Self, ImportError> {
        Ok(Self {
            entity,
            items: data::items(db, entity)
                .await
                .map_err(|_| ImportError::Storage)?,
            writes: BTreeMap::new(),
        })
    }

    /// The id of the held item `matches` picks, if any.
    fn find(&self, matches: impl Fn(&Value) -> bool) -> Option<String> {
        self.writes
            .iter()
            .find(|(_, (v, _, _))| matches(v))
            .map(|(id, _)| id.clone())
            .or_else(|| {
                self.items
                    .iter()
                    .find(|i| matches(&i.data))
                    .map(|i| i.id.clone())
            })
    }

    /// Sets `fields` on item `id` (over what it holds, or `new` for an item
    /// not held), adds `officer` to its audience (restricted or not).
    fn put(&mut self, id: &str, new: Value, fields: Value, officer: &str, restricted: bool) {
        let held = self.items.iter().find(|i| i.id == id);
        let entry = self
            .writes
            .entry(id.to_owned())
            .or_insert_with(|| match held {
                Some(i) => (
                    i.data.clone(),
                    i.audience.iter().cloned().collect(),
                    i.restricted_for.iter().cloned().collect(),
                ),
                None => (new, BTreeSet::new(), BTreeSet::new()),
            });
        if let (Some(obj), Some(set)) = (entry.0.as_object_mut(), fields.as_object()) {
            for (k, v) in set {
                obj.insert(k.clone(), v.clone());
            }
        }
        entry.1.insert(officer.to_owned());
        if restricted {
            entry.2.insert(officer.to_owned());
        }
    }

    /// The writes, each through the office's one validation.
    fn checked(self) -> Result<Vec<RefWrite>, ImportError> {
        let entity = self.entity;
        self.writes
            .into_iter()
            .map(|(id, (v, audience, restricted))| {
                let reject = |e: crate::api::ApiFailure| {
                    ImportError::Rejected(format!("{entity} {id}: {}", e))
                };
                crate::office::check_id(&id).map_err(reject)?;
                let data = crate::office::validate(entity, &v).map_err(reject)?;
                let audience: Vec<String> = audience.into_iter().collect();
                let restricted: Vec<String> = restricted.into_iter().collect();
                crate::office::ref_write(entity, &id, &data, &audience, &restricted).map_err(reject)
            })
            .collect()
    }
}

fn same(v: &Value, field: &str, want: &str) -> bool {
    v.get(field).and_then(Value::as_str) == Some(want)
}

impl super::worker::DeliveryService {
    /// Reads the far end's sessions, allocations and people for `req` and
    /// writes them as Fieldbook reference data with their nDelius links.
    pub async fn import_reference(
        &self,
        db: &Db,
        req: &LinkImport,
    ) -> Result<ReferenceReport, ImportError> {
        req.check()?;
        let far = ImportError::Far;
        let search: SessionSummaries = self
            .get_json(&format!(
                "/projects/session-search?startDate={}&endDate={}&teamCode={}",
                req.start_date, req.end_date, req.team_code
            ))
            .await
            .map_err(far)?;
        let mut read = Vec::new();
        for s in &search.allocations {
            let code = super::urlencode(&s.project_code);
            let session: Session = self
                .get_json(&format!(
                    "/projects/{code}/sessions/{}?startTime={}&endTime={}",
                    s.date,
                    s.start_time.format("%H:%M"),
                    s.end_time.format("%H:%M")
                ))
                .await
                .map_err(far)?;
            let mut appointments = Vec::new();
            for a in session.appointment_summaries {
                let one: Appointment = self
                    .get_json(&format!("/projects/{code}/appointments/{}", a.id))
                    .await
                    .map_err(far)?;
                appointments.push((a, one));
            }
            read.push(Read {
                session: Session {
                    appointment_summaries: vec![],
                    ..session
                },
                appointments,
            });
        }
        self.write_reference(db, read).await
    }

    async fn write_reference(
        &self,
        db: &Db,
        read: Vec<Read>,
    ) -> Result<ReferenceReport, ImportError> {
        let mut projects = Held::load(db, "upw_project").await?;
        let mut sessions = Held::load(db, "upw_session").await?;
        let mut requirements = Held::load(db, "upw_requirement").await?;
        let mut appointments = Held::load(db, "upw_appointment").await?;
        let mut links = Vec::new();
        let mut report = ReferenceReport::default();
        let mut missing = BTreeSet::new();
        for Read {
            session: s,
            appointments: appts,
        } in read
        {
            let Some((_, first)) = appts.first() else {
                report.empty_sessions += 1;
                continue;
            };
            let supervisor = first.supervisor_officer_code.clone();
            let project_id = projects
                .find(|v| same(v, "code", &s.project_code))
                .unwrap_or_else(|| derived_id("project", &s.project_code));
            let address = s.location.as_ref().map(Location::line).unwrap_or_default();
            projects.put(
                &project_id,
                json!({ "travel_time_eligible": false, "beneficiary": "", "site_contact": "",
                        "hi_vis_required": true, "hazards": "", "risk_notes": "",
                        "available_days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                        "available_from": "00:00:00", "available_until": "23:59:00" }),
                json!({ "code": s.project_code, "name": s.project_name, "address": address,
                        "project_type": project_type(&first.project_type_code) }),
                &supervisor,
                false,
            );
            let (start, date) = (
                s.start_time.format("%H:%M:%S").to_string(),
                s.date.to_string(),
            );
            let session_id = sessions
                .find(|v| {
                    same(v, "project_id", &project_id)
                        && same(v, "date", &date)
                        && same(v, "planned_start", &start)
                })
                .unwrap_or_else(|| {
                    derived_id("session", &format!("{}/{date}/{start}", s.project_code))
                });
            let pick_up = appts.iter().find_map(|(_, a)| a.pick_up_data.as_ref());
            let mut session_fields = Map::new();
            session_fields.insert("project_id".into(), json!(project_id));
            session_fields.insert("date".into(), json!(date));
            session_fields.insert("planned_start".into(), json!(start));
            session_fields.insert(
                "planned_end".into(),
                json!(s.end_time.format("%H:%M:%S").to_string()),
            );
            session_fields.insert("supervisor_id".into(), json!(supervisor));
            if let Some(p) = pick_up {
                session_fields.insert(
                    "pick_up_point".into(),
                    json!(p.location.as_ref().map(Location::line)),
                );
                session_fields.insert(
                    "pick_up_time".into(),
                    json!(p.time.map(|t| t.format("%H:%M:%S").to_string())),
                );
            }
            sessions.put(
                &session_id,
                json!({ "pick_up_point": null, "pick_up_time": null }),
                Value::Object(session_fields),
                &supervisor,
                false,
            );
            for (summary, one) in appts {
                let crn = summary.offender.crn.clone();
                let Some(requirement_id) = requirements.find(|v| same(v, "crn", &crn)) else {
                    missing.insert(crn);
                    continue;
                };
                // A Limited answer: the caller is restricted from this case.
                let restricted = summary.offender.object_type != "Full";
                let mut person = Map::new();
                // Fieldbook holds the order in hours; nDelius orders whole
                // hours, so nothing is lost. (`adjustmentMinutes` is a net
                // figure: Fieldbook keeps adjustments as entries with their
                // reasons, which come by CSV.)
                person.insert(
                    "hours_required".into(),
                    json!(summary.requirement_minutes.div_euclid(60)),
                );
                person.insert(
                    "minutes_credited_office".into(),
                    json!(summary.completed_minutes),
                );
                if let (Some(f), Some(n)) = (&summary.offender.forename, &summary.offender.surname)
                {
                    if !restricted {
                        person.insert("name".into(), json!(format!("{f} {n}")));
                    }
                }
                requirements.put(
                    &requirement_id,
                    Value::Null,
                    Value::Object(person),
                    &one.supervisor_officer_code,
                    restricted,
                );
                let appointment_id = appointments
                    .find(|v| same(v, "session_id", &session_id) && same(v, "crn", &crn))
                    .unwrap_or_else(|| derived_id("appointment", &summary.id.to_string()));
                appointments.put(
                    &appointment_id,
                    json!({ "agreed_absence": null, "office_outcome": null }),
                    json!({ "session_id": session_id, "requirement_id": requirement_id,
                            "crn": crn, "allocated": true }),
                    &one.supervisor_officer_code,
                    restricted,
                );
                links.push((
                    appointment_id,
                    AppointmentLink {
                        delius_id: summary.id,
                        delius_version: one.version.clone(),
                        project_code: s.project_code.clone(),
                    },
                ));
            }
        }
        report.projects = projects.writes.len() as u64;
        report.sessions = sessions.writes.len() as u64;
        report.people = requirements.writes.len() as u64;
        report.appointments = appointments.writes.len() as u64;
        report.without_requirement = missing.into_iter().collect();
        // Every item checked before any is written; projects before the
        // sessions naming them, and so on, so a device pulling in cursor
        // order never meets an id it does not hold.
        let mut writes = projects.checked()?;
        writes.extend(sessions.checked()?);
        writes.extend(requirements.checked()?);
        writes.extend(appointments.checked()?);
        let also = super::outbox::link_stmts(&links, crate::api::now_ms());
        db.put_references(writes, also)
            .await
            .map_err(|_| ImportError::Storage)?;
        Ok(report)
    }
}
