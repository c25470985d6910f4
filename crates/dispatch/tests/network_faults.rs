//! Receivers that misbehave on the wire, each a real server on 127.0.0.1 written here: refused
//! connections, resets in the middle of a response, a peer that accepts and never answers, one
//! that trickles its head or its body a byte at a time, one that answers with a huge body or
//! endless headers, and TLS failures (a self-signed certificate, plain TCP speaking garbage on
//! an `https` URL). Every delivery must end delivered or failed by its policy with each attempt
//! logged and classified, the timeouts and in-flight limits must hold, and memory stays bounded.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{closed_port, fast_retry, message_id, wait_state};
use hookwire_dispatch::model::{Attempt, DeliveryState};
use hookwire_dispatch::store::MemoryStore;
use hookwire_dispatch::{Dispatcher, DispatcherBuilder, NewEndpoint};
use hookwire_events::Family;
use hookwire_retry::HealthPolicy;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The per-attempt timeout of every endpoint here.
const TIMEOUT: Duration = Duration::from_millis(300);

/// What a fault server does with each connection.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Answers 200 `ok` (the healthy case, for TLS).
    Ok,
    /// Reads the request, sends part of a status line, then a TCP RST.
    ResetInHead,
    /// Reads the request, sends a complete head (`status`, `content-length: 1000`) and 10
    /// bytes of body, then a TCP RST.
    ResetInBody(u16),
    /// Reads the request and never answers, holding the connection open.
    Silent,
    /// Sends the status line one byte every 50 ms, forever.
    TrickleHead,
    /// Sends a complete `status` head announcing 100 000 bytes, then one byte every 50 ms.
    TrickleBody(u16),
    /// Sends `status` with a 256 MiB body as fast as the peer reads it.
    HugeBody(u16),
    /// Sends a status line and then header lines without end.
    EndlessHeaders,
    /// Sends bytes that are not TLS (nor HTTP) as soon as the peer connects.
    Garbage,
}

/// Counters a fault server keeps.
#[derive(Debug, Default)]
struct Stats {
    connections: AtomicUsize,
    /// Connections whose request was read and that the client has not closed yet.
    active: AtomicUsize,
    max_active: AtomicUsize,
    /// The most body bytes the server got to write on one connection.
    max_written: AtomicUsize,
}

impl Stats {
    fn enter(&self) {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
    }
    fn leave(&self) {
        self.active.fetch_sub(1, Ordering::SeqCst);
    }
}

struct FaultServer {
    addr: std::net::SocketAddr,
    stats: Arc<Stats>,
}

impl FaultServer {
    /// Plain TCP.
    async fn start(fault: Fault) -> Self {
        Self::start_with(fault, None).await
    }

    /// TLS with the self-signed loopback certificate of `tests/data/tls`, then `fault` (or a
    /// plain 200 when `fault` is `None`) inside the session.
    async fn start_tls(fault: Option<Fault>) -> Self {
        Self::start_with(fault.unwrap_or(Fault::Ok), Some(server_tls())).await
    }

    async fn start_with(fault: Fault, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let s = Arc::clone(&stats);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                s.connections.fetch_add(1, Ordering::SeqCst);
                let (s, tls) = (Arc::clone(&s), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, fault, &s).await,
                        Some(acceptor) => {
                            // A client that refuses the certificate ends the handshake here.
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve(tls, fault, &s).await;
                            }
                        }
                    }
                });
            }
        });
        Self { addr, stats }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}/hook", self.addr)
    }
}

/// Reads one request head and its `content-length` body; false if the peer went away.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            return true;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Waits until the client closes its side (or errors).
async fn until_closed<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut stream: S,
    fault: Fault,
    stats: &Stats,
) {
    if let Fault::Garbage = fault {
        let _ = stream
            .write_all(b"\x00\xffthis is not TLS, nor HTTP\r\n\r\n\x13\x37")
            .await;
        until_closed(&mut stream).await;
        return;
    }
    if !read_request(&mut stream).await {
        return;
    }
    stats.enter();
    match fault {
        Fault::Garbage => {}
        Fault::Ok => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            until_closed(&mut stream).await;
        }
        Fault::ResetInHead => {
            let _ = stream.write_all(b"HTTP/1.1 20").await;
            let _ = stream.flush().await;
            reset(stream);
        }
        Fault::ResetInBody(status) => {
            let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 1000\r\n\r\n0123456789");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            reset(stream);
        }
        Fault::Silent => until_closed(&mut stream).await,
        Fault::TrickleHead => {
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n".iter().cycle() {
                if stream.write_all(&[*b]).await.is_err() || stream.flush().await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Fault::TrickleBody(status) => {
            let head = format!("HTTP/1.1 {status} X\r\ncontent-length: 100000\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_ok() {
                for _ in 0..100_000 {
                    if stream.write_all(b"x").await.is_err() || stream.flush().await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Fault::HugeBody(status) => {
            let total: usize = 256 * 1024 * 1024;
            let head = format!("HTTP/1.1 {status} X\r\ncontent-length: {total}\r\n\r\n");
            let block = vec![b'z'; 64 * 1024];
            let mut written = 0usize;
            if stream.write_all(head.as_bytes()).await.is_ok() {
                while written < total {
                    match stream.write(&block).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => written += n,
                    }
                }
            }
            stats.max_written.fetch_max(written, Ordering::SeqCst);
        }
        Fault::EndlessHeaders => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
            for i in 0..1_000_000u32 {
                let line = format!("x-filler-{i}: {}\r\n", "f".repeat(64));
                if stream.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    }
    stats.leave();
}

/// Drops the connection with a TCP RST where the stream is plain TCP (a TLS stream is just
/// dropped: its TCP close is abrupt all the same, without close_notify).
fn reset<S: 'static>(stream: S) {
    let any: Box<dyn std::any::Any> = Box::new(stream);
    if let Ok(tcp) = any.downcast::<TcpStream>() {
        let _ = tcp.set_zero_linger();
    }
}

fn tls_file(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/tls/");
    std::fs::read(format!("{path}{name}")).unwrap()
}

fn server_tls() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(&tls_file("loopback.cert.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(&tls_file("loopback.key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A client configuration that trusts the loopback test certificate (and nothing else).
fn client_tls_trusting_the_test_cert() -> rustls::ClientConfig {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&tls_file("loopback.cert.pem")) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

fn builder() -> DispatcherBuilder {
    Dispatcher::builder(Arc::new(MemoryStore::new()))
        .allow_loopback_http()
        .lease(Duration::from_secs(5))
        .poll_interval(Duration::from_millis(50))
        .health_flush_interval(Duration::from_millis(50))
}

/// Registers one endpoint for `tenant` at `url` with the fast two-attempt policy and no
/// circuit breaker (whose 30 s cool-down would only slow the tests; the breaker has its own).
async fn endpoint(d: &Dispatcher, tenant: &str, url: String, max_in_flight: Option<u32>) {
    let mut ep = NewEndpoint::new(tenant, Family::ZeroTier, url)
        .retry(fast_retry(2))
        .health_policy(HealthPolicy::lenient())
        .timeout(TIMEOUT);
    if let Some(n) = max_in_flight {
        ep = ep.max_in_flight(n);
    }
    d.create_endpoint(ep).await.unwrap();
}

/// Sends one message for `tenant` and waits for its delivery to reach `state`; returns its
/// attempt log.
async fn deliver(d: &Dispatcher, tenant: &str, state: DeliveryState) -> Vec<Attempt> {
    let id = message_id(
        d.send(tenant, "NETWORK_JOIN", b"{}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    wait_state(d, &id, state).await;
    d.attempts_for_message(&id).await.unwrap()
}

/// Every attempt failed with an error mentioning one of `expect` (lower case), no status,
/// within the timeout (plus scheduling slack).
fn assert_failed_attempts(case: &str, attempts: &[Attempt], n: usize, expect: &[&str]) {
    assert_eq!(attempts.len(), n, "{case}: {attempts:?}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a.number as usize, i + 1, "{case}");
        assert!(!a.success && a.status.is_none(), "{case}: {a:?}");
        let err = a.error.clone().unwrap_or_default().to_lowercase();
        assert!(
            expect.iter().any(|e| err.contains(e)),
            "{case}: {err:?} mentions none of {expect:?}"
        );
        assert!(
            a.duration_ms < TIMEOUT.as_millis() as u64 + 1500,
            "{case}: timeout not applied: {a:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_end_failed_by_policy_with_every_attempt_logged() {
    let reset_head = FaultServer::start(Fault::ResetInHead).await;
    let silent = FaultServer::start(Fault::Silent).await;
    let trickle_head = FaultServer::start(Fault::TrickleHead).await;
    let endless = FaultServer::start(Fault::EndlessHeaders).await;
    let refused = format!("http://127.0.0.1:{}/hook", closed_port().await);
    let d = builder().build().unwrap();
    let cases: [(&'static str, String, &'static [&'static str]); 5] = [
        ("refused", refused, &["connection refused"]),
        (
            "reset-in-head",
            reset_head.url("http"),
            &[
                "connection reset",
                "connection closed",
                "incomplete message",
            ],
        ),
        ("silent", silent.url("http"), &["timed out"]),
        ("trickle-head", trickle_head.url("http"), &["timed out"]),
        (
            "endless-headers",
            endless.url("http"),
            &["too large", "message head", "parse"],
        ),
    ];
    for (tenant, url, _) in &cases {
        endpoint(&d, tenant, url.clone(), None).await;
    }
    d.start().unwrap();
    let mut runs = tokio::task::JoinSet::new();
    for (tenant, _, expect) in cases {
        let d = d.clone();
        runs.spawn(async move {
            let attempts = deliver(&d, tenant, DeliveryState::Failed).await;
            assert_failed_attempts(tenant, &attempts, 2, expect);
        });
    }
    while let Some(run) = runs.join_next().await {
        run.unwrap();
    }
    // Each server saw both attempts (refused aside).
    for (name, s) in [
        ("reset-in-head", &reset_head),
        ("silent", &silent),
        ("trickle-head", &trickle_head),
        ("endless-headers", &endless),
    ] {
        assert!(s.stats.connections.load(Ordering::SeqCst) >= 2, "{name}");
    }
    // The client hung up on the silent peer after each timeout: nothing left open.
    wait_for("silent connections closed", || {
        silent.stats.active.load(Ordering::SeqCst) == 0
    })
    .await;
    d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_that_arrived_decides_even_if_the_body_breaks_off() {
    // The receiver answered (its status is on the wire) and then the body broke off or
    // trickled past the timeout: the status decides, the attempt logs it.
    let reset_ok = FaultServer::start(Fault::ResetInBody(200)).await;
    let reset_500 = FaultServer::start(Fault::ResetInBody(500)).await;
    let trickle_ok = FaultServer::start(Fault::TrickleBody(200)).await;
    let trickle_503 = FaultServer::start(Fault::TrickleBody(503)).await;
    let d = builder().build().unwrap();
    for (tenant, s) in [
        ("reset-ok", &reset_ok),
        ("reset-500", &reset_500),
        ("trickle-ok", &trickle_ok),
        ("trickle-503", &trickle_503),
    ] {
        endpoint(&d, tenant, s.url("http"), None).await;
    }
    d.start().unwrap();
    let attempts = deliver(&d, "reset-ok", DeliveryState::Delivered).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, Some(200));
    assert_eq!(attempts[0].response_snippet.as_deref(), Some("0123456789"));

    let attempts = deliver(&d, "trickle-ok", DeliveryState::Delivered).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, Some(200));
    // The trickled body was cut off at the attempt's timeout, not read to its end (100 000
    // bytes at 20 per second).
    assert!(
        attempts[0].duration_ms < TIMEOUT.as_millis() as u64 + 1500,
        "{attempts:?}"
    );

    for (tenant, status) in [("reset-500", 500), ("trickle-503", 503)] {
        let attempts = deliver(&d, tenant, DeliveryState::Failed).await;
        assert_eq!(attempts.len(), 2, "{tenant}");
        for a in &attempts {
            assert_eq!(a.status, Some(status), "{tenant}: {a:?}");
            assert_eq!(a.error.as_deref(), Some(&*format!("HTTP {status}")));
            assert!(a.duration_ms < TIMEOUT.as_millis() as u64 + 1500, "{a:?}");
        }
    }
    d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limits_hold_against_peers_that_never_answer() {
    // Per endpoint: at most 2 requests at once to a peer that never answers.
    let silent = FaultServer::start(Fault::Silent).await;
    let d = builder().build().unwrap();
    endpoint(&d, "limited", silent.url("http"), Some(2)).await;
    d.start().unwrap();
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(
            message_id(
                d.send("limited", "NETWORK_JOIN", b"{}".to_vec())
                    .await
                    .unwrap(),
            )
            .await,
        );
    }
    for id in &ids {
        wait_state(&d, id, DeliveryState::Failed).await;
        let attempts = d.attempts_for_message(id).await.unwrap();
        assert_failed_attempts("limited", &attempts, 2, &["timed out"]);
    }
    assert_eq!(silent.stats.connections.load(Ordering::SeqCst), 16);
    let max = silent.stats.max_active.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&max),
        "endpoint limit 2, saw {max} at once"
    );
    d.shutdown(Duration::from_secs(2)).await;

    // Globally: concurrency 3 over four endpoints that never answer, each allowing 10.
    let servers = [
        FaultServer::start(Fault::Silent).await,
        FaultServer::start(Fault::Silent).await,
        FaultServer::start(Fault::Silent).await,
        FaultServer::start(Fault::Silent).await,
    ];
    let d = builder().concurrency(3).build().unwrap();
    for (i, s) in servers.iter().enumerate() {
        endpoint(&d, &format!("t{i}"), s.url("http"), Some(10)).await;
    }
    d.start().unwrap();
    let mut ids = Vec::new();
    for _round in 0..3 {
        for i in 0..servers.len() {
            let r = d
                .send(&format!("t{i}"), "NETWORK_JOIN", b"{}".to_vec())
                .await
                .unwrap();
            ids.push(message_id(r).await);
        }
    }
    // Sample the total while the work drains.
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        let stats: Vec<Arc<Stats>> = servers.iter().map(|s| Arc::clone(&s.stats)).collect();
        tokio::spawn(async move {
            loop {
                let total: usize = stats.iter().map(|s| s.active.load(Ordering::SeqCst)).sum();
                peak.fetch_max(total, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for id in &ids {
        wait_state(&d, id, DeliveryState::Failed).await;
    }
    sampler.abort();
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&peak),
        "global limit 3, saw {peak} at once"
    );
    d.shutdown(Duration::from_secs(2)).await;
}

/// The resident set of this process, in bytes.
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_bodies_are_read_to_the_cap_and_memory_stays_bounded() {
    // 16 deliveries at once to receivers offering 256 MiB bodies (4 GiB in all).
    let ok = FaultServer::start(Fault::HugeBody(200)).await;
    let bad = FaultServer::start(Fault::HugeBody(500)).await;
    let d = builder().concurrency(16).build().unwrap();
    // A generous timeout: this test is about the read cap, and 16 servers writing as fast as
    // they can load the machine.
    for (tenant, s) in [("ok", &ok), ("bad", &bad)] {
        d.create_endpoint(
            NewEndpoint::new(tenant, Family::ZeroTier, s.url("http"))
                .retry(fast_retry(2))
                .health_policy(HealthPolicy::lenient())
                .timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    }
    d.start().unwrap();
    let before = rss_bytes();
    let mut ids = Vec::new();
    for i in 0..16 {
        let tenant = if i % 2 == 0 { "ok" } else { "bad" };
        let r = d
            .send(tenant, "NETWORK_JOIN", b"{}".to_vec())
            .await
            .unwrap();
        ids.push((tenant, message_id(r).await));
    }
    for (tenant, id) in &ids {
        let state = if *tenant == "ok" {
            DeliveryState::Delivered
        } else {
            DeliveryState::Failed
        };
        wait_state(&d, id, state).await;
        let attempts = d.attempts_for_message(id).await.unwrap();
        let expected = if *tenant == "ok" { 1 } else { 2 };
        assert_eq!(attempts.len(), expected, "{tenant}");
        for a in &attempts {
            // The snippet is capped (default 4 KiB); the read stopped at the read cap.
            let snippet = a.response_snippet.as_deref().unwrap_or_default();
            assert!(
                !snippet.is_empty() && snippet.len() <= 64 * 1024,
                "{tenant}: {a:?}"
            );
            assert!(snippet.bytes().all(|b| b == b'z'));
        }
    }
    let grown = rss_bytes().saturating_sub(before);
    // The client stopped reading after the cap: what each server got to write is what the
    // loopback socket buffers hold, not the 256 MiB it offered.
    wait_for("servers stopped writing", || {
        ok.stats.active.load(Ordering::SeqCst) == 0 && bad.stats.active.load(Ordering::SeqCst) == 0
    })
    .await;
    let written = ok
        .stats
        .max_written
        .load(Ordering::SeqCst)
        .max(bad.stats.max_written.load(Ordering::SeqCst));
    assert!(
        written < 32 * 1024 * 1024,
        "a server wrote {written} bytes on one connection"
    );
    assert!(
        grown < 128 * 1024 * 1024,
        "RSS grew by {grown} bytes for 24 attempts at 256 MiB bodies"
    );
    d.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failures_are_classified_retried_and_failed_by_policy() {
    let self_signed = FaultServer::start_tls(None).await;
    let garbage = FaultServer::start(Fault::Garbage).await;
    let tls_silent = FaultServer::start_tls(Some(Fault::Silent)).await;
    let stall = FaultServer::start(Fault::Silent).await;
    let d = builder().build().unwrap();
    endpoint(&d, "self-signed", self_signed.url("https"), None).await;
    endpoint(&d, "garbage", garbage.url("https"), None).await;
    endpoint(&d, "handshake-stall", stall.url("https"), None).await;
    d.start().unwrap();
    // A peer that takes the connection and never answers the client hello: the attempt's
    // timeout covers the handshake.
    let attempts = deliver(&d, "handshake-stall", DeliveryState::Failed).await;
    assert_failed_attempts("handshake-stall", &attempts, 2, &["timed out"]);
    // The platform trust store does not know the test certificate: refused, every attempt.
    let attempts = deliver(&d, "self-signed", DeliveryState::Failed).await;
    assert_failed_attempts(
        "self-signed",
        &attempts,
        2,
        &["certificate", "unknown issuer", "invalid peer certificate"],
    );
    // Plain bytes where a TLS server hello should be.
    let attempts = deliver(&d, "garbage", DeliveryState::Failed).await;
    assert_failed_attempts(
        "garbage",
        &attempts,
        2,
        &["tls", "corrupt message", "invalid message", "received"],
    );
    // The handshake never completed, so no request ever reached the self-signed server.
    assert_eq!(self_signed.stats.max_active.load(Ordering::SeqCst), 0);
    d.shutdown(Duration::from_secs(2)).await;

    // The same server, trusted: delivered. So the failure above was the trust decision.
    let d = builder()
        .tls_config(client_tls_trusting_the_test_cert())
        .build()
        .unwrap();
    endpoint(&d, "trusted", self_signed.url("https"), None).await;
    endpoint(&d, "tls-silent", tls_silent.url("https"), None).await;
    d.start().unwrap();
    let attempts = deliver(&d, "trusted", DeliveryState::Delivered).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, Some(200));
    // Handshake fine, then no answer: the timeout holds inside TLS too.
    let attempts = deliver(&d, "tls-silent", DeliveryState::Failed).await;
    assert_failed_attempts("tls-silent", &attempts, 2, &["timed out"]);
    d.shutdown(Duration::from_secs(2)).await;
}

async fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
