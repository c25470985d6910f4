//! Per-request cost of the `Verified<T>` extractor next to a bare handler, both driven
//! in process through the router with `tower::ServiceExt::oneshot`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use hookwire_axum::{Receiver, Verified};
use hookwire_events::zerotier::{self, Hook};
use hookwire_signature::{Scheme, Secret, Signer};
use tower::ServiceExt;

const SECRET: &str = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
const BODY: &[u8] = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
const T: i64 = 1_694_033_429;

fn request(headers: &[(HeaderName, HeaderValue)]) -> Request<Body> {
    let mut b = Request::post("/");
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.body(Body::from(Bytes::from_static(BODY))).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let scheme = Scheme::ZeroTier;
    let secrets = [Secret::new(SECRET)];
    let headers = Signer::new(&scheme, &secrets)
        .unwrap()
        .sign("", T, BODY)
        .unwrap();
    let receiver = Receiver::new(&scheme, &secrets).unwrap().with_clock(|| T);

    let bare_bytes: Router =
        Router::new().route("/", post(|b: Bytes| async move { b.len().to_string() }));
    let verified_bytes: Router = Router::new()
        .route(
            "/",
            post(|v: Verified<Bytes>| async move { v.len().to_string() }),
        )
        .with_state(receiver.clone());
    let bare_parse: Router = Router::new().route(
        "/",
        post(|b: Bytes| async move { zerotier::parse(&b).unwrap().event_type().to_owned() }),
    );
    let verified_event: Router = Router::new()
        .route(
            "/",
            post(|v: Verified<Hook>| async move { v.event_type().to_owned() }),
        )
        .with_state(receiver.clone());
    let verified_replay: Router = Router::new()
        .route(
            "/",
            post(|v: Verified<Hook>| async move { v.event_type().to_owned() }),
        )
        .with_state(receiver.clone().with_memory_replay_guard(1 << 16));

    // Sanity: every router accepts the request.
    for app in [&bare_bytes, &verified_bytes, &bare_parse, &verified_event] {
        let status = rt
            .block_on(app.clone().oneshot(request(&headers)))
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
    }

    let mut g = c.benchmark_group("per_request");
    // The signature check alone, no router: the part of `verified_bytes - bare_handler_bytes`
    // that is HMAC work rather than extractor work.
    let mut map = axum::http::HeaderMap::new();
    for (k, v) in &headers {
        map.append(k.clone(), v.clone());
    }
    let verifier = receiver.verifier().clone();
    assert!(verifier.verify_at(BODY, &map, T).is_ok());
    g.bench_function("verify_only", |b| {
        b.iter(|| black_box(verifier.verify_at(black_box(BODY), &map, T).is_ok()))
    });
    let cases = [
        ("bare_handler_bytes", &bare_bytes),
        ("verified_bytes", &verified_bytes),
        ("bare_handler_parse", &bare_parse),
        ("verified_event", &verified_event),
    ];
    for (name, app) in cases {
        g.bench_function(name, |b| {
            b.iter(|| {
                let res = rt.block_on(app.clone().oneshot(request(&headers))).unwrap();
                black_box(res.status())
            });
        });
    }
    // With the replay guard every request after the first is a replay (answered 200 without
    // running the handler): this measures verify + guard lookup.
    g.bench_function("verified_event_replay_guard", |b| {
        b.iter(|| {
            let res = rt
                .block_on(verified_replay.clone().oneshot(request(&headers)))
                .unwrap();
            black_box(res.status())
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
