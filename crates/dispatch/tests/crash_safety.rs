//! Crash safety: a dispatcher in a child process on a SQLite file is killed with SIGKILL at
//! random moments while it sends and delivers thousands of messages to a counting receiver in
//! this process; it is restarted on the same file each time.
//!
//! What it proves: nothing acknowledged is lost. The child appends a message's index to an
//! "acked" file (synced) as soon as `send_idempotent` returns `Ok`, and a restarted child
//! re-sends only the messages not in that file (same idempotency keys, since a kill can fall
//! between the commit and the ack record). An acked message is therefore never sent again,
//! so it can only reach the receiver if the store kept it; at the end every message must have
//! been delivered at least once. Duplicates must stay within what leases in flight at the
//! kills can explain.
//!
//! The child is this same test binary, re-run with `--ignored --exact crash_child` and
//! `HOOKWIRE_CRASH_*` set, so it runs [`crash_child`] instead of the parent.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::Path;
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
/// The child's concurrency: at most this many attempts are in flight, or completed and
/// waiting for their group commit, when it is killed (each holds a permit until its batch
/// commits). So at most this many duplicates per kill, which the test asserts.
const CONCURRENCY: usize = 32;

/// The indices in the acked file. A line without its newline (a write torn by the kill) does
/// not count: that message is simply sent again.
fn read_acked(path: &Path) -> HashSet<usize> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HashSet::new(),
        Err(e) => panic!("reading {}: {e}", path.display()),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|e| panic!("acked line {l:?}: {e}"))
        })
        .collect()
}

/// The child: opens the store, registers the endpoint once, sends every message not yet
/// acked (with an idempotency key), records each ack, and delivers until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of sigkill_at_random_moments_loses_nothing, which runs it"]
async fn crash_child() {
    let (Ok(db), Ok(url), Ok(acked_path)) = (
        std::env::var("HOOKWIRE_CRASH_CHILD"),
        std::env::var("HOOKWIRE_CRASH_URL"),
        std::env::var("HOOKWIRE_CRASH_ACKED"),
    ) else {
        panic!(
            "crash_child only runs as the child of sigkill_at_random_moments_loses_nothing \
             (HOOKWIRE_CRASH_CHILD, HOOKWIRE_CRASH_URL and HOOKWIRE_CRASH_ACKED unset)"
        );
    };
    // Drop a torn last line, so the first line appended now cannot extend it.
    if let Ok(bytes) = std::fs::read(&acked_path) {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if keep < bytes.len() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&acked_path)
                .unwrap();
            f.set_len(keep as u64).unwrap();
            f.sync_data().unwrap();
        }
    }
    let acked = Arc::new(read_acked(Path::new(&acked_path)));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let d = Dispatcher::builder(Arc::clone(&store))
        .allow_loopback_http()
        .lease(Duration::from_millis(500))
        .poll_interval(Duration::from_millis(50))
        .workers(2)
        .concurrency(CONCURRENCY)
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
        let acked = Arc::clone(&acked);
        // One append-mode handle per lane: each line is a single write at the end of file.
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&acked_path)
            .unwrap();
        senders.push(tokio::spawn(async move {
            for i in (lane..MESSAGES).step_by(4) {
                if acked.contains(&i) {
                    continue;
                }
                let body = format!("{{\"n\":{i}}}");
                let r = d
                    .send_idempotent(TENANT, "NETWORK_JOIN", body, &format!("m{i}"))
                    .await
                    .unwrap();
                assert!(matches!(
                    r,
                    EnqueueResult::Created { deliveries: 1, .. } | EnqueueResult::Duplicate { .. }
                ));
                // Acknowledged: from here on this message is never sent again.
                tokio::task::block_in_place(|| {
                    log.write_all(format!("{i}\n").as_bytes()).unwrap();
                    log.flush().unwrap();
                    log.sync_data().unwrap();
                });
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

fn spawn_child(db: &str, url: &str, acked: &Path, log: &Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HOOKWIRE_CRASH_CHILD", db)
        .env("HOOKWIRE_CRASH_URL", url)
        .env("HOOKWIRE_CRASH_ACKED", acked)
        .stdout(Stdio::null())
        .stderr(log)
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
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!(
        "hookwire-crash-{}-{}",
        std::process::id(),
        hookwire_dispatch::model::new_id("t")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("dispatch.sqlite3").to_str().unwrap().to_owned();
    let acked_path = dir.join("acked");
    let child_log = dir.join("children.log");
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
        let mut child = spawn_child(&db, &url, &acked_path, &child_log);
        let wait = 100 + rng.next() % 400;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        println!(
            "kill {k} after {wait} ms: {} acked, {} requests so far",
            read_acked(&acked_path).len(),
            server.count()
        );
    }
    // Acked by killed children: the final child never sends these again.
    let acked_before_final = read_acked(&acked_path);
    assert!(
        !acked_before_final.is_empty(),
        "no child acked a message before being killed: the run proves nothing (see {})",
        child_log.display()
    );

    // Final run: not killed until it has acked every message and everything has arrived.
    let mut child = spawn_child(&db, &url, &acked_path, &child_log);
    let deadline = Instant::now() + Duration::from_secs(90);
    let (counts, acked) = loop {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for r in server.received() {
            *counts.entry(number(&r.body)).or_default() += 1;
        }
        let acked = read_acked(&acked_path);
        if (counts.len() == MESSAGES && acked.len() == MESSAGES) || Instant::now() > deadline {
            break (counts, acked);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(&child_log).unwrap_or_default();
            let tail = &log[log.len().saturating_sub(4000)..];
            panic!("the final child exited early ({status}); its output ends:\n{tail}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();

    let not_acked: Vec<usize> = (0..MESSAGES).filter(|i| !acked.contains(i)).collect();
    assert!(
        not_acked.is_empty(),
        "{} messages never acked, e.g. {:?}",
        not_acked.len(),
        &not_acked[..not_acked.len().min(10)]
    );
    let missing: Vec<usize> = (0..MESSAGES).filter(|i| !counts.contains_key(i)).collect();
    let lost_after_ack: Vec<&usize> = missing
        .iter()
        .filter(|i| acked_before_final.contains(i))
        .collect();
    assert!(
        missing.is_empty(),
        "{} messages never delivered, e.g. {:?}; {} of them were acked before a kill and lost",
        missing.len(),
        &missing[..missing.len().min(10)],
        lost_after_ack.len()
    );
    // A duplicate is a request the receiver counted whose result the killed child did not
    // commit: at most one per attempt in flight or awaiting its batch's commit at each kill.
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    let worst = counts.values().max().copied().unwrap_or(0);
    println!(
        "{MESSAGES} messages delivered at least once across {kills} SIGKILLs \
         ({} acked before the final run, never re-sent); {duplicates} duplicate deliveries \
         (at most {} per message); {:.1} s",
        acked_before_final.len(),
        worst,
        started.elapsed().as_secs_f64()
    );
    assert!(
        duplicates <= kills * CONCURRENCY,
        "{duplicates} duplicates: more than {kills} kills × {CONCURRENCY} attempts in flight"
    );
    // Nothing stays queued: the store agrees that every delivery was delivered.
    // The killed final child may have left leases in flight for requests the receiver
    // already counted; those (at most its concurrency) are the only possible leftovers.
    let store = SqliteStore::open(&db).unwrap();
    let depth = store.queue_depth().await.unwrap();
    assert!(
        depth <= CONCURRENCY as u64,
        "{depth} deliveries still queued"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
