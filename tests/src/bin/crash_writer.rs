//! A device process for the crash-safety test: it writes to a store in a
//! loop and reports each commit on stdout, until the test kills it.
//!
//! Usage: `crash_writer append|rotate <db> <platform-key-file>` or
//! `crash_writer sync <db> <platform-key-file> <server-url>`
//!
//! `append` commits an event, its derived counter and a record per
//! transaction and prints `committed <seq> <event id>` after each commit.
//! `rotate` alternates appends with data-key rotations. `sync` appends a
//! few events and syncs them to the server, in a loop, so the kill lands
//! mid-push.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use fieldbook_core::clock::SystemClock;
use fieldbook_core::events::EventDraft;
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::{Result, Store};
use fieldbook_e2e::{Counter, Person, COUNTER_ID, PIN};

fn append_one(store: &Store) -> Result<(u64, String)> {
    store.write(|w| {
        let counter_id = RecordId::parse(COUNTER_ID)?;
        let counter = w
            .records()
            .get::<Counter>(&counter_id)?
            .map(|c| c.value)
            .unwrap_or(Counter {
                last_seq: 0,
                count: 0,
            });
        let appended = w.append(EventDraft::new(
            "test.crash_write",
            serde_json::json!({ "n": counter.count + 1 }),
        ))?;
        w.put(
            &counter_id,
            &Counter {
                last_seq: appended.seq,
                count: counter.count + 1,
            },
        )?;
        w.put(
            &RecordId::random()?,
            &Person {
                crn: format!("C{}", appended.seq),
                name: "crash".into(),
                address: "test".into(),
                notes: String::new(),
            },
        )?;
        Ok((appended.seq, appended.id))
    })
}

fn run(mode: &str, db: &Path, key_file: &Path) -> Result<()> {
    let platform = Arc::new(SoftwareKeyStore::load_or_create(key_file)?);
    let store = Store::open(db, platform, Arc::new(SystemClock))?;
    store.unlock(PIN)?;
    let stdout = std::io::stdout();
    let mut round: u64 = 0;
    loop {
        round += 1;
        if mode == "rotate" && round.is_multiple_of(4) {
            store.rotate_data_key(PIN)?;
            writeln!(stdout.lock(), "rotated")?;
            continue;
        }
        let (seq, id) = append_one(&store)?;
        let mut out = stdout.lock();
        writeln!(out, "committed {seq} {id}")?;
        out.flush()?;
    }
}

fn sync_loop(db: &Path, key_file: &Path, url: &str) -> Result<()> {
    let platform = Arc::new(SoftwareKeyStore::load_or_create(key_file)?);
    let store = Arc::new(Store::open(db, platform, Arc::new(SystemClock))?);
    store.unlock(PIN)?;
    let mut config = fieldbook_core::sync::SyncConfig::new(url);
    config.batch_size = 3;
    let client = fieldbook_core::sync::SyncClient::new(store.clone(), config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let never = std::sync::atomic::AtomicBool::new(false);
    let stdout = std::io::stdout();
    loop {
        for _ in 0..4 {
            let (seq, id) = append_one(&store)?;
            let mut out = stdout.lock();
            writeln!(out, "committed {seq} {id}")?;
            out.flush()?;
        }
        rt.block_on(client.sync(None, &never))?;
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, db, key, url] = args.as_slice() {
        if mode == "sync" {
            return match sync_loop(Path::new(db), Path::new(key), url) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("crash_writer: {err}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let [_, mode, db, key] = args.as_slice() else {
        eprintln!("usage: crash_writer append|rotate <db> <platform-key-file>");
        return ExitCode::from(2);
    };
    match run(mode, Path::new(db), Path::new(key)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("crash_writer: {err}");
            ExitCode::FAILURE
        }
    }
}
