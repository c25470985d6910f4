//! The transactional outbox on both durable backends: a webhook queued in the caller's own
//! transaction exists if and only if that transaction committed.
//!
//! For each backend: commit → delivered; rollback → nothing delivered and nothing left in the
//! tables; workers never deliver while the transaction is open; errors leave the caller's
//! transaction usable; idempotency keys and fan-out as in `send`; and two crash tests with a
//! child process (this test binary, re-run with `HOOKWIRE_OUTBOX_CHILD` set) killed with
//! SIGKILL before and after its commit. The PostgreSQL half needs a server: see `pg_support`.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[cfg(feature = "postgres")]
mod pg_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use hookwire_dispatch::model::EnqueueResult;
use hookwire_dispatch::store::{MemoryStore, SqliteStore};
use hookwire_dispatch::{Dispatcher, Limits, NewEndpoint, ValidationError};
use hookwire_events::Family;

const TENANT: &str = "org-outbox";
const TYPE: &str = "NETWORK_JOIN";

fn builder(
    store: Arc<dyn hookwire_dispatch::store::Store>,
) -> hookwire_dispatch::DispatcherBuilder {
    Dispatcher::builder(store)
        .allow_loopback_http()
        .lease(Duration::from_secs(5))
        .poll_interval(Duration::from_millis(50))
}

async fn subscribe(d: &Dispatcher, url: &str) -> String {
    d.create_endpoint(NewEndpoint::new(TENANT, Family::ZeroTier, url).event_types([TYPE]))
        .await
        .unwrap()
        .id()
        .to_owned()
}

fn body(order: &str) -> Vec<u8> {
    format!(r#"{{"hook_type":"NETWORK_JOIN","order":"{order}"}}"#).into_bytes()
}

/// Asserts that nothing reaches `server` for a while (several poll intervals).
async fn nothing_arrives(server: &TestServer) {
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(server.count(), 0, "a webhook was delivered");
}

/// Runs this binary's `outbox_child` with `vars`, returns it once it printed `READY …`.
fn spawn_child(vars: &[(&str, &str)]) -> (Child, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "outbox_child",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let ready = loop {
        match lines.next() {
            // libtest may have printed "test outbox_child ... " on the same line.
            Some(Ok(line)) if line.contains("READY") => {
                break line[line.find("READY").unwrap_or(0)..].to_owned();
            }
            Some(Ok(_)) => continue,
            other => {
                let _ = child.kill();
                panic!("child ended before it was ready: {other:?}");
            }
        }
    };
    (child, ready)
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

/// The child half of the crash tests: queues a hook in a transaction next to a business row,
/// commits or not, says so, and waits to be killed. Its dispatcher never starts, so any
/// delivery happens after the "restart" in the parent.
#[test]
#[ignore = "run as a child process by the crash tests"]
fn outbox_child() {
    let backend = std::env::var("HOOKWIRE_OUTBOX_CHILD")
        .expect("outbox_child runs only as the crash tests' child (HOOKWIRE_OUTBOX_CHILD)");
    let commit = std::env::var("HOOKWIRE_OUTBOX_COMMIT").unwrap() == "1";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _runtime = rt.enter();
    match backend.as_str() {
        "sqlite" => {
            let file = std::env::var("HOOKWIRE_OUTBOX_DB").unwrap();
            let d = builder(Arc::new(SqliteStore::open(&file).unwrap()))
                .build()
                .unwrap();
            let mut conn = rusqlite::Connection::open(&file).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES ('crash-1')", [])
                .unwrap();
            let r = d
                .send_in_sqlite(&tx, TENANT, TYPE, body("crash-1"), Some("crash-1"))
                .unwrap();
            assert!(matches!(r, EnqueueResult::Created { deliveries: 1, .. }));
            if commit {
                tx.commit().unwrap();
                println!("READY committed");
            } else {
                println!("READY open");
            }
            std::thread::sleep(Duration::from_secs(120));
        }
        #[cfg(feature = "postgres")]
        "postgres" => rt.block_on(async {
            let url = std::env::var("HOOKWIRE_OUTBOX_URL").unwrap();
            let schema = std::env::var("HOOKWIRE_OUTBOX_SCHEMA").unwrap();
            let store = hookwire_dispatch::store::PostgresStore::connect_schema(&url, &schema)
                .await
                .unwrap();
            let d = builder(Arc::new(store)).build().unwrap();
            let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut tx = client.transaction().await.unwrap();
            tx.execute(
                &format!("INSERT INTO \"{schema}\".orders (id) VALUES ('crash-1')"),
                &[],
            )
            .await
            .unwrap();
            let r = d
                .send_in_postgres(&mut tx, TENANT, TYPE, body("crash-1"), Some("crash-1"))
                .await
                .unwrap();
            assert!(matches!(r, EnqueueResult::Created { deliveries: 1, .. }));
            if commit {
                tx.commit().await.unwrap();
                println!("READY committed");
            } else {
                println!("READY open");
            }
            tokio::time::sleep(Duration::from_secs(120)).await;
        }),
        other => panic!("unknown backend {other}"),
    }
}

// ---- SQLite ---------------------------------------------------------------------------------

mod sqlite {
    use super::*;
    use rusqlite::Connection;

    struct Db {
        _dir: tempfile::TempDir,
        file: std::path::PathBuf,
    }

    /// A fresh database file with the hookwire schema and the application's `orders` table.
    fn db() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.db");
        drop(SqliteStore::open(&file).unwrap());
        let conn = app_conn(&file);
        conn.execute_batch("CREATE TABLE orders (id TEXT PRIMARY KEY)")
            .unwrap();
        Db { _dir: dir, file }
    }

    fn app_conn(file: &std::path::Path) -> Connection {
        let conn = Connection::open(file).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    }

    fn count(file: &std::path::Path, table: &str) -> i64 {
        app_conn(file)
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    async fn dispatcher(file: &std::path::Path) -> Dispatcher {
        builder(Arc::new(SqliteStore::open(file).unwrap()))
            .build()
            .unwrap()
    }

    /// A started dispatcher on `db` with one endpoint at a fresh receiver.
    async fn running(db: &Db) -> (TestServer, Dispatcher) {
        let server = TestServer::status(200).await;
        let d = dispatcher(&db.file).await;
        subscribe(&d, &server.url("/hook")).await;
        d.start().unwrap();
        (server, d)
    }

    /// Inserts an order and queues its hook in one transaction; commits when `commit`.
    fn order_with_hook(d: &Dispatcher, file: &std::path::Path, id: &str, commit: bool) {
        let mut conn = app_conn(file);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("INSERT INTO orders (id) VALUES (?1)", [id])
            .unwrap();
        let r = d
            .send_in_sqlite(&tx, TENANT, TYPE, body(id), Some(id))
            .unwrap();
        assert!(
            matches!(r, EnqueueResult::Created { deliveries: 1, .. }),
            "{r:?}"
        );
        if commit {
            tx.commit().unwrap();
        } else {
            tx.rollback().unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commit_delivers() {
        let db = db();
        let (server, d) = running(&db).await;
        let (dd, file) = (d.clone(), db.file.clone());
        tokio::task::spawn_blocking(move || order_with_hook(&dd, &file, "ord-1", true))
            .await
            .unwrap();
        d.wake();
        let got = server.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(got[0].body, body("ord-1"));
        assert!(got[0].headers.contains_key("x-ztc-signature"));
        assert_eq!(count(&db.file, "orders"), 1);
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rollback_leaves_nothing() {
        let db = db();
        let (server, d) = running(&db).await;
        let (dd, file) = (d.clone(), db.file.clone());
        tokio::task::spawn_blocking(move || order_with_hook(&dd, &file, "ord-1", false))
            .await
            .unwrap();
        d.wake();
        nothing_arrives(&server).await;
        assert_eq!(count(&db.file, "orders"), 0);
        assert_eq!(count(&db.file, "messages"), 0);
        assert_eq!(count(&db.file, "deliveries"), 0);
        assert_eq!(d.queue_depth().await.unwrap(), 0);
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_never_deliver_an_open_transaction() {
        let db = db();
        let (server, d) = running(&db).await;
        let (queued_tx, queued) = std::sync::mpsc::channel();
        let (commit_tx, commit) = std::sync::mpsc::channel::<()>();
        let (dd, file) = (d.clone(), db.file.clone());
        let holder = std::thread::spawn(move || {
            let mut conn = app_conn(&file);
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES ('ord-open')", [])
                .unwrap();
            dd.send_in_sqlite(&tx, TENANT, TYPE, body("ord-open"), None)
                .unwrap();
            queued_tx.send(()).unwrap();
            commit.recv().unwrap();
            tx.commit().unwrap();
        });
        tokio::task::spawn_blocking(move || queued.recv().unwrap())
            .await
            .unwrap();
        // Many polls pass while the transaction is open (and the workers are woken).
        for _ in 0..4 {
            d.wake();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(server.count(), 0, "delivered before the commit");
        assert_eq!(d.queue_depth().await.unwrap(), 0);
        commit_tx.send(()).unwrap();
        holder.join().unwrap();
        d.wake();
        let got = server.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(got[0].body, body("ord-open"));
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fan_out_idempotency_and_limits_as_in_send() {
        let db = db();
        let d = builder(Arc::new(SqliteStore::open(&db.file).unwrap()))
            .limits(Limits::new().payload_bytes(64))
            .build()
            .unwrap();
        let a = subscribe(&d, "http://127.0.0.1:9/a").await;
        let b = subscribe(&d, "http://127.0.0.1:9/b").await;
        d.create_endpoint(
            NewEndpoint::new(TENANT, Family::ZeroTier, "http://127.0.0.1:9/other")
                .event_types(["NETWORK_CREATED"]),
        )
        .await
        .unwrap();
        let off = subscribe(&d, "http://127.0.0.1:9/off").await;
        d.disable_endpoint(&off).await.unwrap();

        let (dd, file) = (d.clone(), db.file.clone());
        let message_id = tokio::task::spawn_blocking(move || {
            let mut conn = app_conn(&file);
            // Fan-out: the two enabled subscribers only.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            let first = dd
                .send_in_sqlite(&tx, TENANT, TYPE, body("o"), Some("key-1"))
                .unwrap();
            let EnqueueResult::Created {
                message_id,
                deliveries: 2,
            } = first
            else {
                panic!("{first:?}")
            };
            // The same key again in the same transaction: a no-op naming the first message.
            let again = dd
                .send_in_sqlite(&tx, TENANT, TYPE, body("o"), Some("key-1"))
                .unwrap();
            assert_eq!(
                again,
                EnqueueResult::Duplicate {
                    message_id: message_id.clone()
                }
            );
            tx.commit().unwrap();
            // And in a later transaction (a retried request).
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            let later = dd
                .send_in_sqlite(&tx, TENANT, TYPE, body("o"), Some("key-1"))
                .unwrap();
            assert!(matches!(later, EnqueueResult::Duplicate { .. }));
            tx.commit().unwrap();

            // Refusals touch nothing of the caller's transaction, which stays usable.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES ('kept')", [])
                .unwrap();
            let big = vec![b'x'; 65];
            assert!(matches!(
                dd.send_in_sqlite(&tx, TENANT, TYPE, big, None)
                    .unwrap_err()
                    .validation(),
                Some(ValidationError::PayloadTooLarge { got: 65, max: 64 })
            ));
            assert!(matches!(
                dd.send_in_sqlite(&tx, "", TYPE, body("o"), None)
                    .unwrap_err()
                    .validation(),
                Some(ValidationError::EmptyTenant)
            ));
            tx.commit().unwrap();
            message_id
        })
        .await
        .unwrap();
        assert_eq!(count(&db.file, "orders"), 1);
        assert_eq!(count(&db.file, "messages"), 1);
        let ds = d
            .deliveries(&hookwire_dispatch::model::DeliveryFilter {
                message_id: Some(message_id),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut targets: Vec<&str> = ds.iter().map(|x| x.endpoint_id.as_str()).collect();
        targets.sort_unstable();
        let mut want = vec![a.as_str(), b.as_str()];
        want.sort_unstable();
        assert_eq!(targets, want);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_error_keeps_the_callers_writes() {
        let db = db();
        let d = dispatcher(&db.file).await;
        subscribe(&d, "http://127.0.0.1:9/a").await;
        let file = db.file.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = app_conn(&file);
            // A trigger makes hookwire's delivery insert fail half-way (after the message row).
            conn.execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON deliveries \
                 BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END",
            )
            .unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES ('kept')", [])
                .unwrap();
            let err = d
                .send_in_sqlite(&tx, TENANT, TYPE, body("o"), None)
                .unwrap_err();
            assert!(err.to_string().contains("refused by trigger"), "{err}");
            // The savepoint took hookwire's half-done rows away; the order is still there.
            let messages: i64 = tx
                .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
                .unwrap();
            assert_eq!(messages, 0);
            tx.execute("INSERT INTO orders (id) VALUES ('after')", [])
                .unwrap();
            tx.commit().unwrap();
        })
        .await
        .unwrap();
        assert_eq!(count(&db.file, "orders"), 2);
        assert_eq!(count(&db.file, "messages"), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_a_transaction_on_another_store() {
        let db = db();
        let other = self::db();
        let d = dispatcher(&db.file).await;
        let memory = builder(Arc::new(MemoryStore::new())).build().unwrap();
        let file = other.file.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = app_conn(&file);
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            assert!(
                d.send_in_sqlite(&tx, TENANT, TYPE, body("o"), None)
                    .unwrap_err()
                    .is_outbox()
            );
            assert!(
                memory
                    .send_in_sqlite(&tx, TENANT, TYPE, body("o"), None)
                    .unwrap_err()
                    .is_outbox()
            );
        })
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn same_file_by_another_name_and_ended_transactions() {
        let db = db();
        let d = dispatcher(&db.file).await;
        subscribe(&d, "http://127.0.0.1:9/a").await;
        let link = db.file.with_file_name("link.db");
        std::os::unix::fs::symlink(&db.file, &link).unwrap();
        let file = db.file.clone();
        tokio::task::spawn_blocking(move || {
            // The same file through a symlink is the dispatcher's file.
            let mut conn = app_conn(&link);
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            let r = d
                .send_in_sqlite(&tx, TENANT, TYPE, body("o"), None)
                .unwrap();
            assert!(matches!(r, EnqueueResult::Created { deliveries: 1, .. }));
            tx.rollback().unwrap();
            // A transaction ended by hand is refused: a savepoint would commit on its own.
            let tx = conn.transaction().unwrap();
            tx.execute_batch("COMMIT").unwrap();
            let err = d
                .send_in_sqlite(&tx, TENANT, TYPE, body("o"), None)
                .unwrap_err();
            assert!(err.to_string().contains("no longer open"), "{err}");
            drop(tx);
            assert_eq!(count(&file, "messages"), 0);
        })
        .await
        .unwrap();
    }

    async fn crash(commit: bool) {
        let db = db();
        let server = TestServer::status(200).await;
        {
            let d = dispatcher(&db.file).await;
            subscribe(&d, &server.url("/hook")).await;
        }
        let (child, ready) = spawn_child(&[
            ("HOOKWIRE_OUTBOX_CHILD", "sqlite"),
            ("HOOKWIRE_OUTBOX_DB", db.file.to_str().unwrap()),
            ("HOOKWIRE_OUTBOX_COMMIT", if commit { "1" } else { "0" }),
        ]);
        assert_eq!(
            ready,
            if commit {
                "READY committed"
            } else {
                "READY open"
            }
        );
        kill(child);
        // The restart.
        let d = dispatcher(&db.file).await;
        d.start().unwrap();
        if commit {
            let got = server.wait_for(1, Duration::from_secs(10)).await;
            assert_eq!(got[0].body, body("crash-1"));
            assert_eq!(count(&db.file, "orders"), 1);
            assert_eq!(count(&db.file, "messages"), 1);
        } else {
            nothing_arrives(&server).await;
            assert_eq!(count(&db.file, "orders"), 0);
            assert_eq!(count(&db.file, "messages"), 0);
            assert_eq!(count(&db.file, "deliveries"), 0);
        }
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_before_commit_leaves_neither_row_nor_hook() {
        crash(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_after_commit_delivers_after_restart() {
        crash(true).await;
    }
}

// ---- PostgreSQL -----------------------------------------------------------------------------

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use hookwire_dispatch::store::PostgresStore;
    use pg_support::SchemaGuard;

    /// A store on a fresh schema with the application's `orders` table beside hookwire's.
    async fn db() -> (PostgresStore, SchemaGuard, tokio_postgres::Client) {
        let (store, guard) = pg_support::store().await;
        let client = client(&guard).await;
        client
            .batch_execute(&format!(
                "CREATE TABLE \"{}\".orders (id text PRIMARY KEY)",
                guard.schema
            ))
            .await
            .unwrap();
        (store, guard, client)
    }

    async fn client(guard: &SchemaGuard) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&guard.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }

    async fn count(client: &tokio_postgres::Client, guard: &SchemaGuard, table: &str) -> i64 {
        client
            .query_one(
                &format!("SELECT count(*) FROM \"{}\".{table}", guard.schema),
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Idle workers sleep this long between polls: a delivery much sooner was woken by NOTIFY.
    const SLOW_POLL: Duration = Duration::from_secs(30);

    async fn dispatcher(store: PostgresStore) -> Dispatcher {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !store.listening() {
            assert!(std::time::Instant::now() < deadline, "LISTEN never came up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        builder(Arc::new(store))
            .poll_interval(SLOW_POLL)
            .build()
            .unwrap()
    }

    async fn order_with_hook(
        d: &Dispatcher,
        client: &mut tokio_postgres::Client,
        guard: &SchemaGuard,
        id: &str,
        commit: bool,
    ) {
        let mut tx = client.transaction().await.unwrap();
        tx.execute(
            &format!("INSERT INTO \"{}\".orders (id) VALUES ($1)", guard.schema),
            &[&id],
        )
        .await
        .unwrap();
        let r = d
            .send_in_postgres(&mut tx, TENANT, TYPE, body(id), Some(id))
            .await
            .unwrap();
        assert!(
            matches!(r, EnqueueResult::Created { deliveries: 1, .. }),
            "{r:?}"
        );
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commit_delivers_woken_by_notify() {
        let (store, guard, mut client) = db().await;
        let server = TestServer::status(200).await;
        let d = dispatcher(store).await;
        subscribe(&d, &server.url("/hook")).await;
        d.start().unwrap();
        // Let the workers go idle (a claim that finds nothing, then the long sleep).
        tokio::time::sleep(Duration::from_millis(300)).await;
        order_with_hook(&d, &mut client, &guard, "ord-1", true).await;
        let got = server.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(got[0].body, body("ord-1"));
        assert!(got[0].headers.contains_key("x-ztc-signature"));
        assert_eq!(count(&client, &guard, "orders").await, 1);
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rollback_leaves_nothing() {
        let (store, guard, mut client) = db().await;
        let server = TestServer::status(200).await;
        let d = dispatcher(store).await;
        subscribe(&d, &server.url("/hook")).await;
        d.start().unwrap();
        order_with_hook(&d, &mut client, &guard, "ord-1", false).await;
        d.wake();
        nothing_arrives(&server).await;
        for table in ["orders", "messages", "deliveries"] {
            assert_eq!(count(&client, &guard, table).await, 0, "{table}");
        }
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_never_deliver_an_open_transaction() {
        let (store, guard, mut client) = db().await;
        let server = TestServer::status(200).await;
        let d = builder(Arc::new(store))
            .poll_interval(Duration::from_millis(20))
            .build()
            .unwrap();
        subscribe(&d, &server.url("/hook")).await;
        d.start().unwrap();
        let mut tx = client.transaction().await.unwrap();
        tx.execute(
            &format!(
                "INSERT INTO \"{}\".orders (id) VALUES ('ord-open')",
                guard.schema
            ),
            &[],
        )
        .await
        .unwrap();
        d.send_in_postgres(&mut tx, TENANT, TYPE, body("ord-open"), None)
            .await
            .unwrap();
        // Dozens of claims run while the transaction is open.
        for _ in 0..4 {
            d.wake();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(server.count(), 0, "delivered before the commit");
        assert_eq!(d.queue_depth().await.unwrap(), 0);
        tx.commit().await.unwrap();
        let got = server.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(got[0].body, body("ord-open"));
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idempotency_refusals_and_errors_keep_the_transaction_usable() {
        let (store, guard, mut client) = db().await;
        let d = builder(Arc::new(store))
            .limits(Limits::new().payload_bytes(64))
            .build()
            .unwrap();
        subscribe(&d, "http://127.0.0.1:9/a").await;
        subscribe(&d, "http://127.0.0.1:9/b").await;
        let orders = format!("\"{}\".orders", guard.schema);

        let mut tx = client.transaction().await.unwrap();
        let first = d
            .send_in_postgres(&mut tx, TENANT, TYPE, body("o"), Some("key-1"))
            .await
            .unwrap();
        let EnqueueResult::Created {
            message_id,
            deliveries: 2,
        } = first
        else {
            panic!("{first:?}")
        };
        let again = d
            .send_in_postgres(&mut tx, TENANT, TYPE, body("o"), Some("key-1"))
            .await
            .unwrap();
        assert_eq!(again, EnqueueResult::Duplicate { message_id });
        tx.commit().await.unwrap();

        // Refusals and a database error (a dispatcher whose schema is gone) inside one
        // transaction: the caller's writes stay, and it commits.
        let (gone, gone_guard) = pg_support::store().await;
        let gone = builder(Arc::new(gone)).build().unwrap();
        client
            .batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", gone_guard.schema))
            .await
            .unwrap();
        let mut tx = client.transaction().await.unwrap();
        tx.execute(&format!("INSERT INTO {orders} (id) VALUES ('kept')"), &[])
            .await
            .unwrap();
        assert!(matches!(
            d.send_in_postgres(&mut tx, TENANT, TYPE, vec![b'x'; 65], None)
                .await
                .unwrap_err()
                .validation(),
            Some(ValidationError::PayloadTooLarge { got: 65, max: 64 })
        ));
        let err = gone
            .send_in_postgres(&mut tx, TENANT, TYPE, body("o"), None)
            .await
            .unwrap_err();
        assert!(err.is_store(), "{err}");
        tx.execute(&format!("INSERT INTO {orders} (id) VALUES ('after')"), &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&client, &guard, "orders").await, 2);
        assert_eq!(count(&client, &guard, "messages").await, 1);

        // Another backend is refused.
        let memory = builder(Arc::new(MemoryStore::new())).build().unwrap();
        let mut tx = client.transaction().await.unwrap();
        assert!(
            memory
                .send_in_postgres(&mut tx, TENANT, TYPE, body("o"), None)
                .await
                .unwrap_err()
                .is_outbox()
        );
    }

    async fn crash(commit: bool) {
        let (store, guard, client) = db().await;
        let server = TestServer::status(200).await;
        {
            let d = builder(Arc::new(store.clone())).build().unwrap();
            subscribe(&d, &server.url("/hook")).await;
        }
        let (child, ready) = tokio::task::spawn_blocking({
            let (url, schema) = (guard.url.clone(), guard.schema.clone());
            move || {
                spawn_child(&[
                    ("HOOKWIRE_OUTBOX_CHILD", "postgres"),
                    ("HOOKWIRE_OUTBOX_URL", &url),
                    ("HOOKWIRE_OUTBOX_SCHEMA", &schema),
                    ("HOOKWIRE_OUTBOX_COMMIT", if commit { "1" } else { "0" }),
                ])
            }
        })
        .await
        .unwrap();
        assert_eq!(
            ready,
            if commit {
                "READY committed"
            } else {
                "READY open"
            }
        );
        kill(child);
        // The restart.
        let d = builder(Arc::new(store)).build().unwrap();
        d.start().unwrap();
        if commit {
            let got = server.wait_for(1, Duration::from_secs(10)).await;
            assert_eq!(got[0].body, body("crash-1"));
            assert_eq!(count(&client, &guard, "orders").await, 1);
        } else {
            nothing_arrives(&server).await;
            // The server ends the killed client's session and its transaction with it.
            for table in ["orders", "messages", "deliveries"] {
                assert_eq!(count(&client, &guard, table).await, 0, "{table}");
            }
        }
        d.shutdown(Duration::from_secs(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_before_commit_leaves_neither_row_nor_hook() {
        crash(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_after_commit_delivers_after_restart() {
        crash(true).await;
    }
}
