//! The console's rules against a real (temporary) SQLite database:
//! lock-out, session timeouts, API key scopes, the append-only audit log,
//! CSRF origin checks, CSV previews and ID token verification.

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
