//! `FieldbookApp`: the one object a shell holds. It owns the store, the
//! services over it and the library's tokio runtime, and exposes every
//! capture, view model and sync operation the shells need.
//!
//! Store calls are quick, synchronous SQLite work: shells call them off the
//! main thread (a background dispatcher / task). Network work is async or
//! runs on the library's own runtime behind a cancellable handle.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use fieldbook_core::events::EventDraft;
use fieldbook_core::home_visits::HomeVisits;
use fieldbook_core::ids::RecordId;
use fieldbook_core::store::{Store, StoreSettings};
use fieldbook_core::sync::{SyncClient, SyncConfig};
use fieldbook_core::unpaid_work::UnpaidWork;

use crate::error::{FieldbookError, Res};
use crate::platform::Connectivity;
use crate::platform::{
    ClockAdapter, ClockSource, KeyStore, KeyStoreAdapter, NotificationScheduler,
};
use crate::types::*;
use fieldbook_core::sync::schedule::{SchedulePolicy, Scheduler, Trigger};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldbook")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the fieldbook runtime: {e}"))
    })
}

fn stamp_of(s: fieldbook_core::vocab::Stamp) -> Stamp {
    Stamp {
        utc_ms: s.utc_ms,
        offset_min: s.offset_min,
    }
}

fn id(text: &str) -> Res<RecordId> {
    Ok(RecordId::parse(text)?)
}

/// Receives sync progress.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    /// Called as the sync moves on.
    fn on_progress(&self, progress: SyncProgress);
}

struct ListenerAdapter(Arc<dyn SyncListener>);

impl fieldbook_core::sync::SyncObserver for ListenerAdapter {
    fn progress(&self, p: fieldbook_core::sync::SyncProgress) {
        self.0.on_progress(p.into());
    }
}

/// A running sync: wait for it, or cancel it. Dropping it does not cancel.
#[derive(uniffi::Object)]
pub struct SyncHandle {
    cancel: Arc<AtomicBool>,
    task: Mutex<Option<tokio::task::JoinHandle<Res<SyncSummary>>>>,
}

impl std::fmt::Debug for SyncHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncHandle")
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl SyncHandle {
    /// Stops the sync at the next safe point. What was acknowledged stays
    /// acknowledged; the rest stays pending.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            task.abort();
        }
    }

    /// Waits for the result.
    pub async fn await_result(&self) -> Res<SyncSummary> {
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        match task {
            None => Err(FieldbookError::Conflict {
                reason: "already awaited".into(),
            }),
            Some(t) => match t.await {
                Ok(r) => r,
                Err(e) if e.is_cancelled() => Err(FieldbookError::Cancelled),
                Err(_) => Err(FieldbookError::Storage {
                    reason: "sync task failed".into(),
                }),
            },
        }
    }
}

/// The shell's handle on Fieldbook.
#[derive(uniffi::Object)]
pub struct FieldbookApp {
    db_path: PathBuf,
    key_store: Arc<dyn KeyStore>,
    clock: Arc<dyn ClockSource>,
    scheduler: Option<Arc<dyn NotificationScheduler>>,
    store: Mutex<Option<Arc<Store>>>,
    pub(crate) sync_config: Mutex<Option<SyncConfig>>,
    kdf_iterations: u32,
    connectivity: Mutex<Option<Arc<dyn Connectivity>>>,
    sync_schedule: Arc<Mutex<Scheduler>>,
}

impl std::fmt::Debug for FieldbookApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldbookApp")
    }
}

impl FieldbookApp {
    pub(crate) fn store(&self) -> Res<Arc<Store>> {
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(FieldbookError::Locked)
    }

    /// The store, opened (locked) from its file if not yet open.
    fn opened_store(&self) -> Res<Arc<Store>> {
        let mut guard = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = guard.as_ref() {
            return Ok(store.clone());
        }
        let store = Arc::new(Store::open(
            &self.db_path,
            Arc::new(KeyStoreAdapter(self.key_store.clone())),
            Arc::new(ClockAdapter(self.clock.clone())),
        )?);
        *guard = Some(store.clone());
        Ok(store)
    }

    fn upw(&self) -> Res<UnpaidWork> {
        Ok(UnpaidWork::new(self.store()?))
    }

    fn hv(&self) -> Res<HomeVisits> {
        Ok(HomeVisits::new(self.store()?))
    }

    fn client(&self) -> Res<SyncClient> {
        let config = self
            .sync_config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| FieldbookError::Conflict {
                reason: "configure sync first".into(),
            })?;
        Ok(SyncClient::new(self.store()?, config)?)
    }

    /// Sends the safety lane at once, in the background, after a safety
    /// action: with signal the office hears within seconds; without, the
    /// shell's call at the tick's `beacon_due_ms` is the retry.
    fn kick_safety_lane(&self) {
        let Ok(client) = self.client() else { return };
        runtime().spawn(async move {
            if let Err(e) = client.send_safety(&AtomicBool::new(false)).await {
                tracing::debug!("safety lane: {e}");
            }
        });
    }

    fn schedule(&self, views: &[SafetyView]) {
        if let Some(s) = &self.scheduler {
            for v in views {
                s.cancel_all(v.visit_id.clone());
                for a in &v.alarms {
                    s.schedule(v.visit_id.clone(), a.at_ms, a.kind);
                }
            }
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl FieldbookApp {
    /// The app over the store file at `db_path` (created by
    /// [`FieldbookApp::create_store`], opened by [`FieldbookApp::unlock`]).
    #[uniffi::constructor]
    pub fn new(
        db_path: String,
        key_store: Arc<dyn KeyStore>,
        clock: Arc<dyn ClockSource>,
        scheduler: Option<Arc<dyn NotificationScheduler>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            db_path: PathBuf::from(db_path),
            key_store,
            clock,
            scheduler,
            store: Mutex::new(None),
            sync_config: Mutex::new(None),
            kdf_iterations: fieldbook_core::crypto::kdf::MIN_ITERATIONS,
            connectivity: Mutex::new(None),
            sync_schedule: Arc::new(Mutex::new(Scheduler {
                online: true,
                ..Scheduler::default()
            })),
        })
    }

    /// The core's version.
    pub fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// Whether a store exists on this device.
    pub fn store_exists(&self) -> bool {
        self.db_path.exists()
    }

    /// Creates the encrypted store for `officer_id`, protected by `pin` and
    /// the platform key store; leaves it unlocked.
    pub fn create_store(&self, officer_id: String, pin: String) -> Res<()> {
        let mut settings = StoreSettings::new(officer_id);
        settings.kdf_iterations = self.kdf_iterations;
        let store = Store::create(
            &self.db_path,
            settings,
            &pin,
            Arc::new(KeyStoreAdapter(self.key_store.clone())),
            Arc::new(ClockAdapter(self.clock.clone())),
        )?;
        *self.store.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(store));
        Ok(())
    }

    /// Opens (if needed) and unlocks the store, then restores the sync
    /// settings kept in it (address, certificate pins, options), so a
    /// restarted app syncs with the same pins it was given at enrolment.
    pub fn unlock(&self, pin: String) -> Res<()> {
        self.opened_store()?.unlock(&pin)?;
        // A setting that no longer validates must not keep the officer out:
        // the store is open; sync asks to be configured again.
        if let Err(e) = self.restore_sync_settings() {
            tracing::warn!("kept sync settings not restored: {e}");
        }
        Ok(())
    }

    /// Locks the store (keys are dropped).
    pub fn lock(&self) {
        if let Ok(s) = self.store() {
            s.lock();
        }
    }

    /// Whether the store is unlocked.
    pub fn is_unlocked(&self) -> bool {
        self.store().map(|s| s.is_unlocked()).unwrap_or(false)
    }

    /// The failed-unlock counter.
    pub fn lockout_status(&self) -> Res<LockoutStatus> {
        let s = self.opened_store()?.lockout_status()?;
        Ok(LockoutStatus {
            failures: s.failures,
            remaining_attempts: s.remaining_attempts,
            retry_after_ms: s.retry_after_ms,
            locked_out: s.locked_out,
        })
    }

    /// Changes the PIN.
    pub fn change_pin(&self, old_pin: String, new_pin: String) -> Res<()> {
        Ok(self.store()?.change_pin(&old_pin, &new_pin)?)
    }

    /// Lifts a lock-out with the office's one-time code.
    pub fn office_reenable(&self, code: String) -> Res<()> {
        self.opened_store()?
            .office_reenable(&code)
            .map_err(|e| FieldbookError::from(e).relabel("code", "Office code"))
    }

    /// Events not yet acknowledged by the office.
    pub fn pending_count(&self) -> Res<u64> {
        Ok(self.store()?.pending_count()?)
    }

    // ---- sync ----

    /// Where the office is, which certificates to accept (SHA-256 hex;
    /// empty: the public CA roots) and, optionally, the batch size and the
    /// staleness limit. Kept in the sealed store and restored by `unlock`,
    /// so the pins survive a restart.
    #[uniffi::method(default(options = None))]
    pub fn configure_sync(
        &self,
        server_url: String,
        pinned_cert_sha256: Vec<String>,
        options: Option<crate::shell_support::SyncOptions>,
    ) -> Res<()> {
        let settings = crate::shell_support::SavedSync {
            server_url,
            pinned_cert_sha256,
            batch_size: options.as_ref().and_then(|o| o.batch_size),
            max_unsynced_ms: options.as_ref().and_then(|o| o.max_unsynced_ms),
        };
        // Validated before it is kept, so the shell hears about a bad URL at once.
        self.apply_sync_settings(&settings)?;
        self.save_sync_settings(&settings)
    }

    /// Enrols the device with the office's one-time code.
    pub async fn enrol(&self, code: String, label: String) -> Res<Enrolment> {
        let client = self.client()?;
        let e = runtime()
            .spawn(async move { client.enrol(&code, &label).await })
            .await
            .map_err(|_| FieldbookError::Cancelled)??;
        Ok(Enrolment {
            device_id: e.device_id,
            officer_id: e.officer_id,
            role: snake_name(&e.role),
        })
    }

    /// Starts a sync on the library's runtime; progress goes to `listener`.
    /// Writes access-log entries for the reference data it receives and
    /// for what the office withdrew and it erased.
    pub fn sync(&self, listener: Option<Arc<dyn SyncListener>>) -> Res<Arc<SyncHandle>> {
        let client = self.client()?;
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let task = runtime().spawn(async move {
            let adapter = listener.map(ListenerAdapter);
            let observer = adapter
                .as_ref()
                .map(|a| a as &dyn fieldbook_core::sync::SyncObserver);
            client
                .sync(observer, &flag)
                .await
                .map(SyncSummary::from)
                .map_err(FieldbookError::from)
        });
        Ok(Arc::new(SyncHandle {
            cancel,
            task: Mutex::new(Some(task)),
        }))
    }

    /// One contact with the lone-worker safety lane: sends the safety
    /// events the office's clock has not confirmed, ahead of any backlog,
    /// and records the office's acknowledgements (shown in the safety
    /// view). Call it after every safety action and again at the tick's
    /// `beacon_due_ms` while a visit runs; a failure is a network error to
    /// retry then. Writes a `visit.ack_seen` event per new acknowledgement.
    pub async fn send_safety(&self) -> Res<SafetyLaneSummary> {
        let client = self.client()?;
        runtime()
            .spawn(async move {
                client
                    .send_safety(&AtomicBool::new(false))
                    .await
                    .map(SafetyLaneSummary::from)
                    .map_err(FieldbookError::from)
            })
            .await
            .map_err(|_| FieldbookError::Cancelled)?
    }

    /// Tells the core how to ask whether the device is online.
    pub fn set_connectivity(&self, connectivity: Arc<dyn Connectivity>) {
        *self.connectivity.lock().unwrap_or_else(|e| e.into_inner()) = Some(connectivity);
    }

    /// Whether a sync should start now for `trigger`: at once on demand,
    /// on reconnect and at app start; on the timer or after a capture only
    /// when online and due (backing off while syncs fail).
    pub fn should_sync(&self, trigger: SyncTrigger) -> bool {
        let online = self
            .connectivity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|c| c.is_online())
            .unwrap_or(true);
        let mut s = self.sync_schedule.lock().unwrap_or_else(|e| e.into_inner());
        s.connectivity(online);
        let t = match trigger {
            SyncTrigger::OnDemand => Trigger::OnDemand,
            SyncTrigger::Reconnected => Trigger::Reconnected,
            SyncTrigger::AppStart => Trigger::AppStart,
            SyncTrigger::Timer => Trigger::Timer,
            SyncTrigger::Captured => Trigger::Captured,
        };
        s.should_start(&SchedulePolicy::default(), t, self.clock.now_utc_ms())
    }

    /// When the periodic sync timer should next fire (UTC ms), if known.
    pub fn next_sync_due_ms(&self) -> Option<i64> {
        self.sync_schedule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_due_ms(&SchedulePolicy::default())
    }

    /// Events the office refused, with its reasons.
    pub fn quarantine(&self) -> Res<Vec<QuarantinedEvent>> {
        Ok(self
            .store()?
            .quarantined()?
            .into_iter()
            .map(|(e, reason)| QuarantinedEvent {
                event_id: e.body.id,
                seq: e.seq,
                kind: e.body.kind,
                reason,
            })
            .collect())
    }

    /// Records the refused event again as a correction that supersedes it
    /// (after the office fixed what it refused), with the officer's reason.
    pub fn resubmit_quarantined(&self, event_id: String, reason: String) -> Res<Recorded> {
        let store = self.store()?;
        let (event, _) = store
            .quarantined()?
            .into_iter()
            .find(|(e, _)| e.body.id == event_id)
            .ok_or_else(|| FieldbookError::NotFound {
                what: "quarantined event".into(),
            })?;
        let appended = store.append(EventDraft::correction(
            event.body.kind,
            event.body.payload,
            event_id,
            reason,
        ))?;
        Ok(Recorded {
            event_id: appended.id,
            seq: appended.seq,
            record_id: None,
        })
    }

    // ---- unpaid work ----

    /// The supervisor's sessions from today for `days_ahead` days (counts
    /// only; no access-log entry).
    pub fn upw_today(&self, days_ahead: u32) -> Res<Vec<SessionSummary>> {
        let officer = self.store()?.officer_id()?;
        Ok(self
            .upw()?
            .today(&officer, days_ahead)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A session's roll call. Writes an access-log entry (a consultation).
    pub fn upw_roll_call(&self, session_id: String) -> Res<RollCall> {
        Ok(self.upw()?.roll_call(&id(&session_id)?)?.into())
    }

    /// Marks a session started (a first check-in also does). `None`: it
    /// had started already; nothing new was recorded.
    pub fn upw_start_session(&self, session_id: String) -> Res<Option<Recorded>> {
        Ok(self
            .upw()?
            .start_session(&id(&session_id)?)?
            .map(Into::into))
    }

    /// The appointment form: outcomes offered with hints, defaults, the
    /// current outcome and its history. Writes an access-log entry (a
    /// consultation).
    pub fn upw_appointment_form(&self, appointment_id: String) -> Res<AppointmentForm> {
        let f = self.upw()?.appointment_form(&id(&appointment_id)?)?;
        let recorded =
            |o: fieldbook_core::unpaid_work::model::OutcomeRecord| -> Res<RecordedOutcome> {
                let answered = o.compliance != Default::default();
                Ok(RecordedOutcome {
                    arrival: o.arrival.map(stamp_of),
                    departure: o.departure.map(stamp_of),
                    penalty_minutes: o.penalty_minutes,
                    work_quality: convert(&o.work_quality)?,
                    behaviour: convert(&o.behaviour)?,
                    raise_alert: o.raise_alert,
                    travel_minutes: o.travel_minutes,
                    compliance: if answered {
                        Some(convert(&o.compliance)?)
                    } else {
                        None
                    },
                    event_id: o.event_id,
                    code: o.code,
                    minutes_credited: o.minutes_credited,
                    notes: o.notes,
                    sensitive: o.sensitive,
                    correction_reason: o.correction_reason,
                })
            };
        let session_id = self.store()?.read(|r| {
            Ok(r.records()
                .require::<fieldbook_core::unpaid_work::model::Appointment>(
                    &id(&appointment_id)
                        .map_err(|_| fieldbook_core::Error::invalid("appointment_id", "bad id"))?,
                )?
                .value
                .session_id)
        })?;
        let roll: RollCall = self.upw()?.roll_call_unlogged(&session_id)?.into();
        let row = roll
            .rows
            .into_iter()
            .find(|r| r.appointment_id == appointment_id)
            .ok_or_else(|| FieldbookError::NotFound {
                what: "appointment".into(),
            })?;
        Ok(AppointmentForm {
            row,
            outcomes: f
                .outcomes
                .into_iter()
                .map(|o| OutcomeOption {
                    code: o.code,
                    description: o.description,
                    hint: o.hint,
                    enforceable: o.enforceable,
                    asks_compliance: o.asks_compliance,
                })
                .collect(),
            default_arrival: Stamp {
                utc_ms: f.default_arrival.utc_ms,
                offset_min: f.default_arrival.offset_min,
            },
            default_departure: Stamp {
                utc_ms: f.default_departure.utc_ms,
                offset_min: f.default_departure.offset_min,
            },
            travel_time_eligible: f.travel_time_eligible,
            current: f.current.map(recorded).transpose()?,
            history: f.history.into_iter().map(recorded).collect::<Res<_>>()?,
            notes_max_chars: u32::try_from(f.notes_max_chars).unwrap_or(u32::MAX),
        })
    }

    /// Records an arrival. `None`: a double tap, nothing new was recorded.
    pub fn upw_check_in(&self, appointment_id: String, input: CheckIn) -> Res<Option<Recorded>> {
        let core: fieldbook_core::unpaid_work::CheckIn = convert(&input)?;
        Ok(self
            .upw()?
            .check_in(&id(&appointment_id)?, core)?
            .map(Into::into))
    }

    /// "Did not attend" (UACP).
    pub fn upw_did_not_attend(
        &self,
        appointment_id: String,
        raise_alert: bool,
    ) -> Res<OutcomeResult> {
        Ok(self
            .upw()?
            .did_not_attend(&id(&appointment_id)?, raise_alert)?
            .into())
    }

    /// Records an outcome.
    pub fn upw_record_outcome(
        &self,
        appointment_id: String,
        input: OutcomeInput,
    ) -> Res<OutcomeResult> {
        Ok(self
            .upw()?
            .record_outcome(&id(&appointment_id)?, convert(&input)?)?
            .into())
    }

    /// Corrects an outcome with a reason.
    pub fn upw_correct_outcome(
        &self,
        appointment_id: String,
        input: OutcomeInput,
        reason: String,
    ) -> Res<OutcomeResult> {
        Ok(self
            .upw()?
            .correct_outcome(&id(&appointment_id)?, convert(&input)?, &reason)?
            .into())
    }

    /// Checks a proposed outcome without recording it.
    pub fn upw_check_outcome(
        &self,
        appointment_id: String,
        input: OutcomeInput,
    ) -> Res<OutcomeCheck> {
        let c = self
            .upw()?
            .check_outcome(&id(&appointment_id)?, &convert(&input)?)?;
        Ok(OutcomeCheck {
            errors: c.errors.into_iter().map(Into::into).collect(),
            minutes_credited: c.minutes_credited,
            late_by_minutes: c.late_by_minutes,
            enforcement: c.enforcement.map(|s| snake_name(&s)),
            after_expected_end: c.after_expected_end,
        })
    }

    /// Stands a session down; returns its event and how many outcomes were
    /// recorded with it.
    pub fn upw_stand_down(&self, session_id: String, reason: String) -> Res<StandDownResult> {
        let r = self.upw()?.stand_down(&id(&session_id)?, &reason)?;
        Ok(StandDownResult {
            recorded: r.recorded.into(),
            outcomes_recorded: r.outcomes_recorded,
        })
    }

    /// Ends and closes a session.
    pub fn upw_end_session(&self, session_id: String) -> Res<Recorded> {
        Ok(self.upw()?.end_session(&id(&session_id)?)?.into())
    }

    /// Records an incident.
    pub fn upw_record_incident(&self, session_id: String, description: String) -> Res<Recorded> {
        Ok(self
            .upw()?
            .record_incident(&id(&session_id)?, &description)?
            .into())
    }

    /// Records a headcount, beside the number on site by the roll call.
    pub fn upw_record_headcount(&self, session_id: String, count: u32) -> Res<HeadcountResult> {
        let h = self.upw()?.record_headcount(&id(&session_id)?, count)?;
        Ok(HeadcountResult {
            recorded: h.recorded.into(),
            count: h.count,
            on_site: h.on_site,
        })
    }

    /// Records someone who turned up unallocated; the record names the new
    /// appointment.
    pub fn upw_unallocated_arrival(
        &self,
        session_id: String,
        crn: String,
        name: Option<String>,
    ) -> Res<Recorded> {
        Ok(self
            .upw()?
            .record_unallocated_arrival(&id(&session_id)?, &crn, name, None)?
            .into())
    }

    /// Records that the supervisor gave an enforcement warning on site for
    /// the appointment's enforceable outcome.
    pub fn upw_record_warning_given(&self, appointment_id: String) -> Res<Recorded> {
        Ok(self
            .upw()?
            .record_warning_given(&id(&appointment_id)?)?
            .into())
    }

    /// A person's ledger. Writes an access-log entry (a consultation).
    pub fn upw_person_ledger(&self, requirement_id: String) -> Res<PersonLedger> {
        let l = self.upw()?.person_ledger(&id(&requirement_id)?)?;
        Ok(PersonLedger {
            label: l.label,
            crn: l.crn,
            required_minutes: l.ledger.required_minutes,
            credited_minutes: l.ledger.credited_minutes,
            positive_adjustment_minutes: l.ledger.positive_adjustment_minutes,
            negative_adjustment_minutes: l.ledger.negative_adjustment_minutes,
            outstanding_minutes: l.ledger.outstanding_minutes,
            ete_credited_minutes: l.ledger.ete_credited_minutes,
            ete_cap_minutes: l.ledger.ete_cap_minutes,
            warnings_given: l.warnings_given.iter().map(|d| d.to_string()).collect(),
            scheduled_minutes: l.ledger.scheduled_minutes,
            at_risk: l.ledger.at_risk,
            order_end: l.order_end.to_string(),
            open_enforcement_codes: l.open_enforcement.into_iter().map(|e| e.code).collect(),
            policy_version: l.ledger.policy_version,
        })
    }

    // ---- home visits ----

    /// Today's visits, overdue first. Writes an access-log entry (a
    /// consultation).
    pub fn hv_today(&self) -> Res<Vec<VisitDue>> {
        Ok(self
            .hv()?
            .today()?
            .into_iter()
            .map(|d| VisitDue {
                case_id: d.case_id.to_string(),
                label: d.label,
                crn: d.crn,
                scheduled_visit_id: d.scheduled_visit_id.map(|i| i.to_string()),
                purpose: d.purpose,
                address: d.address.text,
                access_notes: d.address.access_notes,
                risk_level: snake_name(&d.risk_level),
                staff_risks: d
                    .staff_risks
                    .iter()
                    .map(|r| serde_json::to_string(r).unwrap_or_default())
                    .collect(),
                due: d.due.to_string(),
                overdue_days: d.overdue_days,
                days_since_last_visit: d.days_since_last_visit,
            })
            .collect())
    }

    /// Starts a visit and its lone-worker timer (and schedules its alarms).
    pub fn hv_start_visit(&self, input: StartVisit) -> Res<StartedVisit> {
        let started = self.hv()?.start_visit(convert(&input)?)?;
        let safety: SafetyView = started.safety.into();
        self.schedule(std::slice::from_ref(&safety));
        self.kick_safety_lane();
        Ok(StartedVisit {
            recorded: started.recorded.into(),
            visit_id: started.visit_id.to_string(),
            warnings: started
                .warnings
                .iter()
                .map(|w| serde_json::to_string(w).unwrap_or_default())
                .collect(),
            safety,
        })
    }

    /// Extends the expected finish.
    pub fn hv_extend(&self, visit_id: String, minutes: i64) -> Res<SafetyView> {
        let v: SafetyView = self.hv()?.extend(&id(&visit_id)?, minutes)?.into();
        self.schedule(std::slice::from_ref(&v));
        self.kick_safety_lane();
        Ok(v)
    }

    /// Checks in safe.
    pub fn hv_check_in_safe(&self, visit_id: String) -> Res<SafetyView> {
        let v: SafetyView = self.hv()?.check_in_safe(&id(&visit_id)?)?.into();
        self.schedule(std::slice::from_ref(&v));
        self.kick_safety_lane();
        Ok(v)
    }

    /// Raises an alert; `silent` keeps the phone quiet.
    pub fn hv_raise_alert(&self, visit_id: String, silent: bool) -> Res<SafetyView> {
        let v: SafetyView = self.hv()?.raise_alert(&id(&visit_id)?, silent)?.into();
        self.kick_safety_lane();
        Ok(v)
    }

    /// Moves every running timer on and reschedules alarms.
    pub fn hv_tick(&self) -> Res<SafetyTick> {
        let t = self.hv()?.tick()?;
        let visits: Vec<SafetyView> = t.visits.into_iter().map(Into::into).collect();
        self.schedule(&visits);
        Ok(SafetyTick {
            visits,
            next_wake_ms: t.next_wake_ms,
            beacon_due_ms: t.beacon_due_ms,
            beacon_interval_ms: fieldbook_core::sync::protocol::BEACON_INTERVAL_MS,
        })
    }

    /// Ends a visit now (and cancels its alarms).
    pub fn hv_end_visit(&self, visit_id: String, location: Option<GeoPoint>) -> Res<Recorded> {
        let loc = match location {
            Some(l) => Some(convert(&l)?),
            None => None,
        };
        let recorded = self.hv()?.end_visit(&id(&visit_id)?, None, loc)?;
        if let Some(s) = &self.scheduler {
            s.cancel_all(visit_id);
        }
        self.kick_safety_lane();
        Ok(recorded.into())
    }

    /// Saves the draft (sealed; no event, so no [`Recorded`]); returns what
    /// finalising would complain about.
    pub fn hv_save_draft(&self, visit_id: String, form: VisitForm) -> Res<Vec<FieldMessage>> {
        Ok(self
            .hv()?
            .save_draft(&id(&visit_id)?, convert(&form)?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Finalises the visit record.
    pub fn hv_finalise(&self, visit_id: String) -> Res<Recorded> {
        Ok(self.hv()?.finalise(&id(&visit_id)?)?.into())
    }

    /// Amends a finalised visit.
    pub fn hv_amend(&self, visit_id: String, form: VisitForm, reason: String) -> Res<Recorded> {
        Ok(self
            .hv()?
            .amend(&id(&visit_id)?, convert(&form)?, &reason)?
            .into())
    }

    /// Marks follow-up `index` of a finalised visit done. `None`: it was
    /// done already; nothing new was recorded.
    pub fn hv_complete_follow_up(&self, visit_id: String, index: u32) -> Res<Option<Recorded>> {
        Ok(self
            .hv()?
            .complete_follow_up(&id(&visit_id)?, index as usize)?
            .map(Into::into))
    }

    /// Erases expired drafts; returns how many. Writes an access-log entry
    /// (an erasure) for each.
    pub fn hv_expire_drafts(&self) -> Res<u32> {
        Ok(self.hv()?.expire_drafts()?)
    }

    /// The active-visit screen. Writes an access-log entry (a
    /// consultation).
    pub fn hv_active_visit(&self, visit_id: String) -> Res<ActiveVisit> {
        let v = self.hv()?.active_visit(&id(&visit_id)?)?;
        let case_id = self.store()?.read(|r| {
            Ok(r.records()
                .require::<fieldbook_core::home_visits::model::Visit>(&v.visit_id)?
                .value
                .case_id)
        })?;
        Ok(ActiveVisit {
            visit_id: v.visit_id.to_string(),
            case_id: case_id.to_string(),
            label: v.label,
            address: v.address.text,
            access_notes: v.address.access_notes,
            safety: v.safety.into(),
            status: snake_name(&v.status),
            form: convert(&v.form)?,
            validation: v.validation.into_iter().map(Into::into).collect(),
            draft_expiry: serde_json::to_value(v.draft_expiry)
                .ok()
                .and_then(|j| j.get("state").and_then(|s| s.as_str()).map(str::to_owned))
                .unwrap_or_default(),
        })
    }

    /// The person's visit history. Writes an access-log entry (a
    /// consultation).
    pub fn hv_person(&self, case_id: String) -> Res<PersonVisits> {
        let p = self.hv()?.person(&id(&case_id)?)?;
        Ok(PersonVisits {
            label: p.label,
            crn: p.crn,
            history: p
                .history
                .into_iter()
                .map(|l| VisitLine {
                    visit_id: l.visit_id.to_string(),
                    start: Stamp {
                        utc_ms: l.start.utc_ms,
                        offset_min: l.start.offset_min,
                    },
                    planned: l.planned,
                    outcome: l.outcome,
                    amendments: u32::try_from(l.amendments).unwrap_or(u32::MAX),
                    amendable: l.status == fieldbook_core::home_visits::model::RecordStatus::Final,
                })
                .collect(),
            open_follow_ups: p
                .open_follow_ups
                .into_iter()
                .map(|(visit, index, f)| {
                    Ok(OpenFollowUp {
                        visit_id: visit.to_string(),
                        index: u32::try_from(index).unwrap_or(u32::MAX),
                        follow_up: convert(&f)?,
                    })
                })
                .collect::<Res<_>>()?,
            next_due: p.next_due.to_string(),
            overdue_by_policy: p.overdue_by_policy,
        })
    }
}
