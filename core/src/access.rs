//! The access log required for law-enforcement processing (UK Data
//! Protection Act 2018, section 62): collection, alteration, consultation,
//! disclosure, combination and erasure of personal data, with who, when and
//! why.
//!
//! Collection and alteration are the capture events themselves (an event
//! that supersedes another is an alteration). Consultation, disclosure,
//! combination and erasure are recorded as events of kind `access.*`, so they
//! are signed, chained and synced to the office exactly like captures.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::EventBody;

/// Event-kind prefix of explicit access records.
pub const KIND_PREFIX: &str = "access.";

/// The processing operations section 62 requires to be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    /// Personal data captured.
    Collection,
    /// Personal data corrected.
    Alteration,
    /// Personal data looked at.
    Consultation,
    /// Personal data shown or sent to someone else (incl. the office).
    Disclosure,
    /// Personal data combined with other data.
    Combination,
    /// Personal data erased.
    Erasure,
}

impl AccessAction {
    /// The name used in event kinds.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessAction::Collection => "collection",
            AccessAction::Alteration => "alteration",
            AccessAction::Consultation => "consultation",
            AccessAction::Disclosure => "disclosure",
            AccessAction::Combination => "combination",
            AccessAction::Erasure => "erasure",
        }
    }

    /// The event kind of an explicit record of this action.
    pub fn event_kind(self) -> String {
        format!("{KIND_PREFIX}{}", self.as_str())
    }
}

/// The action an `access.*` kind records, if it is one.
pub fn action_of(kind: &str) -> Option<AccessAction> {
    use AccessAction::*;
    let name = kind.strip_prefix(KIND_PREFIX)?;
    [
        Collection,
        Alteration,
        Consultation,
        Disclosure,
        Combination,
        Erasure,
    ]
    .into_iter()
    .find(|a| a.as_str() == name)
}

/// The payload of an explicit access record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPayload {
    /// What was accessed: a record id, event id or view name. Never a name
    /// or case reference.
    pub subject: String,
    /// Why: the justification section 62 asks for.
    pub purpose: String,
    /// For disclosures: the recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

impl AccessPayload {
    /// Checks that subject and purpose are present.
    pub fn validate(&self) -> Result<()> {
        if self.subject.trim().is_empty() {
            return Err(Error::invalid("subject", "required"));
        }
        if self.purpose.trim().is_empty() {
            return Err(Error::invalid("purpose", "required"));
        }
        Ok(())
    }
}

/// One line of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// The event that records it.
    pub event_id: String,
    /// Its sequence number on this device.
    pub seq: u64,
    /// When, by the device clock (ms since the epoch, UTC).
    pub at_ms: i64,
    /// Who.
    pub officer: String,
    /// What kind of processing.
    pub action: AccessAction,
    /// What was processed (an event kind for captures).
    pub subject: String,
    /// Why (empty for captures, whose kind says it).
    pub purpose: String,
}

/// The access-log entry an event stands for.
pub fn entry_for(body: &EventBody) -> Option<AccessEntry> {
    let (action, subject, purpose) = match body.kind.strip_prefix(KIND_PREFIX) {
        Some(name) => {
            let action = match name {
                "collection" => AccessAction::Collection,
                "alteration" => AccessAction::Alteration,
                "consultation" => AccessAction::Consultation,
                "disclosure" => AccessAction::Disclosure,
                "combination" => AccessAction::Combination,
                "erasure" => AccessAction::Erasure,
                _ => return None,
            };
            let payload: AccessPayload = serde_json::from_value(body.payload.clone()).ok()?;
            (action, payload.subject, payload.purpose)
        }
        None if body.supersedes.is_some() => (
            AccessAction::Alteration,
            body.kind.clone(),
            body.reason.clone().unwrap_or_default(),
        ),
        None => (AccessAction::Collection, body.kind.clone(), String::new()),
    };
    Some(AccessEntry {
        event_id: body.id.clone(),
        seq: body.seq,
        at_ms: body.recorded_at_ms,
        officer: body.officer.clone(),
        action,
        subject,
        purpose,
    })
}
