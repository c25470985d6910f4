//! SQLite faults survived by a running dispatcher: busy (another connection holds the write
//! lock), read-only (`PRAGMA query_only` on the store's writer) and full
//! (`PRAGMA max_page_count`). While a fault lasts `send` fails with a typed fault, the
//! workers back off (few store calls) and the log stays bounded (captured tracing lines per
//! second); when it clears they resume and every acknowledged message is delivered.
//!
//! Each test runs on a current-thread runtime with a thread-local subscriber, so the lines
//! it counts are its own dispatcher's.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use hookwire_dispatch::model::EnqueueResult;
use hookwire_dispatch::store::{SqliteStore, Store, StoreFault};
use hookwire_dispatch::{Dispatcher, ErrorKind, NewEndpoint};
use hookwire_events::Family;

const TENANT: &str = "org-1";

/// Every event at INFO or above, with the time it was written.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<(Instant, String)>>>);

impl Lines {
    fn between(&self, from: Instant, to: Instant) -> Vec<(Instant, String)> {
        let all = self.0.lock().unwrap();
        all.iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .cloned()
            .collect()
    }
}

struct Capture(Lines);

struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::INFO
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut t = Text(format!("{} ", e.metadata().level()));
        e.record(&mut t);
        self.0.0.lock().unwrap().push((Instant::now(), t.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn body(n: u64, pad: usize) -> Vec<u8> {
    format!(
        r#"{{"hook_type":"NETWORK_JOIN","n":{n},"pad":"{}"}}"#,
        "x".repeat(pad)
    )
    .into_bytes()
}

fn n_of(body: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["n"].as_u64().unwrap()
}

struct Rig {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<SqliteStore>,
    d: Dispatcher,
    server: TestServer,
    acked: Vec<u64>,
    next: u64,
}

impl Rig {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let server = TestServer::status(200).await;
        let d = Dispatcher::builder(Arc::clone(&store) as Arc<dyn Store>)
            .allow_loopback_http()
            .workers(2)
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
        Self {
            _dir: dir,
            path,
            store,
            d,
            server,
            acked: Vec::new(),
            next: 0,
        }
    }

    /// One send: `Ok` when acknowledged, else the fault it was refused with.
    async fn send(&mut self, pad: usize) -> Result<(), Option<StoreFault>> {
        let n = self.next;
        self.next += 1;
        match self.d.send(TENANT, "NETWORK_JOIN", body(n, pad)).await {
            Ok(EnqueueResult::Created { .. }) => {
                self.acked.push(n);
                Ok(())
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Store, "{e}");
                Err(e.store_error().and_then(|s| s.fault()))
            }
        }
    }

    async fn send_ok(&mut self, n: usize) {
        for _ in 0..n {
            self.send(10).await.unwrap();
        }
    }

    /// Waits until every acknowledged message arrived and nothing is open.
    async fn settle(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let seen: HashSet<u64> = self
                .server
                .received()
                .iter()
                .map(|r| n_of(&r.body))
                .collect();
            let missing = self.acked.iter().filter(|n| !seen.contains(n)).count();
            if missing == 0 && self.d.queue_depth().await.ok() == Some(0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{missing} acknowledged messages not delivered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Lines per whole second of the window, and their total.
fn per_second(lines: &[(Instant, String)], from: Instant) -> (Vec<usize>, usize) {
    let mut buckets = Vec::new();
    for (at, _) in lines {
        let s = at.duration_since(from).as_secs() as usize;
        if buckets.len() <= s {
            buckets.resize(s + 1, 0);
        }
        buckets[s] += 1;
    }
    (buckets, lines.len())
}

/// The fault window's checks: bounded log lines and few store calls (backoff).
fn check_window(
    name: &str,
    lines: &Lines,
    from: Instant,
    to: Instant,
    writes: u64,
    sends: u64,
    backs_off: bool,
) -> String {
    let window = lines.between(from, to);
    let (buckets, total) = per_second(&window, from);
    let secs = to.duration_since(from).as_secs_f64();
    let report = format!(
        "{name}: fault {secs:.1} s, {total} log lines (per second {buckets:?}), \
         {writes} store writes of which {sends} sends"
    );
    println!("{report}");
    for (at, l) in &window {
        println!("  +{:.2}s {l}", at.duration_since(from).as_secs_f64());
    }
    // The first failure, a summary per 10 s and recovery: a handful, not one per retry.
    assert!(total <= 2 + (secs / 10.0).ceil() as usize * 2, "{report}");
    assert!(buckets.iter().all(|&n| n <= 3), "{report}");
    // Two claim loops backing off to 5 s: tens of calls, not one per 50 ms poll.
    if backs_off {
        let background = writes.saturating_sub(sends);
        assert!(background <= 40, "{report}");
    }
    report
}

#[tokio::test]
async fn read_only_refuses_sends_then_resumes() {
    let lines = Lines::default();
    let _sub = tracing::subscriber::set_default(Capture(lines.clone()));
    let mut rig = Rig::new().await;
    rig.send_ok(20).await;
    rig.settle(Duration::from_secs(10)).await;

    let before = rig.store.write_stats().writes;
    let from = Instant::now();
    rig.store
        .with_writer(|c| c.execute_batch("PRAGMA query_only = ON"))
        .await
        .unwrap();
    let mut sends = 0;
    while from.elapsed() < Duration::from_secs(6) {
        sends += 1;
        assert_eq!(rig.send(10).await, Err(Some(StoreFault::ReadOnly)));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let writes = rig.store.write_stats().writes - before;
    let to = Instant::now();
    rig.store
        .with_writer(|c| c.execute_batch("PRAGMA query_only = OFF"))
        .await
        .unwrap();
    check_window("read-only", &lines, from, to, writes, sends, true);
    let resumed = Instant::now();
    rig.send_ok(20).await;
    rig.settle(Duration::from_secs(15)).await;
    println!(
        "read-only: {} acknowledged, all delivered {:.1} s after the fault cleared",
        rig.acked.len(),
        resumed.elapsed().as_secs_f64()
    );
    rig.d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn busy_while_another_connection_holds_the_write_lock() {
    let lines = Lines::default();
    let _sub = tracing::subscriber::set_default(Capture(lines.clone()));
    let mut rig = Rig::new().await;
    rig.send_ok(20).await;
    rig.settle(Duration::from_secs(10)).await;

    let before = rig.store.write_stats().writes;
    let from = Instant::now();
    let other = rusqlite::Connection::open(&rig.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Each send waits the store's busy timeout (5 s), then fails as busy.
    let mut sends = 0;
    while from.elapsed() < Duration::from_secs(6) {
        sends += 1;
        assert_eq!(rig.send(10).await, Err(Some(StoreFault::Busy)));
    }
    let writes = rig.store.write_stats().writes - before;
    let to = Instant::now();
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    check_window("busy", &lines, from, to, writes, sends, true);
    rig.send_ok(20).await;
    rig.settle(Duration::from_secs(15)).await;
    println!("busy: {} acknowledged, all delivered", rig.acked.len());
    rig.d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn full_refuses_sends_then_resumes() {
    let lines = Lines::default();
    let _sub = tracing::subscriber::set_default(Capture(lines.clone()));
    let mut rig = Rig::new().await;
    rig.send_ok(20).await;
    rig.settle(Duration::from_secs(10)).await;

    let before = rig.store.write_stats().writes;
    let from = Instant::now();
    let pages: i64 = rig
        .store
        .with_writer(|c| {
            let n: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            c.query_row(&format!("PRAGMA max_page_count = {n}"), [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .unwrap();
    // Large payloads need new pages: once the free ones are used, sends fail as full.
    let (mut sends, mut full) = (0, 0);
    while from.elapsed() < Duration::from_secs(5) {
        sends += 1;
        match rig.send(64 * 1024).await {
            Ok(()) => {}
            Err(f) => {
                assert_eq!(f, Some(StoreFault::Full));
                full += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(full > 0, "no send failed at max_page_count = {pages}");
    let writes = rig.store.write_stats().writes - before;
    let to = Instant::now();
    rig.store
        .with_writer(|c| {
            c.query_row("PRAGMA max_page_count = 1073741823", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .unwrap();
    // Claims and completes rewrite rows in place and go on while sends fail.
    check_window("full", &lines, from, to, writes, sends, false);
    println!("full: {full} of {sends} sends refused at {pages} pages");
    rig.send_ok(20).await;
    rig.settle(Duration::from_secs(15)).await;
    println!("full: {} acknowledged, all delivered", rig.acked.len());
    rig.d.shutdown(Duration::from_secs(2)).await;
}
