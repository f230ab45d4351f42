//! What the app shells need beyond the captures: where the device stands
//! (enrolled, role, outbox), the chain check, the sync settings kept across
//! restarts, and the ledger reached from a roll-call row. Each method only
//! reads the core's answer; none decides a rule.
//!
//! **Certificate pins across a restart.** `configure_sync` keeps the
//! address, the pins and the options as one sealed record in the store
//! (collection `shell_sync`), and `unlock` restores them. Pins are not
//! secret, but their integrity is what TLS pinning rests on: in the store
//! they are sealed with the data key (a changed row fails authentication),
//! erased with everything else by the crypto-shred when the office revokes
//! the device, and the same for both shells. App preferences would be
//! plain files that survive a shred and that any code running as the app
//! could rewrite without the PIN.

use fieldbook_core::ids::RecordId;
use fieldbook_core::store::Record;
use fieldbook_core::sync::client::SyncState;
use fieldbook_core::sync::{SyncClient, SyncConfig};
use serde::{Deserialize, Serialize};

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

/// The sync settings in force.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSettings {
    pub server_url: String,
    pub pinned_cert_sha256: Vec<String>,
    pub batch_size: u32,
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

/// The sync settings the shell gave, kept sealed in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SavedSync {
    pub(crate) server_url: String,
    pub(crate) pinned_cert_sha256: Vec<String>,
    pub(crate) batch_size: Option<u32>,
    pub(crate) max_unsynced_ms: Option<i64>,
}

impl Record for SavedSync {
    const COLLECTION: &'static str = "shell_sync";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![("all", "all".into())]
    }
}

impl FieldbookApp {
    /// Makes `s` the configuration the next sync uses (checked first).
    pub(crate) fn apply_sync_settings(&self, s: &SavedSync) -> Res<()> {
        let mut config = SyncConfig::new(s.server_url.clone());
        config.pinned_cert_sha256 = s.pinned_cert_sha256.clone();
        if let Some(b) = s.batch_size {
            config.batch_size = b;
        }
        config.max_unsynced_ms = s.max_unsynced_ms;
        SyncClient::new(self.store()?, config.clone())?;
        *self.sync_config.lock().unwrap_or_else(|e| e.into_inner()) = Some(config);
        Ok(())
    }

    /// Keeps `s` in the store, replacing what was kept.
    pub(crate) fn save_sync_settings(&self, s: &SavedSync) -> Res<()> {
        Ok(self.store()?.write(|w| {
            let kept = w.records().find::<SavedSync>("all", "all")?;
            let id = match kept.first() {
                Some(k) => k.id.clone(),
                None => RecordId::random()?,
            };
            for extra in kept.iter().skip(1) {
                w.remove::<SavedSync>(&extra.id)?;
            }
            w.put(&id, s)?;
            Ok(())
        })?)
    }

    /// Applies the kept settings, if any (after unlock).
    pub(crate) fn restore_sync_settings(&self) -> Res<()> {
        let kept = self.store()?.read(|r| {
            Ok(r.records()
                .find::<SavedSync>("all", "all")?
                .into_iter()
                .next())
        })?;
        match kept {
            Some(k) => self.apply_sync_settings(&k.value),
            None => Ok(()),
        }
    }

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

    /// The sync settings in force (restored by `unlock` from the store):
    /// the address and pins the shell gave, `None` before any.
    pub fn sync_settings(&self) -> Option<SyncSettings> {
        self.sync_config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|c| SyncSettings {
                server_url: c.server_url.clone(),
                pinned_cert_sha256: c.pinned_cert_sha256.clone(),
                batch_size: c.batch_size,
                max_unsynced_ms: c.max_unsynced_ms,
            })
    }

    /// Sets the office's one-time re-enable code (only its digest is
    /// kept); the store must be unlocked. The office gives it to the
    /// device ahead of any lock-out (at enrolment, or by sync once the
    /// sync lane carries it).
    pub fn set_office_reset_code(&self, code: String) -> Res<()> {
        self.store()?
            .set_office_reset_code(&code)
            .map_err(|e| FieldbookError::from(e).relabel("code", "Office code"))
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
