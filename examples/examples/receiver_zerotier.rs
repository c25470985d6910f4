//! A ZeroTier Central hook receiver: verifies `X-ZTC-Signature` and prints typed hooks.
//!
//! ```text
//! ZEROTIER_HOOK_SECRET=<64 hex digits from Central> cargo run -p hookwire-examples --example receiver_zerotier
//! ```
//!
//! Send it a signed request by hand (HMAC-SHA256 over "{t}," + body, key = hex-decoded secret):
//!
//! ```text
//! body='{"hook_id":"h-1","org_id":"o-1","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}'
//! t=$(date +%s)
//! sig=$(printf '%s' "$t,$body" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$ZEROTIER_HOOK_SECRET | sed 's/^.* //')
//! curl -i http://127.0.0.1:3001/hooks/zerotier -H "X-ZTC-Signature: t=$t,v1=$sig" --data-binary "$body"
//! ```
//!
//! The example also prints a ready-made command at start-up.

#[path = "common/mod.rs"]
mod common;

use axum::{Router, routing::post};
use hookwire::axum::{Receiver, Verified};
use hookwire::events::zerotier::Hook;
use hookwire::signature::Scheme;

async fn on_hook(hook: Verified<Hook>) -> &'static str {
    match &hook.payload {
        Hook::NetworkJoin(join) => {
            println!(
                "member {} joined network {}",
                join.member_id, join.network_id
            );
        }
        Hook::Unknown(other) => println!("new hook type {}: {:?}", other.hook_type, other),
        other => println!("{} hook {}", other.event_type(), other.hook_id()),
    }
    println!("  signed at {:?}", hook.verification.timestamp);
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = common::bind(3001).await?;
    let port = listener.local_addr()?.port();
    let scheme = Scheme::ZeroTier;
    let secret = common::secret_from_env("ZEROTIER_HOOK_SECRET", || "ab".repeat(32));
    let receiver = Receiver::new(&scheme, std::slice::from_ref(&secret))?
        .with_body_limit(64 * 1024)
        .with_memory_replay_guard(10_000);
    common::print_curl(
        port,
        "/hooks/zerotier",
        &scheme,
        &secret,
        r#"{"hook_id":"h-1","org_id":"o-1","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#,
    );
    let app = Router::new()
        .route("/hooks/zerotier", post(on_hook))
        .with_state(receiver);
    common::serve(listener, app).await?;
    Ok(())
}
