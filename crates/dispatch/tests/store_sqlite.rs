//! The store conformance suite against [`SqliteStore`] (a real file in a temp dir, and the
//! in-memory variant), plus what only a durable file can show: everything survives a reopen,
//! the schema is versioned, group commit loses nothing, and the transactional outbox.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use hookwire_dispatch::model::{
    Completion, DeliveryFilter, DeliveryState, EnqueueResult, NewDelivery, NewMessage, new_id,
};
use hookwire_dispatch::store::{SqliteStore, Store, StoreError};
use tempfile::TempDir;

use hookwire_dispatch::store::conformance::{LEASE, SEC, T0, add_endpoint, attempt, message, send};

async fn make() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("hookwire.db")).unwrap();
    (Arc::new(store), dir)
}

hookwire_dispatch::store_conformance_suite!(make());

mod in_memory {
    use super::*;

    async fn make() -> (Arc<dyn Store>, ()) {
        (Arc::new(SqliteStore::open_in_memory().unwrap()), ())
    }

    hookwire_dispatch::store_conformance_suite!(make());
}

/// Write everything, drop the store (closing the file), reopen: every record is there, in
/// the same state, and work continues where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let store = SqliteStore::open(&path).unwrap();
    let a = add_endpoint(&store, "t1", false).await;
    let b = add_endpoint(&store, "t1", true).await;
    let d1 = send(&store, "t1", &[&a, &b], T0, T0).await;
    let msg2 = message("t1", T0 + 1, Some("key-1"));
    let d2 = NewDelivery {
        id: new_id("dlv"),
        endpoint_id: a.id.clone(),
        next_attempt_at: T0 + 100 * SEC,
    };
    store
        .enqueue(&msg2, std::slice::from_ref(&d2))
        .await
        .unwrap();
    let claimed = store.claim("w", T0, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let cur = store.get_delivery(&d1[0]).await.unwrap().unwrap();
    let att = attempt(&cur, T0 + 5, Some(503), false);
    store
        .complete(&d1[0], "w", &att, Completion::Retry { at: T0 + 10 * SEC })
        .await
        .unwrap();
    // d1[1] stays in flight, as if the process died mid-attempt.
    let before: Vec<_> = futures_snapshot(&store, &[&d1[0], &d1[1], &d2.id]).await;
    let endpoint_before = store.get_endpoint(&a.id).await.unwrap().unwrap();
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        futures_snapshot(&store, &[&d1[0], &d1[1], &d2.id]).await,
        before
    );
    assert_eq!(
        serde_json::to_value(store.get_endpoint(&a.id).await.unwrap().unwrap()).unwrap(),
        serde_json::to_value(&endpoint_before).unwrap()
    );
    assert_eq!(store.list_endpoints("t1").await.unwrap().len(), 2);
    assert_eq!(store.get_message(&msg2.id).await.unwrap().unwrap(), msg2);
    assert_eq!(
        store.attempts_for_message(&cur.message_id).await.unwrap(),
        vec![att]
    );
    assert_eq!(store.queue_depth().await.unwrap(), 3);
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 10 * SEC));
    // The idempotency key still holds.
    let again = message("t1", T0 + 2, Some("key-1"));
    assert_eq!(
        store.enqueue(&again, &[]).await.unwrap(),
        EnqueueResult::Duplicate {
            message_id: msg2.id.clone()
        }
    );
    // The dead worker's lease runs out and another worker takes the delivery.
    let got = store.claim("w2", T0 + 30 * SEC, LEASE, 10).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|c| c.delivery.id.as_str()).collect();
    assert!(ids.contains(&d1[1].as_str()) && ids.contains(&d1[0].as_str()));
}

async fn futures_snapshot(
    store: &SqliteStore,
    ids: &[&String],
) -> Vec<hookwire_dispatch::model::Delivery> {
    let mut out = Vec::new();
    for id in ids {
        out.push(store.get_delivery(id).await.unwrap().unwrap());
    }
    out
}

/// 64 concurrent senders (group-committed) then a reopen: every acknowledged message is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let a = add_endpoint(&*store, "t1", false).await;
    let mut tasks = Vec::new();
    for t in 0..64 {
        let store = store.clone();
        let ep = a.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..10 {
                let m = message("t1", T0 + t * 100 + i, None);
                let d = NewDelivery {
                    id: new_id("dlv"),
                    endpoint_id: ep.clone(),
                    next_attempt_at: T0,
                };
                store.enqueue(&m, std::slice::from_ref(&d)).await.unwrap();
                ids.push((m.id, d.id));
            }
            ids
        }));
    }
    let before = store.write_stats();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    // Group commit: 640 concurrent enqueues took far fewer transactions (fsyncs) than writes.
    let stats = store.write_stats();
    assert!(stats.writes >= 640, "{stats:?}");
    assert!(
        stats.transactions - before.transactions < 320,
        "not grouped (at least half as many transactions as enqueues): {stats:?}"
    );
    println!("group commit: {stats:?}");
    drop(Arc::into_inner(store).expect("only reference"));
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 640);
    for (m, d) in &all {
        assert!(store.get_message(m).await.unwrap().is_some());
        assert_eq!(
            store.get_delivery(d).await.unwrap().unwrap().state,
            DeliveryState::Pending
        );
    }
    // seq is unique and increasing in insertion order across batches.
    let mut seqs = Vec::new();
    for (_, d) in &all {
        seqs.push(store.get_delivery(d).await.unwrap().unwrap().seq);
    }
    let unique: std::collections::HashSet<_> = seqs.iter().collect();
    assert_eq!(unique.len(), 640);
}

/// One failing operation in a group-committed batch does not undo its neighbours.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_job_does_not_spoil_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("q.db")).unwrap());
    let a = add_endpoint(&*store, "t1", false).await;
    let taken = send(&*store, "t1", &[&a], T0, T0).await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = store.clone();
        let ep = a.id.clone();
        // Every 4th one re-uses a taken delivery id and must fail alone.
        let dup = if i % 4 == 0 {
            Some(taken[0].clone())
        } else {
            None
        };
        tasks.push(tokio::spawn(async move {
            let m = message("t1", T0 + i, None);
            let d = NewDelivery {
                id: dup.clone().unwrap_or_else(|| new_id("dlv")),
                endpoint_id: ep,
                next_attempt_at: T0,
            };
            (dup.is_some(), m.id.clone(), store.enqueue(&m, &[d]).await)
        }));
    }
    for t in tasks {
        let (dup, mid, r) = t.await.unwrap();
        if dup {
            assert!(matches!(
                r,
                Err(StoreError::AlreadyExists {
                    kind: "delivery",
                    ..
                })
            ));
            assert!(store.get_message(&mid).await.unwrap().is_none());
        } else {
            assert!(matches!(r, Ok(EnqueueResult::Created { .. })), "{r:?}");
            assert!(store.get_message(&mid).await.unwrap().is_some());
        }
    }
    assert_eq!(store.queue_depth().await.unwrap(), 1 + 24);
}

/// A panicking `modify_endpoint` change fails that call only; the store keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_change_is_contained() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("q.db")).unwrap();
    let a = add_endpoint(&store, "t1", false).await;
    let r = store
        .modify_endpoint(
            &a.id,
            Box::new(|e| {
                e.description = "half-done".to_owned();
                panic!("change failed");
            }),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Backend { .. })), "{r:?}");
    let e = store.get_endpoint(&a.id).await.unwrap().unwrap();
    assert_eq!(e.description, "conformance");
    store
        .modify_endpoint(&a.id, Box::new(|e| e.description = "ok".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_endpoint(&a.id)
            .await
            .unwrap()
            .unwrap()
            .description,
        "ok"
    );
}

/// The schema version is recorded, reopening does not migrate twice, and a file from a newer
/// library is refused instead of being misread.
#[tokio::test]
async fn schema_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v as usize, SqliteStore::schema_version());
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    drop(SqliteStore::open(&path).unwrap());

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}

/// The transactional outbox: a message enqueued in the caller's transaction exists iff that
/// transaction commits, and workers of a store on the same file then claim it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_enqueue_in_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = SqliteStore::open(&path).unwrap();
    let a = add_endpoint(&store, "t1", false).await;

    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        .unwrap();
    let mk = |key: Option<&str>| {
        let m = NewMessage {
            idempotency_key: key.map(str::to_owned),
            ..message("t1", T0, None)
        };
        let d = NewDelivery {
            id: new_id("dlv"),
            endpoint_id: a.id.clone(),
            next_attempt_at: T0,
        };
        (m, d)
    };

    // Rolled back: nothing.
    let (m1, d1) = mk(None);
    {
        let tx = conn.transaction().unwrap();
        tx.execute("INSERT INTO orders (total) VALUES (1)", [])
            .unwrap();
        let r = SqliteStore::enqueue_in_transaction(&tx, &m1, std::slice::from_ref(&d1)).unwrap();
        assert!(matches!(r, EnqueueResult::Created { deliveries: 1, .. }));
        tx.rollback().unwrap();
    }
    assert!(store.get_message(&m1.id).await.unwrap().is_none());

    // Committed: there, and claimable.
    let (m2, d2) = mk(Some("order-2"));
    {
        let tx = conn.transaction().unwrap();
        tx.execute("INSERT INTO orders (total) VALUES (2)", [])
            .unwrap();
        SqliteStore::enqueue_in_transaction(&tx, &m2, std::slice::from_ref(&d2)).unwrap();
        // A failing enqueue inside the same transaction leaves no trace and the rest commits.
        let (m3, _) = mk(None);
        let bad = NewDelivery {
            id: d2.id.clone(),
            endpoint_id: a.id.clone(),
            next_attempt_at: T0,
        };
        let err = SqliteStore::enqueue_in_transaction(&tx, &m3, &[bad]).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists { .. }));
        let n: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM messages WHERE id = ?1",
                [&m3.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
        tx.commit().unwrap();
    }
    assert_eq!(store.get_message(&m2.id).await.unwrap().unwrap(), m2);
    let got = store.claim("w", T0, LEASE, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].delivery.id, d2.id);
    // Same idempotency rule as `enqueue`.
    let (m4, _) = mk(Some("order-2"));
    let r = store.enqueue(&m4, &[]).await.unwrap();
    assert_eq!(
        r,
        EnqueueResult::Duplicate {
            message_id: m2.id.clone()
        }
    );
}

/// `wait_for_work` wakes early when this store queues work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_work_wakes_on_enqueue() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("q.db")).unwrap());
    let a = add_endpoint(&*store, "t1", false).await;
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let t = std::time::Instant::now();
            store.wait_for_work(Duration::from_secs(30)).await;
            t.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    send(&*store, "t1", &[&a], T0, T0).await;
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("woken before the timeout")
        .unwrap();
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

/// A file of the first release (schema version 1, committed as a fixture) migrates to the
/// current schema on open; its deliveries, written before `due_since` existed, read as due
/// since their creation.
#[tokio::test]
async fn a_first_release_file_migrates_and_reads_due_since_as_created_at() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/plaintext-v0.1.0.db"
        ),
        &db,
    )
    .unwrap();
    let version = |db: &std::path::Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version(&db), 1, "the fixture is of the first release");
    let store = SqliteStore::open(&db).unwrap();
    let all = store
        .list_deliveries(&DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    for d in &all {
        assert_eq!(d.due_since, d.created_at, "{}", d.id);
    }
    drop(store);
    assert_eq!(version(&db) as usize, SqliteStore::schema_version());
    assert_eq!(SqliteStore::schema_version(), 3);
}
