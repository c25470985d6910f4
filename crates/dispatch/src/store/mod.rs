//! Where the dispatcher keeps everything: the [`Store`] trait and its backends.
//!
//! - [`MemoryStore`]: in process, for tests and ephemeral use. **It loses everything on exit.**
//! - `SqliteStore` (feature `sqlite`, on by default): the embedded durable default, one file.
//! - `PostgresStore` (feature `postgres`): one queue shared by many processes on many machines.
//!
//! Every backend passes the same `store::conformance` suite (feature `conformance`), published so
//! that a backend of your own can run it too.
//!
//! # Claims and leases
//! Workers take due deliveries with [`Store::claim`]: the store marks each one in flight under
//! the worker's name until a lease deadline. The worker then records the attempt and the new
//! state with [`Store::complete`], which succeeds only while the worker still holds the lease.
//! A worker that dies simply stops renewing: once the lease runs out, the delivery is due
//! again and any worker may claim it. This is what makes delivery at-least-once across
//! crashes, and it fits PostgreSQL's `FOR UPDATE SKIP LOCKED` claim by several processes.

use std::any::Any;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{
    Attempt, ClaimedDelivery, CompletedAttempt, Completion, Delivery, DeliveryFilter, Endpoint,
    EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};

#[cfg(feature = "conformance")]
pub mod conformance;
mod memory;
pub use memory::MemoryStore;

#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, WriteStats};
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, PostgresStore};

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

/// What kind of database fault a [`StoreError::Backend`] is, when it is one the dispatcher
/// survives by waiting: see [`StoreError::fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreFault {
    /// Another connection holds the lock (SQLite `SQLITE_BUSY`/`SQLITE_LOCKED`, PostgreSQL
    /// lock timeouts, serialization failures and deadlocks).
    Busy,
    /// The database refuses writes (SQLite `SQLITE_READONLY` or `PRAGMA query_only`,
    /// PostgreSQL `read_only_sql_transaction`, a hot standby).
    ReadOnly,
    /// The database is out of space (SQLite `SQLITE_FULL`, for example at
    /// `PRAGMA max_page_count`; PostgreSQL `disk_full`).
    Full,
    /// The connection is gone or cannot be made (connection closed or refused, the server
    /// shutting down or starting, too many connections).
    Unavailable,
    /// No pooled connection became free in time (more concurrent operations than
    /// connections, each waiting too long).
    PoolTimeout,
}

impl std::fmt::Display for StoreFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Busy => "busy",
            Self::ReadOnly => "read-only",
            Self::Full => "full",
            Self::Unavailable => "unavailable",
            Self::PoolTimeout => "pool timeout",
        })
    }
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

    /// Which database fault this is, when the backend's error says so (busy, read-only,
    /// full, unavailable, pool timeout); `None` for other errors. Such faults pass: the
    /// dispatcher's workers back off and resume, and a caller of `send` may retry later.
    pub fn fault(&self) -> Option<StoreFault> {
        let Self::Backend {
            source: Some(source),
            ..
        } = self
        else {
            return None;
        };
        fault_of(source.as_ref())
    }

    /// A [`StoreError::Backend`] with a message and no underlying error.
    pub fn backend_message(message: impl Into<String>) -> Self {
        Self::Backend {
            message: message.into(),
            source: None,
        }
    }
}

/// The fault behind a backend's error (looking through its chain of sources).
fn fault_of(e: &(dyn std::error::Error + 'static)) -> Option<StoreFault> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(e) = cur {
        #[cfg(feature = "sqlite")]
        if let Some(e) = e.downcast_ref::<rusqlite::Error>() {
            return sqlite::fault_of(e);
        }
        #[cfg(feature = "postgres")]
        if let Some(f) = postgres::fault_of(e) {
            return Some(f);
        }
        if let Some(StoreError::Backend {
            source: Some(inner),
            ..
        }) = e.downcast_ref::<StoreError>()
        {
            return fault_of(inner.as_ref());
        }
        cur = e.source();
    }
    None
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// What [`Store::purge`] may remove: messages all of whose deliveries ended, by age.
///
/// A message is old enough when it was created before the cutoff and none of its attempts
/// was made at or after it (so a message redelivered recently is kept). Messages with a
/// pending or in-flight delivery are never touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeCutoffs {
    /// Messages whose every delivery was delivered (or that had none), older than this, are
    /// deleted with their deliveries and attempts.
    pub delivered_before: UnixMillis,
    /// Messages with a failed delivery (and all others ended), older than this, are deleted
    /// with their deliveries and attempts.
    pub failed_before: UnixMillis,
    /// Messages older than this whose deliveries all ended keep their rows and attempt log
    /// but lose their payload (stored empty). `None`: payloads live as long as their message.
    pub payloads_before: Option<UnixMillis>,
}

impl PurgeCutoffs {
    /// Cutoffs deleting delivered messages before `delivered_before` and failed ones before
    /// `failed_before`, keeping payloads.
    pub fn new(delivered_before: UnixMillis, failed_before: UnixMillis) -> Self {
        Self {
            delivered_before,
            failed_before,
            payloads_before: None,
        }
    }

    /// Also drops payloads of ended messages older than `before`.
    #[must_use]
    pub fn drop_payloads_before(mut self, before: UnixMillis) -> Self {
        self.payloads_before = Some(before);
        self
    }
}

/// What one [`Store::purge`] call removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Messages deleted.
    pub messages: u64,
    /// Their deliveries, deleted with them.
    pub deliveries: u64,
    /// Their attempts, deleted with them.
    pub attempts: u64,
    /// Messages whose payload was dropped.
    pub payloads: u64,
}

impl PurgeReport {
    /// Adds `other`'s counts to this one.
    pub fn add(&mut self, other: PurgeReport) {
        self.messages += other.messages;
        self.deliveries += other.deliveries;
        self.attempts += other.attempts;
        self.payloads += other.payloads;
    }

    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A boxed closure that changes an endpoint inside [`Store::modify_endpoint`].
pub type EndpointChange = Box<dyn FnOnce(&mut Endpoint) + Send>;

/// A closure applied to each endpoint of a batch by [`Store::rewrite_endpoints`]; it returns
/// whether it changed the record (only changed records are written).
pub type EndpointRewrite = Box<dyn FnMut(&mut Endpoint) -> bool + Send>;

/// What one [`Store::rewrite_endpoints`] batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewriteBatch {
    /// The last id of the batch: pass it as `after` for the next one. `None`: no endpoint
    /// after the given id, the pass is over.
    pub last_id: Option<String>,
    /// Endpoints read.
    pub seen: usize,
    /// Endpoints the closure changed, written back.
    pub rewritten: usize,
}

/// Storage for endpoints, messages, deliveries and attempts: what the dispatcher needs from a
/// backend, and nothing more.
///
/// Implement it to keep webhooks in a database of your own; run the published
/// `store::conformance` suite (feature `conformance`) in your tests to check that your backend
/// keeps this contract. The records are plain data ([`crate::model`]); errors are
/// [`StoreError`]s, whose variants are part of the contract ([`StoreError::NotFound`],
/// [`StoreError::AlreadyExists`], [`StoreError::LeaseLost`] mean exactly what the methods
/// below say; anything else is [`StoreError::Backend`] or [`StoreError::Corrupt`]).
///
/// Every method is atomic: either all of its effect is committed or none is, and a method
/// that fails writes nothing. What a method returned is durable (for a durable backend) when
/// it returns. Implementations must be safe to share between tasks (and, for shared
/// databases, between processes): the dispatcher calls them concurrently.
///
/// The trait is object safe (the dispatcher holds an `Arc<dyn Store>`), and `Any` is a
/// supertrait, so an `Arc<dyn Store>` upcasts to `Arc<dyn Any + Send + Sync>` to reach the
/// concrete backend.
///
/// # Orders, states and leases
/// - A delivery is **open** while `Pending` or `InFlight`, and finished once `Delivered` or
///   `Failed`.
/// - **Oldest due first** means ordered by `(next_attempt_at, seq)`, where `seq` is a number
///   the store gives each delivery, increasing in insertion order.
/// - A lease is **held** by `worker` while the delivery is `InFlight` with
///   `lease_owner == worker`, even past `lease_expires_at`, until someone claims it again. It
///   is **expired** (the delivery is claimable again) once `lease_expires_at <= now`.
/// - [`Store::complete`], [`Store::release`] and [`Store::renew_lease`] fail with
///   [`StoreError::NotFound`] for an unknown delivery and [`StoreError::LeaseLost`] when the
///   lease is not held, and then write nothing.
#[async_trait]
pub trait Store: Any + Send + Sync + std::fmt::Debug {
    // ---- endpoints -------------------------------------------------------------------------

    /// Inserts a new endpoint unless its tenant already has `max` endpoints, counting and
    /// inserting atomically: concurrent creates (in any number of processes, for a shared
    /// database) never take a tenant past `max`. Returns `true` when stored, `false` (storing
    /// nothing) at the limit. Other tenants' endpoints do not count.
    /// [`StoreError::AlreadyExists`] (`kind: "endpoint"`) if the id is taken; the stored
    /// endpoint is then unchanged.
    ///
    /// Every field round-trips: [`get_endpoint`](Self::get_endpoint) returns an endpoint equal
    /// to the one inserted, secrets included.
    async fn insert_endpoint_within(&self, endpoint: &Endpoint, max: usize) -> StoreResult<bool>;

    /// Reads one endpoint; `Ok(None)` if there is none with this id.
    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<Endpoint>>;

    /// Every endpoint of a tenant, oldest first: ordered by `created_at`, ties in insertion
    /// order. Empty for an unknown tenant.
    async fn list_endpoints(&self, tenant: &str) -> StoreResult<Vec<Endpoint>>;

    /// Applies `change` to the stored endpoint atomically (read, change, write, with no
    /// concurrent writer in between: concurrent changes never lose one another) and returns
    /// the stored result. A change cannot move the record: the id stays `id`.
    /// [`StoreError::NotFound`] (`kind: "endpoint"`) if absent.
    async fn modify_endpoint(&self, id: &str, change: EndpointChange) -> StoreResult<Endpoint>;

    /// A maintenance pass over every endpoint of every tenant, in id order: reads up to
    /// `limit` endpoints with ids after `after` (`None`: from the first), applies `rewrite`
    /// to each and writes back the ones it changed, all in **one** transaction (the records
    /// stay locked against concurrent writers until it commits). The dispatcher uses it to
    /// encrypt, migrate and re-encrypt records in batches.
    /// [`StoreError::Backend`] if the batch could not be committed; then nothing of it is
    /// written. Every field of a record the closure leaves unchanged stays as it was.
    async fn rewrite_endpoints(
        &self,
        after: Option<&str>,
        limit: usize,
        rewrite: EndpointRewrite,
    ) -> StoreResult<RewriteBatch>;

    /// Deletes an endpoint and its open (pending and in-flight) deliveries; delivered and
    /// failed deliveries and every attempt stay. Returns whether the endpoint existed.
    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool>;

    // ---- messages and deliveries -------------------------------------------------------

    /// Stores a message and its deliveries in one transaction; each delivery starts
    /// `Pending` with no attempts, due at its `next_attempt_at` (also its `due_since`), with
    /// the message's `created_at`. Returns [`EnqueueResult::Created`] with the number of deliveries.
    ///
    /// With an idempotency key that this tenant used before (another tenant's keys do not
    /// count), nothing is stored and [`EnqueueResult::Duplicate`] names the earlier message;
    /// of concurrent enqueues with one key exactly one stores. A message id or a delivery id
    /// that is taken fails with [`StoreError::AlreadyExists`] (`kind: "message"` or
    /// `"delivery"`), storing nothing.
    async fn enqueue(
        &self,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult>;

    /// Reads one message; `Ok(None)` if there is none with this id.
    async fn get_message(&self, id: &str) -> StoreResult<Option<Message>>;

    /// Reads one delivery; `Ok(None)` if there is none with this id.
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>>;

    /// Deliveries matching every set field of `filter` (endpoint, message, state), newest
    /// first (`(created_at, seq)` descending), at most `filter.limit` (100 when `None`).
    async fn list_deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>>;

    /// Claims up to `limit` due deliveries for `worker` until `now + lease`, oldest due
    /// first: each becomes `InFlight` with `lease_owner = worker` and
    /// `lease_expires_at = now + lease`, and comes back with its message and endpoint.
    ///
    /// Due means: `Pending` with `next_attempt_at <= now`, or `InFlight` with an expired
    /// lease. Deliveries of disabled or deleted endpoints are not claimed. For a FIFO
    /// endpoint only its oldest open delivery (by `(created_at, seq)`) can be claimed, and
    /// only when no other delivery of that endpoint is in flight under a live lease; so a
    /// claim returns at most one delivery per FIFO endpoint. Concurrent claimers (in any
    /// number of processes, for a shared database) never get the same delivery. `limit == 0`
    /// claims nothing.
    async fn claim(
        &self,
        worker: &str,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Sets `worker`'s lease on a delivery to expire at `until`. [`StoreError::LeaseLost`] if
    /// the lease is not held, [`StoreError::NotFound`] for an unknown delivery.
    async fn renew_lease(
        &self,
        delivery_id: &str,
        worker: &str,
        until: UnixMillis,
    ) -> StoreResult<()>;

    /// Extends `worker`'s leases on `delivery_ids` to `until` and returns the ids among them
    /// whose lease `worker` no longer holds (those are left as they are; the rest are
    /// renewed). The engine calls this for everything a claim loop holds, every third of the
    /// lease.
    ///
    /// The default renews one by one with [`renew_lease`](Self::renew_lease); backends
    /// override it with one statement.
    async fn renew_leases(
        &self,
        worker: &str,
        delivery_ids: &[String],
        until: UnixMillis,
    ) -> StoreResult<Vec<String>> {
        let mut lost = Vec::new();
        for id in delivery_ids {
            match self.renew_lease(id, worker, until).await {
                Ok(()) => {}
                Err(StoreError::LeaseLost(_) | StoreError::NotFound { .. }) => {
                    lost.push(id.clone())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(lost)
    }

    /// Records an attempt and applies the worker's decision in one transaction, only while
    /// `worker` holds the lease ([`StoreError::LeaseLost`] otherwise, [`StoreError::NotFound`]
    /// for an unknown delivery; nothing is written then).
    ///
    /// Appends `attempt` to the log; increments the delivery's attempt count; sets
    /// `first_attempt_at` on the first attempt; clears the lease; sets `last_error` to the
    /// attempt's error, else `HTTP <status>` for a failed attempt with a status, else `None`;
    /// moves the delivery to `Delivered`, `Failed`, or `Pending` due at the retry time; and
    /// sets the endpoint's `last_triggered_at` to the latest attempt time seen (a max, so an
    /// older attempt recorded late does not move it back).
    async fn complete(
        &self,
        delivery_id: &str,
        worker: &str,
        attempt: &Attempt,
        completion: Completion,
    ) -> StoreResult<()>;

    /// Records several attempts, each exactly as [`complete`](Self::complete) would, and
    /// returns one result per item, in order. The engine groups the completions that arrive
    /// while a write is under way into one call.
    ///
    /// - An item whose lease `worker` does not hold gets [`StoreError::LeaseLost`] (or
    ///   [`StoreError::NotFound`]) and writes nothing; the other items are still recorded.
    ///   An item naming a delivery that an earlier item of the batch named is refused with
    ///   `LeaseLost` whatever became of the earlier one (the engine never sends such a batch).
    /// - Backends override it to write the batch in **one** transaction: all of it or nothing.
    ///   When that transaction fails, the call returns `Err` and none of the batch is written.
    /// - Only an item reported `Ok(())` is recorded. A completion not yet committed when the
    ///   process dies is lost with the process; its delivery is still in flight under the dead
    ///   worker's lease and is sent again once that expires: a duplicate, never a loss.
    ///
    /// The default records item by item with [`complete`](Self::complete) (each item atomic on
    /// its own, not the batch) and reports each item's own error, so a backend written before
    /// this method existed keeps working unchanged.
    async fn complete_batch(
        &self,
        batch: Vec<CompletedAttempt>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        let mut results = Vec::with_capacity(batch.len());
        let mut seen = std::collections::HashSet::with_capacity(batch.len());
        for c in batch {
            let id = c.attempt.delivery_id.as_str();
            results.push(if seen.insert(id.to_owned()) {
                self.complete(id, &c.worker, &c.attempt, c.completion).await
            } else {
                Err(StoreError::LeaseLost(id.to_owned()))
            });
        }
        Ok(results)
    }

    /// Gives a claimed delivery back without an attempt (shutdown): `Pending`, due at `at`,
    /// lease cleared, attempt count and `due_since` unchanged. Errors as [`renew_lease`](Self::renew_lease).
    async fn release(&self, delivery_id: &str, worker: &str, at: UnixMillis) -> StoreResult<()>;

    /// Marks every `Pending` delivery of an endpoint `Failed` with `last_error = reason` (used
    /// when an endpoint is disabled); in-flight ones are left to their attempt. Returns how
    /// many changed (0 for an unknown endpoint).
    async fn fail_pending_for_endpoint(&self, endpoint_id: &str, reason: &str) -> StoreResult<u64>;

    /// Manual redelivery: a delivered, failed or pending delivery becomes `Pending`, due at
    /// `now` (`next_attempt_at` and `due_since`), keeping its attempt count and history; an in-flight one is left unchanged (its
    /// running attempt decides). [`StoreError::NotFound`] for an unknown delivery.
    async fn redeliver(&self, delivery_id: &str, now: UnixMillis) -> StoreResult<()>;

    /// Re-queues every `Failed` delivery of an endpoint created at or after `since`:
    /// `Pending`, due at `now` (`next_attempt_at` and `due_since`). Returns how many (0 for an unknown endpoint).
    async fn recover(
        &self,
        endpoint_id: &str,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<u64>;

    // ---- attempt log ---------------------------------------------------------------------

    /// Every attempt for one message, in order (`at`, ties in insertion order).
    async fn attempts_for_message(&self, message_id: &str) -> StoreResult<Vec<Attempt>>;

    /// Attempts for one endpoint, newest first (`at` descending, ties newest inserted first),
    /// at most `limit`.
    async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Attempt>>;

    /// Unsuccessful attempts with `from <= at < to`, oldest first.
    async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> StoreResult<Vec<Attempt>>;

    // ---- housekeeping --------------------------------------------------------------------

    /// Retention, one bounded step in one short transaction: deletes up to `limit` messages
    /// past `cutoffs` (delivered ones first) with their deliveries and attempts, and drops the
    /// payload of up to `limit` more. Call it again while a count reaches `limit`; the
    /// dispatcher does so in the background (see [`Retention`](crate::Retention)).
    ///
    /// Never touches a message with a pending or in-flight delivery, so claims are not blocked
    /// and nothing waiting to be sent loses its payload. A deleted message's idempotency key
    /// is forgotten with it.
    async fn purge(&self, cutoffs: &PurgeCutoffs, limit: usize) -> StoreResult<PurgeReport>;

    /// Gives space freed by [`purge`](Self::purge) back to the file system, if the backend
    /// keeps it otherwise (SQLite: `PRAGMA incremental_vacuum`). At most `pages` pages per
    /// call, so it never holds the write lock for long; returns whether more is left. The
    /// default does nothing (PostgreSQL's autovacuum reuses the space; memory frees it).
    async fn reclaim_space(&self, pages: u32) -> StoreResult<bool> {
        let _ = pages;
        Ok(false)
    }

    /// Open deliveries: `Pending` (due or not) plus `InFlight` (live or expired lease).
    async fn queue_depth(&self) -> StoreResult<u64>;

    /// The earliest `next_attempt_at` among `Pending` deliveries (in-flight ones do not
    /// count), so an idle worker knows how long it may sleep; `None` when none is pending.
    async fn next_due(&self) -> StoreResult<Option<UnixMillis>>;

    /// Waits until new work may have arrived or `timeout` passes, whichever is first; it must
    /// return within `timeout`. Waking early is an optimisation, never required for
    /// correctness (workers poll).
    ///
    /// The default sleeps for `timeout`; the dispatcher also wakes its own workers on `send`.
    /// A shared backend overrides it so workers of *other* processes wake too (PostgreSQL
    /// uses `LISTEN/NOTIFY`).
    async fn wait_for_work(&self, timeout: Duration) {
        tokio::time::sleep(timeout).await;
    }
}

#[cfg(test)]
mod tests {
    use std::any::Any;
    use std::sync::Arc;

    use super::{MemoryStore, Store};

    /// `Store` stays object safe: the dispatcher holds an `Arc<dyn Store>` (this does not
    /// compile otherwise).
    fn _object_safe(_: &dyn Store, _: Box<dyn Store>, _: Arc<dyn Store>) {}

    #[test]
    fn upcasts_to_the_concrete_backend() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let by_ref: &dyn Any = &*store;
        assert!(by_ref.is::<MemoryStore>());
        let any: Arc<dyn Any + Send + Sync> = store;
        assert!(any.downcast::<MemoryStore>().is_ok());
    }
}
