//! PostgreSQL store: claim latency with 1 000 and with 1 000 000 pending deliveries (the
//! 1 000 case is the baseline of the same run), and claim→complete throughput (each claim
//! completed in one `complete_batch`, as the engine does) with claims of 10 and of 32 (the
//! dispatcher's default `claim_batch`), with one and with three stores (each its own pool,
//! as separate processes would have).
//!
//! `cargo bench -p hookwire-benches --bench pg_claim`
//! Needs a server: the tests' `pg_support` finds or starts one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hookwire_dispatch::model::{Attempt, CompletedAttempt, Completion, new_id};
use hookwire_dispatch::store::{PostgresStore, Store};

#[path = "../../crates/dispatch/tests/pg_support/mod.rs"]
mod pg_support;

const LEASE: Duration = Duration::from_secs(60);

/// A store on a fresh schema with `pending` due deliveries to one endpoint, bulk-inserted
/// with `generate_series`.
async fn seeded(pending: i64) -> (PostgresStore, pg_support::SchemaGuard, String) {
    let (store, guard) = pg_support::store().await;
    let ep = hookwire_dispatch::store::conformance::endpoint("bench");
    assert!(store.insert_endpoint_within(&ep, usize::MAX).await.unwrap());
    let (client, conn) = tokio_postgres::connect(&guard.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let s = &guard.schema;
    client
        .batch_execute(&format!(
            "INSERT INTO \"{s}\".messages (id, tenant, event_type, payload, created_at) \
             SELECT 'm' || g, 'bench', 'user.created', '\\x7b7d', g FROM generate_series(1, {pending}) g; \
             INSERT INTO \"{s}\".deliveries (id, message_id, endpoint_id, state, next_attempt_at, created_at) \
             SELECT 'd' || g, 'm' || g, '{ep}', 'pending', g, g FROM generate_series(1, {pending}) g; \
             ",
            ep = ep.id
        ))
        .await
        .unwrap();
    // VACUUM cannot run in the implicit transaction of a multi-statement batch.
    for table in ["deliveries", "messages"] {
        client
            .batch_execute(&format!("VACUUM ANALYZE \"{s}\".{table}"))
            .await
            .unwrap();
    }
    (store, guard, ep.id)
}

fn claim_latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("pg_claim_10");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    for pending in [1_000_i64, 1_000_000] {
        let t = Instant::now();
        let (store, guard, _) = rt.block_on(seeded(pending));
        eprintln!("seeded {pending} pending deliveries in {:.1?}", t.elapsed());
        let now = i64::MAX / 2;
        // Each iteration claims 10 (timed) and gives them back (not timed), so the queue
        // stays the same size.
        group.bench_function(format!("{pending}_pending"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        let got = store.claim("bench", now, LEASE, 10).await.unwrap();
                        total += t.elapsed();
                        assert_eq!(got.len(), 10);
                        for c in got {
                            store
                                .release(&c.delivery.id, "bench", c.delivery.next_attempt_at)
                                .await
                                .unwrap();
                        }
                    }
                    total
                })
            });
        });
        drop(guard);
    }
    group.finish();
}

/// Claim `batch`, complete them as delivered in one `complete_batch`, until `total` are done,
/// with `stores` stores of `tasks` tasks each. Returns deliveries per second.
async fn throughput(stores: usize, tasks: usize, batch: usize, total: i64) -> f64 {
    let (first, guard, _) = seeded(total).await;
    let mut all = vec![Arc::new(first)];
    for _ in 1..stores {
        all.push(Arc::new(
            PostgresStore::connect_schema(&guard.url, &guard.schema)
                .await
                .unwrap(),
        ));
    }
    let t = Instant::now();
    let mut handles = Vec::new();
    for (si, store) in all.iter().enumerate() {
        for ti in 0..tasks {
            let store = Arc::clone(store);
            handles.push(tokio::spawn(async move {
                let worker = format!("s{si}t{ti}");
                loop {
                    let got = store
                        .claim(&worker, i64::MAX / 2, LEASE, batch)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return;
                    }
                    // Completed as the engine does: the claimed batch in one call.
                    let batch: Vec<CompletedAttempt> = got
                        .iter()
                        .map(|c| {
                            let a = Attempt {
                                id: new_id("att"),
                                delivery_id: c.delivery.id.clone(),
                                message_id: c.message.id.clone(),
                                endpoint_id: c.endpoint.id.clone(),
                                number: 1,
                                at: 1,
                                duration_ms: 1,
                                status: Some(200),
                                error: None,
                                response_snippet: None,
                                success: true,
                            };
                            CompletedAttempt::new(worker.as_str(), a, Completion::Delivered)
                        })
                        .collect();
                    for r in store.complete_batch(batch).await.unwrap() {
                        r.unwrap();
                    }
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let rate = total as f64 / t.elapsed().as_secs_f64();
    drop(guard);
    rate
}

fn deliveries_per_second(_c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ten = rt.block_on(throughput(1, 4, 10, 20_000));
    let one = rt.block_on(throughput(1, 4, 32, 40_000));
    let three = rt.block_on(throughput(3, 4, 32, 40_000));
    eprintln!(
        "claim+complete throughput (store only, no HTTP): 1 store x 4 tasks, claims of 10 \
         {ten:.0}/s; claims of 32: 1 store x 4 tasks {one:.0}/s, 3 stores x 4 tasks \
         {three:.0}/s (3 stores ÷ 1 {:.2}; claims of 32 ÷ 10 {:.2})",
        three / one,
        one / ten
    );
}

criterion_group!(benches, claim_latency, deliveries_per_second);
criterion_main!(benches);
