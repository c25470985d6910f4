//! The `/v1` API over a real loopback server, on SQLite and PostgreSQL: every route's status
//! codes and bodies, pagination, the secret shown once, tenant isolation, error shapes, the
//! per-tenant limit under concurrency, the attempt log and redelivery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::time::Duration;

use hookwire_dispatch::Limits;
use serde_json::{Value, json};
use support::{Backend, assert_problem, start, start_with};

const RECEIVER: &str = "https://hooks.example.com/in";

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn endpoints_lifecycle(backend: Backend) {
    let s = start(backend).await;
    let created = s
        .call(
            "POST",
            "/v1/endpoints",
            &s.a,
            Some(json!({
                "family": "zerotier",
                "url": RECEIVER,
                "event_types": ["NETWORK_JOIN"],
                "description": "office",
                "auth": { "type": "bearer", "token": "tok-secret-123" },
                "headers": { "X-Team": "infra" },
                "rate_limit": { "per_second": 5.0, "burst": 10 },
                "fifo": true,
                "timeout_ms": 5000
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().expect("id").to_owned();
    let secret = created.json["secret"].as_str().expect("secret").to_owned();
    assert!(!secret.is_empty());
    assert_eq!(
        created.headers["location"].to_str().unwrap(),
        format!("endpoints/{id}")
    );
    assert_eq!(created.json["family"], "zerotier");
    assert_eq!(created.json["scheme"], "zerotier");
    assert_eq!(created.json["event_types"], json!(["NETWORK_JOIN"]));
    assert_eq!(created.json["auth"], json!({ "type": "bearer" }));
    assert_eq!(created.json["headers"], json!({ "X-Team": "infra" }));
    assert_eq!(
        created.json["rate_limit"],
        json!({ "per_second": 5.0, "burst": 10 })
    );
    assert_eq!(created.json["fifo"], true);
    assert_eq!(created.json["timeout_ms"], 5000);
    assert_eq!(created.json["enabled"], true);
    assert!(!created.text.contains("tok-secret-123"));

    // The secret never again: not in get, list, patch.
    let got = s
        .call("GET", &format!("/v1/endpoints/{id}"), &s.a, None)
        .await;
    assert_eq!(got.status, 200);
    assert!(got.json.get("secret").is_none());
    assert!(!got.text.contains(&secret));
    assert_eq!(got.json["secrets"].as_array().map(Vec::len), Some(1));
    let list = s.call("GET", "/v1/endpoints", &s.a, None).await;
    assert_eq!(list.status, 200);
    assert_eq!(ids(&list.json), vec![id.clone()]);
    assert!(!list.text.contains(&secret));
    assert_eq!(list.json["next_cursor"], Value::Null);

    let patched = s
        .call(
            "PATCH",
            &format!("/v1/endpoints/{id}"),
            &s.a,
            Some(json!({
                "url": "https://hooks.example.com/v2",
                "event_types": ["NETWORK_JOIN", "MEMBER_DELETED"],
                "description": "moved",
                "enabled": false,
                "auth": { "type": "api_key", "header": "X-Api-Key", "key": "k-999" },
                "headers": {},
                "rate_limit": null,
                "max_in_flight": 3,
                "fifo": false,
                "timeout_ms": 2000
            })),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json["url"], "https://hooks.example.com/v2");
    assert_eq!(
        patched.json["event_types"],
        json!(["NETWORK_JOIN", "MEMBER_DELETED"])
    );
    assert_eq!(patched.json["description"], "moved");
    assert_eq!(patched.json["enabled"], false);
    assert_eq!(patched.json["disabled_reason"], "disabled manually");
    assert_eq!(
        patched.json["auth"],
        json!({ "type": "api_key", "header": "X-Api-Key" })
    );
    assert_eq!(patched.json["headers"], json!({}));
    assert_eq!(patched.json["rate_limit"], Value::Null);
    assert_eq!(patched.json["max_in_flight"], 3);
    assert_eq!(patched.json["fifo"], false);
    assert_eq!(patched.json["timeout_ms"], 2000);
    assert!(!patched.text.contains("k-999") && !patched.text.contains(&secret));
    let enabled = s
        .call(
            "PATCH",
            &format!("/v1/endpoints/{id}"),
            &s.a,
            Some(json!({ "enabled": true })),
        )
        .await;
    assert_eq!(enabled.json["enabled"], true);
    assert_eq!(enabled.json["url"], "https://hooks.example.com/v2");

    // Rotation: a new secret, once; the old one expires after the grace period.
    let rotated = s
        .call(
            "POST",
            &format!("/v1/endpoints/{id}/rotate-secret"),
            &s.a,
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let fresh = rotated.json["secret"].as_str().expect("secret").to_owned();
    assert_ne!(fresh, secret);
    assert!(rotated.json["previous_valid_until"].as_i64().is_some());
    let got = s
        .call("GET", &format!("/v1/endpoints/{id}"), &s.a, None)
        .await;
    assert!(!got.text.contains(&fresh) && !got.text.contains(&secret));
    let secrets = got.json["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0]["expires_at"], Value::Null);
    assert_eq!(
        secrets[1]["expires_at"],
        rotated.json["previous_valid_until"]
    );

    // Test event: one delivery, to this endpoint only.
    let tested = s
        .call("POST", &format!("/v1/endpoints/{id}/test"), &s.a, None)
        .await;
    assert_eq!(tested.status, 202, "{}", tested.text);
    assert_eq!(
        tested.json["delivery_ids"].as_array().map(Vec::len),
        Some(1)
    );
    let dlv = tested.json["delivery_ids"][0].as_str().unwrap();
    let d = s
        .call("GET", &format!("/v1/deliveries/{dlv}"), &s.a, None)
        .await;
    assert_eq!(d.status, 200);
    assert_eq!(d.json["endpoint_id"], id.as_str());
    assert_eq!(d.json["state"], "pending");
    assert_eq!(d.json["attempt_log"], json!([]));

    let recovered = s
        .call(
            "POST",
            &format!("/v1/endpoints/{id}/recover"),
            &s.a,
            Some(json!({ "since": 0 })),
        )
        .await;
    assert_eq!(recovered.status, 202, "{}", recovered.text);
    assert_eq!(recovered.json["requeued"], 0);

    let deleted = s
        .call("DELETE", &format!("/v1/endpoints/{id}"), &s.a, None)
        .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    let gone = s
        .call("GET", &format!("/v1/endpoints/{id}"), &s.a, None)
        .await;
    assert_problem(&gone, 404, None);
    let again = s
        .call("DELETE", &format!("/v1/endpoints/{id}"), &s.a, None)
        .await;
    assert_problem(&again, 404, None);

    // Unsigned endpoint: no secret, and rotation is refused with 422.
    let unsigned = s
        .call(
            "POST",
            "/v1/endpoints",
            &s.a,
            Some(json!({ "family": "standard", "url": RECEIVER, "scheme": null })),
        )
        .await;
    assert_eq!(unsigned.status, 201, "{}", unsigned.text);
    assert_eq!(unsigned.json["secret"], Value::Null);
    assert_eq!(unsigned.json["scheme"], Value::Null);
    let uid = unsigned.json["id"].as_str().unwrap();
    let r = s
        .call(
            "POST",
            &format!("/v1/endpoints/{uid}/rotate-secret"),
            &s.a,
            None,
        )
        .await;
    assert_problem(&r, 422, Some("scheme"));
}

async fn messages_and_idempotency(backend: Backend) {
    let s = start(backend).await;
    let (ep1, _) = s.endpoint(&s.a, RECEIVER).await;
    let (ep2, _) = s.endpoint(&s.a, "https://hooks.example.com/two").await;
    let sent = s
        .call(
            "POST",
            "/v1/messages",
            &s.a,
            Some(json!({ "event_type": "invoice.paid", "payload": { "amount": 12, "x": [1, "é"] }, "idempotency_key": "order-1" })),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert_eq!(sent.json["duplicate"], false);
    let msg = sent.json["message_id"].as_str().unwrap().to_owned();
    let dlvs: HashSet<String> = sent.json["delivery_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(dlvs.len(), 2);
    let again = s
        .call(
            "POST",
            "/v1/messages",
            &s.a,
            Some(json!({ "event_type": "invoice.paid", "payload": {}, "idempotency_key": "order-1" })),
        )
        .await;
    assert_eq!(again.status, 202);
    assert_eq!(again.json["duplicate"], true);
    assert_eq!(again.json["message_id"], msg.as_str());
    let again_ids: HashSet<String> = again.json["delivery_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(again_ids, dlvs);

    let got = s
        .call("GET", &format!("/v1/messages/{msg}"), &s.a, None)
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["payload"], json!({ "amount": 12, "x": [1, "é"] }));
    assert_eq!(got.json["event_type"], "invoice.paid");
    assert_eq!(got.json["idempotency_key"], "order-1");
    assert_eq!(got.json["delivery_ids"].as_array().map(Vec::len), Some(2));

    // Each delivery names its endpoint.
    let mut eps = HashSet::new();
    for d in &dlvs {
        let r = s
            .call("GET", &format!("/v1/deliveries/{d}"), &s.a, None)
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["message_id"], msg.as_str());
        eps.insert(r.json["endpoint_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(eps, HashSet::from([ep1, ep2]));

    let missing = s
        .call("POST", "/v1/messages", &s.a, Some(json!({ "payload": {} })))
        .await;
    assert_problem(&missing, 400, Some("body"));
    let empty = s
        .call(
            "POST",
            "/v1/messages",
            &s.a,
            Some(json!({ "event_type": "", "payload": {} })),
        )
        .await;
    assert_problem(&empty, 422, Some("event_type"));
}

async fn pagination(backend: Backend) {
    let s = start_with(
        backend,
        Limits::default().endpoints_per_tenant(25),
        |s| s,
        false,
    )
    .await;
    let mut made = Vec::new();
    for i in 0..23 {
        made.push(
            s.endpoint(&s.a, &format!("https://hooks.example.com/{i}"))
                .await
                .0,
        );
    }
    let mut seen = Vec::new();
    let mut created = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/v1/endpoints?limit=10".to_owned(),
            Some(c) => format!("/v1/endpoints?limit=10&cursor={c}"),
        };
        let r = s.call("GET", &path, &s.a, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        seen.extend(ids(&r.json));
        for e in r.json["data"].as_array().unwrap() {
            created.push(e["created_at"].as_i64().unwrap());
        }
        pages += 1;
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // Oldest first (ties in the same millisecond by id), each once.
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    assert_eq!(seen.len(), made.len());
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        made.iter().collect::<HashSet<_>>()
    );

    // Deliveries: 7 messages to one endpoint... of the 23; filter by endpoint, pages of 3.
    let ep = made[0].clone();
    for ep in &made[1..] {
        assert_eq!(
            s.call("DELETE", &format!("/v1/endpoints/{ep}"), &s.a, None)
                .await
                .status,
            204
        );
    }
    let mut sent = Vec::new();
    for i in 0..7 {
        let (_, d) = s.message(&s.a, &format!("type.{}", i % 2)).await;
        sent.extend(d);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sent.reverse(); // newest first
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/v1/deliveries?limit=3&endpoint_id={ep}"),
            Some(c) => format!("/v1/deliveries?limit=3&endpoint_id={ep}&cursor={c}"),
        };
        let r = s.call("GET", &path, &s.a, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = ids(&r.json);
        assert!(page.len() <= 3);
        got.extend(page);
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(got, sent);

    // Filters: event type, state, time window.
    let r = s
        .call(
            "GET",
            "/v1/deliveries?event_type=type.1&limit=100",
            &s.a,
            None,
        )
        .await;
    assert_eq!(ids(&r.json).len(), 3);
    let r = s
        .call("GET", "/v1/deliveries?state=pending", &s.a, None)
        .await;
    assert_eq!(ids(&r.json).len(), 7);
    let r = s
        .call("GET", "/v1/deliveries?state=delivered", &s.a, None)
        .await;
    assert_eq!(ids(&r.json).len(), 0);
    let first = s
        .call("GET", &format!("/v1/deliveries/{}", sent[6]), &s.a, None)
        .await;
    let t0 = first.json["created_at"].as_i64().unwrap();
    let r = s
        .call("GET", &format!("/v1/deliveries?until={t0}"), &s.a, None)
        .await;
    assert_eq!(ids(&r.json).len(), 0);
    let r = s
        .call(
            "GET",
            &format!("/v1/deliveries?since={}", t0 + 1),
            &s.a,
            None,
        )
        .await;
    assert!(ids(&r.json).len() < 7);
    let r = s
        .call("GET", &format!("/v1/deliveries?since={t0}"), &s.a, None)
        .await;
    assert_eq!(ids(&r.json).len(), 7);

    // Bad paging parameters.
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("cursor=bm9wZQ", "cursor"),
        ("cursor=%FF", "cursor"),
        ("state=lost", "state"),
        ("since=yesterday", "since"),
        ("endpoint_id=nope", "endpoint_id"),
        ("colour=blue", "colour"),
        ("limit=1&limit=2", "limit"),
    ] {
        let r = s
            .call("GET", &format!("/v1/deliveries?{q}"), &s.a, None)
            .await;
        assert_problem(&r, 400, Some(field));
    }
    let r = s
        .call("GET", "/v1/endpoints?cursor=bm9wZQ", &s.a, None)
        .await;
    assert_problem(&r, 400, Some("cursor"));
    // A delivery cursor is not an endpoint cursor.
    let r = s.call("GET", "/v1/deliveries?limit=1", &s.a, None).await;
    let c = r.json["next_cursor"].as_str().unwrap();
    let r = s
        .call("GET", &format!("/v1/endpoints?cursor={c}"), &s.a, None)
        .await;
    assert_problem(&r, 400, Some("cursor"));
}

/// Every route, as tenant B, with tenant A's ids: the same answer as for ids nobody has.
async fn tenant_isolation(backend: Backend) {
    let s = start(backend).await;
    let (ep, _) = s.endpoint(&s.a, RECEIVER).await;
    let (msg, dlvs) = s.message(&s.a, "invoice.paid").await;
    let dlv = dlvs[0].clone();
    let nobody_ep = "ep_00000000000000000000000000000000";
    let nobody_msg = "msg_00000000000000000000000000000000";
    let nobody_dlv = "dlv_00000000000000000000000000000000";
    let patch = Some(json!({ "description": "mine now" }));
    let since = Some(json!({ "since": 0 }));
    let cases: Vec<(&str, String, String, Option<Value>)> = vec![
        (
            "GET",
            format!("/v1/endpoints/{ep}"),
            format!("/v1/endpoints/{nobody_ep}"),
            None,
        ),
        (
            "PATCH",
            format!("/v1/endpoints/{ep}"),
            format!("/v1/endpoints/{nobody_ep}"),
            patch.clone(),
        ),
        (
            "DELETE",
            format!("/v1/endpoints/{ep}"),
            format!("/v1/endpoints/{nobody_ep}"),
            None,
        ),
        (
            "POST",
            format!("/v1/endpoints/{ep}/rotate-secret"),
            format!("/v1/endpoints/{nobody_ep}/rotate-secret"),
            None,
        ),
        (
            "POST",
            format!("/v1/endpoints/{ep}/test"),
            format!("/v1/endpoints/{nobody_ep}/test"),
            None,
        ),
        (
            "POST",
            format!("/v1/endpoints/{ep}/recover"),
            format!("/v1/endpoints/{nobody_ep}/recover"),
            since.clone(),
        ),
        (
            "GET",
            format!("/v1/messages/{msg}"),
            format!("/v1/messages/{nobody_msg}"),
            None,
        ),
        (
            "GET",
            format!("/v1/deliveries/{dlv}"),
            format!("/v1/deliveries/{nobody_dlv}"),
            None,
        ),
        (
            "POST",
            format!("/v1/deliveries/{dlv}/redeliver"),
            format!("/v1/deliveries/{nobody_dlv}/redeliver"),
            None,
        ),
    ];
    for (method, theirs, nobodys, body) in &cases {
        let a = s.call(method, theirs, &s.b, body.clone()).await;
        let n = s.call(method, nobodys, &s.b, body.clone()).await;
        assert_problem(&a, 404, None);
        assert_eq!(
            a.text, n.text,
            "{method} {theirs} differs from a missing id"
        );
        assert_eq!(
            a.headers.get("content-length"),
            n.headers.get("content-length")
        );
    }
    // B's listings are empty, even when filtered by A's ids.
    for path in [
        "/v1/endpoints".to_owned(),
        "/v1/deliveries".to_owned(),
        format!("/v1/deliveries?endpoint_id={ep}"),
        format!("/v1/deliveries?message_id={msg}"),
    ] {
        let r = s.call("GET", &path, &s.b, None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["data"], json!([]), "{path}");
    }
    // B's messages never reach A's endpoints.
    let (_, none) = s.message(&s.b, "invoice.paid").await;
    assert!(none.is_empty());
    // And A still sees everything unchanged.
    let r = s
        .call("GET", &format!("/v1/endpoints/{ep}"), &s.a, None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["description"], "");
    assert_eq!(r.json["secrets"].as_array().map(Vec::len), Some(1));
    let r = s
        .call(
            "GET",
            &format!("/v1/deliveries?endpoint_id={ep}"),
            &s.a,
            None,
        )
        .await;
    assert_eq!(ids(&r.json), vec![dlv]);
}

async fn bad_input(backend: Backend) {
    let s = start_with(backend, Limits::default(), |st| st.body_limit(4096), false).await;
    // Authentication.
    let r = s.raw("GET", "/v1/endpoints", None, None, None).await;
    assert_problem(&r, 401, None);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = s
        .raw("GET", "/v1/endpoints", Some("hwk_wrong"), None, None)
        .await;
    assert_problem(&r, 401, None);
    let post = |ct: Option<&'static str>, body: Vec<u8>| {
        let s = &s;
        async move {
            s.raw("POST", "/v1/endpoints", Some(&s.a), ct, Some(body))
                .await
        }
    };
    let json_ct = Some("application/json");
    assert_problem(&post(json_ct, b"{\"family\":".to_vec()).await, 400, None);
    assert_problem(
        &post(json_ct, b"{} trailing".to_vec()).await,
        400,
        Some("body"),
    );
    assert_problem(
        &post(
            json_ct,
            b"{\"family\":\"standard\",\"url\":\"\xff\xfe\"}".to_vec(),
        )
        .await,
        400,
        None,
    );
    assert_problem(
        &post(
            json_ct,
            br#"{"family":"standard","url":"https://a.example","colour":1}"#.to_vec(),
        )
        .await,
        400,
        Some("colour"),
    );
    assert_problem(
        &post(json_ct, br#"{"family":"standard","url":42}"#.to_vec()).await,
        400,
        Some("url"),
    );
    assert_problem(
        &post(
            json_ct,
            br#"{"family":"fax","url":"https://a.example"}"#.to_vec(),
        )
        .await,
        400,
        Some("family"),
    );
    assert_problem(
        &post(
            json_ct,
            br#"{"family":"standard","url":"https://a.example","auth":{"type":"bearer"}}"#.to_vec(),
        )
        .await,
        400,
        Some("auth"),
    );
    assert_problem(
        &post(json_ct, br#"{"family":"standard","url":"https://a.example","rate_limit":{"per_second":1,"burst":-1}}"#.to_vec()).await,
        400,
        Some("rate_limit.burst"),
    );
    assert_problem(&post(Some("text/plain"), b"{}".to_vec()).await, 415, None);
    assert_problem(&post(None, b"{}".to_vec()).await, 415, None);
    let big = format!(
        r#"{{"family":"standard","url":"https://a.example","description":"{}"}}"#,
        "x".repeat(5000)
    );
    assert_problem(&post(json_ct, big.into_bytes()).await, 413, Some("body"));
    // Rules.
    for (body, field) in [
        (
            json!({ "family": "standard", "url": "https://10.0.0.1/hook" }),
            "url",
        ),
        (
            json!({ "family": "standard", "url": "http://hooks.example.com/" }),
            "url",
        ),
        (json!({ "family": "standard", "url": "not a url" }), "url"),
        (
            json!({ "family": "zerotier", "url": RECEIVER, "event_types": ["NOPE"] }),
            "event_types",
        ),
        (
            json!({ "family": "standard", "url": RECEIVER, "event_types": [] }),
            "event_types",
        ),
        (
            json!({ "family": "standard", "url": RECEIVER, "headers": { "Host": "x" } }),
            "headers",
        ),
        (
            json!({ "family": "standard", "url": RECEIVER, "timeout_ms": 0 }),
            "timeout_ms",
        ),
        (
            json!({ "family": "standard", "url": RECEIVER, "rate_limit": { "per_second": 0, "burst": 1 } }),
            "rate_limit",
        ),
        (
            json!({ "family": "standard", "url": RECEIVER, "scheme": "rot13" }),
            "scheme",
        ),
    ] {
        let r = s
            .call("POST", "/v1/endpoints", &s.a, Some(body.clone()))
            .await;
        assert_problem(&r, 422, Some(field));
    }
    let ssrf = s
        .call(
            "POST",
            "/v1/endpoints",
            &s.a,
            Some(json!({ "family": "standard", "url": "https://169.254.169.254/" })),
        )
        .await;
    assert_eq!(
        ssrf.json["type"],
        "urn:hookwire:problem:destination-refused"
    );
    // Nothing was half-written.
    let r = s.call("GET", "/v1/endpoints", &s.a, None).await;
    assert_eq!(r.json["data"], json!([]));
    // Ids of the wrong form, routes and methods.
    for path in [
        "/v1/endpoints/nope",
        "/v1/endpoints/ep_XYZ",
        "/v1/messages/ep_00000000000000000000000000000000",
        "/v1/deliveries/dlv_1",
    ] {
        let r = s.call("GET", path, &s.a, None).await;
        assert_problem(&r, 400, Some("id"));
    }
    let r = s.call("GET", "/v1/nothing-here", &s.a, None).await;
    assert_problem(&r, 404, None);
    assert_eq!(r.json["type"], "urn:hookwire:problem:no-route");
    let r = s.call("PUT", "/v1/endpoints", &s.a, None).await;
    assert_problem(&r, 405, None);
    // A PATCH that breaks a rule changes nothing.
    let (ep, _) = s.endpoint(&s.a, RECEIVER).await;
    let r = s
        .call(
            "PATCH",
            &format!("/v1/endpoints/{ep}"),
            &s.a,
            Some(json!({ "description": "new", "url": "https://10.0.0.2/" })),
        )
        .await;
    assert_problem(&r, 422, Some("url"));
    let r = s
        .call("GET", &format!("/v1/endpoints/{ep}"), &s.a, None)
        .await;
    assert_eq!(r.json["description"], "");
    // Payload over the dispatcher's limit.
    let r = s
        .call(
            "POST",
            "/v1/messages",
            &s.a,
            Some(json!({ "event_type": "a.b", "payload": "y".repeat(3000) })),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
}

async fn endpoint_limit_under_concurrency(backend: Backend) {
    let s = std::sync::Arc::new(start(backend).await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let s = std::sync::Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            s.call(
                "POST",
                "/v1/endpoints",
                &s.a,
                Some(json!({ "family": "standard", "url": format!("https://hooks.example.com/{i}") })),
            )
            .await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            201 => created += 1,
            _ => {
                assert_problem(&r, 422, Some("endpoints"));
                assert_eq!(r.json["type"], "urn:hookwire:problem:limit-exceeded");
            }
        }
    }
    assert_eq!(created, 10);
    let r = s.call("GET", "/v1/endpoints?limit=100", &s.a, None).await;
    assert_eq!(ids(&r.json).len(), 10);
}

async fn attempt_log_and_redelivery(backend: Backend) {
    // A loopback receiver answering 200 "thanks".
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/in", axum::routing::post(|| async { "thanks" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let s = start_with(backend, Limits::default(), |s| s, true).await;
    let (ep, _) = s
        .endpoint(&s.a, &format!("http://127.0.0.1:{}/in", addr.port()))
        .await;
    let (_, dlvs) = s.message(&s.a, "invoice.paid").await;
    let dlv = &dlvs[0];
    let wait_attempts = |n: usize| {
        let s = &s;
        async move {
            for _ in 0..200 {
                let r = s
                    .call("GET", &format!("/v1/deliveries/{dlv}"), &s.a, None)
                    .await;
                if r.json["state"] == "delivered"
                    && r.json["attempt_log"].as_array().map(Vec::len) == Some(n)
                {
                    return r;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("delivery not delivered with {n} attempts");
        }
    };
    let r = wait_attempts(1).await;
    let a = &r.json["attempt_log"][0];
    assert_eq!(a["status"], 200);
    assert_eq!(a["success"], true);
    assert_eq!(a["number"], 1);
    assert_eq!(a["response_snippet"], "thanks");
    assert!(a["duration_ms"].as_u64().is_some());
    assert_eq!(r.json["attempts"], 1);
    let first_due = r.json["due_since"].as_i64().unwrap();
    assert_eq!(first_due, r.json["created_at"].as_i64().unwrap());
    let re = s
        .call(
            "POST",
            &format!("/v1/deliveries/{dlv}/redeliver"),
            &s.a,
            None,
        )
        .await;
    assert_eq!(re.status, 202, "{}", re.text);
    let r = wait_attempts(2).await;
    assert_eq!(r.json["attempt_log"][1]["number"], 2);
    assert!(
        r.json["due_since"].as_i64().unwrap() >= r.json["attempt_log"][0]["at"].as_i64().unwrap(),
        "a redelivery is due from when it was asked for: {}",
        r.json
    );
    let r = s
        .call(
            "GET",
            &format!("/v1/deliveries?endpoint_id={ep}&state=delivered"),
            &s.a,
            None,
        )
        .await;
    assert_eq!(ids(&r.json), vec![dlv.clone()]);
    s.dispatcher.shutdown(Duration::from_secs(2)).await;
}

async fn catalog_and_openapi(backend: Backend) {
    let s = start(backend).await;
    let r = s.call("GET", "/v1/event-types", &s.a, None).await;
    assert_eq!(r.status, 200);
    let families = r.json["data"].as_array().unwrap();
    assert_eq!(families.len(), 6);
    let zt = families.iter().find(|f| f["family"] == "zerotier").unwrap();
    let types = zt["event_types"].as_array().unwrap();
    assert_eq!(types.len(), 14);
    for t in types {
        assert_eq!(t["example"]["hook_type"], t["name"]);
    }
    let r = s.call("GET", "/v1/event-types/zta", &s.a, None).await;
    assert_eq!(r.json["family"], "zta");
    let r = s.call("GET", "/v1/event-types/fax", &s.a, None).await;
    assert_problem(&r, 404, None);
    let r = s.raw("GET", "/v1/event-types", None, None, None).await;
    assert_problem(&r, 401, None);

    // The document needs no credentials, and every documented operation is routed.
    let doc = s.raw("GET", "/v1/openapi.json", None, None, None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json["openapi"], "3.1.0");
    let paths = doc.json["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 13);
    for (path, item) in paths {
        let concrete = path
            .replace(
                "/endpoints/{id}",
                "/endpoints/ep_00000000000000000000000000000000",
            )
            .replace(
                "/messages/{id}",
                "/messages/msg_00000000000000000000000000000000",
            )
            .replace(
                "/deliveries/{id}",
                "/deliveries/dlv_00000000000000000000000000000000",
            )
            .replace("{family}", "zerotier");
        for method in item.as_object().unwrap().keys() {
            let r = s
                .call(
                    &method.to_ascii_uppercase(),
                    &concrete,
                    &s.a,
                    Some(json!({})),
                )
                .await;
            let kind = r.json["type"].as_str().unwrap_or("");
            assert!(
                !kind.ends_with("no-route") && !kind.ends_with("method-not-allowed"),
                "{method} {path}: {}",
                r.text
            );
            let documented = item[method]["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(&r.status.to_string()),
                "{method} {path} answered {} which is not documented",
                r.status
            );
        }
    }
}

on_both!(
    endpoints_lifecycle,
    messages_and_idempotency,
    pagination,
    tenant_isolation,
    bad_input,
    endpoint_limit_under_concurrency,
    attempt_log_and_redelivery,
    catalog_and_openapi,
);
