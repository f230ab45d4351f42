//! Runs the SQLCipher arm (`fieldbook-bench-sqlcipher`, a separate binary
//! because one binary links one SQLite) as a child process and reads back
//! its samples.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::plain_arm::PlainCheckIn;

/// Where the SQLCipher arm's binary is: `FIELDBOOK_SQLCIPHER_BENCH`, or
/// beside this binary (`scripts/bench.sh` builds both into one target
/// directory).
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FIELDBOOK_SQLCIPHER_BENCH") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("fieldbook-bench-sqlcipher");
    p.exists().then_some(p)
}

/// Runs one command of the arm, feeding `stdin`; returns the samples of
/// the measure it printed, or why not (the table then says the arm is
/// missing rather than failing the run).
fn run(args: &[&str], stdin: &str, measure: &str) -> Result<Vec<Duration>, String> {
    let bin = binary().ok_or("fieldbook-bench-sqlcipher not built (scripts/bench.sh builds it)")?;
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the SQLCipher arm: {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .map_err(|e| format!("stdin: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("SQLCipher arm: {e}"))?;
    if !out.status.success() {
        return Err(format!("SQLCipher arm exited with {}", out.status));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if v["measure"] == measure {
            let ns = v["samples_ns"].as_array().ok_or("no samples")?;
            return Ok(ns
                .iter()
                .filter_map(serde_json::Value::as_u64)
                .map(Duration::from_nanos)
                .collect());
        }
    }
    Err(format!("SQLCipher arm printed no {measure} samples"))
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The capture baseline's inserts on a SQLCipher database at `db`.
pub fn capture(db: &Path, rows: &[PlainCheckIn]) -> Result<Vec<Duration>, String> {
    let input: String = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}\n",
                r.appointment_id, r.session_id, r.crn, r.arrival_ms
            )
        })
        .collect();
    run(&["capture", &path(db)], &input, "capture")
}

/// The roll-call baseline on an encrypted copy (at `db`) of the plain
/// arm's database at `plain`.
pub fn roll(
    plain: &Path,
    db: &Path,
    session: &str,
    iterations: usize,
) -> Result<Vec<Duration>, String> {
    run(
        &[
            "roll",
            &path(plain),
            &path(db),
            session,
            &iterations.to_string(),
        ],
        "",
        "roll",
    )
}

/// Open + key + first read of the SQLCipher database at `db`.
pub fn open(db: &Path, iterations: usize) -> Result<Vec<Duration>, String> {
    run(&["open", &path(db), &iterations.to_string()], "", "open")
}
