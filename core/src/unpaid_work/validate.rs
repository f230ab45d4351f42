//! The rules a reference item must meet on its own (before the records it
//! names are looked up): written once, applied by the device's import and
//! by the office server before it stores or sends an item.

use super::model::normalise_crn;
use crate::error::{Error, Result};

use super::codes::{self, OutcomeKind};
use super::model::{self, Appointment, Project, Requirement, WorkSession};
use super::policy::Policy;

/// Hours no single requirement can plausibly carry.
const MAX_REQUIREMENT_HOURS: u32 = 1000;

/// A project: code and name, at least one day, a window that opens before it closes.
pub fn project(p: &Project) -> Result<()> {
    if p.code.trim().is_empty() || p.name.trim().is_empty() {
        return Err(Error::invalid("code", "code and name are required"));
    }
    if p.available_days.is_empty() {
        return Err(Error::invalid("available_days", "at least one day"));
    }
    if p.available_from >= p.available_until {
        return Err(Error::invalid(
            "available_from",
            "must be before available_until",
        ));
    }
    Ok(())
}

/// A requirement: a CRN, plausible hours, an order that ends after it
/// starts, office credit that is not negative, well-formed adjustments.
pub fn requirement(r: &Requirement) -> Result<()> {
    if normalise_crn(&r.crn).is_empty() {
        return Err(Error::invalid("crn", "required"));
    }
    // Below 40 is valid (fine default, breach); the statutory range is a
    // warning on the order's aggregate. This bound only catches nonsense.
    if !(1..=MAX_REQUIREMENT_HOURS).contains(&r.hours_required) {
        return Err(Error::invalid(
            "hours_required",
            format!("must be 1 to {MAX_REQUIREMENT_HOURS}"),
        ));
    }
    if r.order_start > r.order_end {
        return Err(Error::invalid(
            "order_end",
            "must not be before order_start",
        ));
    }
    if r.minutes_credited_office < 0 || r.ete_minutes_credited_office < 0 {
        return Err(Error::invalid(
            "minutes_credited_office",
            "cannot be negative",
        ));
    }
    if r.ete_minutes_credited_office > r.minutes_credited_office {
        return Err(Error::invalid(
            "ete_minutes_credited_office",
            "cannot exceed the minutes credited",
        ));
    }
    for (i, a) in r.adjustments.iter().enumerate() {
        if a.minutes <= 0 || a.reason_code.trim().is_empty() {
            return Err(Error::invalid(
                format!("adjustments[{i}]"),
                "needs positive minutes and a reason code",
            ));
        }
        if a.reason_code == model::TRAVEL_TIME_REASON
            && (a.direction != model::AdjustmentDirection::Negative
                || a.minutes > i64::from(Policy::default().travel_time_max_minutes))
        {
            return Err(Error::invalid(
                format!("adjustments[{i}]"),
                "travel time (TTX) is a negative adjustment of at most 180 minutes",
            ));
        }
    }
    Ok(())
}

/// A session: a supervisor, and an end after its start on the same day.
pub fn session(s: &WorkSession) -> Result<()> {
    if s.supervisor_id.trim().is_empty() {
        return Err(Error::invalid("supervisor_id", "required"));
    }
    if s.planned_end <= s.planned_start {
        return Err(Error::invalid(
            "planned_end",
            "must be after the start on the same day (sessions that cross midnight are not accepted)",
        ));
    }
    Ok(())
}

/// An appointment: an agreed absence is an acceptable-absence code, an
/// office outcome a known code.
pub fn appointment(a: &Appointment) -> Result<()> {
    if let Some(code) = &a.agreed_absence {
        let ok = codes::outcome(code).is_some_and(|c| c.kind == OutcomeKind::AcceptableAbsence);
        if !ok {
            return Err(Error::invalid(
                "agreed_absence",
                "not an acceptable absence code",
            ));
        }
    }
    if let Some(code) = &a.office_outcome {
        if codes::outcome(code).is_none() {
            return Err(Error::invalid("office_outcome", "unknown outcome code"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_at(start: &str, end: &str) -> WorkSession {
        serde_json::from_value(serde_json::json!({
            "project_id": "0123456789abcdef0123456789abcdef", "date": "2026-11-23",
            "planned_start": start, "planned_end": end, "supervisor_id": "sup-1",
            "pick_up_point": null, "pick_up_time": null,
        }))
        .expect("a session")
    }

    #[test]
    fn a_session_must_end_after_it_starts() {
        assert!(session(&session_at("09:00:00", "16:00:00")).is_ok());
        for (start, end) in [("16:00:00", "09:00:00"), ("09:00:00", "09:00:00")] {
            let err = session(&session_at(start, end)).expect_err("refused");
            assert!(
                matches!(&err, Error::InvalidInput { field, .. } if field == "planned_end"),
                "{err:?}"
            );
        }
    }
}
