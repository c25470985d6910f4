//! The PostgreSQL store: one queue shared by many dispatcher processes on many machines.
//!
//! # Tables
//! Everything lives in one schema (default `hookwire`, configurable so hookwire's tables can
//! sit next to an application's):
//!
//! | table | what |
//! | --- | --- |
//! | `hookwire_migrations` | applied schema versions |
//! | `endpoints` | the registry; the record is a `jsonb` column, with the columns queries filter on beside it |
//! | `messages` | accepted messages; `UNIQUE (tenant, idempotency_key)` makes a repeated send a no-op |
//! | `deliveries` | one message to one endpoint: state, attempts, next attempt, lease |
//! | `attempts` | the attempt log |
//!
//! Migrations are versioned `.sql` files compiled into the binary and applied on start under a
//! transaction-scoped advisory lock, so many processes may start at once.
//!
//! # Claims
//! [`Store::claim`] takes due rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers in any
//! number of processes never wait for each other and never take the same row; it marks them
//! `in_flight` under a lease. A process that dies stops renewing; once the lease has run out
//! the delivery is due again. The partial index `deliveries_due (next_attempt_at, seq) WHERE
//! state = 'pending'` keeps a claim a short index range scan however long the history or the
//! queue is. For a FIFO endpoint only its oldest unfinished delivery is claimable and only
//! when none of its deliveries is in flight under a live lease; the claim takes a
//! transaction-scoped advisory lock per FIFO endpoint (skipping endpoints another claimer
//! holds) and re-checks the head after taking it, so two processes can never both start one.
//!
//! # Waking workers
//! Enqueue, release, redelivery and recovery `NOTIFY` the channel `hookwire_work_<schema>`;
//! [`Store::wait_for_work`] returns as soon as a notification arrives on a dedicated
//! listening connection, so idle workers of every process wake without polling hard.
//!
//! # Retention
//! [`Store::purge`] deletes ended messages in batches of `FOR UPDATE SKIP LOCKED` rows (their
//! deliveries and attempts go with them by `ON DELETE CASCADE`), each batch one statement, so
//! it never waits for a claimer nor makes one wait; the dispatcher runs it in the background.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::oneshot;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Socket, Statement};

use super::{
    EndpointChange, EndpointRewrite, PurgeCutoffs, PurgeReport, RewriteBatch, Store, StoreError,
    StoreResult,
};
use crate::model::{
    Attempt, ClaimedDelivery, CompletedAttempt, Completion, Delivery, DeliveryFilter,
    DeliveryState, Endpoint, EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};

mod listen;
mod migrate;
mod rows;
mod sql;

use sql::{DELIVERY_NCOLS, MESSAGE_NCOLS, Sql};

/// The schema used by [`PostgresStore::connect`].
pub const DEFAULT_SCHEMA: &str = "hookwire";

/// Connections in the pool made by [`PostgresStore::connect`].
pub const DEFAULT_POOL_SIZE: usize = 16;

/// First key of the advisory lock that serializes one tenant's endpoint creates.
const TENANT_LOCK_SPACE: i32 = 0x686b_7754; // "hkwT"

/// First key of the two-int advisory locks a claim takes on FIFO endpoints.
const FIFO_LOCK_SPACE: i32 = 0x686b_7746; // "hkwF"

/// At most one `NOTIFY` per this window from a store's own `enqueue`: a busy queue does not
/// pay for one per message (each takes PostgreSQL's global notification lock at commit).
const NOTIFY_WINDOW: Duration = Duration::from_millis(10);

/// The PostgreSQL [`Store`] (feature `postgres`).
///
/// Cheap to clone: clones share the pool and the listening connection.
///
/// ```no_run
/// # async fn run() -> Result<(), hookwire_dispatch::store::StoreError> {
/// use hookwire_dispatch::store::{PostgresStore, Store};
///
/// let store = PostgresStore::connect("postgres://hookwire@db.internal/app").await?;
/// println!("{} deliveries queued", store.queue_depth().await?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    schema: String,
    channel: String,
    sql: Sql,
    wakeup: Arc<listen::Wakeup>,
    /// Whether the last claim saw a claimable FIFO head: then claims take the transaction
    /// that orders FIFO heads and plain deliveries together, else the one-statement claim.
    fifo_seen: std::sync::atomic::AtomicBool,
    /// Dropping it stops the listener task.
    stop_listener: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    /// Paces the notifications of `enqueue`.
    notify_gate: NotifyGate,
}

/// When `enqueue` last sent a notification, and whether one is owed at the end of the window.
#[derive(Debug)]
struct NotifyGate {
    epoch: std::time::Instant,
    /// Milliseconds since `epoch` (plus one window, so the first enqueue notifies at once) of
    /// the last notification.
    last: std::sync::atomic::AtomicU64,
    /// A trailing notification is scheduled.
    owed: std::sync::atomic::AtomicBool,
}

impl NotifyGate {
    fn new() -> Self {
        Self {
            epoch: std::time::Instant::now(),
            last: std::sync::atomic::AtomicU64::new(0),
            owed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        let ms = self.epoch.elapsed().as_millis() + NOTIFY_WINDOW.as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX)
    }
}

/// How enqueue runs its four statements: prepared once per pooled connection for the store;
/// in a caller's transaction (whose client has no statement cache) as typed statements, one
/// round trip each instead of a prepare plus an execute.
enum EnqueueStatements<'a> {
    Prepared {
        insert_message: &'a Statement,
        find_duplicate: &'a Statement,
        insert_deliveries: &'a Statement,
    },
    Typed(&'a Sql),
}

/// The enqueue statements, named.
#[derive(Clone, Copy)]
enum EnqueueStep {
    InsertMessage,
    FindDuplicate,
    InsertDeliveries,
}

impl EnqueueStatements<'_> {
    async fn query(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        step: EnqueueStep,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> StoreResult<Vec<tokio_postgres::Row>> {
        match self {
            Self::Prepared {
                insert_message,
                find_duplicate,
                insert_deliveries,
            } => {
                let st = match step {
                    EnqueueStep::InsertMessage => insert_message,
                    EnqueueStep::FindDuplicate => find_duplicate,
                    EnqueueStep::InsertDeliveries => insert_deliveries,
                };
                let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
                tx.query(*st, &values).await
            }
            Self::Typed(sql) => {
                let text = match step {
                    EnqueueStep::InsertMessage => &sql.insert_message,
                    EnqueueStep::FindDuplicate => &sql.find_duplicate,
                    EnqueueStep::InsertDeliveries => &sql.insert_deliveries,
                };
                tx.query_typed(text, params).await
            }
        }
        .map_err(db_err)
    }
}

pub(super) fn db_err(e: tokio_postgres::Error) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    StoreError::Backend {
        message,
        source: Some(Box::new(e)),
    }
}

/// The fault a PostgreSQL or pool error is, if any (see [`StoreError::fault`]).
pub(crate) fn fault_of(e: &(dyn std::error::Error + 'static)) -> Option<super::StoreFault> {
    use super::StoreFault;
    if let Some(e) = e.downcast_ref::<deadpool_postgres::PoolError>() {
        return match e {
            deadpool_postgres::PoolError::Timeout(_) => Some(StoreFault::PoolTimeout),
            deadpool_postgres::PoolError::Backend(e) => pg_fault(e),
            deadpool_postgres::PoolError::Closed => Some(StoreFault::Unavailable),
            _ => None,
        };
    }
    e.downcast_ref::<tokio_postgres::Error>().and_then(pg_fault)
}

fn pg_fault(e: &tokio_postgres::Error) -> Option<super::StoreFault> {
    use super::StoreFault;
    let Some(db) = e.as_db_error() else {
        // No answer from the server: the connection is closed, refused or broken.
        let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
        return (e.is_closed() || io).then_some(StoreFault::Unavailable);
    };
    let code = db.code().code();
    match code {
        "53100" => Some(StoreFault::Full),
        "25006" => Some(StoreFault::ReadOnly),
        "40001" | "40P01" | "55P03" => Some(StoreFault::Busy),
        // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections.
        "57P01" | "57P02" | "57P03" | "53300" => Some(StoreFault::Unavailable),
        // Class 08: connection exception.
        c if c.starts_with("08") => Some(StoreFault::Unavailable),
        _ => None,
    }
}

pub(super) fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::backend_context("connection pool", e)
}

/// Checks a schema name: lower-case ASCII letters, digits and `_`, not starting with a digit,
/// at most 48 characters (the notification channel adds a prefix within PostgreSQL's 63).
fn validate_schema(schema: &str) -> StoreResult<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 48
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StoreError::backend_message(format!(
            "invalid schema name {schema:?}: use 1-48 of [a-z0-9_], not starting with a digit"
        )))
    }
}

fn to_i64(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn lease_deadline(now: UnixMillis, lease: Duration) -> UnixMillis {
    now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`, no TLS), applies migrations to
    /// the schema [`DEFAULT_SCHEMA`] and starts listening for work notifications.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_schema(url, DEFAULT_SCHEMA).await
    }

    /// [`connect`](Self::connect) with the tables in `schema` (created if missing).
    pub async fn connect_schema(url: &str, schema: &str) -> StoreResult<Self> {
        let config = parse_url(url)?;
        let pool = Self::pool(config.clone(), DEFAULT_POOL_SIZE)?;
        Ok(Self::with_pool(pool, schema)
            .await?
            .with_listener(config, NoTls))
    }

    /// A connection pool of up to `max_size` connections to `config`, without TLS. Hand it to
    /// [`with_pool`](Self::with_pool) (or build your own pool with a TLS connector).
    pub fn pool(config: tokio_postgres::Config, max_size: usize) -> StoreResult<Pool> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(max_size.max(1))
            .build()
            .map_err(|e| StoreError::backend_context("connection pool", e))
    }

    /// A store on an existing pool, with its tables in `schema`: applies migrations.
    ///
    /// A pool cannot lend a connection for `LISTEN` (pooled connections drop notifications),
    /// so until [`with_listener`](Self::with_listener) is called, [`Store::wait_for_work`]
    /// only sleeps for its timeout.
    pub async fn with_pool(pool: Pool, schema: &str) -> StoreResult<Self> {
        validate_schema(schema)?;
        let quoted = format!("\"{schema}\"");
        migrate::migrate(&pool, schema, &quoted).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                schema: schema.to_owned(),
                channel: format!("hookwire_work_{schema}"),
                sql: Sql::new(&quoted),
                wakeup: Arc::new(listen::Wakeup::default()),
                fifo_seen: std::sync::atomic::AtomicBool::new(false),
                stop_listener: std::sync::Mutex::new(None),
                notify_gate: NotifyGate::new(),
            }),
        })
    }

    /// Opens a dedicated connection to `config` (with `tls`) that `LISTEN`s for work
    /// notifications, so [`Store::wait_for_work`] wakes as soon as any process enqueues.
    /// The connection is re-opened when it drops; it closes when the last clone of the store
    /// is dropped. Must be called inside a Tokio runtime.
    #[must_use]
    pub fn with_listener<T>(self, config: tokio_postgres::Config, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + Sync,
        T::TlsConnect: Send + Sync,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let (stop_tx, stop_rx) = oneshot::channel();
        tokio::spawn(listen::run(
            config,
            tls,
            self.inner.channel.clone(),
            Arc::clone(&self.inner.wakeup),
            stop_rx,
        ));
        if let Ok(mut slot) = self.inner.stop_listener.lock() {
            // Replacing an earlier sender stops that listener.
            *slot = Some(stop_tx);
        }
        self
    }

    /// The schema holding this store's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The pool this store uses (for example to open the transaction of
    /// [`enqueue_in_transaction`](Self::enqueue_in_transaction)).
    pub fn connection_pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Whether the dedicated `LISTEN` connection is up (so [`Store::wait_for_work`] wakes on
    /// notifications rather than only sleeping).
    pub fn listening(&self) -> bool {
        self.inner
            .wakeup
            .connected
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The `NOTIFY` channel of this store's schema.
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    /// Stores a message and its deliveries inside the caller's transaction: the transactional
    /// outbox. The rows (and the wake-up notification) become visible when the caller commits,
    /// together with the caller's own writes, and vanish if it rolls back.
    ///
    /// Runs exactly the SQL of [`Store::enqueue`]. On an error the transaction is unusable
    /// (PostgreSQL aborts it): roll it back.
    pub async fn enqueue_in_transaction(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult> {
        let sql = &self.inner.sql;
        let result = enqueue_on(tx, &EnqueueStatements::Typed(sql), message, deliveries).await?;
        if created_work(&result) {
            // Sent when the caller commits: this store cannot know when that is, so these
            // notifications are not paced.
            tx.query_typed(&sql.notify, &[(&self.inner.channel, Type::TEXT)])
                .await
                .map_err(db_err)?;
        }
        Ok(result)
    }

    /// The outbox: reads the tenant's endpoints through the caller's transaction, lets
    /// `rows` fan out, and stores the result with [`enqueue_in_transaction`](Self::enqueue_in_transaction), all in a
    /// savepoint. On an error the savepoint is rolled back, so the caller's transaction stays
    /// usable and keeps its own writes.
    pub(crate) async fn enqueue_fanned_out(
        &self,
        tx: &mut tokio_postgres::Transaction<'_>,
        tenant: &str,
        rows: impl FnOnce(&[Endpoint]) -> (NewMessage, Vec<NewDelivery>),
    ) -> StoreResult<EnqueueResult> {
        let savepoint = tx.savepoint("hookwire_outbox").await.map_err(db_err)?;
        let result = async {
            let found = savepoint
                .query_typed(&self.inner.sql.list_endpoints, &[(&tenant, Type::TEXT)])
                .await
                .map_err(db_err)?;
            let endpoints = found
                .iter()
                .map(|r| rows::endpoint(r, 0))
                .collect::<StoreResult<Vec<_>>>()?;
            let (message, deliveries) = rows(&endpoints);
            self.enqueue_in_transaction(&savepoint, &message, &deliveries)
                .await
        }
        .await;
        match result {
            Ok(result) => match savepoint.commit().await {
                Ok(()) => Ok(result),
                Err(e) => {
                    // A failed RELEASE leaves the savepoint open in an aborted transaction:
                    // roll back to it so the caller's transaction is usable again.
                    let _ = tx
                        .batch_execute(
                            "ROLLBACK TO SAVEPOINT hookwire_outbox; RELEASE SAVEPOINT hookwire_outbox",
                        )
                        .await;
                    Err(db_err(e))
                }
            },
            Err(e) => {
                // If even the rollback fails the connection is gone and so is the transaction.
                let _ = savepoint.rollback().await;
                Err(e)
            }
        }
    }

    /// Drops this store's schema with every table in it. For tests and uninstalling.
    pub async fn drop_schema(&self) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.inner.schema
            ))
            .await
            .map_err(db_err)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.inner.pool.get().await.map_err(pool_err)
    }

    /// After `enqueue` committed new work: wakes this process's workers at once and tells the
    /// other processes through `NOTIFY`, at most once per [`NOTIFY_WINDOW`]. Inside a window
    /// the first enqueue that finds a notification already sent schedules one trailing
    /// notification at the window's end; it covers every enqueue that committed before it
    /// (each decides after its commit, so none waits on a notification sent before it was
    /// visible). A failed notification is only logged: the work is
    /// committed, and listeners fall back to polling.
    async fn announce(&self, client: deadpool_postgres::Object) {
        use std::sync::atomic::Ordering;
        self.inner.wakeup.wake();
        let gate = &self.inner.notify_gate;
        let window = u64::try_from(NOTIFY_WINDOW.as_millis()).unwrap_or(u64::MAX);
        let now = gate.now();
        let mut last = gate.last.load(Ordering::Acquire);
        while now.saturating_sub(last) >= window {
            match gate
                .last
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if let Err(e) = self.notify(&client).await {
                        tracing::debug!(error = %e, "NOTIFY after enqueue failed; listeners will poll");
                    }
                    return;
                }
                // Another enqueue (or the trailing notification) just moved it: look again.
                Err(moved) => last = moved,
            }
        }
        drop(client);
        if gate.owed.swap(true, Ordering::AcqRel) {
            return; // a trailing notification is already scheduled
        }
        let wait = Duration::from_millis(window.saturating_sub(now.saturating_sub(last)));
        let store = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let gate = &store.inner.notify_gate;
            gate.owed.store(false, Ordering::Release);
            // An enqueue that notified since `last` did so after every enqueue that counted
            // on this notification had decided (they decided before the window ended, it
            // after): that one covers them.
            if gate
                .last
                .compare_exchange(last, gate.now(), Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return;
            }
            let sent = match store.client().await {
                Ok(client) => store.notify(&client).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                tracing::debug!(error = %e, "trailing NOTIFY failed; listeners will poll");
            }
        });
    }

    async fn notify(&self, client: &deadpool_postgres::Object) -> StoreResult<()> {
        let st = client
            .prepare_cached(&self.inner.sql.notify)
            .await
            .map_err(db_err)?;
        client
            .execute(&st, &[&self.inner.channel])
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// One statement, prepared once per connection.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await.map_err(db_err)?;
        client.execute(&st, params).await.map_err(db_err)
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<tokio_postgres::Row>> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await.map_err(db_err)?;
        client.query(&st, params).await.map_err(db_err)
    }

    /// Writes `endpoint` back to the row `id` inside `tx` (the id is the row's key: a
    /// change cannot move the record to another row).
    async fn update_endpoint_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        id: &str,
        endpoint: &mut Endpoint,
    ) -> StoreResult<()> {
        id.clone_into(&mut endpoint.id);
        let data = rows::endpoint_json(endpoint)?;
        let update = tx
            .prepare_cached(&self.inner.sql.update_endpoint)
            .await
            .map_err(db_err)?;
        tx.execute(
            &update,
            &[
                &id,
                &endpoint.tenant,
                &endpoint.is_enabled(),
                &endpoint.fifo,
                &endpoint.last_triggered_at,
                &data,
            ],
        )
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Inserts `endpoint` inside `tx`; [`StoreError::AlreadyExists`] if its id is taken.
    async fn insert_endpoint_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        endpoint: &Endpoint,
    ) -> StoreResult<()> {
        let data = rows::endpoint_json(endpoint)?;
        let insert = tx
            .prepare_cached(&self.inner.sql.insert_endpoint)
            .await
            .map_err(db_err)?;
        let n = tx
            .execute(
                &insert,
                &[
                    &endpoint.id,
                    &endpoint.tenant,
                    &endpoint.is_enabled(),
                    &endpoint.fifo,
                    &endpoint.created_at,
                    &endpoint.last_triggered_at,
                    &data,
                ],
            )
            .await
            .map_err(db_err)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists {
                kind: "endpoint",
                id: endpoint.id.clone(),
            });
        }
        Ok(())
    }

    /// The claim in one transaction that orders FIFO heads and plain deliveries together:
    /// the candidates of both (pipelined), the FIFO endpoints' advisory locks, their heads
    /// again, then one update of the oldest due `limit`. Notes in `fifo_seen` whether any
    /// FIFO head was claimable.
    async fn claim_with_fifo(
        &self,
        worker: &str,
        now: UnixMillis,
        until: UnixMillis,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let sql = &self.inner.sql;
        let lim = to_i64(limit);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let heads = tx.prepare_cached(&sql.fifo_heads).await.map_err(db_err)?;
        let candidates = tx
            .prepare_cached(&sql.claim_candidates)
            .await
            .map_err(db_err)?;
        let no_filter: Option<Vec<String>> = None;
        // Both queries go out pipelined on the one connection.
        let head_params: [&(dyn ToSql + Sync); 3] = [&now, &lim, &no_filter];
        let candidate_params: [&(dyn ToSql + Sync); 2] = [&now, &lim];
        let (fifo, plain) = tokio::join!(
            tx.query(&heads, &head_params),
            tx.query(&candidates, &candidate_params),
        );
        let fifo = fifo.map_err(db_err)?;
        let plain = plain.map_err(db_err)?;
        self.inner
            .fifo_seen
            .store(!fifo.is_empty(), std::sync::atomic::Ordering::Relaxed);
        // (next_attempt_at, seq) of every candidate.
        let mut picked: Vec<(i64, i64)> = Vec::with_capacity(plain.len() + fifo.len());
        for row in &plain {
            picked.push((
                row.try_get(1).map_err(db_err)?,
                row.try_get(0).map_err(db_err)?,
            ));
        }
        if !fifo.is_empty() {
            // Take the FIFO endpoints' advisory locks (skipping those another claimer holds),
            // then look at their heads again in a new statement, whose snapshot includes
            // everything the previous holder of each lock committed.
            let ids: Vec<String> = fifo
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            let lock = tx.prepare_cached(&sql.fifo_lock).await.map_err(db_err)?;
            let locked: Vec<String> = tx
                .query(&lock, &[&ids, &FIFO_LOCK_SPACE, &self.inner.schema])
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            if !locked.is_empty() {
                let locked = Some(locked);
                for row in tx
                    .query(&heads, &[&now, &lim, &locked])
                    .await
                    .map_err(db_err)?
                {
                    picked.push((
                        row.try_get(2).map_err(db_err)?,
                        row.try_get(1).map_err(db_err)?,
                    ));
                }
            }
        }
        if picked.is_empty() {
            tx.commit().await.map_err(db_err)?;
            return Ok(Vec::new());
        }
        picked.sort_unstable();
        picked.truncate(limit);
        let seqs: Vec<i64> = picked.iter().map(|p| p.1).collect();
        let update = tx.prepare_cached(&sql.claim_update).await.map_err(db_err)?;
        let rows = tx
            .query(&update, &[&seqs, &worker, &until, &now])
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut claimed = claimed_rows(&rows)?;
        claimed.sort_by_key(|c| (c.delivery.next_attempt_at, c.delivery.seq));
        Ok(claimed)
    }

    /// The error for an update that matched no row held by `worker`.
    async fn lease_error(&self, delivery_id: &str) -> StoreError {
        match self
            .query(&self.inner.sql.delivery_exists, &[&delivery_id])
            .await
        {
            Ok(rows) if rows.is_empty() => StoreError::NotFound {
                kind: "delivery",
                id: delivery_id.to_owned(),
            },
            Ok(_) => StoreError::LeaseLost(delivery_id.to_owned()),
            Err(e) => e,
        }
    }
}

/// The state and retry time a completion stores.
fn completion_columns(completion: &Completion) -> (&'static str, Option<i64>) {
    match completion {
        Completion::Delivered => ("delivered", None),
        Completion::Retry { at } => ("pending", Some(*at)),
        Completion::Failed => ("failed", None),
    }
}

/// A delivery's `last_error` after `attempt`.
fn last_error(attempt: &Attempt) -> Option<String> {
    match (&attempt.error, attempt.status) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(s)) if !attempt.success => Some(format!("HTTP {s}")),
        _ => None,
    }
}

/// Claimed deliveries from rows of delivery, message and endpoint columns.
fn claimed_rows(rows: &[tokio_postgres::Row]) -> StoreResult<Vec<ClaimedDelivery>> {
    rows.iter()
        .map(|r| {
            Ok(ClaimedDelivery {
                delivery: rows::delivery(r, 0)?,
                message: rows::message(r, DELIVERY_NCOLS)?,
                endpoint: rows::endpoint(r, DELIVERY_NCOLS + MESSAGE_NCOLS)?,
            })
        })
        .collect()
}

fn parse_url(url: &str) -> StoreResult<tokio_postgres::Config> {
    url.parse()
        .map_err(|e| StoreError::backend_context("invalid PostgreSQL URL", e))
}

/// The enqueue transaction body, shared by [`Store::enqueue`] and
/// [`PostgresStore::enqueue_in_transaction`].
/// Whether an enqueue stored deliveries, so workers have something to be told about.
fn created_work(result: &EnqueueResult) -> bool {
    matches!(
        result,
        EnqueueResult::Created {
            deliveries: 1..,
            ..
        }
    )
}

/// Stores `message` and `deliveries` in `tx` (no notification: the caller sends it).
async fn enqueue_on(
    tx: &tokio_postgres::Transaction<'_>,
    st: &EnqueueStatements<'_>,
    message: &NewMessage,
    deliveries: &[NewDelivery],
) -> StoreResult<EnqueueResult> {
    // The insert returns the new id, or no row when the id or idempotency key exists.
    let inserted = st
        .query(
            tx,
            EnqueueStep::InsertMessage,
            &[
                (&message.id, Type::TEXT),
                (&message.tenant, Type::TEXT),
                (&message.event_type, Type::TEXT),
                (&message.payload, Type::BYTEA),
                (&message.idempotency_key, Type::TEXT),
                (&message.created_at, Type::INT8),
            ],
        )
        .await?;
    if inserted.is_empty() {
        if let Some(key) = &message.idempotency_key {
            let rows = st
                .query(
                    tx,
                    EnqueueStep::FindDuplicate,
                    &[(&message.tenant, Type::TEXT), (key, Type::TEXT)],
                )
                .await?;
            if let Some(row) = rows.first() {
                return Ok(EnqueueResult::Duplicate {
                    message_id: row.try_get(0).map_err(db_err)?,
                });
            }
        }
        return Err(StoreError::AlreadyExists {
            kind: "message",
            id: message.id.clone(),
        });
    }
    if !deliveries.is_empty() {
        let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
        let endpoints: Vec<&str> = deliveries.iter().map(|d| d.endpoint_id.as_str()).collect();
        let due: Vec<i64> = deliveries.iter().map(|d| d.next_attempt_at).collect();
        let rows = st
            .query(
                tx,
                EnqueueStep::InsertDeliveries,
                &[
                    (&message.id, Type::TEXT),
                    (&message.created_at, Type::INT8),
                    (&ids, Type::TEXT_ARRAY),
                    (&endpoints, Type::TEXT_ARRAY),
                    (&due, Type::INT8_ARRAY),
                ],
            )
            .await?;
        if rows.len() != deliveries.len() {
            let stored: Vec<String> = rows
                .iter()
                .filter_map(|r| r.try_get::<_, String>(0).ok())
                .collect();
            let taken = ids
                .iter()
                .find(|id| !stored.iter().any(|s| s == *id))
                .map_or_else(String::new, |id| (*id).to_owned());
            return Err(StoreError::AlreadyExists {
                kind: "delivery",
                id: taken,
            });
        }
    }
    Ok(EnqueueResult::Created {
        message_id: message.id.clone(),
        deliveries: deliveries.len(),
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert_endpoint_within(&self, endpoint: &Endpoint, max: usize) -> StoreResult<bool> {
        let sql = &self.inner.sql;
        let mut client = self.client().await?;
        // READ COMMITTED whatever the server's default: the count after the lock must see the
        // creates committed while this transaction waited for it.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(db_err)?;
        // A transaction-scoped advisory lock per (schema, tenant) serializes the creates of one
        // tenant across processes, so the count below cannot go stale before the insert.
        let lock = tx.prepare_cached(&sql.lock_tenant).await.map_err(db_err)?;
        tx.execute(
            &lock,
            &[&TENANT_LOCK_SPACE, &self.inner.schema, &endpoint.tenant],
        )
        .await
        .map_err(db_err)?;
        let count = tx
            .prepare_cached(&sql.count_tenant_endpoints)
            .await
            .map_err(db_err)?;
        let has: i64 = tx
            .query_one(&count, &[&endpoint.tenant])
            .await
            .map_err(db_err)?
            .get(0);
        if has >= to_i64(max) {
            return Ok(false);
        }
        self.insert_endpoint_in(&tx, endpoint).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<Endpoint>> {
        let rows = self.query(&self.inner.sql.get_endpoint, &[&id]).await?;
        rows.first().map(|r| rows::endpoint(r, 0)).transpose()
    }

    async fn list_endpoints(&self, tenant: &str) -> StoreResult<Vec<Endpoint>> {
        let rows = self
            .query(&self.inner.sql.list_endpoints, &[&tenant])
            .await?;
        rows.iter().map(|r| rows::endpoint(r, 0)).collect()
    }

    async fn modify_endpoint(&self, id: &str, change: EndpointChange) -> StoreResult<Endpoint> {
        let sql = &self.inner.sql;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let lock = tx
            .prepare_cached(&sql.lock_endpoint)
            .await
            .map_err(db_err)?;
        let rows = tx.query(&lock, &[&id]).await.map_err(db_err)?;
        let Some(row) = rows.first() else {
            return Err(StoreError::NotFound {
                kind: "endpoint",
                id: id.to_owned(),
            });
        };
        let mut endpoint = rows::endpoint(row, 0)?;
        change(&mut endpoint);
        self.update_endpoint_in(&tx, id, &mut endpoint).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(endpoint)
    }

    async fn rewrite_endpoints(
        &self,
        after: Option<&str>,
        limit: usize,
        mut rewrite: EndpointRewrite,
    ) -> StoreResult<RewriteBatch> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let lock = tx
            .prepare_cached(&self.inner.sql.lock_endpoint_batch)
            .await
            .map_err(db_err)?;
        let found = tx
            .query(&lock, &[&after, &to_i64(limit)])
            .await
            .map_err(db_err)?;
        let mut batch = RewriteBatch {
            seen: found.len(),
            ..RewriteBatch::default()
        };
        for row in &found {
            let mut endpoint = rows::endpoint(row, 0)?;
            let id = endpoint.id.clone();
            if rewrite(&mut endpoint) {
                self.update_endpoint_in(&tx, &id, &mut endpoint).await?;
                batch.rewritten += 1;
            }
            batch.last_id = Some(id);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(batch)
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        let sql = &self.inner.sql;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let pending = tx
            .prepare_cached(&sql.delete_open_of_endpoint)
            .await
            .map_err(db_err)?;
        let delete = tx
            .prepare_cached(&sql.delete_endpoint)
            .await
            .map_err(db_err)?;
        tx.execute(&pending, &[&id]).await.map_err(db_err)?;
        let n = tx.execute(&delete, &[&id]).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n > 0)
    }

    async fn enqueue(
        &self,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult> {
        let sql = &self.inner.sql;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let insert_message = tx
            .prepare_cached(&sql.insert_message)
            .await
            .map_err(db_err)?;
        let find_duplicate = tx
            .prepare_cached(&sql.find_duplicate)
            .await
            .map_err(db_err)?;
        let insert_deliveries = tx
            .prepare_cached(&sql.insert_deliveries)
            .await
            .map_err(db_err)?;
        let statements = EnqueueStatements::Prepared {
            insert_message: &insert_message,
            find_duplicate: &find_duplicate,
            insert_deliveries: &insert_deliveries,
        };
        let result = enqueue_on(&tx, &statements, message, deliveries).await?;
        tx.commit().await.map_err(db_err)?;
        if created_work(&result) {
            self.announce(client).await;
        }
        Ok(result)
    }

    async fn get_message(&self, id: &str) -> StoreResult<Option<Message>> {
        let rows = self.query(&self.inner.sql.get_message, &[&id]).await?;
        rows.first().map(|r| rows::message(r, 0)).transpose()
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let rows = self.query(&self.inner.sql.get_delivery, &[&id]).await?;
        rows.first().map(|r| rows::delivery(r, 0)).transpose()
    }

    async fn list_deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        let state = filter.state.map(DeliveryState::as_str);
        let limit = to_i64(filter.limit.unwrap_or(100));
        let rows = self
            .query(
                &self.inner.sql.list_deliveries,
                &[
                    &filter.endpoint_id,
                    &filter.message_id,
                    &state,
                    &limit,
                    &filter.created_from,
                    &filter.created_before,
                    &filter.after.map(|k| k.0),
                    &filter.after.map(|k| k.1),
                    &filter.tenant,
                    &filter.event_type,
                ],
            )
            .await?;
        rows.iter().map(|r| rows::delivery(r, 0)).collect()
    }

    async fn claim(
        &self,
        worker: &str,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        use std::sync::atomic::Ordering;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = lease_deadline(now, lease);
        if self.inner.fifo_seen.load(Ordering::Relaxed) {
            return self.claim_with_fifo(worker, now, until, limit).await;
        }
        // One round trip: the one-statement claim of non-FIFO deliveries, pipelined with a
        // look for a claimable FIFO head (each its own implicit transaction).
        let sql = &self.inner.sql;
        let client = self.client().await?;
        let plain = client
            .prepare_cached(&sql.claim_plain)
            .await
            .map_err(db_err)?;
        let heads = client
            .prepare_cached(&sql.fifo_heads)
            .await
            .map_err(db_err)?;
        let (lim, one, no_filter) = (to_i64(limit), 1_i64, None::<Vec<String>>);
        let plain_params: [&(dyn ToSql + Sync); 4] = [&now, &lim, &worker, &until];
        let head_params: [&(dyn ToSql + Sync); 3] = [&now, &one, &no_filter];
        let (rows, head) = tokio::join!(
            client.query(&plain, &plain_params),
            client.query(&heads, &head_params),
        );
        drop(client);
        let mut claimed = claimed_rows(&rows.map_err(db_err)?)?;
        // From here on the rows are ours: an error below must not lose them (they would sit
        // under this lease unattempted), so it only costs the FIFO part of this claim.
        match head {
            Ok(head) if !head.is_empty() => {
                self.inner.fifo_seen.store(true, Ordering::Relaxed);
                let room = limit.saturating_sub(claimed.len());
                if room > 0 {
                    match self.claim_with_fifo(worker, now, until, room).await {
                        Ok(more) => claimed.extend(more),
                        Err(e) => tracing::warn!(error = %e, "claim of FIFO heads failed"),
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %db_err(e), "look for FIFO heads failed"),
        }
        claimed.sort_by_key(|c| (c.delivery.next_attempt_at, c.delivery.seq));
        Ok(claimed)
    }

    async fn renew_lease(
        &self,
        delivery_id: &str,
        worker: &str,
        until: UnixMillis,
    ) -> StoreResult<()> {
        let n = self
            .execute(
                &self.inner.sql.renew_lease,
                &[&delivery_id, &worker, &until],
            )
            .await?;
        if n == 0 {
            return Err(self.lease_error(delivery_id).await);
        }
        Ok(())
    }

    async fn renew_leases(
        &self,
        worker: &str,
        delivery_ids: &[String],
        until: UnixMillis,
    ) -> StoreResult<Vec<String>> {
        // One statement for the batch; it returns the ids it renewed.
        let rows = self
            .query(
                &self.inner.sql.renew_leases,
                &[&delivery_ids, &worker, &until],
            )
            .await?;
        let mut renewed = std::collections::HashSet::with_capacity(rows.len());
        for row in &rows {
            renewed.insert(row.try_get::<_, String>(0).map_err(db_err)?);
        }
        Ok(delivery_ids
            .iter()
            .filter(|id| !renewed.contains(id.as_str()))
            .cloned()
            .collect())
    }

    async fn complete(
        &self,
        delivery_id: &str,
        worker: &str,
        attempt: &Attempt,
        completion: Completion,
    ) -> StoreResult<()> {
        let (state, next) = completion_columns(&completion);
        let last_error = last_error(attempt);
        let number = i32::try_from(attempt.number).unwrap_or(i32::MAX);
        let duration = i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX);
        let status = attempt.status.map(i32::from);
        let rows = self
            .query(
                &self.inner.sql.complete,
                &[
                    &delivery_id,
                    &worker,
                    &state,
                    &next,
                    &last_error,
                    &attempt.id,
                    &attempt.at,
                    &attempt.message_id,
                    &attempt.endpoint_id,
                    &number,
                    &duration,
                    &status,
                    &attempt.error,
                    &attempt.response_snippet,
                    &attempt.success,
                ],
            )
            .await?;
        let n: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(db_err)?,
            None => 0,
        };
        if n == 0 {
            return Err(self.lease_error(delivery_id).await);
        }
        Ok(())
    }

    /// One statement, so one round trip and one transaction for the whole batch.
    async fn complete_batch(
        &self,
        batch: Vec<CompletedAttempt>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        let n = batch.len();
        let mut results: Vec<Option<StoreResult<()>>> = (0..n).map(|_| None).collect();
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut sent: Vec<usize> = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        let mut states = Vec::with_capacity(n);
        let mut next = Vec::with_capacity(n);
        let mut last_errors = Vec::with_capacity(n);
        let mut attempt_ids = Vec::with_capacity(n);
        let mut ats = Vec::with_capacity(n);
        let mut messages = Vec::with_capacity(n);
        let mut endpoints = Vec::with_capacity(n);
        let mut numbers = Vec::with_capacity(n);
        let mut durations = Vec::with_capacity(n);
        let mut statuses = Vec::with_capacity(n);
        let mut errors = Vec::with_capacity(n);
        let mut snippets = Vec::with_capacity(n);
        let mut successes = Vec::with_capacity(n);
        for (i, c) in batch.iter().enumerate() {
            let a = &c.attempt;
            if !seen.insert(a.delivery_id.as_str()) {
                // Named twice: the first occurrence clears the lease.
                results[i] = Some(Err(StoreError::LeaseLost(a.delivery_id.clone())));
                continue;
            }
            let (state, at) = completion_columns(&c.completion);
            sent.push(i);
            ids.push(a.delivery_id.as_str());
            workers.push(&*c.worker);
            states.push(state);
            next.push(at);
            last_errors.push(last_error(a));
            attempt_ids.push(a.id.as_str());
            ats.push(a.at);
            messages.push(a.message_id.as_str());
            endpoints.push(a.endpoint_id.as_str());
            numbers.push(i32::try_from(a.number).unwrap_or(i32::MAX));
            durations.push(i64::try_from(a.duration_ms).unwrap_or(i64::MAX));
            statuses.push(a.status.map(i32::from));
            errors.push(a.error.as_deref());
            snippets.push(a.response_snippet.as_deref());
            successes.push(a.success);
        }
        if !sent.is_empty() {
            let rows = self
                .query(
                    &self.inner.sql.complete_batch,
                    &[
                        &ids,
                        &workers,
                        &states,
                        &next,
                        &last_errors,
                        &attempt_ids,
                        &ats,
                        &messages,
                        &endpoints,
                        &numbers,
                        &durations,
                        &statuses,
                        &errors,
                        &snippets,
                        &successes,
                    ],
                )
                .await?;
            let mut done = std::collections::HashSet::with_capacity(rows.len());
            for row in &rows {
                done.insert(row.try_get::<_, String>(0).map_err(db_err)?);
            }
            let missing: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !done.contains(*id))
                .collect();
            // Refused items: an unknown delivery or a lease not held (rare; one more query).
            let mut known = std::collections::HashSet::new();
            if !missing.is_empty() {
                for row in self
                    .query(&self.inner.sql.deliveries_exist, &[&missing])
                    .await?
                {
                    known.insert(row.try_get::<_, String>(0).map_err(db_err)?);
                }
            }
            for (k, &i) in sent.iter().enumerate() {
                let id = ids[k];
                results[i] = Some(if done.contains(id) {
                    Ok(())
                } else if known.contains(id) {
                    Err(StoreError::LeaseLost(id.to_owned()))
                } else {
                    Err(StoreError::NotFound {
                        kind: "delivery",
                        id: id.to_owned(),
                    })
                });
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::backend_message("not recorded"))))
            .collect())
    }

    async fn release(&self, delivery_id: &str, worker: &str, at: UnixMillis) -> StoreResult<()> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(&self.inner.sql.release)
            .await
            .map_err(db_err)?;
        let n = client
            .execute(&st, &[&delivery_id, &worker, &at])
            .await
            .map_err(db_err)?;
        if n == 0 {
            drop(client);
            return Err(self.lease_error(delivery_id).await);
        }
        self.notify(&client).await
    }

    async fn fail_pending_for_endpoint(&self, endpoint_id: &str, reason: &str) -> StoreResult<u64> {
        self.execute(&self.inner.sql.fail_pending, &[&endpoint_id, &reason])
            .await
    }

    async fn redeliver(&self, delivery_id: &str, now: UnixMillis) -> StoreResult<()> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(&self.inner.sql.redeliver)
            .await
            .map_err(db_err)?;
        let n = client
            .execute(&st, &[&delivery_id, &now])
            .await
            .map_err(db_err)?;
        if n == 0 {
            drop(client);
            return match self.get_delivery(delivery_id).await? {
                None => Err(StoreError::NotFound {
                    kind: "delivery",
                    id: delivery_id.to_owned(),
                }),
                // In flight: left alone, its worker decides.
                Some(_) => Ok(()),
            };
        }
        self.notify(&client).await
    }

    async fn recover(
        &self,
        endpoint_id: &str,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<u64> {
        let client = self.client().await?;
        let st = client
            .prepare_cached(&self.inner.sql.recover)
            .await
            .map_err(db_err)?;
        let n = client
            .execute(&st, &[&endpoint_id, &since, &now])
            .await
            .map_err(db_err)?;
        if n > 0 {
            self.notify(&client).await?;
        }
        Ok(n)
    }

    async fn attempts_for_message(&self, message_id: &str) -> StoreResult<Vec<Attempt>> {
        let rows = self
            .query(&self.inner.sql.attempts_for_message, &[&message_id])
            .await?;
        rows.iter().map(rows::attempt).collect()
    }

    async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Attempt>> {
        let rows = self
            .query(
                &self.inner.sql.attempts_for_endpoint,
                &[&endpoint_id, &to_i64(limit)],
            )
            .await?;
        rows.iter().map(rows::attempt).collect()
    }

    async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> StoreResult<Vec<Attempt>> {
        let rows = self
            .query(&self.inner.sql.failed_attempts, &[&from, &to])
            .await?;
        rows.iter().map(rows::attempt).collect()
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let rows = self.query(&self.inner.sql.queue_depth, &[]).await?;
        let n: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(db_err)?,
            None => 0,
        };
        Ok(n.unsigned_abs())
    }

    async fn next_due(&self) -> StoreResult<Option<UnixMillis>> {
        let rows = self.query(&self.inner.sql.next_due, &[]).await?;
        match rows.first() {
            Some(row) => row.try_get(0).map_err(db_err),
            None => Ok(None),
        }
    }

    async fn wait_for_work(&self, timeout: Duration) {
        self.inner.wakeup.wait(timeout).await;
    }

    async fn purge(&self, cutoffs: &PurgeCutoffs, limit: usize) -> StoreResult<PurgeReport> {
        let limit = to_i64(limit.max(1));
        let mut report = PurgeReport::default();
        let passes: [(UnixMillis, &[&str]); 2] = [
            (cutoffs.delivered_before, &["delivered"]),
            (cutoffs.failed_before, &["delivered", "failed"]),
        ];
        for (cutoff, states) in passes {
            let room = limit - to_i64(usize::try_from(report.messages).unwrap_or(usize::MAX));
            if room <= 0 {
                break;
            }
            let states: Vec<&str> = states.to_vec();
            let rows = self
                .query(&self.inner.sql.purge_messages, &[&cutoff, &room, &states])
                .await?;
            if let Some(row) = rows.first() {
                let n = |i: usize| -> StoreResult<u64> {
                    let v: i64 = row.try_get(i).map_err(db_err)?;
                    Ok(v.unsigned_abs())
                };
                report.messages += n(0)?;
                report.deliveries += n(1)?;
                report.attempts += n(2)?;
            }
        }
        if let Some(before) = cutoffs.payloads_before {
            report.payloads = self
                .execute(&self.inner.sql.purge_payloads, &[&before, &limit])
                .await?;
        }
        Ok(report)
    }
}
