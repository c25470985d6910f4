//! A Zero Trust Analytics receiver: verifies `X-ZTA-Signature` and prints typed events.
//!
//! ZTA signs no timestamp and no message id, so a captured request stays valid forever; the
//! replay guard drops byte-identical resends for 24 hours (see `hookwire::axum::replay`).
//!
//! ```text
//! ZTA_WEBHOOK_SECRET=whsec_... cargo run -p hookwire-examples --example receiver_zta
//! ```
//!
//! Send it a signed request by hand (HMAC-SHA256 over the body, key = the whole `whsec_…` text):
//!
//! ```text
//! body='{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/blog"}}'
//! sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$ZTA_WEBHOOK_SECRET" | sed 's/^.* //')
//! curl -i http://127.0.0.1:3002/hooks/zta -H "X-ZTA-Signature: sha256=$sig" --data-binary "$body"
//! ```

#[path = "common/mod.rs"]
mod common;

use axum::{Router, routing::post};
use hookwire::axum::{Receiver, Verified};
use hookwire::events::zta::{Data, Event};
use hookwire::signature::Scheme;

async fn on_event(event: Verified<Event>) -> &'static str {
    match &event.data {
        Data::Pageview(view) => println!("pageview on {}: {:?}", view.site_id, view.path),
        other => println!("{} at {}: {other:?}", event.event_type(), event.timestamp),
    }
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = common::bind(3002).await?;
    let port = listener.local_addr()?.port();
    let scheme = Scheme::from_name("zta")?;
    let secret = common::secret_from_env("ZTA_WEBHOOK_SECRET", || {
        "whsec_0123456789abcdef0123456789abcdef".to_owned()
    });
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))?
        .with_body_limit(64 * 1024)
        .with_memory_replay_guard(10_000);
    common::print_curl(
        port,
        "/hooks/zta",
        &scheme,
        &secret,
        r#"{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/blog"}}"#,
    );
    let app = Router::new()
        .route("/hooks/zta", post(on_event))
        .with_state(receiver);
    common::serve(listener, app).await?;
    Ok(())
}
