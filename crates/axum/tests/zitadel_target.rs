//! A ZITADEL target in axum over a real loopback socket: `Verified<Incoming>` verifies
//! `ZITADEL-Signature` over the raw body and parses the call, `Reply` answers in the shape
//! ZITADEL reads; and `Checked` hands refused requests to the handler too.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use hookwire_axum::zitadel::{Incoming, Reply};
use hookwire_axum::{Checked, Receiver, Verified};
use hookwire_events::zitadel::FunctionReply;
use hookwire_signature::{Scheme, Secret};
use serde_json::{Value, json};
use support::*;

const KEY: &str = "key-from-CreateTarget";
const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";

/// The docs' email-domain check, plus a function target answering claims.
async fn validate(call: Verified<Incoming>) -> Reply {
    match call.payload {
        Incoming::Request(call) => {
            let mut request = call.request.unwrap_or_default();
            let email = request
                .pointer("/email/email")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !email.ends_with("@example.com") {
                return Reply::forward_error(400, format!("Email {email} is not allowed"));
            }
            request["profile"]["displayName"] = json!("checked");
            Reply::message(&request)
        }
        Incoming::Function(f) => {
            Reply::function(&FunctionReply::default().claim("fn", Value::from(f.function.as_str())))
        }
        _ => Reply::ok(),
    }
}

fn receiver() -> Receiver {
    Receiver::new(&Scheme::Zitadel, &[Secret::new(KEY)])
        .unwrap()
        .with_clock(|| NOW)
        .with_body_limit(4096)
}

/// The target, served on 127.0.0.1.
async fn target() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/validate", post(validate))
        .with_state(receiver());
    serve(app).await
}

fn signed(key: &str, body: &[u8]) -> Headers {
    sign(&Scheme::Zitadel, &[Secret::new(key)], "", NOW, body)
}

#[tokio::test]
async fn a_target_verifies_parses_and_replies() {
    let addr = target().await;
    // Signs `body` with the target's key, posts it, reads the JSON answer.
    let post = |body: Vec<u8>| async move {
        let r = http_post(addr, "/validate", &signed(KEY, &body), &body, false).await;
        let json = serde_json::from_str::<Value>(&r.body).ok();
        (r, json)
    };
    let add_human = |email: &str| {
        serde_json::to_vec(
            &json!({"fullMethod": ADD_HUMAN, "request": {"email": {"email": email}}}),
        )
        .unwrap()
    };

    // An allowed request comes back modified, as the bare message.
    let (r, v) = post(add_human("mini@example.com")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], Reply::CONTENT_TYPE);
    assert_eq!(
        v.unwrap(),
        json!({"email": {"email": "mini@example.com"}, "profile": {"displayName": "checked"}})
    );

    // A refused one: a forwarded 400 inside a 200.
    let (r, v) = post(add_human("mini@evil.example")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        v.unwrap(),
        json!({"forwardedStatusCode": 400, "forwardedErrorMessage": "Email mini@evil.example is not allowed"})
    );

    // A function execution gets a function reply.
    let body = br#"{"function":"function/preaccesstoken","userinfo":{"sub":"u1"}}"#.to_vec();
    let (r, v) = post(body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        v.unwrap(),
        json!({"append_claims": [{"key": "fn", "value": "function/preaccesstoken"}]})
    );

    // An event: 200, empty.
    let body = br#"{"aggregateID":"1","aggregateType":"user","event_type":"user.human.added","instanceID":"2"}"#.to_vec();
    let (r, _) = post(body).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, ""));
}

#[tokio::test]
async fn refused_calls_get_typed_statuses() {
    let addr = target().await;
    let body = serde_json::to_vec(&json!({"fullMethod": ADD_HUMAN, "request": {}})).unwrap();

    // Signed with another key: 401, and the handler never ran.
    let r = http_post(
        addr,
        "/validate",
        &signed("not-the-key", &body),
        &body,
        false,
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );
    // A tampered body.
    let mut tampered = body.clone();
    tampered[3] ^= 1;
    let r = http_post(addr, "/validate", &signed(KEY, &body), &tampered, false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // No signature header.
    let r = http_post(addr, "/validate", &[], &body, false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "missing header `zitadel-signature`"
        )
    );
    // Longer than the limit.
    let big = vec![b' '; 5000];
    let r = http_post(addr, "/validate", &signed(KEY, &big), &big, true).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Verified, but not JSON: 400; verified, but a reply rather than a call: 422.
    let r = http_post(addr, "/validate", &signed(KEY, b"nope"), b"nope", false).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.starts_with("invalid payload"), "{}", r.body);
    let reply = br#"{"forwardedStatusCode":400,"forwardedErrorMessage":"x"}"#;
    let r = http_post(addr, "/validate", &signed(KEY, reply), reply, false).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unexpected payload kind `error-reply`"
        )
    );
}

/// What the `Checked` handler saw: the body and the refusal, if any.
type Log = Arc<Mutex<Vec<(Vec<u8>, Option<String>)>>>;

#[derive(Clone)]
struct Recorder {
    receiver: Receiver,
    log: Log,
}

impl FromRef<Recorder> for Receiver {
    fn from_ref(r: &Recorder) -> Receiver {
        r.receiver.clone()
    }
}

async fn record(State(r): State<Recorder>, checked: Checked) -> StatusCode {
    let refused = checked.outcome.as_ref().err().map(ToString::to_string);
    let status = if checked.is_verified() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    };
    r.log.lock().unwrap().push((checked.body.to_vec(), refused));
    status
}

#[tokio::test]
async fn checked_hands_refused_requests_to_the_handler() {
    let log = Log::default();
    let recorder = Recorder {
        receiver: receiver().with_memory_replay_guard(100),
        log: Arc::clone(&log),
    };
    let app = Router::new()
        .route("/log", post(record))
        .with_state(recorder);
    let addr = serve(app).await;
    let body = br#"{"hello":"world"}"#;

    let r = http_post(addr, "/log", &signed(KEY, body), body, false).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The same message again: a replay, still handed over, with the reason.
    let r = http_post(addr, "/log", &signed(KEY, body), body, false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = http_post(addr, "/log", &signed("other", body), body, false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = http_post(addr, "/log", &[], b"plain text", false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Too large to read: refused before the handler (413), not recorded.
    let big = vec![b'x'; 5000];
    let r = http_post(addr, "/log", &[], &big, false).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    let log = log.lock().unwrap().clone();
    let body = body.to_vec();
    assert_eq!(
        log,
        [
            (body.clone(), None),
            (body.clone(), Some("message already received".to_owned())),
            (body, Some("signature mismatch".to_owned())),
            (
                b"plain text".to_vec(),
                Some("missing header `zitadel-signature`".to_owned())
            ),
        ]
    );
}
