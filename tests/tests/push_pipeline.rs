//! The device's push pipeline end to end: while one batch is on the wire
//! the next is read and encoded, yet every event still arrives once, in
//! order, and is acknowledged only from the office's answer, on both
//! storage backends; and a push larger than one checking worker's share
//! is checked in parts without losing its order.

use fieldbook_core::events::EventDraft;
use fieldbook_e2e::harness::*;
use fieldbook_e2e::pg::PgCluster;
use fieldbook_server::Storage;
use serde_json::json;

async fn many_batches_arrive_once_in_order(storage: Storage, batch_size: u32, events: u64) {
    let server = server(storage).await;
    let office = Office::new(server.addr);
    office.officer("po-1", "probation_officer").await;
    let url = format!("http://{}", server.addr);
    let mut config = fast_config(&url);
    config.batch_size = batch_size;
    let phone = SyncDevice::enrol(&office, "po-1", &url, Some(config)).await;
    for i in 0..events {
        phone
            .store
            .append(EventDraft::new("test.note", json!({ "i": i })))
            .expect("append");
    }
    let report = phone.sync().await.expect("sync");
    assert_eq!(report.accepted, events, "{report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.quarantined, 0, "{report:?}");
    assert_eq!(phone.store.pending_count().expect("pending"), 0);
    let devices = office.get("/v1/office/devices").await;
    assert_eq!(devices[0]["last_seq"], events, "{devices}");
    let held = office
        .get(&format!(
            "/v1/office/events?prefix=test.&limit={}",
            events + 10
        ))
        .await;
    let mut seen: Vec<u64> = held
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=events).collect::<Vec<_>>(), "each event once");
    // Nothing is left to send, and a second sync sends nothing again.
    let again = phone.sync().await.expect("sync again");
    assert_eq!((again.accepted, again.duplicates), (0, 0), "{again:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_of_many_batches_arrives_once_and_in_order_on_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    many_batches_arrive_once_in_order(Storage::Sqlite(dir.path().join("office.db")), 7, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_of_many_batches_arrives_once_and_in_order_on_postgres() {
    let pg = PgCluster::start().expect("PostgreSQL 15 must be installed for this test");
    many_batches_arrive_once_in_order(Storage::Postgres(pg.url.clone()), 7, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_checked_in_parts_keeps_its_chain() {
    // One batch of 600 is checked by several workers; were its order lost,
    // the chain checks would refuse or hold back events.
    let dir = tempfile::tempdir().expect("tmp");
    many_batches_arrive_once_in_order(Storage::Sqlite(dir.path().join("office.db")), 1000, 600)
        .await;
}
