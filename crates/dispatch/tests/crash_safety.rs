//! Crash safety: a dispatcher in a child process on a SQLite file is killed with SIGKILL at
//! random moments while it sends and delivers thousands of messages to a counting receiver in
//! this process; it is restarted on the same file each time. At the end every message must
//! have been delivered at least once.
//!
//! The child is this same test binary, re-run with `HOOKWIRE_CRASH_CHILD` set, so it runs
//! [`crash_child`] instead of the parent.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, TestServer};
use hookwire_dispatch::model::EnqueueResult;
use hookwire_dispatch::store::{SqliteStore, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{Backoff, RetryPolicy};

const MESSAGES: usize = 2000;
const TENANT: &str = "crash-tenant";

/// The child: opens the store, registers the endpoint once, (re)sends every message with an
/// idempotency key (repeats after a restart are no-ops), and delivers until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let (Ok(db), Ok(url)) = (
        std::env::var("HOOKWIRE_CRASH_CHILD"),
        std::env::var("HOOKWIRE_CRASH_URL"),
    ) else {
        return; // not the child
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let d = Dispatcher::builder(Arc::clone(&store))
        .allow_loopback_http()
        .lease(Duration::from_millis(500))
        .poll_interval(Duration::from_millis(50))
        .workers(2)
        .concurrency(32)
        .build()
        .unwrap();
    if d.list_endpoints(TENANT).await.unwrap().is_empty() {
        let policy = RetryPolicy::builder(Backoff::Schedule {
            delays: vec![Duration::from_millis(50)],
        })
        .max_attempts(100)
        .build()
        .unwrap();
        d.create_endpoint(NewEndpoint::new(TENANT, Family::ZeroTier, url).retry(policy))
            .await
            .unwrap();
    }
    d.start().unwrap();
    let mut senders = Vec::new();
    for lane in 0..4 {
        let d = d.clone();
        senders.push(tokio::spawn(async move {
            for i in (lane..MESSAGES).step_by(4) {
                let body = format!("{{\"n\":{i}}}");
                let r = d
                    .send_idempotent(TENANT, "NETWORK_JOIN", body, &format!("m{i}"))
                    .await
                    .unwrap();
                assert!(matches!(
                    r,
                    EnqueueResult::Created { deliveries: 1, .. } | EnqueueResult::Duplicate { .. }
                ));
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    println!("CHILD-SENT-ALL");
    // Deliver until killed (or the parent's final run sees everything and kills us).
    tokio::time::sleep(Duration::from_secs(120)).await;
}

fn spawn_child(db: &str, url: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("HOOKWIRE_CRASH_CHILD", db)
        .env("HOOKWIRE_CRASH_URL", url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// xorshift64*: reproducible random kill times (the seed is printed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn number(body: &[u8]) -> usize {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    usize::try_from(v["n"].as_u64().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing() {
    let dir = std::env::temp_dir().join(format!(
        "hookwire-crash-{}-{}",
        std::process::id(),
        hookwire_dispatch::model::new_id("t")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("dispatch.sqlite3").to_str().unwrap().to_owned();
    let server = TestServer::start(|_, _| Reply::Status(200)).await;
    let url = server.url("/hook");

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill schedule seed {seed}");
    let mut rng = Rng(seed);
    let kills = 8;
    for k in 0..kills {
        let mut child = spawn_child(&db, &url);
        let wait = 100 + rng.next() % 400;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        println!(
            "kill {k} after {wait} ms: {} requests so far",
            server.count()
        );
    }
    // Final run: not killed until everything has arrived.
    let mut child = spawn_child(&db, &url);
    let deadline = Instant::now() + Duration::from_secs(90);
    let counts = loop {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for r in server.received() {
            *counts.entry(number(&r.body)).or_default() += 1;
        }
        if counts.len() == MESSAGES || Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();

    let missing: Vec<usize> = (0..MESSAGES).filter(|i| !counts.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "{} messages never delivered, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    println!(
        "{MESSAGES} messages delivered at least once across {kills} SIGKILLs; {duplicates} duplicate deliveries (leases in flight at a kill)"
    );
    // Nothing stays queued: the store agrees that every delivery was delivered.
    // The killed final child may have left leases in flight for requests the receiver
    // already counted; those (at most its concurrency) are the only possible leftovers.
    let store = SqliteStore::open(&db).unwrap();
    let depth = store.queue_depth().await.unwrap();
    assert!(depth <= 32, "{depth} deliveries still queued");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
