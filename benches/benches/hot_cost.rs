//! Instructions per call on the receiver hot paths, for `valgrind --tool=callgrind` (stable on
//! noisy machines, where the criterion figures of `verify`, `extractor` and `parse` move by
//! ±30 % from run to run). Each case runs its operation N times; a case and its baseline are
//! compared by Ir per call = (Ir at N₂ − Ir at N₁) / (N₂ − N₁), which cancels start-up.
//!
//! ```text
//! cargo bench -p hookwire-benches --bench hot_cost --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/deps/hot_cost-* CASE N
//! ```
//! Cases: `bare_hmac_256`, `zerotier_256`, `bare_hmac_1024`, `zerotier_1024` (ZeroTier verify
//! and its denominator, as in the `verify` bench); `bare_handler`, `verified_bytes` (the
//! extractor, as in the `extractor` bench); `value_zerotier_1k`, `typed_zerotier_1k`,
//! `value_zapi_4k`, `typed_zapi_4k` (the `parse` bench's payloads).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use hookwire_axum::{Receiver, Verified};
use hookwire_events::Family;
use hookwire_signature::{Scheme, Secret, Signer, Verifier};
use http::{HeaderMap, Request};
use sha2::Sha256;
use tower::ServiceExt as _;

#[path = "support/bodies.rs"]
mod bodies;
use bodies::{zapi_body, zerotier_body};

const KEY: &str = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
const T: i64 = 1_694_033_429;

fn ascii(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

fn signed(body: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    let headers = Signer::new(&Scheme::ZeroTier, &[Secret::new(KEY)])
        .unwrap()
        .sign("", T, body)
        .unwrap();
    for (k, v) in headers {
        map.append(k, v);
    }
    map
}

fn bare_hmac(size: usize, n: usize) {
    let key = hex::decode(KEY).unwrap();
    let body = ascii(size);
    let ts = T.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b",");
    mac.update(&body);
    let tag = mac.finalize().into_bytes();
    for _ in 0..n {
        let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key)).unwrap();
        mac.update(ts.as_bytes());
        mac.update(b",");
        mac.update(black_box(&body));
        assert!(mac.verify_slice(&tag).is_ok());
    }
}

fn zerotier(size: usize, n: usize) {
    let body = ascii(size);
    let headers = signed(&body);
    let v = Verifier::new(&Scheme::ZeroTier, &[Secret::new(KEY)]).unwrap();
    for _ in 0..n {
        assert!(v.verify_at(black_box(&body), &headers, T).is_ok());
    }
}

fn extractor(verified: bool, n: usize) {
    const BODY: &[u8] = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let headers = signed(BODY);
    let receiver = Receiver::new(&Scheme::ZeroTier, &[Secret::new(KEY)])
        .unwrap()
        .with_clock(|| T);
    let app: Router = if verified {
        Router::new()
            .route(
                "/",
                post(|v: Verified<Bytes>| async move { v.len().to_string() }),
            )
            .with_state(receiver)
    } else {
        Router::new().route("/", post(|b: Bytes| async move { b.len().to_string() }))
    };
    for _ in 0..n {
        let mut req = Request::post("/");
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let req = req.body(Body::from(Bytes::from_static(BODY))).unwrap();
        let res = rt.block_on(app.clone().oneshot(req)).unwrap();
        assert!(res.status().is_success());
    }
}

fn parse(typed: bool, family: Family, body: &[u8], n: usize) {
    hookwire_events::parse(family, body).unwrap();
    for _ in 0..n {
        if typed {
            black_box(hookwire_events::parse(family, black_box(body)).unwrap());
        } else {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(body)).unwrap());
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let case = args.next().unwrap_or_else(|| "zerotier_256".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    match case.as_str() {
        "bare_hmac_256" => bare_hmac(256, n),
        "zerotier_256" => zerotier(256, n),
        "bare_hmac_1024" => bare_hmac(1024, n),
        "zerotier_1024" => zerotier(1024, n),
        "bare_handler" => extractor(false, n),
        "verified_bytes" => extractor(true, n),
        "value_zerotier_1k" => parse(false, Family::ZeroTier, &zerotier_body(), n),
        "typed_zerotier_1k" => parse(true, Family::ZeroTier, &zerotier_body(), n),
        "value_zapi_4k" => parse(false, Family::HubMessage, &zapi_body(), n),
        "typed_zapi_4k" => parse(true, Family::HubMessage, &zapi_body(), n),
        other => panic!("unknown case {other}"),
    }
    println!("{case}: {n} calls");
}
