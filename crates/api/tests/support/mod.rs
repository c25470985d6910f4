//! A real API server on 127.0.0.1 over SQLite or PostgreSQL, two tenants, and a client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use hookwire_api::{ApiState, BearerTokens};
use hookwire_dispatch::store::Store;
use hookwire_dispatch::{Dispatcher, Limits};
use serde_json::Value;

#[cfg(feature = "postgres")]
#[path = "../../../dispatch/tests/pg_support/mod.rs"]
pub(crate) mod pg_support;

/// Which store the server runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// A running API server.
pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) client: reqwest::Client,
    pub(crate) dispatcher: Dispatcher,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

/// A response: status, content type, JSON body (`Null` when empty), raw text.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) json: Value,
    pub(crate) text: String,
}

pub(crate) async fn store(
    backend: Backend,
) -> (Arc<dyn Store>, Box<dyn std::any::Any + Send + Sync>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = hookwire_dispatch::store::SqliteStore::open(dir.path().join("api.db"))
                .expect("sqlite store");
            (Arc::new(store), Box::new(dir))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let (store, guard) = pg_support::store().await;
            (Arc::new(store), Box::new(guard))
        }
    }
}

pub(crate) async fn start(backend: Backend) -> Server {
    start_with(backend, Limits::default(), |s| s, false).await
}

pub(crate) async fn start_with(
    backend: Backend,
    limits: Limits,
    tune: impl FnOnce(ApiState) -> ApiState,
    run_workers: bool,
) -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (store, keep) = store(backend).await;
    let dispatcher = Dispatcher::builder(store)
        .allow_loopback_http()
        .limits(limits)
        .poll_interval(std::time::Duration::from_millis(50))
        .build()
        .expect("dispatcher");
    if run_workers {
        dispatcher.start().expect("start");
    }
    let mut tokens = BearerTokens::new();
    let a = tokens.generate("tenant-a").expect("token");
    let b = tokens.generate("tenant-b").expect("token");
    let state = tune(ApiState::new(dispatcher.clone(), tokens));
    let app = hookwire_api::router_with(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        a,
        b,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        dispatcher,
        _keep: keep,
    }
}

impl Server {
    /// Sends `method path` with `token` (if any) and a raw body (sent as JSON if given).
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = res.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Reply {
            status,
            content_type,
            headers,
            json,
            text,
        }
    }

    /// `method path` as tenant A's or B's token, with a JSON body.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        let ct = bytes.as_ref().map(|_| "application/json");
        self.raw(method, path, Some(token), ct, bytes).await
    }

    /// Creates an endpoint for `token` at `url` and returns (id, secret).
    pub(crate) async fn endpoint(&self, token: &str, url: &str) -> (String, String) {
        let r = self
            .call(
                "POST",
                "/v1/endpoints",
                token,
                Some(serde_json::json!({ "family": "standard", "url": url })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.json["id"].as_str().expect("id").to_owned(),
            r.json["secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Sends a message for `token` and returns (message id, delivery ids).
    pub(crate) async fn message(&self, token: &str, event_type: &str) -> (String, Vec<String>) {
        let r = self
            .call(
                "POST",
                "/v1/messages",
                token,
                Some(serde_json::json!({ "event_type": event_type, "payload": { "n": 1 } })),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.text);
        let ids = r.json["delivery_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_str().expect("id").to_owned())
            .collect();
        (r.json["message_id"].as_str().expect("id").to_owned(), ids)
    }
}

/// Asserts `r` is a problem with `status`, naming `field` when given.
pub(crate) fn assert_problem(r: &Reply, status: u16, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.text);
    assert_eq!(r.json["status"], status, "{}", r.text);
    assert!(
        r.json["type"]
            .as_str()
            .is_some_and(|t| t.starts_with(hookwire_api::TYPE_PREFIX)),
        "{}",
        r.text
    );
    if let Some(f) = field {
        assert_eq!(r.json["field"], f, "{}", r.text);
    }
}

/// Runs a scenario on SQLite and (with feature `postgres`) on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::support::Backend::Sqlite).await;
            }
            #[cfg(feature = "postgres")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::support::Backend::Postgres).await;
            }
        }
    )*};
}
