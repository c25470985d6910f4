//! The extractor and the layer, driven in process through `tower::ServiceExt::oneshot`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router, middleware};
use hookwire_axum::{
    MemoryReplayGuard, REPLAY_HEADER, Receiver, Verification, Verified, VerifyLayer,
    verify_middleware,
};
use hookwire_events::{AnyEvent, hub_message, standard, zentitle, zerotier, zitadel, zta};
use hookwire_signature::{Scheme, Secret, Tolerance};
use support::*;

fn summary(event_type: &str, v: &Verification) -> String {
    format!(
        "{event_type}|id={:?}|t={:?}|key={}",
        v.id, v.timestamp, v.key_index
    )
}

fn zerotier_receiver(secrets: &[&str]) -> Receiver {
    let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
    Receiver::new(&Scheme::ZeroTier, &secrets)
        .unwrap()
        .with_clock(|| NOW)
}

fn zerotier_app(receiver: Receiver) -> Router {
    Router::new()
        .route(
            "/",
            post(|v: Verified<zerotier::Hook>| async move {
                let zerotier::Hook::NetworkJoin(join) = &v.payload else {
                    return (StatusCode::IM_A_TEAPOT, String::new());
                };
                (
                    StatusCode::OK,
                    format!(
                        "{}|{}",
                        summary(v.event_type(), &v.verification),
                        join.network_id
                    ),
                )
            }),
        )
        .with_state(receiver)
}

fn zt_signed(body: &[u8], t: i64, secret: &str) -> Headers {
    sign(&Scheme::ZeroTier, &[Secret::new(secret)], "", t, body)
}

#[tokio::test]
async fn spec_vector_verifies_and_yields_the_typed_event() {
    // specs/zerotier.md vector: header signed at 1694033429.
    let receiver = zerotier_receiver(&[ZT_SECRET]).with_clock(|| 1_694_033_500);
    let app = zerotier_app(receiver);
    let headers = [hdr(
        "X-ZTC-Signature",
        "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86",
    )];
    let r = call(&app, "/", &headers, ZT_BODY).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        "NETWORK_JOIN|id=None|t=Some(1694033429)|key=0|19d9808567a17ccf"
    );
}

#[tokio::test]
async fn refusals_give_the_documented_status() {
    let app = zerotier_app(zerotier_receiver(&[ZT_SECRET]).with_body_limit(1024));
    let good = zt_signed(ZT_BODY, NOW, ZT_SECRET);
    assert_eq!(call(&app, "/", &good, ZT_BODY).await.status, StatusCode::OK);

    // Tampered body: one byte changed after signing.
    let tampered = String::from_utf8(ZT_BODY.to_vec())
        .unwrap()
        .replace("a02505e545", "a02505e546");
    let r = call(&app, "/", &good, tampered).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );

    // Wrong secret.
    let other = "0000000000000000000000000000000000000000000000000000000000000001";
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW, other), ZT_BODY).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );

    // Stale and future timestamps (default tolerance 300 s each way).
    let r = call(
        &app,
        "/",
        &zt_signed(ZT_BODY, NOW - 301, ZT_SECRET),
        ZT_BODY,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "timestamp too old")
    );
    let r = call(
        &app,
        "/",
        &zt_signed(ZT_BODY, NOW + 301, ZT_SECRET),
        ZT_BODY,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "timestamp too new")
    );
    let r = call(
        &app,
        "/",
        &zt_signed(ZT_BODY, NOW - 300, ZT_SECRET),
        ZT_BODY,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // Missing and malformed header.
    let r = call(&app, "/", &[], ZT_BODY).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, "missing header `x-ztc-signature`");
    let r = call(&app, "/", &[hdr("x-ztc-signature", "garbage")], ZT_BODY).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.starts_with("malformed header `x-ztc-signature`"),
        "{}",
        r.body
    );

    // Oversized body.
    let big = vec![b' '; 1025];
    let r = call(&app, "/", &zt_signed(&big, NOW, ZT_SECRET), big.clone()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body, "request body exceeds the limit of 1024 bytes");
}

#[tokio::test]
async fn refusals_never_echo_secrets_or_expected_signatures() {
    let app = zerotier_app(zerotier_receiver(&[ZT_SECRET]));
    let tampered = br#"{"hook_type":"NETWORK_JOIN"}"#;
    // What the receiver would have expected for the tampered body.
    let expected = zt_signed(tampered, NOW, ZT_SECRET);
    let expected = expected[0].1.to_str().unwrap();
    let expected_hex = expected.rsplit('=').next().unwrap();
    let attempts = [
        (zt_signed(ZT_BODY, NOW, ZT_SECRET), &tampered[..]),
        (zt_signed(ZT_BODY, NOW - 1000, ZT_SECRET), ZT_BODY),
        (vec![hdr("x-ztc-signature", "t=1,v1=zz")], ZT_BODY),
        (vec![], ZT_BODY),
    ];
    for (headers, body) in attempts {
        let r = call(&app, "/", &headers, body.to_vec()).await;
        assert!(!r.status.is_success());
        for secretish in [ZT_SECRET, expected_hex] {
            assert!(!r.body.contains(secretish), "{}", r.body);
            for v in r.headers.values() {
                assert!(!v.to_str().unwrap_or("").contains(secretish));
            }
        }
    }
}

#[tokio::test]
async fn rotation_accepts_old_and_new_secret_and_says_which() {
    let old = ZT_SECRET;
    let new = "1111111111111111111111111111111111111111111111111111111111111111";
    let app = zerotier_app(zerotier_receiver(&[new, old]));
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW, new), ZT_BODY).await;
    assert!(r.body.contains("|key=0|"), "{}", r.body);
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW, old), ZT_BODY).await;
    assert!(r.body.contains("|key=1|"), "{}", r.body);
    // A sender mid-rotation signs with both.
    let both = sign(
        &Scheme::ZeroTier,
        &[Secret::new(old), Secret::new(new)],
        "",
        NOW,
        ZT_BODY,
    );
    let r = call(&app, "/", &both, ZT_BODY).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // After the old secret is dropped, messages signed only with it fail.
    let app = zerotier_app(zerotier_receiver(&[new]));
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW, old), ZT_BODY).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// A body whose JSON re-serializes differently (spaces, newlines, key order, unicode escapes,
/// a float with an exponent) verifies as received; its re-serialization would not.
#[tokio::test]
async fn body_that_reserializes_differently_still_verifies() {
    let body = "{ \"member_id\" : \"a02505e545\",\n  \"hook_type\":\"NETWORK_JOIN\", \"network_id\":\"19d9808567a17ccf\",\n  \"org_id\":\"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da\", \"hook_id\":\"ae76d4c0-c94e-4025-a648-2c504eb90e3c\",\n  \"note\":\"caf\\u00e9 \\/ \\ud83d\\ude00\", \"ratio\": 1.0e2 }\n";
    let reserialized =
        serde_json::to_vec(&serde_json::from_str::<serde_json::Value>(body).unwrap()).unwrap();
    assert_ne!(
        reserialized,
        body.as_bytes(),
        "the test body must not survive a round trip"
    );

    let headers = zt_signed(body.as_bytes(), NOW, ZT_SECRET);
    let app = Router::new()
        .route(
            "/bytes",
            post(|v: Verified<Bytes>| async move { v.payload }),
        )
        .route(
            "/event",
            post(|v: Verified<zerotier::Hook>| async move {
                v.payload.to_json()["note"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }),
        )
        .with_state(zerotier_receiver(&[ZT_SECRET]));
    let r = call(&app, "/bytes", &headers, body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, body, "the handler sees the exact bytes");
    let r = call(&app, "/event", &headers, body).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "café / 😀"));
    // Verifying the re-serialized value (the classic receiver bug) fails.
    let r = call(&app, "/bytes", &headers, reserialized).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

fn standard_setup(
    receiver: impl FnOnce(Receiver) -> Receiver,
) -> (Router, Secret, Arc<AtomicUsize>) {
    let scheme = Scheme::from_name("standard").unwrap();
    let secret = scheme.generate_secret().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let receiver = receiver(
        Receiver::new(&scheme, std::slice::from_ref(&secret))
            .unwrap()
            .with_clock(|| NOW),
    );
    let app = Router::new()
        .route(
            "/",
            post(move |v: Verified<standard::Event>| async move {
                counter.fetch_add(1, Ordering::SeqCst);
                summary(v.event_type(), &v.verification)
            }),
        )
        .with_state(receiver);
    (app, secret, runs)
}

const STD_BODY: &str = r#"{"type":"invoice.paid","timestamp":"2023-11-14T22:13:20Z","data":{"id":"inv_1","amount":4200}}"#;

#[tokio::test]
async fn replayed_id_gets_the_distinct_response_and_the_handler_runs_once() {
    let (app, secret, runs) = standard_setup(|r| r.with_memory_replay_guard(100));
    let scheme = Scheme::from_name("standard").unwrap();
    let headers = sign(
        &scheme,
        std::slice::from_ref(&secret),
        "msg_1",
        NOW,
        STD_BODY.as_bytes(),
    );
    let first = call(&app, "/", &headers, STD_BODY).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.body,
        "invoice.paid|id=Some(\"msg_1\")|t=Some(1700000000)|key=0"
    );
    assert!(first.headers.get(REPLAY_HEADER).is_none());

    let again = call(&app, "/", &headers, STD_BODY).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers.get(REPLAY_HEADER).unwrap(), "true");
    assert_eq!(again.body, "message already received");
    // Same id re-signed at another time (a sender retry) is also a duplicate.
    let retry = sign(
        &scheme,
        std::slice::from_ref(&secret),
        "msg_1",
        NOW - 5,
        STD_BODY.as_bytes(),
    );
    assert_eq!(
        call(&app, "/", &retry, STD_BODY)
            .await
            .headers
            .get(REPLAY_HEADER)
            .unwrap(),
        "true"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // Another id is processed.
    let other = sign(
        &scheme,
        std::slice::from_ref(&secret),
        "msg_2",
        NOW,
        STD_BODY.as_bytes(),
    );
    assert!(
        call(&app, "/", &other, STD_BODY)
            .await
            .headers
            .get(REPLAY_HEADER)
            .is_none()
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // A forged request reusing a seen id is refused for its signature, not answered 200.
    let forged = call(&app, "/", &headers, STD_BODY.replace("4200", "1")).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn replay_status_is_configurable() {
    let (app, secret, runs) = standard_setup(|r| {
        r.with_memory_replay_guard(100)
            .with_replay_status(StatusCode::CONFLICT)
    });
    let scheme = Scheme::from_name("standard").unwrap();
    let headers = sign(&scheme, &[secret], "msg_9", NOW, STD_BODY.as_bytes());
    assert_eq!(
        call(&app, "/", &headers, STD_BODY).await.status,
        StatusCode::OK
    );
    let r = call(&app, "/", &headers, STD_BODY).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.headers.get(REPLAY_HEADER).unwrap(), "true");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_a_guard_duplicates_reach_the_handler() {
    let (app, secret, runs) = standard_setup(|r| r);
    let scheme = Scheme::from_name("standard").unwrap();
    let headers = sign(&scheme, &[secret], "msg_1", NOW, STD_BODY.as_bytes());
    for _ in 0..2 {
        assert_eq!(
            call(&app, "/", &headers, STD_BODY).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

const ZTA_SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";
const ZTA_BODY: &str = r#"{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/blog/my-article","referrer":"https://google.com","country":"US","device":"desktop","browser":"Chrome"}}"#;

/// ZTA signs no timestamp and no id: the guard keys on the body digest, so a byte-identical
/// resend is a replay and a different body is not.
#[tokio::test]
async fn replay_guard_without_timestamp_or_id_keys_on_the_body() {
    let scheme = Scheme::from_name("zta").unwrap();
    let secrets = [Secret::new(ZTA_SECRET)];
    let guard = Arc::new(MemoryReplayGuard::new(100));
    let receiver = Receiver::new(&scheme, &secrets)
        .unwrap()
        .with_replay_guard(Arc::clone(&guard));
    let app = Router::new()
        .route(
            "/",
            post(|v: Verified<zta::Event>| async move { summary(v.event_type(), &v.verification) }),
        )
        .with_state(receiver);
    let headers = sign(&scheme, &secrets, "", 0, ZTA_BODY.as_bytes());
    let r = call(&app, "/", &headers, ZTA_BODY).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "pageview|id=None|t=None|key=0")
    );
    let r = call(&app, "/", &headers, ZTA_BODY).await;
    assert_eq!(r.headers.get(REPLAY_HEADER).unwrap(), "true");
    let body2 = ZTA_BODY.replace("my-article", "other");
    let r = call(
        &app,
        "/",
        &sign(&scheme, &secrets, "", 0, body2.as_bytes()),
        body2,
    )
    .await;
    assert!(r.headers.get(REPLAY_HEADER).is_none());
    assert_eq!(guard.len(), 2);
}

#[tokio::test]
async fn release_replay_lets_a_retry_through_after_a_failed_handler() {
    let scheme = Scheme::from_name("standard").unwrap();
    let secret = scheme.generate_secret().unwrap();
    let fail = Arc::new(AtomicUsize::new(1));
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))
        .unwrap()
        .with_clock(|| NOW)
        .with_memory_replay_guard(10);
    let app = Router::new()
        .route(
            "/",
            post(move |v: Verified<Bytes>| async move {
                if fail.fetch_sub(1, Ordering::SeqCst) > 0 {
                    v.release_replay().await.unwrap();
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(receiver);
    let headers = sign(&scheme, &[secret], "msg_r", NOW, STD_BODY.as_bytes());
    assert_eq!(
        call(&app, "/", &headers, STD_BODY).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        call(&app, "/", &headers, STD_BODY).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        call(&app, "/", &headers, STD_BODY)
            .await
            .headers
            .get(REPLAY_HEADER)
            .is_some()
    );
}

#[tokio::test]
async fn every_family_verifies_and_parses() {
    // ZITADEL (timestamped, dot separator).
    let zitadel_body = r#"{"aggregateID":"313014806065971608","aggregateType":"user","resourceOwner":"312909075211944344","instanceID":"312909075211878808","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-03-27T10:22:43.262665+01:00","userID":"312909075212468632","event_payload":{"userName":"example@test.com","firstName":"Test","lastName":"User","displayName":"Test User","preferredLanguage":"und","email":"example@test.com"}}"#;
    // Hub Message DEFAULT payload (no timestamp; header name from the console).
    let hub_body = r#"{"message":{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","channel_id":"019E4C54B1B375A28970B605CA9B03C3"},"messageEventType":"NEW_MESSAGE"}"#;
    let hub_secret = "a3f1c2d4e5b6789012345678901234abcdef0123456789abcdef0123456789ab";

    let zitadel = Receiver::new(&Scheme::Zitadel, &[Secret::new("zitadel-signing-key")])
        .unwrap()
        .with_clock(|| NOW);
    let hub_scheme = Scheme::from_name("hub-message").unwrap();
    let hub = Receiver::new(&hub_scheme, &[Secret::new(hub_secret)]).unwrap();
    let app = Router::new()
        .route(
            "/zitadel",
            post(|v: Verified<zitadel::Payload>| async move {
                summary(v.event_type(), &v.verification)
            }),
        )
        .with_state(zitadel)
        .merge(
            Router::new()
                .route(
                    "/hub",
                    post(|v: Verified<hub_message::Event>| async move {
                        summary(v.event_type(), &v.verification)
                    }),
                )
                .route(
                    "/hub-any",
                    post(|v: Verified<AnyEvent>| async move {
                        format!("{}:{}", v.family(), v.event_type())
                    }),
                )
                .with_state(hub),
        );

    let headers = sign(
        &Scheme::Zitadel,
        &[Secret::new("zitadel-signing-key")],
        "",
        NOW,
        zitadel_body.as_bytes(),
    );
    let r = call(&app, "/zitadel", &headers, zitadel_body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::OK,
            "user.human.added|id=None|t=Some(1700000000)|key=0"
        )
    );

    // specs/hub-message.md vector: ASCII key, hex.
    let headers = [hdr(
        "x-hubmessage-signature",
        "c1d71a3d448c03f645493aeef57e4b0a2c95088a192ea706ca282e3a4c423fd3",
    )];
    let r = call(&app, "/hub", &headers, hub_body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "NEW_MESSAGE|id=None|t=None|key=0")
    );
    let r = call(&app, "/hub-any", &headers, hub_body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "hub-message:NEW_MESSAGE")
    );
    let r = call(&app, "/hub", &headers, hub_body.replace("NEW", "OLD")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// specs/zentitle.md vector: RSA PKCS#1 v1.5 verified with the account's public modulus.
#[tokio::test]
async fn zentitle_rsa_vector_verifies() {
    let modulus = "wmjl_JnxzSnMQKO1O7qQdZtD1njvw41ux5v0jv5jqi1e5bYbmnvtKPJ48s72eqhq7OQCf4HQG3LysnTiTubh5aKHUKMGD6_h3pLElj0eHAFLopx3ZQDSHUnyWUkKRtgxX3wxOFHyegJNAw8C8PTS9E_4zY89544cfDfbdiizwlTa1_vHz2ouRvYLuGhT91Yhss6AijxDjl2xdVIkNcyzj_q5lp6YmTOY-DWohi9Eq9viDzXAHsRhRapKbdgO7wXnukcM7US7dQoS2fjDEH4uVcbp2FrViF2QGvHA421oBacYuXzZnHt_TR9c77nXQKtva_sEwAi6YyItK2wbGgW1bw";
    let body = r#"{"eventId":"event_NsqUHwSXC0S4f4vuNkegSg","eventDate":"2025-06-06T11:39:22.739326Z","eventCode":"customer.created","resourceId":"cust_ILLqMyx3UUy_n5cZqui7NQ","callAttempt":1,"payload":{"customerId":"cust_ILLqMyx3UUy_n5cZqui7NQ","name":"Acme"}}"#;
    let sig = "oI/KyIRVn5IoQDnGbQzLC54OCZw/Df9WYkDEzNDRoTXLxJFCUfQ5Bu/sha3dUjoV49pkaANnb3O3wCwPBC9nnQCFsz5dWkyn9SpSRynAvLf8T4a1cSxO0Ax2CoMF+2CzKeFMJd0yF9GaKivyqAcccdfZCPJ8BP3g4Pk446uSQhCHhoIZtBkcKh6Lns+ShMWfCgmxhrKWT+c8hT9vAcm6p5fQxB4SSxOBwfah5k9oW9yMHyOC6Scp95fB3kCCbg/AGR4pPtQbeAFQGQesQ3f1EnfiYHHIR5gWyosqTzAg0ojerN1F0/QhXS/aOK6zeQKjhFMRhxD+xp4//wZXPWVMzA==";
    let receiver = Receiver::new(&Scheme::Zentitle, &[Secret::new(modulus)])
        .unwrap()
        .with_memory_replay_guard(10);
    let app =
        Router::new()
            .route(
                "/",
                post(|v: Verified<zentitle::Event>| async move {
                    summary(v.event_type(), &v.verification)
                }),
            )
            .with_state(receiver);
    let headers = [hdr("N-Signature", sig)];
    let r = call(&app, "/", &headers, body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "customer.created|id=None|t=None|key=0")
    );
    // The identical request again is a replay (no timestamp: digest of the body).
    let r = call(&app, "/", &headers, body).await;
    assert_eq!(r.headers.get(REPLAY_HEADER).unwrap(), "true");
    let r = call(&app, "/", &headers, body.replace("Acme", "Acmf")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&app, "/", &[hdr("N-Signature", "not base64!")], body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn inner_extractors_string_json_and_parse_errors() {
    #[derive(serde::Deserialize)]
    struct Join {
        network_id: String,
    }
    let app = Router::new()
        .route(
            "/string",
            post(|v: Verified<String>| async move { v.payload }),
        )
        .route(
            "/json",
            post(|v: Verified<Json<Join>>| async move { v.payload.0.network_id }),
        )
        .route(
            "/event",
            post(|v: Verified<zerotier::Hook>| async move { v.event_type().to_owned() }),
        )
        .with_state(zerotier_receiver(&[ZT_SECRET]));
    // No Content-Type header: webhook senders do not always set it.
    let h = zt_signed(ZT_BODY, NOW, ZT_SECRET);
    assert_eq!(
        call(&app, "/string", &h, ZT_BODY).await.body.as_bytes(),
        ZT_BODY
    );
    assert_eq!(
        call(&app, "/json", &h, ZT_BODY).await.body,
        "19d9808567a17ccf"
    );

    // Verified but not valid UTF-8 / not a valid event: 400 from the body type.
    let latin1 = b"{\"x\":\"caf\xe9\"}";
    let h = zt_signed(latin1, NOW, ZT_SECRET);
    let r = call(&app, "/string", &h, &latin1[..]).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, "request body is not valid UTF-8")
    );
    let not_a_hook = br#"{"hook_type":42}"#;
    let h = zt_signed(not_a_hook, NOW, ZT_SECRET);
    let r = call(&app, "/event", &h, &not_a_hook[..]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.starts_with("payload does not parse"), "{}", r.body);
    // Unknown hook types are kept, not refused.
    let unknown = br#"{"hook_id":"h","org_id":"o","hook_type":"SOMETHING_NEW"}"#;
    let h = zt_signed(unknown, NOW, ZT_SECRET);
    let r = call(&app, "/event", &h, &unknown[..]).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "SOMETHING_NEW")
    );
}

#[tokio::test]
async fn tolerance_is_configurable() {
    let app = zerotier_app(
        zerotier_receiver(&[ZT_SECRET])
            .with_tolerance(Tolerance::symmetric(std::time::Duration::from_secs(10))),
    );
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW - 11, ZT_SECRET), ZT_BODY).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW - 10, ZT_SECRET), ZT_BODY).await;
    assert_eq!(r.status, StatusCode::OK);
}

fn layered_handlers(runs: Arc<AtomicUsize>) -> Router<()> {
    let fail_first = Arc::new(AtomicUsize::new(1));
    Router::new()
        .route(
            "/plain",
            post({
                let runs = Arc::clone(&runs);
                move |Extension(v): Extension<Verification>, body: Bytes| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    format!("{}|{}", summary("-", &v), body.len())
                }
            }),
        )
        .route(
            "/flaky",
            post(move |_: Extension<Verification>| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                if fail_first.fetch_sub(1, Ordering::SeqCst) > 0 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }),
        )
}

#[tokio::test]
async fn layer_verifies_a_whole_router() {
    let runs = Arc::new(AtomicUsize::new(0));
    let receiver = zerotier_receiver(&[ZT_SECRET]).with_memory_replay_guard(100);
    let app = layered_handlers(Arc::clone(&runs)).layer(VerifyLayer::new(receiver.clone()));
    // The extractor under the layer reuses the layer's verification (no second replay check).
    let typed =
        Router::new()
            .route(
                "/typed",
                post(|v: Verified<zerotier::Hook>| async move {
                    summary(v.event_type(), &v.verification)
                }),
            )
            .with_state(receiver.clone())
            .layer(VerifyLayer::new(receiver));

    let h = zt_signed(ZT_BODY, NOW, ZT_SECRET);
    let r = call(&app, "/plain", &h, ZT_BODY).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        format!("-|id=None|t=Some({NOW})|key=0|{}", ZT_BODY.len())
    );
    // Refused requests never reach a handler.
    assert_eq!(
        call(&app, "/plain", &[], ZT_BODY).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&app, "/plain", &h, &b"{}"[..]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = call(&app, "/plain", &h, ZT_BODY).await;
    assert_eq!(r.headers.get(REPLAY_HEADER).unwrap(), "true");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // A handler failure releases the replay entry so the sender's retry is processed.
    let h2 = zt_signed(ZT_BODY, NOW - 1, ZT_SECRET);
    assert_eq!(
        call(&app, "/flaky", &h2, ZT_BODY).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        call(&app, "/flaky", &h2, ZT_BODY).await.status,
        StatusCode::OK
    );
    assert!(
        call(&app, "/flaky", &h2, ZT_BODY)
            .await
            .headers
            .get(REPLAY_HEADER)
            .is_some()
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    let h3 = zt_signed(ZT_BODY, NOW - 2, ZT_SECRET);
    let r = call(&typed, "/typed", &h3, ZT_BODY).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::OK,
            "NETWORK_JOIN|id=None|t=Some(1699999998)|key=0"
        )
    );
}

#[tokio::test]
async fn from_fn_middleware_matches_the_layer() {
    let runs = Arc::new(AtomicUsize::new(0));
    let receiver = zerotier_receiver(&[ZT_SECRET]).with_body_limit(512);
    let app = layered_handlers(Arc::clone(&runs))
        .layer(middleware::from_fn_with_state(receiver, verify_middleware));
    let h = zt_signed(ZT_BODY, NOW, ZT_SECRET);
    assert_eq!(
        call(&app, "/plain", &h, ZT_BODY).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/plain", &[], ZT_BODY).await.status,
        StatusCode::BAD_REQUEST
    );
    let big = vec![b'x'; 513];
    assert_eq!(
        call(
            &app,
            "/plain",
            &zt_signed(&big, NOW, ZT_SECRET),
            big.clone()
        )
        .await
        .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// The receiver can also live inside a larger application state.
#[tokio::test]
async fn receiver_through_from_ref() {
    #[derive(Clone)]
    struct AppState {
        receiver: Receiver,
        name: &'static str,
    }
    impl axum::extract::FromRef<AppState> for Receiver {
        fn from_ref(s: &AppState) -> Receiver {
            s.receiver.clone()
        }
    }
    impl axum::extract::FromRef<AppState> for &'static str {
        fn from_ref(s: &AppState) -> &'static str {
            s.name
        }
    }
    let state = AppState {
        receiver: zerotier_receiver(&[ZT_SECRET]),
        name: "app",
    };
    let app = Router::new()
        .route(
            "/",
            post(
                |State(name): State<&'static str>, v: Verified<Bytes>| async move {
                    format!("{name}:{}", v.len())
                },
            ),
        )
        .with_state(state);
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW, ZT_SECRET), ZT_BODY).await;
    assert_eq!(r.body, format!("app:{}", ZT_BODY.len()));
}

/// A replay store that is down: the request is refused with 503 so the sender retries.
#[derive(Debug)]
struct DownStore;

#[async_trait::async_trait]
impl hookwire_axum::ReplayGuard for DownStore {
    async fn check_and_record(
        &self,
        _key: &str,
        _ttl: std::time::Duration,
    ) -> Result<bool, hookwire_axum::ReplayStoreError> {
        Err(hookwire_axum::ReplayStoreError::new("connection refused"))
    }

    async fn forget(&self, _key: &str) -> Result<(), hookwire_axum::ReplayStoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn replay_store_failure_is_503() {
    let app = zerotier_app(zerotier_receiver(&[ZT_SECRET]).with_replay_guard(DownStore));
    let r = call(&app, "/", &zt_signed(ZT_BODY, NOW, ZT_SECRET), ZT_BODY).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "replay store unavailable")
    );
    // Unsigned requests never reach the store.
    let r = call(&app, "/", &[], ZT_BODY).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Arbitrary bodies and signature header values are refused with 400/401/413, never
    /// accepted and never a server error.
    #[test]
    fn arbitrary_input_is_refused_not_accepted(
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        header in "[ -~]{0,120}",
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let app = zerotier_app(zerotier_receiver(&[ZT_SECRET]).with_body_limit(512));
        let headers = match axum::http::HeaderValue::from_str(&header) {
            Ok(v) => vec![(axum::http::HeaderName::from_static("x-ztc-signature"), v)],
            Err(_) => vec![],
        };
        let r = rt.block_on(call(&app, "/", &headers, body));
        proptest::prop_assert!(
            [StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED, StatusCode::PAYLOAD_TOO_LARGE]
                .contains(&r.status),
            "{} {}", r.status, r.body
        );
    }
}

/// Stripe preset through the extractor: `Stripe-Signature: t=,v1=` over `"{t}." + body`.
#[tokio::test]
async fn stripe_preset_through_the_extractor() {
    let scheme = Scheme::from_name("stripe").unwrap();
    let secret = scheme.generate_secret().unwrap();
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))
        .unwrap()
        .with_clock(|| NOW);
    let app = Router::new()
        .route(
            "/",
            post(|v: Verified<Bytes>| async move {
                format!(
                    "{}|{}",
                    summary("stripe", &v.verification),
                    String::from_utf8_lossy(&v.payload)
                )
            }),
        )
        .with_state(receiver);
    let body = r#"{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","amount_paid":4200}}}"#;
    let headers = sign(&scheme, &[secret], "", NOW, body.as_bytes());
    assert_eq!(headers[0].0.as_str(), "stripe-signature");

    let r = call(&app, "/", &headers, body).await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::OK,
            format!("stripe|id=None|t=Some({NOW})|key=0|{body}")
        )
    );
    let r = call(&app, "/", &headers, body.replace("4200", "4201")).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );
    let r = call(&app, "/", &[], body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::BAD_REQUEST, "missing header `stripe-signature`")
    );
}

/// GitHub preset through the extractor: `X-Hub-Signature-256: sha256=<hex>` over the body.
#[tokio::test]
async fn github_preset_through_the_extractor() {
    let scheme = Scheme::from_name("github").unwrap();
    let secret = scheme.generate_secret().unwrap();
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret)).unwrap();
    let app = Router::new()
        .route(
            "/",
            post(|v: Verified<Json<serde_json::Value>>| async move {
                format!(
                    "{}|{}",
                    summary("github", &v.verification),
                    v.payload.0["action"].as_str().unwrap_or_default()
                )
            }),
        )
        .route(
            "/bytes",
            post(|v: Verified<Bytes>| async move { v.payload }),
        )
        .with_state(receiver);
    let body = r#"{"action":"opened","number":7,"repository":{"full_name":"octo/hello"}}"#;
    let headers = sign(&scheme, &[secret], "", NOW, body.as_bytes());
    assert_eq!(headers[0].0.as_str(), "x-hub-signature-256");
    assert!(headers[0].1.to_str().unwrap().starts_with("sha256="));

    let r = call(&app, "/", &headers, body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "github|id=None|t=None|key=0|opened")
    );
    let r = call(&app, "/bytes", &headers, body).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, body));
    let r = call(&app, "/", &headers, body.replace("opened", "closed")).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );
    let r = call(&app, "/", &[], body).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "missing header `x-hub-signature-256`"
        )
    );
}

/// Standard Webhooks `v1a` (Ed25519): the sender signs with a `whsk_` key, the receiver holds
/// only the `whpk_` public key.
#[tokio::test]
async fn standard_webhooks_ed25519_through_the_extractor() {
    let scheme = Scheme::from_name("standard-v1a").unwrap();
    let signing = scheme.generate_secret().unwrap();
    assert!(signing.expose_secret().starts_with("whsk_"));
    let public = scheme.verification_secret(&signing).unwrap();
    assert!(public.expose_secret().starts_with("whpk_"));
    let receiver = Receiver::new(&scheme, &[public])
        .unwrap()
        .with_clock(|| NOW);
    let app =
        Router::new()
            .route(
                "/",
                post(|v: Verified<standard::Event>| async move {
                    summary(v.event_type(), &v.verification)
                }),
            )
            .with_state(receiver);
    let headers = sign(&scheme, &[signing], "msg_ed", NOW, STD_BODY.as_bytes());
    let sig = headers
        .iter()
        .find(|(k, _)| k == "webhook-signature")
        .unwrap();
    assert!(sig.1.to_str().unwrap().starts_with("v1a,"));

    let r = call(&app, "/", &headers, STD_BODY).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::OK,
            "invoice.paid|id=Some(\"msg_ed\")|t=Some(1700000000)|key=0"
        )
    );
    let r = call(&app, "/", &headers, STD_BODY.replace("4200", "4201")).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );
    let without_sig: Headers = headers
        .iter()
        .filter(|(k, _)| k != "webhook-signature")
        .cloned()
        .collect();
    let r = call(&app, "/", &without_sig, STD_BODY).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.starts_with("missing header"), "{}", r.body);
    let r = call(&app, "/", &[], STD_BODY).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.starts_with("missing header"), "{}", r.body);
}
