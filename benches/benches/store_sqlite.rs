//! SQLite store throughput: `enqueue` with 1 sender vs 64 concurrent senders in the same run
//! (the ratio is what group commit buys: one fsync per batch instead of one per message), and
//! the cost of a claim + complete cycle with 10 000 pending deliveries queued.
//!
//! `cargo bench -p hookwire-benches --bench store_sqlite`
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hookwire_dispatch::model::{
    Attempt, Completion, Endpoint, EndpointStatus, NewDelivery, NewMessage, new_id,
};
use hookwire_dispatch::store::{MemoryStore, SqliteStore, Store};

fn endpoint() -> Endpoint {
    Endpoint {
        id: new_id("ep"),
        tenant: "bench".to_owned(),
        family: hookwire_events::Family::StandardWebhooks,
        url: "https://example.com/hook".to_owned(),
        event_types: vec!["*".to_owned()],
        scheme: None,
        secrets: Vec::new(),
        auth: Default::default(),
        headers: Vec::new(),
        secret_headers: Vec::new(),
        timeout_ms: 5_000,
        retry: hookwire_retry::RetryPolicy::standard_webhooks(),
        health_policy: Default::default(),
        rate_limit: None,
        max_in_flight: None,
        fifo: false,
        description: String::new(),
        status: EndpointStatus::Enabled,
        health: Default::default(),
        created_at: 0,
        updated_at: 0,
        last_triggered_at: None,
        sealed: false,
        metadata: Default::default(),
    }
}

fn message(endpoint_id: &str) -> (NewMessage, Vec<NewDelivery>) {
    let m = NewMessage {
        id: new_id("msg"),
        tenant: "bench".to_owned(),
        event_type: "order.paid".to_owned(),
        payload: vec![b'x'; 512],
        idempotency_key: None,
        created_at: 1,
    };
    let d = vec![NewDelivery {
        id: new_id("dlv"),
        endpoint_id: endpoint_id.to_owned(),
        next_attempt_at: 1,
    }];
    (m, d)
}

/// Enqueues `total` messages from `senders` concurrent tasks; returns the wall time.
async fn enqueue_all(store: &Arc<dyn Store>, ep: &str, senders: u64, total: u64) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let n = total / senders + u64::from(s < total % senders);
        let store = store.clone();
        let ep = ep.to_owned();
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                let (m, d) = message(&ep);
                store.enqueue(&m, &d).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn bench_enqueue(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("store_enqueue");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(4));
    let backends: Vec<(&str, Arc<dyn Store>)> = vec![
        (
            "sqlite",
            Arc::new(SqliteStore::open(dir.path().join("bench.db")).unwrap()),
        ),
        ("memory", Arc::new(MemoryStore::new())),
    ];
    for (name, store) in backends {
        let ep = endpoint();
        assert!(
            rt.block_on(store.insert_endpoint_within(&ep, usize::MAX))
                .unwrap()
        );
        for senders in [1u64, 64] {
            g.bench_with_input(BenchmarkId::new(name, senders), &senders, |b, &senders| {
                b.iter_custom(|iters| rt.block_on(enqueue_all(&store, &ep.id, senders, iters)));
            });
        }
    }
    g.finish();
}

fn bench_claim_complete(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("claim.db")).unwrap());
    let ep = endpoint();
    rt.block_on(async {
        assert!(store.insert_endpoint_within(&ep, usize::MAX).await.unwrap());
        enqueue_all(&store, &ep.id, 64, 10_000).await;
    });
    let mut g = c.benchmark_group("store_claim_complete");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("sqlite_10k_pending", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                // Keep the queue topped up so every iteration claims from ~10 000 pending.
                enqueue_all(&store, &ep.id, 64, iters).await;
                let start = Instant::now();
                for _ in 0..iters {
                    let got = store
                        .claim("bench", 10, Duration::from_secs(60), 1)
                        .await
                        .unwrap();
                    let c = &got[0];
                    let a = Attempt {
                        id: new_id("att"),
                        delivery_id: c.delivery.id.clone(),
                        message_id: c.message.id.clone(),
                        endpoint_id: ep.id.clone(),
                        number: 1,
                        at: 10,
                        duration_ms: 1,
                        status: Some(200),
                        error: None,
                        response_snippet: None,
                        success: true,
                    };
                    store
                        .complete(&c.delivery.id, "bench", &a, Completion::Delivered)
                        .await
                        .unwrap();
                }
                start.elapsed()
            })
        });
    });
    g.finish();
}

criterion_group!(benches, bench_enqueue, bench_claim_complete);
criterion_main!(benches);
