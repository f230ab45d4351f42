//! The foundation's security properties, tested through the public API and
//! by editing the files the way an attacker with the phone would.

use std::fs;
use std::sync::Arc;

use fieldbook_core::access::{AccessAction, AccessPayload};
use fieldbook_core::events::{BrokenReason, EventDraft};
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::store::StoreSettings;
use fieldbook_core::{ApiError, Error, Store};
use fieldbook_e2e::{contains, marker_encodings, Device, Person, PIN};
use serde_json::json;

fn person(tag: &str) -> Person {
    Person {
        crn: format!("X{tag}"),
        name: format!("Name{tag}"),
        address: format!("Address{tag}"),
        notes: format!("Notes{tag}"),
    }
}

/// Writes `n` people and one event each; returns their ids.
fn populate(store: &Store, n: usize) -> Vec<RecordId> {
    (0..n)
        .map(|i| {
            store
                .write(|w| {
                    let id = RecordId::random()?;
                    w.put(&id, &person(&format!("{i:04}")))?;
                    w.append(EventDraft::new(
                        "test.person_added",
                        json!({ "person": id.to_string(), "n": i }),
                    ))?;
                    Ok(id)
                })
                .expect("write")
        })
        .collect()
}

#[test]
fn no_plaintext_reaches_disk() {
    let device = Device::new();
    // Distinctive wall-clock time, so its digits can be searched for too.
    let marked_ms: i64 = 1_794_182_262_917;
    device.clock.set_wall_ms(marked_ms);
    let store = device.create();
    let markers = [
        "ZQXNAMEMARKER",
        "ZQXADDRMARKER 12 Acacia Road",
        "ZQXNOTESMARKER dog on premises",
        "ZQXCRNMARKER",
        "2031-07-19T13:37:42",
        "ZQXREASONMARKER",
        &marked_ms.to_string(),
        "officer-7",
    ];
    let id = store
        .write(|w| {
            let id = RecordId::random()?;
            w.put(
                &id,
                &Person {
                    crn: markers[3].into(),
                    name: markers[0].into(),
                    address: markers[1].into(),
                    notes: markers[2].into(),
                },
            )?;
            let first = w.append(EventDraft::new(
                "visit.recorded",
                json!({ "name": markers[0], "address": markers[1], "at": markers[4] }),
            ))?;
            w.append(EventDraft::correction(
                "visit.recorded",
                json!({ "notes": markers[2] }),
                first.id,
                markers[5],
            ))?;
            w.record_access(
                AccessAction::Consultation,
                AccessPayload {
                    subject: id.to_string(),
                    purpose: markers[2].into(),
                    recipient: None,
                },
            )?;
            Ok(id)
        })
        .expect("write");
    // Filler so pages are reused and freed, then erase the marked record.
    populate(&store, 50);
    store
        .write(|w| w.erase::<Person>(&id, "retention period ended"))
        .expect("erase");

    let scan = |when: &str| {
        let files = device.db_files();
        assert!(!files.is_empty());
        for file in files {
            let bytes = fs::read(&file).expect("read db file");
            for marker in &markers {
                for encoding in marker_encodings(marker) {
                    assert!(
                        !contains(&bytes, &encoding),
                        "{when}: marker {marker:?} found in {}",
                        file.display()
                    );
                }
            }
        }
    };
    scan("while open");
    store.close().expect("close");
    scan("after close");
    // And the data is all still there for the right secrets.
    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    let found = store
        .read(|r| r.records().find::<Person>("crn", "X0007"))
        .expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].value, person("0007"));
}

#[test]
fn wrong_pin_is_an_error_not_a_wipe() {
    let device = Device::new();
    let store = device.create();
    populate(&store, 3);
    store.close().expect("close");

    let store = device.open().expect("open");
    let err = store.unlock("999999").expect_err("wrong pin");
    assert!(
        matches!(
            err,
            Error::WrongPin {
                remaining_attempts: 9
            }
        ),
        "{err}"
    );
    assert_eq!(
        ApiError::from(err),
        ApiError::WrongPin {
            remaining_attempts: 9
        }
    );
    assert!(!store.is_unlocked());
    store.unlock(PIN).expect("right pin still works");
    assert_eq!(
        store
            .read(|r| r.records().all::<Person>())
            .expect("read")
            .len(),
        3
    );
    assert_eq!(store.lockout_status().expect("status").failures, 0);
}

#[test]
fn escalating_delays_then_office_reenable() {
    let device = Device::new();
    device.create().close().expect("close");
    let store = device.open().expect("open");
    let mut waited = Vec::new();
    for attempt in 1..=10u32 {
        loop {
            match store.unlock("111222") {
                Err(Error::RetryLater { retry_after_ms }) => {
                    waited.push((attempt, retry_after_ms));
                    device.clock.advance_ms(retry_after_ms as u64);
                }
                Err(Error::WrongPin { remaining_attempts }) => {
                    assert_eq!(remaining_attempts, 10 - attempt);
                    break;
                }
                Err(Error::LockedOut) => {
                    assert_eq!(attempt, 10);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(
        waited,
        vec![
            (5, 30_000),
            (6, 60_000),
            (7, 120_000),
            (8, 240_000),
            (9, 480_000),
            (10, 900_000)
        ]
    );
    // Locked out: even the right PIN is refused, however long we wait, and
    // across a restart.
    device.clock.advance_ms(30 * 24 * 3_600_000);
    assert!(matches!(store.unlock(PIN), Err(Error::LockedOut)));
    store.close().expect("close");
    let store = device.open().expect("open");
    assert!(matches!(store.unlock(PIN), Err(Error::LockedOut)));
    assert!(store.lockout_status().expect("status").locked_out);

    assert!(store.office_reenable("not the office code!").is_err());
    store
        .office_reenable("OFFICE-RESET-0123456789")
        .expect("office code");
    store.unlock(PIN).expect("unlock after re-enable");
    // The code was one-time.
    store.lock();
    assert!(store.office_reenable("OFFICE-RESET-0123456789").is_err());
}

#[test]
fn failed_attempt_is_counted_before_the_check() {
    // Simulate the app being killed mid-check: the counter was written
    // before the KDF ran, so reopening shows the attempt.
    let device = Device::new();
    device.create().close().expect("close");
    let store = device.open().expect("open");
    assert!(store.unlock("111222").is_err());
    store.close().expect("close");
    let store = device.open().expect("reopen");
    assert_eq!(store.lockout_status().expect("status").failures, 1);
}

#[test]
fn lost_platform_key_refuses_and_reports_unsent() {
    let device = Device::new();
    let store = device.create();
    populate(&store, 4);
    store.close().expect("close");

    // The app restored onto another phone: a different platform key.
    let other = Arc::new(SoftwareKeyStore::random().expect("rng"));
    let store = Store::open(&device.db, other, device.clock()).expect("open");
    let err = store.unlock(PIN).expect_err("platform key lost");
    assert!(
        matches!(err, Error::PlatformKeyUnavailable { unsent_events: 4 }),
        "{err}"
    );
    assert!(err.to_string().contains("4 events not yet sent"));
    // Not counted as a PIN guess, and nothing deleted.
    assert_eq!(store.lockout_status().expect("status").failures, 0);
    assert_eq!(store.pending_count().expect("count"), 4);
    store.close().expect("close");
    let store = device.open().expect("open with the right key");
    store.unlock(PIN).expect("unlock");
    assert_eq!(store.verify_chain().expect("verify").verified, 4);
}

fn raw(device: &Device) -> rusqlite::Connection {
    rusqlite::Connection::open(&device.db).expect("raw open")
}

#[test]
fn tampered_ciphertext_is_detected_and_reported() {
    let device = Device::new();
    let store = device.create();
    let ids = populate(&store, 3);
    store.close().expect("close");

    let conn = raw(&device);
    let mut body: Vec<u8> = conn
        .query_row(
            "SELECT body FROM records WHERE id = ?1",
            [ids[1].as_str()],
            |r| r.get(0),
        )
        .expect("body");
    let last = body.len() - 1;
    body[last] ^= 0x01;
    conn.execute(
        "UPDATE records SET body = ?2 WHERE id = ?1",
        rusqlite::params![ids[1].as_str(), body],
    )
    .expect("tamper");
    drop(conn);

    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    let err = store
        .read(|r| r.records().get::<Person>(&ids[1]))
        .expect_err("tampered");
    assert!(
        matches!(err, Error::Tampered { ref table } if table == "records"),
        "{err}"
    );
    // Other rows are unaffected.
    assert!(store
        .read(|r| r.records().get::<Person>(&ids[0]))
        .expect("read")
        .is_some());
}

#[test]
fn ciphertext_swapped_between_rows_is_detected() {
    let device = Device::new();
    let store = device.create();
    let ids = populate(&store, 2);
    store.close().expect("close");

    let conn = raw(&device);
    let body_of = |id: &RecordId| -> Vec<u8> {
        conn.query_row(
            "SELECT body FROM records WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .expect("body")
    };
    let (a, b) = (body_of(&ids[0]), body_of(&ids[1]));
    for (id, body) in [(&ids[0], &b), (&ids[1], &a)] {
        conn.execute(
            "UPDATE records SET body = ?2 WHERE id = ?1",
            rusqlite::params![id.as_str(), body],
        )
        .expect("swap");
    }
    drop(conn);

    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    for id in &ids {
        assert!(matches!(
            store.read(|r| r.records().get::<Person>(id)),
            Err(Error::Tampered { .. })
        ));
    }
}

#[test]
fn truncated_file_is_refused_and_left_alone() {
    let device = Device::new();
    let store = device.create();
    populate(&store, 200);
    store.close().expect("close");
    let original = fs::read(&device.db).expect("read");
    assert!(original.len() > 16 * 4096, "needs a multi-page file");

    let broken = device.dir.path().join("truncated.db");
    fs::write(&broken, &original[..original.len() / 2]).expect("write");
    let before = fs::read(&broken).expect("read");
    let err = Store::open(&broken, device.platform(), device.clock()).expect_err("truncated");
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert_eq!(
        fs::read(&broken).expect("read"),
        before,
        "file was modified"
    );

    // Garbage that is not a database at all.
    let garbage = device.dir.path().join("garbage.db");
    fs::write(&garbage, vec![0x5a; 8192]).expect("write");
    let err = Store::open(&garbage, device.platform(), device.clock()).expect_err("garbage");
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert_eq!(fs::read(&garbage).expect("read"), vec![0x5a; 8192]);

    // The intact store still opens.
    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    assert_eq!(store.verify_chain().expect("verify").verified, 200);
}

#[test]
fn newer_schema_is_refused_untouched() {
    let device = Device::new();
    let store = device.create();
    populate(&store, 2);
    store.close().expect("close");
    let conn = raw(&device);
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    let before = fs::read(&device.db).expect("read");

    let err = device.open().expect_err("newer");
    assert!(
        matches!(
            err,
            Error::SchemaTooNew {
                found: 99,
                supported: fieldbook_core::store::SCHEMA_VERSION
            }
        ),
        "{err}"
    );
    assert_eq!(fs::read(&device.db).expect("read"), before);
    let err = Store::create(
        &device.db,
        fieldbook_e2e::test_settings("x"),
        PIN,
        device.platform(),
        device.clock(),
    )
    .expect_err("create over newer");
    assert!(matches!(err, Error::SchemaTooNew { .. }));

    // Back at our version, everything is there.
    let conn = raw(&device);
    conn.pragma_update(None, "user_version", fieldbook_core::store::SCHEMA_VERSION)
        .expect("restore");
    drop(conn);
    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    assert_eq!(
        store
            .read(|r| r.records().all::<Person>())
            .expect("all")
            .len(),
        2
    );
}

#[test]
fn create_never_overwrites() {
    let device = Device::new();
    device.create().close().expect("close");
    let err = Store::create(
        &device.db,
        fieldbook_e2e::test_settings("x"),
        PIN,
        device.platform(),
        device.clock(),
    )
    .expect_err("exists");
    assert!(matches!(err, Error::AlreadyExists));
}

#[test]
fn chain_detects_removed_and_reordered_and_edited_rows() {
    let device = Device::new();
    let store = device.create();
    populate(&store, 6);
    assert!(store.verify_chain().expect("verify").is_intact());
    store.close().expect("close");
    let pristine = fs::read(&device.db).expect("read");

    let restore = || {
        for f in device.db_files() {
            fs::remove_file(f).expect("rm");
        }
        fs::write(&device.db, &pristine).expect("restore");
    };
    let check = |expected_seq: u64, expect: &dyn Fn(&BrokenReason) -> bool| {
        let store = device.open().expect("open");
        store.unlock(PIN).expect("unlock");
        let report = store.verify_chain().expect("verify");
        let broken = report.first_broken.expect("break detected");
        assert_eq!(broken.seq, expected_seq);
        assert!(expect(&broken.reason), "{broken:?}");
        store.close().expect("close");
    };

    // Removed: an attacker drops the append-only guard and deletes event 3.
    let conn = raw(&device);
    conn.execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 3;")
        .expect("delete");
    drop(conn);
    check(4, &|r| {
        matches!(r, BrokenReason::SequenceGap { expected: 3 })
    });
    restore();

    // Reordered: rows 2 and 4 swap their contents.
    let conn = raw(&device);
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER events_identity_fixed;
         UPDATE events SET seq = -2 WHERE seq = 2;
         UPDATE events SET seq = 2 WHERE seq = 4;
         UPDATE events SET seq = 4 WHERE seq = -2;",
    )
    .expect("reorder");
    drop(conn);
    check(2, &|r| matches!(r, BrokenReason::Unreadable));
    restore();

    // Edited: one byte of event 5's sealed body changes.
    let conn = raw(&device);
    let mut body: Vec<u8> = conn
        .query_row("SELECT body FROM events WHERE seq = 5", [], |r| r.get(0))
        .expect("body");
    body[20] ^= 0x80;
    conn.execute("UPDATE events SET body = ?1 WHERE seq = 5", [body])
        .expect("edit");
    drop(conn);
    check(5, &|r| matches!(r, BrokenReason::Unreadable));
    restore();

    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    assert!(store.verify_chain().expect("verify").is_intact());
}

#[test]
fn pin_change_rewraps_without_resealing() {
    let device = Device::new();
    let store = device.create();
    let ids = populate(&store, 5);
    store.close().expect("close");
    let conn = raw(&device);
    let bodies_before: Vec<Vec<u8>> = conn
        .prepare("SELECT body FROM records ORDER BY id")
        .expect("prep")
        .query_map([], |r| r.get(0))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows");
    drop(conn);

    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    assert!(matches!(
        store.change_pin(PIN, "1234"),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        store.change_pin("000001", "583920"),
        Err(Error::WrongPin { .. })
    ));
    store.change_pin(PIN, "583920").expect("change");
    store.close().expect("close");

    let conn = raw(&device);
    let bodies_after: Vec<Vec<u8>> = conn
        .prepare("SELECT body FROM records ORDER BY id")
        .expect("prep")
        .query_map([], |r| r.get(0))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows");
    drop(conn);
    assert_eq!(bodies_before, bodies_after, "data must not be re-sealed");

    let store = device.open().expect("open");
    assert!(matches!(store.unlock(PIN), Err(Error::WrongPin { .. })));
    store.unlock("583920").expect("new pin");
    assert_eq!(
        store
            .read(|r| r.records().require::<Person>(&ids[2]))
            .expect("read")
            .value,
        person("0002")
    );
}

#[test]
fn key_rotation_reseals_everything() {
    let device = Device::new();
    let store = device.create();
    let ids = populate(&store, 40);
    let conn = raw(&device);
    let bodies = |conn: &rusqlite::Connection| -> Vec<Vec<u8>> {
        conn.prepare("SELECT body FROM records UNION ALL SELECT body FROM events")
            .expect("prep")
            .query_map([], |r| r.get(0))
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let before = bodies(&conn);
    let report = store.rotate_data_key(PIN).expect("rotate");
    assert_eq!(report.records, 40);
    assert_eq!(report.events, 40);
    let after = bodies(&conn);
    assert_eq!(before.len(), after.len());
    assert!(before.iter().zip(&after).all(|(a, b)| a != b));
    drop(conn);

    // Still works in-session and after reopening.
    let found = store
        .read(|r| r.records().find::<Person>("crn", "X0039"))
        .expect("find");
    assert_eq!(found[0].id, ids[39]);
    store
        .append(EventDraft::new("test.after_rotation", json!({})))
        .expect("append");
    store.close().expect("close");
    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    assert_eq!(store.verify_chain().expect("verify").verified, 41);
    assert_eq!(
        store
            .read(|r| r.records().find::<Person>("crn", "X0001"))
            .expect("find")[0]
            .id,
        ids[1]
    );
}

#[test]
fn events_outbox_and_derived_state_commit_together() {
    let device = Device::new();
    let store = device.create();
    let id = RecordId::random().expect("rng");
    let err = store
        .write(|w| {
            w.put(&id, &person("A"))?;
            w.append(EventDraft::new("test.ok", json!({})))?;
            // A bad draft fails the whole transaction.
            w.append(EventDraft::new("BAD KIND", json!({})))?;
            Ok(())
        })
        .expect_err("invalid");
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "kind"));
    assert_eq!(store.pending_count().expect("count"), 0);
    assert!(store
        .read(|r| r.records().get::<Person>(&id))
        .expect("read")
        .is_none());
    assert!(store.verify_chain().expect("verify").is_intact());

    // The chain head did not advance either: the next event is seq 1.
    let appended = store
        .append(EventDraft::new("test.ok", json!({})))
        .expect("append");
    assert_eq!(appended.seq, 1);
    assert_eq!(store.pending_seqs().expect("seqs"), vec![1]);
}

#[test]
fn corrections_reference_existing_events_with_reasons() {
    let device = Device::new();
    let store = device.create();
    let first = store
        .append(EventDraft::new(
            "attendance.arrived",
            json!({ "at": "09:05" }),
        ))
        .expect("append");
    let err = store
        .append(EventDraft::correction(
            "attendance.arrived",
            json!({}),
            "0".repeat(32),
            "typo",
        ))
        .expect_err("unknown target");
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "supersedes"));
    let fix = store
        .append(EventDraft::correction(
            "attendance.arrived",
            json!({ "at": "09:15" }),
            first.id.clone(),
            "entered the wrong time",
        ))
        .expect("correction");
    let events = store.events_after(0, 10).expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].body.supersedes.as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(events[1].seq, fix.seq);
    assert_eq!(events[1].body.prev_hash, hex(&first.hash));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn access_log_covers_section_62_operations() {
    let device = Device::new();
    let store = device.create();
    let ids = populate(&store, 1);
    let first = store.events_after(0, 1).expect("events")[0].body.id.clone();
    store
        .append(EventDraft::correction(
            "test.person_added",
            json!({}),
            first,
            "wrong person",
        ))
        .expect("fix");
    store
        .write(|w| {
            w.record_access(
                AccessAction::Consultation,
                AccessPayload {
                    subject: ids[0].to_string(),
                    purpose: "roll call".into(),
                    recipient: None,
                },
            )?;
            w.record_access(
                AccessAction::Disclosure,
                AccessPayload {
                    subject: ids[0].to_string(),
                    purpose: "sync".into(),
                    recipient: Some("office".into()),
                },
            )?;
            w.erase::<Person>(&ids[0], "retention")?;
            Ok(())
        })
        .expect("write");
    let err = store
        .write(|w| {
            w.record_access(
                AccessAction::Consultation,
                AccessPayload {
                    subject: "x".into(),
                    purpose: " ".into(),
                    recipient: None,
                },
            )
        })
        .expect_err("purpose required");
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "purpose"));

    let log = store.access_log().expect("log");
    let actions: Vec<AccessAction> = log.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            AccessAction::Collection,
            AccessAction::Alteration,
            AccessAction::Consultation,
            AccessAction::Disclosure,
            AccessAction::Erasure
        ]
    );
    assert!(log.iter().all(|e| e.officer == "officer-7"));
    assert_eq!(log[2].purpose, "roll call");
}

#[test]
fn locked_store_refuses_reads_and_writes() {
    let device = Device::new();
    let store = device.create();
    store.lock();
    assert!(matches!(
        store.read(|r| r.records().all::<Person>()),
        Err(Error::Locked)
    ));
    assert!(matches!(
        store.append(EventDraft::new("a", json!({}))),
        Err(Error::Locked)
    ));
    assert!(matches!(store.verify_chain(), Err(Error::Locked)));
    assert_eq!(ApiError::from(Error::Locked), ApiError::Locked);
}

#[test]
fn create_validates_its_input() {
    let device = Device::new();
    let err = Store::create(
        &device.db,
        fieldbook_e2e::test_settings("officer"),
        "123456",
        device.platform(),
        device.clock(),
    )
    .expect_err("weak pin");
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "pin"));
    let err = Store::create(
        &device.db,
        fieldbook_e2e::test_settings(" "),
        PIN,
        device.platform(),
        device.clock(),
    )
    .expect_err("no officer");
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "officer_id"));
    assert!(!device.db.exists(), "nothing created on bad input");
    assert!(StoreSettings::new("o").kdf_iterations >= 600_000);
}

#[test]
fn debug_output_never_shows_secrets() {
    let device = Device::new();
    let store = device.create();
    let text = format!(
        "{store:?} {:?} {:?}",
        device.platform,
        fieldbook_e2e::test_settings("officer-7")
    );
    assert!(!text.contains("officer-7"), "{text}");
    assert!(!text.contains("OFFICE-RESET"), "{text}");
}

#[test]
fn marker_scan_finds_plaintext_when_it_is_there() {
    // The negative control for `no_plaintext_reaches_disk`: the same scan
    // over a plain SQLite file does find each encoding.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("plain.db");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch("CREATE TABLE t (v)").expect("create");
    let marker = "ZQXPLAINMARKER";
    for encoding in marker_encodings(marker) {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [encoding.clone()])
            .expect("insert");
    }
    drop(conn);
    let bytes = fs::read(&path).expect("read");
    for encoding in marker_encodings(marker) {
        assert!(contains(&bytes, &encoding));
    }
}

#[test]
fn domain_captures_leave_no_plaintext_on_disk() {
    use fieldbook_core::home_visits::model as hv;
    use fieldbook_core::home_visits::{CaseloadBatch, HomeVisits, StartVisit};
    use fieldbook_core::unpaid_work::model::*;
    use fieldbook_core::unpaid_work::policy::OutcomeInput;
    use fieldbook_core::unpaid_work::{CheckIn, ReferenceBatch, UnpaidWork};

    let device = Device::new();
    let store = Arc::new(device.create());
    let markers = [
        "QQNAMEUPW",
        "QQCRN77",
        "QQNOTESUPW disclosed a relapse",
        "QQHAZARD needles",
        "QQCASENAME",
        "QQ 9 Hidden Lane",
        "QQVISITNOTES dog bit the gate",
        "QQSAFEGUARD child at address",
    ];
    let day = chrono::DateTime::from_timestamp_millis(fieldbook_e2e::START_MS)
        .expect("date")
        .date_naive();
    let t = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).expect("time");
    let (p, s, r, a) = (
        RecordId::random().expect("rng"),
        RecordId::random().expect("rng"),
        RecordId::random().expect("rng"),
        RecordId::random().expect("rng"),
    );
    let uw = UnpaidWork::new(store.clone());
    uw.import(ReferenceBatch {
        projects: vec![(
            p.clone(),
            Project {
                code: "P".into(),
                name: "Park".into(),
                project_type: ProjectType::GroupPlacement,
                travel_time_eligible: false,
                address: "Park".into(),
                beneficiary: "B".into(),
                site_contact: "C".into(),
                hi_vis_required: true,
                hazards: markers[3].into(),
                risk_notes: String::new(),
                available_days: vec![chrono::Weekday::Mon],
                available_from: t(7),
                available_until: t(18),
            },
        )],
        sessions: vec![(
            s.clone(),
            WorkSession {
                project_id: p,
                date: day,
                planned_start: t(9),
                // Check-in closes at the scheduled end; the capture is at 19:00.
                planned_end: t(21),
                supervisor_id: "officer-7".into(),
                pick_up_point: None,
                pick_up_time: None,
            },
        )],
        requirements: vec![(
            r.clone(),
            Requirement {
                crn: markers[1].into(),
                name: Some(markers[0].into()),
                restricted: false,
                photo_ref: None,
                risk_level: RiskLevel::Low,
                registrations: vec![],
                hours_required: 100,
                minutes_credited_office: 0,
                ete_minutes_credited_office: 0,
                adjustments: vec![],
                order_start: day,
                order_end: day + chrono::Duration::days(365),
                order_ref: None,
                warnings: vec![],
            },
        )],
        appointments: vec![(
            a.clone(),
            Appointment {
                session_id: s.clone(),
                requirement_id: Some(r),
                crn: markers[1].into(),
                allocated: true,
                agreed_absence: None,
                office_outcome: None,
            },
        )],
    })
    .expect("import");
    device.clock.advance_ms(10 * 3_600_000); // 19:00 on the session day
    uw.check_in(
        &a,
        CheckIn {
            arrival: None,
            identity_checked: true,
            hi_vis_issued: true,
            hi_vis_worn: true,
        },
    )
    .expect("check in");
    device.clock.advance_ms(3_600_000);
    let mut out = OutcomeInput::absence("ATTC");
    out.notes = markers[2].into();
    out.sensitive = true;
    uw.record_outcome(&a, out).expect("outcome");

    let hvs = HomeVisits::new(store.clone());
    let case = RecordId::random().expect("rng");
    hvs.import(CaseloadBatch {
        cases: vec![(
            case.clone(),
            hv::Case {
                escalation_flagged: false,
                crn: "QQCRN88".into(),
                name: Some(markers[4].into()),
                restricted: false,
                addresses: vec![hv::Address {
                    id: "home".into(),
                    text: markers[5].into(),
                    access_notes: String::new(),
                    main: true,
                }],
                risk_level: RiskLevel::High,
                registrations: vec![],
                staff_risks: vec![],
                known_occupants: vec![],
                assessment: hv::AssessmentStatus::Current,
                supervision_start: day,
                last_visit: None,
            },
        )],
        scheduled: vec![],
    })
    .expect("caseload");
    let v = hvs
        .start_visit(StartVisit {
            arranged: true,
            manager_override: None,
            case_id: case,
            address_id: None,
            scheduled_visit_id: None,
            purpose: "Check".into(),
            officers_present: vec!["officer-7".into()],
            expected_minutes: 30,
            location_consent: false,
            location: None,
        })
        .expect("start")
        .visit_id;
    device.clock.advance_ms(600_000);
    hvs.end_visit(&v, None, None).expect("end");
    hvs.save_draft(
        &v,
        hv::VisitForm {
            outcome: Some("ATTC".into()),
            officers_present: vec!["officer-7".into()],
            people_present: vec![],
            accommodation: Some(hv::Accommodation {
                suitability: hv::Suitability::Suitable,
                condition: hv::Condition::Fair,
                changes: String::new(),
            }),
            risk_concerns: String::new(),
            safeguarding_concerns: markers[7].into(),
            visor: false,
            follow_ups: vec![],
            enforcement: None,
            notes: markers[6].into(),
            sensitive: true,
            no_answer: false,
        },
    )
    .expect("draft");
    hvs.finalise(&v).expect("finalise");
    uw.roll_call(&s).expect("view");

    let scan = |when: &str| {
        for file in device.db_files() {
            let bytes = fs::read(&file).expect("read");
            for marker in &markers {
                for encoding in marker_encodings(marker) {
                    assert!(
                        !contains(&bytes, &encoding),
                        "{when}: {marker:?} found in {}",
                        file.display()
                    );
                }
            }
        }
    };
    scan("while open");
    drop(uw);
    drop(hvs);
    Arc::try_unwrap(store)
        .expect("sole owner")
        .close()
        .expect("close");
    scan("after close");
}

#[test]
fn retention_purges_only_acknowledged_old_events_and_the_chain_still_verifies() {
    let device = Device::new();
    let store = device.create();
    for i in 0..10 {
        store
            .append(EventDraft::new("test.note", json!({ "i": i })))
            .expect("append");
    }
    // The office acknowledged 1..=6; 7..=10 are unsent.
    store.acknowledge(&[1, 2, 3, 4, 5, 6]).expect("ack");
    // Nothing is old enough yet.
    assert_eq!(
        store.apply_retention(30 * 86_400_000).expect("retention"),
        0
    );
    device.clock.advance_ms(31 * 86_400_000);
    assert_eq!(
        store.apply_retention(30 * 86_400_000).expect("retention"),
        6
    );
    let checkpoint = store
        .retention_checkpoint()
        .expect("checkpoint")
        .expect("set");
    assert_eq!(checkpoint.seq, 6);
    let report = store.verify_chain().expect("verify");
    assert!(report.is_intact(), "{report:?}");
    // 7..=10 kept, plus the erasure record (11).
    assert_eq!(report.verified, 5);
    assert_eq!(store.events_after(0, 100).expect("events")[0].seq, 7);
    assert_eq!(store.pending_count().expect("pending"), 5);
    assert!(store
        .access_log()
        .expect("log")
        .iter()
        .any(|e| e.action == AccessAction::Erasure && e.purpose.starts_with("retention")));
    // Everything acknowledged and old: all purged; the next event continues
    // the sequence and the chain across a restart.
    store.acknowledge(&[7, 8, 9, 10, 11]).expect("ack");
    device.clock.advance_ms(31 * 86_400_000);
    assert_eq!(
        store.apply_retention(30 * 86_400_000).expect("retention"),
        5
    );
    store.close().expect("close");
    let store = device.open().expect("open");
    store.unlock(PIN).expect("unlock");
    let next = store
        .append(EventDraft::new("test.note", json!({})))
        .expect("append");
    assert_eq!(next.seq, 13, "the erasure record was 12");
    assert!(store.verify_chain().expect("verify").is_intact());
    assert!(store.apply_retention(-1).is_err());
}

/// A platform key store that, like an Android Keystore key created with
/// `setUserAuthenticationRequired(true)`, refuses to unwrap until the
/// device's user has authenticated within the validity window.
struct AuthBoundKeyStore {
    inner: fieldbook_core::platform::SoftwareKeyStore,
    authenticated_until_ms: std::sync::atomic::AtomicI64,
    clock: Arc<fieldbook_core::clock::ManualClock>,
}

impl fieldbook_core::platform::PlatformKeyStore for AuthBoundKeyStore {
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, fieldbook_core::platform::KeyStoreError> {
        self.inner.wrap(plaintext)
    }
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, fieldbook_core::platform::KeyStoreError> {
        use fieldbook_core::clock::Clock;
        let until = self
            .authenticated_until_ms
            .load(std::sync::atomic::Ordering::SeqCst);
        if self.clock.now_utc_ms() >= until {
            return Err(fieldbook_core::platform::KeyStoreError::UserAuthenticationRequired);
        }
        self.inner.unwrap(wrapped)
    }
    fn destroy(&self) -> Result<(), fieldbook_core::platform::KeyStoreError> {
        self.inner.destroy()
    }
}

#[test]
fn the_platform_key_needs_user_authentication_and_guessing_costs_no_attempt() {
    use fieldbook_core::clock::Clock;
    let device = fieldbook_e2e::Device::new();
    let platform = Arc::new(AuthBoundKeyStore {
        inner: fieldbook_core::platform::SoftwareKeyStore::random().expect("rng"),
        authenticated_until_ms: std::sync::atomic::AtomicI64::new(0),
        clock: device.clock.clone(),
    });
    let store = Store::create(
        &device.db,
        fieldbook_e2e::test_settings("officer-7"),
        fieldbook_e2e::PIN,
        platform.clone(),
        device.clock(),
    )
    .expect("create");
    store.lock();
    // Code running as the app (a rooted phone) cannot reach the PIN layer
    // without the device credential: every try, right PIN or wrong, stops
    // at the hardware and costs no attempt.
    for pin in ["000000", fieldbook_e2e::PIN, "123456"] {
        assert!(matches!(
            store.unlock(pin),
            Err(Error::UserAuthenticationRequired)
        ));
    }
    assert_eq!(store.lockout_status().expect("status").failures, 0);
    // The person authenticates (a 30-second validity window).
    platform.authenticated_until_ms.store(
        device.clock.now_utc_ms() + 30_000,
        std::sync::atomic::Ordering::SeqCst,
    );
    assert!(matches!(
        store.unlock("000000"),
        Err(Error::WrongPin { .. })
    ));
    store
        .unlock(fieldbook_e2e::PIN)
        .expect("unlock after authentication");
    store.lock();
    // After the window, authentication is needed again.
    device.clock.advance_ms(31_000);
    assert!(matches!(
        store.unlock(fieldbook_e2e::PIN),
        Err(Error::UserAuthenticationRequired)
    ));
    // The public error a shell acts on.
    let api: fieldbook_core::ApiError = Error::UserAuthenticationRequired.into();
    assert_eq!(api, fieldbook_core::ApiError::UserAuthenticationRequired);
}
