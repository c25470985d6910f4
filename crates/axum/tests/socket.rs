//! The same receiver over a real loopback socket: `axum::serve` on 127.0.0.1 and raw HTTP/1.1.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use hookwire_axum::{REPLAY_HEADER, Receiver, Verified};
use hookwire_events::{standard, zerotier};
use hookwire_signature::{Scheme, Secret};
use support::*;

async fn zerotier_server(runs: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let receiver = Receiver::new(&Scheme::ZeroTier, &[Secret::new(ZT_SECRET)])
        .unwrap()
        .with_clock(|| NOW)
        .with_body_limit(16 * 1024)
        .with_memory_replay_guard(1000);
    let app = Router::new()
        .route(
            "/hooks/zerotier",
            post(move |v: Verified<zerotier::Hook>| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                match &v.payload {
                    zerotier::Hook::NetworkJoin(j) => {
                        format!("join {} {}", j.network_id, j.member_id)
                    }
                    other => other.event_type().to_owned(),
                }
            }),
        )
        .with_state(receiver);
    serve(app).await
}

fn zt(body: &[u8], t: i64) -> Headers {
    sign(&Scheme::ZeroTier, &[Secret::new(ZT_SECRET)], "", t, body)
}

#[tokio::test]
async fn loopback_statuses() {
    let runs = Arc::new(AtomicUsize::new(0));
    let addr = zerotier_server(Arc::clone(&runs)).await;
    let path = "/hooks/zerotier";

    let r = http_post(addr, path, &zt(ZT_BODY, NOW), ZT_BODY, false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "join 19d9808567a17ccf a02505e545")
    );

    // The identical request again: replay, handler not run.
    let r = http_post(addr, path, &zt(ZT_BODY, NOW), ZT_BODY, false).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(REPLAY_HEADER).unwrap(), "true");
    assert_eq!(r.body, "message already received");

    let mut tampered = ZT_BODY.to_vec();
    tampered[20] ^= 1;
    let r = http_post(addr, path, &zt(ZT_BODY, NOW - 1), &tampered, false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );

    let wrong = sign(
        &Scheme::ZeroTier,
        &[Secret::new("ab".repeat(32))],
        "",
        NOW - 2,
        ZT_BODY,
    );
    let r = http_post(addr, path, &wrong, ZT_BODY, false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = http_post(addr, path, &zt(ZT_BODY, NOW - 3600), ZT_BODY, false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "timestamp too old")
    );

    let r = http_post(addr, path, &[], ZT_BODY, false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, "missing header `x-ztc-signature`")
    );

    // Oversized, announced by Content-Length and streamed chunked (no length up front).
    let big = vec![b' '; 64 * 1024];
    let r = http_post(addr, path, &zt(&big, NOW), &big, false).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = http_post(addr, path, &zt(&big, NOW), &big, true).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // A chunked body within the limit verifies like any other.
    let r = http_post(addr, path, &zt(ZT_BODY, NOW - 4), ZT_BODY, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn loopback_standard_webhooks_rotation_and_replay() {
    let scheme = Scheme::from_name("standard").unwrap();
    let old = scheme.generate_secret().unwrap();
    let new = scheme.generate_secret().unwrap();
    let receiver = Receiver::new(&scheme, &[new.clone(), old.clone()])
        .unwrap()
        .with_clock(|| NOW)
        .with_memory_replay_guard(1000);
    let app = Router::new()
        .route(
            "/",
            post(|v: Verified<standard::Event>| async move {
                format!(
                    "{} {} key={}",
                    v.event_type(),
                    v.verification.id.as_deref().unwrap_or(""),
                    v.verification.key_index
                )
            }),
        )
        .with_state(receiver);
    let addr = serve(app).await;
    let body = br#"{"type":"user.created","timestamp":"2023-11-14T22:13:20Z","data":{"id":"u1"}}"#;

    let r = http_post(
        addr,
        "/",
        &sign(&scheme, std::slice::from_ref(&old), "msg_a", NOW, body),
        body,
        false,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "user.created msg_a key=1")
    );
    let r = http_post(
        addr,
        "/",
        &sign(&scheme, std::slice::from_ref(&new), "msg_b", NOW, body),
        body,
        false,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "user.created msg_b key=0")
    );
    // msg_a again, re-signed with the new secret and a later timestamp: still a duplicate.
    let r = http_post(
        addr,
        "/",
        &sign(&scheme, &[new], "msg_a", NOW + 10, body),
        body,
        false,
    )
    .await;
    assert_eq!(r.headers.get(REPLAY_HEADER).unwrap(), "true");
}

/// The client announces 100 bytes, sends 10 and closes its side: the body cannot be read.
#[tokio::test]
async fn truncated_body_is_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = zerotier_server(Arc::new(AtomicUsize::new(0))).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /hooks/zerotier HTTP/1.1\r\nHost: {addr}\r\nX-ZTC-Signature: t={NOW},v1=00\r\nContent-Length: 100\r\n\r\n0123456789"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.ends_with("request body could not be read"), "{text}");
}
