//! The replay guards shared by several receiver instances, against the real servers: Redis at
//! 127.0.0.1:6379 (`HOOKWIRE_REDIS_URL` overrides; a key prefix per test) and PostgreSQL at
//! `postgres://postgres@127.0.0.1:5432/test` (`HOOKWIRE_POSTGRES_URL` overrides; a schema per
//! test). Each guard runs the same suite as the in-process [`MemoryReplayGuard`], with two
//! instances (two connections) standing for two receiver processes; then two axum servers on
//! loopback share one guard and a replayed message is handled exactly once across both.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] functions

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use hookwire_axum::{MemoryReplayGuard, REPLAY_HEADER, Receiver, ReplayGuard, Verified};
use hookwire_signature::Scheme;
use support::*;

/// Long enough never to expire during a test.
const LONG: Duration = Duration::from_secs(120);

/// A name no other test (of this run or another) uses.
fn unique(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}_{}_{nanos:x}", std::process::id())
}

/// The shared semantics, checked on two instances `a` and `b` of one store.
async fn suite<G: ReplayGuard + Clone>(a: G, b: G) {
    // First writer wins; every later check, on either instance, is a replay.
    assert!(a.check_and_record("k1", LONG).await.unwrap());
    assert!(!a.check_and_record("k1", LONG).await.unwrap());
    assert!(!b.check_and_record("k1", LONG).await.unwrap());
    assert!(b.check_and_record("k2", LONG).await.unwrap());
    assert!(!a.check_and_record("k2", LONG).await.unwrap());

    // Forgetting on one instance lets the next delivery through on the other, once.
    b.forget("k1").await.unwrap();
    assert!(a.check_and_record("k1", LONG).await.unwrap());
    assert!(!b.check_and_record("k1", LONG).await.unwrap());
    // Forgetting an unknown key is not an error.
    a.forget("never-seen").await.unwrap();

    // TTL: a key is a replay until it expires, then new again (and recorded anew); a key with
    // a longer TTL recorded at the same time survives.
    let short = Duration::from_millis(700);
    assert!(a.check_and_record("t", short).await.unwrap());
    assert!(a.check_and_record("t-long", LONG).await.unwrap());
    assert!(!b.check_and_record("t", short).await.unwrap());
    tokio::time::sleep(short + Duration::from_millis(400)).await;
    assert!(
        b.check_and_record("t", LONG).await.unwrap(),
        "expired key is new"
    );
    assert!(
        !a.check_and_record("t", LONG).await.unwrap(),
        "and recorded again"
    );
    assert!(!a.check_and_record("t-long", LONG).await.unwrap());

    // Atomic across instances: 16 concurrent checks of one key, half on each, one winner;
    // for 20 keys at once.
    let mut tasks = Vec::new();
    for key in 0..20 {
        for i in 0..16 {
            let g = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                let won = g.check_and_record(&format!("race-{key}"), LONG).await;
                (key, won.unwrap())
            }));
        }
    }
    let mut winners = [0usize; 20];
    for t in tasks {
        let (key, won) = t.await.unwrap();
        winners[key] += usize::from(won);
    }
    assert_eq!(winners, [1; 20], "exactly one winner per key");

    // Expired keys raced for: still exactly one winner (the reclaim is atomic too).
    let tiny = Duration::from_millis(50);
    for key in 0..5 {
        assert!(
            a.check_and_record(&format!("re-{key}"), tiny)
                .await
                .unwrap()
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tasks = Vec::new();
    for key in 0..5 {
        for i in 0..16 {
            let g = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                let won = g.check_and_record(&format!("re-{key}"), LONG).await;
                (key, won.unwrap())
            }));
        }
    }
    let mut winners = [0usize; 5];
    for t in tasks {
        let (key, won) = t.await.unwrap();
        winners[key] += usize::from(won);
    }
    assert_eq!(winners, [1; 5], "exactly one reclaims each expired key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_guard_runs_the_shared_suite() {
    // Two handles on one in-process guard: the semantics the shared guards must match.
    let guard = Arc::new(MemoryReplayGuard::new(1000));
    suite(Arc::clone(&guard), guard).await;
}

/// Two receivers, as two processes behind a load balancer would be: two axum servers on
/// loopback, each with its own guard instance (`make` opens a connection). Every message is
/// sent four times, alternating between the servers, all at once; the handler must run
/// exactly once per message, and every other answer is the replay answer.
async fn two_receivers_handle_each_message_once<G, F, Fut>(make: F)
where
    G: ReplayGuard,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = G>,
{
    let scheme = Scheme::from_name("standard").unwrap();
    let secret = scheme.generate_secret().unwrap();
    let handled = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut addrs = Vec::new();
    for _ in 0..2 {
        let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))
            .unwrap()
            .with_clock(|| NOW)
            .with_replay_guard(make().await);
        let handled = Arc::clone(&handled);
        let app = Router::new()
            .route(
                "/hook",
                post(move |v: Verified<axum::body::Bytes>| async move {
                    let id = v.verification.id.clone().unwrap_or_default();
                    handled.lock().unwrap().push(id);
                    "handled"
                }),
            )
            .with_state(receiver);
        addrs.push(serve(app).await);
    }
    let body = br#"{"type":"user.created","timestamp":"2023-11-14T22:13:20Z","data":{}}"#;
    let messages = 25;
    let replays = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for m in 0..messages {
        for copy in 0..4 {
            let addr = addrs[copy % 2];
            // The same id, re-signed at another time: a replay whatever the signature bytes.
            let headers = sign(
                &scheme,
                std::slice::from_ref(&secret),
                &format!("msg_{m}"),
                NOW - copy as i64,
                body,
            );
            let replays = Arc::clone(&replays);
            tasks.push(tokio::spawn(async move {
                let r = http_post(addr, "/hook", &headers, body, false).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                if r.headers.get(REPLAY_HEADER).is_some() {
                    assert_eq!(r.body, "message already received");
                    replays.fetch_add(1, Ordering::SeqCst);
                } else {
                    assert_eq!(r.body, "handled");
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut handled = handled.lock().unwrap().clone();
    handled.sort();
    let mut expected: Vec<String> = (0..messages).map(|m| format!("msg_{m}")).collect();
    expected.sort();
    assert_eq!(handled, expected, "each message handled exactly once");
    assert_eq!(replays.load(Ordering::SeqCst), messages * 3);
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use hookwire_axum::RedisReplayGuard;

    fn url() -> String {
        std::env::var("HOOKWIRE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
    }

    async fn guard(prefix: &str) -> RedisReplayGuard {
        RedisReplayGuard::connect(&url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no Redis at {} for the tests ({e}); run one on 127.0.0.1:6379 or set \
                     HOOKWIRE_REDIS_URL",
                    url()
                )
            })
            .with_prefix(prefix)
    }

    /// Removes the test's keys when it ends (they would expire anyway).
    struct Cleanup(String);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let pattern = format!("{}*", self.0);
            let _ = std::thread::spawn(move || {
                let client = ::redis::Client::open(url())?;
                let mut conn = client.get_connection()?;
                let keys: Vec<String> = ::redis::cmd("KEYS").arg(&pattern).query(&mut conn)?;
                if !keys.is_empty() {
                    ::redis::cmd("DEL").arg(keys).query::<()>(&mut conn)?;
                }
                Ok::<(), ::redis::RedisError>(())
            })
            .join();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_guard_runs_the_shared_suite() {
        let prefix = format!("hookwire-test:{}:", unique("suite"));
        let _cleanup = Cleanup(prefix.clone());
        // Two connections: two receiver processes.
        suite(guard(&prefix).await, guard(&prefix).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_keys_carry_the_prefix_and_expire_on_the_server() {
        let prefix = format!("hookwire-test:{}:", unique("ttl"));
        let _cleanup = Cleanup(prefix.clone());
        let g = guard(&prefix).await;
        assert!(
            g.check_and_record("msg", Duration::from_secs(30))
                .await
                .unwrap()
        );
        let client = ::redis::Client::open(url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let value: Option<String> = ::redis::cmd("GET")
            .arg(format!("{prefix}msg"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(value.as_deref(), Some("1"));
        let pttl: i64 = ::redis::cmd("PTTL")
            .arg(format!("{prefix}msg"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((1..=30_000).contains(&pttl), "PTTL {pttl}");
        // Another prefix is another namespace.
        let other = guard(&format!("{prefix}other:")).await;
        assert!(other.check_and_record("msg", LONG).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_receivers_share_the_redis_guard() {
        let prefix = format!("hookwire-test:{}:", unique("two"));
        let _cleanup = Cleanup(prefix.clone());
        two_receivers_handle_each_message_once(|| guard(&prefix)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unreachable_redis_is_an_error_not_a_verdict() {
        // A port nothing listens on: connecting fails with an error (503 for the request).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = RedisReplayGuard::connect(&format!("redis://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("replay store failed"), "{err}");
        assert!(
            RedisReplayGuard::connect("not a url").await.is_err(),
            "a bad URL is an error"
        );
    }

    #[test]
    fn debug_shows_the_prefix_only() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let g = rt.block_on(guard("hookwire-test:debug:"));
        let shown = format!("{g:?}");
        assert!(shown.contains("hookwire-test:debug:"), "{shown}");
        assert!(!shown.contains("6379"), "{shown}");
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use hookwire_axum::PostgresReplayGuard;

    fn url() -> String {
        std::env::var("HOOKWIRE_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    async fn guard(schema: &str) -> PostgresReplayGuard {
        PostgresReplayGuard::connect_schema(&url(), schema)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no PostgreSQL at {} for the tests ({e}); run one on 127.0.0.1:5432 (user \
                     postgres, database test, trust auth) or set HOOKWIRE_POSTGRES_URL",
                    url()
                )
            })
    }

    async fn client() -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }

    /// Drops the test's schema when it ends (pass or fail).
    struct Schema(String);

    impl Schema {
        fn new(test: &str) -> Self {
            Self(unique(&format!("hwr_{test}")))
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0);
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async { client().await.batch_execute(&sql).await })
            })
            .join();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_guard_runs_the_shared_suite() {
        let schema = Schema::new("suite");
        // Two pools: two receiver processes. Both create the table at once.
        let (a, b) = tokio::join!(guard(&schema.0), guard(&schema.0));
        suite(a, b).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_rows_are_pruned_and_live_ones_kept() {
        let schema = Schema::new("prune");
        let g = guard(&schema.0).await.with_prune_interval(Duration::MAX);
        for i in 0..30 {
            let ttl = if i < 20 {
                Duration::from_millis(1)
            } else {
                LONG
            };
            assert!(g.check_and_record(&format!("k{i}"), ttl).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let count = |sql: String| async move {
            let n: i64 = client().await.query_one(&sql, &[]).await.unwrap().get(0);
            n
        };
        let table = format!("\"{}\".hookwire_replay", schema.0);
        // Pruning off: nothing deleted by the checks themselves.
        assert_eq!(count(format!("SELECT count(*) FROM {table}")).await, 30);
        assert_eq!(g.prune().await.unwrap(), 20);
        assert_eq!(g.prune().await.unwrap(), 0);
        assert_eq!(count(format!("SELECT count(*) FROM {table}")).await, 10);
        assert!(
            !g.check_and_record("k25", LONG).await.unwrap(),
            "live key kept"
        );

        // With an interval of zero, every check prunes.
        let g = guard(&schema.0).await.with_prune_interval(Duration::ZERO);
        for i in 0..5 {
            assert!(
                g.check_and_record(&format!("e{i}"), Duration::from_millis(1))
                    .await
                    .unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(g.check_and_record("trigger", LONG).await.unwrap());
        assert_eq!(
            count(format!(
                "SELECT count(*) FROM {table} WHERE expires_at <= now()"
            ))
            .await,
            0,
            "the check pruned the expired rows"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_receivers_share_the_postgres_guard() {
        let schema = Schema::new("two");
        two_receivers_handle_each_message_once(|| guard(&schema.0)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_schema_and_unreachable_server_are_errors() {
        let err = PostgresReplayGuard::connect_schema(&url(), "Robert'); DROP TABLE x; --")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("invalid schema name"), "{err}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let down = format!("postgres://postgres@127.0.0.1:{port}/test");
        assert!(PostgresReplayGuard::connect(&down).await.is_err());
    }
}
