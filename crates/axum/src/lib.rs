//! Receive webhooks in [axum]: verify the signature over the exact bytes received, parse the
//! typed event, drop replays.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use hookwire_axum::{Receiver, Verified};
//! use hookwire_events::zerotier::Hook;
//! use hookwire_signature::{Scheme, Secret};
//!
//! async fn on_hook(Verified { payload, verification, .. }: Verified<Hook>) -> &'static str {
//!     println!("{} (signed at {:?})", payload.event_type(), verification.timestamp);
//!     "ok"
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let secret = Secret::new(std::env::var("ZEROTIER_HOOK_SECRET")?);
//!     let receiver = Receiver::new(&Scheme::ZeroTier, &[secret])?
//!         .with_body_limit(64 * 1024)
//!         .with_memory_replay_guard(10_000);
//!     let app = Router::new().route("/hooks/zerotier", post(on_hook)).with_state(receiver);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Pieces
//!
//! - [`Receiver`]: the scheme's [`Verifier`](hookwire_signature::Verifier), the body limit
//!   (1 MiB by default), an optional [`ReplayGuard`], the replay status. Put it in the router
//!   state (directly or through [`FromRef`](axum::extract::FromRef)).
//! - [`Verified<T>`]: the extractor. Reads the body up to the limit, verifies it, checks for a
//!   replay, then hands the same bytes to `T`: [`Bytes`](axum::body::Bytes), `String`,
//!   [`Json<E>`](axum::Json), a typed event of [`hookwire_events`] or
//!   [`AnyEvent`](hookwire_events::AnyEvent); any [`FromVerifiedBody`].
//! - [`VerifyLayer`] (or [`verify_middleware`] for `from_fn_with_state`): the same for a whole
//!   router; handlers read the [`Verification`] extension and the untouched body.
//! - [`Checked`]: every request's body with its verification outcome (refused ones too),
//!   for debugging receivers and audit logs.
//! - [`zitadel`]: writing a ZITADEL Actions v2 target: [`Verified<Incoming>`](zitadel::Incoming)
//!   for the calls, [`Reply`](zitadel::Reply) for the answer.
//! - [`ReplayGuard`]: the replay store trait; [`MemoryReplayGuard`] is the bounded in-process
//!   one, `RedisReplayGuard` (feature `redis`) and `PostgresReplayGuard` (feature `postgres`)
//!   are shared by every instance of a receiver. What replay protection each scheme allows is
//!   in [`replay`].
//!
//! # Crate features
//! - `redis`: `RedisReplayGuard` (`SET NX PX` on a Redis server).
//! - `postgres`: `PostgresReplayGuard` (a table with an expiry column).
//!
//! # Responses
//!
//! | situation | status | body |
//! |---|---|---|
//! | body longer than the limit | 413 | `request body exceeds the limit of N bytes` |
//! | body cannot be read | 400 | `request body could not be read` |
//! | signature header missing or malformed | 400 | ``missing header `x-ztc-signature` `` |
//! | signature does not match any secret | 401 | `signature mismatch` |
//! | timestamp outside the tolerance | 401 | `timestamp too old` / `timestamp too new` |
//! | replayed message | 200 (configurable) + `hookwire-replayed: true` | `message already received` |
//! | replay store down | 503 | `replay store unavailable` |
//! | receiver key unusable | 500 | `webhook receiver misconfigured` |
//! | verified, payload does not parse (typed events) | 400 | `payload does not parse: …` |
//!
//! No response ever contains a secret, an expected signature or which secret came close.
//!
//! # Why the raw bytes
//!
//! A signature covers bytes. Parsing JSON and serializing it again changes spacing, key order
//! and escapes (`"\u00e9"` becomes `"é"`), and the signature no longer matches; or worse, a
//! receiver that verifies a re-serialized value accepts bodies the sender never signed. This
//! crate only ever verifies the bytes as received and parses those same bytes afterwards.
//!
//! # Every scheme
//!
//! Any [`Scheme`](hookwire_signature::Scheme) works, including Zentitle2 (RSA, give the public
//! key as the secret) and the schemes without a timestamp (Zero Trust Analytics, Hub Message);
//! see [`replay`] for the replay protection that remains for those.

mod checked;
mod extract;
mod layer;
mod receiver;
mod rejection;
pub mod replay;
pub mod zitadel;

pub use checked::Checked;
pub use extract::{
    BodyContext, FromVerifiedBody, InvalidUtf8, PayloadRejection, Verified, VerifiedRejection,
};
pub use layer::{VerifyLayer, VerifyService, verify_middleware};
pub use receiver::{DEFAULT_BODY_LIMIT, DEFAULT_MAX_REPLAY_TTL, Receiver, Verification};
pub use rejection::{REPLAY_HEADER, Rejection};
#[cfg(feature = "postgres")]
pub use replay::PostgresReplayGuard;
#[cfg(feature = "redis")]
pub use replay::RedisReplayGuard;
pub use replay::{MemoryReplayGuard, ReplayGuard, ReplayStoreError};
