//! The main job's demonstration of the core: create an encrypted store,
//! capture, close, reopen, unlock, verify. Uses the release KDF cost and a
//! software platform key (a phone uses its hardware key store instead).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use fieldbook_core::access::{AccessAction, AccessPayload};
use fieldbook_core::clock::SystemClock;
use fieldbook_core::events::EventDraft;
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::store::{Record, StoreSettings};
use fieldbook_core::{Result, Store};
use serde::{Deserialize, Serialize};

const PIN: &str = "274913";

#[derive(Debug, Serialize, Deserialize)]
struct Person {
    crn: String,
    name: String,
}

impl Record for Person {
    const COLLECTION: &'static str = "demo_person";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![("crn", self.crn.clone())]
    }
}

fn run(dir: &Path) -> Result<()> {
    let db = dir.join("fieldbook.db");
    let platform = Arc::new(SoftwareKeyStore::load_or_create(&dir.join("platform.key"))?);
    let clock = Arc::new(SystemClock);

    let started = Instant::now();
    let store = Store::create(
        &db,
        StoreSettings::new("officer-demo"),
        PIN,
        platform.clone(),
        clock.clone(),
    )?;
    println!(
        "created encrypted store in {:?} (PBKDF2 {} iterations)",
        started.elapsed(),
        StoreSettings::new("x").kdf_iterations
    );

    let people = [("X100001", "Alex Example"), ("X100002", "Sam Sample")];
    for (crn, name) in people {
        store.write(|w| {
            let id = RecordId::random()?;
            w.put(
                &id,
                &Person {
                    crn: crn.into(),
                    name: name.into(),
                },
            )?;
            w.append(EventDraft::new(
                "demo.arrived",
                serde_json::json!({ "person": id.to_string() }),
            ))?;
            Ok(())
        })?;
    }
    println!(
        "captured {} events; {} pending for sync",
        people.len(),
        store.pending_count()?
    );
    store.close()?;
    println!("closed");

    let store = Store::open(&db, platform, clock)?;
    if let Err(err) = store.unlock("000111") {
        println!("wrong PIN refused: {err}");
    }
    let started = Instant::now();
    store.unlock(PIN)?;
    println!("reopened and unlocked in {:?}", started.elapsed());
    let found = store.write(|w| {
        let found = w.records().find::<Person>("crn", "X100002")?;
        for person in &found {
            w.record_access(
                AccessAction::Consultation,
                AccessPayload {
                    subject: person.id.to_string(),
                    purpose: "demonstration lookup".into(),
                    recipient: None,
                },
            )?;
        }
        Ok(found)
    })?;
    println!("blind-index lookup by CRN found {} record(s)", found.len());
    let report = store.verify_chain()?;
    println!(
        "event chain: {} events verified, intact = {}",
        report.verified,
        report.is_intact()
    );
    for entry in store.access_log()? {
        println!(
            "  access log #{}: {:?} {}",
            entry.seq, entry.action, entry.subject
        );
    }
    let ok = report.is_intact() && found.len() == 1;
    store.close()?;
    if ok {
        println!("demonstration OK");
        Ok(())
    } else {
        Err(fieldbook_core::Error::Corrupt(
            "demonstration check failed".into(),
        ))
    }
}

fn main() -> ExitCode {
    let dir = std::env::temp_dir().join(format!("fieldbook-demo-{}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    let result = run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demonstration failed: {err}");
            ExitCode::FAILURE
        }
    }
}
