//! Several processes on one PostgreSQL queue, one of them SIGKILLed halfway and restarted.
//!
//! Three worker processes (this test binary re-run as `child_worker`, see below) claim from one
//! schema and POST to a counting receiver on 127.0.0.1, then record the attempt with
//! `complete`. Halfway through 10 000 messages one process is killed with SIGKILL and started
//! again. The test proves: every message delivered, none lost; duplicates only for deliveries
//! the killed process had in flight (its leases ran out and another worker took them); never
//! two live workers on one delivery (each delivery has exactly one attempt row, written under
//! the lease, and every duplicate request came from the killed process).
//!
//! The workers drive the `Store` directly (claim → POST with reqwest → complete), because
//! the engine's `Dispatcher` was not yet merged when this test was written; the store
//! guarantees under test are the ones the dispatcher relies on.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookwire_dispatch::model::{Attempt, Completion, NewDelivery, NewMessage, new_id, now_millis};
use hookwire_dispatch::store::{PostgresStore, Store, StoreError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

mod pg_support;
#[allow(unused_macros, unused_imports)]
mod store_conformance;

const MESSAGES: usize = 10_000;
const PROCESSES: usize = 3;
const TASKS_PER_PROCESS: usize = 4;
const BATCH: usize = 8;
const LEASE: Duration = Duration::from_secs(3);

/// Receptions per message id: the worker names that POSTed it.
type Log = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// A minimal HTTP/1.1 keep-alive server: records `x-message-id` / `x-worker`, answers 200.
async fn receiver() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&l);
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let (mut len, mut msg, mut worker) = (0usize, None, None);
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            let v = v.trim().to_owned();
                            match k.to_ascii_lowercase().as_str() {
                                "content-length" => len = v.parse().unwrap_or(0),
                                "x-message-id" => msg = Some(v),
                                "x-worker" => worker = Some(v),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if let (Some(m), Some(w)) = (msg, worker) {
                        log.lock().unwrap().entry(m).or_default().push(w);
                    }
                    if w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, log)
}

fn spawn_worker(url: &str, schema: &str, name: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_worker",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HOOKWIRE_PG_CHILD_URL", url)
        .env("HOOKWIRE_PG_CHILD_SCHEMA", schema)
        .env("HOOKWIRE_PG_CHILD_NAME", name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Kills every child when the test ends, however it ends.
struct Children(Vec<Child>);
impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_sigkill_one_and_restart_nothing_lost() {
    let url = pg_support::url().to_owned();
    let (store, guard) = pg_support::store().await;
    let (hook, log) = receiver().await;
    let mut ep = store_conformance::endpoint("tenant");
    ep.url = hook;
    store.insert_endpoint(&ep).await.unwrap();

    // The first half is queued before the workers start, the second half while they run
    // (so NOTIFY wakes idle workers of other processes).
    let store = Arc::new(store);
    let enqueue = |range: std::ops::Range<usize>| {
        let store = Arc::clone(&store);
        let ep_id = ep.id.clone();
        async move {
            let chunks: Vec<Vec<usize>> = range
                .collect::<Vec<_>>()
                .chunks(MESSAGES / 16)
                .map(<[usize]>::to_vec)
                .collect();
            let tasks: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    let store = Arc::clone(&store);
                    let ep_id = ep_id.clone();
                    tokio::spawn(async move {
                        for i in chunk {
                            let now = now_millis();
                            let m = NewMessage {
                                id: new_id("msg"),
                                tenant: "tenant".to_owned(),
                                event_type: "user.created".to_owned(),
                                payload: format!("{{\"n\":{i}}}").into_bytes(),
                                idempotency_key: Some(format!("k{i}")),
                                created_at: now,
                            };
                            let d = [NewDelivery {
                                id: new_id("dlv"),
                                endpoint_id: ep_id.clone(),
                                next_attempt_at: now,
                            }];
                            store.enqueue(&m, &d).await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
    };
    let started = Instant::now();
    enqueue(0..MESSAGES / 2).await;
    let mut children = Children(
        (0..PROCESSES)
            .map(|i| spawn_worker(&url, &guard.schema, &format!("p{i}")))
            .collect(),
    );
    enqueue(MESSAGES / 2..MESSAGES).await;

    // Kill p0 once half the messages have arrived, and start it again.
    let deadline = Instant::now() + Duration::from_secs(60);
    while log.lock().unwrap().len() < MESSAGES / 2 {
        assert!(
            Instant::now() < deadline,
            "no progress: {} received",
            log.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_pid = children.0[0].id();
    children.0[0].kill().unwrap(); // SIGKILL
    children.0[0].wait().unwrap();
    let at_kill = log.lock().unwrap().len();
    children.0.push(spawn_worker(&url, &guard.schema, "p0"));

    // Everything arrives and the queue drains.
    loop {
        let received = log.lock().unwrap().len();
        if received == MESSAGES && store.queue_depth().await.unwrap() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not drained: {received} of {MESSAGES} received, queue {}",
            store.queue_depth().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    drop(children);

    // Every delivery delivered, with exactly one attempt row each: only the worker holding
    // the lease could record its result, and no live worker was refused one.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let s = &guard.schema;
    let row = client
        .query_one(
            &format!(
                "SELECT count(*) FILTER (WHERE state = 'delivered'), count(*), \
                 (SELECT count(*) FROM \"{s}\".attempts), \
                 (SELECT count(DISTINCT delivery_id) FROM \"{s}\".attempts), \
                 (SELECT count(*) FROM \"{s}\".messages) FROM \"{s}\".deliveries"
            ),
            &[],
        )
        .await
        .unwrap();
    let n = MESSAGES as i64;
    assert_eq!(row.get::<_, i64>(4), n, "every message stored once");
    assert_eq!(row.get::<_, i64>(1), n);
    assert_eq!(row.get::<_, i64>(0), n, "every delivery delivered");
    assert_eq!(row.get::<_, i64>(2), n, "one attempt row per delivery");
    assert_eq!(row.get::<_, i64>(3), n);

    // Duplicates only from the killed process's in-flight leases.
    let killed = format!("p0-{killed_pid}-");
    let log = log.lock().unwrap();
    let dups: Vec<(&String, &Vec<String>)> = log.iter().filter(|(_, w)| w.len() > 1).collect();
    for (msg, workers) in &dups {
        assert_eq!(
            workers.len(),
            2,
            "{msg} received {} times: {workers:?}",
            workers.len()
        );
        assert!(
            workers.iter().any(|w| w.starts_with(&killed)),
            "{msg} was delivered by two live workers: {workers:?}"
        );
    }
    assert!(
        dups.len() <= TASKS_PER_PROCESS * BATCH,
        "{} duplicates, more than the killed process could hold in flight",
        dups.len()
    );
    eprintln!(
        "multi-process: {MESSAGES} messages, {PROCESSES} processes, p0 killed at {at_kill} \
         received, {} duplicates, {elapsed:.2?} in all",
        dups.len()
    );
}

/// The worker process. Does nothing unless started by the test above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by three_processes_sigkill_one_and_restart_nothing_lost"]
async fn child_worker() {
    let (Ok(url), Ok(schema), Ok(name)) = (
        std::env::var("HOOKWIRE_PG_CHILD_URL"),
        std::env::var("HOOKWIRE_PG_CHILD_SCHEMA"),
        std::env::var("HOOKWIRE_PG_CHILD_NAME"),
    ) else {
        return;
    };
    let store = Arc::new(PostgresStore::connect_schema(&url, &schema).await.unwrap());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let pid = std::process::id();
    let tasks: Vec<_> = (0..TASKS_PER_PROCESS)
        .map(|i| {
            let store = Arc::clone(&store);
            let http = http.clone();
            let worker = format!("{name}-{pid}-{i}");
            tokio::spawn(async move {
                loop {
                    let claimed = store
                        .claim(&worker, now_millis(), LEASE, BATCH)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        store.wait_for_work(Duration::from_millis(200)).await;
                        continue;
                    }
                    for c in claimed {
                        let at = now_millis();
                        let started = Instant::now();
                        let resp = http
                            .post(&c.endpoint.url)
                            .header("x-message-id", &c.message.id)
                            .header("x-worker", &worker)
                            .body(c.message.payload.clone())
                            .send()
                            .await;
                        let status = resp.as_ref().ok().map(|r| r.status().as_u16());
                        let success = status.is_some_and(|s| (200..300).contains(&s));
                        let attempt = Attempt {
                            id: new_id("att"),
                            delivery_id: c.delivery.id.clone(),
                            message_id: c.message.id.clone(),
                            endpoint_id: c.endpoint.id.clone(),
                            number: c.delivery.attempts + 1,
                            at,
                            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap(),
                            status,
                            error: resp.as_ref().err().map(ToString::to_string),
                            response_snippet: None,
                            success,
                        };
                        let completion = if success {
                            Completion::Delivered
                        } else {
                            Completion::Retry {
                                at: now_millis() + 100,
                            }
                        };
                        match store
                            .complete(&c.delivery.id, &worker, &attempt, completion)
                            .await
                        {
                            Ok(()) => {}
                            Err(StoreError::LeaseLost(id)) => {
                                panic!("live worker {worker} lost its lease on {id}")
                            }
                            Err(e) => panic!("complete: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    // The workers run until the parent kills this process.
    #[allow(clippy::never_loop)]
    for t in tasks {
        t.await.unwrap();
    }
}
