//! The dispatcher built from a PostgreSQL connection URL: two builders on one URL share one
//! registry and one queue. Needs a server: see `pg_support`.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod pg_support;

use std::time::Duration;

use common::TestServer;
use hookwire_dispatch::{DispatcherBuilder, NewEndpoint};
use hookwire_events::Family;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_from_a_url_shares_one_queue() {
    let schema = pg_support::fresh_schema();
    let _guard = pg_support::SchemaGuard {
        url: pg_support::url().to_owned(),
        schema: schema.clone(),
    };
    let server = TestServer::status(200).await;
    let sender = DispatcherBuilder::postgres_schema(pg_support::url(), &schema)
        .await
        .unwrap()
        .allow_loopback_http()
        .build()
        .unwrap();
    let worker = DispatcherBuilder::postgres_schema(pg_support::url(), &schema)
        .await
        .unwrap()
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let created = sender
        .create_endpoint(
            NewEndpoint::new("org-1", Family::ZeroTier, server.url("/hook"))
                .event_types(["NETWORK_JOIN"]),
        )
        .await
        .unwrap();
    // The other instance sees the endpoint and delivers what the first one accepted.
    assert_eq!(worker.list_endpoints("org-1").await.unwrap().len(), 1);
    worker.start().unwrap();
    sender
        .send(
            "org-1",
            "NETWORK_JOIN",
            br#"{"hook_type":"NETWORK_JOIN"}"#.to_vec(),
        )
        .await
        .unwrap();
    let got = server.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].body, br#"{"hook_type":"NETWORK_JOIN"}"#);
    assert_eq!(
        worker
            .get_endpoint(created.id())
            .await
            .unwrap()
            .unwrap()
            .endpoint
            .id,
        created.id()
    );
    worker.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_bad_url_is_a_store_error() {
    let err = DispatcherBuilder::postgres("not a url").await.unwrap_err();
    assert!(err.is_store(), "{err}");
    assert!(err.to_string().contains("invalid PostgreSQL URL"), "{err}");
}
