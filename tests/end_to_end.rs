//! End to end across the workspace, through the facade crate: a durable dispatcher on a SQLite
//! file signs and sends one event of every family to a real axum server on 127.0.0.1, where
//! `hookwire-axum` verifies each request over the exact bytes received and parses it into the
//! family's typed event; a redelivered message is recognised by the replay guard.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use hookwire::axum::Receiver;
use hookwire::dispatch::model::{DeliveryFilter, DeliveryState, EnqueueResult};
use hookwire::dispatch::{Dispatcher, DispatcherBuilder, NewEndpoint};
use hookwire::events::Family;
use hookwire_e2e::{Log, Seen, bind, router, serve};
use serde_json::json;

/// One event of `family` as its vendor sends it, with its type.
fn sample(family: Family) -> (serde_json::Value, &'static str) {
    match family {
        Family::ZeroTier => (
            json!({"hook_id":"h-1","org_id":"o-1","hook_type":"NETWORK_JOIN",
                   "network_id":"19d9808567a17ccf","member_id":"a02505e545"}),
            "NETWORK_JOIN",
        ),
        Family::Zta => (
            json!({"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z",
                   "data":{"siteId":"site_abc123","path":"/pricing"}}),
            "pageview",
        ),
        Family::HubMessage => (
            json!({"message":{"_id":"019E6F1A93FE78DCB54332F9FF0C0001","contents":[
                     {"@class":".TextContent","message":"hello","type":"TEXT"}]},
                   "messageEventType":"NEW_MESSAGE"}),
            "NEW_MESSAGE",
        ),
        Family::Zitadel => (
            json!({"aggregateID":"336494809936035843","aggregateType":"user",
                   "resourceOwner":"336392597046099971","instanceID":"336392597046034435",
                   "version":"v2","sequence":1,"event_type":"user.human.added",
                   "created_at":"2025-09-05T08:55:36.156333Z","userID":"336392597046755331",
                   "event_payload":{"email":"mini@mouse.com"}}),
            "user.human.added",
        ),
        Family::Zentitle => (
            json!({"eventId":"event_e2e","eventDate":"2025-06-06T11:39:22.739326Z",
                   "eventCode":"customer.created","resourceId":"cust_1","callAttempt":1,
                   "payload":{"customerId":"cust_1","name":"Acme"}}),
            "customer.created",
        ),
        Family::StandardWebhooks => (
            json!({"type":"invoice.paid","timestamp":"2025-01-01T00:00:00Z",
                   "data":{"id":"inv_1","amount":1200}}),
            "invoice.paid",
        ),
    }
}

/// The type an endpoint subscribes to for `family`'s sample, as the dispatcher validates it
/// (for Hub Message the webhook event name the envelope maps to, not `messageEventType`).
fn subscription(family: Family) -> String {
    let (body, _) = sample(family);
    let event = hookwire::events::parse(family, &serde_json::to_vec(&body).unwrap()).unwrap();
    event.subscription_type().to_owned()
}

/// Every family, each with its own endpoint, receiver and scheme.
const FAMILIES: [Family; 6] = Family::ALL;

async fn wait_for(log: &Log, n: usize) -> Vec<Seen> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = log.lock().unwrap().clone();
        if seen.len() >= n {
            return seen;
        }
        assert!(Instant::now() < deadline, "{} of {n} arrived", seen.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct World {
    dispatcher: Dispatcher,
    log: Log,
    /// `(tenant, endpoint id)` per family, in `FAMILIES` order.
    endpoints: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

/// A dispatcher on a SQLite file with one endpoint per family, and a receiver per family
/// built from the verification secret the registry issued (shown once).
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let dispatcher = DispatcherBuilder::sqlite(dir.path().join("e2e.db"))
        .unwrap()
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let (listener, base) = bind().await.unwrap();
    let log = Log::default();
    let mut routes = Vec::new();
    let mut created = Vec::new();
    for family in FAMILIES {
        let tenant = format!("tenant-{}", family.name());
        let ep = dispatcher
            .create_endpoint(
                NewEndpoint::new(&tenant, family, format!("{base}/{}", family.name()))
                    .event_types([subscription(family)]),
            )
            .await
            .unwrap();
        // The registry shows the secret once: the receiver is configured with it.
        let issued = ep.secret.clone().expect("a signed endpoint");
        let scheme = ep
            .info
            .endpoint
            .scheme
            .clone()
            .expect("the family's scheme");
        let receiver = Receiver::new(&scheme, &[issued.verification])
            .unwrap()
            .with_family(family)
            .with_memory_replay_guard(1_000);
        routes.push((format!("/{}", family.name()), family, receiver));
        created.push((tenant, ep.id().to_owned()));
    }
    serve(listener, router(routes, &log));
    dispatcher.start().unwrap();
    World {
        dispatcher,
        log,
        endpoints: created,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_is_signed_delivered_verified_and_typed() {
    let w = world().await;
    let mut messages = Vec::new();
    for (family, (tenant, _)) in FAMILIES.iter().zip(&w.endpoints) {
        let (body, _) = sample(*family);
        let sent = w
            .dispatcher
            .send(
                tenant,
                &subscription(*family),
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap();
        let EnqueueResult::Created {
            message_id,
            deliveries: 1,
        } = sent
        else {
            panic!("{family}: {sent:?}")
        };
        messages.push(message_id);
    }
    let seen = wait_for(&w.log, FAMILIES.len()).await;
    for (family, message_id) in FAMILIES.iter().zip(&messages) {
        let got: Vec<&Seen> = seen.iter().filter(|s| s.family == *family).collect();
        assert_eq!(got.len(), 1, "{family}: {got:?}");
        let (body, event_type) = sample(*family);
        assert_eq!(got[0].event_type, event_type, "{family}");
        // The typed event re-serializes to the JSON that was sent: nothing lost in between.
        let back: serde_json::Value = serde_json::from_str(&got[0].json).unwrap();
        assert_eq!(back, body, "{family}");
        if *family == Family::StandardWebhooks {
            assert_eq!(got[0].id.as_deref(), Some(message_id.as_str()));
        }
        // The store agrees: delivered on the first attempt, a 2xx logged.
        let attempts = w.dispatcher.attempts_for_message(message_id).await.unwrap();
        assert_eq!(attempts.len(), 1, "{family}: {attempts:?}");
        assert!(attempts[0].success, "{family}: {attempts:?}");
        assert_eq!(attempts[0].status, Some(200), "{family}");
    }
    w.dispatcher.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_message_is_recognised_as_a_replay() {
    let w = world().await;
    let i = FAMILIES
        .iter()
        .position(|f| *f == Family::StandardWebhooks)
        .unwrap();
    let (tenant, endpoint) = &w.endpoints[i];
    let (body, event_type) = sample(Family::StandardWebhooks);
    let sent = w
        .dispatcher
        .send(tenant, event_type, serde_json::to_vec(&body).unwrap())
        .await
        .unwrap();
    let EnqueueResult::Created { message_id, .. } = sent else {
        panic!("{sent:?}")
    };
    wait_for(&w.log, 1).await;
    let delivery = w
        .dispatcher
        .deliveries(&DeliveryFilter {
            endpoint_id: Some(endpoint.clone()),
            state: Some(DeliveryState::Delivered),
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .expect("delivered");
    // Same message id on the wire: the replay guard answers 200 without running the handler.
    w.dispatcher.redeliver(&delivery.id).await.unwrap();
    w.dispatcher.wake();
    let deadline = Instant::now() + Duration::from_secs(10);
    let attempts = loop {
        let attempts = w
            .dispatcher
            .attempts_for_message(&message_id)
            .await
            .unwrap();
        if attempts.len() == 2 {
            break attempts;
        }
        assert!(Instant::now() < deadline, "no second attempt: {attempts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(attempts.iter().all(|a| a.success), "{attempts:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.log.lock().unwrap().len(), 1, "the handler ran twice");
    let again = w.dispatcher.delivery(&delivery.id).await.unwrap().unwrap();
    assert_eq!(again.state, DeliveryState::Delivered);
    w.dispatcher.shutdown(Duration::from_secs(2)).await;
}
