//! What the app shells need beyond the captures: where the device stands
//! (enrolled, role, outbox), the chain check, sync options, and the ledger
//! reached from a roll-call row. Each method only reads the core's answer;
//! none decides a rule.

use fieldbook_core::sync::client::SyncState;
use fieldbook_core::sync::{SyncClient, SyncConfig};

use crate::app::FieldbookApp;
use crate::error::{FieldbookError, Res};
use crate::types::{snake_name, PersonLedger};

/// What the device holds and owes the office: the outbox and enrolment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutboxSummary {
    /// Events waiting to be acknowledged (quarantined ones included).
    pub pending: u64,
    /// Events never yet accepted by the office.
    pub unsent: u64,
    /// Events the office refused, waiting for review.
    pub quarantined: u32,
    /// Last complete sync (UTC ms), if any.
    pub last_sync_ms: Option<i64>,
}

/// The device's enrolment, if it has one.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceEnrolment {
    pub server_url: String,
    pub device_id: String,
    pub officer_id: String,
    /// supervisor or probation_officer.
    pub role: String,
}

/// The result of checking the device's signed event chain.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChainCheck {
    /// Events checked before the first break (or all of them).
    pub verified: u64,
    /// Whether the whole chain verified.
    pub intact: bool,
    /// Sequence number of the first broken link.
    pub first_broken_seq: Option<u64>,
    /// Why it is broken (unreadable, sequence_gap, row_mismatch,
    /// prev_hash_mismatch, bad_signature).
    pub first_broken_reason: Option<String>,
}

/// Sync options beyond the address.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncOptions {
    /// Events per push (`None`: the core's default).
    pub batch_size: Option<u32>,
    /// After this long without a complete sync, captures are refused until
    /// the device syncs (`None`: never).
    pub max_unsynced_ms: Option<i64>,
}

/// A visit outcome the visit form offers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitOutcomeOption {
    pub code: String,
    pub description: String,
    /// seen, failure, not_seen, acceptable_absence.
    pub kind: String,
    /// Whether the form asks for an enforcement follow-up.
    pub needs_enforcement: bool,
}

impl FieldbookApp {
    fn sync_state(&self) -> Res<Option<SyncState>> {
        // The state lives in the store; the address given here is only for
        // the client's construction and is never contacted.
        let client = SyncClient::new(self.store()?, SyncConfig::new("http://127.0.0.1:9/"))?;
        Ok(client.state()?)
    }
}

#[uniffi::export]
impl FieldbookApp {
    /// The outbox: pending, never accepted, quarantined, last sync.
    pub fn outbox_summary(&self) -> Res<OutboxSummary> {
        let store = self.store()?;
        Ok(OutboxSummary {
            pending: store.pending_count()?,
            unsent: store.unsent_count()?,
            quarantined: u32::try_from(store.quarantined()?.len()).unwrap_or(u32::MAX),
            last_sync_ms: self.sync_state()?.and_then(|s| s.last_success_ms),
        })
    }

    /// The enrolment kept in the store (`None`: not enrolled yet). After a
    /// restart the shell passes its `server_url` back to `configure_sync`.
    pub fn device_enrolment(&self) -> Res<Option<DeviceEnrolment>> {
        Ok(self.sync_state()?.map(|s| DeviceEnrolment {
            server_url: s.server_url,
            device_id: s.device_id,
            officer_id: s.officer_id,
            role: snake_name(&s.role),
        }))
    }

    /// Verifies the device's signed event chain link by link.
    pub fn verify_chain(&self) -> Res<ChainCheck> {
        let r = self.store()?.verify_chain()?;
        use fieldbook_core::events::BrokenReason as B;
        Ok(ChainCheck {
            verified: r.verified,
            intact: r.is_intact(),
            first_broken_seq: r.first_broken.as_ref().map(|b| b.seq),
            first_broken_reason: r.first_broken.map(|b| {
                match b.reason {
                    B::Unreadable => "unreadable",
                    B::SequenceGap { .. } => "sequence_gap",
                    B::RowMismatch => "row_mismatch",
                    B::PrevHashMismatch => "prev_hash_mismatch",
                    B::BadSignature => "bad_signature",
                }
                .to_owned()
            }),
        })
    }

    /// The visit outcomes the form offers (contact type CHVS), in order.
    pub fn hv_outcome_options(&self) -> Vec<VisitOutcomeOption> {
        use fieldbook_core::home_visits::policy::{VisitOutcomeKind as K, VISIT_OUTCOMES};
        VISIT_OUTCOMES
            .iter()
            .map(|o| VisitOutcomeOption {
                code: o.code.to_owned(),
                description: o.description.to_owned(),
                kind: match o.kind {
                    K::Seen => "seen",
                    K::Failure => "failure",
                    K::AcceptableAbsence => "acceptable_absence",
                }
                .to_owned(),
                needs_enforcement: o.enforceable,
            })
            .collect()
    }

    /// [`FieldbookApp::configure_sync`] with options.
    pub fn configure_sync_with_options(
        &self,
        server_url: String,
        pinned_cert_sha256: Vec<String>,
        options: SyncOptions,
    ) -> Res<()> {
        let mut config = SyncConfig::new(server_url);
        config.pinned_cert_sha256 = pinned_cert_sha256;
        if let Some(b) = options.batch_size {
            config.batch_size = b;
        }
        config.max_unsynced_ms = options.max_unsynced_ms;
        SyncClient::new(self.store()?, config.clone())?;
        *self.sync_config.lock().unwrap_or_else(|e| e.into_inner()) = Some(config);
        Ok(())
    }

    /// The ledger of the person booked on `appointment_id` (the roll-call
    /// row's "hours" link). Writes an access-log entry (a consultation),
    /// as `upw_person_ledger` does.
    pub fn upw_ledger_for_appointment(&self, appointment_id: String) -> Res<PersonLedger> {
        let appointment = fieldbook_core::ids::RecordId::parse(&appointment_id)?;
        let requirement = self.store()?.read(|r| {
            Ok(r.records()
                .require::<fieldbook_core::unpaid_work::model::Appointment>(&appointment)?
                .value
                .requirement_id)
        })?;
        let requirement = requirement.ok_or_else(|| FieldbookError::NotFound {
            what: "requirement".into(),
        })?;
        self.upw_person_ledger(requirement.to_string())
    }
}
