//! Transport rules: TLS terminated by the server, the device pinning the
//! office's certificate, plain HTTP only to loopback, and no redirects.

use fieldbook_core::sync::{SyncClient, SyncConfig};
use fieldbook_core::Error;
use fieldbook_e2e::harness::*;
use fieldbook_server::{start, ServerConfig, Storage};

fn cert(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("cert");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, ck.cert.pem()).expect("write cert");
    std::fs::write(&key_path, ck.key_pair.serialize_pem()).expect("write key");
    let pin = hex::encode(fieldbook_core::events::hash_bytes(ck.cert.der()));
    (cert_path, key_path, pin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_pinned_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert_path, key_path, pin) = cert(dir.path());
    let server = start(ServerConfig {
        tls: Some((cert_path, key_path)),
        ..test_config(Storage::Sqlite(dir.path().join("office.db")))
    })
    .await
    .expect("tls server");
    // The office API over TLS (test client trusts the self-signed cert).
    let url = format!("https://localhost:{}", server.addr.port());
    // Plain HTTP to the TLS port does not work.
    let plain = reqwest::get(format!("http://{}/healthz", server.addr)).await;
    assert!(plain.is_err() || !plain.expect("resp").status().is_success());

    let mut config = fast_config(&url);
    config.pinned_cert_sha256 = vec![pin.clone()];
    let direct = reqwest::Client::builder()
        .use_preconfigured_tls(
            fieldbook_core::sync::pinning::pinned_config(std::slice::from_ref(&pin)).expect("pin"),
        )
        .build()
        .expect("client");
    let resp = direct
        .post(format!("{url}/v1/office/officers"))
        .bearer_auth(OFFICE_TOKEN)
        .json(&serde_json::json!({ "id": "po-1", "name": "P", "role": "probation_officer" }))
        .send()
        .await
        .expect("office over tls");
    assert!(resp.status().is_success());
    let code: serde_json::Value = direct
        .post(format!("{url}/v1/office/officers/po-1/enrolment-codes"))
        .bearer_auth(OFFICE_TOKEN)
        .send()
        .await
        .expect("code")
        .json()
        .await
        .expect("json");

    let device = fieldbook_e2e::Device::new();
    device.clock.set_wall_ms(wall_now());
    let store = std::sync::Arc::new(
        fieldbook_core::Store::create(
            &device.db,
            fieldbook_e2e::test_settings("po-1"),
            fieldbook_e2e::PIN,
            device.platform(),
            device.clock(),
        )
        .expect("store"),
    );
    // A wrong pin: the handshake is refused.
    let mut wrong = config.clone();
    wrong.pinned_cert_sha256 = vec!["00".repeat(32)];
    let bad = SyncClient::new(store.clone(), wrong).expect("client");
    assert!(matches!(
        bad.enrol(code["code"].as_str().expect("code"), "phone")
            .await,
        Err(Error::Network(_))
    ));
    // The right pin: enrol and sync.
    let client = SyncClient::new(store.clone(), config).expect("client");
    client
        .enrol(code["code"].as_str().expect("code"), "phone")
        .await
        .expect("enrol over tls");
    store
        .append(fieldbook_core::events::EventDraft::new(
            "test.tls",
            serde_json::json!({}),
        ))
        .expect("append");
    let report = client
        .sync(None, &std::sync::atomic::AtomicBool::new(false))
        .await
        .expect("sync over tls");
    assert!(report.accepted >= 1);
    server.shutdown().await;
}

#[tokio::test]
async fn plain_http_only_to_loopback_and_no_redirects() {
    let device = fieldbook_e2e::Device::new();
    let store = std::sync::Arc::new(device.create());
    for bad in [
        "http://10.1.2.3:8080",
        "http://office.example.org",
        "ftp://127.0.0.1",
        "not a url",
    ] {
        assert!(
            matches!(
                SyncClient::new(store.clone(), SyncConfig::new(bad)),
                Err(Error::InvalidInput { .. })
            ),
            "{bad}"
        );
    }
    for ok in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
        "https://office.example.org",
    ] {
        assert!(
            SyncClient::new(store.clone(), SyncConfig::new(ok)).is_ok(),
            "{ok}"
        );
    }
    // A server that redirects elsewhere: the client does not follow.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::TEMPORARY_REDIRECT,
            [("location", "http://10.9.9.9/v1/enrol")],
            "",
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client =
        SyncClient::new(store.clone(), fast_config(&format!("http://{addr}"))).expect("client");
    let err = client
        .enrol("CODE", "phone")
        .await
        .expect_err("redirect refused");
    assert!(matches!(err, Error::Network(_)), "{err}");
}
