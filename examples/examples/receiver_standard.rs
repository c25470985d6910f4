//! A Standard Webhooks (Svix-compatible) receiver: verifies `webhook-id`, `webhook-timestamp`
//! and `webhook-signature` and prints typed events. The replay guard keys on `webhook-id`, so a
//! sender's retry of a message already processed gets `200` with `hookwire-replayed: true`.
//!
//! ```text
//! WEBHOOK_SECRET=whsec_... cargo run -p hookwire-examples --example receiver_standard
//! ```
//!
//! Send it a signed request by hand (HMAC-SHA256 over "{id}.{t}." + body, key = base64 after
//! `whsec_`, signature base64):
//!
//! ```text
//! body='{"type":"user.created","timestamp":"2024-01-01T00:00:00Z","data":{"id":"u_1"}}'
//! id=msg_1; t=$(date +%s)
//! key=$(printf '%s' "${WEBHOOK_SECRET#whsec_}" | base64 -d | xxd -p -c 256)
//! sig=$(printf '%s' "$id.$t.$body" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64)
//! curl -i http://127.0.0.1:3006/webhooks -H "webhook-id: $id" -H "webhook-timestamp: $t" \
//!   -H "webhook-signature: v1,$sig" --data-binary "$body"
//! ```

#[path = "common/mod.rs"]
mod common;

use axum::{Router, routing::post};
use hookwire::axum::{Receiver, Verified};
use hookwire::events::standard::Event;
use hookwire::signature::Scheme;

async fn on_event(event: Verified<Event>) -> &'static str {
    println!(
        "{} {} at {}: {}",
        event.verification.id.as_deref().unwrap_or("-"),
        event.kind,
        event.timestamp,
        event.data
    );
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = common::bind(3006).await?;
    let port = listener.local_addr()?.port();
    let scheme = Scheme::from_name("standard")?;
    let secret = common::secret_from_env("WEBHOOK_SECRET", || {
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
    });
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))?
        .with_body_limit(256 * 1024)
        .with_memory_replay_guard(10_000);
    common::print_curl(
        port,
        "/webhooks",
        &scheme,
        &secret,
        r#"{"type":"user.created","timestamp":"2024-01-01T00:00:00Z","data":{"id":"u_1"}}"#,
    );
    let app = Router::new()
        .route("/webhooks", post(on_event))
        .with_state(receiver);
    common::serve(listener, app).await?;
    Ok(())
}
