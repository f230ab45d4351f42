//! Crash safety: a child process writes in a loop and is killed with SIGKILL
//! at random points. Every commit it reported must be present, the chain
//! must verify, the outbox must hold every event, and the derived state must
//! match the log.
//!
//! Runs are seeded: `FIELDBOOK_CRASH_SEED` repeats a failing run,
//! `FIELDBOOK_CRASH_RUNS` sets how many (soak).

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fieldbook_core::clock::SystemClock;
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::Store;
use fieldbook_e2e::{test_settings, Counter, Person, COUNTER_ID, PIN};
use rand::{Rng, SeedableRng};

const WRITER: &str = env!("CARGO_BIN_EXE_crash_writer");

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the writer for `ms`, kills it, returns the commits it reported.
fn run_and_kill(mode: &str, db: &Path, key: &Path, ms: u64) -> Vec<(u64, String)> {
    let mut child = Command::new(WRITER)
        .args([mode, &db.display().to_string(), &key.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn writer");
    std::thread::sleep(Duration::from_millis(ms));
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no close.
    let _ = child.kill();
    let status = child.wait().expect("wait");
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read stdout");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(
        err.is_empty() && !status.success(),
        "writer failed on its own: {status} {err}"
    );
    let text = String::from_utf8_lossy(&out);
    // A line cut off by the kill (no newline) was not a complete report.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("committed"), Some(seq), Some(id)) => {
                    Some((seq.parse().expect("seq"), id.to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

fn check_store(db: &Path, key: &Path, reported: &HashSet<String>, seed: u64, run: u64) {
    let ctx = format!("seed {seed} run {run}");
    let platform = Arc::new(SoftwareKeyStore::load_or_create(key).expect("key"));
    let store = Store::open(db, platform, Arc::new(SystemClock)).expect(&ctx);
    store.unlock(PIN).expect(&ctx);
    let report = store.verify_chain().expect(&ctx);
    assert!(report.is_intact(), "{ctx}: {report:?}");
    let mut present = HashSet::new();
    let mut after = 0;
    loop {
        let batch = store.events_after(after, 1000).expect(&ctx);
        let Some(last) = batch.last() else { break };
        after = last.seq;
        present.extend(batch.into_iter().map(|e| e.body.id));
    }
    let missing: Vec<_> = reported.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "{ctx}: committed events lost: {missing:?}"
    );
    let head = report.verified;
    let pending = store.pending_seqs().expect(&ctx);
    assert_eq!(pending, (1..=head).collect::<Vec<_>>(), "{ctx}: outbox");
    let counter = store
        .read(|r| r.records().get::<Counter>(&RecordId::parse(COUNTER_ID)?))
        .expect(&ctx);
    let people = store.read(|r| r.records().all::<Person>()).expect(&ctx);
    if head > 0 {
        let counter = counter.expect("counter").value;
        assert_eq!((counter.last_seq, counter.count), (head, head), "{ctx}");
    }
    assert_eq!(people.len() as u64, head, "{ctx}: derived records");
    store.close().expect(&ctx);
}

fn crash_loop(mode: &str, runs: u64) {
    let seed = env_u64("FIELDBOOK_CRASH_SEED", rand::random());
    println!("crash test {mode}: seed {seed}, {runs} runs");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("device.db");
    let key = dir.path().join("platform.key");
    let platform = Arc::new(SoftwareKeyStore::load_or_create(&key).expect("key"));
    Store::create(
        &db,
        test_settings("officer-crash"),
        PIN,
        platform,
        Arc::new(SystemClock),
    )
    .expect("create")
    .close()
    .expect("close");

    let mut reported = HashSet::new();
    let mut total = 0;
    for run in 0..runs {
        let ms = rng.gen_range(20..250);
        let commits = run_and_kill(mode, &db, &key, ms);
        total += commits.len();
        reported.extend(commits.into_iter().map(|(_, id)| id));
        check_store(&db, &key, &reported, seed, run);
    }
    assert!(total > 0, "the writer never committed anything");
    println!("crash test {mode}: {total} reported commits survived {runs} kills");
}

#[test]
fn killed_writer_loses_no_reported_commit() {
    crash_loop("append", env_u64("FIELDBOOK_CRASH_RUNS", 40));
}

#[test]
fn killed_key_rotation_leaves_a_consistent_store() {
    crash_loop("rotate", env_u64("FIELDBOOK_CRASH_RUNS", 40) / 2);
}

/// The device process is SIGKILLed mid-push, many times; afterwards one
/// clean sync leaves the office holding exactly the device's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_push_loses_and_duplicates_nothing() {
    use fieldbook_e2e::harness::{office_holds_exactly, server, wall_now, Office, SyncDevice};
    let seed = env_u64("FIELDBOOK_CRASH_SEED", rand::random());
    let runs = env_u64("FIELDBOOK_CRASH_RUNS", 40) / 2;
    println!("sync kill test: seed {seed}, {runs} runs");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tmp");
    let server = server(fieldbook_server::Storage::Sqlite(
        dir.path().join("office.db"),
    ))
    .await;
    let office = Office::new(server.addr);
    office.officer("officer-crash", "probation_officer").await;
    let url = format!("http://{}", server.addr);
    // Enrol a store whose files the child can open.
    let enrolled = SyncDevice::enrol(&office, "officer-crash", &url, None).await;
    let db = enrolled.device.db.clone();
    let key = enrolled.device.dir.path().join("platform.key");
    std::fs::write(&key, enrolled.device.platform.export_for_tests()).expect("key file");
    let SyncDevice {
        device,
        store,
        client,
    } = enrolled;
    drop(client);
    Arc::try_unwrap(store)
        .expect("sole owner")
        .close()
        .expect("close");
    let mut reported = HashSet::new();
    for _ in 0..runs {
        let ms = rng.gen_range(30..300);
        let db2 = db.clone();
        let key2 = key.clone();
        let url2 = url.clone();
        let commits = tokio::task::spawn_blocking(move || {
            let mut child = Command::new(WRITER)
                .args([
                    "sync",
                    &db2.display().to_string(),
                    &key2.display().to_string(),
                    &url2,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            std::thread::sleep(Duration::from_millis(ms));
            let _ = child.kill();
            let _ = child.wait();
            let mut out = String::new();
            child
                .stdout
                .take()
                .expect("stdout")
                .read_to_string(&mut out)
                .expect("read");
            let complete = match out.rfind('\n') {
                Some(i) => out[..=i].to_owned(),
                None => String::new(),
            };
            complete
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("committed ")
                        .and_then(|r| r.split(' ').nth(1))
                        .map(str::to_owned)
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("child");
        reported.extend(commits);
    }
    assert!(!reported.is_empty(), "the child never committed");
    // Reopen in this process and finish the sync cleanly.
    let platform = Arc::new(SoftwareKeyStore::load_or_create(&key).expect("key"));
    device.clock.set_wall_ms(wall_now());
    let store = Arc::new(Store::open(&db, platform, device.clock()).expect("open"));
    store.unlock(PIN).expect("unlock");
    assert!(store.verify_chain().expect("chain").is_intact());
    let client = fieldbook_core::sync::SyncClient::new(
        store.clone(),
        fieldbook_e2e::harness::fast_config(&url),
    )
    .expect("client");
    client
        .sync(None, &std::sync::atomic::AtomicBool::new(false))
        .await
        .expect("final sync");
    assert_eq!(store.pending_count().expect("pending"), 0);
    let phone = SyncDevice {
        device,
        store,
        client,
    };
    office_holds_exactly(
        &server.state.db,
        &phone,
        "test.crash_write",
        &format!("seed {seed}"),
    )
    .await;
    let held = server.state.db.event_count().await.expect("count");
    assert!(
        held as usize >= reported.len(),
        "office holds {held}, device reported {}",
        reported.len()
    );
    println!(
        "sync kill test: {} reported commits, {held} events at the office after {runs} kills",
        reported.len()
    );
    server.shutdown().await;
}
