//! A ZITADEL Actions v2 request execution against a small target server on 127.0.0.1.
//!
//! The target is the docs' email-domain check written with the receiver helpers: it verifies
//! `ZITADEL-Signature`, refuses domains outside the allow-list with a forwarded 400 and
//! enriches allowed requests. The executor plays ZITADEL before `AddHumanUser`.
//!
//! Run: `cargo run -p hookwire-examples --example zitadel_call`

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use hookwire::dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire::dispatch::transport::{Transport, TransportConfig};
use hookwire::dispatch::zitadel::{Executor, Incoming, Reply, TargetReceiver};
use hookwire::events::zitadel::{Condition, Execution, MethodCondition, Target};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";
const ALLOWED: &[&str] = &["example.com", "company.com"];

/// The target's logic: what a service behind a restCall target does.
fn handle(receiver: &TargetReceiver, headers: &http::HeaderMap, body: &[u8]) -> Reply {
    let call = match receiver.receive(headers, body) {
        Ok(Incoming::Request(call)) => call,
        Ok(_) => return Reply::fail(422),
        Err(e) => {
            eprintln!("target: refused a call: {e}");
            return Reply::fail(401);
        }
    };
    let mut request = call.request.unwrap_or_else(|| json!({}));
    let email = request
        .pointer("/email/email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    if !ALLOWED.contains(&domain) {
        return Reply::forward_error(400, format!("Email domain {domain} is not allowed"));
    }
    request["profile"]["displayName"] = json!("John Doe (verified)");
    request["metadata"] = json!([{"key": "department", "value": "RW5naW5lZXJpbmc="}]);
    Reply::message(&request)
}

/// Serves one HTTP/1.1 request per connection (enough for this example).
async fn serve(mut stream: TcpStream, receiver: Arc<TargetReceiver>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut headers = http::HeaderMap::new();
    for line in head.split("\r\n").skip(1) {
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
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + 4 + len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let reply = handle(&receiver, &headers, &buf[head_end + 4..head_end + 4 + len]);
    let out = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.status,
        Reply::CONTENT_TYPE,
        reply.body.len()
    );
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(&reply.body).await?;
    stream.shutdown().await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // ZITADEL generates the signing key when the target is created; both sides know it.
    let signing_key = "example-signing-key-returned-once";

    // The target server.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let receiver = Arc::new(TargetReceiver::new(signing_key)?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                if let Err(e) = serve(stream, receiver).await {
                    eprintln!("target: {e}");
                }
            });
        }
    });
    println!("target listening on http://{addr}/validate");

    // The ZITADEL side: one restCall target, interruptOnError, 5 s timeout, and a request
    // execution on AddHumanUser naming it.
    let mut target = Target::rest_call(
        "email-domain",
        format!("http://{addr}/validate"),
        Duration::from_secs(5),
        true,
    );
    target.id = Some("337246363446151234".into());
    target.signing_key = Some(signing_key.into());
    let execution = Execution::new(
        Condition::Request(MethodCondition::Method(ADD_HUMAN.into())),
        ["337246363446151234".to_owned()],
    );
    // Loopback is refused by default; this example allows it explicitly.
    let transport = Transport::new(TransportConfig::default().guard(Arc::new(
        SsrfGuard::new().allow("127.0.0.0/8".parse::<IpCidr>()?),
    )))?;
    let executor =
        Executor::new(transport, [target], [execution])?.with_deadline(Duration::from_secs(10));

    for email in ["john.doe@example.com", "john@gmail.com"] {
        let request = json!({
            "profile": {"givenName": "John", "familyName": "Doe"},
            "email": {"email": email}
        });
        println!("\nAddHumanUser for {email}");
        match executor.execute_request(ADD_HUMAN, request).await {
            Ok(modified) => println!(
                "  continue with the modified request:\n{}",
                serde_json::to_string_pretty(&modified)?
            ),
            Err(e) => println!(
                "  refused: status {:?}, message {:?} ({e})",
                e.forwarded_status(),
                e.client_message()
            ),
        }
    }
    Ok(())
}
