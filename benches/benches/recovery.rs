//! Recovery time after a crash: a child process (this binary again) runs a dispatcher with
//! the default lease on a SQLite file; the receiver holds its requests unanswered; the child
//! is SIGKILLed some time after its deliveries arrived, and a fresh dispatcher on the same
//! file (defaults again) takes over. Measures kill → each stranded delivery received again.
//!
//! `cargo bench -p hookwire-benches --bench recovery` (custom harness: prints a table).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../crates/dispatch/tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, TestServer};
use hookwire_dispatch::store::{SqliteStore, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{HealthPolicy, RetryPolicy};

const HELD: usize = 32;
const TENANT: &str = "recovery";

fn dispatcher(db: &str) -> Dispatcher {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
    Dispatcher::builder(store)
        .allow_loopback_http()
        .concurrency(HELD)
        .build()
        .unwrap()
}

/// The child: registers the endpoint, sends `HELD` messages and delivers until killed.
async fn child(db: String, url: String) {
    let d = dispatcher(&db);
    d.create_endpoint(
        NewEndpoint::new(TENANT, Family::ZeroTier, url)
            .retry(RetryPolicy::none())
            .health_policy(HealthPolicy::lenient()),
    )
    .await
    .unwrap();
    for _ in 0..HELD {
        d.send(
            TENANT,
            "NETWORK_JOIN",
            br#"{"hook_type":"NETWORK_JOIN"}"#.to_vec(),
        )
        .await
        .unwrap();
    }
    d.start().unwrap();
    std::future::pending::<()>().await;
}

/// One trial: kill `after` the child's requests all arrived; seconds until the first and
/// the last of them arrived again from the new dispatcher.
async fn trial(after: Duration) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("recovery.sqlite3");
    // The first HELD requests are never answered (the child's); the rest are.
    let server = TestServer::start(|_, i| {
        if i < HELD {
            Reply::Delay(Duration::from_secs(3600), Box::new(Reply::Status(200)))
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("HOOKWIRE_RECOVERY_CHILD", &db)
        .env("HOOKWIRE_RECOVERY_URL", server.url("/r"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    server.wait_for(HELD, Duration::from_secs(60)).await;
    tokio::time::sleep(after).await;
    child.kill().unwrap();
    let killed = Instant::now();
    child.wait().unwrap();
    let d = dispatcher(db.to_str().unwrap());
    d.start().unwrap();
    let got = server.wait_for(2 * HELD, Duration::from_secs(120)).await;
    d.shutdown(Duration::from_secs(1)).await;
    let mut again: Vec<f64> = got[HELD..]
        .iter()
        .map(|r| r.at.saturating_duration_since(killed).as_secs_f64())
        .collect();
    again.sort_by(f64::total_cmp);
    (again[0], again[again.len() - 1])
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let (Ok(db), Ok(url)) = (
        std::env::var("HOOKWIRE_RECOVERY_CHILD"),
        std::env::var("HOOKWIRE_RECOVERY_URL"),
    ) {
        rt.block_on(child(db, url));
        return;
    }
    rt.block_on(async {
        println!("SIGKILL with {HELD} deliveries in flight, default lease, new dispatcher on the same SQLite file");
        let mut worst: f64 = 0.0;
        for ms in [0u64, 500, 1000, 1500, 2000, 2500] {
            let (first, last) = trial(Duration::from_millis(ms)).await;
            worst = worst.max(last);
            println!("kill {ms:>4} ms after receipt: retried after {first:.2} s (first) .. {last:.2} s (last)");
        }
        println!("worst: {worst:.2} s from the kill until every stranded delivery was received again");
    });
}
