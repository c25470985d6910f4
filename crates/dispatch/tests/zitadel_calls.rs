//! ZITADEL executions against real targets on 127.0.0.1: signing, restCall rewriting,
//! forwarded errors, function replies, events, timeouts, interruptOnError, restAsync.
// Test helpers outside #[test] fns unwrap too (clippy.toml only covers test fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Received, Reply as Wire, TestServer, zitadel_target_receive};
use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire_dispatch::transport::{Transport, TransportConfig};
use hookwire_dispatch::zitadel::{CallFailure, ConfigError, ExecutionError, Executor};
use hookwire_events::zitadel::{
    AttributeValue, Condition, ErrorReply, EventCondition, EventExecution, EventPayload, Execution,
    FunctionCondition, FunctionExecution, FunctionReply, MethodCondition, Payload,
    RequestExecution, Sequence, Target,
};
use serde_json::{Value, json};

const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";
const KEY: &str = "target-signing-key-1";

fn transport() -> Transport {
    Transport::new(TransportConfig::default().guard(Arc::new(
        SsrfGuard::new().allow("127.0.0.0/8".parse::<IpCidr>().unwrap()),
    )))
    .unwrap()
}

fn with_id(mut t: Target, id: &str, key: Option<&str>) -> Target {
    t.id = Some(id.to_owned());
    t.signing_key = key.map(str::to_owned);
    t
}

fn call(id: &str, url: &str, timeout_ms: u64, interrupt: bool) -> Target {
    with_id(
        Target::rest_call(id, url, Duration::from_millis(timeout_ms), interrupt),
        id,
        Some(KEY),
    )
}

fn webhook(id: &str, url: &str, timeout_ms: u64, interrupt: bool) -> Target {
    with_id(
        Target::rest_webhook(id, url, Duration::from_millis(timeout_ms), interrupt),
        id,
        Some(KEY),
    )
}

fn request_exec(method: MethodCondition, targets: &[&str]) -> Execution {
    Execution::new(
        Condition::Request(method),
        targets.iter().map(|s| (*s).to_owned()),
    )
}

/// A target's 200 with a JSON body: the bare message, a function reply or a forwarded error.
fn json_reply(body: &impl serde::Serialize) -> Wire {
    Wire::Full {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(body).unwrap(),
    }
}

/// `forwardedStatusCode`/`forwardedErrorMessage` in a 200, as ZITADEL reads them.
fn forward_error(status: u16, message: impl Into<String>) -> Wire {
    json_reply(&ErrorReply::new(status, message))
}

/// Verifies the call like a real target would; a bad signature answers 401.
fn receive(req: &Received) -> Result<Payload, Wire> {
    zitadel_target_receive(KEY, req).map_err(|_| Wire::Status(401))
}

fn body_json(req: &Received) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

/// The seed's email-domain example on the real wire shapes: reject a domain with a
/// forwarded 400, enrich an allowed one.
async fn email_domain_target() -> TestServer {
    TestServer::start(|req, _| {
        let incoming = match receive(req) {
            Ok(i) => i,
            Err(reply) => return reply,
        };
        let Payload::Request(call) = incoming else {
            return Wire::Status(422);
        };
        let mut request = call.request.unwrap_or(Value::Null);
        let email = request
            .pointer("/email/email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        if !["example.com", "company.com"].contains(&domain) {
            return forward_error(400, format!("Email domain {domain} is not allowed"));
        }
        request["profile"]["displayName"] = json!("John Doe (verified)");
        request["metadata"] = json!([{"key": "department", "value": "RW5naW5lZXJpbmc="}]);
        json_reply(&request)
    })
    .await
}

fn add_human(email: &str) -> Value {
    json!({
        "profile": {"givenName": "John", "familyName": "Doe"},
        "email": {"email": email}
    })
}

#[tokio::test]
async fn email_domain_request_execution_enriches_and_rejects() {
    let server = email_domain_target().await;
    let executor = Executor::new(
        transport(),
        [call("email", &server.url("/validate"), 2000, true)],
        [request_exec(
            MethodCondition::Method(ADD_HUMAN.into()),
            &["email"],
        )],
    )
    .unwrap();

    let out = executor
        .execute_request(ADD_HUMAN, add_human("john.doe@example.com"))
        .await
        .unwrap();
    assert_eq!(out["profile"]["displayName"], "John Doe (verified)");
    assert_eq!(out["profile"]["givenName"], "John");
    assert_eq!(out["metadata"][0]["key"], "department");

    let err = executor
        .execute_request(ADD_HUMAN, add_human("john@gmail.com"))
        .await
        .unwrap_err();
    assert_eq!(err.forwarded_status(), Some(400));
    assert_eq!(
        err.client_message(),
        "Email domain gmail.com is not allowed"
    );
    assert!(!err.is_precondition_failed());
    assert_eq!(err.target(), Some("email"));

    // What the target received: the ContextInfoRequest, signed, as JSON.
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert!(
        got[0].headers["zitadel-signature"]
            .to_str()
            .unwrap()
            .starts_with("t=")
    );
    let payload = body_json(&got[0]);
    assert_eq!(payload["fullMethod"], ADD_HUMAN);
    assert_eq!(payload["request"]["email"]["email"], "john.doe@example.com");
}

#[tokio::test]
async fn full_context_is_sent_and_wrong_key_is_refused_by_the_target() {
    let server = email_domain_target().await;
    let executor = Executor::new(
        transport(),
        [with_id(
            Target::rest_call("bad", server.url("/"), Duration::from_secs(2), true),
            "bad",
            Some("not-the-key"),
        )],
        [request_exec(MethodCondition::All(true), &["bad"])],
    )
    .unwrap();
    let err = executor
        .execute_request_context(RequestExecution {
            full_method: Some(ADD_HUMAN.into()),
            instance_id: Some("inst-1".into()),
            org_id: Some("org-1".into()),
            user_id: Some("user-1".into()),
            request: Some(add_human("a@example.com")),
            ..RequestExecution::default()
        })
        .await
        .unwrap_err();
    // The receiver helper refused the signature (401), so ZITADEL would fail the call.
    assert_eq!(
        err,
        ExecutionError::Interrupted {
            target: "bad".into(),
            failure: CallFailure::Status(401)
        }
    );
    assert!(err.is_precondition_failed());
    assert_eq!(err.client_message(), "Errors.Execution.Failed");
    let p = body_json(&server.received()[0]);
    assert_eq!(p["instanceID"], "inst-1");
    assert_eq!(p["orgID"], "org-1");
    assert_eq!(p["userID"], "user-1");
}

#[tokio::test]
async fn chain_applies_call_replies_in_turn_and_ignores_webhook_bodies() {
    // Target 1 (restCall) adds a field; target 2 (restWebhook) answers a body that must be
    // ignored; target 3 (restCall) must see target 1's change and adds its own.
    let one = TestServer::start(|req, _| {
        let Ok(Payload::Request(c)) = receive(req) else {
            return Wire::Status(401);
        };
        let mut r = c.request.unwrap();
        r["step1"] = json!(true);
        json_reply(&r)
    })
    .await;
    let two = TestServer::start(|_, _| json_reply(&json!({"replaced": true}))).await;
    let three = TestServer::start(|req, _| {
        let Ok(Payload::Request(c)) = receive(req) else {
            return Wire::Status(401);
        };
        let mut r = c.request.unwrap();
        if r["step1"] != json!(true) {
            return Wire::Status(409);
        }
        r["step3"] = json!(true);
        json_reply(&r)
    })
    .await;
    let executor = Executor::new(
        transport(),
        [
            call("one", &one.url("/"), 2000, true),
            webhook("two", &two.url("/"), 2000, true),
            call("three", &three.url("/"), 2000, true),
        ],
        [request_exec(
            MethodCondition::Service("zitadel.user.v2.UserService".into()),
            &["one", "two", "three"],
        )],
    )
    .unwrap();
    let out = executor
        .execute_request(ADD_HUMAN, json!({"username": "mini"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"username": "mini", "step1": true, "step3": true})
    );
    // The webhook saw the modified message too.
    assert_eq!(body_json(&two.received()[0])["request"]["step1"], true);
}

#[tokio::test]
async fn only_the_best_matching_execution_runs() {
    let method = TestServer::status(200).await;
    let all = TestServer::status(200).await;
    let executor = Executor::new(
        transport(),
        [
            webhook("method", &method.url("/"), 2000, true),
            webhook("all", &all.url("/"), 2000, true),
        ],
        [
            request_exec(MethodCondition::All(true), &["all"]),
            request_exec(MethodCondition::Method(ADD_HUMAN.into()), &["method"]),
        ],
    )
    .unwrap();
    executor
        .execute_request(ADD_HUMAN, json!({}))
        .await
        .unwrap();
    executor
        .execute_request(
            "/zitadel.org.v2.OrganizationService/AddOrganization",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(method.count(), 1);
    assert_eq!(all.count(), 1);
    assert_eq!(
        body_json(&all.received()[0])["fullMethod"],
        "/zitadel.org.v2.OrganizationService/AddOrganization"
    );
    // No execution for responses: the message comes back unchanged, nothing is called.
    let resp = executor
        .execute_response(ADD_HUMAN, json!({}), json!({"userId": "1"}))
        .await
        .unwrap();
    assert_eq!(resp, json!({"userId": "1"}));
    assert_eq!(method.count() + all.count(), 2);
}

#[tokio::test]
async fn response_execution_rewrites_the_response() {
    let server = TestServer::start(|req, _| {
        let Ok(Payload::Response(c)) = receive(req) else {
            return Wire::Status(401);
        };
        // The target sees both the request and the response.
        let email = c.request.as_ref().unwrap()["email"]["email"].clone();
        let mut resp = c.response.unwrap();
        resp["syncedEmail"] = email;
        json_reply(&resp)
    })
    .await;
    let executor = Executor::new(
        transport(),
        [call("crm", &server.url("/"), 2000, true)],
        [Execution::new(
            Condition::Response(MethodCondition::Method(ADD_HUMAN.into())),
            ["crm".to_owned()],
        )],
    )
    .unwrap();
    let resp = executor
        .execute_response(
            ADD_HUMAN,
            add_human("a@example.com"),
            json!({"userId": "567890123456789012", "details": {"sequence": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(resp["userId"], "567890123456789012");
    assert_eq!(resp["syncedEmail"], "a@example.com");
    let p = body_json(&server.received()[0]);
    assert_eq!(p["response"]["details"]["sequence"], "1");
    assert_eq!(p["fullMethod"], ADD_HUMAN);
}

#[tokio::test]
async fn function_execution_appends_claims_from_each_target() {
    let a = TestServer::start(|req, _| {
        let Ok(Payload::Function(f)) = receive(req) else {
            return Wire::Status(401);
        };
        if f.function != "function/preaccesstoken" {
            return Wire::Status(400);
        }
        let sub = f.subject().unwrap_or_default().to_owned();
        json_reply(
            &FunctionReply::default()
                .claim("department", json!("Engineering"))
                .claim("sub_seen", json!(sub))
                .log("claims added by a"),
        )
    })
    .await;
    let b = TestServer::start(|req, _| {
        let Ok(Payload::Function(_)) = receive(req) else {
            return Wire::Status(401);
        };
        json_reply(
            &FunctionReply::default()
                .claim("employee_id", json!(4711))
                .metadata("last_token", b"now"),
        )
    })
    .await;
    let executor = Executor::new(
        transport(),
        [
            call("a", &a.url("/"), 2000, true),
            call("b", &b.url("/"), 2000, true),
        ],
        [Execution::new(
            Condition::Function(FunctionCondition {
                name: "preaccesstoken".into(),
            }),
            ["a".to_owned(), "b".to_owned()],
        )],
    )
    .unwrap();
    let mut context = FunctionExecution {
        function: "preaccesstoken".into(),
        ..FunctionExecution::default()
    };
    context.userinfo = Some(
        json!({"sub": "u-1", "email": "mini@mouse.com"})
            .as_object()
            .unwrap()
            .clone(),
    );
    let reply = executor.execute_function(context).await.unwrap();
    let claims: Vec<(String, Value)> = reply
        .append_claims
        .unwrap()
        .into_iter()
        .map(|c| (c.key, c.value))
        .collect();
    assert_eq!(
        claims,
        vec![
            ("department".to_owned(), json!("Engineering")),
            ("sub_seen".to_owned(), json!("u-1")),
            ("employee_id".to_owned(), json!(4711)),
        ]
    );
    assert_eq!(reply.append_log_claims.unwrap(), ["claims added by a"]);
    assert_eq!(reply.set_user_metadata.unwrap()[0].value, "bm93");
    assert_eq!(
        body_json(&a.received()[0])["function"],
        "function/preaccesstoken"
    );
    // Another function has no execution: nothing is called.
    let none = executor
        .execute_function(FunctionExecution {
            function: "function/preuserinfo".into(),
            ..FunctionExecution::default()
        })
        .await
        .unwrap();
    assert_eq!(none, FunctionReply::default());
    assert_eq!(a.count(), 1);
}

#[tokio::test]
async fn saml_function_execution_appends_attributes_from_each_target_in_order() {
    // Each target verifies the call, checks it is the SAML function, and answers the spec's
    // reply shape: {"set_user_metadata":[…], "append_attribute":[{name, name_format, value}]}.
    let first = TestServer::start(|req, _| {
        let Ok(Payload::Function(f)) = receive(req) else {
            return Wire::Status(401);
        };
        if f.function != "function/presamlresponse" {
            return Wire::Status(400);
        }
        json_reply(&json!({
            "append_attribute": [
                {
                    "name": "department",
                    "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                    "value": ["Engineering"]
                },
                {
                    "name": "groups",
                    "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                    "value": ["admins", "developers"]
                }
            ]
        }))
    })
    .await;
    let second = TestServer::start(|req, _| {
        let Ok(Payload::Function(f)) = receive(req) else {
            return Wire::Status(401);
        };
        if f.function != "function/presamlresponse" {
            return Wire::Status(400);
        }
        json_reply(&json!({
            "set_user_metadata": [{"key": "last_saml_login", "value": "bm93"}],
            "append_attribute": [{
                "name": "employee_id",
                "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                "value": ["4711"]
            }]
        }))
    })
    .await;
    let executor = Executor::new(
        transport(),
        [
            call("first", &first.url("/saml"), 2000, true),
            call("second", &second.url("/saml"), 2000, true),
        ],
        [Execution::new(
            Condition::Function(FunctionCondition {
                name: "presamlresponse".into(),
            }),
            ["first".to_owned(), "second".to_owned()],
        )],
    )
    .unwrap();
    let context = FunctionExecution {
        function: "presamlresponse".into(),
        user: Some(json!({"id": "u-1", "human": {"email": {"email": "mini@mouse.com"}}})),
        ..FunctionExecution::default()
    };
    let reply = executor.execute_function(context).await.unwrap();

    // Both targets' attributes, first target's before the second's, each as sent.
    let attributes: Vec<(String, Option<String>, AttributeValue)> = reply
        .append_attribute
        .clone()
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.name_format, a.value))
        .collect();
    let basic = Some("urn:oasis:names:tc:SAML:2.0:attrname-format:basic".to_owned());
    assert_eq!(
        attributes,
        vec![
            (
                "department".to_owned(),
                basic.clone(),
                AttributeValue::List(vec!["Engineering".to_owned()])
            ),
            (
                "groups".to_owned(),
                basic,
                AttributeValue::List(vec!["admins".to_owned(), "developers".to_owned()])
            ),
            (
                "employee_id".to_owned(),
                Some("urn:oasis:names:tc:SAML:2.0:attrname-format:uri".to_owned()),
                AttributeValue::List(vec!["4711".to_owned()])
            ),
        ]
    );
    let metadata = reply.set_user_metadata.unwrap();
    assert_eq!(metadata.len(), 1);
    assert_eq!(
        (metadata[0].key.as_str(), metadata[0].value.as_str()),
        ("last_saml_login", "bm93")
    );
    assert_eq!(reply.append_claims, None);

    // Each target was called once; the second saw a signed request that verifies with the
    // target key, carrying the normalized function name and the user.
    assert_eq!(first.count(), 1);
    let got = second.received();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].headers["zitadel-signature"]
            .to_str()
            .unwrap()
            .starts_with("t=")
    );
    let Ok(Payload::Function(seen)) = zitadel_target_receive(KEY, &got[0]) else {
        panic!("the second target's request did not verify as a function call");
    };
    assert_eq!(seen.function, "function/presamlresponse");
    assert!(zitadel_target_receive("not-the-key", &got[0]).is_err());
    let payload = body_json(&got[0]);
    assert_eq!(payload["function"], "function/presamlresponse");
    assert_eq!(payload["user"]["id"], "u-1");
}

fn user_added() -> EventExecution {
    EventExecution {
        aggregate_id: Some("336494809936035843".into()),
        aggregate_type: Some("user".into()),
        resource_owner: Some("336392597046099971".into()),
        instance_id: Some("336392597046034435".into()),
        version: Some("v2".into()),
        sequence: Some(Sequence::Number(1.into())),
        event_type: Some("user.human.added".into()),
        created_at: Some("2025-09-05T08:55:36.156333Z".into()),
        user_id: Some("336392597046755331".into()),
        event_payload: Some(EventPayload::Object(
            json!({"email": "mini@mouse.com", "userName": "mini@mouse.com"})
                .as_object()
                .unwrap()
                .clone(),
        )),
        ..EventExecution::default()
    }
}

#[tokio::test]
async fn event_execution_reaches_the_group_target_signed() {
    let group = TestServer::start(|req, _| match receive(req) {
        Ok(Payload::Event(_)) => Wire::Status(200),
        Ok(_) => Wire::Status(422),
        Err(r) => r,
    })
    .await;
    let all = TestServer::status(200).await;
    let executor = Executor::new(
        transport(),
        [
            webhook("group", &group.url("/events"), 2000, true),
            webhook("all", &all.url("/events"), 2000, true),
        ],
        [
            Execution::new(
                Condition::Event(EventCondition::Group("user.human.*".into())),
                ["group".to_owned()],
            ),
            Execution::new(
                Condition::Event(EventCondition::All(true)),
                ["all".to_owned()],
            ),
        ],
    )
    .unwrap();
    executor.execute_event(user_added()).await.unwrap();
    let got = group.received();
    assert_eq!(got.len(), 1);
    // The exact ContextInfoEvent body of the spec (same field order), verified by the helper.
    assert_eq!(
        String::from_utf8(got[0].body.clone()).unwrap(),
        r#"{"aggregateID":"336494809936035843","aggregateType":"user","resourceOwner":"336392597046099971","instanceID":"336392597046034435","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-09-05T08:55:36.156333Z","userID":"336392597046755331","event_payload":{"email":"mini@mouse.com","userName":"mini@mouse.com"}}"#
    );
    assert_eq!(all.count(), 0);
    // An event outside the group goes to `all`.
    let mut org = user_added();
    org.event_type = Some("org.added".into());
    executor.execute_event(org).await.unwrap();
    assert_eq!(all.count(), 1);
    assert_eq!(group.count(), 1);
    // A missing event type is refused before any call.
    let mut bad = user_added();
    bad.event_type = None;
    assert_eq!(
        executor.execute_event(bad).await.unwrap_err(),
        ExecutionError::MissingField("event_type")
    );
}

fn slow(delay_ms: u64, then: Wire) -> impl Fn(&Received, usize) -> Wire + Send + Sync + 'static {
    move |_, _| Wire::Delay(Duration::from_millis(delay_ms), Box::new(then.clone()))
}

#[tokio::test]
async fn timeout_with_interrupt_stops_the_chain() {
    let slow_target = TestServer::start(slow(3000, Wire::Status(200))).await;
    let after = TestServer::status(200).await;
    let executor = Executor::new(
        transport(),
        [
            call("slow", &slow_target.url("/"), 200, true),
            webhook("after", &after.url("/"), 2000, true),
        ],
        [request_exec(MethodCondition::All(true), &["slow", "after"])],
    )
    .unwrap();
    let started = Instant::now();
    let err = executor
        .execute_request(ADD_HUMAN, json!({}))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        err,
        ExecutionError::Interrupted {
            target: "slow".into(),
            failure: CallFailure::Timeout
        }
    );
    assert!(err.is_timeout());
    assert_eq!(after.count(), 0);
}

#[tokio::test]
async fn timeout_without_interrupt_is_logged_and_the_chain_continues() {
    let slow_target = TestServer::start(slow(3000, Wire::Status(200))).await;
    let fixer = TestServer::start(|req, _| {
        let Ok(Payload::Request(c)) = receive(req) else {
            return Wire::Status(401);
        };
        let mut r = c.request.unwrap();
        r["fixed"] = json!(true);
        json_reply(&r)
    })
    .await;
    let failing = TestServer::status(500).await;
    let executor = Executor::new(
        transport(),
        [
            call("slow", &slow_target.url("/"), 200, false),
            webhook("failing", &failing.url("/"), 2000, false),
            call("fixer", &fixer.url("/"), 2000, true),
        ],
        [request_exec(
            MethodCondition::All(true),
            &["slow", "failing", "fixer"],
        )],
    )
    .unwrap();
    let started = Instant::now();
    let out = executor
        .execute_request(ADD_HUMAN, json!({"a": 1}))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(out, json!({"a": 1, "fixed": true}));
    assert_eq!(failing.count(), 1);
}

#[tokio::test]
async fn rest_async_never_blocks_the_caller() {
    let slow_async = TestServer::start(slow(1500, Wire::Status(500))).await;
    let executor = Executor::new(
        transport(),
        [with_id(
            Target::rest_async("audit", slow_async.url("/"), Duration::from_secs(5)),
            "audit",
            Some(KEY),
        )],
        [request_exec(MethodCondition::All(true), &["audit"])],
    )
    .unwrap();
    let started = Instant::now();
    let out = executor
        .execute_request(ADD_HUMAN, json!({"x": 1}))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "restAsync blocked for {:?}",
        started.elapsed()
    );
    assert_eq!(out, json!({"x": 1}));
    // It was still sent (signed), in the background.
    let got = slow_async.wait_for(1, Duration::from_secs(5)).await;
    assert!(zitadel_target_receive(KEY, &got[0]).is_ok());
}

#[tokio::test]
async fn overall_deadline_caps_the_chain() {
    let slow_target = TestServer::start(slow(3000, Wire::Status(200))).await;
    let executor = Executor::new(
        transport(),
        // Target timeout is long and interruptOnError is off: only the deadline stops it.
        [call("slow", &slow_target.url("/"), 10_000, false)],
        [request_exec(MethodCondition::All(true), &["slow"])],
    )
    .unwrap()
    .with_deadline(Duration::from_millis(300));
    let started = Instant::now();
    let err = executor
        .execute_request(ADD_HUMAN, json!({}))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(
        err,
        ExecutionError::DeadlineExceeded {
            target: "slow".into()
        }
    );
    assert!(err.is_timeout() && err.is_precondition_failed());
}

#[tokio::test]
async fn failures_map_like_handle_response() {
    let server = TestServer::start(|req, _| match req.path.as_str() {
        "/500" => Wire::Status(500),
        "/fwd500" => forward_error(500, "upstream broke"),
        "/webhook-fwd" => forward_error(403, "forbidden by allow-list"),
        "/notjson" => Wire::Full {
            status: 200,
            headers: vec![],
            body: b"ok".to_vec(),
        },
        "/array" => Wire::Full {
            status: 200,
            headers: vec![],
            body: b"[1,2]".to_vec(),
        },
        _ => Wire::Status(404),
    })
    .await;
    let cases: Vec<(Target, CallFailure)> = vec![
        (
            call("t", &server.url("/500"), 2000, true),
            CallFailure::Status(500),
        ),
        (
            call("t", &server.url("/fwd500"), 2000, true),
            CallFailure::ForwardedOther {
                status: Some(500),
                message: "upstream broke".into(),
            },
        ),
        (
            webhook("t", &server.url("/webhook-fwd"), 2000, true),
            CallFailure::Forwarded {
                status: 403,
                message: "forbidden by allow-list".into(),
            },
        ),
        (
            call("t", &server.url("/notjson"), 2000, true),
            CallFailure::InvalidReply("not JSON: expected value at line 1 column 1".into()),
        ),
        (
            call("t", &server.url("/array"), 2000, true),
            CallFailure::InvalidReply("expected a JSON object (the bare message)".into()),
        ),
    ];
    for (target, want) in cases {
        let executor = Executor::new(
            transport(),
            [target],
            [request_exec(MethodCondition::All(true), &["t"])],
        )
        .unwrap();
        let err = executor
            .execute_request(ADD_HUMAN, json!({}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ExecutionError::Interrupted {
                target: "t".into(),
                failure: want
            }
        );
    }
    // A refused connection, interrupting.
    let port = common::closed_port().await;
    let executor = Executor::new(
        transport(),
        [call("t", &format!("http://127.0.0.1:{port}/"), 2000, true)],
        [request_exec(MethodCondition::All(true), &["t"])],
    )
    .unwrap();
    let err = executor
        .execute_request(ADD_HUMAN, json!({}))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ExecutionError::Interrupted {
            failure: CallFailure::Transport(_),
            ..
        }
    ));
    // The same failures without interruptOnError leave the message unchanged.
    let executor = Executor::new(
        transport(),
        [call("t", &server.url("/notjson"), 2000, false)],
        [request_exec(MethodCondition::All(true), &["t"])],
    )
    .unwrap();
    assert_eq!(
        executor
            .execute_request(ADD_HUMAN, json!({"k": 1}))
            .await
            .unwrap(),
        json!({"k": 1})
    );
}

#[tokio::test]
async fn ssrf_guard_applies_to_targets() {
    let server = TestServer::status(200).await;
    let strict = Transport::new(TransportConfig::default()).unwrap();
    let executor = Executor::new(
        strict,
        [call("t", &server.url("/"), 2000, true)],
        [request_exec(MethodCondition::All(true), &["t"])],
    )
    .unwrap();
    let err = executor
        .execute_request(ADD_HUMAN, json!({}))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ExecutionError::Interrupted {
            failure: CallFailure::Transport(_),
            ..
        }
    ));
    assert_eq!(server.count(), 0);
}

#[test]
fn configuration_errors() {
    let t = call("a", "http://127.0.0.1:9/", 1000, true);
    assert_eq!(
        Executor::new(
            transport(),
            [t.clone()],
            [request_exec(MethodCondition::All(true), &["missing"])]
        )
        .unwrap_err(),
        ConfigError::UnknownTarget("missing".into())
    );
    assert_eq!(
        Executor::new(transport(), [t.clone(), t.clone()], []).unwrap_err(),
        ConfigError::DuplicateTarget("a".into())
    );
    assert_eq!(
        Executor::new(
            transport(),
            [t],
            [Execution::new(
                Condition::Function(FunctionCondition {
                    name: "complement_token".into()
                }),
                ["a".to_owned()]
            )]
        )
        .unwrap_err(),
        ConfigError::UnknownFunction("complement_token".into())
    );
}

proptest::proptest! {
    /// What a target's `CallTarget` signs, a target verifying with the same key accepts; one
    /// flipped byte is refused.
    #[test]
    fn call_signatures_round_trip(email in "[a-z]{1,12}@[a-z]{1,8}\\.com", flip in 0usize..64) {
        use hookwire_dispatch::zitadel::CallTarget;
        use hookwire_signature::{Scheme, Secret, Verifier};
        let mut t = Target::rest_call("t", "http://127.0.0.1:1/", Duration::from_secs(1), true);
        t.signing_key = Some("round-trip-key".into());
        let target = CallTarget::from_resource(&t).unwrap();
        let body = serde_json::to_vec(&json!({
            "fullMethod": ADD_HUMAN,
            "request": {"email": {"email": email}}
        })).unwrap();
        let headers = target.headers(&body, 1_700_000_000).unwrap();
        let verifier = Verifier::new(&Scheme::Zitadel, &[Secret::new("round-trip-key")]).unwrap();
        proptest::prop_assert!(verifier.verify_at(&body, &headers, 1_700_000_001).is_ok());
        let mut bad = body.clone();
        let i = flip % bad.len();
        bad[i] ^= 0x01;
        proptest::prop_assert!(verifier.verify_at(&bad, &headers, 1_700_000_001).is_err());
    }
}
