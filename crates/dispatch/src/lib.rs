//! hookwire-dispatch: the embeddable, durable webhook dispatcher.
//!
//! A service builds one [`Dispatcher`] over a [`Store`](store::Store), registers endpoints,
//! and calls [`Dispatcher::send`]: every subscribed endpoint then receives the event, signed
//! with its scheme, retried by its policy, until it is delivered or recorded as failed.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use hookwire_dispatch::{Dispatcher, NewEndpoint, store::MemoryStore};
//! use hookwire_events::Family;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hookwire_dispatch::DispatchError> {
//! let dispatcher = Dispatcher::builder(Arc::new(MemoryStore::new())).build()?;
//! let created = dispatcher
//!     .create_endpoint(
//!         NewEndpoint::new("org-1", Family::ZeroTier, "https://hooks.example.com/zt")
//!             .event_types(["NETWORK_JOIN", "MEMBER_DELETED"]),
//!     )
//!     .await?;
//! // The secret is shown once: hand it to the receiver.
//! assert!(created.secret.is_some());
//! // Durable (here: in memory) before it returns; one delivery per subscribed endpoint.
//! let sent = dispatcher
//!     .send("org-1", "NETWORK_JOIN", br#"{"hook_type":"NETWORK_JOIN"}"#.to_vec())
//!     .await?;
//! println!("{sent:?}");
//! assert_eq!(dispatcher.queue_depth().await?, 1);
//! // `dispatcher.start()?` runs the workers, which POST it to the endpoint (this doctest
//! // stays off the network); `shutdown` lets in-flight attempts finish.
//! dispatcher.shutdown(Duration::from_secs(1)).await;
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//! - [`Dispatcher::send`] stores the message and one delivery per matching endpoint before it
//!   returns (at-least-once); [`Dispatcher::send_idempotent`] makes a repeat a no-op.
//! - Workers claim due deliveries under a lease (renewed while the request runs), sign with
//!   every valid secret of the endpoint's scheme, add the [`headers`] and the endpoint's auth,
//!   POST through the [`transport`] (SSRF-checked, no redirects, no proxies, capped read),
//!   classify the outcome with `hookwire-retry`, log the attempt and complete the delivery.
//!   Endpoint health (auto-disable, circuit breaker, 410 Gone) is updated after each attempt.
//! - A global concurrency limit, a per-endpoint in-flight limit and token bucket, and opt-in
//!   FIFO per endpoint bound the load on receivers.
//! - [`Retention`] deletes delivered messages after 30 days and failed ones after 90 (with
//!   their deliveries and attempts, in short batches, SQLite's space given back), in the
//!   background of a running dispatcher.
//! - [`Dispatcher::shutdown`] stops claiming, lets attempts finish until a deadline, and gives
//!   the rest back to the store.
//! - The [`ssrf`] guard refuses private, loopback, link-local, CGNAT, unique-local, multicast,
//!   documentation and reserved destinations; an allow-list of CIDRs is the only bypass.
//! - Secrets are encrypted at rest ([`at_rest`]) with keys the host gives the builder
//!   ([`DispatcherBuilder::encryption_key`]); keys rotate and [`Dispatcher::reencrypt`] moves
//!   every record to the newest.
//! - The [`outbox`] queues a webhook inside the caller's own SQLite or PostgreSQL
//!   transaction, so it exists if and only if the business write committed.
//! - Metrics go through the `metrics` facade ([`metrics`](mod@metrics) lists the names);
//!   every attempt runs in a `hookwire.attempt` tracing span.

pub mod at_rest;
mod dispatcher;
mod engine;
pub mod error;
pub mod headers;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod outbox;
pub mod registry;
pub mod retention;
mod scoped;
pub mod ssrf;
pub mod store;
pub mod transport;
pub mod zitadel;

pub use at_rest::{AtRestError, EncryptionKey, KeyError, Keyring, ReencryptReport};
pub use dispatcher::{Dispatcher, DispatcherBuilder, ShutdownReport};
pub use error::{DispatchError, ErrorKind, ValidationError};
pub use limits::Limits;
pub use registry::{
    CreatedEndpoint, EndpointInfo, EndpointUpdate, IssuedSecret, NewEndpoint, RotatedSecret,
    SecretInfo,
};
pub use retention::Retention;
pub use scoped::{MAX_PAGE_SIZE, Page, Sent};

/// The `User-Agent` sent unless the builder sets another.
pub const DEFAULT_USER_AGENT: &str = concat!("hookwire/", env!("CARGO_PKG_VERSION"));
