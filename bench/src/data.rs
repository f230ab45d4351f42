//! Benchmarks on the device store: capture latency, the roll-call view on
//! a two-year store (and ten times that) beside plaintext tables, unlock,
//! and data-key rotation.

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, NaiveTime, Weekday};
use fieldbook_core::clock::ManualClock;
use fieldbook_core::crypto::kdf::{KdfParams, MIN_ITERATIONS};
use fieldbook_core::home_visits::model as hv;
use fieldbook_core::home_visits::safety::{SafetyState, SafetyStatus};
use fieldbook_core::ids::RecordId;
use fieldbook_core::platform::{PlatformKeyStore, SoftwareKeyStore};
use fieldbook_core::store::{Store, StoreSettings};
use fieldbook_core::unpaid_work::model::*;
use fieldbook_core::unpaid_work::{CheckIn, ReferenceBatch, UnpaidWork};
use rusqlite::params;

use crate::plain_arm::{self, PlainCheckIn};
use crate::report::{ms, ratio, stats, Table};
use crate::sqlcipher;

const PIN: &str = "274913";
const T0: i64 = 1_795_424_400_000 + 3_600_000; // 2026-11-23 10:00 UTC

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date") - chrono::Duration::days(n)
}

fn project() -> Project {
    Project {
        code: "P".into(),
        name: "Park".into(),
        project_type: ProjectType::GroupPlacement,
        travel_time_eligible: false,
        address: "Road".into(),
        beneficiary: "Council".into(),
        site_contact: "Office".into(),
        hi_vis_required: true,
        hazards: String::new(),
        risk_notes: String::new(),
        available_days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        available_from: NaiveTime::from_hms_opt(0, 0, 0).expect("t"),
        available_until: NaiveTime::from_hms_opt(23, 59, 0).expect("t"),
    }
}

fn session(p: &RecordId, d: NaiveDate) -> WorkSession {
    WorkSession {
        project_id: p.clone(),
        date: d,
        planned_start: NaiveTime::from_hms_opt(9, 0, 0).expect("t"),
        planned_end: NaiveTime::from_hms_opt(16, 0, 0).expect("t"),
        supervisor_id: "sup".into(),
        pick_up_point: None,
        pick_up_time: None,
    }
}

fn requirement(i: usize) -> Requirement {
    Requirement {
        crn: format!("X{i:06}"),
        name: Some(format!("Person {i}")),
        restricted: false,
        photo_ref: Some(format!("photo-{i}")),
        risk_level: RiskLevel::Low,
        registrations: vec![],
        hours_required: 300,
        minutes_credited_office: 0,
        ete_minutes_credited_office: 0,
        adjustments: vec![],
        order_start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("d"),
        order_end: NaiveDate::from_ymd_opt(2028, 1, 1).expect("d"),
        order_ref: None,
        warnings: vec![],
    }
}

fn id() -> RecordId {
    RecordId::random().expect("rng")
}

fn new_store(
    dir: &std::path::Path,
    name: &str,
) -> (Arc<Store>, Arc<SoftwareKeyStore>, Arc<ManualClock>) {
    let platform = Arc::new(SoftwareKeyStore::random().expect("rng"));
    let clock = Arc::new(ManualClock::new(T0));
    let store = Store::create(
        &dir.join(name),
        StoreSettings::new("sup"),
        PIN,
        platform.clone(),
        clock.clone(),
    )
    .expect("store");
    (Arc::new(store), platform, clock)
}

/// Capture (1.): one check-in committed durably vs a plain insert of the
/// same fields (and on SQLCipher), in the temporary directory (a disk),
/// then on tmpfs when there is one: there an fsync costs nothing, so the
/// figures are the CPU cost alone, which a phone's slower flash would
/// otherwise hide.
pub fn capture_latency(table: &mut Table, n: usize) {
    capture_in(table, n, None, "");
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        capture_in(table, n, Some(shm), " (tmpfs: CPU only)");
    }
}

fn capture_in(table: &mut Table, n: usize, base: Option<&std::path::Path>, label: &str) {
    eprintln!("capture latency ({n} check-ins){label}…");
    let dir = match base {
        Some(b) => tempfile::tempdir_in(b),
        None => tempfile::tempdir(),
    }
    .expect("tmp");
    let (store, _, _) = new_store(dir.path(), "capture.db");
    let uw = UnpaidWork::new(store.clone());
    let p = id();
    let s = id();
    let mut batch = ReferenceBatch {
        projects: vec![(p.clone(), project())],
        sessions: vec![(s.clone(), session(&p, day(0)))],
        ..Default::default()
    };
    let mut appts = Vec::new();
    for i in 0..n {
        let r = id();
        let a = id();
        batch.requirements.push((r.clone(), requirement(i)));
        batch.appointments.push((
            a.clone(),
            Appointment {
                session_id: s.clone(),
                requirement_id: Some(r),
                crn: format!("X{i:06}"),
                allocated: true,
                agreed_absence: None,
                office_outcome: None,
            },
        ));
        appts.push(a);
    }
    uw.import(batch).expect("import");
    uw.start_session(&s).expect("start");
    // Baselines: the same fields, plain, same durability settings; and
    // the same inserts on SQLCipher (a child process: it links SQLCipher).
    // The three arms take turns, one capture each, so the machine's noise
    // falls on all of them alike.
    let rows: Vec<PlainCheckIn> = appts
        .iter()
        .enumerate()
        .map(|(i, a)| PlainCheckIn {
            appointment_id: a.to_string(),
            session_id: s.to_string(),
            crn: format!("X{i:06}"),
            arrival_ms: T0,
        })
        .collect();
    let conn = rusqlite::Connection::open(dir.path().join("plain.db")).expect("plain");
    conn.execute_batch(plain_arm::PRAGMAS).expect("pragmas");
    conn.execute_batch(plain_arm::CAPTURE_SCHEMA)
        .expect("schema");
    let mut served = sqlcipher::capture(&dir.path().join("cipher.db"));
    // WAL frames (pages) per durable commit, over the first captures: a
    // side connection empties each WAL first and counts its frames after.
    let side = |name: &str| {
        let c = rusqlite::Connection::open(dir.path().join(name)).expect("side");
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
        c
    };
    let sides = [side("capture.db"), side("plain.db")];
    let counted = n.min(100);
    let mut pages = [0f64; 2];
    let mut ours = Vec::with_capacity(n);
    let mut base = Vec::with_capacity(n);
    let mut cipher = Vec::with_capacity(n);
    for (a, row) in appts.iter().zip(&rows) {
        let t = Instant::now();
        uw.check_in(
            a,
            CheckIn {
                arrival: None,
                identity_checked: true,
                hi_vis_issued: true,
                hi_vis_worn: true,
            },
        )
        .expect("check in");
        ours.push(t.elapsed());
        base.extend(plain_arm::capture(&conn, std::slice::from_ref(row)).expect("plain insert"));
        if let Ok(arm) = served.as_mut() {
            match arm.measure(&sqlcipher::capture_line(row)) {
                Ok(d) => cipher.push(d),
                Err(e) => served = Err(e),
            }
        }
        if ours.len() == counted {
            for (c, p) in sides.iter().zip(&mut pages) {
                let frames: i64 = c
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                    .expect("frames");
                *p = frames as f64 / counted as f64;
            }
        }
    }
    let cipher = served.map(|_| cipher);
    let (m1, p1) = stats(&mut ours);
    let (m2, p2) = stats(&mut base);
    table.row(&format!("1. check-in, median{label}"), ms(m1), ms(m2), ratio(m1, m2), "seal + sign + chain + outbox + derived state, synchronous=FULL, vs plain INSERT, same settings");
    table.row(
        &format!("1. check-in, p99{label}"),
        ms(p1),
        ms(p2),
        ratio(p1, p2),
        "",
    );
    table.row(
        &format!("1. check-in, WAL pages per durable commit{label}"),
        format!("{:.1}", pages[0]),
        format!("{:.1}", pages[1]),
        format!("{:.2}x", pages[0] / pages[1].max(0.1)),
        &format!("WAL frames written over the first {counted} captures, per capture (4 KiB pages)"),
    );
    match cipher {
        Ok(mut c) => {
            let (m3, p3) = stats(&mut c);
            table.row(&format!("1. check-in vs SQLCipher 4, median{label}"), ms(m1), ms(m3), ratio(m1, m3), "baseline: the same plain INSERT on a SQLCipher 4 database (same schema and PRAGMAs, child process)");
            table.row(
                &format!("1. check-in vs SQLCipher 4, p99{label}"),
                ms(p1),
                ms(p3),
                ratio(p1, p3),
                "",
            );
        }
        Err(e) => table.row(
            &format!("1. check-in vs SQLCipher 4{label}"),
            ms(m1),
            "-".into(),
            "-".into(),
            &format!("SQLCipher arm not run: {e}"),
        ),
    }
}

struct Plain {
    conn: rusqlite::Connection,
}

/// Plaintext tables holding the same JSON, for the roll-call baseline.
impl Plain {
    fn new(path: &std::path::Path) -> Self {
        let conn = rusqlite::Connection::open(path).expect("plain");
        conn.execute_batch(plain_arm::PRAGMAS).expect("pragmas");
        conn.execute_batch(plain_arm::ROLL_SCHEMA).expect("schema");
        Self { conn }
    }

    /// One timed roll call (the code the SQLCipher arm runs too).
    fn roll_call(&self, session_id: &str) -> std::time::Duration {
        plain_arm::roll_calls(&self.conn, session_id, 1, 30)
            .expect("plain roll call")
            .first()
            .copied()
            .unwrap_or_default()
    }
}

fn outcome_record(minutes: i64) -> OutcomeRecord {
    OutcomeRecord {
        event_id: "e".repeat(32),
        code: "ATTC".into(),
        arrival: Some(Stamp {
            utc_ms: T0 - 3_600_000,
            offset_min: 0,
        }),
        departure: Some(Stamp {
            utc_ms: T0,
            offset_min: 0,
        }),
        penalty_minutes: 0,
        minutes_credited: minutes,
        work_quality: Rating::Good,
        behaviour: Rating::Good,
        notes: "Worked steadily on the footpath; no concerns.".into(),
        sensitive: false,
        raise_alert: false,
        travel_minutes: None,
        compliance: Default::default(),
        ete: false,
        after_expected_end: false,
        policy_version: "upw-rules/2026.1".into(),
        correction_reason: None,
    }
}

fn visit(case_id: &RecordId, i: i64) -> hv::Visit {
    hv::Visit {
        case_id: case_id.clone(),
        planned: true,
        scheduled_visit_id: None,
        arranged: true,
        respond_by: None,
        address: hv::Address {
            id: "home".into(),
            text: format!("{i} Example Street"),
            access_notes: "Side gate".into(),
            main: true,
        },
        purpose: "Home visit".into(),
        start: Stamp {
            utc_ms: T0 - i * 3_600_000,
            offset_min: 0,
        },
        end: Some(Stamp {
            utc_ms: T0 - i * 3_600_000 + 1_800_000,
            offset_min: 0,
        }),
        location_consent: false,
        start_location: None,
        end_location: None,
        safety: SafetyState {
            status: SafetyStatus::Ended,
            started_ms: T0,
            expected_finish_ms: T0,
            silent_alert: false,
            last_check_in_ms: None,
            seen_wall_ms: T0,
            seen_mono_ms: 0,
        },
        status: hv::RecordStatus::Final,
        draft: hv::VisitForm {
            outcome: Some("SEEN".into()),
            officers_present: vec!["po".into()],
            people_present: vec![],
            accommodation: None,
            risk_concerns: String::new(),
            safeguarding_concerns: String::new(),
            visor: false,
            follow_ups: vec![],
            enforcement: None,
            notes: "Seen at home; tidy; partner present.".into(),
            sensitive: false,
            no_answer: false,
        },
        draft_saved_ms: T0,
        finals: vec![],
        start_event: "s".repeat(32),
        event_seqs: vec![],
        office_acks: vec![],
    }
}

/// Builds a store of `scale` two-year units (500 sessions, 5,000
/// attendance records, 2,000 visits each) and the same data in plaintext
/// tables; returns the target 30-person session.
fn build(dir: &std::path::Path, scale: usize, store: &Store, plain: &Plain) -> RecordId {
    let p = id();
    let sessions = 500 * scale;
    let people = 1000 * scale;
    let reqs: Vec<RecordId> = (0..people).map(|_| id()).collect();
    let put_plain = |table: &str, id: &RecordId, extra: Option<&str>, body: String| {
        match (table, extra) {
            ("appointments", Some(x)) => {
                let (s, r) = x.split_once('|').unwrap_or_default();
                plain.conn.execute(
                    "INSERT INTO appointments VALUES (?1, ?2, ?3, ?4)",
                    params![id.as_str(), s, r, body],
                )
            }
            ("requirements", Some(crn)) => plain.conn.execute(
                "INSERT INTO requirements VALUES (?1, ?2, ?3)",
                params![id.as_str(), crn, body],
            ),
            ("visits", Some(c)) => plain.conn.execute(
                "INSERT INTO visits VALUES (?1, ?2, ?3)",
                params![id.as_str(), c, body],
            ),
            _ => plain.conn.execute(
                &format!("INSERT INTO {table} VALUES (?1, ?2)"),
                params![id.as_str(), body],
            ),
        }
        .expect("plain insert");
    };
    plain.conn.execute_batch("BEGIN").expect("begin");
    store
        .write(|w| {
            w.put(&p, &project())?;
            put_plain("projects", &p, None, serde_json::to_string(&project())?);
            for (i, r) in reqs.iter().enumerate() {
                let req = requirement(i);
                w.put(r, &req)?;
                put_plain(
                    "requirements",
                    r,
                    Some(&req.crn),
                    serde_json::to_string(&req)?,
                );
            }
            Ok(())
        })
        .expect("people");
    let mut target = None;
    // Sessions in chunks, so no transaction grows too large.
    for chunk in (0..sessions).collect::<Vec<_>>().chunks(100) {
        store
            .write(|w| {
                for &sn in chunk {
                    let s = id();
                    let sess = session(&p, day(i64::try_from(sn % 730).unwrap_or(0) + 1));
                    w.put(&s, &sess)?;
                    put_plain("sessions", &s, None, serde_json::to_string(&sess)?);
                    let size = if sn == 0 { 30 } else { 10 };
                    if sn == 0 {
                        target = Some(s.clone());
                    }
                    for k in 0..size {
                        let r = &reqs[(sn * 2 + k * 7) % people];
                        let a = id();
                        let appt = Appointment {
                            session_id: s.clone(),
                            requirement_id: Some(r.clone()),
                            crn: "X".into(),
                            allocated: true,
                            agreed_absence: None,
                            office_outcome: None,
                        };
                        w.put(&a, &appt)?;
                        put_plain(
                            "appointments",
                            &a,
                            Some(&format!("{}|{}", s, r)),
                            serde_json::to_string(&appt)?,
                        );
                        let att = Attendance {
                            arrival: Some(Stamp {
                                utc_ms: T0,
                                offset_min: 0,
                            }),
                            outcome: Some(outcome_record(60)),
                            ..Attendance::default()
                        };
                        w.put(&a, &att)?;
                        put_plain("attendance", &a, None, serde_json::to_string(&att)?);
                    }
                }
                Ok(())
            })
            .expect("sessions");
    }
    let cases: Vec<RecordId> = (0..200 * scale).map(|_| id()).collect();
    for chunk in (0..2000 * scale).collect::<Vec<_>>().chunks(500) {
        store
            .write(|w| {
                for &i in chunk {
                    let v = visit(&cases[i % cases.len()], i64::try_from(i).unwrap_or(0));
                    let vid = id();
                    w.put(&vid, &v)?;
                    put_plain(
                        "visits",
                        &vid,
                        Some(cases[i % cases.len()].as_str()),
                        serde_json::to_string(&v)?,
                    );
                }
                Ok(())
            })
            .expect("visits");
    }
    plain.conn.execute_batch("COMMIT").expect("commit");
    let _ = dir;
    target.expect("target session")
}

/// 2. and 6.: the roll call at 1x and 10x beside plaintext; rotation at 1x.
pub fn roll_call_and_rotation(table: &mut Table, quick: bool) {
    let mut medians = Vec::new();
    for scale in [1usize, 10] {
        eprintln!("roll call on a {scale}x two-year store…");
        let dir = tempfile::tempdir().expect("tmp");
        let (store, _, _) = new_store(dir.path(), "store.db");
        let plain = Plain::new(&dir.path().join("plain.db"));
        let t = Instant::now();
        let target = build(dir.path(), scale, &store, &plain);
        eprintln!("  built in {:.1} s", t.elapsed().as_secs_f64());
        let uw = UnpaidWork::new(store.clone());
        let iterations = if quick { 30 } else { 200 };
        plain
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
        let mut served = sqlcipher::roll(
            &dir.path().join("plain.db"),
            &dir.path().join("cipher.db"),
            target.as_str(),
        );
        let mut ours = Vec::new();
        let mut base = Vec::new();
        let mut cipher = Vec::new();
        // The arms take turns, one roll call each (see capture_latency).
        for _ in 0..iterations {
            let t = Instant::now();
            let view = uw.roll_call_unlogged(&target).expect("roll call");
            ours.push(t.elapsed());
            assert_eq!(view.rows.len(), 30);
            base.push(plain.roll_call(target.as_str()));
            if let Ok(arm) = served.as_mut() {
                match arm.measure("roll") {
                    Ok(d) => cipher.push(d),
                    Err(e) => served = Err(e),
                }
            }
        }
        let cipher = served.map(|_| cipher);
        let mut logged = Vec::new();
        for _ in 0..(iterations / 4).max(5) {
            let t = Instant::now();
            uw.roll_call(&target).expect("roll call");
            logged.push(t.elapsed());
        }
        let (m1, p1) = stats(&mut ours);
        let (m2, p2) = stats(&mut base);
        let (m3, _) = stats(&mut logged);
        medians.push(m1);
        let label = if scale == 1 {
            "2. roll call (30 people), 2-year store"
        } else {
            "2. roll call (30 people), 10x store"
        };
        table.row(
            &format!("{label}, median"),
            ms(m1),
            ms(m2),
            ratio(m1, m2),
            "sealed records + blind indexes vs the same lookups on plaintext JSON tables",
        );
        table.row(&format!("{label}, p99"), ms(p1), ms(p2), ratio(p1, p2), "");
        match cipher {
            Ok(mut c) => {
                let (m4, p4) = stats(&mut c);
                table.row(
                    &format!("{label} vs SQLCipher 4, median"),
                    ms(m1),
                    ms(m4),
                    ratio(m1, m4),
                    "baseline: the same plaintext-table lookups on a SQLCipher 4 copy of those tables (child process)",
                );
                table.row(
                    &format!("{label} vs SQLCipher 4, p99"),
                    ms(p1),
                    ms(p4),
                    ratio(p1, p4),
                    "",
                );
            }
            Err(e) => table.row(
                &format!("{label} vs SQLCipher 4"),
                ms(m1),
                "-".into(),
                "-".into(),
                &format!("SQLCipher arm not run: {e}"),
            ),
        }
        table.row(
            &format!("{label}, with its access-log entry"),
            ms(m3),
            "-".into(),
            "-".into(),
            "the consultation is a signed event committed with synchronous=FULL",
        );
        if scale == 1 {
            eprintln!("key rotation…");
            let t = Instant::now();
            let r = store.rotate_data_key(PIN).expect("rotate");
            let took = t.elapsed();
            table.row(
                "6. data-key rotation, 2-year store",
                format!("{:.2} s", took.as_secs_f64()),
                "-".into(),
                "-".into(),
                &format!("{} records and {} events re-sealed, blind indexes recomputed, one transaction (includes one PIN KDF)", r.records, r.events),
            );
        }
    }
    if let [a, b] = medians[..] {
        table.row(
            "2. roll call growth, 10x data / 1x data",
            ms(b),
            ms(a),
            ratio(b, a),
            "flat means the lookups are indexed (O(log n))",
        );
    }
}

/// 3. Unlock: KDF + platform unwrap + open, and the parts.
pub fn unlock(table: &mut Table) {
    eprintln!("unlock…");
    let dir = tempfile::tempdir().expect("tmp");
    let (store, platform, clock) = new_store(dir.path(), "unlock.db");
    drop(store);
    // A SQLCipher database holding one capture, for its open.
    let cipher_db = dir.path().join("cipher.db");
    let one = PlainCheckIn {
        appointment_id: id().to_string(),
        session_id: id().to_string(),
        crn: "X000001".into(),
        arrival_ms: T0,
    };
    let mut served = sqlcipher::capture(&cipher_db)
        .and_then(|mut arm| arm.measure(&sqlcipher::capture_line(&one)))
        .and_then(|_| sqlcipher::open(&cipher_db));
    let params = KdfParams::new(MIN_ITERATIONS).expect("kdf");
    let mut full = Vec::new();
    let mut kdf = Vec::new();
    let mut cipher = Vec::new();
    // In turns, as the other measures: unlock, the KDF alone, SQLCipher's
    // open.
    for _ in 0..7 {
        let t = Instant::now();
        let s = Store::open(
            &dir.path().join("unlock.db"),
            platform.clone(),
            clock.clone(),
        )
        .expect("open");
        s.unlock(PIN).expect("unlock");
        full.push(t.elapsed());
        let t = Instant::now();
        params.derive(PIN).expect("derive");
        kdf.push(t.elapsed());
        if let Ok(arm) = served.as_mut() {
            match arm.measure("open") {
                Ok(d) => cipher.push(d),
                Err(e) => served = Err(e),
            }
        }
    }
    let cipher = served.map(|_| cipher);
    let wrapped = platform.wrap(vec![7u8; 200]).expect("wrap");
    let mut unwrap = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        platform.unwrap(wrapped.clone()).expect("unwrap");
        unwrap.push(t.elapsed());
    }
    let (f, _) = stats(&mut full);
    let (k, _) = stats(&mut kdf);
    let (u, _) = stats(&mut unwrap);
    table.row(
        "3. unlock: open + platform unwrap + PIN KDF + canary",
        ms(f),
        ms(k),
        ratio(f, k),
        &format!("baseline: the PBKDF2-HMAC-SHA256 alone, {MIN_ITERATIONS} iterations"),
    );
    match cipher {
        Ok(mut c) => {
            let (o, _) = stats(&mut c);
            table.row(
                "3. unlock vs SQLCipher 4 open",
                ms(f),
                ms(o),
                ratio(f, o),
                "baseline: open + PRAGMA key + first read, SQLCipher 4 default KDF (PBKDF2-HMAC-SHA512, 256,000 iterations)",
            );
        }
        Err(e) => table.row(
            "3. unlock vs SQLCipher 4 open",
            ms(f),
            "-".into(),
            "-".into(),
            &format!("SQLCipher arm not run: {e}"),
        ),
    }
    table.row(
        "3. platform-key unwrap alone (software key store)",
        format!("{:.1} µs", u.as_secs_f64() * 1e6),
        "-".into(),
        "-".into(),
        "a phone's hardware key store is slower; not measurable here",
    );
}
