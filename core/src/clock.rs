//! Time as the core sees it, behind a trait so tests (and the shells) can
//! inject it.
//!
//! Device wall clocks are wrong often enough that nothing may be ordered by
//! them alone: every reading carries the wall clock, the UTC offset in force
//! at capture (so local times survive clock changes) and a monotonic reading.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// A source of time. Implemented by the platform shells and by [`SystemClock`].
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch, UTC, as the device believes it.
    fn now_utc_ms(&self) -> i64;
    /// The local UTC offset in minutes at this instant (e.g. +60 for BST).
    fn utc_offset_minutes(&self) -> i32;
    /// A reading that only moves forward while the device runs; its origin
    /// is arbitrary (boot, process start).
    fn monotonic_ms(&self) -> u64;
}

/// The host's clock. Offset is taken from the local time zone.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Clock for SystemClock {
    fn now_utc_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn utc_offset_minutes(&self) -> i32 {
        chrono::Local::now().offset().local_minus_utc() / 60
    }

    fn monotonic_ms(&self) -> u64 {
        u64::try_from(process_start().elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A clock the test moves by hand. Wall time may move backwards (as a
/// device's may); the monotonic reading never does.
#[derive(Debug)]
pub struct ManualClock {
    utc_ms: AtomicI64,
    offset_min: AtomicI64,
    mono_ms: AtomicU64,
}

impl ManualClock {
    /// A clock at `utc_ms` with a zero offset.
    pub fn new(utc_ms: i64) -> Self {
        Self {
            utc_ms: AtomicI64::new(utc_ms),
            offset_min: AtomicI64::new(0),
            mono_ms: AtomicU64::new(0),
        }
    }

    /// Moves both wall and monotonic time forward.
    pub fn advance_ms(&self, ms: u64) {
        self.utc_ms
            .fetch_add(i64::try_from(ms).unwrap_or(i64::MAX), Ordering::SeqCst);
        self.mono_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the wall clock only, as a user or network time update would.
    pub fn set_wall_ms(&self, utc_ms: i64) {
        self.utc_ms.store(utc_ms, Ordering::SeqCst);
    }

    /// Sets the UTC offset, as a daylight-saving change would.
    pub fn set_offset_minutes(&self, minutes: i32) {
        self.offset_min.store(i64::from(minutes), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_utc_ms(&self) -> i64 {
        self.utc_ms.load(Ordering::SeqCst)
    }

    fn utc_offset_minutes(&self) -> i32 {
        i32::try_from(self.offset_min.load(Ordering::SeqCst)).unwrap_or(0)
    }

    fn monotonic_ms(&self) -> u64 {
        self.mono_ms.load(Ordering::SeqCst)
    }
}
