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

// --------------------------------------------------------------- item 10

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_database_and_its_wal_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, server, office, _url) = setup().await;
    // A write, so the WAL and shared-memory files exist.
    office.officer("po-2", "probation_officer").await;
    let folder = dir.path().join("office");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&folder), 0o700, "folder");
    for name in ["office.db", "office.db-wal", "office.db-shm"] {
        assert_eq!(mode(&folder.join(name)), 0o600, "{name}");
    }
    server.shutdown().await;
    // An existing world-readable file (an older release) is tightened.
    let old = dir.path().join("old.db");
    std::fs::write(&old, b"").expect("file");
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let server = fieldbook_e2e::harness::server(Storage::Sqlite(old.clone())).await;
    assert_eq!(mode(&old), 0o600);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_scrape_credential() {
    let (_dir, server, _office, url) = setup().await;
    let http = reqwest::Client::new();
    let get = |token: Option<&'static str>| {
        let mut req = http.get(format!("{url}/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.expect("metrics").status() }
    };
    assert_eq!(get(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some(OFFICE_TOKEN)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some(METRICS_TOKEN)).await, StatusCode::OK);
    server.shutdown().await;
    // No credential configured: metrics are off.
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = test_config(Storage::Sqlite(dir.path().join("o.db")));
    config.metrics_token = None;
    let server = fieldbook_server::start(config).await.expect("start");
    let resp = reqwest::Client::new()
        .get(format!("http://{}/metrics", server.addr))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}

/// Time a `/healthz` round trip, failing the test past `bound`.
async fn healthz_within(url: &str, bound: Duration) {
    let started = std::time::Instant::now();
    let resp = tokio::time::timeout(bound, reqwest::get(format!("{url}/healthz")))
        .await
        .unwrap_or_else(|_| panic!("/healthz did not answer within {bound:?}"))
        .expect("healthz");
    assert_eq!(resp.status(), StatusCode::OK);
    let took = started.elapsed();
    eprintln!("/healthz answered in {took:?}");
    assert!(took <= bound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_during_concurrent_heavy_office_reads() {
    let (dir, server, office, url) = setup().await;
    // 40,000 stored outcomes (written straight into the table: the point
    // is the office's read, not ingest).
    {
        let mut c =
            rusqlite::Connection::open(dir.path().join("office").join("office.db")).expect("db");
        c.busy_timeout(Duration::from_secs(10)).expect("busy");
        let tx = c.transaction().expect("tx");
        {
            let mut s = tx
                .prepare(
                    "INSERT INTO events (event_id, device_id, seq, officer_id, kind, recorded_ms,
                        received_ms, appointment_id, body, signature)
                     VALUES (?1, 'dev', ?2, 'po-1', 'upw.outcome_recorded', 1, ?2, ?1, ?3, '00')",
                )
                .expect("prepare");
            for i in 0..40_000_i64 {
                let id = format!("{i:032x}");
                let body = json!({
                    "kind": "upw.outcome_recorded",
                    "payload": { "appointment_id": id, "requirement_id": id, "crn": "X000000",
                                 "code": "ATTC", "minutes_credited": 60,
                                 "enforcement_step": "warning", "raise_alert": false,
                                 "session_date": "2026-01-01", "notes": "x".repeat(200) }
                });
                s.execute(rusqlite::params![id, i, body.to_string()])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    let _ = office;
    // Eight enforcement reads and eight whole-log reads at once; the
    // answers are read as bytes, so the test's own client does no heavy
    // work on the shared threads.
    let readers: Vec<_> = (0..16)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let path = if i % 2 == 0 {
                    "/v1/office/enforcement"
                } else {
                    "/v1/office/events?limit=1000000"
                };
                let resp = reqwest::Client::new()
                    .get(format!("{url}{path}"))
                    .bearer_auth(OFFICE_TOKEN)
                    .send()
                    .await
                    .expect("read");
                let status = resp.status();
                let _ = resp.bytes().await.expect("body");
                status
            })
        })
        .collect();
    // While they run, health answers promptly (the bound is generous:
    // the point is that it answers, not how fast).
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..5 {
        healthz_within(&url, Duration::from_secs(2)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for r in readers {
        assert_eq!(r.await.expect("join"), StatusCode::OK);
    }
    server.shutdown().await;
}

// --------------------------------------------------------------- item 11

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_enrolment_attempts_is_throttled_while_health_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    // Production's enrolment limit (the test harness relaxes it).
    let mut config = test_config(Storage::Sqlite(dir.path().join("o.db")));
    config.limits.enrolments_per_minute =
        fieldbook_server::limits::Limits::default().enrolments_per_minute;
    let server = fieldbook_server::start(config).await.expect("start");
    let url = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let attempts: Vec<_> = (0..200)
        .map(|i| {
            let http = http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                http.post(format!("{url}/v1/enrol"))
                    .json(&json!({ "code": format!("WRONG{i:04}"), "public_key": format!("{i:064x}"), "label": "x" }))
                    .send()
                    .await
                    .map(|r| (r.status(), r.headers().contains_key("retry-after")))
                    .expect("enrol")
            })
        })
        .collect();
    healthz_within(&url, Duration::from_secs(2)).await;
    let mut refused = 0;
    let mut throttled = 0;
    for a in attempts {
        match a.await.expect("join") {
            (StatusCode::FORBIDDEN, _) => refused += 1,
            (StatusCode::TOO_MANY_REQUESTS, true) => throttled += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let limit = fieldbook_server::limits::Limits::default().enrolments_per_minute;
    assert!(refused <= limit as usize, "{refused} codes were tried");
    assert_eq!(refused + throttled, 200);
    healthz_within(&url, Duration::from_secs(2)).await;
    server.shutdown().await;
}

/// Writes raw bytes on a fresh connection and reads what comes back
/// until the server closes it (or `wait` passes).
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before everything is written.
    let _ = s.write_all(bytes).await;
    let mut out = vec![];
    match tokio::time::timeout(wait, s.read_to_end(&mut out)).await {
        Ok(_) => Some(out),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_kb_header_is_refused() {
    let (_dir, server, _office, _url) = setup().await;
    let request = format!(
        "GET /v1/sync/status HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let answer = raw_exchange(server.addr, request.as_bytes(), Duration::from_secs(10))
        .await
        .expect("the server answers and closes");
    let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).to_string();
    assert!(head.starts_with("HTTP/1.1 431"), "{head:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_disconnected() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = test_config(Storage::Sqlite(dir.path().join("o.db")));
    config.limits.header_read_timeout = Duration::from_millis(500);
    config.limits.idle_timeout = Duration::from_millis(800);
    let server = fieldbook_server::start(config).await.expect("start");
    // Headers that never finish.
    assert!(
        raw_exchange(
            server.addr,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
            Duration::from_secs(5)
        )
        .await
        .is_some(),
        "a slow header was allowed to hold the connection"
    );
    // A connection that sends nothing at all.
    assert!(
        raw_exchange(server.addr, b"", Duration::from_secs(5))
            .await
            .is_some(),
        "an idle connection was held open"
    );
    // A kept-alive connection after a complete request.
    let answer = raw_exchange(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await
    .expect("an idle kept-alive connection is closed");
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_stored_in_capitals_by_an_older_release_is_normalised_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("o.db");
    let server = server(Storage::Sqlite(path.clone())).await;
    let office = Office::new(server.addr);
    office.officer("po-1", "probation_officer").await;
    let key = "ef".repeat(32);
    let code = office.code("po-1").await;
    let enrol = |code: String, key: String| {
        let url = format!("http://{}/v1/enrol", server.addr);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "code": code, "public_key": key, "label": "x" }))
                .send()
                .await
                .expect("enrol")
                .status()
        }
    };
    assert_eq!(enrol(code, key.clone()).await, StatusCode::OK);
    server.shutdown().await;
    // What an older release stored for an upper-case enrolment.
    let c = rusqlite::Connection::open(&path).expect("db");
    c.execute("UPDATE devices SET public_key = upper(public_key)", [])
        .expect("upper");
    drop(c);
    let server = fieldbook_e2e::harness::server(Storage::Sqlite(path)).await;
    let office = Office::new(server.addr);
    let code = office.code("po-1").await;
    let url = format!("http://{}/v1/enrol", server.addr);
    let status = reqwest::Client::new()
        .post(url)
        .json(&json!({ "code": code, "public_key": key, "label": "x" }))
        .send()
        .await
        .expect("enrol")
        .status();
    assert_eq!(status, StatusCode::FORBIDDEN, "the same key enrolled twice");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_or_time_limit_are_refused() {
    use axum::routing::get;
    let limits = fieldbook_server::limits::Limits {
        max_concurrent_requests: 1,
        request_timeout: Duration::from_millis(1_500),
        ..fieldbook_server::limits::Limits::default()
    };
    let app = axum::Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        )
        .route(
            "/stuck",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "never"
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            fieldbook_server::limits::Guards::new(&limits),
            fieldbook_server::limits::guard,
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(fieldbook_server::limits::serve(
        listener,
        app,
        limits,
        async {
            let _ = rx.await;
        },
    ));
    let url = format!("http://{addr}");
    let first = tokio::spawn(reqwest::get(format!("{url}/slow")));
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = reqwest::get(format!("{url}/slow")).await.expect("second");
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(second.headers().contains_key("retry-after"));
    let v: Value = second.json().await.expect("json");
    assert_eq!(v["error"], "overloaded");
    let first = first.await.expect("join").expect("first");
    assert_eq!(first.status(), StatusCode::OK);
    let stuck = reqwest::get(format!("{url}/stuck")).await.expect("stuck");
    assert_eq!(stuck.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = stuck.json().await.expect("json");
    assert_eq!(v["error"], "timeout");
    let _ = tx.send(());
    served.await.expect("join").expect("serve");
}

#[test]
fn the_document_lists_the_limit_answers_on_every_operation_but_health() {
    let doc = serde_json::to_value(fieldbook_server::api::document()).expect("doc");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let Some(responses) = op.get("responses") else {
                continue;
            };
            let health = matches!(path.as_str(), "/healthz" | "/readyz");
            for status in ["429", "503"] {
                if !health {
                    assert!(
                        responses.get(status).is_some(),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 24);
    // The signing scheme the document describes is the one devices use.
    assert!(doc.to_string().contains("fieldbook-request-v2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_declared_proxy_each_forwarded_client_has_its_own_enrolment_limit() {
    for trusted in [false, true] {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = test_config(Storage::Sqlite(dir.path().join("o.db")));
        config.limits.enrolments_per_minute = 2;
        config.limits.trust_forwarded_for = trusted;
        let server = fieldbook_server::start(config).await.expect("start");
        let http = reqwest::Client::new();
        let mut statuses = vec![];
        for i in 0..6 {
            // Three clients behind one proxy, two attempts each; a client's
            // own prefix entries are ignored, only the proxy's last one counts.
            let resp = http
                .post(format!("http://{}/v1/enrol", server.addr))
                .header(
                    "x-forwarded-for",
                    format!("203.0.113.99, 198.51.100.{}", i % 3),
                )
                .json(&json!({ "code": "WRONG", "public_key": format!("{i:064x}"), "label": "x" }))
                .send()
                .await
                .expect("enrol");
            statuses.push(resp.status());
        }
        let throttled = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        if trusted {
            assert_eq!(throttled, 0, "{statuses:?}");
        } else {
            assert_eq!(
                throttled, 4,
                "the header is ignored without a proxy: {statuses:?}"
            );
        }
        server.shutdown().await;
    }
}
