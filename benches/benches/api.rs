//! The management API against its baseline in the same run: `POST /v1/messages` through the
//! router (in process, `tower::ServiceExt::oneshot`) against `Dispatcher::send` directly, both
//! on a SQLite file with one subscribed endpoint; and one page of `GET /v1/deliveries` with
//! 100 000 deliveries stored (first page, a deep page by cursor, filtered by endpoint), with
//! the p99 of 1000 page reads printed before criterion's figures.
//!
//! `cargo bench -p hookwire-benches --bench api`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use hookwire_api::BearerTokens;
use hookwire_dispatch::{Dispatcher, DispatcherBuilder, Limits, NewEndpoint};
use hookwire_events::Family;
use http::Request;
use tower::ServiceExt as _;

const PAYLOAD: &str = r#"{"type":"invoice.paid","data":{"id":"inv_1","amount":1200}}"#;
const STORED: usize = 100_000;
const ENDPOINTS: usize = 100;

struct Setup {
    _dir: tempfile::TempDir,
    dispatcher: Dispatcher,
    app: axum::Router,
    token: String,
}

async fn setup(endpoints: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let dispatcher = DispatcherBuilder::sqlite(dir.path().join("bench.db"))
        .unwrap()
        .limits(Limits::default().endpoints_per_tenant(endpoints))
        .build()
        .unwrap();
    for i in 0..endpoints {
        dispatcher
            .create_endpoint(NewEndpoint::new(
                "acme",
                Family::StandardWebhooks,
                format!("https://hooks.example.com/{i}"),
            ))
            .await
            .unwrap();
    }
    let mut tokens = BearerTokens::new();
    let token = tokens.generate("acme").unwrap();
    let app = hookwire_api::router(dispatcher.clone(), tokens);
    Setup {
        _dir: dir,
        dispatcher,
        app,
        token,
    }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (u16, axum::body::Bytes) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body)
}

fn post_message(token: &str) -> Request<Body> {
    let body = format!(r#"{{"event_type":"invoice.paid","payload":{PAYLOAD}}}"#);
    Request::post("/v1/messages")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn get(token: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn send(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Each case on a fresh file: the one measured second would otherwise run on a larger
    // database and WAL, paying more checkpoints (an order effect of about 0.4 ms per send,
    // larger than the router's cost).
    let s = rt.block_on(setup(1));
    let mut g = c.benchmark_group("send");
    g.bench_function("dispatcher_send (baseline)", |b| {
        b.iter(|| {
            rt.block_on(
                s.dispatcher
                    .send("acme", "invoice.paid", PAYLOAD.as_bytes().to_vec()),
            )
            .unwrap()
        });
    });
    drop(s);
    let s = rt.block_on(setup(1));
    g.bench_function("post_v1_messages", |b| {
        b.iter(|| {
            let (status, _) = rt.block_on(call(&s.app, post_message(&s.token)));
            assert_eq!(status, 202);
        });
    });
    g.finish();
}

fn cursor(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["next_cursor"].as_str().unwrap().to_owned()
}

fn deliveries(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(async {
        let s = setup(ENDPOINTS).await;
        for _ in 0..STORED / ENDPOINTS {
            s.dispatcher
                .send("acme", "invoice.paid", PAYLOAD.as_bytes().to_vec())
                .await
                .unwrap();
        }
        s
    });
    // A cursor half-way down: 1000 pages of 50.
    let deep = rt.block_on(async {
        let mut c = None::<String>;
        for _ in 0..1000 {
            let path = match &c {
                None => "/v1/deliveries?limit=50".to_owned(),
                Some(c) => format!("/v1/deliveries?limit=50&cursor={c}"),
            };
            let (_, body) = call(&s.app, get(&s.token, &path)).await;
            c = Some(cursor(&body));
        }
        c.unwrap()
    });
    let endpoint = rt.block_on(async {
        let list = s.dispatcher.list_endpoints("acme").await.unwrap();
        list[0].endpoint.id.clone()
    });
    let cases = [
        ("first_page", "/v1/deliveries?limit=50".to_owned()),
        (
            "deep_page",
            format!("/v1/deliveries?limit=50&cursor={deep}"),
        ),
        (
            "endpoint_filter",
            format!("/v1/deliveries?limit=50&endpoint_id={endpoint}"),
        ),
    ];
    for (name, path) in &cases {
        let mut times: Vec<Duration> = rt.block_on(async {
            // Warm the page cache and the statement cache first, as a serving process is.
            for _ in 0..100 {
                call(&s.app, get(&s.token, path)).await;
            }
            let mut t = Vec::with_capacity(1000);
            for _ in 0..1000 {
                let start = Instant::now();
                let (status, _) = call(&s.app, get(&s.token, path)).await;
                t.push(start.elapsed());
                assert_eq!(status, 200);
            }
            t
        });
        times.sort();
        println!(
            "deliveries/{name} with {STORED} stored: p50 {:?}, p99 {:?} per page of 50",
            times[times.len() / 2],
            times[times.len() * 99 / 100]
        );
    }
    let mut g = c.benchmark_group("deliveries");
    for (name, path) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let (status, _) = rt.block_on(call(&s.app, get(&s.token, path)));
                assert_eq!(status, 200);
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4));
    targets = send, deliveries
}
criterion_main!(benches);
