//! Property test over the JSON handlers on a real loopback server (SQLite): any body, well
//! formed or not, near the real shapes or not, to every JSON route answers without a 5xx, and
//! every error is a problem document.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "family",
    "url",
    "event_types",
    "scheme",
    "description",
    "auth",
    "type",
    "token",
    "header",
    "key",
    "username",
    "password",
    "value",
    "headers",
    "rate_limit",
    "per_second",
    "burst",
    "max_in_flight",
    "fifo",
    "timeout_ms",
    "enabled",
    "event_type",
    "payload",
    "idempotency_key",
    "since",
    "x",
];

const STRINGS: &[&str] = &[
    "standard",
    "zerotier",
    "zta",
    "hub-message",
    "zitadel",
    "zentitle",
    "bearer",
    "api_key",
    "basic",
    "custom_header",
    "none",
    "https://hooks.example.com/in",
    "https://10.0.0.1/",
    "http://127.0.0.1:1/",
    "NETWORK_JOIN",
    "*",
    "",
    "invoice.paid",
    "Host",
    "X-A",
    "\u{0}",
    "é",
    "svix",
    "standard-v1a",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => value().prop_map(|v| {
            let mut b = serde_json::to_vec(&v).unwrap();
            b.truncate(b.len() / 2);
            b
        }),
    ]
}

#[test]
fn json_handlers_never_answer_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(support::start(support::Backend::Sqlite));
    let (ep, _) = rt.block_on(s.endpoint(&s.a, "https://hooks.example.com/in"));
    let routes = [
        ("POST", "/v1/endpoints".to_owned()),
        ("PATCH", format!("/v1/endpoints/{ep}")),
        ("POST", format!("/v1/endpoints/{ep}/recover")),
        ("POST", "/v1/messages".to_owned()),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 256,
        ..Config::default()
    });
    runner
        .run(&(0..routes.len(), body()), |(i, bytes)| {
            let (method, path) = &routes[i];
            let r = rt.block_on(s.raw(
                method,
                path,
                Some(&s.a),
                Some("application/json"),
                Some(bytes.clone()),
            ));
            prop_assert!(
                r.status < 500,
                "{method} {path} {:?}: {}",
                String::from_utf8_lossy(&bytes),
                r.text
            );
            if r.status >= 400 {
                prop_assert_eq!(r.content_type.as_str(), "application/problem+json");
            }
            Ok(())
        })
        .unwrap();
    // The endpoint the PATCHes hit is still readable and consistent.
    let r = rt.block_on(s.call("GET", &format!("/v1/endpoints/{ep}"), &s.a, None));
    assert_eq!(r.status, 200);
}
