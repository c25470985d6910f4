//! The same receiver over a real loopback socket: `axum::serve` on 127.0.0.1 and raw HTTP/1.1.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use hookwire_axum::{REPLAY_HEADER, Receiver, Verified};
use hookwire_events::{hub_message, standard, zentitle, zerotier, zitadel, zta};
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

const ZTA_SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";
const ZTA_BODY: &str = r#"{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/blog/my-article","referrer":"https://google.com","country":"US","device":"desktop","browser":"Chrome"}}"#;
const HUB_SECRET: &str = "a3f1c2d4e5b6789012345678901234abcdef0123456789abcdef0123456789ab";
const HUB_BODY: &str = r#"{"message":{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","channel_id":"019E4C54B1B375A28970B605CA9B03C3"},"messageEventType":"NEW_MESSAGE"}"#;
const ZITADEL_KEY: &str = "zitadel-signing-key";
const ZITADEL_BODY: &str = r#"{"aggregateID":"313014806065971608","aggregateType":"user","resourceOwner":"312909075211944344","instanceID":"312909075211878808","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-03-27T10:22:43.262665+01:00","userID":"312909075212468632","event_payload":{"userName":"example@test.com","firstName":"Test","lastName":"User","displayName":"Test User","preferredLanguage":"und","email":"example@test.com"}}"#;
/// specs/zentitle.md vector: the account's public modulus and a signature over the body.
const ZENTITLE_MODULUS: &str = "wmjl_JnxzSnMQKO1O7qQdZtD1njvw41ux5v0jv5jqi1e5bYbmnvtKPJ48s72eqhq7OQCf4HQG3LysnTiTubh5aKHUKMGD6_h3pLElj0eHAFLopx3ZQDSHUnyWUkKRtgxX3wxOFHyegJNAw8C8PTS9E_4zY89544cfDfbdiizwlTa1_vHz2ouRvYLuGhT91Yhss6AijxDjl2xdVIkNcyzj_q5lp6YmTOY-DWohi9Eq9viDzXAHsRhRapKbdgO7wXnukcM7US7dQoS2fjDEH4uVcbp2FrViF2QGvHA421oBacYuXzZnHt_TR9c77nXQKtva_sEwAi6YyItK2wbGgW1bw";
const ZENTITLE_BODY: &str = r#"{"eventId":"event_NsqUHwSXC0S4f4vuNkegSg","eventDate":"2025-06-06T11:39:22.739326Z","eventCode":"customer.created","resourceId":"cust_ILLqMyx3UUy_n5cZqui7NQ","callAttempt":1,"payload":{"customerId":"cust_ILLqMyx3UUy_n5cZqui7NQ","name":"Acme"}}"#;
const ZENTITLE_SIG: &str = "oI/KyIRVn5IoQDnGbQzLC54OCZw/Df9WYkDEzNDRoTXLxJFCUfQ5Bu/sha3dUjoV49pkaANnb3O3wCwPBC9nnQCFsz5dWkyn9SpSRynAvLf8T4a1cSxO0Ax2CoMF+2CzKeFMJd0yF9GaKivyqAcccdfZCPJ8BP3g4Pk446uSQhCHhoIZtBkcKh6Lns+ShMWfCgmxhrKWT+c8hT9vAcm6p5fQxB4SSxOBwfah5k9oW9yMHyOC6Scp95fB3kCCbg/AGR4pPtQbeAFQGQesQ3f1EnfiYHHIR5gWyosqTzAg0ojerN1F0/QhXS/aOK6zeQKjhFMRhxD+xp4//wZXPWVMzA==";

/// One server with a route per remaining family (ZTA, Hub Message, ZITADEL, Zentitle RSA),
/// each handler answering with the typed event's type.
async fn families_server() -> std::net::SocketAddr {
    let receiver = |scheme: &Scheme, secret: &str| {
        Receiver::new(scheme, &[Secret::new(secret)])
            .unwrap()
            .with_clock(|| NOW)
    };
    let app = Router::new()
        .route(
            "/zta",
            post(|v: Verified<zta::Event>| async move { v.event_type().to_owned() }),
        )
        .with_state(receiver(&Scheme::from_name("zta").unwrap(), ZTA_SECRET))
        .merge(
            Router::new()
                .route(
                    "/hub",
                    post(
                        |v: Verified<hub_message::Event>| async move { v.event_type().to_owned() },
                    ),
                )
                .with_state(receiver(
                    &Scheme::from_name("hub-message").unwrap(),
                    HUB_SECRET,
                )),
        )
        .merge(
            Router::new()
                .route(
                    "/zitadel",
                    post(|v: Verified<zitadel::Payload>| async move {
                        format!("{} t={:?}", v.event_type(), v.verification.timestamp)
                    }),
                )
                .with_state(receiver(&Scheme::Zitadel, ZITADEL_KEY)),
        )
        .merge(
            Router::new()
                .route(
                    "/zentitle",
                    post(|v: Verified<zentitle::Event>| async move { v.event_type().to_owned() }),
                )
                .with_state(receiver(&Scheme::Zentitle, ZENTITLE_MODULUS)),
        );
    serve(app).await
}

/// Flips one byte of the body after signing.
fn tamper(body: &str) -> Vec<u8> {
    let mut b = body.as_bytes().to_vec();
    b[body.len() / 2] ^= 1;
    b
}

#[tokio::test]
async fn loopback_remaining_families_verify_and_refuse_tampering() {
    let addr = families_server().await;
    let hub_scheme = Scheme::from_name("hub-message").unwrap();
    let zta_scheme = Scheme::from_name("zta").unwrap();
    let cases: [(&str, Headers, &str, &str); 4] = [
        (
            "/zta",
            sign(
                &zta_scheme,
                &[Secret::new(ZTA_SECRET)],
                "",
                NOW,
                ZTA_BODY.as_bytes(),
            ),
            ZTA_BODY,
            "pageview",
        ),
        (
            "/hub",
            sign(
                &hub_scheme,
                &[Secret::new(HUB_SECRET)],
                "",
                NOW,
                HUB_BODY.as_bytes(),
            ),
            HUB_BODY,
            "NEW_MESSAGE",
        ),
        (
            "/zitadel",
            sign(
                &Scheme::Zitadel,
                &[Secret::new(ZITADEL_KEY)],
                "",
                NOW,
                ZITADEL_BODY.as_bytes(),
            ),
            ZITADEL_BODY,
            "user.human.added t=Some(1700000000)",
        ),
        (
            "/zentitle",
            vec![hdr("N-Signature", ZENTITLE_SIG)],
            ZENTITLE_BODY,
            "customer.created",
        ),
    ];
    for (path, headers, body, expected) in cases {
        let r = http_post(addr, path, &headers, body.as_bytes(), false).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, expected),
            "{path}"
        );
        // The same headers, chunked, still verify.
        let r = http_post(addr, path, &headers, body.as_bytes(), true).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, expected),
            "{path}"
        );
        let r = http_post(addr, path, &headers, &tamper(body), false).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::UNAUTHORIZED, "signature mismatch"),
            "{path}"
        );
        let r = http_post(addr, path, &[], body.as_bytes(), false).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert!(r.body.starts_with("missing header"), "{path}: {}", r.body);
    }
}
