//! The HTTP transport against real loopback receivers: outcomes, caps, redirects, SSRF.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Reply, TestServer, closed_port};
use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire_dispatch::transport::{Transport, TransportConfig};
use hookwire_retry::Outcome;
use http::HeaderMap;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

fn loopback_guard() -> Arc<SsrfGuard> {
    Arc::new(SsrfGuard::new().allow("127.0.0.0/8".parse::<IpCidr>().unwrap()))
}

fn transport(guard: Arc<SsrfGuard>) -> Transport {
    Transport::new(
        TransportConfig::default()
            .guard(guard)
            .response_read_cap(1024),
    )
    .unwrap()
}

async fn post(
    t: &Transport,
    url: &str,
    timeout_ms: u64,
) -> hookwire_dispatch::transport::HttpResult {
    t.post(
        &Url::parse(url).unwrap(),
        HeaderMap::new(),
        Bytes::from_static(b"{\"hello\":1}"),
        Duration::from_millis(timeout_ms),
    )
    .await
}

#[tokio::test]
async fn success_and_body_arrive() {
    let server = TestServer::status(204).await;
    let t = transport(loopback_guard());
    let r = post(&t, &server.url("/hook"), 2000).await;
    assert_eq!(r.outcome, Outcome::Success { status: 204 });
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/hook");
    assert_eq!(got[0].body, b"{\"hello\":1}");
    assert!(got[0].headers.get("user-agent").is_some());
}

#[tokio::test]
async fn server_error_and_retry_after() {
    let server = TestServer::start(|_, i| match i {
        0 => Reply::Full {
            status: 503,
            headers: vec![],
            body: b"down".to_vec(),
        },
        _ => Reply::Full {
            status: 429,
            headers: vec![("Retry-After".into(), "7".into())],
            body: vec![],
        },
    })
    .await;
    let t = transport(loopback_guard());
    let r = post(&t, &server.url("/"), 2000).await;
    assert_eq!(r.status, Some(503));
    assert!(matches!(
        r.outcome,
        Outcome::Status {
            status: 503,
            retry_after: None
        }
    ));
    assert_eq!(&r.body[..], b"down");
    let r = post(&t, &server.url("/"), 2000).await;
    assert_eq!(r.outcome.status(), Some(429));
    assert_eq!(
        r.outcome.retry_after().map(|ra| ra.delay()),
        Some(Duration::from_secs(7))
    );
}

#[tokio::test]
async fn timeout_is_reported_quickly() {
    let server = TestServer::start(|_, _| {
        Reply::Delay(Duration::from_secs(3), Box::new(Reply::Status(200)))
    })
    .await;
    let t = transport(loopback_guard());
    let r = post(&t, &server.url("/"), 200).await;
    assert_eq!(r.outcome, Outcome::Timeout, "{:?}", r.error);
    assert!(r.duration < Duration::from_secs(2), "{:?}", r.duration);
}

#[tokio::test]
async fn connection_refused() {
    let port = closed_port().await;
    let t = transport(loopback_guard());
    let r = post(&t, &format!("http://127.0.0.1:{port}/"), 2000).await;
    assert_eq!(r.outcome, Outcome::ConnectionRefused, "{:?}", r.error);
}

#[tokio::test]
async fn connection_reset() {
    let server = TestServer::start(|_, _| Reply::Reset).await;
    let t = transport(loopback_guard());
    let r = post(&t, &server.url("/"), 2000).await;
    assert_eq!(r.outcome, Outcome::ConnectionReset, "{:?}", r.error);
}

#[tokio::test]
async fn redirect_is_not_followed() {
    let target = TestServer::status(200).await;
    let location = target.url("/elsewhere");
    let server = TestServer::start(move |_, _| Reply::Full {
        status: 302,
        headers: vec![("Location".into(), location.clone())],
        body: vec![],
    })
    .await;
    let t = transport(loopback_guard());
    let r = post(&t, &server.url("/"), 2000).await;
    assert_eq!(r.status, Some(302));
    assert!(!r.outcome.is_success());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(target.count(), 0, "redirect was followed");
}

#[tokio::test]
async fn oversized_response_is_capped() {
    let server = TestServer::start(|_, _| Reply::Full {
        status: 200,
        headers: vec![],
        body: vec![b'x'; 4 * 1024 * 1024],
    })
    .await;
    let t = transport(loopback_guard());
    let r = post(&t, &server.url("/"), 5000).await;
    assert_eq!(r.outcome, Outcome::Success { status: 200 });
    assert_eq!(r.body.len(), 1024);
    assert!(r.truncated);
}

#[tokio::test]
async fn refused_literals_never_connect() {
    // The server listens on loopback; with the default guard even loopback is refused.
    let server = TestServer::status(200).await;
    let port = server.addr.port();
    let t = transport(Arc::new(SsrfGuard::new()));
    for host in [
        "127.0.0.1",
        "127.1.2.3",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "[fe80::1]",
        "[fd00::1]",
        "224.0.0.1",
        "[ff02::1]",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:7f00:1::]",
        // WHATWG URL parsing turns these into IPv4 literals too.
        "2130706433",
        "0x7f.1",
    ] {
        let r = post(&t, &format!("http://{host}:{port}/"), 1000).await;
        assert_eq!(r.outcome, Outcome::SsrfRefused, "{host}: {:?}", r.error);
    }
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn localhost_by_name_is_refused_without_allow_list() {
    let server = TestServer::status(200).await;
    let port = server.addr.port();
    let refused = transport(Arc::new(SsrfGuard::new()));
    let r = post(&refused, &format!("http://localhost:{port}/"), 1000).await;
    assert_eq!(r.outcome, Outcome::SsrfRefused, "{:?}", r.error);
    assert_eq!(server.count(), 0);

    let allowed = transport(loopback_guard());
    let r = post(&allowed, &format!("http://localhost:{port}/"), 2000).await;
    assert_eq!(r.outcome, Outcome::Success { status: 200 }, "{:?}", r.error);
    assert_eq!(server.count(), 1);
}

/// A fixed name table standing in for DNS (no query leaves the machine).
struct Table(HashMap<&'static str, Vec<SocketAddr>>);

impl Resolve for Table {
    fn resolve(&self, name: Name) -> Resolving {
        let found = self.0.get(name.as_str()).cloned();
        Box::pin(async move {
            match found {
                Some(addrs) => {
                    let addrs: Addrs = Box::new(addrs.into_iter());
                    Ok(addrs)
                }
                None => Err("NXDOMAIN".into()),
            }
        })
    }
}

#[tokio::test]
async fn names_resolving_to_refused_ranges_are_refused() {
    let server = TestServer::status(200).await;
    let port = server.addr.port();
    let a = |s: &str| -> SocketAddr { format!("{s}:0").parse().unwrap() };
    let mut table = HashMap::new();
    table.insert("metadata.test", vec![a("169.254.169.254")]);
    table.insert("intranet.test", vec![a("10.1.2.3")]);
    table.insert("cgnat.test", vec![a("100.100.100.100")]);
    table.insert("ula.test", vec![a("[fd12::1]")]);
    table.insert("mapped.test", vec![a("[::ffff:192.168.1.1]")]);
    table.insert("loop.test", vec![a("127.0.0.1"), a("[::1]")]);
    table.insert("multicast.test", vec![a("239.1.1.1")]);
    table.insert("doc.test", vec![a("203.0.113.5")]);
    table.insert("unspecified.test", vec![a("0.0.0.0"), a("[::]")]);
    table.insert("broadcast.test", vec![a("255.255.255.255")]);
    table.insert("reserved.test", vec![a("240.0.0.1")]);
    table.insert("benchmark.test", vec![a("198.18.0.1")]);
    table.insert("linklocal6.test", vec![a("[fe80::1]")]);
    table.insert("nat64.test", vec![a("[64:ff9b::a9fe:a9fe]")]);
    // A public-looking answer mixed with loopback: only the vetted address is used.
    table.insert("mixed.test", vec![a("10.9.9.9"), a("127.0.0.1")]);
    let table: Arc<dyn Resolve> = Arc::new(Table(table));

    let t = Transport::new(
        TransportConfig::default()
            .guard(Arc::new(SsrfGuard::new()))
            .resolver(Arc::clone(&table)),
    )
    .unwrap();
    for name in [
        "metadata.test",
        "intranet.test",
        "cgnat.test",
        "ula.test",
        "mapped.test",
        "loop.test",
        "multicast.test",
        "doc.test",
        "unspecified.test",
        "broadcast.test",
        "reserved.test",
        "benchmark.test",
        "linklocal6.test",
        "nat64.test",
        "mixed.test",
    ] {
        let r = post(&t, &format!("http://{name}:{port}/"), 1000).await;
        assert_eq!(r.outcome, Outcome::SsrfRefused, "{name}: {:?}", r.error);
    }
    let r = post(&t, &format!("http://nowhere.test:{port}/"), 1000).await;
    assert_eq!(r.outcome, Outcome::Dns, "{:?}", r.error);
    assert_eq!(server.count(), 0);

    // With loopback allow-listed, "mixed.test" connects to 127.0.0.1 only (10.9.9.9 dropped).
    let t = Transport::new(
        TransportConfig::default()
            .guard(loopback_guard())
            .resolver(table),
    )
    .unwrap();
    let r = post(&t, &format!("http://mixed.test:{port}/"), 2000).await;
    assert_eq!(r.outcome, Outcome::Success { status: 200 }, "{:?}", r.error);
    assert_eq!(server.count(), 1);
}
