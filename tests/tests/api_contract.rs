//! The OpenAPI document against the running router: every documented
//! operation answers (never the 404 fallback, never 405), every other
//! method on a documented path is 405, undocumented paths are the JSON
//! 404, routes are only declared with their document, and every error
//! answer is JSON.

use std::collections::BTreeSet;

use fieldbook_e2e::harness::*;
use fieldbook_server::Storage;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn fill(path: &str, officer: &str) -> String {
    let id = fieldbook_core::ids::RecordId::random()
        .expect("rng")
        .to_string();
    let path = path.replace("{entity}", "upw_session");
    if path.starts_with("/v1/office/officers/") {
        path.replace("{id}", officer)
    } else {
        path.replace("{id}", &id)
    }
}

fn is_json(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_route_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = server(Storage::Sqlite(dir.path().join("office.db"))).await;
    let office = Office::new(server.addr);
    office.officer("sup-1", "supervisor").await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);

    let doc = serde_json::to_value(fieldbook_server::api::document()).expect("doc");
    let served: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert_eq!(served, doc, "/openapi.json serves the generated document");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{} paths", paths.len());

    let mut operations = 0;
    for (path, item) in paths {
        let documented: BTreeSet<&str> = item
            .as_object()
            .expect("path item")
            .keys()
            .map(String::as_str)
            .filter(|k| METHODS.contains(k))
            .collect();
        assert!(!documented.is_empty(), "{path} has operations");
        for method in METHODS {
            let url = format!("{base}{}", fill(path, "sup-1"));
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let resp = http
                .request(m, &url)
                .bearer_auth(OFFICE_TOKEN)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("request");
            let status = resp.status();
            let json = is_json(&resp);
            let allow = resp.headers().get("allow").cloned();
            let text = resp.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if documented.contains(method) {
                operations += 1;
                assert_ne!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not routed"
                );
                assert!(
                    !(status == StatusCode::NOT_FOUND && body["error"] == "not_found"),
                    "{method} {path} is documented but falls through to the 404 fallback"
                );
                let op = &item[method];
                let listed = op["responses"]
                    .as_object()
                    .expect("responses")
                    .contains_key(status.as_str());
                assert!(
                    listed,
                    "{method} {path} answered {status}, which is not documented: {text}"
                );
                if op.get("security").is_some() {
                    assert!(
                        op["responses"].get("401").is_some(),
                        "{method} {path} is secured but documents no 401"
                    );
                }
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} answers but is not documented"
                );
                assert!(allow.is_some(), "405 carries Allow");
            }
            if status.is_client_error() || status.is_server_error() {
                assert!(json, "{method} {path} error {status} is JSON: {text:?}");
                assert!(body["error"].is_string(), "{method} {path}: {text}");
            }
        }
    }
    assert!(operations >= 24, "{operations} operations");

    // Paths the document does not have fall through to the JSON 404.
    for path in [
        "/",
        "/v1",
        "/v1/office",
        "/v1/office/nothing",
        "/v2/sync/push",
    ] {
        let resp = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(is_json(&resp));
    }
    server.shutdown().await;
}

/// Routes are declared only through the list the document is built from
/// (`OpenApiRouter` with `routes!`): no plain axum route in the server,
/// except the office console's HTML pages and forms (`server/src/console/`,
/// under `/console/`), which are not the JSON API and are tested in a
/// browser (`tests/console/`).
#[test]
fn no_route_bypasses_the_document() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let console = src.join("console");
    let mut stack = vec![src];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("server sources") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path != console {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_some_and(|e| e == "rs") {
                files += 1;
                let text = std::fs::read_to_string(&path).expect("read");
                for needle in [".route(\"", "axum::routing", ".nest("] {
                    assert!(
                        !text.contains(needle),
                        "{} declares a route with `{needle}` outside the document",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(files > 5);
}

/// The document spells out the id formats and limits the server enforces.
#[test]
fn the_document_states_the_enforced_formats() {
    let doc = fieldbook_server::api::document().to_json().expect("json");
    for needle in [
        fieldbook_server::openapi::RECORD_ID_PATTERN,
        fieldbook_server::openapi::OFFICER_ID_PATTERN,
        "\"maxLength\":200",
        "\"maxItems\":1000",
        "^[0-9a-fA-F]{64}$",
    ] {
        let escaped = serde_json::to_string(needle).expect("escape");
        let bare = escaped.trim_matches('"');
        assert!(
            doc.contains(bare) || doc.contains(needle),
            "the document states {needle}"
        );
    }
}
