//! `fieldbook-bench-sqlcipher`: the plain baseline's captures, roll call
//! and open on a SQLCipher 4 database (default key derivation), run by
//! `fieldbook-bench` as a child process, whose table shows its figures
//! beside Fieldbook's and plain SQLite's.
//!
//! A separate binary because one binary links one SQLite: this one links
//! SQLCipher, the main benchmark (and Fieldbook) plain SQLite.
//!
//! Each command serves one measurement per stdin line (answering its time
//! in ns), so the main benchmark can interleave it with its own arms,
//! sample by sample:
//! - `capture DB` — each stdin line `appointment session crn arrival_ms`
//!   is inserted as its own durable transaction; prints its time in ns.
//! - `roll PLAIN_DB DB SESSION` — copies the plain arm's roll-call
//!   database into an encrypted one (`sqlcipher_export`), reopens it with
//!   the key, then runs one roll call per stdin line and prints its time.
//! - `open DB` — open + key + first read (the key derivation runs on the
//!   first read).

// The roll-call schema is the main benchmark's to create.
#[allow(dead_code)]
#[path = "../../bench/src/plain_arm.rs"]
mod plain_arm;

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The passphrase: the same PIN the Fieldbook arm unlocks with.
const KEY: &str = "274913";

fn open(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // SQLCipher 4 defaults: PBKDF2-HMAC-SHA512, 256,000 iterations,
    // AES-256-CBC pages with an HMAC-SHA512 each.
    conn.pragma_update(None, "key", KEY)?;
    conn.execute_batch(plain_arm::PRAGMAS)?;
    Ok(conn)
}

/// Answers each stdin line with `f`'s time for it, in ns, one per line.
fn serve(
    mut f: impl FnMut(&str) -> Result<Duration, Box<dyn std::error::Error>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let took = f(&line?)?;
        writeln!(out, "{}", took.as_nanos())?;
        out.flush()?;
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    match args {
        [cmd, db] if cmd == "capture" => {
            let conn = open(db)?;
            conn.execute_batch(plain_arm::CAPTURE_SCHEMA)?;
            serve(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let [a, s, c, t] = f[..] else {
                    return Err("capture: expected `appointment session crn arrival_ms`".into());
                };
                let row = plain_arm::PlainCheckIn {
                    appointment_id: a.into(),
                    session_id: s.into(),
                    crn: c.into(),
                    arrival_ms: t.parse()?,
                };
                Ok(plain_arm::capture(&conn, std::slice::from_ref(&row))?
                    .first()
                    .copied()
                    .unwrap_or_default())
            })?;
        }
        [cmd, plain, db, session] if cmd == "roll" => {
            {
                // Unkeyed: SQLCipher reads a plaintext database as SQLite.
                let src = Connection::open(plain)?;
                src.execute("ATTACH DATABASE ?1 AS enc KEY ?2", [db.as_str(), KEY])?;
                src.query_row("SELECT sqlcipher_export('enc')", [], |_| Ok(()))?;
                src.execute_batch("DETACH DATABASE enc")?;
            }
            let conn = open(db)?;
            let expect = plain_arm::roll_call(&conn, session)?;
            serve(|_| {
                Ok(plain_arm::roll_calls(&conn, session, 1, expect)?
                    .first()
                    .copied()
                    .unwrap_or_default())
            })?;
        }
        [cmd, db] if cmd == "open" => serve(|_| {
            let t = Instant::now();
            let conn = open(db)?;
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
            Ok(t.elapsed())
        })?,
        _ => return Err("usage: capture DB | roll PLAIN_DB DB SESSION | open DB".into()),
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("fieldbook-bench-sqlcipher: {e}");
        std::process::exit(1);
    }
}
