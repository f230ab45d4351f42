import FieldbookCore
import Foundation

/// The phone's clocks: wall time, the local offset, and a reading that only
/// moves forward while the phone runs (the lone-worker timer never runs
/// backwards when someone sets the wall clock back).
final class DeviceClock: ClockSource, Sendable {
    func nowUtcMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
    func utcOffsetMinutes() -> Int32 { Int32(TimeZone.current.secondsFromGMT(for: Date()) / 60) }
    func monotonicMs() -> UInt64 {
        // CLOCK_MONOTONIC_RAW does not stop while the phone sleeps (unlike systemUptime).
        UInt64(clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW) / 1_000_000)
    }
}
