//! Dispatcher throughput and latency against a loopback receiver, next to a bare reqwest loop
//! at the same concurrency in the same run; memory per pending delivery with 100 000 queued.
//!
//! `cargo bench -p hookwire-benches --bench dispatch` (custom harness: prints a table).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../crates/dispatch/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, TestServer};
use hookwire_dispatch::store::{MemoryStore, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{HealthPolicy, RetryPolicy};

const CONCURRENCY: usize = 32;
const THROUGHPUT_MESSAGES: usize = 4000;
const LATENCY_MESSAGES: usize = 1000;
const PENDING: usize = 100_000;
const BODY: &str = r#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

async fn bare_reqwest(server: &TestServer) -> f64 {
    let tls = hookwire_dispatch::transport::default_tls_config().unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let url = server.url("/bare");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..THROUGHPUT_MESSAGES / CONCURRENCY {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(BODY)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    THROUGHPUT_MESSAGES as f64 / start.elapsed().as_secs_f64()
}

async fn dispatcher(store: Arc<dyn Store>, url: String, tenant: &str) -> Dispatcher {
    let d = Dispatcher::builder(store)
        .allow_loopback_http()
        .concurrency(CONCURRENCY)
        .workers(2)
        .poll_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    d.create_endpoint(
        NewEndpoint::new(tenant, Family::ZeroTier, url)
            .retry(RetryPolicy::none())
            .health_policy(HealthPolicy::lenient()),
    )
    .await
    .unwrap();
    d
}

/// Enqueue everything (concurrently), start, time until the receiver has it all.
async fn throughput(store: Arc<dyn Store>, server: &TestServer, tenant: &str) -> (f64, f64) {
    let d = dispatcher(store, server.url(&format!("/{tenant}")), tenant).await;
    let before = server.count();
    let enqueue_start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let d = d.clone();
        let tenant = tenant.to_owned();
        tasks.push(tokio::spawn(async move {
            for _ in 0..THROUGHPUT_MESSAGES / CONCURRENCY {
                d.send(&tenant, "NETWORK_JOIN", BODY).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let enqueue_rate = THROUGHPUT_MESSAGES as f64 / enqueue_start.elapsed().as_secs_f64();
    let start = Instant::now();
    d.start().unwrap();
    server
        .wait_for(before + THROUGHPUT_MESSAGES, Duration::from_secs(120))
        .await;
    let rate = THROUGHPUT_MESSAGES as f64 / start.elapsed().as_secs_f64();
    d.shutdown(Duration::from_secs(5)).await;
    (rate, enqueue_rate)
}

/// Paced sends (about 500/s); enqueue → received at the receiver, p50 / p99.
async fn latency(store: Arc<dyn Store>, server: &TestServer, tenant: &str) -> (Duration, Duration) {
    let d = dispatcher(store, server.url(&format!("/{tenant}-lat")), tenant).await;
    d.start().unwrap();
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let before = server.count();
    for _ in 0..LATENCY_MESSAGES {
        let at = Instant::now();
        let r = d.send(tenant, "NETWORK_JOIN", BODY).await.unwrap();
        if let hookwire_dispatch::model::EnqueueResult::Created { message_id, .. } = r {
            sent.insert(message_id, at);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let got = server
        .wait_for(before + LATENCY_MESSAGES, Duration::from_secs(60))
        .await;
    let mut lat: Vec<Duration> = got
        .iter()
        .filter_map(|r| {
            let id = r.headers.get("x-hookwire-message-id")?.to_str().ok()?;
            Some(r.at.saturating_duration_since(*sent.get(id)?))
        })
        .collect();
    lat.sort();
    d.shutdown(Duration::from_secs(5)).await;
    let pick = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
    (pick(0.5), pick(0.99))
}

async fn memory_per_pending(store: Arc<dyn Store>, tenant: &str) -> f64 {
    let d = dispatcher(store, "https://hooks.example.com/never".to_owned(), tenant).await;
    let before = rss_bytes();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let d = d.clone();
        let tenant = tenant.to_owned();
        tasks.push(tokio::spawn(async move {
            for _ in 0..PENDING / 8 {
                d.send(&tenant, "NETWORK_JOIN", BODY).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(d.queue_depth().await.unwrap(), PENDING as u64);
    (rss_bytes().saturating_sub(before)) as f64 / PENDING as f64
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = TestServer::start(|_, _| Reply::Status(200)).await;
        println!("loopback receiver, concurrency {CONCURRENCY}, {THROUGHPUT_MESSAGES} messages, body {} B", BODY.len());

        let bare = bare_reqwest(&server).await;
        println!("bare reqwest loop          {bare:>9.0} req/s   (baseline)");

        let (mem, mem_enq) = throughput(Arc::new(MemoryStore::new()), &server, "mem").await;
        println!(
            "dispatcher + MemoryStore   {mem:>9.0} deliveries/s  ({:.2}x of bare)  enqueue {mem_enq:.0}/s",
            mem / bare
        );

        let dir = std::env::temp_dir().join(format!("hookwire-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        {
            use hookwire_dispatch::store::SqliteStore;
            let sqlite: Arc<dyn Store> =
                Arc::new(SqliteStore::open(dir.join("tp.sqlite3")).unwrap());
            let (sq, sq_enq) = throughput(sqlite, &server, "sqlite").await;
            println!(
                "dispatcher + SqliteStore   {sq:>9.0} deliveries/s  ({:.2}x of bare)  enqueue {sq_enq:.0}/s",
                sq / bare
            );
        }

        let (p50, p99) = latency(Arc::new(MemoryStore::new()), &server, "memlat").await;
        println!("enqueue→delivered MemoryStore  p50 {p50:?}  p99 {p99:?}");
        {
            use hookwire_dispatch::store::SqliteStore;
            let sqlite: Arc<dyn Store> =
                Arc::new(SqliteStore::open(dir.join("lat.sqlite3")).unwrap());
            let (p50, p99) = latency(sqlite, &server, "sqlat").await;
            println!("enqueue→delivered SqliteStore  p50 {p50:?}  p99 {p99:?}");
        }

        let per = memory_per_pending(Arc::new(MemoryStore::new()), "mempend").await;
        println!("MemoryStore: {PENDING} pending deliveries, {per:.0} B RSS each (incl. {} B payload)", BODY.len());
        {
            use hookwire_dispatch::store::SqliteStore;
            let path = dir.join("pending.sqlite3");
            let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
            let per = memory_per_pending(sqlite, "sqpend").await;
            let disk: u64 = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("pending.sqlite3"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum();
            println!(
                "SqliteStore: {PENDING} pending deliveries, {per:.0} B RSS each, {:.0} B on disk each",
                disk as f64 / PENDING as f64
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
