//! The `fieldbook-server` binary as scripts use it: help for every
//! command, `serve` as the default with the old flags, the office token
//! from the environment or an owner-only file (never printed), a clean
//! stop on SIGTERM, `migrate` and `enrolment-code`, and the refusal of
//! plain HTTP on a non-loopback address without a declared TLS proxy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fieldbook-server");

fn run(args: &[&str], dir: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("FIELDBOOK_OFFICE_TOKEN")
        .output()
        .expect("run fieldbook-server");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `serve`; returns the child and the address it printed first.
fn serve(args: &[&str], dir: &Path, token: Option<&str>) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("FIELDBOOK_OFFICE_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        cmd.env("FIELDBOOK_OFFICE_TOKEN", t);
    }
    let mut child = cmd.spawn().expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first stdout line is the address: {line:?}"))
        .to_owned();
    (child, addr)
}

/// A plain HTTP/1.1 request; returns the status code and body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn stop(mut child: Child) -> String {
    let pid = child.id().to_string();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(ok.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    err
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ok, top, _) = run(&["--help"], dir.path());
    assert!(ok);
    for word in [
        "serve",
        "enrolment-code",
        "migrate",
        "FIELDBOOK_OFFICE_TOKEN",
        "--listen",
    ] {
        assert!(top.contains(word), "top-level help mentions {word}: {top}");
    }
    for (sub, word) in [
        ("serve", "--office-token-file"),
        ("enrolment-code", "--officer"),
        ("migrate", "--database-url"),
    ] {
        let (ok, text, _) = run(&[sub, "--help"], dir.path());
        assert!(ok && text.contains(word), "{sub} --help: {text}");
    }
    let (ok, _, err) = run(&["--office-token", "0123456789abcdef0123"], dir.path());
    assert!(!ok, "a token on the command line is refused");
    assert!(err.contains("--office-token"), "{err}");
}

#[test]
fn serve_generates_a_private_token_file_and_never_prints_the_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let (child, addr) = serve(
        &["--listen", "127.0.0.1:0", "--db", "office.db"],
        dir.path(),
        None,
    );
    let file = dir.path().join("fieldbook-office.token");
    let token = std::fs::read_to_string(&file)
        .expect("token file")
        .trim()
        .to_owned();
    assert!(token.len() >= 16);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        http(&addr, "GET", "/v1/office/devices", &token, None).0,
        200
    );
    assert_eq!(
        http(
            &addr,
            "GET",
            "/v1/office/devices",
            "wrong-token-0123456789",
            None
        )
        .0,
        401
    );
    let err = stop(child);
    assert!(!err.contains(&token), "the token is never printed");
    // A restart reads the same file.
    let (child, addr) = serve(
        &["serve", "--listen", "127.0.0.1:0", "--db", "office.db"],
        dir.path(),
        None,
    );
    assert_eq!(
        http(&addr, "GET", "/v1/office/devices", &token, None).0,
        200
    );
    stop(child);
}

#[test]
fn migrate_then_enrolment_codes_for_an_officer() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ok, out, err) = run(&["migrate", "--db", "office.db"], dir.path());
    assert!(ok, "{err}");
    assert!(out.contains("up to date"));
    assert!(dir.path().join("office.db").exists());
    let token = "cli-test-office-token-0123456789";
    let (child, addr) = serve(
        &["--listen", "127.0.0.1:0", "--db", "office.db"],
        dir.path(),
        Some(token),
    );
    assert!(
        !dir.path().join("fieldbook-office.token").exists(),
        "an environment token writes no file"
    );
    let (status, _) = http(
        &addr,
        "POST",
        "/v1/office/officers",
        token,
        Some(r#"{"id":"sup-1","name":"Sup One","role":"supervisor"}"#),
    );
    assert_eq!(status, 204);
    stop(child);
    let (ok, out, err) = run(
        &["enrolment-code", "--officer", "sup-1", "--db", "office.db"],
        dir.path(),
    );
    assert!(ok, "{err}");
    let code = out.trim();
    assert_eq!(code.len(), 20, "{out}");
    assert!(code.bytes().all(|b| b.is_ascii_hexdigit()));
    let (ok, _, err) = run(
        &["enrolment-code", "--officer", "nobody", "--db", "office.db"],
        dir.path(),
    );
    assert!(!ok);
    assert!(err.contains("no such officer"), "{err}");
}

fn bare_server(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("FIELDBOOK_LISTEN")
        .env_remove("FIELDBOOK_BEHIND_TLS_PROXY")
        .env("FIELDBOOK_OFFICE_TOKEN", "cli-test-office-token-0123456789");
    c
}

#[test]
fn plain_http_on_a_public_address_is_refused_without_the_proxy_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = bare_server(dir.path())
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert!(!out.status.success(), "the server must not start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing plain HTTP"), "{err}");
    assert!(err.contains("--behind-tls-proxy"), "{err}");
    assert!(
        !err.contains("cli-test-office-token"),
        "no secret in the message"
    );
}

#[test]
fn the_proxy_flag_lets_it_start_on_a_public_address() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = bare_server(dir.path())
        .args(["--listen", "0.0.0.0:0", "--behind-tls-proxy"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("listening on http://0.0.0.0:"), "{line}");
}
