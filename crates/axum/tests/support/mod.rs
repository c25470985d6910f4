//! Shared helpers: signing, in-process calls, and a minimal HTTP/1.1 client for loopback.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use hookwire_signature::{Scheme, Secret, Signer};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// The clock every receiver in the tests runs on.
pub const NOW: i64 = 1_700_000_000;

pub const ZT_SECRET: &str = "778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536";
pub const ZT_BODY: &[u8] = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;

pub type Headers = Vec<(HeaderName, HeaderValue)>;

pub fn sign(scheme: &Scheme, secrets: &[Secret], id: &str, t: i64, body: &[u8]) -> Headers {
    Signer::new(scheme, secrets)
        .unwrap()
        .sign(id, t, body)
        .unwrap()
}

pub fn hdr(name: &str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    )
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Calls the router in process.
pub async fn call(
    app: &Router,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: impl Into<Bytes>,
) -> Reply {
    let mut req = Request::post(path);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.into())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// Serves `app` on 127.0.0.1 (an OS-chosen port) and returns the address.
pub async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// One HTTP/1.1 POST over a fresh loopback connection (`Connection: close`).
/// `chunked` sends the body with chunked transfer encoding (no Content-Length).
pub async fn http_post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
    chunked: bool,
) -> Reply {
    assert!(addr.ip().is_loopback());
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{}: {}\r\n", k, v.to_str().unwrap()));
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    }
    stream.write_all(head.as_bytes()).await.unwrap();
    if chunked {
        for chunk in body.chunks(4096) {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await
                .unwrap();
            // The server may stop reading and answer 413 part way through.
            if stream.write_all(chunk).await.is_err() || stream.write_all(b"\r\n").await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    } else {
        let _ = stream.write_all(body).await;
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .expect("a complete HTTP response");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let code: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status: StatusCode::from_u16(code).unwrap(),
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}
