//! Several dispatcher processes on one PostgreSQL queue, one of them SIGKILLed halfway and
//! restarted.
//!
//! The parent enqueues 10 000 messages (through a `Dispatcher` of its own that is never
//! started) for one endpoint pointing at a counting receiver in this process, then starts
//! three children. Each child is this test binary re-run as [`multiprocess_child`]: a real
//! [`Dispatcher`] built with `DispatcherBuilder::postgres_schema` on the test's schema, with a
//! short lease and a user agent naming its pid, so the receiver knows which process sent every
//! request (and each body carries the message's index). When about half the messages have
//! arrived the receiver stops answering one child, so that its requests stay in flight
//! (received but not recorded) for longer than a lease, then the parent SIGKILLs it and starts
//! another in its place.
//!
//! What it proves:
//! - every message is delivered, none lost;
//! - duplicates come only from the killed process's in-flight leases: a duplicate's first copy
//!   was sent by the killed pid, the second by a live process, and there are at most
//!   [`CONCURRENCY`] of them (see [`CONCURRENCY`] for why that is the bound);
//! - no message was sent by two live processes (or twice by one), not even the held ones,
//!   whose leases the live child kept renewing past their length;
//! - each held request was sent again by a live process after the kill;
//! - the work was shared: each of the four processes delivered something;
//! - no child died on its own: each was alive when killed or told to stop, the killed one
//!   died of SIGKILL, the others shut down cleanly and exited 0;
//! - the store agrees: queue empty, every delivery delivered with exactly one (successful)
//!   attempt recorded, no lease left.
//!
//! It prints the deliveries per second over the run and per process.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod pg_support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Received, Reply, TestServer};
use hookwire_dispatch::model::EnqueueResult;
use hookwire_dispatch::{Dispatcher, DispatcherBuilder, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{Backoff, RetryPolicy};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

const MESSAGES: usize = 10_000;
const PROCESSES: usize = 3;
const TENANT: &str = "mp-tenant";
const EVENT: &str = "NETWORK_JOIN";
/// Claim loops per child.
const WORKERS: usize = 2;
/// Attempts in flight per child. This is also the bound on duplicates: a claim loop takes
/// one concurrency permit per delivery it asks the store for (`claim(.., permits.len())`) and
/// each permit is held until that delivery's attempt is recorded, so a process never holds
/// more than `CONCURRENCY` leases, whatever the claim batch. Only those can be sent by the
/// killed process without being recorded, and so be sent again by another. Group commit
/// (`complete_batch`) keeps the bound: a completion waiting for its batch's commit still
/// holds its permit and its lease, so in flight plus completed-but-uncommitted is at most
/// `CONCURRENCY`.
const CONCURRENCY: usize = 8;
const CLAIM_BATCH: usize = 4;
/// Short, so the killed child's leases run out soon; renewed every third while a request runs.
const LEASE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(100);
/// A guard against hangs, not a speed requirement: the run (children started → everything
/// delivered and drained) takes 20–30 s on the project's 2-core machine while it compiles
/// other crates, and fails if it has not finished after this.
const RUN_DEADLINE: Duration = Duration::from_secs(120);
const USER_AGENT_PREFIX: &str = "hookwire-test/";
const CHILD_NAME: &str = "multiprocess_child";
/// How long the receiver sits on the requests of the process about to be killed: longer than
/// it takes to kill it, shorter than the endpoint's timeout.
const HOLD_FOR: Duration = Duration::from_secs(60);
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(90);
/// Before the kill, the held requests stay in flight on a live process for this long (1.5
/// leases): its lease renewals must keep every other process off them.
const HOLD_AT_LEAST: Duration = Duration::from_secs(3);
/// Delivered messages when the hold starts; the kill follows `HOLD_AT_LEAST` later, at about
/// half.
const HOLD_FROM: usize = MESSAGES * 45 / 100;

/// The child process. Fails unless started by the test below, so it cannot pass vacuously.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of three_dispatchers_sigkill_one_and_restart_nothing_lost, which runs it"]
async fn multiprocess_child() {
    let (Ok(url), Ok(schema)) = (
        std::env::var("HOOKWIRE_MP_URL"),
        std::env::var("HOOKWIRE_MP_SCHEMA"),
    ) else {
        panic!(
            "{CHILD_NAME} only runs as the child of \
             three_dispatchers_sigkill_one_and_restart_nothing_lost \
             (HOOKWIRE_MP_URL and HOOKWIRE_MP_SCHEMA unset)"
        );
    };
    let pid = std::process::id();
    let d = DispatcherBuilder::postgres_schema(&url, &schema)
        .await
        .unwrap()
        .allow_loopback_http()
        .user_agent(format!("{USER_AGENT_PREFIX}{pid}"))
        .lease(LEASE)
        .poll_interval(POLL)
        .workers(WORKERS)
        .concurrency(CONCURRENCY)
        .claim_batch(CLAIM_BATCH)
        .build()
        .unwrap();
    d.start().unwrap();
    // On a line of its own: the harness has already printed "test multiprocess_child ... ".
    println!("\nCHILD-READY {pid}");
    // Deliver until the parent closes our stdin (it asks us to stop, or it died), unless it
    // SIGKILLs us first.
    let _ = tokio::task::spawn_blocking(|| {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
    })
    .await;
    let report = d.shutdown(Duration::from_secs(5)).await;
    println!(
        "CHILD-DONE {pid} finished={} released={}",
        report.finished, report.released
    );
}

/// Who sent each message, in the order the receiver got the copies.
#[derive(Default)]
struct Tally {
    senders: Vec<Vec<u32>>,
    distinct: usize,
    requests: usize,
    /// Requests without a parsable index or user agent.
    bad: Vec<String>,
    /// Requests from this pid get no answer (for [`HOLD_FOR`]): they stay in flight.
    hold: Option<u32>,
    /// The messages whose requests were held.
    held: Vec<usize>,
}

fn parse(req: &Received) -> Result<(usize, u32), String> {
    let ua = req
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let pid = ua
        .strip_prefix(USER_AGENT_PREFIX)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("user agent {ua:?}"))?;
    let body: serde_json::Value =
        serde_json::from_slice(&req.body).map_err(|e| format!("body: {e}"))?;
    let n = body["n"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n < MESSAGES)
        .ok_or_else(|| format!("body {body}"))?;
    Ok((n, pid))
}

/// A running child and what we know about it.
struct Proc {
    name: String,
    pid: u32,
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<Vec<String>>>,
    /// Reads the child's stdout into `output` until it closes.
    reader: Option<tokio::task::JoinHandle<()>>,
    ready_at: Instant,
    ended_at: Option<Instant>,
}

impl Proc {
    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Panics if the child already exited on its own.
    fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "child {} (pid {}) exited on its own with {status}; its stdout:\n{}",
                self.name,
                self.pid,
                self.output()
            );
        }
    }
}

async fn spawn_child(url: &str, schema: &str, name: &str) -> Proc {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CHILD_NAME,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HOOKWIRE_MP_URL", url)
        .env("HOOKWIRE_MP_SCHEMA", schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().unwrap();
    let output: Arc<Mutex<Vec<String>>> = Arc::default();
    let (ready_tx, ready_rx) = oneshot::channel();
    let out = Arc::clone(&output);
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut ready = Some(ready_tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("CHILD-READY")
                && let Some(tx) = ready.take()
            {
                let _ = tx.send(());
            }
            out.lock().unwrap().push(line);
        }
    });
    let mut proc = Proc {
        name: name.to_owned(),
        pid,
        child,
        stdin,
        output,
        reader: Some(reader),
        ready_at: Instant::now(),
        ended_at: None,
    };
    match tokio::time::timeout(Duration::from_secs(30), ready_rx).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            // Stdout closed before CHILD-READY: the child died while starting.
            let status = tokio::time::timeout(Duration::from_secs(5), proc.child.wait()).await;
            panic!(
                "child {name} (pid {pid}) exited before it was ready ({status:?}); stdout:\n{}",
                proc.output()
            );
        }
        Err(_) => panic!(
            "child {name} (pid {pid}) not ready after 30 s; stdout:\n{}",
            proc.output()
        ),
    }
    proc.ready_at = Instant::now();
    proc
}

/// SIGKILLs a live child and checks that SIGKILL is what ended it.
async fn sigkill(p: &mut Proc) {
    p.assert_alive();
    p.child.start_kill().unwrap(); // SIGKILL
    let status = p.child.wait().await.unwrap();
    p.ended_at = Some(Instant::now());
    assert_eq!(
        status.signal(),
        Some(9),
        "child {} (pid {}) ended with {status}, not by our SIGKILL",
        p.name,
        p.pid
    );
}

/// Closes a live child's stdin (it shuts its dispatcher down) and checks it exits 0.
async fn stop(p: &mut Proc) {
    p.assert_alive();
    drop(p.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(15), p.child.wait())
        .await
        .unwrap_or_else(|_| panic!("child {} (pid {}) did not stop", p.name, p.pid))
        .unwrap();
    p.ended_at = Some(Instant::now());
    if let Some(reader) = p.reader.take() {
        reader.await.unwrap();
    }
    assert!(
        status.success() && p.output().contains("CHILD-DONE"),
        "child {} (pid {}) ended with {status}; stdout:\n{}",
        p.name,
        p.pid,
        p.output()
    );
}

async fn enqueue_all(sender: &Dispatcher) {
    const LANES: usize = 8;
    let lanes: Vec<_> = (0..LANES)
        .map(|lane| {
            let d = sender.clone();
            tokio::spawn(async move {
                for i in (lane..MESSAGES).step_by(LANES) {
                    let r = d
                        .send_idempotent(TENANT, EVENT, format!("{{\"n\":{i}}}"), &format!("m{i}"))
                        .await
                        .unwrap();
                    assert!(
                        matches!(r, EnqueueResult::Created { deliveries: 1, .. }),
                        "message {i}: {r:?}"
                    );
                }
            })
        })
        .collect();
    for l in lanes {
        l.await.unwrap();
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_dispatchers_sigkill_one_and_restart_nothing_lost() {
    let test_started = Instant::now();
    let url = pg_support::url().to_owned();
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: url.clone(),
        schema: schema.clone(),
    };

    let tally = Arc::new(Mutex::new(Tally {
        senders: vec![Vec::new(); MESSAGES],
        ..Tally::default()
    }));
    let t = Arc::clone(&tally);
    let server = TestServer::start(move |req, _| {
        let mut t = t.lock().unwrap();
        t.requests += 1;
        match parse(req) {
            Ok((n, pid)) => {
                if t.senders[n].is_empty() {
                    t.distinct += 1;
                }
                t.senders[n].push(pid);
                if t.hold == Some(pid) {
                    t.held.push(n);
                    return Reply::Delay(HOLD_FOR, Box::new(Reply::Status(200)));
                }
            }
            Err(e) => t.bad.push(e),
        }
        Reply::Status(200)
    })
    .await;

    // The parent's dispatcher only registers and enqueues: it is never started. Its sessions
    // commit without waiting for the WAL flush, only to make the setup fast (10 000 commits);
    // that changes nothing but what a crash of the PostgreSQL server itself could lose. The
    // children use the server's default (synchronous) commits: the throughput they report is
    // the real one.
    let sep = if url.contains('?') { '&' } else { '?' };
    let fast_url = format!("{url}{sep}options=-c%20synchronous_commit%3Doff");
    let sender = DispatcherBuilder::postgres_schema(&fast_url, &schema)
        .await
        .unwrap()
        .allow_loopback_http()
        .build()
        .unwrap();
    // Quick retries, in case an attempt fails (it should not: the receiver always says 200).
    let retry = RetryPolicy::builder(Backoff::Schedule {
        delays: vec![Duration::from_millis(100)],
    })
    .max_attempts(100)
    .build()
    .unwrap();
    sender
        .create_endpoint(
            NewEndpoint::new(TENANT, Family::ZeroTier, server.url("/hook"))
                .event_types([EVENT])
                .timeout(ENDPOINT_TIMEOUT)
                .retry(retry),
        )
        .await
        .unwrap();
    let enqueue_started = Instant::now();
    enqueue_all(&sender).await;
    let enqueue_took = enqueue_started.elapsed();
    assert_eq!(sender.queue_depth().await.unwrap(), MESSAGES as u64);

    // Three dispatchers.
    let run_started = Instant::now();
    let deadline = run_started + RUN_DEADLINE;
    let mut procs = Vec::new();
    for i in 0..PROCESSES {
        procs.push(spawn_child(&url, &schema, &format!("p{i}")).await);
    }
    let all_ready = run_started.elapsed();

    // About halfway: the receiver stops answering p0, so its requests stay in flight
    // (received, not recorded: the leases a SIGKILL strands), for longer than a lease. Then
    // SIGKILL p0 and start a replacement.
    let at_hold = loop {
        let distinct = tally.lock().unwrap().distinct;
        if distinct >= HOLD_FROM {
            break distinct;
        }
        assert!(
            Instant::now() < deadline,
            "no progress: {distinct} of {MESSAGES} delivered"
        );
        for p in &mut procs {
            p.assert_alive();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let killed_pid = procs[0].pid;
    tally.lock().unwrap().hold = Some(killed_pid);
    let hold_started = Instant::now();
    loop {
        let held = tally.lock().unwrap().held.len();
        if held >= CONCURRENCY && hold_started.elapsed() >= HOLD_AT_LEAST {
            break;
        }
        assert!(
            hold_started.elapsed() < Duration::from_secs(15),
            "p0 put only {held} requests in flight (held from {at_hold} delivered)"
        );
        for p in &mut procs {
            p.assert_alive();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sigkill(&mut procs[0]).await;
    let (at_kill, requests_at_kill, held) = {
        let mut t = tally.lock().unwrap();
        t.hold = None;
        (t.distinct, t.requests, t.held.clone())
    };
    let killed_at = run_started.elapsed();
    let held_at = hold_started.duration_since(run_started);
    procs.push(spawn_child(&url, &schema, "p0-restarted").await);

    // Everything arrives and the store's queue drains (the killed child's leases run out and
    // the survivors take those deliveries).
    let delivered_after = loop {
        let distinct = tally.lock().unwrap().distinct;
        if distinct == MESSAGES {
            break run_started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "not delivered in time: {distinct} of {MESSAGES}, queue {}",
            sender.queue_depth().await.unwrap()
        );
        for p in procs.iter_mut().skip(1) {
            p.assert_alive();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    loop {
        let depth = sender.queue_depth().await.unwrap();
        if depth == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every message arrived but {depth} deliveries are still queued"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained_after = run_started.elapsed();
    // The survivors shut down cleanly (nothing is in flight any more) and exit 0.
    for p in procs.iter_mut().skip(1) {
        stop(p).await;
    }

    // The receiver's view (every child is gone: nothing is added any more).
    let t = std::mem::take(&mut *tally.lock().unwrap());
    assert!(t.bad.is_empty(), "unidentifiable requests: {:?}", t.bad);
    let missing: Vec<usize> = (0..MESSAGES).filter(|&n| t.senders[n].is_empty()).collect();
    assert!(
        missing.is_empty(),
        "{} messages never delivered, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let mut duplicates = 0;
    for (n, senders) in t.senders.iter().enumerate() {
        match senders.as_slice() {
            [_] => {}
            // The killed process sent it, died before recording it, its lease ran out and a
            // live process sent it again.
            [first, second] if *first == killed_pid && *second != killed_pid => duplicates += 1,
            _ => panic!(
                "message {n} sent by {senders:?} (killed pid {killed_pid}): a duplicate not \
                 explained by the killed process's in-flight leases, i.e. two live senders"
            ),
        }
    }
    assert!(
        duplicates <= CONCURRENCY,
        "{duplicates} duplicates, more than the {CONCURRENCY} leases the killed process could hold"
    );
    // The requests held until the kill were in flight: each was sent again, by a live process.
    assert_eq!(held.len(), CONCURRENCY, "held requests: {held:?}");
    for &n in &held {
        assert_eq!(
            t.senders[n].len(),
            2,
            "held message {n} was not sent again: {:?}",
            t.senders[n]
        );
    }
    let mut per_pid: BTreeMap<u32, usize> = BTreeMap::new();
    for senders in &t.senders {
        for pid in senders {
            *per_pid.entry(*pid).or_default() += 1;
        }
    }
    for p in &procs {
        assert!(
            per_pid.get(&p.pid).copied().unwrap_or(0) > 0,
            "child {} (pid {}) delivered nothing: {per_pid:?}",
            p.name,
            p.pid
        );
    }
    let known: Vec<u32> = procs.iter().map(|p| p.pid).collect();
    assert!(
        per_pid.keys().all(|pid| known.contains(pid)),
        "requests from unknown processes: {per_pid:?}, children {known:?}"
    );
    let requests = t.requests;

    // The store's view: every delivery delivered with exactly one attempt, recorded by the one
    // live holder of its lease (the killed child recorded nothing for what it had in flight).
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let s = &schema;
    let row = client
        .query_one(
            &format!(
                "SELECT (SELECT count(*) FROM \"{s}\".messages), \
                 count(*), \
                 count(*) FILTER (WHERE state = 'delivered'), \
                 count(*) FILTER (WHERE attempts <> 1), \
                 count(*) FILTER (WHERE lease_owner IS NOT NULL), \
                 (SELECT count(*) FROM \"{s}\".attempts), \
                 (SELECT count(*) FROM \"{s}\".attempts WHERE success), \
                 (SELECT count(DISTINCT delivery_id) FROM \"{s}\".attempts) \
                 FROM \"{s}\".deliveries"
            ),
            &[],
        )
        .await
        .unwrap();
    drop(client);
    let _ = conn.await;
    let n = MESSAGES as i64;
    let col = |i: usize| row.get::<_, i64>(i);
    assert_eq!(col(0), n, "messages stored");
    assert_eq!(col(1), n, "deliveries stored");
    assert_eq!(col(2), n, "deliveries in state delivered");
    assert_eq!(col(3), 0, "deliveries with other than one attempt");
    assert_eq!(col(4), 0, "leases left");
    assert_eq!(col(5), n, "attempt rows");
    assert_eq!(col(6), n, "successful attempt rows");
    assert_eq!(col(7), n, "deliveries with an attempt row");
    assert_eq!(sender.queue_depth().await.unwrap(), 0);

    // Throughput.
    println!(
        "multi-process: {MESSAGES} messages enqueued in {:.2} s ({:.0}/s) by one unstarted \
         dispatcher; {PROCESSES} dispatcher processes ({WORKERS} workers, concurrency \
         {CONCURRENCY}, batch {CLAIM_BATCH}, lease {LEASE:?}) all ready after {:.2} s",
        enqueue_took.as_secs_f64(),
        per_second(MESSAGES, enqueue_took),
        all_ready.as_secs_f64(),
    );
    println!(
        "multi-process: p0 (pid {killed_pid}) held from {:.2} s ({at_hold} delivered), \
         SIGKILLed at {:.2} s ({at_kill} delivered, {requests_at_kill} requests); all delivered \
         at {:.2} s, queue drained at {:.2} s; {requests} requests, {duplicates} duplicates \
         ({} of them held in flight at the kill)",
        held_at.as_secs_f64(),
        killed_at.as_secs_f64(),
        delivered_after.as_secs_f64(),
        drained_after.as_secs_f64(),
        held.len(),
    );
    // The whole run includes the hold (p0 idle), the kill, the restart and the wait for the
    // killed child's leases; the steady figure is the three processes undisturbed.
    println!(
        "multi-process: throughput {:.0} deliveries/s over the run ({MESSAGES} in {:.2} s from \
         spawning the children); {PROCESSES} processes undisturbed: {:.0} deliveries/s \
         ({at_hold} in {:.2} s)",
        per_second(MESSAGES, delivered_after),
        delivered_after.as_secs_f64(),
        per_second(at_hold, held_at),
        held_at.as_secs_f64(),
    );
    let run_end = run_started + delivered_after;
    for p in &procs {
        let sent = per_pid.get(&p.pid).copied().unwrap_or(0);
        // p0 sent nothing more once its requests were held.
        let until = if p.pid == killed_pid {
            hold_started
        } else {
            p.ended_at.map_or(run_end, |e| e.min(run_end))
        };
        let alive = until.saturating_duration_since(p.ready_at);
        println!(
            "multi-process:   {:<13} pid {:>7}: {sent:>5} requests in {:.2} s = {:.0}/s",
            p.name,
            p.pid,
            alive.as_secs_f64(),
            per_second(sent, alive),
        );
    }
    println!(
        "multi-process: test took {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
}
