//! Collects rows and prints them as a Markdown table, plus timing helpers.

use std::time::Duration;

/// Rows of results.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    /// Adds a row: what, Fieldbook's figure, baseline, ratio, note.
    pub fn row(&mut self, what: &str, ours: String, base: String, ratio: String, note: &str) {
        eprintln!("  {what}: {ours} | {base} | {ratio} {note}");
        self.rows
            .push([what.into(), ours, base, ratio, note.into()]);
    }

    /// Prints the table.
    pub fn print(&self) {
        println!("| measure | Fieldbook | baseline | ratio | note |");
        println!("| --- | --- | --- | --- | --- |");
        for r in &self.rows {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}

/// Median and 99th percentile of samples.
pub fn stats(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    if samples.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    let median = samples[samples.len() / 2];
    let p99 = samples[((samples.len() * 99) / 100).min(samples.len() - 1)];
    (median, p99)
}

/// Milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// A ratio of two durations.
pub fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "n/a".into();
    }
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

/// The process's peak resident set size so far, in KiB (Linux).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The load average line of `/proc/loadavg` (Linux): others' work on a
/// shared machine shows here.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
