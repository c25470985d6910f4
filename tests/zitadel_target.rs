//! A ZITADEL execution across the workspace, through the facade: hookwire-dispatch's
//! `Executor` plays ZITADEL and calls a restCall target on 127.0.0.1 written with
//! hookwire-axum (`Verified<Incoming>` in, `Reply` out), which refuses one email domain with a
//! forwarded 400 and enriches the others; a target with the wrong key is refused with 401.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use hookwire::axum::zitadel::{Incoming, Reply};
use hookwire::axum::{Receiver, Verified};
use hookwire::dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire::dispatch::transport::{Transport, TransportConfig};
use hookwire::dispatch::zitadel::{CallFailure, ExecutionError, Executor};
use hookwire::events::zitadel::{Condition, Execution, MethodCondition, Target};
use hookwire::signature::{Scheme, Secret};
use hookwire_e2e::{bind, serve};
use serde_json::{Value, json};

const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";
const KEY: &str = "e2e-target-signing-key";

async fn email_domain(call: Verified<Incoming>) -> Reply {
    let Incoming::Request(call) = call.payload else {
        return Reply::fail(422);
    };
    let mut request = call.request.unwrap_or_default();
    let email = request
        .pointer("/email/email")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d).to_owned();
    if domain != "example.com" {
        return Reply::forward_error(400, format!("Email domain {domain} is not allowed"));
    }
    request["profile"]["displayName"] = json!("John Doe (verified)");
    Reply::message(&request)
}

fn executor(url: &str, key: &str) -> Executor {
    let transport = Transport::new(TransportConfig::default().guard(Arc::new(
        SsrfGuard::new().allow("127.0.0.0/8".parse::<IpCidr>().unwrap()),
    )))
    .unwrap();
    let mut target = Target::rest_call("email", url, Duration::from_secs(5), true);
    target.id = Some("email".into());
    target.signing_key = Some(key.into());
    let execution = Execution::new(
        Condition::Request(MethodCondition::Method(ADD_HUMAN.into())),
        ["email".to_owned()],
    );
    Executor::new(transport, [target], [execution]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_runs_against_a_hookwire_axum_target() {
    let (listener, base) = bind().await.unwrap();
    let receiver = Receiver::new(&Scheme::Zitadel, &[Secret::new(KEY)]).unwrap();
    serve(
        listener,
        Router::new()
            .route("/validate", post(email_domain))
            .with_state(receiver),
    );
    let url = format!("{base}/validate");
    let good = executor(&url, KEY);

    let out = good
        .execute_request(
            ADD_HUMAN,
            json!({"profile": {"givenName": "John"}, "email": {"email": "john@example.com"}}),
        )
        .await
        .unwrap();
    assert_eq!(out["profile"]["displayName"], "John Doe (verified)");
    assert_eq!(out["profile"]["givenName"], "John");

    let err = good
        .execute_request(ADD_HUMAN, json!({"email": {"email": "john@gmail.com"}}))
        .await
        .unwrap_err();
    assert_eq!(err.forwarded_status(), Some(400));
    assert_eq!(
        err.client_message(),
        "Email domain gmail.com is not allowed"
    );

    // Signed with another key: the target's extractor refuses it (401).
    let err = executor(&url, "not-the-key")
        .execute_request(ADD_HUMAN, json!({"email": {"email": "john@example.com"}}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ExecutionError::Interrupted {
            target: "email".into(),
            failure: CallFailure::Status(401),
        }
    );
}
