//! ZITADEL event executions through the durable dispatcher, delivered to loopback targets.
// Test helpers outside #[test] fns unwrap too (clippy.toml only covers test fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, zitadel_target_receive};
use hookwire_dispatch::Dispatcher;
use hookwire_dispatch::store::MemoryStore;
use hookwire_dispatch::zitadel::{ConfigError, DurableError, DurableEvents};
use hookwire_events::zitadel::{
    Condition, EventCondition, EventExecution, Execution, Payload, Target,
};
use serde_json::json;

const KEY: &str = "durable-target-key";

fn target(id: &str, url: &str, key: Option<&str>) -> Target {
    let mut t = Target::rest_webhook(id, url, Duration::from_secs(2), true);
    t.id = Some(id.to_owned());
    t.signing_key = key.map(str::to_owned);
    t
}

fn event(event_type: &str) -> EventExecution {
    serde_json::from_value(json!({
        "aggregateID": "336494809936035843",
        "aggregateType": "user",
        "resourceOwner": "336392597046099971",
        "instanceID": "336392597046034435",
        "version": "v2",
        "sequence": 1,
        "event_type": event_type,
        "created_at": "2025-09-05T08:55:36.156333Z",
        "userID": "336392597046755331",
        "event_payload": {"email": "mini@mouse.com", "userName": "mini@mouse.com"}
    }))
    .unwrap()
}

#[tokio::test]
async fn event_executions_are_delivered_durably_and_signed() {
    let group = TestServer::status(200).await;
    let all = TestServer::status(200).await;
    let dispatcher = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    dispatcher.start().unwrap();
    let durable = DurableEvents::register(
        &dispatcher,
        "zitadel-instance-1",
        [
            target("group", &group.url("/events"), Some(KEY)),
            target("all", &all.url("/events"), None),
        ],
        [
            Execution::new(
                Condition::Event(EventCondition::Group("user.human.*".into())),
                ["group".to_owned()],
            ),
            Execution::new(
                Condition::Event(EventCondition::All(true)),
                ["all".to_owned()],
            ),
            // Non-event executions are ignored here.
            Execution::new(
                Condition::Request(hookwire_events::zitadel::MethodCondition::All(true)),
                ["group".to_owned()],
            ),
        ],
    )
    .await
    .unwrap();
    assert!(durable.endpoint_id("group").is_some());

    let added = event("user.human.added");
    let results = durable.enqueue(&added).await.unwrap();
    assert_eq!(
        results.len(),
        1,
        "only the best match (the group) is enqueued"
    );
    let got = group.wait_for(1, Duration::from_secs(5)).await;
    // The target verifies the signature with its signing key and reads the event.
    let incoming = zitadel_target_receive(KEY, &got[0]).unwrap();
    let Payload::Event(e) = incoming else {
        panic!("not an event: {incoming:?}")
    };
    assert_eq!(e, added);

    // Outside the group: the `all` target (unsigned).
    durable.enqueue(&event("org.added")).await.unwrap();
    let got = all.wait_for(1, Duration::from_secs(5)).await;
    assert!(got[0].headers.get("zitadel-signature").is_none());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&got[0].body).unwrap()["event_type"],
        "org.added"
    );
    assert_eq!(group.count(), 1);
    dispatcher.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn unknown_targets_are_refused() {
    let dispatcher = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .build()
        .unwrap();
    let err = DurableEvents::register(
        &dispatcher,
        "t",
        [],
        [Execution::new(
            Condition::Event(EventCondition::All(true)),
            ["ghost".to_owned()],
        )],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        DurableError::Config(ConfigError::UnknownTarget(ref id)) if id == "ghost"
    ));
}
