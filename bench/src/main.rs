//! `fieldbook-bench`: prints a table of what Fieldbook's encryption,
//! signing and sync cost, each beside its plain baseline measured in the
//! same run. Build and run with `scripts/bench.sh`.
//!
//! 1. capture latency (check-in) vs a plain rusqlite insert, same durability
//! 2. roll call view (30 people) on a two-year store and at ten times that,
//!    vs the same lookups on plaintext tables
//! 3. unlock: PIN KDF + unwrap + open, and the platform unwrap alone
//! 4. sync push of 10,000 events to a loopback server (SQLite, PostgreSQL)
//! 5. server ingest from 200 concurrent devices (SQLite, PostgreSQL)
//! 6. data-key rotation of the two-year store
//! 7. office reads: every console page and office API list on a year of
//!    a region's data, against the running server
//!
//! Captures, roll call and unlock are also run against SQLCipher 4 (the
//! whole-database encryption CommCare and DHIS2 Android ship) by the
//! `fieldbook-bench-sqlcipher` child process.

mod data;
mod ingest;
mod office_reads;
mod plain_arm;
mod report;
mod sqlcipher;

use std::time::Instant;

use report::Table;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only capture|roll|unlock|push|ingest|office` runs one part (for profiling).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let mut table = Table::default();
    let started = Instant::now();
    let load_before = report::load_average();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if run("capture") {
        data::capture_latency(&mut table, if quick { 200 } else { 1000 });
    }
    if run("roll") {
        data::roll_call_and_rotation(&mut table, quick);
    }
    if run("unlock") {
        data::unlock(&mut table);
    }
    if run("push") {
        rt.block_on(ingest::push_10k(&mut table, quick));
    }
    if run("ingest") {
        rt.block_on(ingest::server_ingest(&mut table, quick));
    }
    if run("office") {
        rt.block_on(office_reads::office_reads(&mut table, quick));
    }
    table.print();
    println!();
    println!(
        "Load average (1, 5, 15 min) before the run: {load_before}; after: {} ({} CPUs).",
        report::load_average(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    eprintln!("benchmarks took {:.0} s", started.elapsed().as_secs_f64());
}
