//! The server's side of the security hardening (issue 13, items 3, 7, 10,
//! 11, 12): revocation deadlines and flags, key and nonce handling, the
//! office's files and endpoints, limits on unauthenticated paths, and
//! secrets. Each test fails on the server as it was before the fix.

use std::io::Write;
use std::time::Duration;

use fieldbook_core::events::EventDraft;
use fieldbook_core::sync::protocol::*;
use fieldbook_e2e::harness::*;
use fieldbook_server::Storage;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn nonce() -> String {
    fieldbook_core::ids::RecordId::random()
        .expect("rng")
        .to_string()
}

fn device_id(phone: &SyncDevice) -> String {
    phone
        .client
        .state()
        .expect("state")
        .expect("enrolled")
        .device_id
}

/// A request signed by `phone`'s key, with the timestamp header spelled
/// as given.
async fn signed(
    url: &str,
    phone: &SyncDevice,
    method: Method,
    path: &str,
    body: &[u8],
    ts_text: &str,
) -> (StatusCode, Value) {
    let id = device_id(phone);
    let nonce = nonce();
    let ts: i64 = ts_text.trim_start_matches('+').parse().expect("ts");
    let sig = phone
        .store
        .sign(
            &SignedRequest {
                method: method.as_str(),
                path_and_query: path,
                device_id: &id,
                content_encoding: "",
                body,
                timestamp_ms: ts,
                nonce: &nonce,
            }
            .signing_string(),
        )
        .expect("sign");
    let mut req = reqwest::Client::new()
        .request(method, format!("{url}{path}"))
        .header(H_DEVICE, &id)
        .header(H_TIMESTAMP, ts_text)
        .header(H_NONCE, &nonce)
        .header(H_SIGNATURE, hex::encode(sig));
    if !body.is_empty() {
        req = req
            .header("content-type", "application/json")
            .body(body.to_vec());
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn setup() -> (
    tempfile::TempDir,
    fieldbook_server::RunningServer,
    Office,
    String,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let server = server(Storage::Sqlite(dir.path().join("office").join("office.db"))).await;
    let office = Office::new(server.addr);
    office.officer("po-1", "probation_officer").await;
    let url = format!("http://{}", server.addr);
    (dir, server, office, url)
}

async fn revoke(office: &Office, id: &str, body: Value) {
    let (status, v) = office
        .send(
            Method::POST,
            &format!("/v1/office/devices/{id}/revoke"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
}

// ---------------------------------------------------------------- item 3

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_pushed_after_revocation_are_flagged_to_the_office() {
    let (_dir, server, office, url) = setup().await;
    let phone = SyncDevice::enrol(&office, "po-1", &url, None).await;
    let id = device_id(&phone);
    phone
        .store
        .append(EventDraft::new("test.note", json!({ "i": 0 })))
        .expect("append");
    phone.sync().await.expect("first sync");
    phone
        .store
        .append(EventDraft::new("test.note", json!({ "i": 1 })))
        .expect("append");
    revoke(&office, &id, json!({ "final_push_allowed": true })).await;
    let report = phone.sync().await.expect("final push");
    assert_eq!(report.accepted, 1);
    assert!(report.shredded);
    let events = office.get("/v1/office/events?prefix=test.").await;
    let flags: Vec<bool> = events
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["after_revocation"].as_bool().expect("flag"))
        .collect();
    assert_eq!(flags, vec![false, true], "{events}");
    let devices = office.get("/v1/office/devices").await;
    assert_eq!(devices[0]["events_after_revocation"], 1, "{devices}");
    let until = devices[0]["final_push_until_ms"]
        .as_i64()
        .expect("deadline");
    let revoked = devices[0]["revoked_ms"].as_i64().expect("revoked");
    assert_eq!(until - revoked, 86_400_000, "one day by default");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_after_the_final_push_deadline_is_refused() {
    let (_dir, server, office, url) = setup().await;
    let phone = SyncDevice::enrol(&office, "po-1", &url, None).await;
    let id = device_id(&phone);
    revoke(
        &office,
        &id,
        json!({ "final_push_allowed": true, "final_push_seconds": 0 }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let body = serde_json::to_vec(&json!({ "events": [] })).expect("json");
    let now = wall_now().to_string();
    let (status, v) = signed(&url, &phone, Method::POST, "/v1/sync/push", &body, &now).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "device_revoked");
    let now = wall_now().to_string();
    let (status, v) = signed(&url, &phone, Method::GET, "/v1/sync/status", b"", &now).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["final_push_allowed"], false, "the phone shreds at once");
    // Outside the range the office may grant.
    let (status, _) = office
        .send(
            Method::POST,
            &format!("/v1/office/devices/{id}/revoke"),
            Some(json!({ "final_push_seconds": 700_000 })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.shutdown().await;
}

// ---------------------------------------------------------------- item 7

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_in_upper_case_hex_is_refused_as_a_duplicate() {
    let (_dir, server, office, url) = setup().await;
    let key = "ab12".repeat(16);
    let http = reqwest::Client::new();
    let mut answers = vec![];
    for spelling in [key.clone(), key.to_ascii_uppercase()] {
        let code = office.code("po-1").await;
        let resp = http
            .post(format!("{url}/v1/enrol"))
            .json(&json!({ "code": code, "public_key": spelling, "label": "phone" }))
            .send()
            .await
            .expect("enrol");
        answers.push(resp.status());
    }
    assert_eq!(answers, vec![StatusCode::OK, StatusCode::FORBIDDEN]);
    let devices = office.get("/v1/office/devices").await;
    assert_eq!(devices.as_array().expect("array").len(), 1, "{devices}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_is_remembered_past_the_window_edge_across_instance_clocks() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = fieldbook_server::db::Db::open_sqlite(&dir.path().join("o.db"))
        .await
        .expect("db");
    let t0 = 1_800_000_000_000_i64;
    let w = TIMESTAMP_WINDOW_MS;
    // A phone whose clock is a full window ahead is accepted at t0.
    assert!(db.use_nonce("dev", "n1", t0 + w, t0).await.expect("first"));
    // Later an instance at t0 + 2w + 1 serves another request (and purges).
    assert!(db
        .use_nonce("dev", "n2", t0 + 2 * w, t0 + 2 * w + 1)
        .await
        .expect("other"));
    // An instance two seconds behind still finds the first request's
    // timestamp inside its window: the replay must be refused.
    let behind = t0 + 2 * w - 2_000;
    assert!(within_window(behind, t0 + w));
    assert!(
        !db.use_nonce("dev", "n1", t0 + w, behind)
            .await
            .expect("replay"),
        "replay at the window's edge accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timestamp_header_is_parsed_strictly() {
    let (_dir, server, office, url) = setup().await;
    let phone = SyncDevice::enrol(&office, "po-1", &url, None).await;
    let now = wall_now();
    for spelling in [format!("+{now}"), format!("0{now}")] {
        let (status, v) =
            signed(&url, &phone, Method::GET, "/v1/sync/status", b"", &spelling).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{spelling}: {v}");
        assert_eq!(v["error"], "bad_timestamp");
    }
    let (status, _) = signed(
        &url,
        &phone,
        Method::GET,
        "/v1/sync/status",
        b"",
        &now.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await;
}

// --------------------------------------------------------------- item 11

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_is_matched_exactly() {
    let (_dir, server, office, url) = setup().await;
    let code = office.code("po-1").await;
    let body = json!({ "code": code, "public_key": "cd".repeat(32), "label": "x" }).to_string();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{url}/v1/enrol"))
        .header("content-type", "application/jsonfoo")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // The code was not spent by the refused request.
    let resp = http
        .post(format!("{url}/v1/enrol"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_from_an_unknown_device_is_refused_without_decompression() {
    let (_dir, server, _office, url) = setup().await;
    // 64 MiB of zeros: about 64 KB compressed.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).expect("gzip");
    }
    let bomb = enc.finish().expect("gzip");
    assert!(bomb.len() < 200_000);
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/sync/push"))
        .header(H_DEVICE, "00000000000000000000000000000000")
        .header(H_TIMESTAMP, wall_now().to_string())
        .header(H_NONCE, nonce())
        .header(H_SIGNATURE, "00".repeat(64))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let v: Value = resp.json().await.expect("json");
    // Before the fix the bomb was inflated to 8 MiB first (413 too_large).
    assert_eq!(v["error"], "unknown_device");
    // The enrolment endpoint, where nobody is known, never inflates.
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/enrol"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    server.shutdown().await;
}
