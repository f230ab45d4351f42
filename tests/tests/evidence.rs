//! Evidence packs end to end: a supervisor's field day on a real device
//! store, synced to a real office server; a pack for one person produced
//! through the office API; the offline verifier passing it, and failing,
//! with the right reason, each single tampering (a changed minute, a
//! removed correction, a swapped device key, an edited PDF statement, an
//! event from a device after its revocation); a redacted pack verifying;
//! the PDF rendered to PNG with pdftoppm and its text checked against the
//! events.

use fieldbook_core::ids::RecordId;
use fieldbook_core::unpaid_work::policy::OutcomeInput;
use fieldbook_core::unpaid_work::{CheckIn, UnpaidWork};
use fieldbook_e2e::harness::*;
use fieldbook_server::evidence::verify::{verify, FailureKind, Verdict};
use fieldbook_server::evidence::{Bundle, Entry, Manifest};
use fieldbook_server::Storage;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn rid() -> String {
    RecordId::random().expect("rng").to_string()
}

fn today() -> String {
    let days = wall_now() / 86_400_000;
    fieldbook_core::vocab::Stamp {
        utc_ms: days * 86_400_000,
        offset_min: 0,
    }
    .local()
    .date()
    .to_string()
}

/// A project, one session today for sup-1, three people in it.
async fn reference(office: &Office) -> (String, Vec<String>) {
    let project = rid();
    let all_days = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    office
        .reference(
            "upw_project",
            &project,
            json!({ "code": "P1", "name": "Park", "project_type": "group_placement", "travel_time_eligible": false,
                    "address": "Park Road", "beneficiary": "Council", "site_contact": "Office", "hi_vis_required": true,
                    "hazards": "", "risk_notes": "", "available_days": all_days, "available_from": "00:00:00",
                    "available_until": "23:59:00" }),
            &["sup-1"],
            &[],
        )
        .await;
    let session = rid();
    office
        .reference(
            "upw_session",
            &session,
            json!({ "project_id": project, "date": today(), "planned_start": "00:01:00", "planned_end": "23:58:00",
                    "supervisor_id": "sup-1", "pick_up_point": null, "pick_up_time": null }),
            &["sup-1"],
            &[],
        )
        .await;
    let mut appointments = vec![];
    for (i, name) in ["Alex Example", "Sam Sample", "Kim Other"]
        .iter()
        .enumerate()
    {
        let req = rid();
        let crn = format!("X20000{i}");
        office
            .reference(
                "upw_requirement",
                &req,
                json!({ "crn": crn, "name": name, "restricted": false, "photo_ref": "p", "risk_level": "low",
                        "registrations": [], "hours_required": 100, "minutes_credited_office": 0,
                        "order_start": "2020-01-01", "order_end": "2099-12-31" }),
                &["sup-1"],
                &[],
            )
            .await;
        let appt = rid();
        office
            .reference(
                "upw_appointment",
                &appt,
                json!({ "session_id": session, "requirement_id": req, "crn": crn, "allocated": true, "agreed_absence": null }),
                &["sup-1"],
                &[],
            )
            .await;
        appointments.push(appt);
    }
    (session, appointments)
}

struct Pack {
    bundle: Vec<u8>,
    pdf: Vec<u8>,
    reference: String,
}

async fn produce(office: &Office, body: Value) -> Pack {
    let (s, v) = office
        .send(Method::POST, "/v1/office/evidence-packs", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let get = |path: String| async move {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", office.base))
            .bearer_auth(OFFICE_TOKEN)
            .send()
            .await
            .expect("download");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.bytes().await.expect("bytes").to_vec()
    };
    Pack {
        bundle: get(v["bundle"].as_str().expect("bundle").to_owned()).await,
        pdf: get(v["pdf"].as_str().expect("pdf").to_owned()).await,
        reference: v["reference"].as_str().expect("reference").to_owned(),
    }
}

fn request(crn: &str) -> Value {
    json!({ "crn": crn, "from": today(), "to": today(), "produced_by": "A. Clerk (enforcement)",
            "reason": "Breach proceedings, hearing listed", "recipient": "Magistrates' court and defence" })
}

fn bundle_of(bytes: &[u8]) -> Bundle {
    serde_json::from_slice(bytes).expect("bundle parses")
}

fn manifest_of(b: &Bundle) -> Manifest {
    serde_json::from_str(&b.manifest).expect("manifest parses")
}

fn assert_fails(v: &Verdict, kind: FailureKind, what: &str) {
    assert!(!v.verified, "{what}: must not verify\n{}", v.render());
    assert!(v.has(kind), "{what}: expected {kind:?}\n{}", v.render());
}

/// The server binary this test build sits beside.
fn server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("fieldbook-server");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p fieldbook-server first",
        bin.display()
    );
    bin
}

/// The same on PostgreSQL: the pack is read from, and its audit written
/// to, the other backend, and verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_from_postgresql_verifies() {
    let pg = fieldbook_e2e::pg::PgCluster::start()
        .expect("PostgreSQL 15 must be installed for this test");
    let day = field_day(Storage::Postgres(pg.url.clone())).await;
    let mut req = request("X200000");
    req["redact_names"] = json!(["Jo Bloggs"]);
    let pack = produce(&day.office, req).await;
    let v = verify(&pack.bundle, Some(&pack.pdf), Some(&day.office_key));
    assert!(v.verified, "{}", v.render());
    // Three of the events and one of the office's record of the order.
    assert_eq!(manifest_of(&bundle_of(&pack.bundle)).statements, 4);
    assert!(!String::from_utf8_lossy(&pack.bundle).contains("Bloggs"));
    let audit = day.office.get("/v1/office/evidence-packs").await;
    assert_eq!(audit[0]["reference"], pack.reference.as_str());
    day.server.shutdown().await;
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A real server on `storage` and a supervisor's field day synced to it:
/// Alex (X200000) arrives, works 3 hours, the outcome is recorded and then
/// corrected with a reason; Sam (X200001) does not attend.
struct Day {
    server: fieldbook_server::RunningServer,
    office: Office,
    url: String,
    phone: SyncDevice,
    uw: UnpaidWork,
    appts: Vec<String>,
    office_key: String,
}

async fn field_day(storage: Storage) -> Day {
    let server = server(storage).await;
    let office = Office::new(server.addr);
    office.officer("sup-1", "supervisor").await;
    let (_session, appts) = reference(&office).await;
    let url = format!("http://{}", server.addr);
    let phone = SyncDevice::enrol(&office, "sup-1", &url, None).await;
    phone.sync().await.expect("pull");

    // The field day: Alex arrives, works 3 hours, the outcome is recorded
    // and then corrected with a reason; Sam does not attend.
    let uw = UnpaidWork::new(phone.store.clone());
    let a0 = RecordId::parse(&appts[0]).expect("id");
    let a1 = RecordId::parse(&appts[1]).expect("id");
    uw.check_in(
        &a0,
        CheckIn {
            identity_checked: true,
            hi_vis_issued: true,
            hi_vis_worn: true,
            ..CheckIn::default()
        },
    )
    .expect("check in");
    phone.device.clock.advance_ms(3 * 3_600_000);
    let mut out = OutcomeInput::absence("ATTC");
    out.notes = "Worked on the fence with Jo Bloggs".into();
    assert_eq!(
        uw.record_outcome(&a0, out)
            .expect("outcome")
            .minutes_credited,
        180
    );
    let mut fixed = OutcomeInput::absence("ATTC");
    fixed.penalty_minutes = 30;
    fixed.notes = "Long break taken with Jo Bloggs".into();
    let corrected = uw
        .correct_outcome(&a0, fixed, "Penalty for an unauthorised break")
        .expect("correction");
    assert_eq!(corrected.minutes_credited, 150);
    uw.did_not_attend(&a1, true).expect("dna");
    phone.sync().await.expect("push");

    let key = office.get("/v1/evidence/office-key").await;
    let office_key = key["public_key"].as_str().expect("key").to_owned();
    assert_eq!(key["algorithm"], "Ed25519");
    Day {
        server,
        office,
        url,
        phone,
        uw,
        appts,
        office_key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_for_a_person_verifies_offline_and_every_tampering_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let Day {
        server,
        office,
        url,
        phone,
        uw,
        appts,
        office_key,
    } = field_day(Storage::Sqlite(dir.path().join("office.db"))).await;
    let a2 = RecordId::parse(&appts[2]).expect("id");

    // Bad requests change nothing and say why.
    for (bad, code) in [
        (
            json!({ "crn": "X200000", "from": today(), "to": today(), "produced_by": "", "reason": "r", "recipient": "c" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "crn": "X200000", "from": "2026-13-01", "to": today(), "produced_by": "a", "reason": "r", "recipient": "c" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "crn": "X200000", "from": today(), "to": "2000-01-01", "produced_by": "a", "reason": "r", "recipient": "c" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "crn": "X200000", "from": today(), "to": today(), "produced_by": "a", "reason": "r", "recipient": "c", "extra": 1 }),
            StatusCode::BAD_REQUEST,
        ),
        (request("X999999"), StatusCode::NOT_FOUND),
    ] {
        let (s, v) = office
            .send(Method::POST, "/v1/office/evidence-packs", Some(bad))
            .await;
        assert_eq!(s, code, "{v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let unauth = reqwest::Client::new()
        .post(format!("{url}/v1/office/evidence-packs"))
        .json(&request("X200000"))
        .send()
        .await
        .expect("send");
    assert_eq!(unauth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        office.get("/v1/office/evidence-packs").await,
        json!([]),
        "refused requests produced nothing"
    );

    // Downloads of a pack that does not exist, or by a malformed id.
    let (s, v) = office
        .send(
            Method::GET,
            &format!("/v1/office/evidence-packs/{}/pack.pdf", rid()),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_pack"))
    );
    let (s, _) = office
        .send(
            Method::GET,
            "/v1/office/evidence-packs/NOT-AN-ID/bundle.json",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The pack for Alex, unredacted, verifies.
    let pack = produce(&office, request("X200000")).await;
    let verdict = verify(&pack.bundle, Some(&pack.pdf), Some(&office_key));
    assert!(verdict.verified, "{}", verdict.render());
    let bundle = bundle_of(&pack.bundle);
    let manifest = manifest_of(&bundle);
    assert_eq!(manifest.reference, pack.reference);
    assert_eq!(manifest.request.produced_by, "A. Clerk (enforcement)");
    // Arrival, outcome, correction: Alex's events whole; Sam's withheld.
    let full: Vec<&Entry> = bundle.chains[0]
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Full { .. }))
        .collect();
    assert_eq!(
        full.len(),
        3,
        "{:?}",
        bundle.chains[0]
            .entries
            .iter()
            .map(Entry::form)
            .collect::<Vec<_>>()
    );
    assert!(bundle.chains[0]
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Withheld { .. })));
    let text = String::from_utf8_lossy(&pack.bundle);
    assert!(
        !text.contains("X200001"),
        "another person's CRN is not disclosed"
    );
    // Three of the events and one of the office's record of the order.
    assert_eq!(manifest.statements, 4);
    // Pinned to another key, the same pack fails.
    let other = fieldbook_server::evidence::OfficeKey::generate().expect("key");
    assert_fails(
        &verify(&pack.bundle, Some(&pack.pdf), Some(&other.public_hex())),
        FailureKind::ManifestSignature,
        "another office key",
    );

    // The PDF: rendered to PNG pages; its text says what the events say.
    let pdf_path = dir.path().join("pack.pdf");
    std::fs::write(&pdf_path, &pack.pdf).expect("write");
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60"])
        .arg(&pdf_path)
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm (poppler-utils) runs");
    assert!(status.success());
    let pngs: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("page"))
        .collect();
    assert!(!pngs.is_empty());
    for p in &pngs {
        let bytes = std::fs::read(p.path()).expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 2_000, "a page with something drawn on it");
    }
    if let Ok(keep) = std::env::var("FIELDBOOK_EVIDENCE_KEEP") {
        for p in &pngs {
            let _ = std::fs::copy(p.path(), std::path::Path::new(&keep).join(p.file_name()));
        }
        let _ = std::fs::copy(&pdf_path, std::path::Path::new(&keep).join("pack.pdf"));
    }
    let text = pdftotext(&pdf_path);
    let pages = pngs.len();
    for n in 1..=pages {
        assert!(
            text.contains(&format!(
                "Reference {} · page {n} of {pages}",
                pack.reference
            )),
            "every page carries the reference and its number:\n{text}"
        );
    }
    assert!(text.contains("credited 180 min"), "{text}");
    assert!(text.contains("penalty 30 min; credited 150 min"), "{text}");
    assert!(
        text.contains("Reason given: Penalty for an unauthorised break"),
        "{text}"
    );
    assert!(text.contains("Recorded by officer sup-1"), "{text}");
    assert!(text.contains("Corrects S-002"), "{text}");
    assert!(
        text.contains("Worked on the fence with Jo Bloggs"),
        "{text}"
    );
    let fonts = std::process::Command::new("pdffonts")
        .arg(&pdf_path)
        .output()
        .expect("pdffonts");
    let fonts = String::from_utf8_lossy(&fonts.stdout);
    // One font (the embedded DejaVu Sans; printpdf names it F0), a CID
    // TrueType font that is embedded, with a Unicode map.
    let listed: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(listed.len(), 1, "{fonts}");
    let cols: Vec<&str> = listed[0].split_whitespace().collect();
    assert!(listed[0].contains("CID TrueType"), "{fonts}");
    assert_eq!(
        cols[cols.len() - 5..cols.len() - 2],
        ["yes", "no", "yes"],
        "embedded, not subset, Unicode map:\n{fonts}"
    );

    // The command-line verifier, offline, on the files.
    let bundle_path = dir.path().join("bundle.json");
    std::fs::write(&bundle_path, &pack.bundle).expect("write");
    let cli = std::process::Command::new(server_binary())
        .arg("verify-pack")
        .arg("--bundle")
        .arg(&bundle_path)
        .arg("--pdf")
        .arg(&pdf_path)
        .args(["--office-key", &office_key])
        .output()
        .expect("verify-pack");
    let said = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{said}");
    assert!(said.starts_with("VERDICT: VERIFIED"), "{said}");

    // 1. A changed minute.
    let mut b = bundle.clone();
    for e in &mut b.chains[0].entries {
        if let Entry::Full { body, .. } = e {
            if body.contains("\"minutes_credited\":150") {
                *body = body.replace("\"minutes_credited\":150", "\"minutes_credited\":210");
            }
        }
    }
    let v = verify(
        &serde_json::to_vec(&b).expect("json"),
        Some(&pack.pdf),
        Some(&office_key),
    );
    assert_fails(&v, FailureKind::BadSignature, "a changed minute");
    assert!(v.has(FailureKind::EntryChanged), "{}", v.render());
    // The same, written back through the CLI: exit status 1, reason named.
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&b).expect("json")).expect("write");
    let cli = std::process::Command::new(server_binary())
        .arg("verify-pack")
        .arg("--bundle")
        .arg(&tampered)
        .args(["--office-key", &office_key])
        .output()
        .expect("verify-pack");
    let said = String::from_utf8_lossy(&cli.stdout);
    assert!(!cli.status.success());
    assert!(
        said.starts_with("VERDICT: NOT VERIFIED") && said.contains("[bad_signature]"),
        "{said}"
    );

    // 2. The correction removed (a dropped event).
    let mut b = bundle.clone();
    let before = b.chains[0].entries.len();
    b.chains[0].entries.retain(|e| match e {
        Entry::Full { body, .. } => !body.contains("\"supersedes\""),
        _ => true,
    });
    assert_eq!(b.chains[0].entries.len(), before - 1);
    let v = verify(
        &serde_json::to_vec(&b).expect("json"),
        Some(&pack.pdf),
        Some(&office_key),
    );
    assert_fails(&v, FailureKind::ChainGap, "a removed correction");
    assert!(v.has(FailureKind::Statements), "{}", v.render());

    // 3. A swapped device key (the forger re-signs every event with it).
    let mut b = bundle.clone();
    let forger = fieldbook_core::crypto::signing::DeviceKey::generate().expect("key");
    b.devices[0].public_key = hex::encode(forger.public_key());
    for e in &mut b.chains[0].entries {
        if let Entry::Full {
            body, signature, ..
        } = e
        {
            *signature = hex::encode(forger.sign(body.as_bytes()));
        }
    }
    let v = verify(
        &serde_json::to_vec(&b).expect("json"),
        Some(&pack.pdf),
        Some(&office_key),
    );
    assert_fails(&v, FailureKind::DeviceKey, "a swapped device key");
    assert!(
        !v.has(FailureKind::BadSignature),
        "the forger's signatures verify under the forger's key; the key itself is what fails:\n{}",
        v.render()
    );

    // 4. An edited PDF statement: the PDF laid out again with 150 changed
    // to 210 minutes in the correction's statement.
    let stated = {
        let mut views = vec![];
        for e in &bundle.chains[0].entries {
            if let Entry::Full { body, .. } = e {
                views.push(fieldbook_server::evidence::statements::EventView {
                    device_id: bundle.chains[0].device_id.clone(),
                    body: serde_json::from_str(body).expect("body"),
                    redacted: false,
                });
            }
        }
        // The events' statements and the office records', as the pack has.
        fieldbook_server::evidence::statements::all(&views, bundle.office_records.as_ref())
    };
    let mut edited = stated.clone();
    let target = edited
        .iter_mut()
        .find(|s| s.lines.iter().any(|l| l.contains("credited 150 min")))
        .expect("the correction's statement");
    let target_ref = target.reference.clone();
    for l in &mut target.lines {
        *l = l.replace("credited 150 min", "credited 210 min");
    }
    let forged_pdf = fieldbook_server::evidence::pdf::render(&manifest, &edited).expect("pdf");
    let v = verify(&pack.bundle, Some(&forged_pdf), Some(&office_key));
    assert_fails(&v, FailureKind::PdfStatement, "an edited PDF statement");
    assert!(v.has(FailureKind::PdfChanged), "{}", v.render());
    assert!(
        v.failures
            .iter()
            .any(|f| f.kind == FailureKind::PdfStatement
                && f.detail.contains(&format!("statement {target_ref}"))),
        "the edited statement is named:\n{}",
        v.render()
    );
    // The unedited layout is exactly what the office produced.
    let again = fieldbook_server::evidence::pdf::render(&manifest, &stated).expect("pdf");
    assert!(!verify(&pack.bundle, Some(&again), Some(&office_key)).has(FailureKind::PdfStatement));

    // 5. A changed byte anywhere in the file is reported.
    let mut flipped = pack.bundle.clone();
    let at = flipped.len() / 2;
    flipped[at] = if flipped[at] == b'0' { b'1' } else { b'0' };
    let v = verify(&flipped, Some(&pack.pdf), Some(&office_key));
    assert!(!v.verified, "{}", v.render());
    // And at 400 places spread over the whole bundle, each on its own
    // (the untouched bundle without its PDF verifies: the control).
    assert!(verify(&pack.bundle, None, Some(&office_key)).verified);
    let step = (pack.bundle.len() / 400).max(1);
    let mut tried = 0;
    for at in (0..pack.bundle.len()).step_by(step) {
        let mut b = pack.bundle.clone();
        b[at] = if b[at] == b'0' { b'1' } else { b'0' };
        let v = verify(&b, None, Some(&office_key));
        assert!(
            !v.verified,
            "a changed byte at {at} went unnoticed: {:?}",
            String::from_utf8_lossy(
                &pack.bundle[at.saturating_sub(80)..(at + 40).min(pack.bundle.len())]
            )
        );
        tried += 1;
    }
    assert!(tried >= 400);
    let mut pdf_flipped = pack.pdf.clone();
    let at = pdf_flipped.len() / 3;
    pdf_flipped[at] ^= 0x01;
    let v = verify(&pack.bundle, Some(&pdf_flipped), Some(&office_key));
    assert_fails(&v, FailureKind::PdfChanged, "a changed byte in the PDF");

    // A redacted pack: the third party's name and sensitive notes by rule;
    // the redactions are in the manifest and what remains verifies.
    let mut req = request("X200000");
    req["redact_names"] = json!(["Jo Bloggs"]);
    let redacted = produce(&office, req).await;
    let v = verify(&redacted.bundle, Some(&redacted.pdf), Some(&office_key));
    assert!(v.verified, "{}", v.render());
    assert!(
        v.notes.iter().any(|n| n.contains("redacted")),
        "{}",
        v.render()
    );
    let text = String::from_utf8_lossy(&redacted.bundle);
    assert!(!text.contains("Bloggs"), "the name is gone from the bundle");
    let rb = bundle_of(&redacted.bundle);
    let rm = manifest_of(&rb);
    let listed: Vec<_> = rm
        .chains
        .iter()
        .flat_map(|c| &c.entries)
        .flat_map(|e| &e.redactions)
        .collect();
    assert_eq!(listed.len(), 2, "two notes redacted: {listed:?}");
    assert!(listed
        .iter()
        .all(|r| r.path == "/payload/notes" && r.rule == "named-third-party"));
    let rpdf = dir.path().join("redacted.pdf");
    std::fs::write(&rpdf, &redacted.pdf).expect("write");
    let rtext = pdftotext(&rpdf);
    assert!(
        !rtext.contains("Bloggs") && rtext.contains("[redacted]"),
        "{rtext}"
    );
    // Editing a redacted event's remaining values is caught by the
    // office's digest even though its device signature cannot be checked.
    let mut b = rb.clone();
    for e in &mut b.chains[0].entries {
        if let Entry::Redacted { redacted_body, .. } = e {
            *redacted_body =
                redacted_body.replace("\"minutes_credited\":150", "\"minutes_credited\":210");
        }
    }
    let v = verify(
        &serde_json::to_vec(&b).expect("json"),
        Some(&redacted.pdf),
        Some(&office_key),
    );
    assert_fails(&v, FailureKind::EntryChanged, "an edited redacted event");
    assert!(v.has(FailureKind::Statements), "{}", v.render());

    // A pack for one enforcement item: only that appointment's events.
    let mut req = request("X200000");
    req["appointment_id"] = json!(appts[0]);
    let item = produce(&office, req).await;
    let v = verify(&item.bundle, Some(&item.pdf), Some(&office_key));
    assert!(v.verified, "{}", v.render());
    let im = manifest_of(&bundle_of(&item.bundle));
    assert_eq!(
        im.request.appointment_id.as_deref(),
        Some(appts[0].as_str())
    );
    assert_eq!(
        im.statements, 4,
        "arrival, outcome, correction; the office's record of the order"
    );
    let mut req = request("X200000");
    req["appointment_id"] = json!(appts[1]);
    let (s, _) = office
        .send(Method::POST, "/v1/office/evidence-packs", Some(req))
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "Sam's appointment holds nothing of Alex's"
    );

    // A long pack: page numbers and the reference on every page.
    let mut many = vec![];
    for i in 0..40 {
        let mut s = stated[i % stated.len()].clone();
        s.reference = format!("S-{:03}", i + 1);
        many.push(s);
    }
    let long = fieldbook_server::evidence::pdf::render(&manifest, &many).expect("pdf");
    let long_path = dir.path().join("long.pdf");
    std::fs::write(&long_path, &long).expect("write");
    let text = pdftotext(&long_path);
    let pages = fieldbook_server::evidence::pdf::text_runs(&long)
        .expect("runs")
        .len();
    assert!(pages >= 4, "{pages} pages");
    for n in 1..=pages {
        assert!(
            text.contains(&format!(
                "Reference {} · page {n} of {pages}",
                manifest.reference
            )),
            "page {n}:\n{text}"
        );
        assert!(text.contains(&format!(
            "Fieldbook evidence pack {} · CRN X200000",
            manifest.reference
        )));
    }
    assert_eq!(
        text.matches("Fieldbook evidence pack FB-EP-").count(),
        pages,
        "a header on each page"
    );

    // The audit: who, why, for whom, for each pack.
    let audit = office.get("/v1/office/evidence-packs").await;
    assert_eq!(audit.as_array().expect("array").len(), 3);
    if let Ok(keep) = std::env::var("FIELDBOOK_EVIDENCE_KEEP") {
        let _ = std::fs::write(
            std::path::Path::new(&keep).join("bundle.json"),
            &pack.bundle,
        );
        let _ = std::fs::write(std::path::Path::new(&keep).join("key.txt"), &office_key);
    }
    assert_eq!(audit[0]["produced_by"], "A. Clerk (enforcement)");
    assert_eq!(audit[0]["recipient"], "Magistrates' court and defence");
    assert_eq!(audit[0]["crn"], "X200000");

    // Sam's pack: the non-attendance with the step the device flagged and
    // the warning given on site, dated.
    let a1 = RecordId::parse(&appts[1]).expect("id");
    uw.record_warning_given(&a1).expect("warning given");
    phone.sync().await.expect("push");
    let sam = produce(&office, request("X200001")).await;
    let v = verify(&sam.bundle, Some(&sam.pdf), Some(&office_key));
    assert!(v.verified, "{}", v.render());
    let sam_pdf = dir.path().join("sam.pdf");
    std::fs::write(&sam_pdf, &sam.pdf).expect("write");
    let sam_text = pdftotext(&sam_pdf);
    assert!(sam_text.contains("code UACP"), "{sam_text}");
    assert!(
        sam_text.contains(
            "Enforcement flagged by the device: warning or referral (the office decides)"
        ),
        "{sam_text}"
    );
    assert!(
        sam_text.contains(&format!("Warning given on site on {}", today())),
        "{sam_text}"
    );
    assert!(sam_text.contains("Sent to the alert diary"), "{sam_text}");
    assert!(
        !sam_text.contains("X200000") && !sam_text.contains("Bloggs"),
        "nothing of Alex's: {sam_text}"
    );

    // 6. An event from the device after the office revoked it.
    let device_id = phone
        .client
        .state()
        .expect("state")
        .expect("enrolled")
        .device_id;
    let (s, _) = office
        .send(
            Method::POST,
            &format!("/v1/office/devices/{device_id}/revoke"),
            Some(json!({ "final_push_allowed": true })),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    phone.device.clock.set_wall_ms(wall_now());
    uw.did_not_attend(&a2, false).expect("dna after revocation");
    let report = phone.sync().await.expect("final push");
    assert!(report.shredded);
    let late = produce(&office, request("X200002")).await;
    let v = verify(&late.bundle, Some(&late.pdf), Some(&office_key));
    assert_fails(&v, FailureKind::RevokedDevice, "an event after revocation");
    // The earlier pack for Alex still verifies: its events predate it.
    let v = verify(&pack.bundle, Some(&pack.pdf), Some(&office_key));
    assert!(v.verified, "{}", v.render());
    server.shutdown().await;
}

/// The evidence routes take scoped API keys: a key with the evidence scope
/// produces and downloads a pack (each call in the audit log under the
/// key's name, as a disclosure); a key with only the read scope is refused
/// with 403 and no pack is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_routes_take_an_api_key_with_the_evidence_scope() {
    use fieldbook_server::console::apikeys::{self, Scope};
    let dir = tempfile::tempdir().expect("tmp");
    let day = field_day(Storage::Sqlite(dir.path().join("office.db"))).await;
    let db = &day.server.state.db;
    let (_, evidence) = apikeys::create(db, "court-bundles", &[Scope::Evidence], "admin", 1)
        .await
        .expect("key");
    let (_, read) = apikeys::create(db, "reports", &[Scope::Read], "admin", 1)
        .await
        .expect("key");
    let http = reqwest::Client::new();
    let post = |key: String| {
        http.post(format!("{}/v1/office/evidence-packs", day.office.base))
            .bearer_auth(key)
            .json(&request("X200000"))
            .send()
    };
    let refused = post(read.clone()).await.expect("post");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let listed = http
        .get(format!("{}/v1/office/evidence-packs", day.office.base))
        .bearer_auth(&read)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        day.office.get("/v1/office/evidence-packs").await,
        json!([]),
        "a refused key made no pack"
    );
    let made = post(evidence.clone()).await.expect("post");
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.expect("json");
    let pdf = http
        .get(format!(
            "{}{}",
            day.office.base,
            made["pdf"].as_str().expect("pdf")
        ))
        .bearer_auth(&evidence)
        .send()
        .await
        .expect("pdf");
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.expect("bytes").starts_with(b"%PDF"));
    let by_key = fieldbook_server::console::audit::recent(db, 50, Some("api:court-bundles"))
        .await
        .expect("audit");
    assert!(
        by_key
            .iter()
            .any(|e| e.what == "evidence pack" && e.action == "disclosure"),
        "{by_key:?}"
    );
    assert!(by_key.iter().any(|e| e.what == "evidence pack download"));
    day.server.shutdown().await;
}

/// The office's own records in the pack: the order and requirement (hours
/// required, an adjustment, credited, outstanding, the warning's date) and
/// the enforcement decision the console recorded on Sam's non-attendance,
/// in the PDF and the bundle, checked by the verifier; a changed or a
/// removed decision is named, and the decision's note is redacted by the
/// pack's name rule like everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pack_holds_the_order_and_the_offices_decisions_and_a_changed_decision_is_named() {
    use fieldbook_server::console::sql::{exec, Val};
    use fieldbook_server::evidence::office::OfficeRecords;
    let dir = tempfile::tempdir().expect("tmp");
    let day = field_day(Storage::Sqlite(dir.path().join("office.db"))).await;
    let db = &day.server.state.db;
    // Sam's requirement gains an adjustment and the warning's date, as the
    // office's reference data and the console's warning decision set them.
    let (req_id, mut req) = db
        .reference_items("upw_requirement")
        .await
        .expect("db")
        .into_iter()
        .map(|(id, d)| (id, serde_json::from_str::<Value>(&d).expect("json")))
        .find(|(_, r)| r["crn"] == "X200001")
        .expect("Sam's requirement");
    let warned = today();
    req["warnings"] = json!([warned]);
    req["minutes_credited_office"] = json!(600);
    req["adjustments"] =
        json!([{ "direction": "negative", "minutes": 120, "reason_code": "TTX", "date": warned }]);
    day.office
        .reference("upw_requirement", &req_id, req, &["sup-1"], &[])
        .await;
    // The decision, as the console's enforcement page writes it.
    let events = day.office.get("/v1/office/events?limit=500").await;
    let sams = events
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "upw.outcome_recorded" && e["payload"]["crn"] == "X200001")
        .expect("Sam's outcome");
    let event_id = sams["event_id"].as_str().expect("id").to_owned();
    exec(
        db,
        "INSERT INTO console_decisions (id, event_id, appointment_id, requirement_id, crn, decision, decision_date, note, account_id, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        vec![
            Val::from(rid()),
            Val::from(event_id.clone()),
            Val::from(day.appts[1].clone()),
            Val::from(req_id.clone()),
            Val::from("X200001"),
            Val::from("warning_given"),
            Val::from(warned.clone()),
            Val::from("Warned by phone; Jo Bloggs answered first"),
            Val::from("acct-uma"),
            Val::I(wall_now()),
        ],
    )
    .await
    .expect("decision");

    let mut r = request("X200001");
    r["redact_names"] = json!(["Jo Bloggs"]);
    let pack = produce(&day.office, r).await;
    let v = verify(&pack.bundle, Some(&pack.pdf), Some(&day.office_key));
    assert!(v.verified, "{}", v.render());
    assert!(
        v.checked
            .iter()
            .any(|c| c.contains("1 requirement(s), 1 enforcement decision(s)")),
        "{}",
        v.render()
    );
    let bundle = bundle_of(&pack.bundle);
    let records = bundle.office_records.clone().expect("office records");
    assert_eq!(records.requirements.len(), 1);
    let order = &records.requirements[0];
    assert_eq!(order.hours_required, 100);
    assert_eq!(order.credited_office_minutes, 600);
    // 100 h − 2 h adjustment − 10 h office − 0 on site (a non-attendance).
    assert_eq!(order.outstanding_minutes(), 6000 - 120 - 600);
    assert_eq!(order.warnings, vec![warned.clone()]);
    assert_eq!(records.decisions.len(), 1);
    assert_eq!(records.decisions[0].decision, "Warning given");
    assert!(!String::from_utf8_lossy(&pack.bundle).contains("Bloggs"));

    let pdf_path = dir.path().join("sam.pdf");
    std::fs::write(&pdf_path, &pack.pdf).expect("write");
    let text = pdftotext(&pdf_path);
    for want in [
        "Order and requirement (office record)".to_owned(),
        "Required: 100 h 00 min; adjustments: -2 h 00 min".to_owned(),
        "Outstanding: 88 h 00 min".to_owned(),
        format!("Warnings given by the office: {warned}"),
        format!("Enforcement decision (office record): Warning given on {warned}"),
        "decided by acct-uma".to_owned(),
        "Note: Warned by phone; [redacted] answered first".to_owned(),
    ] {
        assert!(text.contains(&want), "{want}:\n{text}");
    }

    // A changed decision.
    let tamper = |f: &dyn Fn(&mut OfficeRecords)| {
        let mut b = bundle.clone();
        if let Some(r) = b.office_records.as_mut() {
            f(r);
        }
        verify(
            &serde_json::to_vec(&b).expect("json"),
            Some(&pack.pdf),
            Some(&day.office_key),
        )
    };
    let v = tamper(&|r| r.decisions[0].decision = "No further action".into());
    assert_fails(&v, FailureKind::OfficeRecords, "a changed decision");
    assert!(v.has(FailureKind::Statements), "{}", v.render());
    let v = tamper(&|r| r.decisions.clear());
    assert_fails(&v, FailureKind::OfficeRecords, "a removed decision");
    let v = tamper(&|r| r.requirements[0].warnings.clear());
    assert_fails(&v, FailureKind::OfficeRecords, "a removed warning");
    let mut b = bundle.clone();
    b.office_records = None;
    let v = verify(
        &serde_json::to_vec(&b).expect("json"),
        Some(&pack.pdf),
        Some(&day.office_key),
    );
    assert_fails(&v, FailureKind::OfficeRecords, "the office records dropped");
    day.server.shutdown().await;
}
