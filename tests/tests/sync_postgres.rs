//! The server on PostgreSQL: a throwaway cluster from the installed
//! PostgreSQL 15 binaries, two server instances on one database serving
//! devices concurrently, outcome conflicts raced through two instances,
//! and the fault scenarios against it.

use fieldbook_core::events::EventDraft;
use fieldbook_e2e::harness::*;
use fieldbook_e2e::pg::PgCluster;
use fieldbook_server::Storage;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

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

fn rid() -> String {
    fieldbook_core::ids::RecordId::random()
        .expect("rng")
        .to_string()
}

/// Two supervisors' devices, each pushing to its own instance at the same
/// moment, record outcomes for the same appointments: every cross-device
/// pair of outcomes on one appointment must be raised as a conflict (a
/// plain read under the device row lock alone misses pairs whose
/// transactions overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_outcomes_through_two_instances_all_raise_conflicts() {
    let pg = PgCluster::start().expect("PostgreSQL 15 must be installed for this test");
    let a = server(Storage::Postgres(pg.url.clone())).await;
    let b = server(Storage::Postgres(pg.url.clone())).await;
    let office = Office::new(a.addr);
    office.officer("sup-1", "supervisor").await;
    let project = rid();
    let days = json!(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    office
        .reference(
            "upw_project",
            &project,
            json!({ "code": "P1", "name": "Park", "project_type": "group_placement", "travel_time_eligible": false,
                    "address": "Park Road", "beneficiary": "Council", "site_contact": "Office", "hi_vis_required": true,
                    "hazards": "", "risk_notes": "", "available_days": days, "available_from": "00:00:00",
                    "available_until": "23:59:00" }),
            &["sup-1"],
            &[],
        )
        .await;
    let session = rid();
    office
        .reference(
            "upw_session",
            &session,
            json!({ "project_id": project, "date": "2026-11-23", "planned_start": "09:00:00", "planned_end": "17:00:00",
                    "supervisor_id": "sup-1", "pick_up_point": null, "pick_up_time": null }),
            &["sup-1"],
            &[],
        )
        .await;
    let appointments: Vec<String> = (0..6).map(|_| rid()).collect();
    // The office's appointments: an outcome must name one of them (or one
    // its device created), in its session, with its CRN.
    for appt in &appointments {
        office
            .reference(
                "upw_appointment",
                appt,
                json!({ "session_id": session, "requirement_id": null, "crn": "X1",
                        "allocated": true, "agreed_absence": null }),
                &["sup-1"],
                &[],
            )
            .await;
    }
    let urls = [format!("http://{}", a.addr), format!("http://{}", b.addr)];
    let rounds = 25usize;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for (d, url) in urls.iter().enumerate() {
        let (office, url, barrier) = (office.clone(), url.clone(), barrier.clone());
        let (session, appointments) = (session.clone(), appointments.clone());
        tasks.push(tokio::spawn(async move {
            let phone = SyncDevice::enrol(&office, "sup-1", &url, None).await;
            phone.sync().await.expect("first sync");
            for round in 0..rounds {
                // Two appointments a round, the same two on both devices.
                for k in 0..2 {
                    let appt = &appointments[(round + k) % appointments.len()];
                    phone
                        .store
                        .append(fieldbook_e2e::payloads::draft(
                            &fieldbook_e2e::payloads::outcome(
                                &session,
                                appt,
                                if d == 0 { "ATTC" } else { "UACP" },
                            ),
                        ))
                        .expect("append");
                }
                // Both devices push at the same moment, each to its instance.
                // Bounded: if the other device's task failed, fail here too
                // rather than wait for it forever.
                tokio::time::timeout(std::time::Duration::from_secs(120), barrier.wait())
                    .await
                    .expect("the other device reached the round");
                phone.sync().await.expect("sync");
            }
            assert_eq!(phone.store.pending_count().expect("pending"), 0);
            phone
                .client
                .state()
                .expect("state")
                .expect("enrolled")
                .device_id
        }));
    }
    let mut devices = Vec::new();
    for t in tasks {
        devices.push(t.await.expect("device task"));
    }
    // Every outcome, by appointment and device.
    let events = office
        .get("/v1/office/events?prefix=upw.outcome_recorded")
        .await;
    let mut by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for e in events.as_array().expect("array") {
        let appt = e["payload"]["appointment_id"]
            .as_str()
            .expect("appt")
            .to_owned();
        let device = e["device_id"].as_str().expect("device").to_owned();
        by.entry((appt, device))
            .or_default()
            .push(e["event_id"].as_str().expect("id").to_owned());
    }
    let total: usize = by.values().map(Vec::len).sum();
    assert_eq!(total, 2 * rounds * 2, "every outcome stored once");
    let mut expected = BTreeSet::new();
    for appt in &appointments {
        let none = Vec::new();
        let xs = by.get(&(appt.clone(), devices[0].clone())).unwrap_or(&none);
        let ys = by.get(&(appt.clone(), devices[1].clone())).unwrap_or(&none);
        for x in xs {
            for y in ys {
                expected.insert((
                    appt.clone(),
                    x.clone().min(y.clone()),
                    x.clone().max(y.clone()),
                ));
            }
        }
    }
    assert!(!expected.is_empty());
    let conflicts = office.get("/v1/office/conflicts").await;
    let recorded: BTreeSet<(String, String, String)> = conflicts
        .as_array()
        .expect("array")
        .iter()
        .map(|c: &Value| {
            let (x, y) = (
                c["event_a"].as_str().expect("a").to_owned(),
                c["event_b"].as_str().expect("b").to_owned(),
            );
            (
                c["subject"].as_str().expect("subject").to_owned(),
                x.clone().min(y.clone()),
                x.max(y),
            )
        })
        .collect();
    let missed: Vec<_> = expected.difference(&recorded).collect();
    assert!(
        missed.is_empty(),
        "{} of {} cross-device pairs have no conflict recorded",
        missed.len(),
        expected.len()
    );
    assert_eq!(recorded.len(), expected.len(), "no conflict without a pair");
    a.shutdown().await;
    b.shutdown().await;
}
