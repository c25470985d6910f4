//! The store conformance suite (feature `conformance`): one async fn per behaviour of the
//! [`Store`] contract, each taking a fresh, empty store. Every backend of this crate passes
//! all of them, and so must yours.
//!
//! A backend's test file runs the whole suite, one `#[test]` per behaviour, with
//! [`store_conformance_suite!`](crate::store_conformance_suite):
//!
//! ```
//! use std::sync::Arc;
//! use hookwire_dispatch::store::{MemoryStore, Store};
//!
//! // Evaluated once per test: a fresh, empty store and a guard that lives as long as the
//! // test (a temporary directory, a schema to drop, or `()`).
//! async fn make() -> (Arc<dyn Store>, ()) {
//!     (Arc::new(MemoryStore::new()), ())
//! }
//!
//! hookwire_dispatch::store_conformance_suite!(make());
//! # fn main() {}
//! ```
//!
//! The functions are public too, for a harness of your own ([`run`] gives each the
//! multi-thread runtime the macro uses), and so are the fixtures ([`endpoint`],
//! [`add_endpoint`], [`message`], [`send`], [`attempt`]) for backend-specific tests.
//!
//! Time is never read from the clock here: every `now` is the fixed base [`T0`] plus offsets,
//! so the lease tests are deterministic. A failed check panics with what was expected.
//!
//! The semantics checked here are the ones the [`Store`] method docs state; in short:
//! - A lease is *held* while the delivery is in flight with `lease_owner == worker`, even past
//!   `lease_expires_at`, until someone claims it again; `complete`, `release` and
//!   `renew_lease` on a delivery whose lease is not held fail with `LeaseLost` and write
//!   nothing; on an unknown delivery they fail with `NotFound`.
//! - A lease is expired (claimable) when `lease_expires_at <= now`.
//! - "Oldest due first" orders by `(next_attempt_at, seq)`; FIFO order within an endpoint is
//!   `(created_at, seq)`; a claim returns at most one delivery per FIFO endpoint.
//! - `delete_endpoint` removes the endpoint's pending and in-flight deliveries.
//! - `redeliver` of an in-flight delivery leaves it unchanged; of a pending one makes it due now.
//! - `complete` sets the endpoint's `last_triggered_at` to the latest attempt time seen (max).
//! - `complete_batch` records each item as `complete` would and answers per item, in order: an
//!   item without the lease, or naming a delivery an earlier item of the batch named, is
//!   refused and writes nothing; the others are recorded.
//! - `last_error` after `complete` is the attempt's error, else `HTTP <status>` for a failed
//!   attempt, else `None`; after `fail_pending_for_endpoint` it is the reason.

// A conformance check that fails panics with a clear message: that is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{
    Attempt, Auth, CompletedAttempt, Completion, Delivery, DeliveryFilter, DeliveryState, Endpoint,
    EndpointSecret, EndpointStatus, EnqueueResult, NewDelivery, NewMessage, RateLimit,
    SecretHeader, UnixMillis, new_id,
};
use crate::store::{PurgeCutoffs, Store, StoreError, StoreResult};
use hookwire_events::Family;
use hookwire_retry::{EndpointHealth, HealthPolicy, RetryPolicy};
use hookwire_signature::{Scheme, Secret};

/// The fixed base time of every test.
pub const T0: UnixMillis = 1_700_000_000_000;
/// One second in ms.
pub const SEC: UnixMillis = 1_000;
/// The lease used by most tests.
pub const LEASE: Duration = Duration::from_secs(30);

/// Defines one `#[test]` per behaviour of the [`store::conformance`](crate::store::conformance)
/// suite, each on its own multi-thread tokio runtime (feature `conformance`).
///
/// `$make` is an expression evaluated in each test that yields a future of
/// `(Arc<dyn Store>, guard)`: a fresh, empty store, and whatever must live as long as the test
/// (a temporary directory, a schema to drop, or `()`). See the module docs for an example.
#[macro_export]
macro_rules! store_conformance_suite {
    ($make:expr) => {
        $crate::store_conformance_suite!(@each $make;
            endpoint_round_trip,
            endpoint_insert_duplicate,
            endpoint_insert_within_limit_is_atomic,
            endpoint_list_by_tenant_oldest_first,
            endpoint_modify,
            endpoint_modify_concurrent_is_atomic,
            endpoint_rewrite_in_batches,
            endpoint_delete_drops_open_deliveries,
            enqueue_and_read_back,
            enqueue_duplicate_ids,
            idempotency_key_per_tenant,
            idempotency_concurrent_single_winner,
            list_deliveries_filters_and_order,
            claim_due_only_oldest_first,
            claim_sets_lease_and_returns_context,
            claim_skips_disabled_endpoints,
            claim_respects_limit,
            lease_expiry_allows_reclaim,
            stolen_lease_is_lost,
            renew_lease_extends,
            renew_leases_batch_reports_lost,
            complete_retry_delivered_failed,
            complete_requires_lease,
            complete_batch_per_item,
            complete_batch_large,
            release_returns_to_queue,
            fifo_one_at_a_time,
            fifo_head_waits_for_retry,
            fifo_expired_head_reclaimed_first,
            fail_pending_for_endpoint_only_pending,
            redeliver_puts_back,
            recover_failed_since,
            attempt_queries,
            queue_depth_and_next_due,
            concurrent_claimers_disjoint,
            purge_by_age,
            purge_in_bounded_steps_and_payloads,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::store::conformance::run(async {
                    let (store, _guard) = $make.await;
                    $crate::store::conformance::$name(store).await;
                });
            }
        )*
    };
}

// ---- fixtures ---------------------------------------------------------------------------------

/// A fully populated endpoint of `tenant` (every optional field set, so round trips are real).
pub fn endpoint(tenant: &str) -> Endpoint {
    Endpoint {
        id: new_id("ep"),
        tenant: tenant.to_owned(),
        family: Family::Zitadel,
        url: "https://example.com/hook".to_owned(),
        event_types: vec!["user.created".to_owned(), "user.deleted".to_owned()],
        scheme: Some(Scheme::Zitadel),
        secrets: vec![
            EndpointSecret {
                secret: Secret::new("new-secret-0123456789"),
                created_at: T0,
                expires_at: None,
            },
            EndpointSecret {
                secret: Secret::new("old-secret-9876543210"),
                created_at: T0 - 10 * SEC,
                expires_at: Some(T0 + 86_400 * SEC),
            },
        ],
        auth: Auth::ApiKey {
            header: "X-API-Key".to_owned(),
            key: Secret::new("k3y"),
        },
        headers: vec![("X-Env".to_owned(), "test".to_owned())],
        secret_headers: vec![SecretHeader::new("X-Token", "t0ken")],
        timeout_ms: 5_000,
        retry: RetryPolicy::standard_webhooks(),
        health_policy: HealthPolicy::default(),
        rate_limit: Some(RateLimit {
            per_second: 2.5,
            burst: 10,
        }),
        max_in_flight: Some(4),
        fifo: false,
        description: "conformance".to_owned(),
        status: EndpointStatus::Enabled,
        health: EndpointHealth::default(),
        created_at: T0,
        updated_at: T0,
        last_triggered_at: None,
        sealed: false,
        metadata: Default::default(),
    }
}

/// Inserts `endpoint` with no per-tenant limit; `AlreadyExists` if its id is taken.
pub async fn insert(store: &dyn Store, endpoint: &Endpoint) -> StoreResult<()> {
    let stored = store.insert_endpoint_within(endpoint, usize::MAX).await?;
    assert!(
        stored,
        "insert_endpoint_within refused an endpoint below the limit"
    );
    Ok(())
}

/// Runs one test's future on a fresh multi-thread runtime (4 workers), as the suite's tests
/// do.
///
/// # Panics
/// When the runtime cannot be built, or when the future panics (a failed check).
pub fn run<F: std::future::Future<Output = ()>>(test: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(test);
}

/// Inserts `endpoint(tenant)` with `fifo` and returns it.
pub async fn add_endpoint(store: &dyn Store, tenant: &str, fifo: bool) -> Endpoint {
    let mut ep = endpoint(tenant);
    ep.fifo = fifo;
    insert(store, &ep).await.unwrap();
    ep
}

/// A message of `tenant` created at `created_at`.
pub fn message(tenant: &str, created_at: UnixMillis, key: Option<&str>) -> NewMessage {
    NewMessage {
        id: new_id("msg"),
        tenant: tenant.to_owned(),
        event_type: "user.created".to_owned(),
        payload: format!("{{\"n\":{created_at}}}").into_bytes(),
        idempotency_key: key.map(str::to_owned),
        created_at,
    }
}

/// Enqueues one message at `created_at` with one delivery per endpoint, due at `due`;
/// returns the delivery ids in endpoint order.
pub async fn send(
    store: &dyn Store,
    tenant: &str,
    endpoints: &[&Endpoint],
    created_at: UnixMillis,
    due: UnixMillis,
) -> Vec<String> {
    let msg = message(tenant, created_at, None);
    let dels: Vec<NewDelivery> = endpoints
        .iter()
        .map(|e| NewDelivery {
            id: new_id("dlv"),
            endpoint_id: e.id.clone(),
            next_attempt_at: due,
        })
        .collect();
    let r = store.enqueue(&msg, &dels).await.unwrap();
    assert_eq!(
        r,
        EnqueueResult::Created {
            message_id: msg.id.clone(),
            deliveries: dels.len()
        }
    );
    dels.into_iter().map(|d| d.id).collect()
}

/// An attempt record for a claimed delivery.
pub fn attempt(d: &Delivery, at: UnixMillis, status: Option<u16>, success: bool) -> Attempt {
    Attempt {
        id: new_id("att"),
        delivery_id: d.id.clone(),
        message_id: d.message_id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        number: d.attempts + 1,
        at,
        duration_ms: 12,
        status,
        error: if success || status.is_some() {
            None
        } else {
            Some("connection refused".to_owned())
        },
        response_snippet: status.map(|s| format!("body {s}")),
        success,
    }
}

async fn get(store: &dyn Store, id: &str) -> Delivery {
    store
        .get_delivery(id)
        .await
        .unwrap()
        .expect("delivery exists")
}

fn json(e: &Endpoint) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

fn ids(claimed: &[crate::model::ClaimedDelivery]) -> Vec<String> {
    claimed.iter().map(|c| c.delivery.id.clone()).collect()
}

// ---- endpoints --------------------------------------------------------------------------------

/// Every field of an endpoint survives insert and get (secrets included).
pub async fn endpoint_round_trip(store: Arc<dyn Store>) {
    let mut ep = endpoint("t1");
    ep.status = EndpointStatus::Disabled {
        reason: "manual".to_owned(),
        at: T0 + 5,
    };
    ep.last_triggered_at = Some(T0 + 7);
    ep.fifo = true;
    insert(&*store, &ep).await.unwrap();
    let got = store.get_endpoint(&ep.id).await.unwrap().unwrap();
    assert_eq!(json(&got), json(&ep));
    assert_eq!(
        got.secrets[1].secret.expose_secret(),
        "old-secret-9876543210"
    );
    assert!(store.get_endpoint("ep_missing").await.unwrap().is_none());
}

/// Inserting a taken id fails with `AlreadyExists` and keeps the first.
pub async fn endpoint_insert_duplicate(store: Arc<dyn Store>) {
    let ep = add_endpoint(&*store, "t1", false).await;
    let mut other = endpoint("t2");
    other.id = ep.id.clone();
    let err = insert(&*store, &other).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { kind: "endpoint", ref id } if *id == ep.id),
        "{err:?}"
    );
    assert_eq!(
        store.get_endpoint(&ep.id).await.unwrap().unwrap().tenant,
        "t1"
    );
}

/// `insert_endpoint_within` counts and inserts atomically: 24 concurrent creates for one
/// tenant with a limit of 5 store exactly 5; other tenants are not counted; a taken id is
/// still `AlreadyExists`.
pub async fn endpoint_insert_within_limit_is_atomic(store: Arc<dyn Store>) {
    add_endpoint(&*store, "other", false).await;
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.insert_endpoint_within(&endpoint("t1"), 5).await })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            stored += 1;
        }
    }
    assert_eq!(stored, 5);
    assert_eq!(store.list_endpoints("t1").await.unwrap().len(), 5);
    assert_eq!(store.list_endpoints("other").await.unwrap().len(), 1);
    // At the limit nothing is stored.
    let late = endpoint("t1");
    assert!(!store.insert_endpoint_within(&late, 5).await.unwrap());
    assert!(store.get_endpoint(&late.id).await.unwrap().is_none());
    // Below the limit a taken id is refused as before.
    let mut dup = endpoint("t1");
    dup.id = store.list_endpoints("t1").await.unwrap()[0].id.clone();
    let err = store.insert_endpoint_within(&dup, 10).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                kind: "endpoint",
                ..
            }
        ),
        "{err:?}"
    );
}

/// `list_endpoints` returns only the tenant's endpoints, oldest first.
pub async fn endpoint_list_by_tenant_oldest_first(store: Arc<dyn Store>) {
    let mut a = endpoint("t1");
    a.created_at = T0 + 30;
    let mut b = endpoint("t1");
    b.created_at = T0 + 10;
    let mut c = endpoint("t1");
    c.created_at = T0 + 20;
    let other = endpoint("t2");
    for e in [&a, &b, &c, &other] {
        insert(&*store, e).await.unwrap();
    }
    let list: Vec<String> = store
        .list_endpoints("t1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(list, vec![b.id, c.id, a.id]);
    assert_eq!(store.list_endpoints("t2").await.unwrap().len(), 1);
    assert!(store.list_endpoints("nobody").await.unwrap().is_empty());
}

/// `rewrite_endpoints` visits every endpoint of every tenant once, in id order, in batches of
/// at most `limit`, and writes back only what the closure changed.
pub async fn endpoint_rewrite_in_batches(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for tenant in ["t1", "t2", "t1", "t3", "t2"] {
        ids.push(add_endpoint(&*store, tenant, false).await.id);
    }
    ids.sort();
    // Batches of 2 in id order over every tenant; only changed records are written.
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    let mut rewritten = 0;
    loop {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let order2 = Arc::clone(&order);
        let batch = store
            .rewrite_endpoints(
                after.as_deref(),
                2,
                Box::new(move |e| {
                    order2.lock().unwrap().push(e.id.clone());
                    if e.tenant == "t1" {
                        e.description = "rewritten".to_owned();
                        e.sealed = true;
                        true
                    } else {
                        e.description = "not written".to_owned();
                        false
                    }
                }),
            )
            .await
            .unwrap();
        let order = order.lock().unwrap().clone();
        assert_eq!(batch.seen, order.len());
        assert!(batch.seen <= 2);
        assert_eq!(batch.last_id, order.last().cloned());
        seen.extend(order);
        rewritten += batch.rewritten;
        match batch.last_id {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(rewritten, 2);
    for id in &ids {
        let e = store.get_endpoint(id).await.unwrap().unwrap();
        if e.tenant == "t1" {
            assert_eq!(e.description, "rewritten");
            assert!(e.sealed);
        } else {
            assert_eq!(e.description, "conformance");
            assert!(!e.sealed);
        }
        assert_eq!(e.secret_headers.len(), 1);
    }
}

/// `modify_endpoint` applies the change, stores it and returns it; unknown ids are `NotFound`.
pub async fn endpoint_modify(store: Arc<dyn Store>) {
    let ep = add_endpoint(&*store, "t1", false).await;
    let out = store
        .modify_endpoint(
            &ep.id,
            Box::new(|e| {
                e.url = "https://example.org/new".to_owned();
                e.fifo = true;
                e.status = EndpointStatus::Disabled {
                    reason: "410 Gone".to_owned(),
                    at: T0 + 1,
                };
                e.secrets.truncate(1);
                e.updated_at = T0 + 1;
            }),
        )
        .await
        .unwrap();
    assert_eq!(out.url, "https://example.org/new");
    let stored = store.get_endpoint(&ep.id).await.unwrap().unwrap();
    assert_eq!(json(&stored), json(&out));
    assert!(stored.fifo);
    assert!(!stored.is_enabled());
    assert_eq!(stored.secrets.len(), 1);

    let err = store
        .modify_endpoint("ep_missing", Box::new(|e| e.fifo = true))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                kind: "endpoint",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Concurrent read-modify-write changes never lose an update.
pub async fn endpoint_modify_concurrent_is_atomic(store: Arc<dyn Store>) {
    let ep = add_endpoint(&*store, "t1", false).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        let id = ep.id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .modify_endpoint(
                    &id,
                    Box::new(move |e| {
                        e.headers.push((format!("X-N-{i}"), i.to_string()));
                        e.timeout_ms += 1;
                    }),
                )
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let got = store.get_endpoint(&ep.id).await.unwrap().unwrap();
    assert_eq!(got.timeout_ms, 5_000 + 40);
    assert_eq!(got.headers.len(), 1 + 40);
    let names: HashSet<&str> = got.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 41);
}

/// Deleting an endpoint drops its open deliveries but keeps delivered/failed history.
pub async fn endpoint_delete_drops_open_deliveries(store: Arc<dyn Store>) {
    let ep = add_endpoint(&*store, "t1", false).await;
    let keep = add_endpoint(&*store, "t1", false).await;
    let d1 = send(&*store, "t1", &[&ep, &keep], T0, T0).await;
    let d2 = send(&*store, "t1", &[&ep], T0 + 1, T0).await;
    let d3 = send(&*store, "t1", &[&ep], T0 + 2, T0 + 1000 * SEC).await;
    // Deliver d1[0]; leave d2 in flight; d3 pending.
    let claimed = store.claim("w", T0, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let done = get(&*store, &d1[0]).await;
    store
        .complete(
            &done.id,
            "w",
            &attempt(&done, T0 + 1, Some(200), true),
            Completion::Delivered,
        )
        .await
        .unwrap();

    assert!(store.delete_endpoint(&ep.id).await.unwrap());
    assert!(!store.delete_endpoint(&ep.id).await.unwrap());
    assert!(store.get_endpoint(&ep.id).await.unwrap().is_none());
    assert_eq!(get(&*store, &d1[0]).await.state, DeliveryState::Delivered);
    assert!(store.get_delivery(&d2[0]).await.unwrap().is_none());
    assert!(store.get_delivery(&d3[0]).await.unwrap().is_none());
    // The other endpoint's delivery is untouched (still in flight).
    assert_eq!(get(&*store, &d1[1]).await.state, DeliveryState::InFlight);
    assert_eq!(store.queue_depth().await.unwrap(), 1);
    assert_eq!(
        store.attempts_for_endpoint(&ep.id, 10).await.unwrap().len(),
        1
    );
}

// ---- enqueue ----------------------------------------------------------------------------------

/// A message and its deliveries are stored as given, pending, with increasing `seq`.
pub async fn enqueue_and_read_back(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let b = add_endpoint(&*store, "t1", false).await;
    let msg = message("t1", T0, None);
    let dels = vec![
        NewDelivery {
            id: new_id("dlv"),
            endpoint_id: a.id.clone(),
            next_attempt_at: T0 + 5,
        },
        NewDelivery {
            id: new_id("dlv"),
            endpoint_id: b.id.clone(),
            next_attempt_at: T0 + 6,
        },
    ];
    let r = store.enqueue(&msg, &dels).await.unwrap();
    assert_eq!(
        r,
        EnqueueResult::Created {
            message_id: msg.id.clone(),
            deliveries: 2
        }
    );
    assert_eq!(store.get_message(&msg.id).await.unwrap(), Some(msg.clone()));
    assert!(store.get_message("msg_missing").await.unwrap().is_none());
    assert!(store.get_delivery("dlv_missing").await.unwrap().is_none());
    let d0 = get(&*store, &dels[0].id).await;
    let d1 = get(&*store, &dels[1].id).await;
    for (d, nd) in [(&d0, &dels[0]), (&d1, &dels[1])] {
        assert_eq!(d.message_id, msg.id);
        assert_eq!(d.endpoint_id, nd.endpoint_id);
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(d.attempts, 0);
        assert_eq!(d.next_attempt_at, nd.next_attempt_at);
        assert_eq!(
            d.due_since, nd.next_attempt_at,
            "due since its first due time"
        );
        assert_eq!(d.first_attempt_at, None);
        assert_eq!(d.lease_owner, None);
        assert_eq!(d.lease_expires_at, None);
        assert_eq!(d.last_error, None);
        assert_eq!(d.created_at, T0);
    }
    assert!(d1.seq > d0.seq);
    // A message with no deliveries (no subscriber) is stored too.
    let lone = message("t1", T0, None);
    assert_eq!(
        store.enqueue(&lone, &[]).await.unwrap(),
        EnqueueResult::Created {
            message_id: lone.id.clone(),
            deliveries: 0
        }
    );
    assert!(store.get_message(&lone.id).await.unwrap().is_some());
    // Binary payloads survive.
    let mut bin = message("t1", T0, None);
    bin.payload = (0..=255u8).collect();
    store.enqueue(&bin, &[]).await.unwrap();
    assert_eq!(
        store.get_message(&bin.id).await.unwrap().unwrap().payload,
        bin.payload
    );
}

/// Re-used message or delivery ids fail with `AlreadyExists` and store nothing.
pub async fn enqueue_duplicate_ids(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let ids = send(&*store, "t1", &[&a], T0, T0).await;
    let first = get(&*store, &ids[0]).await;

    let mut again = message("t1", T0, None);
    again.id = first.message_id.clone();
    let err = store.enqueue(&again, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                kind: "message",
                ..
            }
        ),
        "{err:?}"
    );

    let fresh = message("t1", T0, None);
    let dup = NewDelivery {
        id: ids[0].clone(),
        endpoint_id: a.id.clone(),
        next_attempt_at: T0,
    };
    let err = store.enqueue(&fresh, &[dup]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                kind: "delivery",
                ..
            }
        ),
        "{err:?}"
    );
    // All or nothing: the message of the failed enqueue is not there.
    assert!(store.get_message(&fresh.id).await.unwrap().is_none());
    assert_eq!(store.queue_depth().await.unwrap(), 1);
}

/// An idempotency key makes a repeated send of the same tenant a no-op, not another tenant's.
pub async fn idempotency_key_per_tenant(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = |ep: &Endpoint| {
        vec![NewDelivery {
            id: new_id("dlv"),
            endpoint_id: ep.id.clone(),
            next_attempt_at: T0,
        }]
    };
    let m1 = message("t1", T0, Some("order-42"));
    assert!(matches!(
        store.enqueue(&m1, &d(&a)).await.unwrap(),
        EnqueueResult::Created { .. }
    ));
    let m2 = message("t1", T0 + 1, Some("order-42"));
    let dels2 = d(&a);
    assert_eq!(
        store.enqueue(&m2, &dels2).await.unwrap(),
        EnqueueResult::Duplicate {
            message_id: m1.id.clone()
        }
    );
    assert!(store.get_message(&m2.id).await.unwrap().is_none());
    assert!(store.get_delivery(&dels2[0].id).await.unwrap().is_none());
    assert_eq!(store.queue_depth().await.unwrap(), 1);

    // Same key, other tenant: a different message.
    let m3 = message("t2", T0, Some("order-42"));
    assert!(matches!(
        store.enqueue(&m3, &d(&a)).await.unwrap(),
        EnqueueResult::Created { .. }
    ));
    // No key: never a duplicate.
    for _ in 0..2 {
        let m = message("t1", T0, None);
        assert!(matches!(
            store.enqueue(&m, &d(&a)).await.unwrap(),
            EnqueueResult::Created { .. }
        ));
    }
    assert_eq!(store.queue_depth().await.unwrap(), 4);
}

/// Many concurrent sends with one key: exactly one is created, all others name it.
pub async fn idempotency_concurrent_single_winner(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let ep = a.id.clone();
        tasks.push(tokio::spawn(async move {
            let m = message("t1", T0 + i, Some("same-key"));
            let d = NewDelivery {
                id: new_id("dlv"),
                endpoint_id: ep,
                next_attempt_at: T0,
            };
            (m.id.clone(), store.enqueue(&m, &[d]).await.unwrap())
        }));
    }
    let mut created = Vec::new();
    let mut dup_of = HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            (id, EnqueueResult::Created { message_id, .. }) => {
                assert_eq!(id, message_id);
                created.push(id);
            }
            (_, EnqueueResult::Duplicate { message_id }) => {
                dup_of.insert(message_id);
            }
        }
    }
    assert_eq!(created.len(), 1, "exactly one winner");
    assert!(dup_of.is_empty() || dup_of == HashSet::from([created[0].clone()]));
    assert_eq!(store.queue_depth().await.unwrap(), 1);
}

/// `list_deliveries` filters by endpoint, message and state, newest first, with a limit.
pub async fn list_deliveries_filters_and_order(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let b = add_endpoint(&*store, "t1", false).await;
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(send(&*store, "t1", &[&a, &b], T0 + i, T0 + 1000 * SEC).await);
    }
    let list = |f: DeliveryFilter| {
        let store = store.clone();
        async move {
            store
                .list_deliveries(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        }
    };
    let by_a = list(DeliveryFilter {
        endpoint_id: Some(a.id.clone()),
        ..Default::default()
    })
    .await;
    let expect: Vec<String> = all.iter().rev().map(|v| v[0].clone()).collect();
    assert_eq!(by_a, expect);

    let first_msg = get(&*store, &all[0][0]).await.message_id;
    let mut by_msg = list(DeliveryFilter {
        message_id: Some(first_msg),
        ..Default::default()
    })
    .await;
    by_msg.sort();
    let mut expect = all[0].clone();
    expect.sort();
    assert_eq!(by_msg, expect);

    let limited = list(DeliveryFilter {
        limit: Some(3),
        ..Default::default()
    })
    .await;
    assert_eq!(limited.len(), 3);
    assert!(limited.contains(&all[4][0]) && limited.contains(&all[4][1]));

    assert_eq!(
        list(DeliveryFilter {
            state: Some(DeliveryState::Pending),
            ..Default::default()
        })
        .await
        .len(),
        10
    );
    assert!(
        list(DeliveryFilter {
            state: Some(DeliveryState::Delivered),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let combined = list(DeliveryFilter {
        endpoint_id: Some(b.id.clone()),
        state: Some(DeliveryState::Pending),
        limit: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(combined, vec![all[4][1].clone(), all[3][1].clone()]);
}

// ---- claims -----------------------------------------------------------------------------------

/// Only due deliveries are claimed, in `(next_attempt_at, seq)` order.
pub async fn claim_due_only_oldest_first(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let late = send(&*store, "t1", &[&a], T0, T0 + 3 * SEC).await;
    let early = send(&*store, "t1", &[&a], T0 + 1, T0 + SEC).await;
    let mid1 = send(&*store, "t1", &[&a], T0 + 2, T0 + 2 * SEC).await;
    let mid2 = send(&*store, "t1", &[&a], T0 + 3, T0 + 2 * SEC).await;
    let future = send(&*store, "t1", &[&a], T0 + 4, T0 + 60 * SEC).await;

    let long = Duration::from_secs(3600);
    assert!(store.claim("w", T0, long, 10).await.unwrap().is_empty());
    let got = ids(&store.claim("w", T0 + 3 * SEC, long, 10).await.unwrap());
    assert_eq!(
        got,
        vec![
            early[0].clone(),
            mid1[0].clone(),
            mid2[0].clone(),
            late[0].clone()
        ]
    );
    assert_eq!(get(&*store, &future[0]).await.state, DeliveryState::Pending);
    // Due exactly at now counts.
    let got = ids(&store.claim("w", T0 + 60 * SEC, long, 10).await.unwrap());
    assert_eq!(got, future);
}

/// A claim marks deliveries in flight under the worker's lease and returns message + endpoint.
pub async fn claim_sets_lease_and_returns_context(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    let claimed = store.claim("worker-1", T0 + 10, LEASE, 5).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!(c.delivery.id, d[0]);
    assert_eq!(c.delivery.state, DeliveryState::InFlight);
    assert_eq!(c.delivery.lease_owner.as_deref(), Some("worker-1"));
    assert_eq!(c.delivery.lease_expires_at, Some(T0 + 10 + 30 * SEC));
    assert_eq!(c.delivery.attempts, 0);
    assert_eq!(c.message.id, c.delivery.message_id);
    assert_eq!(c.message.payload, format!("{{\"n\":{T0}}}").into_bytes());
    assert_eq!(json(&c.endpoint), json(&a));
    assert_eq!(get(&*store, &d[0]).await, c.delivery);
    // Held under a live lease: nobody else gets it.
    assert!(
        store
            .claim("worker-2", T0 + 20, LEASE, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.queue_depth().await.unwrap(), 1);
}

/// Deliveries of disabled endpoints are not claimed; enabling makes them claimable again.
pub async fn claim_skips_disabled_endpoints(store: Arc<dyn Store>) {
    let on = add_endpoint(&*store, "t1", false).await;
    let off = add_endpoint(&*store, "t1", false).await;
    let d_off = send(&*store, "t1", &[&off], T0, T0).await;
    let d_on = send(&*store, "t1", &[&on], T0 + 1, T0 + 1).await;
    store
        .modify_endpoint(
            &off.id,
            Box::new(|e| {
                e.status = EndpointStatus::Disabled {
                    reason: "manual".to_owned(),
                    at: T0,
                }
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&store.claim("w", T0 + SEC, LEASE, 10).await.unwrap()),
        d_on
    );
    assert!(
        store
            .claim("w", T0 + SEC, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .modify_endpoint(&off.id, Box::new(|e| e.status = EndpointStatus::Enabled))
        .await
        .unwrap();
    assert_eq!(
        ids(&store.claim("w", T0 + SEC, LEASE, 10).await.unwrap()),
        d_off
    );
}

/// `limit` caps a claim; zero claims nothing.
pub async fn claim_respects_limit(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    for i in 0..7 {
        send(&*store, "t1", &[&a], T0 + i, T0 + i).await;
    }
    assert!(
        store
            .claim("w", T0 + SEC, LEASE, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.claim("w", T0 + SEC, LEASE, 3).await.unwrap().len(), 3);
    assert_eq!(store.claim("w", T0 + SEC, LEASE, 3).await.unwrap().len(), 3);
    assert_eq!(store.claim("w", T0 + SEC, LEASE, 3).await.unwrap().len(), 1);
    assert!(
        store
            .claim("w", T0 + SEC, LEASE, 3)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An expired lease makes the delivery claimable again, by another worker.
pub async fn lease_expiry_allows_reclaim(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    let lease = Duration::from_secs(10);
    assert_eq!(store.claim("w1", T0, lease, 1).await.unwrap().len(), 1);
    assert!(
        store
            .claim("w2", T0 + 10 * SEC - 1, lease, 1)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim("w2", T0 + 10 * SEC, lease, 1).await.unwrap();
    assert_eq!(ids(&again), d);
    assert_eq!(again[0].delivery.lease_owner.as_deref(), Some("w2"));
    assert_eq!(again[0].delivery.lease_expires_at, Some(T0 + 20 * SEC));
    assert_eq!(again[0].delivery.attempts, 0);
}

/// After another worker re-claimed an expired lease, the first worker's results are refused
/// with `LeaseLost` and nothing of them is written.
pub async fn stolen_lease_is_lost(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    let lease = Duration::from_secs(10);
    store.claim("w1", T0, lease, 1).await.unwrap();
    // Past expiry but not re-claimed: w1 still holds it and may renew.
    store.renew_lease(&d[0], "w1", T0 + 20 * SEC).await.unwrap();
    assert!(
        store
            .claim("w2", T0 + 15 * SEC, lease, 1)
            .await
            .unwrap()
            .is_empty()
    );
    let stolen = store.claim("w2", T0 + 20 * SEC, lease, 1).await.unwrap();
    assert_eq!(ids(&stolen), d);

    let before = get(&*store, &d[0]).await;
    let att = attempt(&before, T0 + 21 * SEC, Some(200), true);
    for r in [
        store
            .complete(&d[0], "w1", &att, Completion::Delivered)
            .await,
        store.renew_lease(&d[0], "w1", T0 + 99 * SEC).await,
        store.release(&d[0], "w1", T0).await,
    ] {
        let err = r.unwrap_err();
        assert!(
            matches!(err, StoreError::LeaseLost(ref id) if *id == d[0]),
            "{err:?}"
        );
    }
    assert_eq!(get(&*store, &d[0]).await, before);
    assert!(
        store
            .attempts_for_message(&before.message_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .get_endpoint(&a.id)
            .await
            .unwrap()
            .unwrap()
            .last_triggered_at
            .is_none()
    );
    // The thief completes normally.
    store
        .complete(&d[0], "w2", &att, Completion::Delivered)
        .await
        .unwrap();
    assert_eq!(get(&*store, &d[0]).await.state, DeliveryState::Delivered);
}

/// `renew_lease` moves the deadline so an old expiry no longer frees the delivery.
pub async fn renew_lease_extends(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    store
        .claim("w1", T0, Duration::from_secs(5), 1)
        .await
        .unwrap();
    store.renew_lease(&d[0], "w1", T0 + 60 * SEC).await.unwrap();
    assert_eq!(
        get(&*store, &d[0]).await.lease_expires_at,
        Some(T0 + 60 * SEC)
    );
    assert!(
        store
            .claim("w2", T0 + 30 * SEC, LEASE, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim("w2", T0 + 60 * SEC, LEASE, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let err = store
        .renew_lease("dlv_missing", "w1", T0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// `renew_leases` renews every lease the worker holds in one call and returns the ids it does
/// not hold (another worker's, released, unknown), leaving those unchanged.
pub async fn renew_leases_batch_reports_lost(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let mut d = Vec::new();
    for _ in 0..4 {
        d.extend(send(&*store, "t1", &[&a], T0, T0).await);
    }
    let lease = Duration::from_secs(5);
    assert_eq!(store.claim("w1", T0, lease, 3).await.unwrap().len(), 3);
    assert_eq!(store.claim("w2", T0, lease, 1).await.unwrap().len(), 1);
    let mine: Vec<String> = {
        let held = store
            .list_deliveries(&DeliveryFilter::default())
            .await
            .unwrap();
        held.into_iter()
            .filter(|x| x.lease_owner.as_deref() == Some("w1"))
            .map(|x| x.id)
            .collect()
    };
    assert_eq!(mine.len(), 3);
    let theirs = d.iter().find(|id| !mine.contains(id)).unwrap().clone();
    store.release(&mine[2], "w1", T0).await.unwrap();
    let ask = vec![
        mine[0].clone(),
        mine[1].clone(),
        mine[2].clone(),
        theirs.clone(),
        "dlv_missing".to_owned(),
    ];
    let mut lost = store.renew_leases("w1", &ask, T0 + 60 * SEC).await.unwrap();
    lost.sort();
    let mut expected = vec![mine[2].clone(), theirs.clone(), "dlv_missing".to_owned()];
    expected.sort();
    assert_eq!(lost, expected);
    for id in &mine[..2] {
        assert_eq!(get(&*store, id).await.lease_expires_at, Some(T0 + 60 * SEC));
    }
    assert_eq!(
        get(&*store, &theirs).await.lease_expires_at,
        Some(T0 + 5 * SEC)
    );
    assert_eq!(get(&*store, &mine[2]).await.state, DeliveryState::Pending);
    // Past the old expiry only the released and the unrenewed one are claimable.
    let again = store.claim("w3", T0 + 30 * SEC, LEASE, 10).await.unwrap();
    let mut ids: Vec<String> = again.into_iter().map(|c| c.delivery.id).collect();
    ids.sort();
    let mut want = vec![mine[2].clone(), theirs];
    want.sort();
    assert_eq!(ids, want);
    assert!(store.renew_leases("w1", &[], T0).await.unwrap().is_empty());
}

/// `complete` records the attempt and applies retry / delivered / failed atomically.
pub async fn complete_retry_delivered_failed(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a, &a], T0, T0).await;
    let (ok_id, bad_id) = (&d[0], &d[1]);
    store.claim("w", T0, LEASE, 10).await.unwrap();

    // First attempt of ok_id: 503, retry in 5 s.
    let cur = get(&*store, ok_id).await;
    let a1 = attempt(&cur, T0 + 100, Some(503), false);
    store
        .complete(ok_id, "w", &a1, Completion::Retry { at: T0 + 5 * SEC })
        .await
        .unwrap();
    let cur = get(&*store, ok_id).await;
    assert_eq!(cur.state, DeliveryState::Pending);
    assert_eq!(cur.attempts, 1);
    assert_eq!(cur.next_attempt_at, T0 + 5 * SEC);
    assert_eq!(cur.first_attempt_at, Some(T0 + 100));
    assert_eq!(cur.due_since, T0, "a retry keeps the first due time");
    assert_eq!(cur.lease_owner, None);
    assert_eq!(cur.lease_expires_at, None);
    assert_eq!(cur.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(
        store
            .get_endpoint(&a.id)
            .await
            .unwrap()
            .unwrap()
            .last_triggered_at,
        Some(T0 + 100)
    );
    assert!(
        store
            .claim("w", T0 + 5 * SEC - 1, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Second attempt delivers.
    assert_eq!(
        store
            .claim("w", T0 + 5 * SEC, LEASE, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let cur = get(&*store, ok_id).await;
    let a2 = attempt(&cur, T0 + 5 * SEC + 1, Some(204), true);
    store
        .complete(ok_id, "w", &a2, Completion::Delivered)
        .await
        .unwrap();
    let cur = get(&*store, ok_id).await;
    assert_eq!(cur.state, DeliveryState::Delivered);
    assert_eq!(cur.attempts, 2);
    assert_eq!(cur.first_attempt_at, Some(T0 + 100));
    assert_eq!(cur.due_since, T0);
    assert_eq!(cur.last_error, None);
    assert_eq!(cur.lease_owner, None);

    // bad_id fails permanently on a transport error.
    let cur = get(&*store, bad_id).await;
    let a3 = attempt(&cur, T0 + 200, None, false);
    store
        .complete(bad_id, "w", &a3, Completion::Failed)
        .await
        .unwrap();
    let cur = get(&*store, bad_id).await;
    assert_eq!(cur.state, DeliveryState::Failed);
    assert_eq!(cur.attempts, 1);
    assert_eq!(cur.last_error.as_deref(), Some("connection refused"));

    assert_eq!(
        store.attempts_for_message(&cur.message_id).await.unwrap(),
        vec![a1, a3, a2]
    );
    assert_eq!(
        store
            .get_endpoint(&a.id)
            .await
            .unwrap()
            .unwrap()
            .last_triggered_at,
        Some(T0 + 5 * SEC + 1)
    );
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    // Finished deliveries are never claimed.
    assert!(
        store
            .claim("w", T0 + 1000 * SEC, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `complete` without the lease (pending, finished, other owner, unknown) writes nothing.
pub async fn complete_requires_lease(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    let cur = get(&*store, &d[0]).await;
    let att = attempt(&cur, T0, Some(200), true);
    // Pending: never claimed.
    let err = store
        .complete(&d[0], "w", &att, Completion::Delivered)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    store.claim("w", T0, LEASE, 1).await.unwrap();
    // Wrong owner.
    let err = store
        .complete(&d[0], "other", &att, Completion::Delivered)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    store
        .complete(&d[0], "w", &att, Completion::Delivered)
        .await
        .unwrap();
    // Twice: the lease went with the first completion.
    let mut att2 = att.clone();
    att2.id = new_id("att");
    let err = store
        .complete(&d[0], "w", &att2, Completion::Delivered)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    let err = store
        .complete("dlv_missing", "w", &att2, Completion::Delivered)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(get(&*store, &d[0]).await.attempts, 1);
    assert_eq!(
        store.attempts_for_message(&cur.message_id).await.unwrap(),
        vec![att]
    );
}

/// `complete_batch` records each item as `complete` would and answers each in order:
/// refused items (no lease, another owner, unknown, a delivery named again) write nothing
/// and do not stop the rest.
pub async fn complete_batch_per_item(store: Arc<dyn Store>) {
    assert!(store.complete_batch(Vec::new()).await.unwrap().is_empty());
    let a = add_endpoint(&*store, "t1", false).await;
    let b = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a, &a, &b, &a], T0, T0).await;
    // d[3] stays pending (never claimed).
    assert_eq!(store.claim("w", T0, LEASE, 3).await.unwrap().len(), 3);
    let att = |id: &str, at: UnixMillis, status: u16, success: bool| {
        let id = id.to_owned();
        let store = Arc::clone(&store);
        async move { attempt(&get(&*store, &id).await, at, Some(status), success) }
    };
    let a0 = att(&d[0], T0 + 10, 200, true).await;
    let a1 = att(&d[1], T0 + 30, 503, false).await;
    let a2 = att(&d[2], T0 + 20, 200, true).await;
    let a3 = att(&d[3], T0 + 40, 200, true).await;
    let mut twice = a0.clone();
    twice.id = new_id("att");
    let mut unknown = a0.clone();
    unknown.id = new_id("att");
    unknown.delivery_id = "dlv_missing".to_owned();
    let mut stolen = a2.clone();
    stolen.id = new_id("att");
    let results = store
        .complete_batch(vec![
            CompletedAttempt::new("w", a0.clone(), Completion::Delivered),
            CompletedAttempt::new("w", a1.clone(), Completion::Retry { at: T0 + 5 * SEC }),
            CompletedAttempt::new("other", stolen, Completion::Failed),
            CompletedAttempt::new("w", a3, Completion::Delivered),
            CompletedAttempt::new("w", twice, Completion::Failed),
            CompletedAttempt::new("w", unknown, Completion::Delivered),
        ])
        .await
        .unwrap();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(()) => "ok",
            Err(StoreError::LeaseLost(_)) => "lease lost",
            Err(StoreError::NotFound { .. }) => "not found",
            Err(_) => "other error",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ok",
            "ok",
            "lease lost",
            "lease lost",
            "lease lost",
            "not found",
        ]
    );
    // The refused item left d[2]'s lease with "w".
    let r = store
        .complete_batch(vec![CompletedAttempt::new(
            "w",
            a2.clone(),
            Completion::Delivered,
        )])
        .await
        .unwrap();
    assert!(matches!(r.as_slice(), [Ok(())]), "{r:?}");
    let d0 = get(&*store, &d[0]).await;
    assert_eq!((d0.state, d0.attempts), (DeliveryState::Delivered, 1));
    assert_eq!(d0.lease_owner, None);
    let d1 = get(&*store, &d[1]).await;
    assert_eq!(d1.state, DeliveryState::Pending);
    assert_eq!(d1.next_attempt_at, T0 + 5 * SEC);
    assert_eq!(d1.first_attempt_at, Some(T0 + 30));
    assert_eq!(d1.last_error.as_deref(), Some("HTTP 503"));
    let d2 = get(&*store, &d[2]).await;
    assert_eq!((d2.state, d2.attempts), (DeliveryState::Delivered, 1));
    let d3 = get(&*store, &d[3]).await;
    assert_eq!((d3.state, d3.attempts), (DeliveryState::Pending, 0));
    assert_eq!(
        store.attempts_for_message(&d0.message_id).await.unwrap(),
        vec![a0, a2, a1]
    );
    // The latest attempt time per endpoint (a max over the batch).
    let last = |id: String| {
        let store = Arc::clone(&store);
        async move {
            store
                .get_endpoint(&id)
                .await
                .unwrap()
                .unwrap()
                .last_triggered_at
        }
    };
    assert_eq!(last(a.id.clone()).await, Some(T0 + 30));
    assert_eq!(last(b.id.clone()).await, Some(T0 + 20));
    assert_eq!(store.queue_depth().await.unwrap(), 2);
}

/// A batch of a few hundred completions over several endpoints is recorded whole.
pub async fn complete_batch_large(store: Arc<dyn Store>) {
    let eps = [
        add_endpoint(&*store, "t1", false).await,
        add_endpoint(&*store, "t1", false).await,
        add_endpoint(&*store, "t1", false).await,
    ];
    let refs: Vec<&Endpoint> = eps.iter().collect();
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.extend(send(&*store, "t1", &refs, T0 + i, T0).await);
    }
    let claimed = store.claim("w", T0, LEASE, 1000).await.unwrap();
    assert_eq!(claimed.len(), 300);
    let batch: Vec<CompletedAttempt> = claimed
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = T0 + 1000 + i64::try_from(i).unwrap();
            CompletedAttempt::new(
                "w",
                attempt(&c.delivery, at, Some(204), true),
                Completion::Delivered,
            )
        })
        .collect();
    let results = store.complete_batch(batch).await.unwrap();
    assert_eq!(results.len(), 300);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    for id in &ids {
        let d = get(&*store, id).await;
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 1), "{id}");
    }
    let latest: Vec<Option<UnixMillis>> = {
        let mut v = Vec::new();
        for e in &eps {
            v.push(
                store
                    .get_endpoint(&e.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .last_triggered_at,
            );
        }
        v
    };
    assert!(latest.iter().all(Option::is_some));
    assert_eq!(latest.iter().flatten().max(), Some(&(T0 + 1299)));
}

/// `release` gives a delivery back without an attempt.
pub async fn release_returns_to_queue(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    store.claim("w", T0, LEASE, 1).await.unwrap();
    let err = store.release(&d[0], "other", T0).await.unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    store.release(&d[0], "w", T0 + 7).await.unwrap();
    let cur = get(&*store, &d[0]).await;
    assert_eq!(cur.state, DeliveryState::Pending);
    assert_eq!(cur.next_attempt_at, T0 + 7);
    assert_eq!(cur.due_since, T0, "a release keeps the first due time");
    assert_eq!(cur.attempts, 0);
    assert_eq!(cur.lease_owner, None);
    assert_eq!(cur.lease_expires_at, None);
    assert!(
        store
            .attempts_for_message(&cur.message_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim("w2", T0 + 6, LEASE, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ids(&store.claim("w2", T0 + 7, LEASE, 1).await.unwrap()), d);
    let err = store.release(&d[0], "w", T0).await.unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
}

/// A FIFO endpoint yields only its oldest open delivery, one at a time, in creation order;
/// other endpoints are not held up.
pub async fn fifo_one_at_a_time(store: Arc<dyn Store>) {
    let fifo = add_endpoint(&*store, "t1", true).await;
    let free = add_endpoint(&*store, "t1", false).await;
    let mut order = Vec::new();
    let mut free_ids = Vec::new();
    // Created in order 0..4 but due in reverse: FIFO must still follow creation order.
    for i in 0..4 {
        order.push(send(&*store, "t1", &[&fifo], T0 + i, T0 + 10 - i).await[0].clone());
        free_ids.push(send(&*store, "t1", &[&free], T0 + i, T0).await[0].clone());
    }
    let now = T0 + SEC;
    let first = ids(&store.claim("w", now, LEASE, 100).await.unwrap());
    assert_eq!(first.len(), 5);
    assert!(first.contains(&order[0]));
    for f in &free_ids {
        assert!(first.contains(f));
    }
    for expected in order.iter().skip(1) {
        // Nothing more from the FIFO endpoint while its head is in flight.
        assert!(store.claim("w2", now, LEASE, 100).await.unwrap().is_empty());
        let prev = store
            .list_deliveries(&DeliveryFilter {
                endpoint_id: Some(fifo.id.clone()),
                state: Some(DeliveryState::InFlight),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(prev.len(), 1);
        let p = &prev[0];
        store
            .complete(
                &p.id,
                "w",
                &attempt(p, now, Some(200), true),
                Completion::Delivered,
            )
            .await
            .unwrap();
        let next = store.claim("w", now, LEASE, 100).await.unwrap();
        assert_eq!(ids(&next), vec![expected.clone()]);
    }
}

/// A FIFO head waiting for a retry holds back the rest; a failed head lets the next go.
pub async fn fifo_head_waits_for_retry(store: Arc<dyn Store>) {
    let fifo = add_endpoint(&*store, "t1", true).await;
    let d1 = send(&*store, "t1", &[&fifo], T0, T0).await;
    let d2 = send(&*store, "t1", &[&fifo], T0 + 1, T0).await;
    store.claim("w", T0, LEASE, 10).await.unwrap();
    let cur = get(&*store, &d1[0]).await;
    store
        .complete(
            &d1[0],
            "w",
            &attempt(&cur, T0, Some(500), false),
            Completion::Retry { at: T0 + 60 * SEC },
        )
        .await
        .unwrap();
    // d2 is due but must wait for d1.
    assert!(
        store
            .claim("w", T0 + SEC, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&store.claim("w", T0 + 60 * SEC, LEASE, 10).await.unwrap()),
        d1
    );
    let cur = get(&*store, &d1[0]).await;
    store
        .complete(
            &d1[0],
            "w",
            &attempt(&cur, T0 + 60 * SEC, Some(500), false),
            Completion::Failed,
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&store.claim("w", T0 + 60 * SEC, LEASE, 10).await.unwrap()),
        d2
    );
}

/// A FIFO head whose worker died is reclaimed before anything behind it.
pub async fn fifo_expired_head_reclaimed_first(store: Arc<dyn Store>) {
    let fifo = add_endpoint(&*store, "t1", true).await;
    let d1 = send(&*store, "t1", &[&fifo], T0, T0).await;
    let _d2 = send(&*store, "t1", &[&fifo], T0 + 1, T0).await;
    let lease = Duration::from_secs(10);
    assert_eq!(ids(&store.claim("dead", T0, lease, 10).await.unwrap()), d1);
    assert!(
        store
            .claim("w", T0 + 9 * SEC, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim("w", T0 + 10 * SEC, lease, 10).await.unwrap();
    assert_eq!(ids(&again), d1);
    assert_eq!(again[0].delivery.lease_owner.as_deref(), Some("w"));
}

// ---- operator actions -------------------------------------------------------------------------

/// `fail_pending_for_endpoint` fails pending deliveries only, of that endpoint only.
pub async fn fail_pending_for_endpoint_only_pending(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let b = add_endpoint(&*store, "t1", false).await;
    let flying = send(&*store, "t1", &[&a], T0, T0).await;
    store.claim("w", T0, LEASE, 10).await.unwrap();
    let p1 = send(&*store, "t1", &[&a, &b], T0 + 1, T0 + 1).await;
    let p2 = send(&*store, "t1", &[&a], T0 + 2, T0 + 999 * SEC).await;
    let n = store
        .fail_pending_for_endpoint(&a.id, "endpoint disabled")
        .await
        .unwrap();
    assert_eq!(n, 2);
    for id in [&p1[0], &p2[0]] {
        let d = get(&*store, id).await;
        assert_eq!(d.state, DeliveryState::Failed);
        assert_eq!(d.last_error.as_deref(), Some("endpoint disabled"));
    }
    assert_eq!(
        get(&*store, &flying[0]).await.state,
        DeliveryState::InFlight
    );
    assert_eq!(get(&*store, &p1[1]).await.state, DeliveryState::Pending);
    assert_eq!(
        store
            .fail_pending_for_endpoint(&a.id, "again")
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.queue_depth().await.unwrap(), 2);
}

/// `redeliver` puts a finished delivery back to pending, due now, keeping its history.
pub async fn redeliver_puts_back(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a], T0, T0).await;
    store.claim("w", T0, LEASE, 1).await.unwrap();
    let cur = get(&*store, &d[0]).await;
    store
        .complete(
            &d[0],
            "w",
            &attempt(&cur, T0, Some(200), true),
            Completion::Delivered,
        )
        .await
        .unwrap();
    store.redeliver(&d[0], T0 + 50 * SEC).await.unwrap();
    let cur = get(&*store, &d[0]).await;
    assert_eq!(cur.state, DeliveryState::Pending);
    assert_eq!(cur.next_attempt_at, T0 + 50 * SEC);
    assert_eq!(cur.attempts, 1);
    assert_eq!(cur.first_attempt_at, Some(T0));
    assert_eq!(
        cur.due_since,
        T0 + 50 * SEC,
        "a redelivery is due from its own time"
    );
    assert_eq!(
        store
            .attempts_for_message(&cur.message_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 50 * SEC));
    let got = store.claim("w", T0 + 50 * SEC, LEASE, 1).await.unwrap();
    assert_eq!(ids(&got), d);
    // In flight: unchanged.
    let before = get(&*store, &d[0]).await;
    store.redeliver(&d[0], T0 + 99 * SEC).await.unwrap();
    assert_eq!(get(&*store, &d[0]).await, before);
    let err = store.redeliver("dlv_missing", T0).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// `recover` re-queues the endpoint's failed deliveries created at or after `since`.
pub async fn recover_failed_since(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let b = add_endpoint(&*store, "t1", false).await;
    let old = send(&*store, "t1", &[&a], T0, T0).await;
    let new1 = send(&*store, "t1", &[&a, &b], T0 + 10 * SEC, T0).await;
    let new2 = send(&*store, "t1", &[&a], T0 + 20 * SEC, T0).await;
    let ok = send(&*store, "t1", &[&a], T0 + 30 * SEC, T0).await;
    let claimed = store.claim("w", T0 + 40 * SEC, LEASE, 100).await.unwrap();
    assert_eq!(claimed.len(), 5);
    for c in &claimed {
        let completion = if c.delivery.id == ok[0] {
            Completion::Delivered
        } else {
            Completion::Failed
        };
        store
            .complete(
                &c.delivery.id,
                "w",
                &attempt(&c.delivery, T0 + 40 * SEC, Some(400), false),
                completion,
            )
            .await
            .unwrap();
    }
    let n = store
        .recover(&a.id, T0 + 10 * SEC, T0 + 50 * SEC)
        .await
        .unwrap();
    assert_eq!(n, 2);
    for id in [&new1[0], &new2[0]] {
        let d = get(&*store, id).await;
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(d.next_attempt_at, T0 + 50 * SEC);
        assert_eq!(
            d.due_since,
            T0 + 50 * SEC,
            "a recovery is due from its own time"
        );
        assert_eq!(d.attempts, 1);
    }
    let left = get(&*store, &old[0]).await;
    assert_eq!((left.state, left.due_since), (DeliveryState::Failed, T0));
    assert_eq!(get(&*store, &new1[1]).await.state, DeliveryState::Failed);
    assert_eq!(get(&*store, &ok[0]).await.state, DeliveryState::Delivered);
    assert_eq!(store.queue_depth().await.unwrap(), 2);
}

// ---- attempt log and housekeeping -------------------------------------------------------------

/// The attempt log by message (in order), by endpoint (newest first, limited), and failures
/// in a half-open time range (oldest first).
pub async fn attempt_queries(store: Arc<dyn Store>) {
    let a = add_endpoint(&*store, "t1", false).await;
    let b = add_endpoint(&*store, "t1", false).await;
    let d = send(&*store, "t1", &[&a, &b], T0, T0).await;
    let mut log = Vec::new();
    // Attempts at T0+1s.. alternating endpoints; every 3rd one succeeds at the end.
    for round in 0..3i64 {
        let claimed = store
            .claim("w", T0 + round * 100 * SEC, LEASE, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "round {round}");
        for (k, c) in claimed.iter().enumerate() {
            let at = T0 + round * 100 * SEC + (k as i64 + 1) * SEC;
            let last = round == 2;
            let att = attempt(&c.delivery, at, Some(if last { 200 } else { 502 }), last);
            let completion = if last {
                Completion::Delivered
            } else {
                Completion::Retry {
                    at: T0 + (round + 1) * 100 * SEC,
                }
            };
            store
                .complete(&c.delivery.id, "w", &att, completion)
                .await
                .unwrap();
            log.push(att);
        }
    }
    let msg = get(&*store, &d[0]).await.message_id;
    let by_msg = store.attempts_for_message(&msg).await.unwrap();
    let mut expect = log.clone();
    expect.sort_by_key(|a| a.at);
    assert_eq!(by_msg, expect);
    assert!(
        store
            .attempts_for_message("msg_missing")
            .await
            .unwrap()
            .is_empty()
    );

    let by_a = store.attempts_for_endpoint(&a.id, 2).await.unwrap();
    let mut expect_a: Vec<Attempt> = log
        .iter()
        .filter(|x| x.endpoint_id == a.id)
        .cloned()
        .collect();
    expect_a.sort_by_key(|x| std::cmp::Reverse(x.at));
    assert_eq!(by_a, expect_a[..2].to_vec());
    assert_eq!(
        store.attempts_for_endpoint(&b.id, 100).await.unwrap().len(),
        3
    );
    let numbers: Vec<u32> = store
        .attempts_for_endpoint(&b.id, 100)
        .await
        .unwrap()
        .iter()
        .map(|x| x.number)
        .collect();
    assert_eq!(numbers, vec![3, 2, 1]);

    let failed = store.failed_attempts(T0, T0 + 200 * SEC).await.unwrap();
    let mut expect_f: Vec<Attempt> = log.iter().filter(|x| !x.success).cloned().collect();
    expect_f.sort_by_key(|x| x.at);
    assert_eq!(failed, expect_f);
    // Half-open: `to` itself is excluded, `from` included.
    let first_at = expect_f[0].at;
    assert!(
        store
            .failed_attempts(T0, first_at)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .failed_attempts(first_at, first_at + 1)
            .await
            .unwrap()
            .len(),
        1
    );
    // Successes never appear.
    assert!(
        store
            .failed_attempts(T0 + 200 * SEC, T0 + 300 * SEC)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `queue_depth` counts pending and in-flight; `next_due` is the earliest pending due time.
pub async fn queue_depth_and_next_due(store: Arc<dyn Store>) {
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    assert_eq!(store.next_due().await.unwrap(), None);
    let a = add_endpoint(&*store, "t1", false).await;
    let first = send(&*store, "t1", &[&a], T0, T0 + 5 * SEC).await;
    send(&*store, "t1", &[&a], T0, T0 + 9 * SEC).await;
    send(&*store, "t1", &[&a], T0, T0 + 7 * SEC).await;
    assert_eq!(store.queue_depth().await.unwrap(), 3);
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 5 * SEC));
    assert_eq!(
        ids(&store.claim("w", T0 + 5 * SEC, LEASE, 10).await.unwrap()),
        first
    );
    assert_eq!(store.queue_depth().await.unwrap(), 3);
    assert_eq!(store.next_due().await.unwrap(), Some(T0 + 7 * SEC));
    let cur = get(&*store, &first[0]).await;
    store
        .complete(
            &first[0],
            "w",
            &attempt(&cur, T0, Some(200), true),
            Completion::Delivered,
        )
        .await
        .unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 2);
    // wait_for_work returns within its timeout.
    let t = std::time::Instant::now();
    store.wait_for_work(Duration::from_millis(20)).await;
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// Claimers racing on a multi-thread runtime never get the same delivery, and together
/// they get every one.
pub async fn concurrent_claimers_disjoint(store: Arc<dyn Store>) {
    let eps = [
        add_endpoint(&*store, "t1", false).await,
        add_endpoint(&*store, "t1", false).await,
        add_endpoint(&*store, "t1", false).await,
    ];
    let refs: Vec<&Endpoint> = eps.iter().collect();
    let mut all = HashSet::new();
    for i in 0..100 {
        for id in send(&*store, "t1", &refs, T0 + i, T0 + i).await {
            all.insert(id);
        }
    }
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let got = store.claim(&name, T0 + 1000 * SEC, LEASE, 7).await.unwrap();
                if got.is_empty() {
                    break;
                }
                for c in got {
                    assert_eq!(c.delivery.lease_owner.as_deref(), Some(name.as_str()));
                    mine.push(c.delivery.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut workers_with_work = 0;
    for t in tasks {
        let mine = t.await.unwrap();
        if !mine.is_empty() {
            workers_with_work += 1;
        }
        for id in mine {
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    assert_eq!(seen, all);
    assert!(workers_with_work >= 1);
    // Every delivery is held by exactly the worker that got it.
    assert_eq!(store.queue_depth().await.unwrap(), 300);
    assert!(
        store
            .claim("late", T0 + 1000 * SEC, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- retention ----------------------------------------------------------------------------------

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

/// `purge` by age: delivered messages past their cutoff go with their deliveries and
/// attempts, failed ones only past theirs, a recent attempt keeps a message, unfinished ones
/// are never touched, and a purged idempotency key is free again.
pub async fn purge_by_age(store: Arc<dyn Store>) {
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
    // Every attempt is gone; the endpoints still know when they were last triggered.
    for (e, want) in [(&ep, T0 + 200 * SEC), (&ep2, at)] {
        let got = s
            .get_endpoint(&e.id)
            .await
            .unwrap()
            .unwrap()
            .last_triggered_at;
        assert_eq!(got, Some(want), "{}", e.id);
    }
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
pub async fn purge_in_bounded_steps_and_payloads(store: Arc<dyn Store>) {
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
