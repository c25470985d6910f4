//! Where the dispatcher keeps everything: the [`Store`] trait and its backends.
//!
//! - [`MemoryStore`]: in process, for tests and ephemeral use. **It loses everything on exit.**
//! - `SqliteStore` (feature `sqlite`, on by default): the embedded durable default, one file.
//! - `PostgresStore` (feature `postgres`): one queue shared by many processes on many machines.
//!
//! Every backend passes the same conformance suite (`tests/store_conformance/`).
//!
//! # Claims and leases
//! Workers take due deliveries with [`Store::claim`]: the store marks each one in flight under
//! the worker's name until a lease deadline. The worker then records the attempt and the new
//! state with [`Store::complete`], which succeeds only while the worker still holds the lease.
//! A worker that dies simply stops renewing: once the lease runs out, the delivery is due
//! again and any worker may claim it. This is what makes delivery at-least-once across
//! crashes, and it fits PostgreSQL's `FOR UPDATE SKIP LOCKED` claim by several processes.

use std::time::Duration;

use async_trait::async_trait;

use crate::model::{
    Attempt, ClaimedDelivery, Completion, Delivery, DeliveryFilter, Endpoint, EnqueueResult,
    Message, NewDelivery, NewMessage, UnixMillis,
};

mod memory;
pub use memory::MemoryStore;

#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, WriteStats};
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, PostgresStore, PurgeReport};

/// Errors from a store backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No record with this id.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up (`endpoint`, `delivery`, `message`).
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A record with this id exists already.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// What was inserted.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The worker no longer holds the lease on this delivery (it expired and was claimed
    /// again, or the delivery was changed by an operator); its result was not recorded.
    #[error("lease on delivery {0} is no longer held by this worker")]
    LeaseLost(String),
    /// A stored record could not be decoded (corrupt row or incompatible schema).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The database said no (I/O error, constraint, connection lost, …).
    #[error("database error: {message}")]
    Backend {
        /// What failed, for people (it includes the source's message).
        message: String,
        /// The backend's own error (a `rusqlite::Error`, a `tokio_postgres::Error`, …), kept
        /// for code that inspects it (for example a PostgreSQL SQLSTATE).
        #[source]
        source: Option<BoxError>,
    },
}

/// A boxed error of any backend, as kept by [`StoreError::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl StoreError {
    /// A [`StoreError::Backend`] wrapping the backend's error: its message and its source.
    pub fn backend(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Self::Backend {
            message: source.to_string(),
            source: Some(source),
        }
    }

    /// A [`StoreError::Backend`] saying what failed (`"{context}: {source}"`), keeping the
    /// backend's error as its source.
    pub fn backend_context(context: impl std::fmt::Display, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Self::Backend {
            message: format!("{context}: {source}"),
            source: Some(source),
        }
    }

    /// A [`StoreError::Backend`] with a message and no underlying error.
    pub fn backend_message(message: impl Into<String>) -> Self {
        Self::Backend {
            message: message.into(),
            source: None,
        }
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A boxed closure that changes an endpoint inside [`Store::modify_endpoint`].
pub type EndpointChange = Box<dyn FnOnce(&mut Endpoint) + Send>;

/// Storage for endpoints, messages, deliveries and attempts.
///
/// Every method is atomic: either all of its effect is committed or none is. Implementations
/// must be safe to share between tasks (and, for shared databases, between processes).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The concrete store, so the dispatcher can reach backend-specific operations (the
    /// transactional outbox). Implementations return `self`.
    fn as_any(&self) -> &dyn std::any::Any;

    // ---- endpoints -------------------------------------------------------------------------

    /// Inserts a new endpoint. [`StoreError::AlreadyExists`] if the id is taken.
    async fn insert_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()>;

    /// Inserts a new endpoint unless its tenant already has `max` endpoints, counting and
    /// inserting atomically: concurrent creates (in any number of processes, for a shared
    /// database) never take a tenant past `max`. Returns `false`, storing nothing, at the limit.
    /// [`StoreError::AlreadyExists`] if the id is taken.
    async fn insert_endpoint_within(&self, endpoint: &Endpoint, max: usize) -> StoreResult<bool>;

    /// Reads one endpoint.
    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<Endpoint>>;

    /// Every endpoint of a tenant, oldest first.
    async fn list_endpoints(&self, tenant: &str) -> StoreResult<Vec<Endpoint>>;

    /// Applies `change` to the stored endpoint atomically (read, change, write, with no
    /// concurrent writer in between) and returns the result. [`StoreError::NotFound`] if absent.
    async fn modify_endpoint(&self, id: &str, change: EndpointChange) -> StoreResult<Endpoint>;

    /// Deletes an endpoint and its pending deliveries (delivered/failed history stays).
    /// Returns whether it existed.
    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool>;

    // ---- messages and deliveries -------------------------------------------------------

    /// Stores a message and its deliveries in one transaction; durable when it returns.
    ///
    /// With an idempotency key that this tenant used before, nothing is stored and
    /// [`EnqueueResult::Duplicate`] names the earlier message.
    async fn enqueue(
        &self,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult>;

    /// Reads one message.
    async fn get_message(&self, id: &str) -> StoreResult<Option<Message>>;

    /// Reads one delivery.
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;

    /// Deliveries matching a filter, newest first.
    async fn list_deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>>;

    /// Claims up to `limit` due deliveries for `worker` until `now + lease`.
    ///
    /// Due means: state pending with `next_attempt_at <= now`, or in flight with an expired
    /// lease. Deliveries of disabled endpoints are not claimed. For a FIFO endpoint only its
    /// oldest undelivered, unfailed delivery can be claimed, and only when no other delivery of
    /// that endpoint is in flight under a live lease. Oldest due first.
    async fn claim(
        &self,
        worker: &str,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Extends `worker`'s lease on a delivery to `until`. [`StoreError::LeaseLost`] if not held.
    async fn renew_lease(
        &self,
        delivery_id: &str,
        worker: &str,
        until: UnixMillis,
    ) -> StoreResult<()>;

    /// Records an attempt and applies the worker's decision in one transaction, only while
    /// `worker` holds the lease ([`StoreError::LeaseLost`] otherwise, and nothing is written).
    /// Increments the delivery's attempt count, sets `first_attempt_at` on the first attempt
    /// and the endpoint's `last_triggered_at`.
    async fn complete(
        &self,
        delivery_id: &str,
        worker: &str,
        attempt: &Attempt,
        completion: Completion,
    ) -> StoreResult<()>;

    /// Gives a claimed delivery back without an attempt (shutdown): pending, due at `at`.
    async fn release(&self, delivery_id: &str, worker: &str, at: UnixMillis) -> StoreResult<()>;

    /// Marks every pending delivery of an endpoint failed with `reason` (used when an endpoint
    /// is disabled). Returns how many changed.
    async fn fail_pending_for_endpoint(&self, endpoint_id: &str, reason: &str) -> StoreResult<u64>;

    /// Manual redelivery: puts one delivery (delivered or failed) back to pending, due at `now`,
    /// keeping its attempt history.
    async fn redeliver(&self, delivery_id: &str, now: UnixMillis) -> StoreResult<()>;

    /// Re-queues every failed delivery of an endpoint created at or after `since`, due at
    /// `now`. Returns how many.
    async fn recover(
        &self,
        endpoint_id: &str,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<u64>;

    // ---- attempt log ---------------------------------------------------------------------

    /// Attempts for one message, in order.
    async fn attempts_for_message(&self, message_id: &str) -> StoreResult<Vec<Attempt>>;

    /// Attempts for one endpoint, newest first, at most `limit`.
    async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Attempt>>;

    /// Failed attempts in `[from, to)`, oldest first.
    async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> StoreResult<Vec<Attempt>>;

    // ---- housekeeping --------------------------------------------------------------------

    /// Deliveries not yet delivered or failed (pending plus in flight).
    async fn queue_depth(&self) -> StoreResult<u64>;

    /// The earliest `next_attempt_at` among pending deliveries, so an idle worker knows how
    /// long it may sleep.
    async fn next_due(&self) -> StoreResult<Option<UnixMillis>>;

    /// Waits until new work may have arrived or `timeout` passes, whichever is first.
    ///
    /// The default sleeps for `timeout`; the dispatcher also wakes its own workers on `send`.
    /// A shared backend overrides it so workers of *other* processes wake too (PostgreSQL
    /// uses `LISTEN/NOTIFY`).
    async fn wait_for_work(&self, timeout: Duration) {
        tokio::time::sleep(timeout).await;
    }
}
