//! A Zentitle2 receiver: verifies the RSA `N-Signature` with the account's public key and
//! prints typed licensing events.
//!
//! Zentitle signs no timestamp: a captured request stays valid; the replay guard drops
//! byte-identical resends for 24 hours, and `eventId` is the id to deduplicate on for good.
//!
//! ```text
//! ZENTITLE_RSA_MODULUS=<"RSA Modulus" from Account → Credentials> cargo run -p hookwire-examples --example receiver_zentitle
//! ```
//!
//! Without `ZENTITLE_RSA_MODULUS` the example generates a demo key pair (a few seconds) and
//! prints a request signed with it. By hand, with a PEM private key:
//!
//! ```text
//! body='{"eventId":"event_1","eventDate":"2025-06-06T11:39:22Z","eventCode":"customer.created","resourceId":"cust_1","callAttempt":1,"payload":{"customerId":"cust_1","name":"Acme"}}'
//! sig=$(printf '%s' "$body" | openssl dgst -sha256 -sign private.pem | base64 -w0)
//! curl -i http://127.0.0.1:3005/hooks/zentitle -H "N-Signature: $sig" --data-binary "$body"
//! ```

#[path = "common/mod.rs"]
mod common;

use axum::{Router, routing::post};
use hookwire::axum::{Receiver, Verified};
use hookwire::events::zentitle::Event;
use hookwire::signature::{Scheme, Secret};

async fn on_event(Verified { payload: event, .. }: Verified<Event>) -> &'static str {
    println!(
        "{} {} on {} (attempt {}): {:?}",
        event.event_id, event.event_code, event.resource_id, event.call_attempt, event.payload
    );
    "ok"
}

const SAMPLE: &str = r#"{"eventId":"event_1","eventDate":"2025-06-06T11:39:22Z","eventCode":"customer.created","resourceId":"cust_1","callAttempt":1,"payload":{"customerId":"cust_1","name":"Acme"}}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = common::bind(3005).await?;
    let port = listener.local_addr()?.port();
    let scheme = Scheme::Zentitle;
    let public_key = match std::env::var("ZENTITLE_RSA_MODULUS") {
        Ok(modulus) if !modulus.is_empty() => Secret::new(modulus),
        _ => {
            eprintln!("ZENTITLE_RSA_MODULUS is not set: generating a demo key pair");
            let private = scheme.generate_secret()?;
            common::print_curl(port, "/hooks/zentitle", &scheme, &private, SAMPLE);
            scheme.verification_secret(&private)?
        }
    };
    let receiver = Receiver::new(&scheme, &[public_key])?
        .with_body_limit(256 * 1024)
        .with_memory_replay_guard(10_000);
    let app = Router::new()
        .route("/hooks/zentitle", post(on_event))
        .with_state(receiver);
    common::serve(listener, app).await?;
    Ok(())
}
