//! [`SqliteStore`]: the embedded durable store, one SQLite file (feature `sqlite`, default).
//!
//! # Layout
//! - One **writer thread** owns the only writing connection. Every write is a job sent to it;
//!   it drains whatever jobs are queued (up to 512) and runs them in **one**
//!   transaction, each inside its own savepoint (a failing job rolls back only itself), then
//!   commits once and answers every caller. With `synchronous=FULL` that commit is the fsync,
//!   so N concurrent `send` calls cost one fsync, not N (group commit).
//! - Reads run on a small pool of read-only connections through `spawn_blocking`; in WAL mode
//!   they never wait for the writer.
//! - The schema is versioned in code (`migrations`, tracked in `PRAGMA user_version`) and
//!   migrated in order when the file is opened.
//!
//! # Modules
//! `migrations` (schema versions and connection settings), `rows` (row ↔ record and error
//! mapping), `queries` (the SQL shared by several operations), `writer` (the writer thread and
//! group commit), `reads` (the read pool) and `retention` (purge steps, incremental vacuum);
//! this file holds the store and its [`Store`] impl.
//!
//! # Tables
//! `endpoints` (the record as JSON plus the columns claims filter on), `messages` (payload
//! as a BLOB, unique `(tenant, idempotency_key)`), `deliveries` (`seq` is the rowid, so insert
//! order is monotonic; partial indexes for due pending rows, in-flight leases and each
//! endpoint's open deliveries) and `attempts` (indexed by message, endpoint and failures by time).

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, Transaction, params};
use tokio::sync::{Notify, oneshot};

use super::{
    EndpointChange, EndpointRewrite, PurgeCutoffs, PurgeReport, RewriteBatch, Store, StoreError,
    StoreResult,
};
use crate::model::{
    Attempt, ClaimedDelivery, CompletedAttempt, Completion, Delivery, DeliveryFilter,
    DeliveryState, Endpoint, EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};

mod migrations;
mod queries;
mod reads;
mod retention;
mod rows;
mod writer;

use migrations::{MIGRATIONS, configure, migrate_on};
use queries::{
    attempts_query, claim_on, complete_on, enqueue_on, get_delivery_on, get_endpoint_on,
    get_message_on, held_on, in_savepoint, list_deliveries_on, list_endpoints_on,
    rewrite_endpoints_on, write_endpoint_on,
};
use reads::ReadPool;
pub(crate) use rows::fault_of;
use rows::{ATTEMPT_COLS, db_err, to_i64};
pub use writer::WriteStats;
use writer::{BoxedJob, Job, WriteCounters, closed, writer_loop};

/// How long a connection waits for a lock held by another connection (another process on
/// the same file, or an outbox transaction) before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

// ---- the store --------------------------------------------------------------------------------

/// The embedded durable [`Store`]: one SQLite file in WAL mode with `synchronous=FULL`.
///
/// Everything is on disk before a method returns; a process killed at any moment loses
/// nothing that was acknowledged, and in-flight deliveries come back when their lease runs out.
/// Concurrent writes are group-committed (one transaction and one fsync for everything queued
/// meanwhile), so many concurrent `send` calls do not each pay a full fsync.
///
/// ```
/// use hookwire_dispatch::store::{SqliteStore, Store};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("hookwire-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("queue.db")).unwrap();
/// assert_eq!(store.queue_depth().await.unwrap(), 0);
/// # drop(store);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
pub struct SqliteStore {
    jobs: Option<mpsc::Sender<BoxedJob>>,
    writer: Option<JoinHandle<()>>,
    /// `None` for an in-memory database: reads then go through the writer.
    readers: Option<Arc<ReadPool>>,
    /// Wakes this process's idle workers when work is queued.
    work: Arc<Notify>,
    /// Writes and transactions of the writer thread.
    counters: Arc<WriteCounters>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field(
                "path",
                &self
                    .readers
                    .as_ref()
                    .map(|r| r.path().display().to_string()),
            )
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL, migrates the
    /// schema to the current version and starts the writer thread.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the file cannot be opened or locked,
    /// [`StoreError::Corrupt`] if its schema is newer than this library.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let mut conn = Connection::open(path.as_ref()).map_err(db_err)?;
        // The absolute path: readers open it later, and the outbox compares it, whatever the
        // working directory is by then.
        let path = std::fs::canonicalize(path.as_ref()).unwrap_or_else(|_| path.as_ref().into());
        configure(&conn, true)?;
        retention::ensure_incremental_vacuum(&conn)?;
        migrate_on(&mut conn)?;
        Self::start(conn, Some(Arc::new(ReadPool::new(path))))
    }

    /// A private in-memory database (gone when the store is dropped); same SQL and behaviour
    /// as a file, without durability. For tests.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if SQLite cannot allocate it.
    pub fn open_in_memory() -> StoreResult<Self> {
        let mut conn = Connection::open_in_memory().map_err(db_err)?;
        configure(&conn, false)?;
        migrate_on(&mut conn)?;
        Self::start(conn, None)
    }

    fn start(conn: Connection, readers: Option<Arc<ReadPool>>) -> StoreResult<Self> {
        let (tx, rx) = mpsc::channel();
        let counters = Arc::new(WriteCounters::default());
        let for_writer = Arc::clone(&counters);
        let writer = std::thread::Builder::new()
            .name("hookwire-sqlite-writer".to_owned())
            .spawn(move || writer_loop(conn, rx, for_writer))
            .map_err(|e| StoreError::backend_context("cannot start the writer thread", e))?;
        Ok(Self {
            jobs: Some(tx),
            writer: Some(writer),
            readers,
            work: Arc::new(Notify::new()),
            counters,
        })
    }

    /// How many write operations the store ran and in how many transactions (group commit:
    /// concurrent writes share one transaction and one fsync).
    pub fn write_stats(&self) -> WriteStats {
        self.counters.snapshot()
    }

    /// Creates or upgrades the hookwire tables on a connection of your own (for example before
    /// using [`enqueue_in_transaction`](Self::enqueue_in_transaction) on a file the store has
    /// not opened yet). [`open`](Self::open) does this itself.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
        migrate_on(conn)
    }

    /// Runs `f` on the store's one writing connection, between write batches and outside any
    /// transaction (what `f` writes commits on its own). For that connection's settings: for
    /// example `PRAGMA query_only = ON` for a window in which writes are refused (they fail
    /// with [`StoreFault::ReadOnly`](super::StoreFault::ReadOnly) and the workers back off
    /// until it is turned off), or `PRAGMA max_page_count` to cap the file's size.
    ///
    /// # Errors
    /// [`StoreError::Backend`] with `f`'s error, or when the writer thread has stopped.
    pub async fn with_writer<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.submit(
            move |conn: &Connection| f(conn).map_err(db_err),
            Job::direct,
        )
        .await
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.readers.as_ref().map(|r| r.path())
    }

    /// The schema version this library writes (`PRAGMA user_version` after migrating).
    pub fn schema_version() -> usize {
        MIGRATIONS.len()
    }

    /// Transactional outbox: stores a message and its deliveries inside **your** transaction
    /// on the same database file, with exactly the SQL of [`Store::enqueue`] (same
    /// idempotency rule, same `AlreadyExists` errors). The webhook is queued if and only if
    /// your transaction commits.
    ///
    /// The insert runs in a savepoint, so on error nothing of it stays in your transaction (and
    /// you may continue or roll back). The schema must exist (open a [`SqliteStore`] on the
    /// file once, or call [`migrate`](Self::migrate)). Workers of a store on that file see the
    /// rows after your commit, at their next poll (`wait_for_work` is not woken by another
    /// connection's commit).
    ///
    /// ```
    /// use hookwire_dispatch::model::{EnqueueResult, NewMessage};
    /// use hookwire_dispatch::store::SqliteStore;
    ///
    /// let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    /// SqliteStore::migrate(&mut conn).unwrap();
    /// let tx = conn.transaction().unwrap();
    /// // … your own writes in `tx` …
    /// let msg = NewMessage {
    ///     id: "msg_1".into(),
    ///     tenant: "acme".into(),
    ///     event_type: "order.paid".into(),
    ///     payload: b"{}".to_vec(),
    ///     idempotency_key: None,
    ///     created_at: 0,
    /// };
    /// let r = SqliteStore::enqueue_in_transaction(&tx, &msg, &[]).unwrap();
    /// assert!(matches!(r, EnqueueResult::Created { .. }));
    /// tx.commit().unwrap();
    /// ```
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] for a re-used message or delivery id,
    /// [`StoreError::Backend`] for database errors.
    pub fn enqueue_in_transaction(
        tx: &Transaction<'_>,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult> {
        in_savepoint(tx, || enqueue_on(tx, message, deliveries))
    }

    /// The outbox: reads the tenant's endpoints through the caller's transaction, lets `rows`
    /// fan out, and stores the result, all in a savepoint (nothing of it stays on error).
    pub(crate) fn enqueue_fanned_out(
        tx: &Transaction<'_>,
        tenant: &str,
        rows: impl FnOnce(&[Endpoint]) -> (NewMessage, Vec<NewDelivery>),
    ) -> StoreResult<EnqueueResult> {
        // A transaction the caller already ended (`COMMIT` run by hand): a savepoint would
        // start and commit a transaction of its own, outside the caller's.
        if tx.is_autocommit() {
            return Err(StoreError::backend_message(
                "the outbox transaction is no longer open",
            ));
        }
        let result = in_savepoint(tx, || {
            let endpoints = list_endpoints_on(tx, tenant)?;
            let (message, deliveries) = rows(&endpoints);
            enqueue_on(tx, &message, &deliveries)
        });
        if result.is_err() && tx.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error, interrupt): the
            // caller's writes are gone too, and it must know.
            return Err(StoreError::backend_message(
                "the database rolled back the whole transaction; the caller's writes are lost",
            ));
        }
        result
    }

    /// Runs `f` on the writer thread inside the next group-committed transaction.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.submit(f, Job::new).await
    }

    /// Hands the job `make` builds around `f` to the writer thread and waits for its answer.
    async fn submit<T, F>(
        &self,
        f: F,
        make: fn(F, oneshot::Sender<StoreResult<T>>) -> Job<T, F>,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: BoxedJob = Box::new(make(f, reply));
        self.jobs
            .as_ref()
            .ok_or_else(closed)?
            .send(job)
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Runs `f` on a read connection (on the blocking pool), or on the writer when in memory.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let Some(pool) = self.readers.clone() else {
            return self.write(f).await;
        };
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let r = f(&conn);
            pool.give_back(conn);
            r
        })
        .await
        .map_err(|e| StoreError::backend_context("read task failed", e))?
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer loop once it has committed what is queued;
        // joining makes "dropped" mean "file closed", so the file can be reopened at once.
        self.jobs.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_endpoint_within(&self, endpoint: &Endpoint, max: usize) -> StoreResult<bool> {
        let e = endpoint.clone();
        // One write job: the count and the insert run under the single writer, and other
        // processes on the file wait for its write lock.
        self.write(move |c| {
            let has: i64 = c
                .prepare_cached("SELECT count(*) FROM endpoints WHERE tenant = ?1")
                .and_then(|mut s| s.query_row([&e.tenant], |r| r.get(0)))
                .map_err(db_err)?;
            if usize::try_from(has).unwrap_or(usize::MAX) >= max {
                return Ok(false);
            }
            write_endpoint_on(c, &e, true).map(|()| true)
        })
        .await
    }

    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<Endpoint>> {
        let id = id.to_owned();
        self.read(move |c| get_endpoint_on(c, &id)).await
    }

    async fn list_endpoints(&self, tenant: &str) -> StoreResult<Vec<Endpoint>> {
        let tenant = tenant.to_owned();
        self.read(move |c| list_endpoints_on(c, &tenant)).await
    }

    async fn modify_endpoint(&self, id: &str, change: EndpointChange) -> StoreResult<Endpoint> {
        let id = id.to_owned();
        self.write(move |c| {
            let mut e = get_endpoint_on(c, &id)?.ok_or_else(|| StoreError::NotFound {
                kind: "endpoint",
                id: id.clone(),
            })?;
            change(&mut e);
            // The id is the key; a change cannot move the record.
            e.id = id;
            write_endpoint_on(c, &e, false)?;
            Ok(e)
        })
        .await
    }

    async fn rewrite_endpoints(
        &self,
        after: Option<&str>,
        limit: usize,
        mut rewrite: EndpointRewrite,
    ) -> StoreResult<RewriteBatch> {
        let after = after.map(str::to_owned);
        // One write job: its savepoint commits the whole batch or none of it.
        self.write(move |c| rewrite_endpoints_on(c, after.as_deref(), limit, &mut rewrite))
            .await
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            let n = c
                .execute("DELETE FROM endpoints WHERE id = ?1", [&id])
                .map_err(db_err)?;
            c.execute(
                "DELETE FROM deliveries WHERE endpoint_id = ?1 \
                 AND state IN ('pending', 'in_flight')",
                [&id],
            )
            .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn enqueue(
        &self,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult> {
        let m = message.clone();
        let ds = deliveries.to_vec();
        let r = self.write(move |c| enqueue_on(c, &m, &ds)).await;
        if matches!(
            r,
            Ok(EnqueueResult::Created {
                deliveries: 1..,
                ..
            })
        ) {
            self.work.notify_waiters();
        }
        r
    }

    async fn get_message(&self, id: &str) -> StoreResult<Option<Message>> {
        let id = id.to_owned();
        self.read(move |c| get_message_on(c, &id)).await
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let id = id.to_owned();
        self.read(move |c| get_delivery_on(c, &id)).await
    }

    async fn list_deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        let filter = filter.clone();
        self.read(move |c| list_deliveries_on(c, &filter)).await
    }

    async fn claim(
        &self,
        worker: &str,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let worker = worker.to_owned();
        self.write(move |c| claim_on(c, &worker, now, lease, limit))
            .await
    }

    async fn renew_lease(
        &self,
        delivery_id: &str,
        worker: &str,
        until: UnixMillis,
    ) -> StoreResult<()> {
        let (id, worker) = (delivery_id.to_owned(), worker.to_owned());
        self.write(move |c| {
            held_on(c, &id, &worker)?;
            c.execute(
                "UPDATE deliveries SET lease_expires_at = ?2 WHERE id = ?1",
                params![id, until],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn renew_leases(
        &self,
        worker: &str,
        delivery_ids: &[String],
        until: UnixMillis,
    ) -> StoreResult<Vec<String>> {
        let (ids, worker) = (delivery_ids.to_vec(), worker.to_owned());
        // One write job: one transaction (and one fsync) for the whole batch.
        self.write(move |c| {
            let mut renew = c
                .prepare_cached(
                    "UPDATE deliveries SET lease_expires_at = ?3 \
                     WHERE id = ?1 AND state = 'in_flight' AND lease_owner = ?2",
                )
                .map_err(db_err)?;
            let mut lost = Vec::new();
            for id in ids {
                if renew.execute(params![id, worker, until]).map_err(db_err)? == 0 {
                    lost.push(id);
                }
            }
            Ok(lost)
        })
        .await
    }

    async fn complete(
        &self,
        delivery_id: &str,
        worker: &str,
        attempt: &Attempt,
        completion: Completion,
    ) -> StoreResult<()> {
        let (id, worker, attempt) = (delivery_id.to_owned(), worker.to_owned(), attempt.clone());
        let wake = matches!(completion, Completion::Retry { .. });
        let r = self
            .write(move |c| complete_on(c, &id, &worker, &attempt, &completion))
            .await;
        if wake && r.is_ok() {
            self.work.notify_waiters();
        }
        r
    }

    /// One writer job, so one savepoint in the writer's group-committed transaction: a
    /// refused item (lease, unknown delivery, attempt id taken) writes nothing, any other
    /// error rolls the whole batch back.
    async fn complete_batch(
        &self,
        batch: Vec<CompletedAttempt>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        let (results, retried) = self
            .write(move |c| {
                let mut results = Vec::with_capacity(batch.len());
                let mut retried = false;
                let mut seen = std::collections::HashSet::with_capacity(batch.len());
                for item in &batch {
                    let a = &item.attempt;
                    if !seen.insert(a.delivery_id.as_str()) {
                        results.push(Err(StoreError::LeaseLost(a.delivery_id.clone())));
                        continue;
                    }
                    match complete_on(c, &a.delivery_id, &item.worker, a, &item.completion) {
                        Ok(()) => {
                            retried |= matches!(item.completion, Completion::Retry { .. });
                            results.push(Ok(()));
                        }
                        Err(
                            e @ (StoreError::LeaseLost(_)
                            | StoreError::NotFound { .. }
                            | StoreError::AlreadyExists { .. }),
                        ) => results.push(Err(e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok((results, retried))
            })
            .await?;
        if retried {
            self.work.notify_waiters();
        }
        Ok(results)
    }

    async fn release(&self, delivery_id: &str, worker: &str, at: UnixMillis) -> StoreResult<()> {
        let (id, worker) = (delivery_id.to_owned(), worker.to_owned());
        let r = self
            .write(move |c| {
                held_on(c, &id, &worker)?;
                c.execute(
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, \
                     lease_owner = NULL, lease_expires_at = NULL WHERE id = ?1",
                    params![id, at],
                )
                .map_err(db_err)?;
                Ok(())
            })
            .await;
        if r.is_ok() {
            self.work.notify_waiters();
        }
        r
    }

    async fn fail_pending_for_endpoint(&self, endpoint_id: &str, reason: &str) -> StoreResult<u64> {
        let (id, reason) = (endpoint_id.to_owned(), reason.to_owned());
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE deliveries SET state = 'failed', last_error = ?2 \
                     WHERE endpoint_id = ?1 AND state IN ('pending', 'in_flight') \
                     AND state = 'pending'",
                    params![id, reason],
                )
                .map_err(db_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn redeliver(&self, delivery_id: &str, now: UnixMillis) -> StoreResult<()> {
        let id = delivery_id.to_owned();
        let r = self
            .write(move |c| {
                let d = get_delivery_on(c, &id)?.ok_or_else(|| StoreError::NotFound {
                    kind: "delivery",
                    id: id.clone(),
                })?;
                if d.state != DeliveryState::InFlight {
                    c.execute(
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, \
                         due_since = ?2 WHERE id = ?1",
                        params![id, now],
                    )
                    .map_err(db_err)?;
                }
                Ok(())
            })
            .await;
        if r.is_ok() {
            self.work.notify_waiters();
        }
        r
    }

    async fn recover(
        &self,
        endpoint_id: &str,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<u64> {
        let id = endpoint_id.to_owned();
        let r = self
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3, \
                         due_since = ?3 \
                         WHERE endpoint_id = ?1 AND state = 'failed' AND created_at >= ?2",
                        params![id, since, now],
                    )
                    .map_err(db_err)?;
                Ok(n as u64)
            })
            .await;
        if matches!(r, Ok(1..)) {
            self.work.notify_waiters();
        }
        r
    }

    async fn attempts_for_message(&self, message_id: &str) -> StoreResult<Vec<Attempt>> {
        let id = message_id.to_owned();
        self.read(move |c| {
            attempts_query(
                c,
                &format!(
                    "SELECT {ATTEMPT_COLS} FROM attempts WHERE message_id = ?1 ORDER BY at, seq"
                ),
                [&id],
            )
        })
        .await
    }

    async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Attempt>> {
        let id = endpoint_id.to_owned();
        self.read(move |c| {
            attempts_query(
                c,
                &format!(
                    "SELECT {ATTEMPT_COLS} FROM attempts WHERE endpoint_id = ?1 \
                     ORDER BY at DESC, seq DESC LIMIT ?2"
                ),
                params![id, to_i64(limit as u64)],
            )
        })
        .await
    }

    async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> StoreResult<Vec<Attempt>> {
        self.read(move |c| {
            attempts_query(
                c,
                &format!(
                    "SELECT {ATTEMPT_COLS} FROM attempts WHERE success = 0 AND at >= ?1 \
                     AND at < ?2 ORDER BY at, seq"
                ),
                params![from, to],
            )
        })
        .await
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        self.read(|c| {
            let n: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'in_flight')",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn purge(&self, cutoffs: &PurgeCutoffs, limit: usize) -> StoreResult<PurgeReport> {
        let cutoffs = *cutoffs;
        self.write(move |c| retention::purge_on(c, &cutoffs, limit))
            .await
    }

    async fn reclaim_space(&self, pages: u32) -> StoreResult<bool> {
        self.write(move |c| retention::reclaim_on(c, pages)).await
    }

    async fn next_due(&self) -> StoreResult<Option<UnixMillis>> {
        self.read(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)
        })
        .await
    }

    /// Sleeps up to `timeout`, waking early when this store queues new due work (an enqueue,
    /// a retry, a release, a redelivery or a recovery).
    async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.work.notified()).await;
    }
}
