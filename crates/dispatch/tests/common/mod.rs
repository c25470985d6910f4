//! A small HTTP/1.1 receiver on 127.0.0.1 for the integration tests: records every request and
//! answers with whatever the test's handler says (status, headers, body, delay, reset).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Status with an empty body.
    Status(u16),
    /// Status, extra headers and a body.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// Close the connection with a TCP RST, without answering.
    Reset,
}

type Handler = Arc<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

/// A running receiver.
#[derive(Clone)]
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl TestServer {
    /// Starts a server whose handler gets each request and its 0-based index.
    pub async fn start(
        handler: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let handler: Handler = Arc::new(handler);
        let (r, n) = (Arc::clone(&received), Arc::clone(&notify));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (r, n, h) = (Arc::clone(&r), Arc::clone(&n), Arc::clone(&handler));
                tokio::spawn(async move {
                    let _ = serve(stream, r, n, h).await;
                });
            }
        });
        Self {
            addr,
            received,
            notify,
        }
    }

    /// Always answers `status`.
    pub async fn status(status: u16) -> Self {
        Self::start(move |_, _| Reply::Status(status)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until at least `n` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if self.count() >= n {
                return self.received();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} requests, got {}", self.count());
            }
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    notify: Arc<tokio::sync::Notify>,
    handler: Handler,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                break pos;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = http::HeaderMap::new();
        for line in lines {
            if let Some((k, v)) = line.split_once(':')
                && let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.trim().as_bytes()),
                    http::HeaderValue::from_str(v.trim()),
                )
            {
                headers.append(k, v);
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let body_start = head_end + 4;
        while buf.len() < body_start + len {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[body_start..body_start + len].to_vec();
        buf.drain(..body_start + len);
        let req = Received {
            method,
            path,
            headers,
            body,
            at: std::time::Instant::now(),
        };
        let index = {
            let mut r = received.lock().unwrap();
            r.push(req.clone());
            r.len() - 1
        };
        notify.notify_waiters();
        let mut reply = handler(&req, index);
        loop {
            match reply {
                Reply::Delay(d, inner) => {
                    tokio::time::sleep(d).await;
                    reply = *inner;
                }
                Reply::Reset => {
                    stream.set_zero_linger()?;
                    drop(stream);
                    return Ok(());
                }
                Reply::Status(status) => {
                    write_response(&mut stream, status, &[], b"").await?;
                    break;
                }
                Reply::Full {
                    status,
                    headers,
                    body,
                } => {
                    write_response(&mut stream, status, &headers, &body).await?;
                    break;
                }
            }
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes()).await?;
    // Large bodies: the client may stop reading and close; ignore the write error.
    let _ = stream.write_all(body).await;
    stream.flush().await
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

// ---- dispatcher helpers shared by the engine tests -----------------------------------------

/// Retries after 50 ms, up to `max` attempts.
pub fn fast_retry(max: u32) -> hookwire_retry::RetryPolicy {
    hookwire_retry::RetryPolicy::builder(hookwire_retry::Backoff::Schedule {
        delays: vec![Duration::from_millis(50)],
    })
    .max_attempts(max)
    .build()
    .unwrap()
}

/// The message id of a send that created one.
pub async fn message_id(r: hookwire_dispatch::model::EnqueueResult) -> String {
    match r {
        hookwire_dispatch::model::EnqueueResult::Created { message_id, .. } => message_id,
        other => panic!("not created: {other:?}"),
    }
}

/// Waits until every delivery of `message` is in `state`.
pub async fn wait_state(
    d: &hookwire_dispatch::Dispatcher,
    message: &str,
    state: hookwire_dispatch::model::DeliveryState,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ds = d
            .deliveries(&hookwire_dispatch::model::DeliveryFilter {
                message_id: Some(message.to_owned()),
                ..Default::default()
            })
            .await
            .unwrap();
        if !ds.is_empty() && ds.iter().all(|x| x.state == state) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries of {message} not {state:?}: {ds:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a ZITADEL target does with a call: verify `ZITADEL-Signature` with its signing key
/// over the raw body, then parse the body. (Targets use `hookwire_axum::zitadel`; the
/// dispatcher's tests stay free of the receiver crate.)
pub fn zitadel_target_receive(
    key: &str,
    req: &Received,
) -> Result<hookwire_events::zitadel::Payload, String> {
    use hookwire_signature::{Scheme, Secret, Verifier};
    let verifier =
        Verifier::new(&Scheme::Zitadel, &[Secret::new(key)]).map_err(|e| e.to_string())?;
    verifier
        .verify(&req.body, &req.headers)
        .map_err(|e| e.to_string())?;
    hookwire_events::zitadel::parse(&req.body).map_err(|e| e.to_string())
}
