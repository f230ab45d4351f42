//! Helpers shared by Fieldbook's end-to-end and cross-process tests: a
//! throwaway device (store, software key store, clock) and sample records
//! whose every field can carry a marker string.

pub mod harness;
pub mod pg;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldbook_core::clock::{Clock, ManualClock};
use fieldbook_core::platform::{PlatformKeyStore, SoftwareKeyStore};
use fieldbook_core::store::{Record, StoreSettings};
use fieldbook_core::{Result, Store};
use serde::{Deserialize, Serialize};

/// The PIN every test device uses.
pub const PIN: &str = "274913";
/// A cheap KDF cost: this crate builds the core with `insecure-test-kdf`.
pub const TEST_ITERATIONS: u32 = 1_000;
/// A fixed start time (2026-11-23T09:00:00Z).
pub const START_MS: i64 = 1_795_424_400_000;

/// Release-like settings with a cheap KDF.
pub fn test_settings(officer: &str) -> StoreSettings {
    let mut settings = StoreSettings::new(officer);
    settings.kdf_iterations = TEST_ITERATIONS;
    settings.office_reset_code = Some("OFFICE-RESET-0123456789".to_owned());
    settings
}

/// A person as a sample sealed record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Case reference, looked up by blind index.
    pub crn: String,
    /// Name.
    pub name: String,
    /// Home address.
    pub address: String,
    /// Free-text risk notes.
    pub notes: String,
}

impl Record for Person {
    const COLLECTION: &'static str = "person";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![("crn", self.crn.to_uppercase())]
    }
}

/// The fixed id of the crash test's [`Counter`].
pub const COUNTER_ID: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";

/// A counter kept in step with the event log, to check derived state
/// commits with its event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// The last event's sequence number.
    pub last_seq: u64,
    /// How many events were written through it.
    pub count: u64,
}

impl Record for Counter {
    const COLLECTION: &'static str = "counter";
}

/// A test device in a temporary directory.
#[derive(Debug)]
pub struct Device {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The database file.
    pub db: PathBuf,
    /// The software key store (the "phone's" key).
    pub platform: Arc<SoftwareKeyStore>,
    /// The clock, moved by the test.
    pub clock: Arc<ManualClock>,
}

impl Device {
    /// A fresh device with no store yet.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("fieldbook.db");
        Self {
            dir,
            db,
            platform: Arc::new(SoftwareKeyStore::random().expect("rng")),
            clock: Arc::new(ManualClock::new(START_MS)),
        }
    }

    /// Creates the store (unlocked).
    pub fn create(&self) -> Store {
        Store::create(
            &self.db,
            test_settings("officer-7"),
            PIN,
            self.platform(),
            self.clock(),
        )
        .expect("create store")
    }

    /// Opens the store (locked).
    pub fn open(&self) -> Result<Store> {
        Store::open(&self.db, self.platform(), self.clock())
    }

    /// The platform key store as the trait object.
    pub fn platform(&self) -> Arc<dyn PlatformKeyStore> {
        self.platform.clone()
    }

    /// The clock as the trait object.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Every file SQLite may have written for the database.
    pub fn db_files(&self) -> Vec<PathBuf> {
        db_files(&self.db)
    }
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

/// The database file and its `-wal`, `-shm` and `-journal` siblings that
/// exist.
pub fn db_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .filter(|p| p.exists())
        .collect()
}

/// Every encoding of `marker` a careless store might leave on disk: UTF-8,
/// UTF-16 (both byte orders), hex (both cases).
pub fn marker_encodings(marker: &str) -> Vec<Vec<u8>> {
    let utf16le: Vec<u8> = marker.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let utf16be: Vec<u8> = marker.encode_utf16().flat_map(u16::to_be_bytes).collect();
    vec![
        marker.as_bytes().to_vec(),
        utf16le,
        utf16be,
        hex_lower(marker.as_bytes()).into_bytes(),
        hex_lower(marker.as_bytes()).to_uppercase().into_bytes(),
    ]
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Typed payloads for tests that push hand-made events: the server refuses
/// a known kind whose payload does not match its type.
pub mod payloads {
    use fieldbook_core::events::payload as ev;
    use fieldbook_core::events::{EventDraft, Payload};
    use fieldbook_core::ids::RecordId;
    use fieldbook_core::unpaid_work::model::Rating;
    use fieldbook_core::vocab::Stamp;

    const AT: Stamp = Stamp {
        utc_ms: crate::START_MS,
        offset_min: 0,
    };

    fn id(text: &str) -> RecordId {
        RecordId::parse(text).expect("a record id")
    }

    /// `upw.session_started` for `session`.
    pub fn session_started(session: &str) -> Payload {
        Payload::SessionStarted(ev::SessionStarted {
            session_id: id(session),
            at: AT,
        })
    }

    /// `upw.outcome_recorded` with `code` for `appointment` in `session`.
    pub fn outcome(session: &str, appointment: &str, code: &str) -> Payload {
        Payload::Outcome(Box::new(ev::OutcomeRecorded {
            appointment_id: id(appointment),
            session_id: id(session),
            requirement_id: None,
            crn: "X1".into(),
            session_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
            code: code.into(),
            arrival: None,
            departure: None,
            penalty_minutes: 0,
            work_quality: Rating::NotApplicable,
            behaviour: Rating::NotApplicable,
            notes: String::new(),
            sensitive: false,
            raise_alert: false,
            travel_minutes: None,
            compliance: Default::default(),
            ete: false,
            after_expected_end: false,
            minutes_credited: 0,
            late_by_minutes: None,
            enforcement_step: None,
            policy_version: "test".into(),
        }))
    }

    /// A draft of `payload`.
    pub fn draft(payload: &Payload) -> EventDraft {
        EventDraft::typed(payload).expect("payload")
    }

    /// A correction of `supersedes` to `payload`.
    pub fn correction(payload: &Payload, supersedes: &str, reason: &str) -> EventDraft {
        EventDraft::typed_correction(payload, supersedes, reason).expect("payload")
    }
}
