//! Chaos: 10 000 messages through a PostgreSQL store (a throwaway cluster of this test) to
//! loopback receivers of which half of the answers are a fault picked at random (connection
//! refused, reset, never answering, trickling, a huge body, 5xx), while every connection of
//! the dispatcher is killed once (`pg_terminate_backend`) and the server is stopped and
//! started again. Every message must end delivered or failed by its policy with its attempts
//! logged, nothing acknowledged lost, and RSS bounded. The test prints what it saw.
//! Needs `initdb`/`pg_ctl` (see `pg_support`).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg_support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookwire_dispatch::model::EnqueueResult;
use hookwire_dispatch::store::PostgresStore;
use hookwire_dispatch::{Dispatcher, ErrorKind, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::{Backoff, HealthPolicy, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MESSAGES: u64 = 10_000;
const TENANT: &str = "org-1";
const MAX_ATTEMPTS: u32 = 4;
/// The per-attempt timeout (a receiver that never answers or trickles runs into it).
const TIMEOUT: Duration = Duration::from_millis(300);
/// Event types of the endpoints on the fault receiver; the last one goes to the receiver
/// that refuses connections half of the time.
const TYPES: [&str; 5] = [
    "NETWORK_JOIN",
    "NETWORK_AUTH",
    "NETWORK_DEAUTH",
    "NETWORK_CREATED",
    "NETWORK_DELETED",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Answer {
    Ok,
    Reset,
    Silent,
    Trickle,
    Huge,
    Status5xx,
}

const FAULTS: [Answer; 5] = [
    Answer::Reset,
    Answer::Silent,
    Answer::Trickle,
    Answer::Huge,
    Answer::Status5xx,
];

/// What the receivers answered.
#[derive(Debug, Default)]
struct Seen {
    /// Answers per kind.
    answers: Mutex<HashMap<Answer, u64>>,
    /// Requests so far per message number (the per-message random draw uses it).
    per_message: Mutex<HashMap<u64, u32>>,
    /// Messages that got a 2xx answer at least once.
    answered_ok: Mutex<HashSet<u64>>,
    /// Connections refused by the flapping receiver's closed phases (its accepts counted).
    flapping_accepts: AtomicU64,
    open_connections: AtomicUsize,
    max_open_connections: AtomicUsize,
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Half of the answers are a fault picked at random (by message number and attempt).
fn pick(n: u64, attempt: u32) -> Answer {
    let r = mix(n.wrapping_mul(1_000_003) ^ u64::from(attempt).wrapping_mul(0x9E37_79B9));
    if r.is_multiple_of(2) {
        Answer::Ok
    } else {
        FAULTS[((r >> 8) % FAULTS.len() as u64) as usize]
    }
}

/// Reads one request (head and `content-length` body); its body.
async fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf[end + 4..end + 4 + len].to_vec());
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn n_of(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["n"].as_u64()
}

async fn answer(mut s: TcpStream, seen: Arc<Seen>) {
    // One request per connection: every answer closes it.
    let Some(body) = read_request(&mut s).await else {
        return;
    };
    let Some(n) = n_of(&body) else {
        return;
    };
    let attempt = {
        let mut m = seen.per_message.lock().unwrap();
        let a = m.entry(n).or_default();
        *a += 1;
        *a
    };
    let a = pick(n, attempt);
    *seen.answers.lock().unwrap().entry(a).or_default() += 1;
    match a {
        Answer::Ok => {
            seen.answered_ok.lock().unwrap().insert(n);
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
        }
        Answer::Reset => {
            let _ = s.write_all(b"HTTP/1.1 2").await;
            let _ = s.set_zero_linger();
        }
        Answer::Silent => {
            // Holds the connection until the client gives up.
            let mut sink = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut sink)).await;
        }
        Answer::Trickle => {
            // The status line a byte every 50 ms: the attempt times out before a status.
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" {
                if s.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Answer::Huge => {
            // A 64 MiB body: the client keeps its read cap and drops the rest.
            seen.answered_ok.lock().unwrap().insert(n);
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 67108864\r\n\r\n")
                .await;
            let block = vec![b'y'; 64 * 1024];
            for _ in 0..1024 {
                if s.write_all(&block).await.is_err() {
                    break;
                }
            }
        }
        Answer::Status5xx => {
            let _ = s
                .write_all(b"HTTP/1.1 503 Busy\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    }
}

async fn fault_receiver(seen: Arc<Seen>) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let open = seen.open_connections.fetch_add(1, Ordering::SeqCst) + 1;
                seen.max_open_connections.fetch_max(open, Ordering::SeqCst);
                answer(s, Arc::clone(&seen)).await;
                seen.open_connections.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    addr
}

/// A receiver on a fixed port that listens for 250 ms, then is gone for 250 ms (connections
/// refused), and so on; it answers 200 while it listens.
async fn flapping_receiver(seen: Arc<Seen>) -> u16 {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    tokio::spawn(async move {
        loop {
            let Ok(l) = TcpListener::bind(("127.0.0.1", port)).await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let open_until = tokio::time::Instant::now() + Duration::from_millis(250);
            while let Ok(Ok((mut s, _))) = tokio::time::timeout_at(open_until, l.accept()).await {
                seen.flapping_accepts.fetch_add(1, Ordering::Relaxed);
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    if let Some(n) = read_request(&mut s).await.as_deref().and_then(n_of) {
                        seen.answered_ok.lock().unwrap().insert(n);
                        *seen.answers.lock().unwrap().entry(Answer::Ok).or_default() += 1;
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                });
            }
            drop(l);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    port
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

async fn count(c: &tokio_postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_through_receiver_and_database_faults() {
    let started = Instant::now();
    let created = std::thread::spawn(pg_support::Cluster::create)
        .join()
        .unwrap();
    let cluster = Arc::new(match created {
        Ok(c) => c,
        Err(e) => panic!("a throwaway PostgreSQL cluster is needed (initdb/pg_ctl): {e}"),
    });
    let schema = pg_support::fresh_schema();
    let app = format!("hwchaos_{}", &schema[4..]);
    let url = format!("{}?application_name={app}", cluster.url());

    let seen = Arc::new(Seen::default());
    let faulty = fault_receiver(Arc::clone(&seen)).await;
    let flapping = flapping_receiver(Arc::clone(&seen)).await;

    let config: tokio_postgres::Config = url.parse().unwrap();
    let store = PostgresStore::with_pool(PostgresStore::pool(config.clone(), 16).unwrap(), &schema)
        .await
        .unwrap()
        .with_listener(config, tokio_postgres::NoTls);
    let d = Dispatcher::builder(Arc::new(store))
        .allow_loopback_http()
        .workers(4)
        .concurrency(128)
        .lease(Duration::from_secs(2))
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let retry = RetryPolicy::builder(Backoff::Schedule {
        delays: vec![
            Duration::from_millis(20),
            Duration::from_millis(50),
            Duration::from_millis(100),
        ],
    })
    .max_attempts(MAX_ATTEMPTS)
    .build()
    .unwrap();
    for (i, t) in TYPES.iter().enumerate() {
        let url = if i + 1 < TYPES.len() {
            format!("http://{faulty}/hook/{i}")
        } else {
            format!("http://127.0.0.1:{flapping}/hook")
        };
        d.create_endpoint(
            NewEndpoint::new(TENANT, Family::ZeroTier, url)
                .event_types([*t])
                .retry(retry.clone())
                .health_policy(HealthPolicy::lenient())
                .max_in_flight(64)
                .timeout(TIMEOUT),
        )
        .await
        .unwrap();
    }
    d.start().unwrap();

    // RSS sampled every 250 ms.
    let peak = Arc::new(AtomicU64::new(rss_kib()));
    let rss_start = rss_kib();
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    // Eight senders; a refused send (typed store fault) is retried with the same
    // idempotency key, so each number is one message however the refusal went.
    let acked = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    let senders: Vec<_> = (0..8u64)
        .map(|s| {
            let (d, acked, refused) = (d.clone(), Arc::clone(&acked), Arc::clone(&refused));
            tokio::spawn(async move {
                let mut n = s;
                while n < MESSAGES {
                    // One in ten to the flapping receiver, the rest spread over the others.
                    let t = if n.is_multiple_of(10) {
                        TYPES[4]
                    } else {
                        TYPES[(n % 4) as usize]
                    };
                    let body = format!(r#"{{"hook_type":"{t}","n":{n}}}"#);
                    match d.send_idempotent(TENANT, t, body, &n.to_string()).await {
                        Ok(EnqueueResult::Created { .. } | EnqueueResult::Duplicate { .. }) => {
                            acked.fetch_add(1, Ordering::SeqCst);
                            n += 8;
                        }
                        Ok(other) => panic!("{other:?}"),
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::Store, "{e}");
                            let fault = e.store_error().and_then(|x| x.fault());
                            assert!(fault.is_some(), "refused without a fault kind: {e}");
                            refused.lock().unwrap().push(format!("{fault:?}"));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            })
        })
        .collect();

    // The database faults, during the run.
    let wait_acked = |n: u64| {
        let acked = Arc::clone(&acked);
        async move {
            while acked.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_acked(MESSAGES * 3 / 10).await;
    let killer = client(&cluster.url()).await;
    let killed = killer
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()",
            &[&app],
        )
        .await
        .unwrap()
        .len();
    drop(killer);
    let killed_at = started.elapsed();
    wait_acked(MESSAGES * 6 / 10).await;
    let restart_at = started.elapsed();
    let c = Arc::clone(&cluster);
    std::thread::spawn(move || c.stop())
        .join()
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = Arc::clone(&cluster);
    std::thread::spawn(move || c.start())
        .join()
        .unwrap()
        .unwrap();
    let restarted_after = started.elapsed() - restart_at;

    for s in senders {
        s.await.unwrap();
    }
    let sent_in = started.elapsed();
    let check = client(&cluster.url()).await;
    let s = format!("\"{schema}\"");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let open = count(
            &check,
            &format!("SELECT count(*) FROM {s}.deliveries WHERE state IN ('pending', 'in_flight')"),
        )
        .await;
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} deliveries still open");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let finished_in = started.elapsed();
    d.shutdown(Duration::from_secs(5)).await;
    sampler.abort();

    // Nothing acknowledged lost: one message and one delivery per number.
    let messages = count(&check, &format!("SELECT count(*) FROM {s}.messages")).await;
    let keys = count(
        &check,
        &format!("SELECT count(DISTINCT idempotency_key) FROM {s}.messages"),
    )
    .await;
    let deliveries = count(&check, &format!("SELECT count(*) FROM {s}.deliveries")).await;
    assert_eq!(acked.load(Ordering::SeqCst), MESSAGES);
    assert_eq!((messages, keys, deliveries), (10_000, 10_000, 10_000));
    // Every delivery ended, by its policy, with its attempts logged.
    let delivered = count(
        &check,
        &format!("SELECT count(*) FROM {s}.deliveries WHERE state = 'delivered'"),
    )
    .await;
    let failed = count(
        &check,
        &format!("SELECT count(*) FROM {s}.deliveries WHERE state = 'failed'"),
    )
    .await;
    assert_eq!(delivered + failed, 10_000);
    let attempts = count(&check, &format!("SELECT count(*) FROM {s}.attempts")).await;
    let unlogged = count(
        &check,
        &format!(
            "SELECT count(*) FROM {s}.deliveries d WHERE d.attempts <> \
             (SELECT count(*) FROM {s}.attempts a WHERE a.delivery_id = d.id)"
        ),
    )
    .await;
    assert_eq!(
        unlogged, 0,
        "deliveries whose attempt count differs from their log"
    );
    let delivered_without_success = count(
        &check,
        &format!(
            "SELECT count(*) FROM {s}.deliveries d WHERE d.state = 'delivered' AND NOT EXISTS \
             (SELECT 1 FROM {s}.attempts a WHERE a.delivery_id = d.id AND a.success)"
        ),
    )
    .await;
    assert_eq!(delivered_without_success, 0);
    let failed_early = count(
        &check,
        &format!(
            "SELECT count(*) FROM {s}.deliveries WHERE state = 'failed' AND attempts <> {MAX_ATTEMPTS}"
        ),
    )
    .await;
    assert_eq!(failed_early, 0, "failed before the policy's last attempt");
    // Delivered only what a receiver answered with 2xx.
    let rows = check
        .query(
            &format!(
                "SELECT m.idempotency_key FROM {s}.deliveries d JOIN {s}.messages m \
                 ON m.id = d.message_id WHERE d.state = 'delivered'"
            ),
            &[],
        )
        .await
        .unwrap();
    let ok = seen.answered_ok.lock().unwrap().clone();
    let phantom = rows
        .iter()
        .filter(|r| !ok.contains(&r.get::<_, String>(0).parse::<u64>().unwrap()))
        .count();
    assert_eq!(phantom, 0, "delivered without a 2xx answer");

    let peak_mib = peak.load(Ordering::Relaxed) / 1024;
    let answers = seen.answers.lock().unwrap().clone();
    let refused = refused.lock().unwrap().clone();
    let requests: u64 = answers.values().sum();
    println!(
        "chaos: {MESSAGES} messages acknowledged ({} sends refused during the faults: {:?}), \
         {delivered} delivered, {failed} failed after {MAX_ATTEMPTS} attempts, {attempts} \
         attempts logged; receivers saw {requests} requests, answers {answers:?}, flapping \
         receiver accepted {} (refused the rest), at most {} connections open; \
         {killed} backends killed at {:.1} s, server restarted at {:.1} s (down and up in \
         {:.1} s); all sent in {:.1} s, all ended in {:.1} s; RSS {} MiB at start, peak {peak_mib} MiB",
        refused.len(),
        refused.iter().collect::<HashSet<_>>(),
        seen.flapping_accepts.load(Ordering::Relaxed),
        seen.max_open_connections.load(Ordering::Relaxed),
        killed_at.as_secs_f64(),
        restart_at.as_secs_f64(),
        restarted_after.as_secs_f64(),
        sent_in.as_secs_f64(),
        finished_in.as_secs_f64(),
        rss_start / 1024,
    );
    assert!(killed > 0, "no backend was killed");
    assert!(!refused.is_empty(), "no send saw the restart");
    assert!(
        failed > 0 && delivered > failed,
        "{delivered} delivered, {failed} failed"
    );
    // Bounded: huge bodies are not kept, connections do not pile up.
    assert!(peak_mib < 512, "peak RSS {peak_mib} MiB");
}
