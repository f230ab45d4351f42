//! The console's rules against a real (temporary) SQLite database:
//! lock-out, session timeouts, API key scopes, the append-only audit log,
//! CSRF origin checks, CSV previews, ID token verification, and the reads
//! the pages narrow in SQL (the same items, team scope and order as the
//! whole reads they replace).

use axum::http::HeaderMap;
use serde_json::json;

use super::accounts::{self, NewAccount, Role, SignIn};
use super::apikeys::{self, Check, Scope};
use super::audit::{self, Action};
use super::{sessions, sql};
use crate::db::Db;

async fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = Db::open_sqlite(&dir.path().join("office.db"))
        .await
        .expect("open");
    (dir, db)
}

async fn account(db: &Db, username: &str, role: Role, teams: &[&str]) -> accounts::Account {
    accounts::create(
        db,
        NewAccount {
            username: username.into(),
            display_name: "Test Person".into(),
            role,
            teams: teams.iter().map(|t| t.to_string()).collect(),
            password: Some("a-long-enough-password".into()),
        },
        1_000,
    )
    .await
    .expect("created")
}

#[tokio::test]
async fn five_failures_lock_the_account_even_against_the_right_password() {
    let (_d, db) = db().await;
    let a = account(&db, "om", Role::OffenderManager, &["po-ben"]).await;
    let now = 10_000;
    for _ in 0..4 {
        assert_eq!(
            accounts::sign_in(&db, "om", "wrong", now)
                .await
                .expect("db"),
            SignIn::Refused
        );
    }
    let locked = accounts::sign_in(&db, "om", "wrong", now)
        .await
        .expect("db");
    assert_eq!(locked, SignIn::Locked(now + accounts::LOCK_OUT_MS));
    assert!(matches!(
        accounts::sign_in(&db, "om", "a-long-enough-password", now + 1)
            .await
            .expect("db"),
        SignIn::Locked(_)
    ));
    // After the lock-out, or once unlocked, the right password works.
    assert!(matches!(
        accounts::sign_in(
            &db,
            "om",
            "a-long-enough-password",
            now + accounts::LOCK_OUT_MS + 1
        )
        .await
        .expect("db"),
        SignIn::Ok(_)
    ));
    for _ in 0..5 {
        accounts::sign_in(&db, "om", "wrong", now)
            .await
            .expect("db");
    }
    assert!(accounts::unlock(&db, &a.id).await.expect("db"));
    assert!(matches!(
        accounts::sign_in(&db, "om", "a-long-enough-password", now)
            .await
            .expect("db"),
        SignIn::Ok(_)
    ));
    assert_eq!(
        accounts::sign_in(&db, "nobody", "x", now)
            .await
            .expect("db"),
        SignIn::Refused
    );
}

#[tokio::test]
async fn bad_accounts_are_refused_and_nothing_is_stored() {
    let (_d, db) = db().await;
    let base = NewAccount {
        username: "ok-name".into(),
        display_name: "Name".into(),
        role: Role::SafetyMonitor,
        teams: vec!["po-ben".into()],
        password: Some("short".into()),
    };
    assert!(
        accounts::create(&db, base.clone(), 1).await.is_err(),
        "short password"
    );
    let mut bad = base.clone();
    bad.username = "has space".into();
    bad.password = None;
    assert!(accounts::create(&db, bad, 1).await.is_err());
    let mut no_team = base.clone();
    no_team.teams = vec![];
    no_team.password = None;
    assert!(accounts::create(&db, no_team, 1).await.is_err());
    assert!(accounts::list(&db).await.expect("db").is_empty());
    let mut ok = base.clone();
    ok.password = None;
    accounts::create(&db, ok.clone(), 1).await.expect("created");
    assert_eq!(
        accounts::create(&db, ok, 1).await,
        Err(accounts::AccountError::Taken)
    );
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old_and_everywhere() {
    let (_d, db) = db().await;
    let a = account(&db, "upw", Role::UnpaidWorkManager, &["sup-ada"]).await;
    let (idle, max) = (10_000, 100_000);
    let t = sessions::create(&db, &a.id, 0).await.expect("db");
    let s = sessions::lookup(&db, &t, 9_000, idle, max, true)
        .await
        .expect("db");
    assert_eq!(s.expect("live").account.username, "upw");
    // Touched at 9,000: still live at 18,000 (not touched), then idle at 28,001.
    assert!(sessions::lookup(&db, &t, 18_000, idle, max, false)
        .await
        .expect("db")
        .is_some());
    assert!(sessions::lookup(&db, &t, 28_001, idle, max, true)
        .await
        .expect("db")
        .is_none());
    assert!(
        sessions::lookup(&db, &t, 100, idle, max, true)
            .await
            .expect("db")
            .is_none(),
        "an ended session stays ended"
    );
    // Absolute: activity does not keep it past the maximum.
    let t2 = sessions::create(&db, &a.id, 0).await.expect("db");
    let mut now = 0;
    while now < max {
        now += 9_000;
        let live = sessions::lookup(&db, &t2, now, idle, max, true)
            .await
            .expect("db");
        assert_eq!(live.is_some(), now <= max, "at {now}");
    }
    let (x, y) = (
        sessions::create(&db, &a.id, 0).await.expect("db"),
        sessions::create(&db, &a.id, 0).await.expect("db"),
    );
    assert_eq!(sessions::end_all(&db, &a.id).await.expect("db"), 2);
    for t in [x, y] {
        assert!(sessions::lookup(&db, &t, 1, idle, max, true)
            .await
            .expect("db")
            .is_none());
    }
    assert!(sessions::lookup(&db, "forged", 1, idle, max, true)
        .await
        .expect("db")
        .is_none());
}

#[tokio::test]
async fn api_keys_hold_their_scopes_and_stop_when_revoked() {
    let (_d, db) = db().await;
    let (key, secret) = apikeys::create(&db, "reports", &[Scope::Read], "admin", 1)
        .await
        .expect("db");
    assert_eq!(
        apikeys::check(&db, &secret, Scope::Read, 2)
            .await
            .expect("db"),
        Check::Allowed("reports".into())
    );
    assert_eq!(
        apikeys::check(&db, &secret, Scope::Reference, 2)
            .await
            .expect("db"),
        Check::MissingScope
    );
    let mut wrong = secret.clone();
    wrong.pop();
    wrong.push(if secret.ends_with('0') { '1' } else { '0' });
    for bad in [wrong.as_str(), "fbk_", "fbk_zz_zz", "Bearer x", ""] {
        assert_eq!(
            apikeys::check(&db, bad, Scope::Read, 2).await.expect("db"),
            Check::Refused,
            "{bad}"
        );
    }
    // Only the hash is stored.
    let stored = sql::query(&db, "SELECT key_hash FROM console_api_keys", vec![])
        .await
        .expect("db");
    assert!(!secret.contains(&stored[0].text(0)));
    assert!(apikeys::revoke(&db, &key.id, 3).await.expect("db"));
    assert_eq!(
        apikeys::check(&db, &secret, Scope::Read, 4)
            .await
            .expect("db"),
        Check::Refused
    );
}

#[tokio::test]
async fn the_audit_log_refuses_changes_and_deletions() {
    let (_d, db) = db().await;
    audit::record(
        &db,
        "account:a",
        Action::Consultation,
        "person record",
        "X1",
        "",
    )
    .await
    .expect("db");
    assert!(sql::exec(
        &db,
        "UPDATE console_audit SET actor = 'someone else'",
        vec![]
    )
    .await
    .is_err());
    assert!(sql::exec(&db, "DELETE FROM console_audit", vec![])
        .await
        .is_err());
    let entries = audit::recent(&db, 10, None).await.expect("db");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "account:a");
    assert_eq!(entries[0].action, "consultation");
}

#[test]
fn forms_from_another_site_are_refused() {
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    };
    let host = ("host", "127.0.0.1:8787");
    assert!(
        super::same_origin(&headers(&[host])).is_ok(),
        "no Origin: a form without scripts"
    );
    assert!(super::same_origin(&headers(&[host, ("origin", "http://127.0.0.1:8787")])).is_ok());
    assert!(super::same_origin(&headers(&[host, ("origin", "http://127.0.0.1:9999")])).is_err());
    assert!(super::same_origin(&headers(&[host, ("origin", "null")])).is_err());
    assert!(super::same_origin(&headers(&[host, ("sec-fetch-site", "same-site")])).is_err());
    assert!(super::same_origin(&headers(&[host, ("sec-fetch-site", "same-origin")])).is_ok());
}

#[test]
fn a_csv_preview_names_each_bad_row() {
    let text = "id,audience,code,name\n\
                00000000000000000000000000000001,sup-1,P1,Park\n\
                nope,sup-1,P2,Other\n\
                00000000000000000000000000000003,,P3,Third\n";
    let (preview, rows) = super::pages::check_csv("upw_project", text).expect("reads");
    assert_eq!(rows.len(), 3);
    assert!(preview[1]["problem"]
        .as_str()
        .expect("problem")
        .contains("32 lowercase hex"));
    assert!(preview[2]["problem"]
        .as_str()
        .expect("problem")
        .contains("no audience"));
    // The first row lacks the project's required fields: refused too.
    assert!(preview[0]["problem"].is_string());
    assert!(super::pages::check_csv("upw_project", "name\nx\n").is_err());
}

#[test]
fn an_item_from_the_form_or_a_csv_row_is_checked_the_same_way() {
    let id = "0123456789abcdef0123456789abcdef";
    let aud = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let fields = |r: Result<serde_json::Value, Vec<(&'static str, String)>>| -> Vec<&'static str> {
        r.expect_err("refused").iter().map(|p| p.0).collect()
    };
    let bad = json!({"name": "Park", "colour": "green"});
    assert_eq!(
        fields(super::pages::check_item(
            "upw_project",
            "nope",
            &bad,
            &aud(&["not an id!"]),
            &aud(&["sup-2"])
        )),
        ["id", "audience", "restricted_for", "data"]
    );
    assert_eq!(
        fields(super::pages::check_item("upw_project", id, &bad, &[], &[])),
        ["audience", "data"]
    );
    // The CSV path says the same about the same row.
    let text = format!("id,audience,restricted_for,name,colour\n{id},sup-1,sup-2,Park,green\n");
    let (preview, _) = super::pages::check_csv("upw_project", &text).expect("reads");
    let problem = preview[0]["problem"].as_str().expect("problem");
    assert!(
        problem.contains("restricted must also be in the audience"),
        "{problem}"
    );
    assert!(
        problem.contains("upw_project does not validate"),
        "{problem}"
    );
}

#[test]
fn the_item_forms_fields_are_read_as_a_csv_row() {
    let id = "0123456789abcdef0123456789abcdef";
    let aud = vec!["sup-1".to_owned()];
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let problem = |r: Result<serde_json::Value, Vec<(&'static str, String)>>| -> String {
        let p = r.expect_err("refused");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "fields");
        p[0].1.clone()
    };
    // A JSON field that is not JSON, named.
    let bad_json = form(&[
        ("csrf", "x"),
        ("f:name", "Park"),
        ("j:hi_vis_required", "maybe"),
    ]);
    assert_eq!(
        problem(super::pages::fields_item(
            "upw_project",
            id,
            &bad_json,
            &aud,
            &[]
        )),
        "field hi_vis_required: not JSON"
    );
    // JSON of the wrong type, or a field the type lacks: the core's type says so.
    let wrong = form(&[
        ("f:name", "Park"),
        ("j:hi_vis_required", "\"yes\""),
        ("f:colour", "green"),
    ]);
    assert!(problem(super::pages::fields_item(
        "upw_project",
        id,
        &wrong,
        &aud,
        &[]
    ))
    .contains("upw_project does not validate"));
    // And the import's own row checks: an audience is required.
    assert!(problem(super::pages::fields_item(
        "upw_project",
        id,
        &form(&[("f:name", "Park")]),
        &[],
        &[]
    ))
    .contains("no audience"));
}

#[test]
fn id_tokens_are_checked_for_signature_issuer_audience_and_nonce() {
    use base64::Engine;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let key = |rng: &ring::rand::SystemRandom| {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng)
            .expect("pair");
        (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
    };
    let (private, public) = key(&rng);
    let (rogue, _) = key(&rng);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": b64(&public[1..33]), "y": b64(&public[33..65])}]}))
    .expect("jwks");
    let now = chrono::Utc::now().timestamp();
    let token = |claims: serde_json::Value, der: &[u8]| {
        let mut head = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        head.kid = Some("k1".into());
        jsonwebtoken::encode(&head, &claims, &jsonwebtoken::EncodingKey::from_ec_der(der))
            .expect("token")
    };
    let good = json!({"iss": "https://idp", "aud": "console", "sub": "s1", "nonce": "n1",
        "exp": now + 300, "iat": now, "preferred_username": "sol"});
    let verify = |t: &str| super::oidc::verify_id_token(t, &jwks, "https://idp", "console", "n1");
    let claims = verify(&token(good.clone(), &private)).expect("valid");
    assert_eq!(claims.sub, "s1");
    assert_eq!(claims.preferred_username.as_deref(), Some("sol"));
    assert!(
        verify(&token(good.clone(), &rogue)).is_err(),
        "signed by another key"
    );
    for (field, value) in [
        ("iss", json!("https://other")),
        ("aud", json!("someone-else")),
        ("nonce", json!("n2")),
        ("exp", json!(now - 3600)),
    ] {
        let mut c = good.clone();
        c[field] = value;
        assert!(verify(&token(c, &private)).is_err(), "{field}");
    }
    // An unsigned token ("alg": "none") is refused.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(good.to_string().as_bytes())
    );
    assert!(verify(&none).is_err());
}

#[test]
fn a_session_ending_before_it_starts_is_refused_by_the_cores_rule_on_import_and_form() {
    let id = "0123456789abcdef0123456789abcdef";
    let project = "00000000000000000000000000000001";
    let text = format!(
        "id,audience,project_id,date,planned_start,planned_end,supervisor_id\n\
         {id},sup-1,{project},2026-12-02,09:00:00,16:00:00,sup-1\n\
         00000000000000000000000000000002,sup-1,{project},2026-12-02,16:00:00,09:00:00,sup-1\n"
    );
    let (preview, rows) = super::pages::check_csv("upw_session", &text).expect("reads");
    assert_eq!(rows.len(), 2);
    assert!(preview[0]["problem"].is_null(), "{}", preview[0]);
    let problem = preview[1]["problem"].as_str().expect("the row is refused");
    assert!(
        problem.contains("planned_end must be after the start"),
        "{problem}"
    );
    // The item form says the same, through the same check.
    let form: Vec<(String, String)> = [
        ("f:project_id", project),
        ("f:date", "2026-12-02"),
        ("f:planned_start", "16:00:00"),
        ("f:planned_end", "09:00:00"),
        ("f:supervisor_id", "sup-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let refused = super::pages::fields_item("upw_session", id, &form, &["sup-1".to_owned()], &[])
        .expect_err("refused");
    assert!(
        refused
            .iter()
            .any(|p| p.1.contains("planned_end must be after the start")),
        "{refused:?}"
    );
}

// ---------- reads narrowed in SQL (the year-of-data pages) ----------

use super::data;
use crate::db::RefWrite;
use crate::payload::kinds;
use sql::Val;

async fn put(db: &Db, entity: &str, items: Vec<(String, Option<serde_json::Value>, &str)>) {
    db.put_references(
        items
            .into_iter()
            .map(|(id, data, officer)| RefWrite {
                entity: entity.into(),
                id,
                data: data.map(|d| d.to_string()),
                audience: vec![(officer.to_owned(), false)],
            })
            .collect(),
        vec![],
    )
    .await
    .expect("reference");
}

fn hex_id(tag: u32, n: usize) -> String {
    format!("{tag:08x}{n:024x}")
}

#[tokio::test]
async fn the_latest_sessions_are_todays_then_newest_each_once_and_only_the_teams() {
    let (_d, db) = db().await;
    let today = "2026-12-02";
    let day = |n: i64| {
        (chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date") - chrono::Duration::days(n))
            .to_string()
    };
    // Two sessions a day for a year (more than one read batch), some
    // after today, three today; every third in another team; one deleted.
    let mut sessions = vec![];
    for n in 0..740usize {
        let d = if n < 3 {
            today.to_owned()
        } else {
            day(i64::try_from(n / 2).unwrap_or(0) - 5)
        };
        let officer = if n % 3 == 0 { "sup-b" } else { "sup-a" };
        sessions.push((
            hex_id(3, n),
            Some(json!({ "date": d, "supervisor_id": officer })),
            officer,
        ));
    }
    sessions.push((hex_id(3, 9999), None, "sup-a"));
    put(&db, "upw_session", sessions).await;
    let manager = account(&db, "uwm", Role::UnpaidWorkManager, &["sup-a"]).await;
    let admin = account(&db, "admin", Role::Administrator, &["*"]).await;
    for who in [&manager, &admin] {
        // What the page read before: every item, narrowed and sorted here.
        let mut all: Vec<data::Item> = data::items(&db, "upw_session")
            .await
            .expect("items")
            .into_iter()
            .filter(|i| i.visible_to(who))
            .collect();
        all.sort_by(|x, y| {
            (x.s("date") != today, std::cmp::Reverse(x.s("date")), &x.id).cmp(&(
                y.s("date") != today,
                std::cmp::Reverse(y.s("date")),
                &y.id,
            ))
        });
        for limit in [30, 5000] {
            let got = data::visible_latest(&db, "upw_session", "date", today, who, limit)
                .await
                .expect("latest");
            let want: Vec<&str> = all.iter().take(limit).map(|i| i.id.as_str()).collect();
            let got_ids: Vec<&str> = got.iter().map(|i| i.id.as_str()).collect();
            assert_eq!(got_ids, want, "{} limit {limit}", who.username);
            assert!(got.iter().all(|i| i.visible_to(who)), "team scope kept");
            assert!(got.iter().all(|i| i.audience == vec!["sup-b".to_owned()]
                || i.audience == vec!["sup-a".to_owned()]));
        }
    }
    // The manager never sees the other team's sessions, today's included.
    let mine = data::visible_latest(&db, "upw_session", "date", today, &manager, 5000)
        .await
        .expect("latest");
    assert_eq!(
        mine.len(),
        740 - 247,
        "every one of the team's sessions, once"
    );
    assert!(mine.iter().all(|i| i.audience == vec!["sup-a".to_owned()]));
}

#[tokio::test]
async fn reads_by_id_and_by_field_return_what_the_whole_read_holds_each_once() {
    let (_d, db) = db().await;
    // More values than one `IN` list holds.
    let mut appointments = vec![];
    for n in 0..1300usize {
        appointments.push((
            hex_id(4, n),
            Some(json!({ "session_id": hex_id(3, n / 9), "crn": format!("X{n}") })),
            if n % 2 == 0 { "sup-a" } else { "sup-b" },
        ));
    }
    appointments.push((hex_id(4, 5000), None, "sup-a"));
    put(&db, "upw_appointment", appointments).await;
    let all = data::items(&db, "upw_appointment").await.expect("items");
    let sessions: Vec<String> = (0..120).map(|s| hex_id(3, s)).collect();
    let by_field = data::items_where(&db, "upw_appointment", "session_id", &sessions)
        .await
        .expect("by field");
    let want: Vec<&data::Item> = all
        .iter()
        .filter(|i| sessions.contains(&i.s("session_id")))
        .collect();
    assert_eq!(by_field.len(), 120 * 9);
    assert_eq!(
        by_field
            .iter()
            .map(|i| (&i.id, &i.audience, &i.data))
            .collect::<Vec<_>>(),
        want.iter()
            .map(|i| (&i.id, &i.audience, &i.data))
            .collect::<Vec<_>>()
    );
    let mut ids: Vec<String> = (0..1300).map(|n| hex_id(4, n)).collect();
    ids.push(hex_id(4, 5000)); // deleted: not returned
    ids.push(hex_id(4, 7)); // asked twice: returned once
    let by_id = data::items_by_id(&db, "upw_appointment", &ids)
        .await
        .expect("by id");
    assert_eq!(
        by_id
            .iter()
            .map(|i| (&i.id, &i.audience))
            .collect::<Vec<_>>(),
        all.iter().map(|i| (&i.id, &i.audience)).collect::<Vec<_>>()
    );
}

async fn stored(
    db: &Db,
    id: &str,
    kind: &str,
    appointment: &str,
    seq: i64,
    at: i64,
    project: bool,
) {
    stored_with(
        db,
        id,
        kind,
        appointment,
        seq,
        at,
        project,
        json!({ "appointment_id": appointment, "n": seq }),
    )
    .await;
}

#[allow(clippy::too_many_arguments)]
async fn stored_with(
    db: &Db,
    id: &str,
    kind: &str,
    appointment: &str,
    seq: i64,
    at: i64,
    project: bool,
    payload: serde_json::Value,
) {
    let body = json!({ "payload": payload }).to_string();
    sql::exec(
        db,
        "INSERT INTO events (event_id, device_id, seq, officer_id, kind, recorded_ms, received_ms, supersedes,
            session_id, case_id, visit_id, appointment_id, body, signature)
         VALUES (?1, 'dev', ?2, 'sup-a', ?3, ?4, ?4, NULL, NULL, NULL, NULL, ?5, ?6, 'sig')",
        vec![Val::from(id), Val::I(seq), Val::from(kind), Val::I(at), Val::from(appointment), Val::from(body)],
    )
    .await
    .expect("event");
    if project {
        sql::exec(
            db,
            "INSERT INTO current_records (kind, subject, event_id, received_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, subject) DO UPDATE SET event_id = excluded.event_id, received_ms = excluded.received_ms",
            vec![Val::from(kind), Val::from(appointment), Val::from(id), Val::I(at)],
        )
        .await
        .expect("projection");
    }
}

#[tokio::test]
async fn events_read_for_some_appointments_are_the_whole_reads_narrowed() {
    let (_d, db) = db().await;
    let arrived = fieldbook_core::events::kinds::UPW_ARRIVED;
    let mut seq = 0;
    for n in 0..1200usize {
        let appointment = hex_id(4, n);
        // Two outcomes for some (the later is current), arrivals for all.
        for round in 0..=(n % 2) {
            seq += 1;
            stored(
                &db,
                &format!("o{n}-{round}"),
                kinds::OUTCOME_RECORDED,
                &appointment,
                seq,
                1_000 + seq,
                true,
            )
            .await;
        }
        seq += 1;
        stored(
            &db,
            &format!("a{n}"),
            arrived,
            &appointment,
            seq,
            1_000 + seq,
            false,
        )
        .await;
    }
    let wanted: Vec<String> = (0..1200)
        .filter(|n| n % 3 != 0)
        .map(|n| hex_id(4, n))
        .collect();
    let keys = |v: Vec<data::Ev>| {
        v.into_iter()
            .map(|e| (e.event_id, e.appointment_id, e.payload))
            .collect::<Vec<_>>()
    };
    let whole = data::current(&db, kinds::OUTCOME_RECORDED)
        .await
        .expect("current");
    let narrowed = data::current_for(&db, kinds::OUTCOME_RECORDED, &wanted)
        .await
        .expect("for");
    let want: Vec<data::Ev> = whole
        .into_iter()
        .filter(|e| {
            e.appointment_id
                .as_ref()
                .is_some_and(|a| wanted.contains(a))
        })
        .collect();
    assert_eq!(want.len(), wanted.len(), "one current outcome each");
    assert_eq!(keys(narrowed), keys(want));
    let all_arrivals = data::of_kind(&db, arrived).await.expect("of kind");
    let arrivals = data::of_kind_for_appointments(&db, arrived, &wanted)
        .await
        .expect("for");
    let want: Vec<data::Ev> = all_arrivals
        .into_iter()
        .filter(|e| {
            e.appointment_id
                .as_ref()
                .is_some_and(|a| wanted.contains(a))
        })
        .collect();
    assert_eq!(keys(arrivals), keys(want));
}

#[tokio::test]
async fn a_requirements_outcomes_are_the_current_outcomes_naming_it() {
    let (_d, db) = db().await;
    let requirement = |n: usize| hex_id(2, n % 7);
    let outcome = |n: usize, minutes: i64| {
        json!({
            "appointment_id": hex_id(4, n), "session_id": hex_id(3, n / 9), "requirement_id": requirement(n),
            "crn": "X100001", "session_date": "2026-12-02", "code": "ATTC", "arrival": null, "departure": null,
            "penalty_minutes": 0, "work_quality": "good", "behaviour": "good", "notes": "", "sensitive": false,
            "raise_alert": false, "travel_minutes": null, "minutes_credited": minutes, "late_by_minutes": null,
            "enforcement_step": null, "policy_version": "test",
        })
    };
    let mut seq = 0;
    for n in 0..300usize {
        // Some corrected by a later outcome: only the current one counts.
        for round in 0..=(n % 3 / 2) {
            seq += 1;
            let payload = outcome(n, 60 * (i64::try_from(round).unwrap_or(0) + 1));
            stored_with(
                &db,
                &format!("o{n}-{round}"),
                kinds::OUTCOME_RECORDED,
                &hex_id(4, n),
                seq,
                1_000 + seq,
                true,
                payload,
            )
            .await;
        }
    }
    // An outcome naming no requirement counts towards none.
    let mut none = outcome(999, 30);
    none["requirement_id"] = serde_json::Value::Null;
    stored_with(
        &db,
        "none",
        kinds::OUTCOME_RECORDED,
        &hex_id(4, 999),
        9_999,
        99_999,
        true,
        none,
    )
    .await;
    let whole = data::current(&db, kinds::OUTCOME_RECORDED)
        .await
        .expect("current");
    for r in 0..8 {
        let id = hex_id(2, r);
        let got = data::current_outcomes_of_requirement(&db, &id)
            .await
            .expect("by requirement");
        let want: Vec<&data::Ev> = whole
            .iter()
            .filter(|e| {
                crate::payload::outcome_of(&e.payload)
                    .requirement_id
                    .as_deref()
                    == Some(id.as_str())
            })
            .collect();
        assert_eq!(
            got.iter()
                .map(|e| (&e.event_id, &e.payload))
                .collect::<Vec<_>>(),
            want.iter()
                .map(|e| (&e.event_id, &e.payload))
                .collect::<Vec<_>>(),
            "requirement {r}"
        );
        assert_eq!(
            got.len(),
            if r < 7 {
                (0..300).filter(|n| n % 7 == r).count()
            } else {
                0
            }
        );
    }
}
