//! What the server logs about refused enrolments: a line per wrong code,
//! naming the client address and never the code. (Its own test binary:
//! the log capture is process-wide.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use fieldbook_e2e::harness::*;
use fieldbook_server::Storage;
use reqwest::StatusCode;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_enrolment_code_is_logged_without_the_code() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let dir = tempfile::tempdir().expect("tmp");
    let server = server(Storage::Sqlite(dir.path().join("o.db"))).await;
    let code = "WRONG-CODE-7Q4Z";
    let resp = reqwest::Client::new()
        .post(format!("http://{}/v1/enrol", server.addr))
        .json(&json!({ "code": code, "public_key": "ab".repeat(32), "label": "x" }))
        .send()
        .await
        .expect("enrol");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    server.shutdown().await;
    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).to_string();
    let line = text
        .lines()
        .find(|l| l.contains("enrolment refused"))
        .unwrap_or_else(|| panic!("no log line for the wrong code:\n{text}"));
    assert!(line.contains("127.0.0.1"), "names the address: {line}");
    assert!(
        !text.contains(code),
        "the code never reaches the log:\n{text}"
    );
}
