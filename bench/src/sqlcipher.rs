//! Runs the SQLCipher arm (`fieldbook-bench-sqlcipher`, a separate binary
//! because one binary links one SQLite) as a child process and reads back
//! its samples. Captures and roll calls are served one per request, so
//! they interleave sample by sample with the other arms (a machine's
//! noise then falls on all three alike).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
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

/// A running arm answering one measurement per request line.
#[derive(Debug)]
pub struct Served {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Served {
    fn start(args: &[&str]) -> Result<Self, String> {
        let bin =
            binary().ok_or("fieldbook-bench-sqlcipher not built (scripts/bench.sh builds it)")?;
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the SQLCipher arm: {e}"))?;
        let input = child.stdin.take().ok_or("no stdin")?;
        let output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Self {
            child,
            input,
            output,
        })
    }

    /// Sends one request line; returns the arm's time for it (its own
    /// clock: the pipe is not in the figure).
    pub fn measure(&mut self, line: &str) -> Result<Duration, String> {
        writeln!(self.input, "{line}")
            .and_then(|()| self.input.flush())
            .map_err(|e| format!("SQLCipher arm: {e}"))?;
        let mut answer = String::new();
        self.output
            .read_line(&mut answer)
            .map_err(|e| format!("SQLCipher arm: {e}"))?;
        answer
            .trim()
            .parse::<u64>()
            .map(Duration::from_nanos)
            .map_err(|_| "the SQLCipher arm stopped".to_owned())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Closing stdin ends the arm's loop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The capture baseline's inserts on a SQLCipher database at `db`, one
/// per [`Served::measure`] of a row's [`capture_line`].
pub fn capture(db: &Path) -> Result<Served, String> {
    Served::start(&["capture", &path(db)])
}

/// The request line for one check-in.
pub fn capture_line(r: &PlainCheckIn) -> String {
    format!(
        "{} {} {} {}",
        r.appointment_id, r.session_id, r.crn, r.arrival_ms
    )
}

/// The roll-call baseline on an encrypted copy (at `db`) of the plain
/// arm's database at `plain`, one roll call per [`Served::measure`].
pub fn roll(plain: &Path, db: &Path, session: &str) -> Result<Served, String> {
    Served::start(&["roll", &path(plain), &path(db), session])
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Open + key + first read of the SQLCipher database at `db`, one per
/// [`Served::measure`].
pub fn open(db: &Path) -> Result<Served, String> {
    Served::start(&["open", &path(db)])
}
