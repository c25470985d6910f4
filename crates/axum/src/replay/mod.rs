//! Replay protection: remember the messages already accepted and answer repeats distinctly.
//!
//! A [`ReplayGuard`] is a set of keys with an expiry. The receiver asks it, after the signature
//! verified (so only authentic messages ever reach the store), whether the message's key is new.
//! The key is the verified message id when the scheme has one (Standard Webhooks
//! `webhook-id`); otherwise a SHA-256 digest of the signed timestamp (if any) and the exact
//! body bytes, so a byte-identical resend is recognised.
//!
//! # What protection remains, per scheme
//! - **Timestamped schemes** (ZeroTier, ZITADEL, Standard Webhooks, Stripe shape): an entry is
//!   kept until the message's timestamp leaves the tolerance window, after which the verifier
//!   itself refuses it as stale. Together they refuse every replay, as long as the store keeps
//!   its entries (a [`MemoryReplayGuard`] full of live entries evicts the oldest-inserted
//!   one, expired entries having been dropped first; a process restart empties it).
//! - **Schemes without a timestamp** (Zero Trust Analytics, Hub Message, Zentitle2, GitHub
//!   shape): nothing in the request expires, so a captured request verifies forever. The guard
//!   refuses a byte-identical resend only while its entry lives (the receiver's
//!   `max_replay_ttl`, 24 hours by default, and the store's capacity). Beyond that, dedupe on
//!   an id inside the payload (Zentitle `eventId`, Hub Message `message._id`) in your own
//!   storage, and keep the endpoint URL and secret private.
//!
//! # Several receiver instances
//! Behind a load balancer each instance must see the keys the others recorded, or a replay
//! sent to another instance is processed again. Share one store:
//!
//! | guard | feature | first writer wins by | expiry |
//! | --- | --- | --- | --- |
//! | [`MemoryReplayGuard`] | always | one mutex (this process only) | checked on insert, bounded capacity |
//! | `RedisReplayGuard` | `redis` | `SET key 1 NX PX ttl` | Redis expires the key |
//! | `PostgresReplayGuard` | `postgres` | `INSERT … ON CONFLICT` that reclaims only an expired row | checked in the statement; expired rows pruned in batches |
//!
//! Both shared guards use the store server's clock for expiry, so instances with skewed
//! clocks agree. A store error refuses the request with 503 so the sender retries; if the
//! error came after the store recorded the key (a connection lost between command and
//! answer), the retry is answered as a replay: the handler of such a message does not run.
//! Make handlers idempotent on the message id where that matters.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryReplayGuard;
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_PRUNE_INTERVAL, DEFAULT_REPLAY_SCHEMA, PostgresReplayGuard};
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_REDIS_PREFIX, RedisReplayGuard};

/// The error type of a [`ReplayGuard`] backed by an external store.
#[derive(Debug, thiserror::Error)]
#[error("replay store failed: {0}")]
pub struct ReplayStoreError(#[source] pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl ReplayStoreError {
    /// Wraps the store's own error.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self(err.into())
    }
}

/// A store of seen message keys; implement it to share replay state between processes
/// (Redis `SET key 1 NX PX ttl`, a PostgreSQL table with a unique key and an expiry column).
///
/// # Example
/// ```
/// use std::time::Duration;
/// use hookwire_axum::{ReplayGuard, ReplayStoreError};
///
/// /// Accepts everything: for a receiver whose handler is idempotent anyway.
/// #[derive(Debug)]
/// struct NoReplayCheck;
///
/// #[async_trait::async_trait]
/// impl ReplayGuard for NoReplayCheck {
///     async fn check_and_record(&self, _key: &str, _ttl: Duration) -> Result<bool, ReplayStoreError> {
///         Ok(true)
///     }
///     async fn forget(&self, _key: &str) -> Result<(), ReplayStoreError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait ReplayGuard: Send + Sync + fmt::Debug + 'static {
    /// Records `key` as seen for `ttl` and says whether it was new.
    ///
    /// Returns `Ok(true)` when the key was not present (or had expired): process the message.
    /// Returns `Ok(false)` when it is present and unexpired: the message is a replay. The check
    /// and the insert must be one atomic step, so two concurrent deliveries of one message
    /// cannot both see `true`.
    ///
    /// # Errors
    /// The store could not be reached; the request is refused with 503 so the sender retries.
    async fn check_and_record(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError>;

    /// Removes `key`, so the next delivery of the message is processed again. Called when the
    /// handler failed (the layer does it for any response that is not 2xx).
    ///
    /// # Errors
    /// The store could not be reached.
    async fn forget(&self, key: &str) -> Result<(), ReplayStoreError>;
}

#[async_trait]
impl<G: ReplayGuard + ?Sized> ReplayGuard for Arc<G> {
    async fn check_and_record(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
        (**self).check_and_record(key, ttl).await
    }

    async fn forget(&self, key: &str) -> Result<(), ReplayStoreError> {
        (**self).forget(key).await
    }
}

/// A recorded key and the guard that holds it, so a failed handler can release it.
#[derive(Clone)]
pub(crate) struct ReplayTicket {
    pub(crate) guard: Arc<dyn ReplayGuard>,
    pub(crate) key: String,
}

impl ReplayTicket {
    pub(crate) async fn release(&self) -> Result<(), ReplayStoreError> {
        self.guard.forget(&self.key).await
    }

    /// Releases `ticket` if there is one (no guard, or the layer recorded it: nothing to do).
    pub(crate) async fn release_if_any(ticket: Option<&Self>) -> Result<(), ReplayStoreError> {
        match ticket {
            Some(ticket) => ticket.release().await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for ReplayTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayTicket")
            .field("key", &self.key)
            .finish()
    }
}
