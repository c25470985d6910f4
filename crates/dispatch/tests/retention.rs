//! Retention on every store: the same purge suite against the memory store, a SQLite file and
//! PostgreSQL (a schema of its own), then what only SQLite shows (the file gives its pages
//! back; an old file is converted to incremental vacuum) and the dispatcher's background run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use hookwire_dispatch::model::{Completion, DeliveryState, EnqueueResult, NewDelivery, new_id};
use hookwire_dispatch::store::{MemoryStore, PurgeCutoffs, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint, Retention};
use hookwire_events::Family;

mod common;
#[cfg(feature = "postgres")]
mod pg_support;
use hookwire_dispatch::store::conformance::{LEASE, SEC, T0, add_endpoint, attempt, message, send};

/// Claims the one due delivery `id` at `at` and completes it with one attempt made at `at`.
async fn finish(store: &dyn Store, id: &str, at: i64, completion: Completion) {
    let claimed = store.claim("w", at, LEASE, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let d = &claimed[0].delivery;
    assert_eq!(d.id, id);
    let ok = completion == Completion::Delivered;
    let a = attempt(d, at, Some(if ok { 200 } else { 500 }), ok);
    store.complete(id, "w", &a, completion).await.unwrap();
}

async fn gone(store: &dyn Store, message: &str) -> bool {
    store.get_message(message).await.unwrap().is_none()
        && store
            .attempts_for_message(message)
            .await
            .unwrap()
            .is_empty()
}

async fn message_of(store: &dyn Store, delivery: &str) -> String {
    store
        .get_delivery(delivery)
        .await
        .unwrap()
        .unwrap()
        .message_id
}

/// The purge contract, on a fresh store.
async fn purge_suite(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let ep = add_endpoint(s, "t", false).await;
    let ep2 = add_endpoint(s, "t", false).await;
    let at = T0 + SEC;

    // Old and delivered; old and delivered with an idempotency key; old and failed; old with
    // one delivery delivered and one failed; old, delivered, redelivered recently.
    let delivered = send(s, "t", &[&ep], T0, T0).await.remove(0);
    finish(s, &delivered, at, Completion::Delivered).await;
    let keyed = message("t", T0, Some("key-1"));
    let keyed_dlv = new_id("dlv");
    s.enqueue(
        &keyed,
        &[NewDelivery {
            id: keyed_dlv.clone(),
            endpoint_id: ep.id.clone(),
            next_attempt_at: T0,
        }],
    )
    .await
    .unwrap();
    finish(s, &keyed_dlv, at, Completion::Delivered).await;
    let failed = send(s, "t", &[&ep], T0, T0).await.remove(0);
    finish(s, &failed, at, Completion::Failed).await;
    let mixed = send(s, "t", &[&ep, &ep2], T0, T0).await;
    finish(s, &mixed[0], at, Completion::Delivered).await;
    finish(s, &mixed[1], at, Completion::Failed).await;
    let redelivered = send(s, "t", &[&ep], T0, T0).await.remove(0);
    finish(s, &redelivered, at, Completion::Delivered).await;
    s.redeliver(&redelivered, T0 + 200 * SEC).await.unwrap();
    finish(s, &redelivered, T0 + 200 * SEC, Completion::Delivered).await;
    // Young and delivered; old and still pending (never touched, whatever the cutoffs).
    let young = send(s, "t", &[&ep], T0 + 100 * SEC, T0 + 100 * SEC)
        .await
        .remove(0);
    finish(s, &young, T0 + 101 * SEC, Completion::Delivered).await;
    let pending = send(s, "t", &[&ep], T0, T0 + 10_000 * SEC).await.remove(0);

    let ids = [
        &delivered,
        &keyed_dlv,
        &failed,
        &mixed[0],
        &redelivered,
        &young,
        &pending,
    ];
    let mut msgs = Vec::new();
    for id in ids {
        msgs.push(message_of(s, id).await);
    }
    let [
        m_delivered,
        m_keyed,
        m_failed,
        m_mixed,
        m_redelivered,
        m_young,
        m_pending,
    ] = <[String; 7]>::try_from(msgs).unwrap();

    // Delivered older than T0+50 s go; failed ones are kept until their own, later cutoff.
    let step = PurgeCutoffs::new(T0 + 50 * SEC, T0);
    let r = s.purge(&step, 100).await.unwrap();
    assert_eq!(
        (r.messages, r.deliveries, r.attempts, r.payloads),
        (2, 2, 2, 0)
    );
    assert!(gone(s, &m_delivered).await && gone(s, &m_keyed).await);
    assert!(s.get_delivery(&delivered).await.unwrap().is_none());
    for kept in [&m_failed, &m_mixed, &m_redelivered, &m_young, &m_pending] {
        assert!(s.get_message(kept).await.unwrap().is_some(), "{kept}");
    }
    // The purged message's idempotency key is free again.
    let again = message("t", T0 + 300 * SEC, Some("key-1"));
    assert!(matches!(
        s.enqueue(&again, &[]).await.unwrap(),
        EnqueueResult::Created { .. }
    ));
    // Nothing more under the same cutoffs (the message just enqueued is young).
    assert!(s.purge(&step, 100).await.unwrap().is_empty());

    // The failed cutoff reaches the failed and the mixed message (3 deliveries, 3 attempts).
    let r = s
        .purge(&PurgeCutoffs::new(T0 + 50 * SEC, T0 + 50 * SEC), 100)
        .await
        .unwrap();
    assert_eq!((r.messages, r.deliveries, r.attempts), (2, 3, 3));
    assert!(gone(s, &m_failed).await && gone(s, &m_mixed).await);
    // Kept: the redelivered one (an attempt at T0+200 s), the young one, the pending one.
    for kept in [&m_redelivered, &m_young, &m_pending] {
        assert!(s.get_message(kept).await.unwrap().is_some(), "{kept}");
    }
    assert_eq!(
        s.attempts_for_message(&m_redelivered).await.unwrap().len(),
        2
    );

    // Far in the future: everything that ended goes; the pending delivery stays claimable.
    let far = T0 + 1_000_000 * SEC;
    let r = s.purge(&PurgeCutoffs::new(far, far), 100).await.unwrap();
    assert_eq!(
        r.messages, 3,
        "redelivered, young and the re-used key's message"
    );
    assert!(s.get_message(&m_pending).await.unwrap().is_some());
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    let claimed = s.claim("w", T0 + 10_000 * SEC, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery.id, pending);
    assert_eq!(claimed[0].message.id, m_pending);
    assert!(!claimed[0].message.payload.is_empty());
}

/// Bounded steps: at most `limit` messages per call, oldest first; payloads dropped
/// without touching rows or attempt logs, never for unfinished messages.
async fn batches_and_payloads(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let ep = add_endpoint(s, "t", false).await;
    let mut done = Vec::new();
    for i in 0..5 {
        let id = send(s, "t", &[&ep], T0 + i * SEC, T0).await.remove(0);
        finish(s, &id, T0 + 10 * SEC, Completion::Delivered).await;
        done.push(message_of(s, &id).await);
    }
    let pending = send(s, "t", &[&ep], T0, T0 + 10_000 * SEC).await.remove(0);
    let m_pending = message_of(s, &pending).await;

    // Payloads first (rows kept: the delivered cutoff is before everything).
    let cutoffs = PurgeCutoffs::new(T0 - SEC, T0 - SEC).drop_payloads_before(T0 + 100 * SEC);
    let r = s.purge(&cutoffs, 3).await.unwrap();
    assert_eq!((r.messages, r.payloads), (0, 3));
    let r = s.purge(&cutoffs, 3).await.unwrap();
    assert_eq!((r.messages, r.payloads), (0, 2));
    assert_eq!(s.purge(&cutoffs, 3).await.unwrap().payloads, 0);
    for m in &done {
        let msg = s.get_message(m).await.unwrap().unwrap();
        assert!(msg.payload.is_empty(), "{m}");
        assert_eq!(
            s.attempts_for_message(m).await.unwrap().len(),
            1,
            "log kept"
        );
    }
    let kept = s.get_message(&m_pending).await.unwrap().unwrap();
    assert!(
        !kept.payload.is_empty(),
        "a pending message keeps its payload"
    );

    // Then the rows, two per step, oldest first.
    let cutoffs = PurgeCutoffs::new(T0 + 100 * SEC, T0 + 100 * SEC);
    let r = s.purge(&cutoffs, 2).await.unwrap();
    assert_eq!(r.messages, 2);
    assert!(gone(s, &done[0]).await && gone(s, &done[1]).await);
    assert!(!gone(s, &done[2]).await);
    assert_eq!(s.purge(&cutoffs, 2).await.unwrap().messages, 2);
    assert_eq!(s.purge(&cutoffs, 2).await.unwrap().messages, 1);
    assert!(s.purge(&cutoffs, 2).await.unwrap().is_empty());
    assert_eq!(s.queue_depth().await.unwrap(), 1);
}

macro_rules! retention_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn purge_by_age() {
            let (store, _guard) = $make.await;
            crate::purge_suite(store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn bounded_batches_and_payloads() {
            let (store, _guard) = $make.await;
            crate::batches_and_payloads(store).await;
        }
    };
}

mod memory {
    use super::*;
    async fn make() -> (Arc<dyn Store>, ()) {
        (Arc::new(MemoryStore::new()), ())
    }
    retention_suite!(make());
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use hookwire_dispatch::store::SqliteStore;

    async fn make() -> (Arc<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("hookwire.db")).unwrap();
        (Arc::new(store), dir)
    }
    retention_suite!(make());

    fn auto_vacuum(path: &std::path::Path) -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap()
    }

    fn file_pages(path: &std::path::Path) -> (i64, i64) {
        let conn = rusqlite::Connection::open(path).unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        let free: i64 = conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .unwrap();
        (pages, free)
    }

    /// 600 delivered messages with 8 KiB payloads, purged: the freed pages leave the file
    /// (incremental vacuum), they do not stay on the free list.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn purged_space_is_given_back_to_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hookwire.db");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(auto_vacuum(&path), 2, "new files are INCREMENTAL");
        let ep = add_endpoint(&store, "t", false).await;
        for i in 0..600 {
            let mut m = message("t", T0 + i, None);
            m.payload = vec![b'p'; 8192];
            let id = new_id("dlv");
            store
                .enqueue(
                    &m,
                    &[NewDelivery {
                        id,
                        endpoint_id: ep.id.clone(),
                        next_attempt_at: T0,
                    }],
                )
                .await
                .unwrap();
        }
        loop {
            let claimed = store.claim("w", T0, LEASE, 500).await.unwrap();
            if claimed.is_empty() {
                break;
            }
            for c in claimed {
                let a = attempt(&c.delivery, T0 + SEC, Some(200), true);
                store
                    .complete(&c.delivery.id, "w", &a, Completion::Delivered)
                    .await
                    .unwrap();
            }
        }
        drop(store);
        let (full, _) = file_pages(&path);
        let store = SqliteStore::open(&path).unwrap();
        let report = Retention::new()
            .batch(300)
            .pause(Duration::ZERO)
            .purge(&store, &PurgeCutoffs::new(T0 + 100 * SEC, T0 + 100 * SEC))
            .await
            .unwrap();
        assert_eq!(report.messages, 600);
        assert_eq!((report.deliveries, report.attempts), (600, 600));
        drop(store);
        let (pages, free) = file_pages(&path);
        assert_eq!(free, 0, "free pages left in the file");
        assert!(
            pages * 4 < full,
            "the file kept its pages: {full} before, {pages} after"
        );
    }

    /// A file made before incremental vacuum (auto_vacuum NONE) is converted at open, with
    /// its data.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_old_file_is_converted_to_incremental_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let store = SqliteStore::open(&path).unwrap();
        let ep = add_endpoint(&store, "t", false).await;
        let id = send(&store, "t", &[&ep], T0, T0).await.remove(0);
        drop(store);
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA auto_vacuum = NONE; VACUUM;")
                .unwrap();
        }
        assert_eq!(auto_vacuum(&path), 0);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(auto_vacuum(&path), 2);
        assert!(store.get_delivery(&id).await.unwrap().is_some());
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    async fn make() -> (Arc<dyn Store>, pg_support::SchemaGuard) {
        let (store, guard) = pg_support::store().await;
        (Arc::new(store), guard)
    }
    retention_suite!(make());
}

/// The running dispatcher purges in the background (here: everything delivered, every 50 ms)
/// and the switch turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatcher_purges_in_the_background_unless_turned_off() {
    let server = common::TestServer::status(200).await;
    let run = |rules: Option<Retention>| {
        let server = server.clone();
        async move {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            let b = Dispatcher::builder(Arc::clone(&store))
                .allow_loopback_http()
                .poll_interval(Duration::from_millis(50));
            let d = match rules {
                Some(r) => b.retention(r),
                None => b.no_retention(),
            }
            .build()
            .unwrap();
            d.create_endpoint(NewEndpoint::new("t", Family::ZeroTier, server.url("/")))
                .await
                .unwrap();
            d.start().unwrap();
            let mut ids = Vec::new();
            for _ in 0..5 {
                let r = d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap();
                ids.push(common::message_id(r).await);
            }
            (d, store, ids)
        }
    };
    let rules = Retention::new()
        .delivered_for(Duration::from_millis(1))
        .every(Duration::from_millis(50));
    let (d, store, ids) = run(Some(rules)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for id in &ids {
        while store.get_message(id).await.unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "{id} never purged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    d.shutdown(Duration::from_secs(1)).await;

    let (d, store, ids) = run(None).await;
    for id in &ids {
        common::wait_state(&d, id, DeliveryState::Delivered).await;
    }
    // Several 50 ms intervals later, with retention off, everything is still there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in &ids {
        assert!(store.get_message(id).await.unwrap().is_some());
    }
    d.shutdown(Duration::from_secs(1)).await;
}
