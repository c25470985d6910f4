//! The transactional outbox against a plain `send`, same run: what it costs to queue a
//! webhook inside the caller's own transaction (with the caller's business insert) compared
//! with `send` on its own, on SQLite and on PostgreSQL. Workers are
//! not running: this measures acceptance, not delivery.
//!
//! - `plain_send`: `Dispatcher::send` (one store transaction per message).
//! - `business_then_send`: the caller's insert committed, then `send` (the dual write the outbox
//!   replaces: two commits, and a crash between them loses the hook).
//! - `outbox`: the caller's transaction holding the insert and `send_in_*`, one commit.
//!
//! `cargo bench -p hookwire-benches --bench outbox` (the PostgreSQL group needs a server: the
//! tests' `pg_support` finds or starts one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hookwire_dispatch::store::SqliteStore;
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
#[path = "../../crates/dispatch/tests/pg_support/mod.rs"]
mod pg_support;

const TENANT: &str = "bench";
const TYPE: &str = "NETWORK_JOIN";

fn payload() -> Vec<u8> {
    let mut p = br#"{"hook_type":"NETWORK_JOIN","pad":""#.to_vec();
    p.resize(480, b'x');
    p.extend_from_slice(br#""}"#);
    p
}

async fn with_endpoint(d: &Dispatcher) {
    d.create_endpoint(
        NewEndpoint::new(TENANT, Family::ZeroTier, "https://hooks.example.com/zt")
            .event_types([TYPE]),
    )
    .await
    .unwrap();
}

fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.db");
    let d = Dispatcher::builder(Arc::new(SqliteStore::open(&file).unwrap()))
        .build()
        .unwrap();
    rt.block_on(with_endpoint(&d));
    let mut conn = rusqlite::Connection::open(&file).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        .unwrap();
    let next = AtomicU64::new(0);
    let order = || i64::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap();

    let mut g = c.benchmark_group("outbox_sqlite");
    g.sample_size(20);
    g.bench_function("plain_send", |b| {
        b.iter(|| rt.block_on(d.send(TENANT, TYPE, payload())).unwrap());
    });
    g.bench_function("business_then_send", |b| {
        b.iter(|| {
            conn.execute("INSERT INTO orders (id) VALUES (?1)", [order()])
                .unwrap();
            rt.block_on(d.send(TENANT, TYPE, payload())).unwrap()
        });
    });
    g.bench_function("outbox", |b| {
        b.iter(|| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES (?1)", [order()])
                .unwrap();
            let r = d
                .send_in_sqlite(&tx, TENANT, TYPE, payload(), None)
                .unwrap();
            tx.commit().unwrap();
            r
        });
    });
    g.finish();
}
fn postgres(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (d, guard, mut client) = rt.block_on(async {
        let (store, guard) = pg_support::store().await;
        let d = Dispatcher::builder(Arc::new(store)).build().unwrap();
        with_endpoint(&d).await;
        let (client, conn) = tokio_postgres::connect(&guard.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "CREATE TABLE \"{}\".orders (id bigint PRIMARY KEY)",
                guard.schema
            ))
            .await
            .unwrap();
        (d, guard, client)
    });
    let insert = format!("INSERT INTO \"{}\".orders (id) VALUES ($1)", guard.schema);
    let next = AtomicU64::new(0);
    let order = || i64::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap();

    let mut g = c.benchmark_group("outbox_postgres");
    g.sample_size(20);
    g.bench_function("plain_send", |b| {
        b.iter(|| rt.block_on(d.send(TENANT, TYPE, payload())).unwrap());
    });
    g.bench_function("business_then_send", |b| {
        b.iter(|| {
            rt.block_on(async {
                client.execute(&insert, &[&order()]).await.unwrap();
                d.send(TENANT, TYPE, payload()).await.unwrap()
            })
        });
    });
    g.bench_function("outbox", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tx = client.transaction().await.unwrap();
                tx.execute(&insert, &[&order()]).await.unwrap();
                let r = d
                    .send_in_postgres(&mut tx, TENANT, TYPE, payload(), None)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                r
            })
        });
    });
    g.finish();
    drop(guard);
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
