//! The server on PostgreSQL: a throwaway cluster from the installed
//! PostgreSQL 15 binaries, two server instances on one database serving
//! devices concurrently, and the fault scenarios against it.

use fieldbook_core::events::EventDraft;
use fieldbook_e2e::harness::*;
use fieldbook_e2e::pg::PgCluster;
use fieldbook_server::Storage;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_one_database_exactly_once() {
    let pg = PgCluster::start().expect("PostgreSQL 15 must be installed for this test");
    let a = server(Storage::Postgres(pg.url.clone())).await;
    let b = server(Storage::Postgres(pg.url.clone())).await;
    let office = Office::new(a.addr);
    office.officer("po-1", "probation_officer").await;
    let urls = [format!("http://{}", a.addr), format!("http://{}", b.addr)];
    // Eight devices, each alternating between the instances, syncing at the
    // same time; one device also sends every sync to both instances at
    // once (as a load balancer retrying might).
    let mut tasks = Vec::new();
    for d in 0..8usize {
        let office = office.clone();
        let urls = urls.clone();
        tasks.push(tokio::spawn(async move {
            let phones: Vec<SyncDevice> =
                vec![SyncDevice::enrol(&office, "po-1", &urls[d % 2], None).await];
            let phone = &phones[0];
            let other = fieldbook_core::sync::SyncClient::new(
                phone.store.clone(),
                fast_config(&urls[(d + 1) % 2]),
            )
            .expect("client");
            for round in 0..5 {
                for i in 0..20 {
                    phone
                        .store
                        .append(EventDraft::new(
                            "test.pg",
                            json!({ "d": d, "r": round, "i": i }),
                        ))
                        .expect("append");
                }
                phone.device.clock.set_wall_ms(wall_now());
                let never = std::sync::atomic::AtomicBool::new(false);
                if d == 0 {
                    let (x, y) =
                        tokio::join!(phone.client.sync(None, &never), other.sync(None, &never));
                    // One of them may lose the race for the pull cursor;
                    // neither may store anything twice.
                    assert!(x.is_ok() || y.is_ok(), "{x:?} {y:?}");
                } else if round % 2 == 0 {
                    phone.client.sync(None, &never).await.expect("sync a");
                } else {
                    other.sync(None, &never).await.expect("sync b");
                }
            }
            let never = std::sync::atomic::AtomicBool::new(false);
            phone.client.sync(None, &never).await.expect("final sync");
            assert_eq!(phone.store.pending_count().expect("pending"), 0);
            phones
        }));
    }
    let mut phones = Vec::new();
    for t in tasks {
        phones.extend(t.await.expect("device task"));
    }
    for (i, phone) in phones.iter().enumerate() {
        office_holds_exactly(&b.state.db, phone, "test.pg", &format!("device {i}")).await;
    }
    assert_eq!(b.state.db.event_count().await.expect("count"), 8 * 5 * 20);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_scenarios_on_postgres() {
    let pg = PgCluster::start().expect("PostgreSQL 15 must be installed for this test");
    let scenarios = std::env::var("FIELDBOOK_PG_SCENARIOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let base_seed: u64 = std::env::var("FIELDBOOK_SYNC_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("postgres fault scenarios: {scenarios} from seed {base_seed}");
    let (upstream, db, restart) = restartable(Storage::Postgres(pg.url.clone())).await;
    let proxy = FaultProxy::start(upstream, base_seed, restart).await;
    Office::new(upstream)
        .officer("po-1", "probation_officer")
        .await;
    let events = run_fault_scenarios(&proxy, &db, scenarios, base_seed).await;
    assert!(events > 0);
    assert!(
        proxy
            .counts
            .faults
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
}
