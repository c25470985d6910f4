//! The PostgreSQL store: the shared conformance suite, plus what only a shared database has
//! (migrations on concurrent starts, LISTEN/NOTIFY, claims from several stores at once, the
//! outbox insert, purge, the partial claim index). Needs a server: see `pg_support`.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookwire_dispatch::Retention;
use hookwire_dispatch::model::{
    Attempt, Completion, DeliveryState, EnqueueResult, NewDelivery, new_id,
};
use hookwire_dispatch::store::{PostgresStore, PurgeCutoffs, Store, StoreError};

use hookwire_dispatch::store::conformance::{LEASE, SEC, T0, add_endpoint, message, send};

mod pg_support;

async fn make() -> (Arc<dyn Store>, pg_support::SchemaGuard) {
    let (store, guard) = pg_support::store().await;
    (Arc::new(store), guard)
}

hookwire_dispatch::store_conformance_suite!(make());

/// A second store (own pool, own listener) on the same schema: another process, in effect.
async fn peer(guard: &pg_support::SchemaGuard) -> PostgresStore {
    PostgresStore::connect_schema(&guard.url, &guard.schema)
        .await
        .unwrap()
}

fn attempt_for(d: &hookwire_dispatch::model::Delivery, at: i64, success: bool) -> Attempt {
    Attempt {
        id: new_id("att"),
        delivery_id: d.id.clone(),
        message_id: d.message_id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        number: d.attempts + 1,
        at,
        duration_ms: 3,
        status: Some(if success { 200 } else { 500 }),
        error: None,
        response_snippet: Some("ok".to_owned()),
        success,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_versioned_and_safe_on_concurrent_starts() {
    let schema = pg_support::fresh_schema();
    let url = pg_support::url();
    // Eight "processes" start at once on an empty schema.
    let starts: Vec<_> = (0..8)
        .map(|_| {
            let schema = schema.clone();
            tokio::spawn(async move { PostgresStore::connect_schema(url, &schema).await })
        })
        .collect();
    let guard = pg_support::SchemaGuard {
        url: url.to_owned(),
        schema: schema.clone(),
    };
    for s in starts {
        s.await.unwrap().unwrap();
    }
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            &format!("SELECT version, name FROM \"{schema}\".hookwire_migrations ORDER BY version"),
            &[],
        )
        .await
        .unwrap();
    let applied: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        applied,
        [(1, "init"), (2, "listing"), (3, "due_since")].map(|(v, n)| (v, n.to_owned())),
        "each migration recorded exactly once"
    );
    // A database newer than this build is refused, not silently used.
    client
        .execute(
            &format!("INSERT INTO \"{schema}\".hookwire_migrations VALUES (999, 'future', 0)"),
            &[],
        )
        .await
        .unwrap();
    let err = PostgresStore::connect_schema(url, &schema)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("999")),
        "{err}"
    );
    drop(guard);
}

#[tokio::test]
async fn schema_names_are_validated() {
    for bad in [
        "",
        "Upper",
        "a-b",
        "1abc",
        "x\"; DROP TABLE y; --",
        &"a".repeat(49),
    ] {
        let err = PostgresStore::connect_schema(pg_support::url(), bad)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Backend { ref message, .. } if message.contains("schema")),
            "{bad}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_waiters_of_other_stores() {
    let (a, guard) = pg_support::store().await;
    let b = peer(&guard).await;
    let ep = add_endpoint(&a, "t", false).await;
    // Let b's listener connect.
    let started = Instant::now();
    while !b.listening() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "listener never connected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Drain any permit left by the listener's connect.
    b.wait_for_work(Duration::from_millis(10)).await;
    let waiter = tokio::spawn(async move {
        let t = Instant::now();
        b.wait_for_work(Duration::from_secs(20)).await;
        t.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    send(&a, "t", &[&ep], T0, T0).await;
    let waited = waiter.await.unwrap();
    assert!(
        waited < Duration::from_secs(5),
        "waiter should wake on NOTIFY, waited {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_work_times_out_without_work() {
    let (a, _guard) = pg_support::store().await;
    while !a.listening() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.wait_for_work(Duration::from_millis(10)).await; // drain the connect permit
    let t = Instant::now();
    a.wait_for_work(Duration::from_millis(300)).await;
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(290), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

/// Four stores (own pools) claim one queue concurrently: no delivery is handed out twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_from_several_stores_are_disjoint() {
    let (a, guard) = pg_support::store().await;
    let eps = [
        add_endpoint(&a, "t", false).await,
        add_endpoint(&a, "t", false).await,
    ];
    let mut all = HashSet::new();
    for i in 0..200 {
        for id in send(&a, "t", &[&eps[0], &eps[1]], T0 + i, T0).await {
            all.insert(id);
        }
    }
    let mut stores = vec![a];
    for _ in 0..3 {
        stores.push(peer(&guard).await);
    }
    let tasks: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = s.claim(&format!("w{i}"), T0 + SEC, LEASE, 7).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    got.extend(batch.into_iter().map(|c| c.delivery.id));
                }
                got
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    assert_eq!(seen, all);
}

/// FIFO across stores: many claimers race, yet at most one delivery of the endpoint is ever in
/// flight, and they are started in creation order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifo_across_stores_one_in_flight_in_order() {
    let (a, guard) = pg_support::store().await;
    let ep = add_endpoint(&a, "t", true).await;
    let mut order = Vec::new();
    for i in 0..40 {
        order.extend(send(&a, "t", &[&ep], T0 + i, T0).await);
    }
    let a = Arc::new(a);
    let mut stores: Vec<Arc<PostgresStore>> = vec![Arc::clone(&a)];
    for _ in 0..3 {
        stores.push(Arc::new(peer(&guard).await));
    }
    let started = Arc::new(std::sync::Mutex::new(Vec::new()));
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let started = Arc::clone(&started);
            let in_flight = Arc::clone(&in_flight);
            tokio::spawn(async move {
                let worker = format!("w{i}");
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline {
                    let batch = s.claim(&worker, T0 + SEC, LEASE, 4).await.unwrap();
                    assert!(
                        batch.len() <= 1,
                        "a claim returns one delivery per FIFO endpoint"
                    );
                    let Some(c) = batch.into_iter().next() else {
                        if s.queue_depth().await.unwrap() == 0 {
                            return;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    };
                    let n = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert_eq!(n, 0, "two FIFO deliveries in flight at once");
                    started.lock().unwrap().push(c.delivery.id.clone());
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    let att = attempt_for(&c.delivery, T0 + SEC, true);
                    s.complete(&c.delivery.id, &worker, &att, Completion::Delivered)
                        .await
                        .unwrap();
                }
                panic!("FIFO queue did not drain in time");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*started.lock().unwrap(), order);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_insert_follows_the_callers_transaction() {
    let (store, _guard) = pg_support::store().await;
    let ep = add_endpoint(&store, "t", false).await;
    let pool = store.connection_pool().clone();
    let mut client = pool.get().await.unwrap();

    // Rolled back: nothing stored.
    let rolled = message("t", T0, Some("k1"));
    let tx = client.transaction().await.unwrap();
    let d = [NewDelivery {
        id: new_id("dlv"),
        endpoint_id: ep.id.clone(),
        next_attempt_at: T0,
    }];
    let r = store
        .enqueue_in_transaction(&tx, &rolled, &d)
        .await
        .unwrap();
    assert!(matches!(r, EnqueueResult::Created { deliveries: 1, .. }));
    tx.rollback().await.unwrap();
    assert!(store.get_message(&rolled.id).await.unwrap().is_none());
    assert!(store.get_delivery(&d[0].id).await.unwrap().is_none());

    // Committed with the caller's own write: both visible, the delivery claimable.
    let kept = message("t", T0, Some("k1"));
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("CREATE TEMP TABLE caller_write (x int); INSERT INTO caller_write VALUES (1)")
        .await
        .unwrap();
    let d2 = [NewDelivery {
        id: new_id("dlv"),
        endpoint_id: ep.id.clone(),
        next_attempt_at: T0,
    }];
    store.enqueue_in_transaction(&tx, &kept, &d2).await.unwrap();
    assert!(
        store.get_message(&kept.id).await.unwrap().is_none(),
        "invisible before commit"
    );
    tx.commit().await.unwrap();
    assert_eq!(store.get_message(&kept.id).await.unwrap().unwrap(), kept);
    let claimed = store.claim("w", T0, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery.id, d2[0].id);

    // Same idempotency key again, through the outbox: a no-op naming the first message.
    let again = message("t", T0, Some("k1"));
    let tx = client.transaction().await.unwrap();
    let r = store
        .enqueue_in_transaction(&tx, &again, &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        r,
        EnqueueResult::Duplicate {
            message_id: kept.id.clone()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_delivered_history_in_steps() {
    let (store, _guard) = pg_support::store().await;
    let ep = add_endpoint(&store, "t", false).await;
    // 25 old messages delivered, 1 old failed, 1 old pending, 3 new delivered.
    let mut old_delivered = Vec::new();
    for i in 0..25 {
        old_delivered.extend(send(&store, "t", &[&ep], T0 + i, T0).await);
    }
    let failed = send(&store, "t", &[&ep], T0 + 30, T0).await[0].clone();
    let mut new_delivered = Vec::new();
    for i in 0..3 {
        new_delivered.extend(send(&store, "t", &[&ep], T0 + 100 * SEC + i, T0).await);
    }
    let claimed = store.claim("w", T0 + 200 * SEC, LEASE, 100).await.unwrap();
    assert_eq!(claimed.len(), 29);
    for c in &claimed {
        let fail = c.delivery.id == failed;
        let att = attempt_for(
            &c.delivery,
            // Attempts before the cutoff: a purged message must have no younger attempt.
            if fail { T0 + 5 } else { T0 + 40 * SEC },
            !fail,
        );
        let how = if fail {
            Completion::Failed
        } else {
            Completion::Delivered
        };
        store
            .complete(&c.delivery.id, "w", &att, how)
            .await
            .unwrap();
    }
    let pending = send(&store, "t", &[&ep], T0 + 31, T0 + 10_000 * SEC).await[0].clone();

    // Steps of 4 messages (one statement each) until done; the failed message is younger
    // than the failed cutoff.
    let cutoffs = PurgeCutoffs::new(T0 + 50 * SEC, T0);
    let first = store.purge(&cutoffs, 4).await.unwrap();
    assert_eq!(
        (first.messages, first.deliveries, first.attempts),
        (4, 4, 4)
    );
    let report = Retention::new()
        .batch(4)
        .pause(Duration::ZERO)
        .purge(&store, &cutoffs)
        .await
        .unwrap();
    assert_eq!(report.messages, 21, "old, fully delivered messages only");
    for id in &old_delivered {
        assert!(store.get_delivery(id).await.unwrap().is_none());
    }
    for id in new_delivered.iter().chain([&failed, &pending]) {
        assert!(store.get_delivery(id).await.unwrap().is_some(), "{id} kept");
    }
    let f = store.get_delivery(&failed).await.unwrap().unwrap();
    assert_eq!(f.state, DeliveryState::Failed);
    assert_eq!(
        store
            .attempts_for_message(&f.message_id)
            .await
            .unwrap()
            .len(),
        1,
        "a kept message keeps its attempt log"
    );
    // Nothing left to do: a second run deletes nothing.
    assert!(store.purge(&cutoffs, 4).await.unwrap().is_empty());
}

/// The claim reads the partial index, not the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_uses_the_partial_index() {
    let (store, guard) = pg_support::store().await;
    let ep = add_endpoint(&store, "t", false).await;
    send(&store, "t", &[&ep], T0, T0).await;
    let (client, conn) = tokio_postgres::connect(&guard.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let s = &guard.schema;
    client
        .batch_execute(&format!(
            "INSERT INTO \"{s}\".messages (id, tenant, event_type, payload, created_at) \
             SELECT 'm' || g, 't', 'e', '\\x00', g FROM generate_series(1, 20000) g; \
             INSERT INTO \"{s}\".deliveries (id, message_id, endpoint_id, state, next_attempt_at, created_at) \
             SELECT 'd' || g, 'm' || g, '{ep}', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'delivered' END, g, g \
             FROM generate_series(1, 20000) g; ANALYZE \"{s}\".deliveries",
            ep = ep.id
        ))
        .await
        .unwrap();
    let plan: Vec<String> = client
        .query(
            &format!(
                "EXPLAIN SELECT d.seq FROM \"{s}\".deliveries d JOIN \"{s}\".endpoints e \
                 ON e.id = d.endpoint_id WHERE d.state = 'pending' AND d.next_attempt_at <= 5000 \
                 AND e.enabled AND NOT e.fifo ORDER BY d.next_attempt_at, d.seq LIMIT 10 \
                 FOR UPDATE OF d SKIP LOCKED"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("deliveries_due"), "{plan}");
    let claimed = store.claim("w", 5000, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 10);
    assert!(
        claimed
            .windows(2)
            .all(|w| w[0].delivery.next_attempt_at <= w[1].delivery.next_attempt_at)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_on_lease_taken_over_by_another_store_is_refused() {
    let (a, guard) = pg_support::store().await;
    let b = peer(&guard).await;
    let ep = add_endpoint(&a, "t", false).await;
    send(&a, "t", &[&ep], T0, T0).await;
    let c = a.claim("a", T0, LEASE, 1).await.unwrap().remove(0);
    // a's lease runs out; b takes the delivery over.
    let later = T0 + 31 * SEC;
    let c2 = b.claim("b", later, LEASE, 1).await.unwrap().remove(0);
    assert_eq!(c2.delivery.id, c.delivery.id);
    let att = attempt_for(&c.delivery, later, true);
    let err = a
        .complete(&c.delivery.id, "a", &att, Completion::Delivered)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err}");
    assert!(
        a.attempts_for_message(&c.delivery.message_id)
            .await
            .unwrap()
            .is_empty()
    );
    let att = attempt_for(&c2.delivery, later, true);
    b.complete(&c2.delivery.id, "b", &att, Completion::Delivered)
        .await
        .unwrap();
    let d = a.get_delivery(&c.delivery.id).await.unwrap().unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 1));
    let e = a.get_endpoint(&ep.id).await.unwrap().unwrap();
    assert_eq!(e.last_triggered_at, Some(later));
}

/// Rows from before migration 3 have no `due_since`: they read as due since their creation,
/// and a redelivery then sets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_due_since_read_as_due_since_creation() {
    let (store, guard) = pg_support::store().await;
    let ep = add_endpoint(&store, "t", false).await;
    let ids = send(&store, "t", &[&ep], T0, T0 + 7).await;
    assert_eq!(
        store
            .get_delivery(&ids[0])
            .await
            .unwrap()
            .unwrap()
            .due_since,
        T0 + 7
    );
    let client = store.connection_pool().get().await.unwrap();
    client
        .execute(
            &format!(
                "UPDATE \"{}\".deliveries SET due_since = NULL",
                guard.schema
            ),
            &[],
        )
        .await
        .unwrap();
    let d = store.get_delivery(&ids[0]).await.unwrap().unwrap();
    assert_eq!((d.created_at, d.due_since), (T0, T0));
    store.redeliver(&ids[0], T0 + 9 * SEC).await.unwrap();
    let d = store.get_delivery(&ids[0]).await.unwrap().unwrap();
    assert_eq!(d.due_since, T0 + 9 * SEC);
}

/// `enqueue` paces its `NOTIFY`s: a burst sends about one per 10 ms window, not one per
/// message, and an enqueue inside a window is still announced by
/// the trailing notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_notifications_are_paced_and_none_is_lost() {
    use std::sync::Mutex;
    use tokio_postgres::AsyncMessage;

    let (store, guard) = pg_support::store().await;
    let ep = add_endpoint(&store, "t", false).await;
    // A listener of our own on the store's channel, counting what arrives.
    let (client, mut conn) = tokio_postgres::connect(&guard.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Some(Ok(m)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if matches!(m, AsyncMessage::Notification(_)) {
                *counter.lock().unwrap() += 1;
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN \"{}\"", store.channel()))
        .await
        .unwrap();
    let count = || *seen.lock().unwrap();
    let settle = || tokio::time::sleep(Duration::from_millis(150));

    // One enqueue on a quiet channel: announced.
    settle().await;
    send(&store, "t", &[&ep], T0, T0).await;
    settle().await;
    assert_eq!(count(), 1);
    // Two back to back: the second lands inside the first one's window (an enqueue takes
    // about a millisecond) and is announced by the trailing notification.
    settle().await;
    send(&store, "t", &[&ep], T0, T0).await;
    send(&store, "t", &[&ep], T0, T0).await;
    settle().await;
    assert_eq!(count(), 3, "the trailing notification");

    // A burst from four tasks.
    const BURST: usize = 400;
    let before = count();
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, ep) = (store.clone(), ep.clone());
            tokio::spawn(async move {
                for _ in 0..BURST / 4 {
                    send(&store, "t", &[&ep], T0, T0).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    settle().await;
    let sent = count() - before;
    // One per 10 ms window; the bound allows twice that (millisecond clocks, late timers),
    // still far below one per enqueue.
    let bound = usize::try_from(took.as_millis() / 5).unwrap() + 2;
    eprintln!("{sent} notifications for {BURST} enqueues in {took:?}");
    assert!(
        (1..=bound).contains(&sent),
        "{sent} notifications for {BURST} enqueues in {took:?} (at most {bound})"
    );
    assert_eq!(store.queue_depth().await.unwrap(), BURST as u64 + 3);
}
