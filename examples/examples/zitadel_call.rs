//! A ZITADEL Actions v2 request execution against a small target server on 127.0.0.1.
//!
//! The target is the docs' email-domain check written with hookwire-axum: the
//! `Verified<Incoming>` extractor verifies `ZITADEL-Signature` over the raw body and parses the
//! call; the handler refuses domains outside the allow-list with a forwarded 400 and enriches
//! allowed requests, answering with a `Reply`. The executor (hookwire-dispatch) plays ZITADEL
//! before `AddHumanUser`.
//!
//! Run: `cargo run -p hookwire-examples --example zitadel_call`

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use hookwire::axum::zitadel::{Incoming, Reply};
use hookwire::axum::{Receiver, Verified};
use hookwire::dispatch::ssrf::{IpCidr, SsrfGuard};
use hookwire::dispatch::transport::{Transport, TransportConfig};
use hookwire::dispatch::zitadel::Executor;
use hookwire::events::zitadel::{Condition, Execution, MethodCondition, Target};
use hookwire::signature::{Scheme, Secret};
use serde_json::{Value, json};

const ADD_HUMAN: &str = "/zitadel.user.v2.UserService/AddHumanUser";
const ALLOWED: &[&str] = &["example.com", "company.com"];

/// The target's logic: what a service behind a restCall target does. A call that does not
/// verify never gets here (the extractor answers 400/401 itself).
async fn validate(call: Verified<Incoming>) -> Reply {
    let Incoming::Request(call) = call.payload else {
        return Reply::fail(422);
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // ZITADEL generates the signing key when the target is created; both sides know it.
    let signing_key = "example-signing-key-returned-once";

    // The target server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let receiver = Receiver::new(&Scheme::Zitadel, &[Secret::new(signing_key)])?;
    let app = Router::new()
        .route("/validate", post(validate))
        .with_state(receiver);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("target: {e}");
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
