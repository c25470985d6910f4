//! Deliveries per second with one dispatcher process and with three on one PostgreSQL queue,
//! same run, same receiver (a loopback HTTP server in this process), same backlog.
//!
//! For each process count: a fresh schema, one endpoint, `MESSAGES` messages enqueued before
//! the workers start; the children (this bench binary re-run with `HOOKWIRE_PG_BENCH_CHILD`)
//! connect, build their dispatcher and wait; the clock starts when all are told to go and stops
//! when the receiver has seen every message.
//!
//! `cargo bench -p hookwire-benches --bench pg_dispatch`
//! Needs a server: the tests' `pg_support` finds or starts one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookwire_dispatch::{DispatcherBuilder, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{Backoff, RetryPolicy};

#[path = "../../crates/dispatch/tests/common/mod.rs"]
mod common;
#[path = "../../crates/dispatch/tests/pg_support/mod.rs"]
mod pg_support;

const MESSAGES: usize = 6_000;
const TENANT: &str = "bench";

fn builder_settings(b: DispatcherBuilder) -> DispatcherBuilder {
    b.allow_loopback_http()
        .lease(Duration::from_secs(30))
        .poll_interval(Duration::from_millis(200))
        .workers(2)
        .concurrency(32)
        .claim_batch(32)
}

/// A child: builds its dispatcher, says READY, starts on "go", runs until killed.
fn child(url: &str, schema: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let d = builder_settings(
            DispatcherBuilder::postgres_schema(url, schema)
                .await
                .unwrap(),
        )
        .build()
        .unwrap();
        println!("READY");
        let mut line = String::new();
        tokio::task::spawn_blocking(move || {
            std::io::stdin().read_line(&mut line).unwrap();
        })
        .await
        .unwrap();
        d.start().unwrap();
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

fn spawn(url: &str, schema: &str) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .env("HOOKWIRE_PG_BENCH_CHILD", "1")
        .env("HOOKWIRE_PG_BENCH_URL", url)
        .env("HOOKWIRE_PG_BENCH_SCHEMA", schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = c.stdout.take().unwrap();
    let ready = BufReader::new(out).lines().next();
    assert!(
        matches!(&ready, Some(Ok(l)) if l == "READY"),
        "child not ready: {ready:?}"
    );
    c
}

/// Seconds to deliver `MESSAGES` with `processes` dispatcher processes.
async fn run(processes: usize, server: &common::TestServer) -> f64 {
    let (store, guard) = pg_support::store().await;
    let sender = builder_settings(DispatcherBuilder::new(Arc::new(store)))
        .build()
        .unwrap();
    let policy = RetryPolicy::builder(Backoff::Schedule {
        delays: vec![Duration::from_millis(100)],
    })
    .max_attempts(50)
    .build()
    .unwrap();
    sender
        .create_endpoint(
            NewEndpoint::new(
                TENANT,
                Family::ZeroTier,
                server.url(&format!("/p{processes}")),
            )
            .retry(policy),
        )
        .await
        .unwrap();
    // The backlog, from 16 concurrent senders.
    let tasks: Vec<_> = (0..16)
        .map(|lane| {
            let d = sender.clone();
            tokio::spawn(async move {
                for i in (lane..MESSAGES).step_by(16) {
                    d.send(TENANT, "NETWORK_JOIN", format!("{{\"n\":{i}}}"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let (url, schema) = (guard.url.clone(), guard.schema.clone());
    let mut children = tokio::task::spawn_blocking(move || {
        (0..processes)
            .map(|_| spawn(&url, &schema))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let path = format!("/p{processes}");
    let before = server.received().iter().filter(|r| r.path == path).count();
    assert_eq!(before, 0);
    let start = Instant::now();
    for c in &mut children {
        c.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    }
    let deadline = start + Duration::from_secs(300);
    let elapsed = loop {
        let seen: HashSet<Vec<u8>> = server
            .received()
            .into_iter()
            .filter(|r| r.path == path)
            .map(|r| r.body)
            .collect();
        if seen.len() >= MESSAGES {
            break start.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{} of {MESSAGES} delivered",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    for mut c in children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    drop(guard);
    elapsed.as_secs_f64()
}

fn main() {
    if std::env::var("HOOKWIRE_PG_BENCH_CHILD").is_ok() {
        let url = std::env::var("HOOKWIRE_PG_BENCH_URL").unwrap();
        let schema = std::env::var("HOOKWIRE_PG_BENCH_SCHEMA").unwrap();
        child(&url, &schema);
        return;
    }
    // `cargo test --benches` runs bench binaries without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = common::TestServer::status(200).await;
        let one = run(1, &server).await;
        let three = run(3, &server).await;
        let (r1, r3) = (MESSAGES as f64 / one, MESSAGES as f64 / three);
        println!("pg_dispatch: {MESSAGES} deliveries to a loopback receiver, one PostgreSQL queue");
        println!("1 process    {one:>7.2} s  {r1:>8.0} deliveries/s  (baseline)");
        println!(
            "3 processes  {three:>7.2} s  {r3:>8.0} deliveries/s  ({:.2}x of 1 process)",
            r3 / r1
        );
    });
}
