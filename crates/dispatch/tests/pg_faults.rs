//! PostgreSQL faults survived by a running dispatcher, without restarting it: connections
//! killed with `pg_terminate_backend` mid-claim and mid-complete, a server restart (a
//! throwaway cluster of this test, stopped and started again), and a pool with fewer
//! connections than concurrent operations. Each run ends with every acknowledged message
//! delivered at least once (duplicates only for attempts in flight at a fault) and none lost.
//! Needs a server (see `pg_support`); the restart test needs `initdb`/`pg_ctl`.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod pg_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, TestServer};
use hookwire_dispatch::model::{DeliveryFilter, DeliveryState, EnqueueResult};
use hookwire_dispatch::store::{PostgresStore, StoreFault};
use hookwire_dispatch::{Dispatcher, ErrorKind, NewEndpoint};
use hookwire_events::Family;

const TENANT: &str = "org-1";

fn body(n: u64) -> Vec<u8> {
    format!(r#"{{"hook_type":"NETWORK_JOIN","n":{n}}}"#).into_bytes()
}

fn n_of(body: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["n"].as_u64().unwrap()
}

/// `url` with `application_name=app` (so the test kills only its own backends).
fn with_app(url: &str, app: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={app}")
}

/// A dispatcher on `url`/`schema` with a pool of `pool` connections, short leases and fast
/// polling, delivering to `server`; started.
async fn dispatcher(
    url: &str,
    schema: &str,
    pool: usize,
    workers: usize,
    server: &TestServer,
) -> Dispatcher {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let store =
        PostgresStore::with_pool(PostgresStore::pool(config.clone(), pool).unwrap(), schema)
            .await
            .unwrap()
            .with_listener(config, tokio_postgres::NoTls);
    let d = Dispatcher::builder(Arc::new(store))
        .allow_loopback_http()
        .workers(workers)
        .concurrency(32)
        .lease(Duration::from_secs(1))
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    d.create_endpoint(
        NewEndpoint::new(TENANT, Family::ZeroTier, server.url("/hook"))
            .event_types(["NETWORK_JOIN"])
            .retry(common::fast_retry(50)),
    )
    .await
    .unwrap();
    d.start().unwrap();
    d
}

/// What the senders saw.
#[derive(Debug, Default)]
struct Sent {
    acked: Vec<u64>,
    errors: Vec<String>,
}

/// Sends messages `range`, one every `pace`; a refused send must be a typed store fault.
async fn send_all(d: Dispatcher, range: std::ops::Range<u64>, pace: Duration) -> Sent {
    let mut sent = Sent::default();
    for n in range {
        match d.send(TENANT, "NETWORK_JOIN", body(n)).await {
            Ok(EnqueueResult::Created { .. }) => sent.acked.push(n),
            Ok(other) => panic!("{other:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Store, "{e}");
                let fault = e.store_error().and_then(|s| s.fault());
                assert!(fault.is_some(), "send failed without a fault kind: {e}");
                sent.errors.push(format!("{fault:?}: {e}"));
            }
        }
        tokio::time::sleep(pace).await;
    }
    sent
}

/// Waits until every acknowledged message reached the receiver and is delivered in the
/// store; returns (requests received, distinct messages received).
async fn settle(
    d: &Dispatcher,
    server: &TestServer,
    acked: &[u64],
    within: Duration,
) -> (usize, usize) {
    let deadline = Instant::now() + within;
    loop {
        let got = server.received();
        let mut seen: HashMap<u64, u32> = HashMap::new();
        for r in &got {
            *seen.entry(n_of(&r.body)).or_default() += 1;
        }
        let missing: Vec<_> = acked.iter().filter(|n| !seen.contains_key(n)).collect();
        let open = d.queue_depth().await.ok();
        if missing.is_empty() && open == Some(0) {
            let delivered = d
                .deliveries(&DeliveryFilter {
                    state: Some(DeliveryState::Delivered),
                    limit: Some(acked.len() * 2 + 1000),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert!(
                delivered.len() >= acked.len(),
                "{} delivered, {} acknowledged",
                delivered.len(),
                acked.len()
            );
            return (got.len(), seen.len());
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged messages never delivered (first: {:?}); queue {open:?}",
            missing.len(),
            missing.first()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Locks `table` for a moment so that the dispatcher's statements on it queue behind the
/// lock, then terminates the waiting backends of `app` whose query matches `like`; how many.
async fn kill_waiting(
    killer: &tokio_postgres::Client,
    schema: &str,
    table: &str,
    app: &str,
    like: &str,
) -> u64 {
    killer
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE \"{schema}\".{table} IN EXCLUSIVE MODE"
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows = killer
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database() \
             AND wait_event_type = 'Lock' AND query LIKE $2",
            &[&app, &like],
        )
        .await
        .unwrap();
    killer.batch_execute("COMMIT").await.unwrap();
    rows.iter().filter(|r| r.get::<_, bool>(0)).count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_mid_claim_and_mid_complete_lose_nothing() {
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: pg_support::url().to_owned(),
        schema: schema.clone(),
    };
    let app = format!("hwf_{}", &schema[4..]);
    // Answers take a moment, so attempts are in flight when completes are held.
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(5), Box::new(Reply::Status(200)))
    })
    .await;
    let d = dispatcher(&with_app(pg_support::url(), &app), &schema, 8, 2, &server).await;
    let killer = client(&with_app(pg_support::url(), "hwf_killer")).await;
    let started = Instant::now();
    let sender = tokio::spawn(send_all(d.clone(), 0..800, Duration::from_millis(3)));
    let (mut claims, mut completes, mut idle) = (0u64, 0u64, 0u64);
    let mut rounds = 0;
    // Rounds of kills while the sender runs, until each kind was hit a few times.
    while claims < 3 || completes < 3 || rounds < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "kills: {claims} claims, {completes} completes"
        );
        rounds += 1;
        // Mid-claim: claims wait for their row locks on deliveries.
        claims += kill_waiting(&killer, &schema, "deliveries", &app, "%SKIP LOCKED%").await;
        // Mid-complete: completes wait to insert their attempt row.
        completes +=
            kill_waiting(&killer, &schema, "attempts", &app, "%INSERT INTO%attempts%").await;
        if rounds % 3 == 0 {
            // And every connection of the dispatcher at once, idle ones and the listener.
            idle += killer
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1 AND datname = current_database()",
                    &[&app],
                )
                .await
                .unwrap()
                .len() as u64;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let sent = sender.await.unwrap();
    let (requests, distinct) = settle(&d, &server, &sent.acked, Duration::from_secs(60)).await;
    println!(
        "pg kills: {claims} mid-claim, {completes} mid-complete, {idle} all-connections; \
         {} sent, {} acknowledged, {} refused; {requests} requests for {distinct} messages \
         ({} duplicates); {:.1} s",
        800,
        sent.acked.len(),
        sent.errors.len(),
        requests - distinct,
        started.elapsed().as_secs_f64()
    );
    assert!(claims >= 3 && completes >= 3);
    d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_during_a_run_loses_nothing() {
    // Probing the new server runs a runtime of its own: off this one's threads.
    let created = std::thread::spawn(pg_support::Cluster::create)
        .join()
        .unwrap();
    let cluster = match created {
        Ok(c) => c,
        Err(e) => panic!("a throwaway PostgreSQL cluster is needed (initdb/pg_ctl): {e}"),
    };
    let cluster = Arc::new(cluster);
    let schema = pg_support::fresh_schema();
    let server = TestServer::status(200).await;
    let d = dispatcher(&cluster.url(), &schema, 8, 2, &server).await;
    let started = Instant::now();
    let sender = tokio::spawn(send_all(d.clone(), 0..600, Duration::from_millis(10)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let c = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || c.stop())
        .await
        .unwrap()
        .unwrap();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = Arc::clone(&cluster);
    std::thread::spawn(move || c.start())
        .join()
        .unwrap()
        .unwrap();
    let down = stopped.elapsed();
    let sent = sender.await.unwrap();
    let (requests, distinct) = settle(&d, &server, &sent.acked, Duration::from_secs(60)).await;
    println!(
        "pg restart: down {:.1} s; 600 sent, {} acknowledged, {} refused (first: {:?}); \
         {requests} requests for {distinct} messages; {:.1} s",
        down.as_secs_f64(),
        sent.acked.len(),
        sent.errors.len(),
        sent.errors.first(),
        started.elapsed().as_secs_f64()
    );
    // Sends while the server was down were refused with a typed fault, not hung.
    assert!(!sent.errors.is_empty(), "no send saw the restart");
    assert!(sent.acked.len() > 300);
    // Messages sent after the restart were delivered too: the workers resumed.
    assert!(sent.acked.iter().any(|&n| n > 500));
    d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_waits_without_deadlock_or_fails_clearly() {
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: pg_support::url().to_owned(),
        schema: schema.clone(),
    };
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(2), Box::new(Reply::Status(200)))
    })
    .await;
    // Two connections for four claim loops, 32 attempts in flight, the lease keeper,
    // housekeeping and 64 concurrent senders.
    let d = dispatcher(pg_support::url(), &schema, 2, 4, &server).await;
    let started = Instant::now();
    let senders: Vec<_> = (0..64u64)
        .map(|s| tokio::spawn(send_all(d.clone(), s * 10..s * 10 + 10, Duration::ZERO)))
        .collect();
    let mut acked = Vec::new();
    let all = async {
        for s in senders {
            let sent = s.await.unwrap();
            assert!(sent.errors.is_empty(), "{:?}", sent.errors);
            acked.extend(sent.acked);
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("senders deadlocked on the pool");
    assert_eq!(acked.len(), 640);
    let (requests, distinct) = settle(&d, &server, &acked, Duration::from_secs(60)).await;
    println!(
        "pg pool of 2: 640 acknowledged, {requests} requests for {distinct} messages; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    d.shutdown(Duration::from_secs(2)).await;

    // A pool that gives up waiting: `send` fails with a clear, typed pool timeout.
    let config: tokio_postgres::Config = pg_support::url().parse().unwrap();
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(1)
        .wait_timeout(Some(Duration::from_millis(50)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .unwrap();
    let store = PostgresStore::with_pool(pool.clone(), &schema)
        .await
        .unwrap();
    let d = Dispatcher::builder(Arc::new(store))
        .allow_loopback_http()
        .build()
        .unwrap();
    let held = pool.get().await.unwrap();
    let err = d
        .send(TENANT, "NETWORK_JOIN", body(9999))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert_eq!(
        err.store_error().and_then(|e| e.fault()),
        Some(StoreFault::PoolTimeout),
        "{err}"
    );
    drop(held);
    // Once a connection is free again, sends succeed.
    d.send(TENANT, "NETWORK_JOIN", body(9999)).await.unwrap();
}
