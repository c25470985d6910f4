//! Retention beyond the store conformance suite (whose `purge_*` checks every backend runs):
//! what only SQLite shows (the file gives its pages back; an old file is converted to
//! incremental vacuum) and the dispatcher's background run with its off switch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use hookwire_dispatch::model::{Completion, DeliveryState, NewDelivery, new_id};
use hookwire_dispatch::store::{MemoryStore, PurgeCutoffs, Store};
use hookwire_dispatch::{Dispatcher, NewEndpoint, Retention};
use hookwire_events::Family;

mod common;
use hookwire_dispatch::store::conformance::{LEASE, SEC, T0, add_endpoint, attempt, message, send};

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use hookwire_dispatch::store::SqliteStore;

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
