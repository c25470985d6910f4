//! hookwire: embeddable webhooks for Rust. Sign and send webhooks reliably from inside your
//! own service, and verify them byte-exactly on the receiving side, in the wire formats of
//! ZeroTier Central, Zero Trust Analytics, Hub Message / Z-API, ZITADEL Actions v2, Zentitle2
//! and Standard Webhooks (plus Stripe- and GitHub-style signatures).
//!
//! This crate only re-exports the `hookwire-*` crates, so one dependency with the right
//! features gives all of it.
//!
//! # A tour
//!
//! **Verify a webhook** ([`signature`]): raw bytes as received, the header, the secret.
//!
//! ```
//! use hookwire::signature::{Scheme, Secret, Verifier};
//!
//! let body = br#"{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_JOIN","network_id":"19d9808567a17ccf","member_id":"a02505e545"}"#;
//! let header = "t=1694033429,v1=04d87956d1953f28ac04d441f139fc655109e9b5c64396fb55dbdf567c735f86";
//! let secret = Secret::new("778c6dab5feca625c7831644d18c4d0e4b3a337bff8a1e1c8f938f9cc20e6536");
//!
//! let verifier = Verifier::new(&Scheme::ZeroTier, &[secret])?;
//! let verified = verifier.verify_pairs_at(body, &[("X-ZTC-Signature", header)], 1_694_033_500)?;
//! assert_eq!(verified.timestamp, Some(1_694_033_429));
//! # Ok::<(), hookwire::signature::Error>(())
//! ```
//!
//! **Sign one** (the mirror image): `Signer::new(&scheme, &secrets)?.sign(msg_id, unix_time,
//! body)?` returns the headers to send.
//!
//! ```
//! use hookwire::signature::{Scheme, Secret, Signer};
//!
//! let signer = Signer::new(&Scheme::Zitadel, &[Secret::new("testSigningKey")])?;
//! let headers = signer.sign("", 1_700_000_000, b"test")?;
//! assert_eq!(headers[0].0, "zitadel-signature");
//! assert_eq!(
//!     headers[0].1,
//!     "t=1700000000,v1=4d2cdd3630cfdb0f43c5842d65b7e89b3c3c3617a9380884ce676f3b63ca517e"
//! );
//! # Ok::<(), hookwire::signature::Error>(())
//! ```
//!
//! **Read it as a typed event** ([`events`]): unknown event types are kept, not refused.
//!
//! ```
//! use hookwire::events::{Family, parse};
//!
//! let body = br#"{"event":"pageview","timestamp":"2024-12-12T16:30:00.000Z","data":{"siteId":"site_abc123","path":"/"}}"#;
//! let event = parse(Family::Zta, body)?;
//! assert_eq!(event.event_type(), "pageview");
//! # Ok::<(), hookwire::events::ParseError>(())
//! ```
//!
//! **Decide when to retry** ([`retry`]): policies are data, presets follow each vendor's docs.
//!
//! ```
//! use std::time::Duration;
//! use hookwire::retry::RetryPolicy;
//!
//! let zta = RetryPolicy::preset("zta").expect("a preset");
//! assert_eq!(zta.max_attempts(), 3);
//! assert_eq!(zta.schedule(), [Duration::from_secs(5), Duration::from_secs(25)]);
//! ```
//!
//! **Send them durably** (`dispatch`, feature `dispatch`; compiled, not run here: it would
//! deliver to `hooks.example.com`): one [`Dispatcher`] per process over a
//! store (in memory, SQLite, or PostgreSQL with feature `postgres`); `send` returns once the
//! message and one delivery per subscribed endpoint are stored, and workers sign, deliver,
//! retry, log each attempt and disable dead endpoints.
//!
#![cfg_attr(feature = "dispatch", doc = "```no_run")]
#![cfg_attr(not(feature = "dispatch"), doc = "```ignore")]
//! use std::sync::Arc;
//! use std::time::Duration;
//! use hookwire::dispatch::{Dispatcher, NewEndpoint, store::SqliteStore};
//! use hookwire::events::Family;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("hookwire-facade-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let store = SqliteStore::open(dir.join("hooks.db"))?;
//! let dispatcher = Dispatcher::builder(Arc::new(store)).build()?;
//! let created = dispatcher
//!     .create_endpoint(
//!         NewEndpoint::new("org-1", Family::ZeroTier, "https://hooks.example.com/zt")
//!             .event_types(["NETWORK_JOIN"]),
//!     )
//!     .await?;
//! let secret = created.secret.expect("signed endpoints get a secret, shown once");
//! # let _ = secret;
//! dispatcher.start()?;
//! dispatcher
//!     .send("org-1", "NETWORK_JOIN", br#"{"hook_type":"NETWORK_JOIN"}"#.to_vec())
//!     .await?;
//! dispatcher.shutdown(Duration::from_millis(100)).await;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! **Receive in axum** (`axum`, feature `axum`): the `Verified<T>` extractor checks the
//! signature over the raw body, drops replays and hands over a typed event.
//!
//! The `hookwire` command (crate `hookwire-cli`) does all of this from a terminal: `keygen`,
//! `sign`, `verify`, `listen`, `send`, `deliveries` and `demo`.
//!
//! # Crate features
//!
//! - **`rsa`** (default): Zentitle2 `N-Signature` (RSA PKCS#1 v1.5 / SHA-256).
//! - **`ed25519`** (default): Standard Webhooks `v1a` keys (`whsk_`/`whpk_`).
//! - **`dispatch`**: the durable dispatcher with the embedded SQLite store (`hookwire::dispatch`).
//! - **`postgres`**: the PostgreSQL store for several dispatcher processes (implies `dispatch`);
//!   with `axum`, also the PostgreSQL replay guard shared by several receiver instances.
//! - **`axum`**: the receiver extractor and middleware (`hookwire::axum`).
//! - **`redis`**: the Redis replay guard shared by several receiver instances (implies `axum`).
//! - **`api`**: the management API a service mounts for its own customers (`hookwire::api`;
//!   implies `dispatch`).
//! - **`full`**: all of the above.
//!
//! [`Dispatcher`]: https://docs.rs/hookwire-dispatch

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

/// Typed payloads of every family (`hookwire-events`).
#[doc(inline)]
pub use hookwire_events as events;
/// Retry policies, outcome classification, endpoint health (`hookwire-retry`).
#[doc(inline)]
pub use hookwire_retry as retry;
/// Signing and verification for every scheme (`hookwire-signature`).
#[doc(inline)]
pub use hookwire_signature as signature;

/// The durable dispatcher (`hookwire-dispatch`).
#[cfg(feature = "dispatch")]
#[cfg_attr(docsrs, doc(cfg(feature = "dispatch")))]
#[doc(inline)]
pub use hookwire_dispatch as dispatch;

/// The axum receiver side (`hookwire-axum`).
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[doc(inline)]
pub use hookwire_axum as axum;

/// The management API for the service's customers (`hookwire-api`).
#[cfg(feature = "api")]
#[cfg_attr(docsrs, doc(cfg(feature = "api")))]
#[doc(inline)]
pub use hookwire_api as api;

#[cfg(test)]
mod tests {
    /// The re-exports are the crates themselves: a type from one path is the type from the
    /// other.
    #[test]
    fn reexports_are_the_same_crates() {
        let scheme: hookwire_signature::Scheme = crate::signature::Scheme::ZeroTier;
        assert_eq!(scheme.name(), "zerotier");
        let family: hookwire_events::Family = crate::events::Family::Zta;
        assert_eq!(family.name(), "zta");
        assert!(crate::retry::RetryPolicy::preset("none").is_some());
    }

    #[cfg(feature = "rsa")]
    #[test]
    fn rsa_feature_enables_zentitle() {
        let scheme = crate::signature::Scheme::Zentitle;
        let err = crate::signature::Verifier::new(&scheme, &[]).err();
        assert_eq!(err, Some(crate::signature::Error::NoSecrets));
    }
}
