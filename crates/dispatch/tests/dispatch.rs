//! The dispatcher end to end: registry, send, workers, signing, retries, health, shutdown,
//! against real HTTP receivers on 127.0.0.1 (allow-listed) and the memory store.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, TestServer, closed_port, fast_retry, message_id, wait_state};
use hookwire_dispatch::model::{
    Auth, DeliveryFilter, DeliveryState, EndpointStatus, EnqueueResult,
};
use hookwire_dispatch::store::{MemoryStore, Store};
use hookwire_dispatch::{
    DispatchError, Dispatcher, EndpointUpdate, ErrorKind, Limits, NewEndpoint, ValidationError,
};
use hookwire_events::Family;
use hookwire_retry::{
    CircuitBreakerConfig, CircuitState, HealthPolicy, RetryAfterRule, RetryPolicy,
};
use hookwire_signature::{Scheme, Secret, Verifier};

fn dispatcher_with(store: Arc<dyn Store>) -> Dispatcher {
    Dispatcher::builder(store)
        .allow_loopback_http()
        .lease(Duration::from_secs(5))
        .poll_interval(Duration::from_millis(50))
        .health_flush_interval(Duration::from_millis(50))
        .build()
        .unwrap()
}

fn dispatcher() -> Dispatcher {
    dispatcher_with(Arc::new(MemoryStore::new()))
}

async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_is_signed_and_verifies_on_the_receiver() {
    let server = TestServer::status(200).await;
    let d = dispatcher();
    let families = [
        (Family::ZeroTier, "NETWORK_JOIN"),
        (Family::Zta, "pageview"),
        (Family::HubMessage, "MESSAGE_RECEIVED"),
        (Family::Zitadel, "user.human.added"),
        (Family::Zentitle, "customer.created"),
        (Family::StandardWebhooks, "invoice.paid"),
    ];
    let mut expected = Vec::new();
    for (i, (family, event)) in families.iter().enumerate() {
        let tenant = format!("tenant-{i}");
        let created = d
            .create_endpoint(
                NewEndpoint::new(&tenant, *family, server.url(&format!("/{family}")))
                    .event_types([*event])
                    .auth(Auth::Bearer {
                        token: Secret::new("tok-123"),
                    })
                    .header("X-Tenant", tenant.clone()),
            )
            .await
            .unwrap();
        let scheme = created.info.endpoint.scheme.clone().unwrap();
        assert!(created.info.secrets.len() == 1 && created.info.endpoint.secrets.is_empty());
        let secret = created.secret.unwrap().verification;
        expected.push((*family, *event, scheme, secret, tenant));
    }
    d.start().unwrap();
    let mut ids = Vec::new();
    for (family, event, _, _, tenant) in &expected {
        let body = format!(r#"{{"family":"{family}","type":"{event}"}}"#);
        ids.push(message_id(d.send(tenant, event, body).await.unwrap()).await);
    }
    let got = server
        .wait_for(families.len(), Duration::from_secs(10))
        .await;
    for ((family, event, scheme, secret, tenant), id) in expected.iter().zip(&ids) {
        let req = got
            .iter()
            .find(|r| r.path == format!("/{family}"))
            .unwrap_or_else(|| panic!("{family} not received"));
        let verified = Verifier::new(scheme, std::slice::from_ref(secret))
            .unwrap()
            .verify(&req.body, &req.headers);
        assert!(verified.is_ok(), "{family}: {verified:?}");
        let h = &req.headers;
        assert_eq!(h["x-hookwire-message-id"], id.as_str(), "{family}");
        assert_eq!(h["x-hookwire-event-type"], *event);
        assert_eq!(h["x-hookwire-attempt"], "1");
        assert_eq!(h["content-type"], "application/json");
        assert!(h["user-agent"].to_str().unwrap().starts_with("hookwire/"));
        assert_eq!(h["authorization"], "Bearer tok-123");
        assert_eq!(h["x-tenant"], tenant.as_str());
        let ts: i64 = h["x-hookwire-timestamp"].to_str().unwrap().parse().unwrap();
        assert!(
            (ts - std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64)
                .abs()
                < 30
        );
        match family {
            Family::Zta => assert_eq!(h["x-zta-event"], *event),
            Family::StandardWebhooks => {
                assert_eq!(h["webhook-id"], id.as_str());
                assert_eq!(verified.unwrap().id.as_deref(), Some(id.as_str()));
            }
            _ => {}
        }
    }
    for id in &ids {
        wait_state(&d, id, DeliveryState::Delivered).await;
    }
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_then_success_is_retried_with_the_same_message_id() {
    let server = TestServer::start(|_, i| {
        if i == 0 {
            Reply::Full {
                status: 503,
                headers: vec![],
                body: b"try later".to_vec(),
            }
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let d = dispatcher();
    let ep = d
        .create_endpoint(
            NewEndpoint::new("t", Family::ZeroTier, server.url("/")).retry(fast_retry(3)),
        )
        .await
        .unwrap();
    d.start().unwrap();
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    wait_state(&d, &id, DeliveryState::Delivered).await;
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].headers["x-hookwire-message-id"],
        got[1].headers["x-hookwire-message-id"]
    );
    assert_eq!(got[1].headers["x-hookwire-attempt"], "2");
    let attempts = d.attempts_for_message(&id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, Some(503));
    assert!(!attempts[0].success);
    assert_eq!(attempts[0].response_snippet.as_deref(), Some("try later"));
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 503"));
    assert!(attempts[1].success);
    let by_endpoint = d.attempts_for_endpoint(ep.id(), 10).await.unwrap();
    assert_eq!(by_endpoint.len(), 2);
    let failed = d.failed_attempts(0, i64::MAX).await.unwrap();
    assert_eq!(failed.len(), 1);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_honours_retry_after() {
    let server = TestServer::start(|_, i| {
        if i == 0 {
            Reply::Full {
                status: 429,
                headers: vec![("Retry-After".into(), "1".into())],
                body: vec![],
            }
        } else {
            Reply::Status(200)
        }
    })
    .await;
    let policy = fast_retry(3)
        .to_builder()
        .retry_after(RetryAfterRule::Between {
            min: Duration::from_millis(10),
            max: Duration::from_secs(5),
        })
        .build()
        .unwrap();
    let d = dispatcher();
    d.create_endpoint(NewEndpoint::new("t", Family::ZeroTier, server.url("/")).retry(policy))
        .await
        .unwrap();
    d.start().unwrap();
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    wait_state(&d, &id, DeliveryState::Delivered).await;
    let got = server.received();
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(900),
        "retried after {gap:?}, Retry-After said 1 s"
    );
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_refusals_and_resets_are_logged_and_fail_after_the_policy() {
    let slow = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_secs(3), Box::new(Reply::Status(200)))
    })
    .await;
    let reset = TestServer::start(|_, _| Reply::Reset).await;
    let refused = format!("http://127.0.0.1:{}/", closed_port().await);
    let d = dispatcher();
    let mut cases = Vec::new();
    for (tenant, url) in [
        ("slow", slow.url("/")),
        ("reset", reset.url("/")),
        ("refused", refused),
    ] {
        d.create_endpoint(
            NewEndpoint::new(tenant, Family::ZeroTier, url)
                .retry(fast_retry(2))
                .timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap();
        cases.push(tenant);
    }
    d.start().unwrap();
    for tenant in cases {
        let id = message_id(
            d.send(tenant, "NETWORK_JOIN", b"{}".to_vec())
                .await
                .unwrap(),
        )
        .await;
        wait_state(&d, &id, DeliveryState::Failed).await;
        let attempts = d.attempts_for_message(&id).await.unwrap();
        assert_eq!(attempts.len(), 2, "{tenant}");
        for a in &attempts {
            assert!(!a.success && a.status.is_none(), "{tenant}: {a:?}");
            // The attempt log keeps the transport's error chain; the io error at its end is
            // what the transport classified (`ConnectionReset` / `ConnectionRefused`), e.g.
            // "error sending request: client error (connect): tcp connect error: connection
            // refused (os error 111)".
            let err = a.error.clone().unwrap_or_default().to_lowercase();
            let expect = match tenant {
                "slow" => "timed out",
                "reset" => "connection reset",
                "refused" => "connection refused",
                other => panic!("unexpected case {other}"),
            };
            assert!(err.contains(expect), "{tenant}: {err}");
            for other in ["timed out", "connection reset", "connection refused"] {
                assert!(
                    other == expect || !err.contains(other),
                    "{tenant} also reads as {other}: {err}"
                );
            }
            if tenant == "slow" {
                assert!(a.duration_ms < 1500, "timeout not applied: {a:?}");
            }
        }
    }
    assert!(reset.count() >= 2);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint_and_fails_its_pending_deliveries() {
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(100), Box::new(Reply::Status(410)))
    })
    .await;
    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .concurrency(1)
        .workers(1)
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let ep = d
        .create_endpoint(
            NewEndpoint::new("t", Family::ZeroTier, server.url("/")).retry(fast_retry(5)),
        )
        .await
        .unwrap();
    let first = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    let second = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    d.start().unwrap();
    wait_state(&d, &first, DeliveryState::Failed).await;
    wait_state(&d, &second, DeliveryState::Failed).await;
    assert_eq!(
        server.count(),
        1,
        "only one request: the 410 disabled the endpoint"
    );
    let info = d.get_endpoint(ep.id()).await.unwrap().unwrap();
    match &info.endpoint.status {
        EndpointStatus::Disabled { reason, .. } => assert!(reason.contains("410"), "{reason}"),
        other => panic!("still {other:?}"),
    }
    // A disabled endpoint gets no new deliveries; enabling it again restores them.
    let r = d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap();
    assert!(matches!(r, EnqueueResult::Created { deliveries: 0, .. }));
    d.enable_endpoint(ep.id()).await.unwrap();
    let r = d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap();
    assert!(matches!(r, EnqueueResult::Created { deliveries: 1, .. }));
    d.shutdown(Duration::from_secs(1)).await;
}

/// The rule counts failed deliveries, not attempts: with 3 attempts per delivery and a limit
/// of 3, the first dead delivery (3 failed attempts) leaves the endpoint enabled; the third
/// disables it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_disable_after_consecutive_failed_deliveries() {
    let server = TestServer::status(500).await;
    let d = dispatcher();
    let ep = d
        .create_endpoint(
            NewEndpoint::new("t", Family::Zta, server.url("/"))
                .retry(fast_retry(3))
                .health_policy(HealthPolicy {
                    max_consecutive_failures: Some(3),
                    circuit: None,
                    ..HealthPolicy::default()
                }),
        )
        .await
        .unwrap();
    d.start().unwrap();
    let ep_id = ep.id().to_owned();
    for n in 1..=3u32 {
        let id = message_id(d.send("t", "pageview", b"{}".to_vec()).await.unwrap()).await;
        wait_state(&d, &id, DeliveryState::Failed).await;
        assert_eq!(d.attempts_for_message(&id).await.unwrap().len(), 3);
        // Health is written right after the completion; the disable happens in that write.
        wait_until(&format!("{n} failed deliveries in health"), || {
            let d = d.clone();
            let ep_id = ep_id.clone();
            async move {
                let ep = d.get_endpoint(&ep_id).await.unwrap().unwrap().endpoint;
                ep.health.consecutive_failed_deliveries >= n
            }
        })
        .await;
        let info = d.get_endpoint(&ep_id).await.unwrap().unwrap();
        assert_eq!(info.endpoint.health.consecutive_failed_deliveries, n);
        assert_eq!(info.endpoint.health.consecutive_failures, 3 * n);
        if n < 3 {
            assert!(
                info.endpoint.is_enabled() && !info.endpoint.health.is_disabled(),
                "disabled after {n} failed deliveries ({} attempts): {:?}",
                3 * n,
                info.endpoint.status
            );
        }
    }
    let info = d.get_endpoint(&ep_id).await.unwrap().unwrap();
    match &info.endpoint.status {
        EndpointStatus::Disabled { reason, .. } => {
            assert!(reason.contains("consecutive failures (3)"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), 9);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_breaker_opens_then_closes_after_a_successful_probe() {
    // Fails the first 4 requests, then succeeds.
    let server = TestServer::start(|_, i| Reply::Status(if i < 4 { 503 } else { 200 })).await;
    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .workers(1)
        .concurrency(1)
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let policy = HealthPolicy {
        max_consecutive_failures: None,
        disable_after_failing_for: None,
        disable_on_gone: true,
        circuit: Some(CircuitBreakerConfig {
            failure_rate_percent: 50,
            minimum_requests: 4,
            window: Duration::from_secs(60),
            open_for: Duration::from_millis(600),
            close_after_successes: 1,
            disable_after_opens: None,
        }),
    };
    let ep = d
        .create_endpoint(
            NewEndpoint::new("t", Family::ZeroTier, server.url("/"))
                .retry(RetryPolicy::none())
                .health_policy(policy),
        )
        .await
        .unwrap();
    d.start().unwrap();
    for _ in 0..4 {
        let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
        wait_state(&d, &id, DeliveryState::Failed).await;
    }
    let opened_at = Instant::now();
    let info = d.get_endpoint(ep.id()).await.unwrap().unwrap();
    assert_eq!(info.endpoint.health.circuit, CircuitState::Open);
    // While open nothing is sent; the delivery waits for the probe time.
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.count(), 4, "sent while the circuit was open");
    wait_state(&d, &id, DeliveryState::Delivered).await;
    assert!(opened_at.elapsed() >= Duration::from_millis(350));
    let attempts = d.attempts_for_message(&id).await.unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "released deliveries do not count attempts"
    );
    let ep_id = ep.id().to_owned();
    wait_until("circuit closed", || {
        let d = d.clone();
        let ep_id = ep_id.clone();
        async move {
            d.get_endpoint(&ep_id)
                .await
                .unwrap()
                .unwrap()
                .endpoint
                .health
                .circuit
                == CircuitState::Closed
        }
    })
    .await;
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_signs_with_both_secrets_during_grace_then_only_the_new() {
    let server = TestServer::status(200).await;
    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .poll_interval(Duration::from_millis(20))
        .rotation_grace(Duration::from_millis(700))
        .build()
        .unwrap();
    let old = Secret::new("778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536");
    let ep = d
        .create_endpoint(
            NewEndpoint::new("t", Family::ZeroTier, server.url("/")).secret(old.clone()),
        )
        .await
        .unwrap();
    d.start().unwrap();
    let rotated = d.rotate_secret(ep.id()).await.unwrap();
    let new = rotated.secret.verification.clone();
    let info = d.get_endpoint(ep.id()).await.unwrap().unwrap();
    assert_eq!(info.secrets.len(), 2);
    assert!(info.secrets[0].expires_at.is_none() && info.secrets[1].expires_at.is_some());

    let id = message_id(
        d.send("t", "NETWORK_JOIN", b"{\"n\":1}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    wait_state(&d, &id, DeliveryState::Delivered).await;
    let req = &server.received()[0];
    let sig = req.headers["x-ztc-signature"].to_str().unwrap().to_owned();
    assert_eq!(sig.matches("v1=").count(), 2, "{sig}");
    for s in [&old, &new] {
        let v = Verifier::new(&Scheme::ZeroTier, std::slice::from_ref(s)).unwrap();
        assert!(v.verify(&req.body, &req.headers).is_ok());
    }

    tokio::time::sleep(Duration::from_millis(800)).await;
    let id = message_id(
        d.send("t", "NETWORK_JOIN", b"{\"n\":2}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    wait_state(&d, &id, DeliveryState::Delivered).await;
    let req = &server.received()[1];
    let v_new = Verifier::new(&Scheme::ZeroTier, std::slice::from_ref(&new)).unwrap();
    let v_old = Verifier::new(&Scheme::ZeroTier, std::slice::from_ref(&old)).unwrap();
    assert!(v_new.verify(&req.body, &req.headers).is_ok());
    assert!(
        v_old.verify(&req.body, &req.headers).is_err(),
        "old secret still signs"
    );
    d.shutdown(Duration::from_secs(1)).await;
}

/// Asserts that registering `url` on `d` is refused as plain http.
async fn refused_as_insecure(d: &Dispatcher, url: &str) {
    let err = d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url))
        .await
        .unwrap_err();
    assert!(
        matches!(err.validation(), Some(ValidationError::InsecureUrl(_))),
        "{url}: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_refusals_at_registration_and_delivery() {
    let d = dispatcher();
    for url in [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://[::ffff:192.168.0.1]/",
        "https://100.64.1.1/",
        "https://[fd00::1]/",
        "https://0.0.0.0/",
    ] {
        let err = d
            .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url))
            .await
            .unwrap_err();
        assert!(
            matches!(err.validation(), Some(ValidationError::Ssrf(_))),
            "{url}: {err}"
        );
    }
    // Plain http is refused unless enabled, even to a public address.
    let strict = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    refused_as_insecure(&strict, "http://93.184.216.34/").await;

    // Plain http is for loopback only: an allow-listed private range still needs https.
    let private = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_http(true)
        .allow_cidr("10.0.0.0/8".parse().unwrap())
        .build()
        .unwrap();
    refused_as_insecure(&private, "http://10.1.2.3/hook").await;
    private
        .create_endpoint(NewEndpoint::new(
            "t",
            Family::ZeroTier,
            "https://10.1.2.3/hook",
        ))
        .await
        .unwrap();
    // Loopback written as an IPv4-mapped IPv6 literal is loopback.
    let local = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .build()
        .unwrap();
    local
        .create_endpoint(NewEndpoint::new(
            "t",
            Family::ZeroTier,
            "http://[::ffff:127.0.0.1]:9/hook",
        ))
        .await
        .unwrap();

    // `localhost` passes registration (a name) but is refused when it resolves to loopback
    // and loopback is not allow-listed: the attempt is logged and never retried.
    let server = TestServer::status(200).await;
    let no_allow = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_http(true)
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    no_allow
        .create_endpoint(
            NewEndpoint::new(
                "t",
                Family::ZeroTier,
                format!("http://localhost:{}/", server.addr.port()),
            )
            .retry(fast_retry(5)),
        )
        .await
        .unwrap();
    no_allow.start().unwrap();
    let id = message_id(
        no_allow
            .send("t", "NETWORK_JOIN", b"{}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    wait_state(&no_allow, &id, DeliveryState::Failed).await;
    let attempts = no_allow.attempts_for_message(&id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("loopback"),
        "{attempts:?}"
    );
    assert_eq!(server.count(), 0);
    no_allow.shutdown(Duration::from_secs(1)).await;
}

fn err<T>(r: Result<T, DispatchError>) -> ValidationError {
    match r {
        Err(e) => {
            assert!(e.is_validation(), "not a validation error: {e}");
            e.into_validation()
                .unwrap_or_else(|e| panic!("not a validation error: {e}"))
        }
        Ok(_) => panic!("accepted"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_are_typed() {
    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .limits(Limits::new().endpoints_per_tenant(2).payload_bytes(16))
        .build()
        .unwrap();
    let url = "http://127.0.0.1:9/";
    let e = err(d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url).event_types(["NOPE"]))
        .await);
    assert!(matches!(e, ValidationError::UnknownEventType { .. }), "{e}");
    let e = err(d
        .create_endpoint(NewEndpoint::new("t", Family::Zta, url).event_types([
            "pageview",
            "event",
            "goal",
            "alert",
            "session_end",
            "test",
        ]))
        .await);
    assert!(
        matches!(e, ValidationError::TooManyEventTypes { got: 6, max: 5 }),
        "{e}"
    );
    let e = err(d
        .create_endpoint(
            NewEndpoint::new("t", Family::ZeroTier, url).event_types(Vec::<String>::new()),
        )
        .await);
    assert!(matches!(e, ValidationError::NoEventTypes));
    for h in [
        "Host",
        "Content-Length",
        "X-ZTC-Signature",
        "Connection",
        "X-Hookwire-Message-Id",
    ] {
        let e = err(d
            .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url).header(h, "x"))
            .await);
        assert!(matches!(e, ValidationError::ReservedHeader(_)), "{h}: {e}");
    }
    let e = err(d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, "ftp://127.0.0.1/"))
        .await);
    assert!(matches!(e, ValidationError::UnsupportedScheme(_)));
    let e = err(d
        .create_endpoint(NewEndpoint::new(
            "t",
            Family::ZeroTier,
            "https://u:p@example.com/",
        ))
        .await);
    assert!(matches!(e, ValidationError::UrlCredentials));
    let e = err(d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url).rate_limit(0.0, 1))
        .await);
    assert!(matches!(e, ValidationError::InvalidRateLimit));
    let e = err(d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, "http://10.0.0.1/"))
        .await);
    assert!(matches!(e, ValidationError::InsecureUrl(_)), "{e}");
    let e = err(d
        .create_endpoint(
            NewEndpoint::new("t", Family::ZeroTier, url).secret(Secret::new("not hex")),
        )
        .await);
    assert!(matches!(e, ValidationError::Signature(_)), "{e}");

    d.create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url))
        .await
        .unwrap();
    let two = d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url))
        .await
        .unwrap();
    let e = err(d
        .create_endpoint(NewEndpoint::new("t", Family::ZeroTier, url))
        .await);
    assert!(
        matches!(e, ValidationError::TooManyEndpoints { max: 2, .. }),
        "{e}"
    );
    let e = err(d.send("t", "NETWORK_JOIN", vec![b'x'; 17]).await);
    assert!(matches!(
        e,
        ValidationError::PayloadTooLarge { got: 17, max: 16 }
    ));

    // Updates are validated as a whole and keep what they do not name.
    let e = err(d
        .update_endpoint(
            two.id(),
            EndpointUpdate {
                event_types: Some(vec!["BOGUS".into()]),
                ..EndpointUpdate::default()
            },
        )
        .await);
    assert!(matches!(e, ValidationError::UnknownEventType { .. }));
    let updated = d
        .update_endpoint(
            two.id(),
            EndpointUpdate {
                description: Some("billing".into()),
                event_types: Some(vec!["NETWORK_JOIN".into()]),
                ..EndpointUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.endpoint.description, "billing");
    assert_eq!(updated.endpoint.url, url);
    assert_eq!(d.list_endpoints("t").await.unwrap().len(), 2);
    assert!(d.delete_endpoint(two.id()).await.unwrap());
    assert!(d.get_endpoint(two.id()).await.unwrap().is_none());
    let gone = d.rotate_secret(two.id()).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    // An operation on an unknown delivery says so the same way; a lookup answers `None`.
    let unknown = d.redeliver("dlv_unknown").await.unwrap_err();
    assert!(unknown.is_not_found(), "{unknown}");
    assert!(d.delivery("dlv_unknown").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_makes_a_repeat_a_no_op() {
    let server = TestServer::status(200).await;
    let d = dispatcher();
    d.create_endpoint(NewEndpoint::new("t", Family::ZeroTier, server.url("/")))
        .await
        .unwrap();
    let a = d
        .send_idempotent("t", "NETWORK_JOIN", b"{}".to_vec(), "k1")
        .await
        .unwrap();
    let b = d
        .send_idempotent("t", "NETWORK_JOIN", b"{}".to_vec(), "k1")
        .await
        .unwrap();
    let first = message_id(a).await;
    assert_eq!(
        b,
        EnqueueResult::Duplicate {
            message_id: first.clone()
        }
    );
    d.start().unwrap();
    wait_state(&d, &first, DeliveryState::Delivered).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.count(), 1);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_is_recorded_not_followed() {
    let target = TestServer::status(200).await;
    let location = target.url("/x");
    let server = TestServer::start(move |_, _| Reply::Full {
        status: 307,
        headers: vec![("Location".into(), location.clone())],
        body: vec![],
    })
    .await;
    let d = dispatcher();
    d.create_endpoint(
        NewEndpoint::new("t", Family::ZeroTier, server.url("/")).retry(RetryPolicy::none()),
    )
    .await
    .unwrap();
    d.start().unwrap();
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    wait_state(&d, &id, DeliveryState::Failed).await;
    assert_eq!(
        d.attempts_for_message(&id).await.unwrap()[0].status,
        Some(307)
    );
    assert_eq!(target.count(), 0);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_response_is_capped_in_the_attempt_log() {
    let server = TestServer::start(|_, _| Reply::Full {
        status: 500,
        headers: vec![],
        body: vec![b'y'; 2 * 1024 * 1024],
    })
    .await;
    let d = Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .response_read_cap(8 * 1024)
        .snippet_cap(1024)
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    d.create_endpoint(
        NewEndpoint::new("t", Family::ZeroTier, server.url("/")).retry(RetryPolicy::none()),
    )
    .await
    .unwrap();
    d.start().unwrap();
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    wait_state(&d, &id, DeliveryState::Failed).await;
    let a = &d.attempts_for_message(&id).await.unwrap()[0];
    assert_eq!(a.status, Some(500));
    assert_eq!(a.response_snippet.as_ref().map(String::len), Some(1024));
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_rate_limit_and_fifo() {
    // max_in_flight 1 + 150 ms answers: requests never overlap.
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(150), Box::new(Reply::Status(200)))
    })
    .await;
    let d = dispatcher();
    d.create_endpoint(
        NewEndpoint::new("serial", Family::ZeroTier, server.url("/")).max_in_flight(1),
    )
    .await
    .unwrap();
    d.start().unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            message_id(
                d.send("serial", "NETWORK_JOIN", b"{}".to_vec())
                    .await
                    .unwrap(),
            )
            .await,
        );
    }
    for id in &ids {
        wait_state(&d, id, DeliveryState::Delivered).await;
    }
    let got = server.received();
    for w in got.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::from_millis(140),
            "overlapping requests"
        );
    }

    // 10 per second, burst 1: five messages take at least ~400 ms.
    let rl = TestServer::status(200).await;
    d.create_endpoint(NewEndpoint::new("rl", Family::ZeroTier, rl.url("/")).rate_limit(10.0, 1))
        .await
        .unwrap();
    let start = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(message_id(d.send("rl", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await);
    }
    for id in &ids {
        wait_state(&d, id, DeliveryState::Delivered).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(380),
        "{:?}",
        start.elapsed()
    );

    // FIFO: the first message fails twice before it succeeds; the second waits for it.
    let fifo = TestServer::start(|_, i| Reply::Status(if i < 2 { 500 } else { 200 })).await;
    d.create_endpoint(
        NewEndpoint::new("fifo", Family::ZeroTier, fifo.url("/"))
            .fifo(true)
            .retry(fast_retry(5)),
    )
    .await
    .unwrap();
    let a = message_id(
        d.send("fifo", "NETWORK_JOIN", b"{\"n\":1}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    let b = message_id(
        d.send("fifo", "NETWORK_JOIN", b"{\"n\":2}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    wait_state(&d, &b, DeliveryState::Delivered).await;
    wait_state(&d, &a, DeliveryState::Delivered).await;
    let order: Vec<String> = fifo
        .received()
        .iter()
        .map(|r| {
            r.headers["x-hookwire-message-id"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(order, vec![a.clone(), a.clone(), a, b]);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeliver_recover_and_send_test() {
    let server = TestServer::start(|_, i| Reply::Status(if i < 2 { 500 } else { 200 })).await;
    let d = dispatcher();
    let ep = d
        .create_endpoint(
            NewEndpoint::new("t", Family::Zta, server.url("/")).retry(RetryPolicy::none()),
        )
        .await
        .unwrap();
    d.start().unwrap();
    let a = message_id(d.send("t", "pageview", b"{}".to_vec()).await.unwrap()).await;
    wait_state(&d, &a, DeliveryState::Failed).await;
    let b = message_id(d.send("t", "pageview", b"{}".to_vec()).await.unwrap()).await;
    wait_state(&d, &b, DeliveryState::Failed).await;
    let da = d
        .deliveries(&DeliveryFilter {
            message_id: Some(a.clone()),
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    d.redeliver(&da[0].id).await.unwrap();
    wait_state(&d, &a, DeliveryState::Delivered).await;
    assert_eq!(d.recover(ep.id(), 0).await.unwrap(), 1);
    wait_state(&d, &b, DeliveryState::Delivered).await;
    assert_eq!(d.attempts_for_message(&a).await.unwrap().len(), 2);

    let t = message_id(d.send_test(ep.id()).await.unwrap()).await;
    wait_state(&d, &t, DeliveryState::Delivered).await;
    let last = server.received().pop().unwrap();
    assert_eq!(last.headers["x-zta-event"], "test");
    assert_eq!(d.queue_depth().await.unwrap(), 0);
    d.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_work_within_the_deadline() {
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_millis(300), Box::new(Reply::Status(200)))
    })
    .await;
    let d = dispatcher();
    d.create_endpoint(NewEndpoint::new("t", Family::ZeroTier, server.url("/")))
        .await
        .unwrap();
    d.start().unwrap();
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    server.wait_for(1, Duration::from_secs(5)).await;
    let report = d.shutdown(Duration::from_secs(3)).await;
    assert_eq!(report.finished, 1);
    assert_eq!(report.released, 0);
    wait_state(&d, &id, DeliveryState::Delivered).await;
    let err = d
        .send("t", "NETWORK_JOIN", b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(err.is_shutting_down(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_work_that_does_not_finish() {
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_secs(5), Box::new(Reply::Status(200)))
    })
    .await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let d = dispatcher_with(Arc::clone(&store));
    d.create_endpoint(NewEndpoint::new("t", Family::ZeroTier, server.url("/")))
        .await
        .unwrap();
    d.start().unwrap();
    let id = message_id(d.send("t", "NETWORK_JOIN", b"{}".to_vec()).await.unwrap()).await;
    server.wait_for(1, Duration::from_secs(5)).await;
    let started = Instant::now();
    let report = d.shutdown(Duration::from_millis(200)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((report.finished, report.released), (0, 1));
    let ds = store
        .list_deliveries(&DeliveryFilter {
            message_id: Some(id),
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ds[0].state, DeliveryState::Pending);
    assert_eq!(ds[0].attempts, 0);
    assert!(ds[0].lease_owner.is_none());
    // Another dispatcher on the same store delivers it.
    let fast = TestServer::status(200).await;
    let d2 = dispatcher_with(Arc::clone(&store));
    let ep = d2.list_endpoints("t").await.unwrap().remove(0);
    d2.update_endpoint(
        &ep.endpoint.id,
        EndpointUpdate {
            url: Some(fast.url("/")),
            ..EndpointUpdate::default()
        },
    )
    .await
    .unwrap();
    d2.start().unwrap();
    fast.wait_for(1, Duration::from_secs(5)).await;
    d2.shutdown(Duration::from_secs(1)).await;
}
