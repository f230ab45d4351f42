//! What every part of the core shares: time stamps, risk levels, case
//! reference numbers, the record a capture returns. Features import from here, never from each other.

use serde::{Deserialize, Serialize};

use crate::clock::Clock;

/// A time captured on the device: UTC plus the offset in force, so local
/// times survive clock changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Milliseconds since the epoch, UTC.
    pub utc_ms: i64,
    /// Local offset in minutes at capture.
    pub offset_min: i32,
}

impl Stamp {
    /// The local date and time.
    pub fn local(&self) -> chrono::NaiveDateTime {
        let utc = chrono::DateTime::from_timestamp_millis(self.utc_ms).unwrap_or_default();
        (utc + chrono::Duration::minutes(i64::from(self.offset_min))).naive_utc()
    }

    /// The local clock time as a person reads it and nDelius records it:
    /// to the minute, seconds dropped (09:00:40 is 09:00).
    pub fn local_minute(&self) -> chrono::NaiveDateTime {
        use chrono::Timelike;
        let l = self.local();
        l.with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(l)
    }
}

/// Current time as a stamp.
pub fn now_stamp(clock: &dyn Clock) -> Stamp {
    Stamp {
        utc_ms: clock.now_utc_ms(),
        offset_min: clock.utc_offset_minutes(),
    }
}

/// Risk of serious harm level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Very high.
    VeryHigh,
}

/// What every capture returns: the signed event it wrote (its id and its
/// per-device sequence number) and the record it created, if any (the new
/// visit, the unallocated arrival's appointment). Shells show it, keep it
/// for the sync screen, or ignore it; they never build one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The event's id.
    pub event_id: String,
    /// The event's sequence number on this device.
    pub seq: u64,
    /// The record the capture created, where it created one.
    pub record_id: Option<crate::ids::RecordId>,
}

impl Recorded {
    /// An event that created no record.
    pub fn event(event_id: impl Into<String>, seq: u64) -> Self {
        Self {
            event_id: event_id.into(),
            seq,
            record_id: None,
        }
    }

    /// The same, naming the record it created.
    pub fn creating(mut self, record_id: crate::ids::RecordId) -> Self {
        self.record_id = Some(record_id);
        self
    }
}

/// CRNs compare without case or surrounding space.
pub fn normalise_crn(crn: &str) -> String {
    crn.trim().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_minute_drops_seconds_on_the_local_clock() {
        // 09:00:40 UTC, one hour ahead locally: 10:00.
        let s = Stamp {
            utc_ms: 1_795_424_440_000,
            offset_min: 60,
        };
        assert_eq!(s.local().format("%H:%M:%S").to_string(), "10:00:40");
        assert_eq!(s.local_minute().format("%H:%M:%S").to_string(), "10:00:00");
        assert_eq!(normalise_crn(" x123 "), "X123");
    }
}
