//! The encrypted on-device store: key hierarchy, sealed records and the
//! signed event log behind one object.
//!
//! Lifecycle: [`Store::create`] once per device (returns it unlocked);
//! afterwards [`Store::open`] (locked) then [`Store::unlock`] with the PIN.
//! All reads and writes go through [`Store::read`] and [`Store::write`],
//! which hand out a view of the records and, for writes, the event log, in
//! one SQLite transaction: an event (pending for sync from its commit) and
//! the derived state it changes commit together or not at all.

mod beacons;
mod cache;
mod lockout;
mod log;
mod meta;
mod records;
mod schema;

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::access::{self, AccessAction, AccessEntry, AccessPayload};
use crate::clock::Clock;
use crate::crypto::envelope::{self, UnwrapFailure};
use crate::crypto::kdf::{self, KdfParams, MIN_ITERATIONS};
use crate::crypto::keys::{KeySet, SecretKey};
use crate::crypto::signing::DeviceKey;
use crate::error::{Error, Result};
use crate::events::{ChainReport, EventDraft};
use crate::ids::RecordId;
use crate::platform::PlatformKeyStore;

pub use beacons::BeaconQueue;
pub use lockout::{Gate, LockoutPolicy, LockoutState};
pub use log::{seal_event_row, Appended, ChainHead, Checkpoint, LoggedEvent, Outgoing};
pub use records::{Record, Records, Stored};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;

/// Settings fixed when a store is created.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// The officer this device's captures are recorded under.
    pub officer_id: String,
    /// PBKDF2 iterations for the PIN; at least [`MIN_ITERATIONS`] unless
    /// the build is a test build.
    pub kdf_iterations: u32,
    /// Failed-unlock policy.
    pub lockout: LockoutPolicy,
    /// The office's one-time re-enable code (only its SHA-256 is kept).
    pub office_reset_code: Option<String>,
}

impl StoreSettings {
    /// Release defaults for `officer_id`.
    pub fn new(officer_id: impl Into<String>) -> Self {
        Self {
            officer_id: officer_id.into(),
            kdf_iterations: MIN_ITERATIONS,
            lockout: LockoutPolicy::default(),
            office_reset_code: None,
        }
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("kdf_iterations", &self.kdf_iterations)
            .field("lockout", &self.lockout)
            .finish_non_exhaustive()
    }
}

/// Where the failed-unlock counter stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutStatus {
    /// Consecutive failures.
    pub failures: u32,
    /// Failures left before the office must re-enable the store.
    pub remaining_attempts: u32,
    /// Milliseconds until the next attempt is allowed (0: now).
    pub retry_after_ms: i64,
    /// Whether only the office can re-enable the store.
    pub locked_out: bool,
}

/// What a data-key rotation re-sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// Records re-sealed.
    pub records: u64,
    /// Events re-sealed.
    pub events: u64,
}

struct Session {
    keys: KeySet,
    device: DeviceKey,
    officer: String,
    head: ChainHead,
    sync_deadline_ms: Option<i64>,
    /// Opened record bodies, zeroised when the session drops (lock).
    cache: RefCell<cache::RecordCache>,
}

struct Inner {
    conn: Connection,
    path: PathBuf,
    platform: Arc<dyn PlatformKeyStore>,
    clock: Arc<dyn Clock>,
    session: Option<Session>,
    shredded: bool,
}

/// The encrypted on-device store. Cheap to share (`Arc<Store>`); calls are
/// serialised internally.
pub struct Store {
    inner: Mutex<Inner>,
    // Also outside the mutex, so code inside a transaction can read it.
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("unlocked", &self.is_unlocked())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Creates a new store at `path`, protected by `pin` and the platform
    /// key store, and returns it unlocked. Refuses to touch an existing
    /// store.
    pub fn create(
        path: &Path,
        settings: StoreSettings,
        pin: &str,
        platform: Arc<dyn PlatformKeyStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        kdf::validate_new_pin(pin)?;
        if settings.officer_id.trim().is_empty() {
            return Err(Error::invalid("officer_id", "required"));
        }
        settings.lockout.validate()?;
        if let Some(code) = &settings.office_reset_code {
            validate_office_code(code)?;
        }
        let kdf = KdfParams::new(settings.kdf_iterations)?;

        let mut conn = if path.exists() {
            let conn = schema::open_existing(path)?;
            schema::refuse_newer(&conn)?;
            conn
        } else {
            schema::open_or_create(path)?
        };
        schema::configure(&conn)?;
        schema::migrate(&mut conn, schema::STEPS)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // An interrupted create leaves an empty schema; anything more is a
        // store that must not be overwritten.
        let events: u64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        if meta::get(&tx, meta::KEY_ENVELOPE)?.is_some() || events > 0 {
            return Err(Error::AlreadyExists);
        }
        let data_key = SecretKey::random()?;
        let keys = KeySet::derive(&data_key)?;
        let wrapped = envelope::wrap(&data_key, pin, kdf, platform.as_ref())?;
        drop(data_key);
        let device = DeviceKey::generate()?;
        meta::put(&tx, meta::KEY_ENVELOPE, &wrapped)?;
        meta::put_sealed(&tx, &keys.sealer, meta::CANARY, meta::CANARY_VALUE)?;
        meta::put_sealed(&tx, &keys.sealer, meta::DEVICE_KEY, device.pkcs8())?;
        meta::put_sealed(
            &tx,
            &keys.sealer,
            meta::OFFICER,
            settings.officer_id.as_bytes(),
        )?;
        meta::put_json(&tx, meta::LOCKOUT_POLICY, &settings.lockout)?;
        meta::put_json(&tx, meta::LOCKOUT_STATE, &LockoutState::default())?;
        if let Some(code) = &settings.office_reset_code {
            meta::put(&tx, meta::OFFICE_RESET, &code_digest(code))?;
        }
        tx.commit()?;
        tracing::info!(device = %device.fingerprint(), "store created");
        Ok(Self {
            clock: clock.clone(),
            inner: Mutex::new(Inner {
                conn,
                path: path.to_owned(),
                platform,
                clock,
                shredded: false,
                session: Some(Session {
                    keys,
                    device,
                    officer: settings.officer_id,
                    head: ChainHead::EMPTY,
                    sync_deadline_ms: None,
                    cache: RefCell::default(),
                }),
            }),
        })
    }

    /// Opens an existing store, locked. Refuses damaged files and files
    /// from a newer Fieldbook without changing them.
    pub fn open(
        path: &Path,
        platform: Arc<dyn PlatformKeyStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let mut conn = schema::open_existing(path)?;
        schema::refuse_newer(&conn)?;
        schema::check_integrity(&conn)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn, schema::STEPS)?;
        if meta::get(&conn, meta::KEY_ENVELOPE)?.is_none() {
            return Err(Error::NoStore);
        }
        Ok(Self {
            clock: clock.clone(),
            inner: Mutex::new(Inner {
                conn,
                path: path.to_owned(),
                platform,
                clock,
                shredded: false,
                session: None,
            }),
        })
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic mid-call leaves SQLite's transaction rolled back, so the
        // state behind a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Unlocks with `pin`. Wrong PINs are counted durably; see
    /// [`LockoutPolicy`].
    pub fn unlock(&self, pin: &str) -> Result<()> {
        let mut inner = self.lock_inner();
        if inner.shredded {
            return Err(Error::NoStore);
        }
        if inner.session.is_some() {
            return Ok(());
        }
        let (data_key, _) = check_pin(&mut inner, pin)?;
        let keys = KeySet::derive(&data_key)?;
        drop(data_key);
        let canary = meta::get_sealed(&inner.conn, &keys.sealer, meta::CANARY)
            .map_err(|_| Error::KeyMismatch)?;
        if canary.as_deref() != Some(meta::CANARY_VALUE) {
            return Err(Error::KeyMismatch);
        }
        let pkcs8 = Zeroizing::new(
            meta::get_sealed(&inner.conn, &keys.sealer, meta::DEVICE_KEY)?
                .ok_or_else(|| Error::Corrupt("device key missing".into()))?,
        );
        let device = DeviceKey::from_pkcs8(&pkcs8)?;
        let officer = meta::get_sealed(&inner.conn, &keys.sealer, meta::OFFICER)?
            .ok_or_else(|| Error::Corrupt("officer missing".into()))?;
        let officer =
            String::from_utf8(officer).map_err(|_| Error::Corrupt("officer unreadable".into()))?;
        let head = log::load_head(&inner.conn, &keys)?;
        let sync_deadline_ms = meta::get_json(&inner.conn, meta::SYNC_DEADLINE)?;
        inner.session = Some(Session {
            keys,
            device,
            officer,
            head,
            sync_deadline_ms,
            cache: RefCell::default(),
        });
        Ok(())
    }

    /// Locks the store: the working keys and the cache of opened records
    /// are dropped (and zeroised).
    pub fn lock(&self) {
        let mut inner = self.lock_inner();
        if let Some(session) = inner.session.as_mut() {
            session.cache.get_mut().clear();
        }
        inner.session = None;
    }

    /// How many opened records the session's cache holds (0 while locked).
    #[cfg(test)]
    pub(crate) fn cached_records(&self) -> usize {
        self.lock_inner()
            .session
            .as_ref()
            .map_or(0, |s| s.cache.borrow().len())
    }

    /// Whether the store was crypto-shredded.
    pub fn is_shredded(&self) -> bool {
        self.lock_inner().shredded
    }

    /// Whether the store is unlocked.
    pub fn is_unlocked(&self) -> bool {
        self.lock_inner().session.is_some()
    }

    /// Where the failed-unlock counter stands; available while locked.
    pub fn lockout_status(&self) -> Result<LockoutStatus> {
        let inner = self.lock_inner();
        let policy = load_policy(&inner.conn)?;
        let mut state = load_state(&inner.conn)?;
        let gate = state.gate(&policy, inner.clock.now_utc_ms());
        Ok(LockoutStatus {
            failures: state.failures,
            remaining_attempts: policy.max_failures.saturating_sub(state.failures),
            retry_after_ms: match gate {
                Gate::Wait { ms } => ms,
                _ => 0,
            },
            locked_out: state.locked_out,
        })
    }

    /// Lifts a lock-out with the office's one-time code.
    pub fn office_reenable(&self, code: &str) -> Result<()> {
        let mut inner = self.lock_inner();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let expected = meta::get(&tx, meta::OFFICE_RESET)?
            .ok_or_else(|| Error::invalid("code", "no office code is set on this device"))?;
        let given = code_digest(code);
        if !crate::crypto::ct_eq(&expected, &given) {
            return Err(Error::invalid("code", "not accepted"));
        }
        meta::put_json(&tx, meta::LOCKOUT_STATE, &LockoutState::default())?;
        meta::delete(&tx, meta::OFFICE_RESET)?;
        tx.commit()?;
        tracing::info!("store re-enabled by office code");
        Ok(())
    }

    /// Sets the office's next one-time re-enable code (received by sync).
    pub fn set_office_reset_code(&self, code: &str) -> Result<()> {
        validate_office_code(code)?;
        let inner = self.lock_inner();
        if inner.session.is_none() {
            return Err(Error::Locked);
        }
        meta::put(&inner.conn, meta::OFFICE_RESET, &code_digest(code))
    }

    /// Changes the PIN: the data key is re-wrapped; no data is re-sealed.
    pub fn change_pin(&self, old_pin: &str, new_pin: &str) -> Result<()> {
        kdf::validate_new_pin(new_pin)?;
        let mut inner = self.lock_inner();
        if inner.session.is_none() {
            return Err(Error::Locked);
        }
        let (data_key, old_kdf) = check_pin(&mut inner, old_pin)?;
        let kdf = KdfParams::new(old_kdf.iterations.max(kdf::minimum_iterations()))?;
        let wrapped = envelope::wrap(&data_key, new_pin, kdf, inner.platform.as_ref())?;
        meta::put(&inner.conn, meta::KEY_ENVELOPE, &wrapped)?;
        tracing::info!("PIN changed");
        Ok(())
    }

    /// Replaces the data key and re-seals every record, event and sealed
    /// setting under the new one, in one transaction: a crash leaves either
    /// the old key and data or the new, never a mixture.
    pub fn rotate_data_key(&self, pin: &str) -> Result<RotationReport> {
        let mut inner = self.lock_inner();
        if inner.session.is_none() {
            return Err(Error::Locked);
        }
        let (old_key, old_kdf) = check_pin(&mut inner, pin)?;
        let old_keys = KeySet::derive(&old_key)?;
        drop(old_key);
        let new_key = SecretKey::random()?;
        let new_keys = KeySet::derive(&new_key)?;
        let wrapped = envelope::wrap(
            &new_key,
            pin,
            KdfParams::new(old_kdf.iterations)?,
            inner.platform.as_ref(),
        )?;
        drop(new_key);
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for name in meta::SEALED {
            if let Some(plain) = meta::get_sealed(&tx, &old_keys.sealer, name)? {
                let plain = Zeroizing::new(plain);
                meta::put_sealed(&tx, &new_keys.sealer, name, &plain)?;
            }
        }
        let records = records::reseal_all(&tx, &old_keys, &new_keys)?;
        let events = log::reseal_all(&tx, &old_keys, &new_keys)?;
        meta::put(&tx, meta::KEY_ENVELOPE, &wrapped)?;
        tx.commit()?;
        if let Some(session) = inner.session.as_mut() {
            session.keys = new_keys;
            // Every body was re-sealed: start the cache over.
            session.cache.get_mut().clear();
        }
        tracing::info!(records, events, "data key rotated");
        Ok(RotationReport { records, events })
    }

    /// Events not yet acknowledged by the office; available while locked.
    pub fn pending_count(&self) -> Result<u64> {
        log::pending_count(&self.lock_inner().conn)
    }

    /// Sequence numbers of events not yet acknowledged, in order.
    pub fn pending_seqs(&self) -> Result<Vec<u64>> {
        log::pending_seqs(&self.lock_inner().conn)
    }

    /// Events the office does not hold (pending or quarantined); available
    /// while locked.
    pub fn unsent_count(&self) -> Result<u64> {
        log::unsent_count(&self.lock_inner().conn)
    }

    /// Up to `limit` pending events after sequence number `after`, in order,
    /// as signed: what a push sends.
    pub fn pending_batch(&self, after: u64, limit: u32) -> Result<Vec<Outgoing>> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        log::pending_batch(&guard.conn, &session.keys, after, limit)
    }

    /// Clears acknowledged events from the outbox (only those named: an
    /// event appended while a push was in flight stays pending).
    pub fn acknowledge(&self, seqs: &[u64]) -> Result<()> {
        let mut guard = self.lock_inner();
        let tx = guard
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        log::acknowledge(&tx, seqs)?;
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` safety-lane events the office's clock has not yet
    /// confirmed, oldest first, as signed: what a beacon sends.
    pub fn beacon_batch(&self, limit: usize) -> Result<Vec<Outgoing>> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        beacons::batch(&guard.conn, &session.keys, limit)
    }

    /// The office confirmed these safety-lane events at `now_ms`.
    pub fn beacon_done(&self, seqs: &[u64], now_ms: i64) -> Result<()> {
        let mut guard = self.lock_inner();
        let inner = &mut *guard;
        let session = inner.session.as_ref().ok_or(Error::Locked)?;
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        beacons::done(&tx, &session.keys, seqs, now_ms)?;
        tx.commit()?;
        Ok(())
    }

    /// The safety lane's queue (what is unconfirmed, last contact).
    pub fn beacon_queue(&self) -> Result<BeaconQueue> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        beacons::load(&guard.conn, &session.keys)
    }

    /// Moves an event the office refused into quarantine; it is never
    /// dropped, and a correction that supersedes it resolves it.
    pub fn quarantine(&self, seq: u64, reason: &str) -> Result<()> {
        log::quarantine(&self.lock_inner().conn, seq, reason)
    }

    /// Quarantined events with the office's reasons.
    pub fn quarantined(&self) -> Result<Vec<(LoggedEvent, String)>> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        log::quarantined(&guard.conn, &session.keys)
    }

    /// Sets (or clears) the time after which captures need a sync first.
    pub fn set_sync_deadline(&self, deadline_ms: Option<i64>) -> Result<()> {
        let mut guard = self.lock_inner();
        let inner = &mut *guard;
        let session = inner.session.as_mut().ok_or(Error::Locked)?;
        match deadline_ms {
            Some(ms) => meta::put_json(&inner.conn, meta::SYNC_DEADLINE, &ms)?,
            None => meta::delete(&inner.conn, meta::SYNC_DEADLINE)?,
        }
        session.sync_deadline_ms = deadline_ms;
        Ok(())
    }

    /// Signs `message` with the device key (sync requests).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        Ok(session.device.sign(message))
    }

    /// The officer the store records under.
    pub fn officer_id(&self) -> Result<String> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        Ok(session.officer.clone())
    }

    /// Crypto-shreds the store: the wrapped key is overwritten and deleted,
    /// the WAL is checkpointed (its result checked), the database and its
    /// WAL and shared-memory files are removed, and finally the platform
    /// key itself is destroyed. Without the keys the sealed data cannot be
    /// read even if a copy of the file survives in flash.
    pub fn shred(&self) -> Result<()> {
        let mut inner = self.lock_inner();
        inner.session = None;
        inner.conn.execute_batch(
            "UPDATE meta SET value = zeroblob(length(value)) WHERE name IN ('key_envelope', 'canary', 'device_key');
             DELETE FROM meta WHERE name IN ('key_envelope', 'canary', 'device_key');",
        )?;
        // The zeroed pages must reach the main file and the WAL be emptied
        // before the files go; a busy checkpoint is retried, then refused.
        let mut checkpointed = false;
        for _ in 0..5 {
            let (busy, _log, _done): (i64, i64, i64) =
                inner
                    .conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
            if busy == 0 {
                checkpointed = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !checkpointed {
            return Err(Error::Conflict(
                "the database is busy: the shred could not checkpoint the WAL".into(),
            ));
        }
        let path = inner.path.clone();
        // What remains of this object is an empty shell on an in-memory
        // database; every later call fails.
        let old = std::mem::replace(&mut inner.conn, Connection::open_in_memory()?);
        inner.shredded = true;
        old.close().map_err(|(_, e)| Error::Sqlite(e))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        inner.platform.destroy().map_err(|e| match e {
            crate::platform::KeyStoreError::Failed { reason } => Error::PlatformKeyStore(reason),
            other => Error::PlatformKeyStore(other.to_string()),
        })?;
        tracing::warn!("store crypto-shredded");
        Ok(())
    }

    /// Runs `f` in one IMMEDIATE transaction with write access to records
    /// and the event log. Nothing `f` did persists if it returns an error.
    pub fn write<R>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<R>) -> Result<R> {
        let mut guard = self.lock_inner();
        let inner = &mut *guard;
        let session = inner.session.as_mut().ok_or(Error::Locked)?;
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut writer = Writer {
            conn: &tx,
            sync_deadline_ms: session.sync_deadline_ms,
            keys: &session.keys,
            cache: &session.cache,
            signer: log::Signer {
                device: &session.device,
                officer: &session.officer,
                clock: inner.clock.as_ref(),
            },
            head: session.head,
        };
        let result = f(&mut writer);
        let head = writer.head;
        // The cache takes what the transaction staged only once it has
        // committed; an error anywhere drops it (the transaction rolls back
        // as `tx` drops).
        match result.and_then(|r| Ok((r, tx.commit()?))) {
            Ok((r, ())) => {
                session.head = head;
                session.cache.get_mut().commit();
                Ok(r)
            }
            Err(e) => {
                session.cache.get_mut().rollback();
                Err(e)
            }
        }
    }

    /// Runs `f` with read access, on one consistent snapshot.
    pub fn read<R>(&self, f: impl FnOnce(&Reader<'_>) -> Result<R>) -> Result<R> {
        let mut guard = self.lock_inner();
        let inner = &mut *guard;
        let session = inner.session.as_ref().ok_or(Error::Locked)?;
        let tx = inner.conn.transaction()?;
        let reader = Reader {
            conn: &tx,
            keys: &session.keys,
            cache: &session.cache,
        };
        f(&reader)
    }

    /// Appends one event on its own.
    pub fn append(&self, draft: EventDraft) -> Result<Appended> {
        self.write(|w| w.append(draft))
    }

    /// Up to `limit` events after sequence number `after`, in order.
    pub fn events_after(&self, after: u64, limit: u32) -> Result<Vec<LoggedEvent>> {
        self.read(|r| log::read(r.conn, r.keys, after, limit))
    }

    /// Checks every link of the event log; reports the first broken one.
    pub fn verify_chain(&self) -> Result<ChainReport> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        log::verify(&guard.conn, &session.keys, &session.device.public_key())
    }

    /// Retention: purges events the office has acknowledged and that were
    /// recorded more than `keep_ms` ago, from the start of the log, keeping
    /// a checkpoint (sequence number and hash) so the rest still verifies;
    /// the erasure is itself logged. Unsent and quarantined events are never
    /// purged. Returns how many events went.
    pub fn apply_retention(&self, keep_ms: i64) -> Result<u64> {
        if keep_ms < 0 {
            return Err(Error::invalid("keep_ms", "cannot be negative"));
        }
        let cutoff = self.clock.now_utc_ms() - keep_ms;
        self.write(|w| {
            let (n, checkpoint) = log::purge_acknowledged(w.conn, w.keys, cutoff)?;
            if let Some(c) = checkpoint {
                w.record_access(
                    AccessAction::Erasure,
                    AccessPayload {
                        subject: format!("events up to {}", c.seq),
                        purpose: "retention: acknowledged by the office".into(),
                        recipient: None,
                    },
                )?;
            }
            Ok(n)
        })
    }

    /// The retention checkpoint, if retention has purged anything.
    pub fn retention_checkpoint(&self) -> Result<Option<Checkpoint>> {
        log::checkpoint(&self.lock_inner().conn)
    }

    /// The section 62 access log, oldest first.
    pub fn access_log(&self) -> Result<Vec<AccessEntry>> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let batch = self.events_after(after, 512)?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            out.extend(batch.iter().filter_map(|e| access::entry_for(&e.body)));
        }
        Ok(out)
    }

    /// The device's Ed25519 public key.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        let guard = self.lock_inner();
        let session = guard.session.as_ref().ok_or(Error::Locked)?;
        Ok(session.device.public_key())
    }

    /// The clock the store records with.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The path of the database file.
    pub fn path(&self) -> PathBuf {
        self.lock_inner().path.clone()
    }

    /// Locks and closes the store, checkpointing the WAL into the file.
    pub fn close(self) -> Result<()> {
        let inner = self.inner.into_inner().unwrap_or_else(|e| e.into_inner());
        drop(inner.session);
        inner.conn.close().map_err(|(_, e)| Error::Sqlite(e))
    }
}

/// Read access inside [`Store::read`].
#[derive(Debug)]
pub struct Reader<'a> {
    conn: &'a Connection,
    keys: &'a KeySet,
    cache: &'a RefCell<cache::RecordCache>,
}

impl Reader<'_> {
    /// The records.
    pub fn records(&self) -> Records<'_> {
        Records {
            conn: self.conn,
            keys: self.keys,
            cache: Some(self.cache),
        }
    }

    /// Sequence numbers of events not yet acknowledged by the office.
    pub fn pending_seqs(&self) -> Result<Vec<u64>> {
        log::pending_seqs(self.conn)
    }
}

/// Write access inside [`Store::write`].
#[derive(Debug)]
pub struct Writer<'a> {
    conn: &'a Connection,
    sync_deadline_ms: Option<i64>,
    keys: &'a KeySet,
    cache: &'a RefCell<cache::RecordCache>,
    signer: log::Signer<'a>,
    head: ChainHead,
}

impl Writer<'_> {
    /// The records as this transaction sees them.
    pub fn records(&self) -> Records<'_> {
        Records {
            conn: self.conn,
            keys: self.keys,
            cache: Some(self.cache),
        }
    }

    /// Sequence numbers of events not yet acknowledged by the office.
    pub fn pending_seqs(&self) -> Result<Vec<u64>> {
        log::pending_seqs(self.conn)
    }

    /// Writes `value` under `id`; returns its new version.
    pub fn put<T: Record>(&mut self, id: &RecordId, value: &T) -> Result<u64> {
        records::put(&self.records(), id, value)
    }

    /// Removes a record without an access-log entry: for reference data the
    /// office withdrew (the office logs that side). Returns whether it
    /// existed.
    pub fn remove<T: Record>(&mut self, id: &RecordId) -> Result<bool> {
        records::delete(&self.records(), T::COLLECTION, id)
    }

    /// Erases a record and logs the erasure with `purpose`.
    pub fn erase<T: Record>(&mut self, id: &RecordId, purpose: &str) -> Result<bool> {
        let existed = records::delete(&self.records(), T::COLLECTION, id)?;
        if existed {
            self.record_access(
                AccessAction::Erasure,
                AccessPayload {
                    subject: format!("{}/{}", T::COLLECTION, id),
                    purpose: purpose.to_owned(),
                    recipient: None,
                },
            )?;
        }
        Ok(existed)
    }

    /// Appends an event (pending for sync once committed). Refused with
    /// [`Error::SyncRequired`] once the sync deadline has passed, except
    /// lone-worker safety events and access-log records.
    pub fn append(&mut self, draft: EventDraft) -> Result<Appended> {
        // Safety never waits for a sync: a visit can always start (and its
        // timer run), be checked in, alerted, ended, and an office
        // acknowledgement recorded.
        let exempt = crate::events::kinds::is_safety_lane(&draft.kind)
            || draft.kind.starts_with("visit.safety")
            || draft.kind.starts_with(crate::access::KIND_PREFIX);
        if let Some(deadline) = self.sync_deadline_ms {
            if !exempt && self.signer.clock.now_utc_ms() > deadline {
                return Err(Error::SyncRequired);
            }
        }
        let safety_lane = crate::events::kinds::is_safety_lane(&draft.kind);
        let appended = log::append(self.conn, self.keys, self.signer, &mut self.head, draft)?;
        if safety_lane {
            beacons::enqueue(self.conn, self.keys, appended.seq)?;
        }
        Ok(appended)
    }

    /// The safety lane's queue as this transaction sees it.
    pub fn beacon_queue(&self) -> Result<BeaconQueue> {
        beacons::load(self.conn, self.keys)
    }

    /// Records that personal data was looked at (`subject`: a record or view
    /// reference, never a name) for `purpose`.
    pub fn record_consultation(&mut self, subject: String, purpose: &str) -> Result<()> {
        self.record_access(
            AccessAction::Consultation,
            AccessPayload {
                subject,
                purpose: purpose.to_owned(),
                recipient: None,
            },
        )?;
        Ok(())
    }

    /// Records a consultation, disclosure, combination or erasure.
    pub fn record_access(
        &mut self,
        action: AccessAction,
        payload: AccessPayload,
    ) -> Result<Appended> {
        payload.validate()?;
        let value = serde_json::to_value(&payload)?;
        self.append(EventDraft::new(action.event_kind(), value))
    }

    /// The officer recording.
    pub fn officer(&self) -> &str {
        self.signer.officer
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.signer.clock
    }
}

fn load_policy(conn: &Connection) -> Result<LockoutPolicy> {
    Ok(meta::get_json(conn, meta::LOCKOUT_POLICY)?.unwrap_or_default())
}

fn load_state(conn: &Connection) -> Result<LockoutState> {
    Ok(meta::get_json(conn, meta::LOCKOUT_STATE)?.unwrap_or_default())
}

/// Gate, count, unwrap, then forgive or lock out: the one path every PIN
/// check takes.
fn check_pin(inner: &mut Inner, pin: &str) -> Result<(SecretKey, KdfParams)> {
    let now = inner.clock.now_utc_ms();
    let policy = load_policy(&inner.conn)?;
    let mut state = load_state(&inner.conn)?;
    match state.gate(&policy, now) {
        Gate::LockedOut => return Err(Error::LockedOut),
        Gate::Wait { ms } => {
            meta::put_json(&inner.conn, meta::LOCKOUT_STATE, &state)?;
            return Err(Error::RetryLater { retry_after_ms: ms });
        }
        Gate::Open => {}
    }
    // Counted before the check, so killing the app mid-check gains nothing.
    state.begin_attempt(now);
    meta::put_json(&inner.conn, meta::LOCKOUT_STATE, &state)?;
    let wrapped = meta::get(&inner.conn, meta::KEY_ENVELOPE)?.ok_or(Error::NoStore)?;
    match envelope::unwrap(&wrapped, pin, inner.platform.as_ref()) {
        Ok(found) => {
            state.success();
            // The forgiveness need not wait for its own flush: lost in a
            // crash, the attempt stays counted as unfinished (what the
            // counter assumes of any attempt it never saw end), never the
            // other way round; the next durable commit flushes it anyway.
            // One fsync fewer on every unlock.
            schema::without_flush(&inner.conn, |c| {
                meta::put_json(c, meta::LOCKOUT_STATE, &state)
            })?;
            Ok(found)
        }
        Err(UnwrapFailure::WrongPin) => {
            let remaining = state.wrong_pin(&policy);
            meta::put_json(&inner.conn, meta::LOCKOUT_STATE, &state)?;
            tracing::warn!(failures = state.failures, "wrong PIN");
            if state.locked_out {
                Err(Error::LockedOut)
            } else {
                Err(Error::WrongPin {
                    remaining_attempts: remaining,
                })
            }
        }
        Err(other) => {
            state.not_a_guess();
            meta::put_json(&inner.conn, meta::LOCKOUT_STATE, &state)?;
            Err(match other {
                UnwrapFailure::PlatformKey => Error::PlatformKeyUnavailable {
                    unsent_events: log::unsent_count(&inner.conn)?,
                },
                UnwrapFailure::PlatformFailed(reason) => Error::PlatformKeyStore(reason),
                UnwrapFailure::UserAuthenticationRequired => Error::UserAuthenticationRequired,
                UnwrapFailure::Invalid(err) => err,
                UnwrapFailure::WrongPin => Error::Crypto("unreachable"),
            })
        }
    }
}

fn validate_office_code(code: &str) -> Result<()> {
    if code.chars().count() < 16 {
        return Err(Error::invalid(
            "office_reset_code",
            "at least 16 characters",
        ));
    }
    Ok(())
}

fn code_digest(code: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, code.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod unlock_tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::platform::SoftwareKeyStore;

    const PIN: &str = "274913";

    #[test]
    fn unlock_forgives_the_attempt_and_leaves_commits_flushed() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("db");
        let platform = Arc::new(SoftwareKeyStore::random().expect("rng"));
        let clock = Arc::new(ManualClock::new(1_795_424_400_000));
        let mut settings = StoreSettings::new("sup");
        settings.kdf_iterations = 1000;
        Store::create(&path, settings, PIN, platform.clone(), clock.clone())
            .expect("create")
            .close()
            .expect("close");
        let store = Store::open(&path, platform.clone(), clock.clone()).expect("open");
        assert!(matches!(
            store.unlock("111111"),
            Err(Error::WrongPin { .. })
        ));
        assert_eq!(store.lockout_status().expect("status").failures, 1);
        store.unlock(PIN).expect("unlock");
        assert_eq!(store.lockout_status().expect("status").failures, 0);
        let sync: i64 = store
            .lock_inner()
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(sync, 2, "captures after an unlock commit with FULL");
        store.close().expect("close");
        // The forgiveness reached the file.
        let store = Store::open(&path, platform, clock).expect("reopen");
        assert_eq!(store.lockout_status().expect("status").failures, 0);
    }
}
