//! A ZITADEL Actions v2 target: verifies `ZITADEL-Signature` and prints typed executions.
//!
//! ```text
//! ZITADEL_SIGNING_KEY=<the target's signing key> cargo run -p hookwire-examples --example receiver_zitadel
//! ```
//!
//! Send it a signed request by hand (HMAC-SHA256 over "{t}." + body, key = the signing key):
//!
//! ```text
//! body='{"aggregateID":"313014806065971608","aggregateType":"user","event_type":"user.human.added","userID":"312909075212468632"}'
//! t=$(date +%s)
//! sig=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$ZITADEL_SIGNING_KEY" | sed 's/^.* //')
//! curl -i http://127.0.0.1:3004/zitadel -H "ZITADEL-Signature: t=$t,v1=$sig" --data-binary "$body"
//! ```

#[path = "common/mod.rs"]
mod common;

use axum::{Router, routing::post};
use hookwire::axum::{Receiver, Verified};
use hookwire::events::zitadel::Payload;
use hookwire::signature::Scheme;

async fn on_execution(execution: Verified<Payload>) -> &'static str {
    match &execution.payload {
        Payload::Event(event) => println!(
            "event {} on {:?} {:?}",
            execution.event_type(),
            event.aggregate_type,
            event.aggregate_id
        ),
        other => println!("{}: {other:?}", other.event_type()),
    }
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = common::bind(3004).await?;
    let port = listener.local_addr()?.port();
    let scheme = Scheme::Zitadel;
    let secret = common::secret_from_env("ZITADEL_SIGNING_KEY", || "demo-signing-key".to_owned());
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))?
        .with_body_limit(256 * 1024)
        .with_memory_replay_guard(10_000);
    common::print_curl(
        port,
        "/zitadel",
        &scheme,
        &secret,
        r#"{"aggregateID":"313014806065971608","aggregateType":"user","event_type":"user.human.added","userID":"312909075212468632"}"#,
    );
    let app = Router::new()
        .route("/zitadel", post(on_execution))
        .with_state(receiver);
    common::serve(listener, app).await?;
    Ok(())
}
