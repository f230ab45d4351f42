//! How long the server's outboxes (safety notices, deliveries to the
//! system of record) wait before trying again.

/// Delay before attempt `attempt + 1` after `attempt` failed: doubling
/// from `base_ms`, at most `max_ms`.
pub fn backoff_ms(attempt: i64, base_ms: i64, max_ms: i64) -> i64 {
    let shift = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    base_ms.saturating_mul(1i64 << shift).min(max_ms)
}
