//! A Hub Message receiver (DEFAULT and Z-API payloads): verifies the HMAC header and prints
//! typed messages.
//!
//! Hub Message does not publish its signature header's name: copy it from the console into
//! `HUB_SIGNATURE_HEADER` (the default `x-hubmessage-signature` is a placeholder). No
//! timestamp is signed; the replay guard drops byte-identical resends for 24 hours.
//!
//! ```text
//! HUB_WEBHOOK_SECRET=<64 hex> HUB_SIGNATURE_HEADER=<name> cargo run -p hookwire-examples --example receiver_hub_message
//! ```
//!
//! Send it a signed request by hand (HMAC-SHA256 over the body, key = the secret as ASCII):
//!
//! ```text
//! body='{"message":{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","channel_id":"019E4C54B1B375A28970B605CA9B03C3"},"messageEventType":"NEW_MESSAGE"}'
//! sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$HUB_WEBHOOK_SECRET" | sed 's/^.* //')
//! curl -i http://127.0.0.1:3003/hooks/hub -H "x-hubmessage-signature: $sig" --data-binary "$body"
//! ```

#[path = "common/mod.rs"]
mod common;

use axum::{Router, routing::post};
use hookwire::axum::{Receiver, Verified};
use hookwire::events::hub_message::Event;
use hookwire::signature::{HubKeyEncoding, Scheme};

async fn on_message(event: Verified<Event>) -> &'static str {
    match &event.payload {
        Event::Default(envelope) => println!(
            "{} message {}: {:?}",
            event.event_type(),
            envelope.message.id,
            envelope.message.text()
        ),
        Event::ZApi(callback) => println!("Z-API {}: {callback:?}", event.event_type()),
        other => println!("{}: {other:?}", other.event_type()),
    }
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = common::bind(3003).await?;
    let port = listener.local_addr()?.port();
    let header = std::env::var("HUB_SIGNATURE_HEADER")
        .unwrap_or_else(|_| hookwire::signature::hub_message::DEFAULT_HEADER.to_owned());
    let scheme = Scheme::HubMessage {
        header,
        key: HubKeyEncoding::Ascii,
    };
    let secret = common::secret_from_env("HUB_WEBHOOK_SECRET", || {
        "a3f1c2d4e5b6789012345678901234abcdef0123456789abcdef0123456789ab".to_owned()
    });
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))?
        .with_body_limit(256 * 1024)
        .with_memory_replay_guard(10_000);
    common::print_curl(
        port,
        "/hooks/hub",
        &scheme,
        &secret,
        r#"{"message":{"_id":"019E6F1A93FE78DCB54332F9FF0CCAE7","channel_id":"019E4C54B1B375A28970B605CA9B03C3"},"messageEventType":"NEW_MESSAGE"}"#,
    );
    let app = Router::new()
        .route("/hooks/hub", post(on_message))
        .with_state(receiver);
    common::serve(listener, app).await?;
    Ok(())
}
