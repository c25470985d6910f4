//! Instructions per delivery, for `valgrind --tool=callgrind` (stable on noisy machines):
//! sends N messages through a dispatcher on a MemoryStore to a loopback receiver in this
//! process, or (`bare`) N requests from a bare reqwest loop to the same receiver.
//!
//! ```text
//! cargo bench -p hookwire-benches --bench delivery_cost --no-run
//! valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
//!     target/release/deps/delivery_cost-* memory 2000
//! ```
//! Ir per delivery = (Ir at N₂ − Ir at N₁) / (N₂ − N₁), which cancels start-up; the same
//! with `bare` is the receiver's and the HTTP client's share.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../crates/dispatch/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Reply, TestServer};
use hookwire_dispatch::store::{MemoryStore, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{HealthPolicy, RetryPolicy};

const CONCURRENCY: usize = 32;
const BODY: &str = r#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;

async fn bare(server: &TestServer, n: usize) {
    let tls = hookwire_dispatch::transport::default_tls_config().unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let url = server.url("/bare");
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n / CONCURRENCY {
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
}

async fn dispatched(server: &TestServer, n: usize) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let d = Dispatcher::builder(store)
        .allow_loopback_http()
        .concurrency(CONCURRENCY)
        .workers(2)
        .poll_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    d.create_endpoint(
        NewEndpoint::new("t", Family::ZeroTier, server.url("/d"))
            .retry(RetryPolicy::none())
            .health_policy(HealthPolicy::lenient()),
    )
    .await
    .unwrap();
    d.start().unwrap();
    for _ in 0..n {
        d.send("t", "NETWORK_JOIN", BODY).await.unwrap();
    }
    server.wait_for(n, Duration::from_secs(600)).await;
    d.shutdown(Duration::from_secs(5)).await;
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mode = args.next().unwrap_or_else(|| "memory".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let n = n / CONCURRENCY * CONCURRENCY;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = TestServer::start(|_, _| Reply::Status(200)).await;
        match mode.as_str() {
            "bare" => bare(&server, n).await,
            _ => dispatched(&server, n).await,
        }
        assert!(server.count() >= n);
    });
    println!("{mode}: {n} requests");
}
