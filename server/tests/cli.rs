//! The `fieldbook-server` binary's refusals, run as a process: plain HTTP
//! on a non-loopback address without a declared TLS proxy.

use std::process::Command;

fn server() -> Command {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = Command::new(env!("CARGO_BIN_EXE_fieldbook-server"));
    c.current_dir(dir.keep())
        .env_remove("FIELDBOOK_LISTEN")
        .env_remove("FIELDBOOK_BEHIND_TLS_PROXY")
        .env("FIELDBOOK_OFFICE_TOKEN", "cli-test-office-token-0123456789");
    c
}

#[test]
fn plain_http_on_a_public_address_is_refused_without_the_proxy_flag() {
    let out = server()
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
fn the_proxy_flag_lets_it_start() {
    use std::io::BufRead;
    let mut child = server()
        .args(["--listen", "0.0.0.0:0", "--behind-tls-proxy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("listening on http://0.0.0.0:"), "{line}");
}
