//! Soak: many messages (1 000 000 by default) through a SQLite dispatcher with retention on
//! at short ages, delivered to a loopback receiver. Every N delivered messages it samples the
//! database file, its WAL, the process RSS, the rows kept and the queue; the table goes to
//! the terminal and to `target/soak/soak.md` and `soak.csv`. With retention on, file size and
//! RSS level off instead of growing with the count.
//!
//! `cargo bench -p hookwire-benches --bench soak` (custom harness);
//! `HOOKWIRE_SOAK_MESSAGES=200000` for a shorter run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use hookwire_dispatch::store::{SqliteStore, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint, Retention};
use hookwire_events::Family;
use hookwire_retry::HealthPolicy;

const TENANT: &str = "soak";
/// Messages sent and not yet received, at most (the sender waits above it).
const BACKLOG: u64 = 20_000;
const SENDERS: u64 = 32;
const SAMPLES: u64 = 20;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn mib(path: &std::path::Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

struct Sample {
    delivered: u64,
    secs: f64,
    rate: f64,
    db: f64,
    wal: f64,
    rss: f64,
    messages_kept: i64,
    queue: u64,
}

fn main() {
    let total: u64 = std::env::var("HOOKWIRE_SOAK_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let samples = rt.block_on(run(total));
    report(total, &samples);
}

async fn run(total: u64) -> Vec<Sample> {
    let received = Arc::new(AtomicU64::new(0));
    let r = Arc::clone(&received);
    let app = Router::new().route(
        "/hook",
        post(move || {
            let r = Arc::clone(&r);
            async move {
                r.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("soak.db");
    let wal = dir.path().join("soak.db-wal");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let d = Dispatcher::builder(store)
        .allow_loopback_http()
        .workers(2)
        .concurrency(256)
        .claim_batch(64)
        .poll_interval(Duration::from_millis(50))
        .retention(
            Retention::new()
                .delivered_for(Duration::from_secs(2))
                .failed_for(Duration::from_secs(2))
                .every(Duration::from_millis(500))
                .batch(5000)
                .pause(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    d.create_endpoint(
        NewEndpoint::new(TENANT, Family::ZeroTier, format!("http://{addr}/hook"))
            .health_policy(HealthPolicy::lenient())
            .max_in_flight(256),
    )
    .await
    .unwrap();
    d.start().unwrap();
    let counter = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (d, next, received) = (d.clone(), Arc::clone(&next), Arc::clone(&received));
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return;
                    }
                    while n.saturating_sub(received.load(Ordering::Relaxed)) > BACKLOG {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    let body = format!(r#"{{"hook_type":"NETWORK_JOIN","n":{n}}}"#);
                    d.send(TENANT, "NETWORK_JOIN", body).await.unwrap();
                }
            })
        })
        .collect();

    let every = (total / SAMPLES).max(1);
    let mut mark = every;
    let mut samples = Vec::new();
    let (mut last_n, mut last_t) = (0u64, 0.0f64);
    loop {
        let got = received.load(Ordering::Relaxed);
        if got >= mark || got >= total {
            let secs = started.elapsed().as_secs_f64();
            let kept: i64 = counter
                .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
                .unwrap_or(-1);
            let s = Sample {
                delivered: got,
                secs,
                rate: (got - last_n) as f64 / (secs - last_t).max(1e-9),
                db: mib(&path),
                wal: mib(&wal),
                rss: rss_mib(),
                messages_kept: kept,
                queue: d.queue_depth().await.unwrap_or(0),
            };
            eprintln!(
                "{:>9} delivered  {:>7.1} s  {:>7.0}/s  db {:>7.1} MiB  wal {:>6.1} MiB  rss {:>6.1} MiB  kept {:>7}  queue {:>6}",
                s.delivered, s.secs, s.rate, s.db, s.wal, s.rss, s.messages_kept, s.queue
            );
            (last_n, last_t) = (got, secs);
            samples.push(s);
            mark = (got / every + 1) * every;
            if got >= total {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for s in senders {
        s.await.unwrap();
    }
    d.shutdown(Duration::from_secs(5)).await;
    samples
}

fn report(total: u64, samples: &[Sample]) {
    let mut md = format!(
        "# Soak: {total} messages through SQLite, retention on (delivered/failed kept 2 s, run every 500 ms)\n\n\
         | delivered | elapsed s | msg/s | db MiB | wal MiB | RSS MiB | messages kept | queue |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let mut csv =
        String::from("delivered,elapsed_s,msg_per_s,db_mib,wal_mib,rss_mib,messages_kept,queue\n");
    for s in samples {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |",
            s.delivered, s.secs, s.rate, s.db, s.wal, s.rss, s.messages_kept, s.queue
        );
        let _ = writeln!(
            csv,
            "{},{:.2},{:.0},{:.2},{:.2},{:.2},{},{}",
            s.delivered, s.secs, s.rate, s.db, s.wal, s.rss, s.messages_kept, s.queue
        );
    }
    // Level off: the second half's largest value against the value at half-way.
    let half = samples.len() / 2;
    if half > 0 {
        let at = |f: fn(&Sample) -> f64| {
            let mid = f(&samples[half - 1]);
            let max2 = samples[half..].iter().map(f).fold(0.0, f64::max);
            (mid, max2)
        };
        let (db_mid, db_max) = at(|s| s.db + s.wal);
        let (rss_mid, rss_max) = at(|s| s.rss);
        let _ = writeln!(
            md,
            "\nDatabase file + WAL: {db_mid:.1} MiB at half-way, at most {db_max:.1} MiB in the second half. \
             RSS: {rss_mid:.1} MiB at half-way, at most {rss_max:.1} MiB in the second half."
        );
    }
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            std::path::PathBuf::from,
        )
        .join("soak");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    std::fs::write(dir.join("soak.md"), &md).unwrap();
    std::fs::write(dir.join("soak.csv"), &csv).unwrap();
    println!("{md}");
    println!("written to {}", dir.join("soak.md").display());
}
