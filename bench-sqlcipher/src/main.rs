//! `fieldbook-bench-sqlcipher`: the plain baseline's captures, roll call
//! and open on a SQLCipher 4 database (default key derivation), run by
//! `fieldbook-bench` as a child process; prints one JSON line per measure
//! (`{"measure": …, "samples_ns": […]}`) for the main benchmark's table.
//!
//! A separate binary because one binary links one SQLite: this one links
//! SQLCipher, the main benchmark (and Fieldbook) plain SQLite.
//!
//! Commands:
//! - `capture DB` — reads `appointment session crn arrival_ms` lines on
//!   stdin, inserts each as its own durable transaction.
//! - `roll PLAIN_DB DB SESSION ITERATIONS` — copies the plain arm's
//!   roll-call database into an encrypted one (`sqlcipher_export`), reopens
//!   it with the key, times the same roll call.
//! - `open DB ITERATIONS` — times open + key + first read (the key
//!   derivation runs on the first read).

// The roll-call schema is the main benchmark's to create.
#[allow(dead_code)]
#[path = "../../bench/src/plain_arm.rs"]
mod plain_arm;

use std::io::BufRead;
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

fn emit(measure: &str, samples: &[Duration]) {
    let ns: Vec<u128> = samples.iter().map(Duration::as_nanos).collect();
    println!(
        "{}",
        serde_json::json!({ "measure": measure, "samples_ns": ns })
    );
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    match args {
        [cmd, db] if cmd == "capture" => {
            let mut rows = Vec::new();
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                let f: Vec<&str> = line.split_whitespace().collect();
                if let [a, s, c, t] = f[..] {
                    rows.push(plain_arm::PlainCheckIn {
                        appointment_id: a.into(),
                        session_id: s.into(),
                        crn: c.into(),
                        arrival_ms: t.parse()?,
                    });
                }
            }
            let conn = open(db)?;
            conn.execute_batch(plain_arm::CAPTURE_SCHEMA)?;
            emit("capture", &plain_arm::capture(&conn, &rows)?);
        }
        [cmd, plain, db, session, iterations] if cmd == "roll" => {
            let iterations: usize = iterations.parse()?;
            {
                // Unkeyed: SQLCipher reads a plaintext database as SQLite.
                let src = Connection::open(plain)?;
                src.execute("ATTACH DATABASE ?1 AS enc KEY ?2", [db.as_str(), KEY])?;
                src.query_row("SELECT sqlcipher_export('enc')", [], |_| Ok(()))?;
                src.execute_batch("DETACH DATABASE enc")?;
            }
            let conn = open(db)?;
            let expect = plain_arm::roll_call(&conn, session)?;
            emit(
                "roll",
                &plain_arm::roll_calls(&conn, session, iterations, expect)?,
            );
        }
        [cmd, db, iterations] if cmd == "open" => {
            let mut samples = Vec::new();
            for _ in 0..iterations.parse::<usize>()? {
                let t = Instant::now();
                let conn = open(db)?;
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
                samples.push(t.elapsed());
            }
            emit("open", &samples);
        }
        _ => return Err("usage: capture DB | roll PLAIN_DB DB SESSION N | open DB N".into()),
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
