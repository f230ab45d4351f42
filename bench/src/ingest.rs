//! Sync benchmarks against a real server process on loopback: one device
//! pushing 10,000 events, and 200 simulated devices pushing concurrently.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldbook_core::clock::SystemClock;
use fieldbook_core::crypto::signing::DeviceKey;
use fieldbook_core::events::{hash_bytes, EventBody, EventDraft, EVENT_FORMAT, GENESIS_HASH};
use fieldbook_core::platform::SoftwareKeyStore;
use fieldbook_core::store::{Store, StoreSettings};
use fieldbook_core::sync::protocol::*;
use fieldbook_core::sync::{SyncClient, SyncConfig};
use fieldbook_e2e::pg::PgCluster;
use serde_json::json;

use crate::report::{ms, peak_rss_kib, stats, Table};

pub(crate) const TOKEN: &str = "bench-office-token-0123456789";

pub(crate) struct ServerProc {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn server(db_args: &[String]) -> ServerProc {
    let exe = std::env::current_exe().expect("exe");
    let bin = exe.with_file_name("fieldbook-server");
    let mut child = Command::new(bin)
        // Every simulated device enrols and pushes from loopback: lift
        // the per-address limits meant for the open network.
        .args([
            "--listen",
            "127.0.0.1:0",
            "--enrolments-per-minute",
            "100000",
            "--requests-per-second",
            "100000",
        ])
        .args(db_args)
        // The token never goes on the command line.
        .env("FIELDBOOK_OFFICE_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fieldbook-server (build it with the bench: scripts/bench.sh)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address");
    ServerProc {
        child,
        url: line.trim().trim_start_matches("listening on ").to_owned(),
    }
}

/// The fields of `/proc/<pid>/stat` after `(comm)` (which may hold
/// spaces): the process's state is the first, its parent the second.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// CPU time (user + system) the process `pid` has used so far, from
/// `/proc/<pid>/stat` (Linux; clock ticks of 1/100 s, the kernel's
/// `USER_HZ` on every Linux architecture this runs on).
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let ticks = stat_fields(pid)
        .and_then(|f| {
            // utime and stime are fields 14 and 15 of the line, so the
            // 12th and 13th after `(comm)`.
            let u: u64 = f.get(11)?.parse().ok()?;
            let st: u64 = f.get(12)?.parse().ok()?;
            Some(u + st)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The PostgreSQL cluster's processes: its postmaster (found by the port
/// on its command line, so another cluster on this machine is not
/// counted) and the postmaster's children (one backend per pooled
/// connection, the WAL writer, the checkpointer).
fn pg_pids(port: &str) -> Vec<u32> {
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let flag = format!("-p\0{port}\0");
    let Some(master) = pids.iter().copied().find(|p| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .map(|c| {
                let c = String::from_utf8_lossy(&c).into_owned();
                c.contains("postgres") && c.contains(&flag)
            })
            .unwrap_or(false)
    }) else {
        return Vec::new();
    };
    let mut out = vec![master];
    out.extend(pids.into_iter().filter(|p| {
        stat_fields(*p).and_then(|f| f.get(1).and_then(|pp| pp.parse::<u32>().ok())) == Some(master)
    }));
    out
}

/// CPU time used so far by the processes `pids`.
fn cpu_of(pids: &[u32]) -> Duration {
    pids.iter().map(|p| cpu_time(*p)).sum()
}

pub(crate) async fn office(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut r = http.post(format!("{url}{path}")).bearer_auth(TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("office");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(serde_json::Value::Null)
}

pub(crate) async fn code(http: &reqwest::Client, url: &str) -> String {
    office(
        http,
        url,
        "/v1/office/officers",
        Some(json!({ "id": "po", "name": "PO", "role": "probation_officer" })),
    )
    .await;
    office(http, url, "/v1/office/officers/po/enrolment-codes", None).await["code"]
        .as_str()
        .expect("code")
        .to_owned()
}

/// Enrols `key` with an enrolment `code`; the server's device id.
pub(crate) async fn enrol(
    http: &reqwest::Client,
    url: &str,
    code: String,
    key: &DeviceKey,
    label: &str,
) -> String {
    let resp: EnrolResponse = http
        .post(format!("{url}/v1/enrol"))
        .json(&EnrolRequest {
            code,
            public_key: hex::encode(key.public_key()),
            label: label.into(),
        })
        .send()
        .await
        .expect("enrol")
        .json()
        .await
        .expect("json");
    resp.device_id
}

/// The server's two storage backends, as command-line arguments.
fn backends(dir: &std::path::Path, pg: &PgCluster) -> [(&'static str, Vec<String>); 2] {
    [
        (
            "SQLite",
            vec![
                "--db".to_owned(),
                dir.join("office.db").display().to_string(),
            ],
        ),
        (
            "PostgreSQL",
            vec!["--database-url".to_owned(), pg.url.clone()],
        ),
    ]
}

/// 4. One device pushes 10,000 pending events.
pub async fn push_10k(table: &mut Table, quick: bool) {
    let n: usize = if quick { 2000 } else { 10_000 };
    let pg = PgCluster::start_with(true).expect("PostgreSQL 15 binaries");
    let dir = tempfile::tempdir().expect("tmp");
    for (label, args) in backends(dir.path(), &pg) {
        eprintln!("push {n} events to {label}…");
        let srv = server(&args);
        let http = reqwest::Client::new();
        let platform = Arc::new(SoftwareKeyStore::random().expect("rng"));
        let store = Arc::new(
            Store::create(
                &dir.path().join(format!("device-{label}.db")),
                StoreSettings::new("po"),
                "274913",
                platform,
                Arc::new(SystemClock),
            )
            .expect("store"),
        );
        let client = SyncClient::new(store.clone(), SyncConfig::new(&srv.url)).expect("client");
        client
            .enrol(&code(&http, &srv.url).await, "bench")
            .await
            .expect("enrol");
        for chunk in 0..(n / 500) {
            store
                .write(|w| {
                    for i in 0..500 {
                        w.append(EventDraft::new(
                            "test.bench",
                            json!({ "n": chunk * 500 + i, "notes": "Arrived on time, worked well, left at the end of the session." }),
                        ))?;
                    }
                    Ok(())
                })
                .expect("append");
        }
        let before = peak_rss_kib();
        let t = Instant::now();
        let report = client
            .sync(None, &AtomicBool::new(false))
            .await
            .expect("sync");
        let took = t.elapsed();
        let after = peak_rss_kib();
        assert_eq!(report.accepted as usize, n, "{report:?}");
        assert_eq!(store.pending_count().expect("pending"), 0);
        table.row(
            &format!("4. push {n} events, {label}"),
            format!(
                "{:.2} s ({:.0} events/s)",
                took.as_secs_f64(),
                n as f64 / took.as_secs_f64()
            ),
            format!(
                "{:.0} B/event uncompressed",
                report.bytes_uncompressed as f64 / n as f64
            ),
            format!("{:.0} B/event gzip", report.bytes_sent as f64 / n as f64),
            &format!(
                "device peak RSS {} MiB, grew {} KiB during the push (batches of 500)",
                after / 1024,
                after.saturating_sub(before)
            ),
        );
    }
}

struct SimDevice {
    id: String,
    key: DeviceKey,
}

fn events(key: &DeviceKey, n: usize) -> Vec<PushEvent> {
    let mut prev = GENESIS_HASH;
    (1..=n as u64)
        .map(|seq| {
            let body = EventBody {
                format: EVENT_FORMAT,
                id: fieldbook_core::ids::RecordId::random()
                    .expect("rng")
                    .to_string(),
                device: key.fingerprint(),
                seq,
                officer: "po".into(),
                recorded_at_ms: chrono::Utc::now().timestamp_millis(),
                utc_offset_min: 0,
                monotonic_ms: seq,
                kind: "test.ingest".into(),
                payload: json!({ "seq": seq, "notes": "Attended and complied." }),
                supersedes: None,
                reason: None,
                prev_hash: hex::encode(prev),
            };
            let bytes = serde_json::to_vec(&body).expect("json");
            prev = hash_bytes(&bytes);
            PushEvent {
                id: body.id,
                seq,
                body: PushEvent::encode_body(&bytes),
                signature: hex::encode(key.sign(&bytes)),
            }
        })
        .collect()
}

async fn push(http: &reqwest::Client, url: &str, dev: &SimDevice, batch: &[PushEvent]) -> Duration {
    let body = serde_json::to_vec(&PushRequest {
        events: batch.to_vec(),
    })
    .expect("json");
    let ts = chrono::Utc::now().timestamp_millis();
    let nonce = fieldbook_core::ids::RecordId::random()
        .expect("rng")
        .to_string();
    let sig = dev.key.sign(
        &SignedRequest {
            method: "POST",
            path_and_query: "/v1/sync/push",
            device_id: &dev.id,
            content_encoding: "",
            body: &body,
            timestamp_ms: ts,
            nonce: &nonce,
        }
        .signing_string(),
    );
    let t = Instant::now();
    let resp = http
        .post(format!("{url}/v1/sync/push"))
        .header(H_DEVICE, &dev.id)
        .header(H_TIMESTAMP, ts.to_string())
        .header(H_NONCE, nonce)
        .header(H_SIGNATURE, hex::encode(sig))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("push");
    let status = resp.status();
    let out: PushResponse = resp.json().await.expect("response");
    assert!(status.is_success());
    assert!(
        out.results
            .iter()
            .all(|r| r.outcome == PushOutcome::Accepted),
        "{:?}",
        out.results.first()
    );
    t.elapsed()
}

/// Row 5, 200 devices pushing concurrently: one server process on SQLite,
/// one on PostgreSQL, and two on one PostgreSQL (the devices split
/// between them), so the table shows how ingest grows with instances.
pub async fn server_ingest(table: &mut Table, quick: bool) {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let pg = PgCluster::start_with(true).expect("PostgreSQL 15 binaries");
        for (label, args) in backends(dir.path(), &pg) {
            let pg_port = (label == "PostgreSQL").then(|| port_of(&pg.url));
            ingest_run(table, quick, label, &args, 1, pg_port.as_deref()).await;
        }
    }
    // A fresh cluster: the two-instance run starts from an empty database,
    // as the one-instance run did.
    let pg = PgCluster::start_with(true).expect("PostgreSQL 15 binaries");
    let args = vec!["--database-url".to_owned(), pg.url.clone()];
    ingest_run(
        table,
        quick,
        "PostgreSQL, 2 server processes",
        &args,
        2,
        Some(&port_of(&pg.url)),
    )
    .await;
}

fn port_of(url: &str) -> String {
    url.rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or("")
        .to_owned()
}

async fn ingest_run(
    table: &mut Table,
    quick: bool,
    label: &str,
    args: &[String],
    instances: usize,
    pg_port: Option<&str>,
) {
    let devices = 200;
    let per_device = if quick { 50 } else { 100 };
    let batch = 25;
    eprintln!("ingest from {devices} devices on {label}…");
    let servers: Vec<ServerProc> = (0..instances).map(|_| server(args)).collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("http");
    let mut sims = Vec::new();
    for n in 0..devices {
        // Devices are split between the instances, each pushing to one.
        let url = servers[n % instances].url.clone();
        let key = DeviceKey::generate().expect("key");
        let code = code(&http, &url).await;
        let device_id = enrol(&http, &url, code, &key, "sim").await;
        let evs = events(&key, per_device);
        sims.push((Arc::new(SimDevice { id: device_id, key }), url, evs));
    }
    let server_pids: Vec<u32> = servers.iter().map(|s| s.child.id()).collect();
    let pg_before = pg_port.map(pg_pids).unwrap_or_default();
    let pg_cpu_before = cpu_of(&pg_before);
    let own = std::process::id();
    let bench_cpu_before = cpu_time(own);
    let cpu_before = cpu_of(&server_pids);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (dev, url, evs) in sims {
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for chunk in evs.chunks(batch) {
                lat.push(push(&http, &url, &dev, chunk).await);
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("device"));
    }
    let took = t.elapsed();
    let server_cpu = cpu_of(&server_pids).saturating_sub(cpu_before);
    let bench_cpu = cpu_time(own).saturating_sub(bench_cpu_before);
    // Backends started during the run count from zero; one that ended
    // during it is lost (the pool keeps its connections, so none do).
    let pg_cpu = pg_port
        .map(|p| cpu_of(&pg_pids(p)).saturating_sub(pg_cpu_before))
        .unwrap_or_default();
    let total = devices * per_device;
    let devices_json: serde_json::Value = http
        .get(format!("{}/v1/office/devices", servers[0].url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("devices")
        .json()
        .await
        .expect("json");
    let held: i64 = devices_json
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["last_seq"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(held as usize, total, "nothing lost");
    let (median, p99) = stats(&mut latencies);
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
    let pg_note = if pg_port.is_some() {
        format!(", PostgreSQL {:.0} µs/event", per_event(pg_cpu))
    } else {
        String::new()
    };
    table.row(
        &format!("5. ingest, {devices} devices x {per_device} events, {label}"),
        format!("{:.0} events/s", total as f64 / took.as_secs_f64()),
        format!("p99 {}", ms(p99)),
        format!("median {}", ms(median)),
        &format!(
            "{total} events in {:.2} s, batches of {batch}; all {total} held (nothing lost); CPU per event: server {:.0} µs ({:.2} s{}){pg_note}, the 200 simulated devices {:.0} µs (events signed before the run; each request built, signed and read back in it), all on the same 2 cores",
            took.as_secs_f64(),
            per_event(server_cpu),
            server_cpu.as_secs_f64(),
            if instances > 1 { format!(" over {instances} processes") } else { String::new() },
            per_event(bench_cpu),
        ),
    );
}
