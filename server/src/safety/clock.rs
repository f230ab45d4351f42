//! The time the office's safety clock runs on: the system clock, or in
//! tests a clock they move (in process) or an offset read from a file
//! (across processes).

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of the current time (UTC ms).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, UTC ms.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        crate::api::now_ms()
    }
}

/// A clock a test sets.
#[derive(Debug, Default, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock at `ms`.
    pub fn at(ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(ms)))
    }

    /// Sets it.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Moves it on.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// For tests across processes only: the system clock plus an offset in
/// milliseconds read from a file at every reading (missing or unreadable
/// counts as 0). The server warns loudly at start when it is used.
#[derive(Debug, Clone)]
pub struct OffsetFileClock(pub PathBuf);

impl Clock for OffsetFileClock {
    fn now_ms(&self) -> i64 {
        let offset = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(0);
        crate::api::now_ms().saturating_add(offset)
    }
}
