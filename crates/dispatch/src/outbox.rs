//! Transactional outbox: queue a webhook in the same database transaction as the business
//! write, so the hook exists if and only if that write committed.
//!
//! A service that writes "order paid" and then calls [`Dispatcher::send`] can crash in
//! between (the hook is lost) or send for a write that later rolls back. When the dispatcher's
//! store lives in the service's own database, [`Dispatcher::send_in_sqlite`] and
//! [`Dispatcher::send_in_postgres`] insert the message and its deliveries inside the caller's
//! open transaction instead:
//!
//! - **Exactly one message per committed transaction.** The rows commit or roll back with the
//!   caller's own writes; a crash before the commit leaves neither. A retried transaction that
//!   passes the same idempotency key stores nothing the second time.
//! - **Deliveries at least once**, as for `send`: once committed, workers of any dispatcher on
//!   that database deliver them, across crashes.
//! - **Workers never see an open transaction's rows.** They become claimable at the commit.
//!   PostgreSQL's `NOTIFY` fires on commit and wakes every process's idle workers; a SQLite
//!   commit on another connection is seen at the workers' next poll, or at once after
//!   [`Dispatcher::wake`].
//! - **Same rules as `send`.** Fan-out (every enabled endpoint of the tenant subscribed to the
//!   type, read through the caller's transaction), validation, the payload limit and
//!   idempotency keys behave exactly as in [`Dispatcher::send_idempotent`].
//! - **Errors leave the caller's transaction usable.** Validation errors touch nothing; a
//!   database error is rolled back to a savepoint taken before hookwire's inserts, so the
//!   caller's own writes stay in the transaction, and it may go on, commit or roll back. (If
//!   the connection itself is lost, the transaction is gone, as always.)
//!
//! # SQLite
//! Open your own connection to the file the dispatcher's [`SqliteStore`](crate::store::SqliteStore)
//! uses, with a busy timeout. WAL lets the dispatcher read meanwhile, but SQLite has one writer
//! at a time: keep outbox transactions short, since the dispatcher's writes wait for them, and
//! begin them with `TransactionBehavior::Immediate` (a deferred transaction that reads before
//! it writes can fail with `SQLITE_BUSY_SNAPSHOT` when the dispatcher committed in between).
//! The call is synchronous (rusqlite is); from async code run the transaction in
//! `spawn_blocking`.
//!
#![cfg_attr(feature = "sqlite", doc = "```")]
#![cfg_attr(not(feature = "sqlite"), doc = "```ignore")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use hookwire_dispatch::{Dispatcher, NewEndpoint, store::SqliteStore};
//! use hookwire_events::Family;
//!
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("app.db");
//! let dispatcher = Dispatcher::builder(Arc::new(SqliteStore::open(&file)?)).build()?;
//! dispatcher
//!     .create_endpoint(
//!         NewEndpoint::new("acct-1", Family::Zentitle, "https://hooks.example.com/zentitle")
//!             .event_types(["entitlement.activated"]),
//!     )
//!     .await?;
//!
//! // The application's own connection and transaction.
//! let mut conn = rusqlite::Connection::open(&file)?;
//! conn.busy_timeout(std::time::Duration::from_secs(5))?;
//! conn.execute_batch("CREATE TABLE IF NOT EXISTS activations (id TEXT PRIMARY KEY)")?;
//! let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
//! tx.execute("INSERT INTO activations (id) VALUES ('act-1')", [])?;
//! let queued = dispatcher.send_in_sqlite(
//!     &tx,
//!     "acct-1",
//!     "entitlement.activated",
//!     br#"{"eventCode":"entitlement.activated"}"#.to_vec(),
//!     Some("act-1"),
//! )?;
//! tx.commit()?; // the activation and its webhook, together
//! dispatcher.wake(); // deliver now rather than at the next poll
//! assert!(matches!(queued, hookwire_dispatch::model::EnqueueResult::Created { deliveries: 1, .. }));
//! # Ok(()) }
//! ```
//!
//! # PostgreSQL
//! Begin a transaction on any client of the database the dispatcher's
//! [`PostgresStore`](crate::store::PostgresStore) uses (the hookwire tables live in the
//! store's schema, which you choose with `connect_schema`); a `deadpool_postgres` transaction
//! derefs to the `tokio_postgres` one.
//!
#![cfg_attr(feature = "postgres", doc = "```no_run")]
#![cfg_attr(not(feature = "postgres"), doc = "```ignore")]
//! # async fn run(dispatcher: hookwire_dispatch::Dispatcher, client: &mut tokio_postgres::Client)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let mut tx = client.transaction().await?;
//! tx.execute("UPDATE orders SET paid = true WHERE id = $1", &[&"ord-42"]).await?;
//! dispatcher
//!     .send_in_postgres(&mut tx, "org-1", "order.paid", br#"{"id":"ord-42"}"#.to_vec(), Some("ord-42"))
//!     .await?;
//! tx.commit().await?; // NOTIFY fires here: idle workers of every process wake
//! # Ok(()) }
//! ```
//!
//! `examples/outbox.rs` runs both end to end against loopback receivers.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::{
    dispatcher::{Dispatcher, fan_out},
    error::{DispatchError, Result},
    model::EnqueueResult,
};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Dispatcher {
    /// Queues a webhook inside the caller's SQLite transaction `tx` on the dispatcher's own
    /// database file (feature `sqlite`). See the [module docs](crate::outbox).
    ///
    /// # Errors
    /// The validation errors of [`send`](Self::send); [`ErrorKind::Outbox`](crate::ErrorKind::Outbox) when the
    /// dispatcher's store is not a [`SqliteStore`](crate::store::SqliteStore) on the file of
    /// `tx`; [`ErrorKind::Store`](crate::ErrorKind::Store) for database errors (rolled back to a savepoint: `tx`
    /// keeps the caller's writes and stays usable).
    #[cfg(feature = "sqlite")]
    pub fn send_in_sqlite(
        &self,
        tx: &rusqlite::Transaction<'_>,
        tenant: &str,
        event_type: &str,
        payload: impl Into<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<EnqueueResult> {
        use crate::store::SqliteStore;

        let payload = payload.into();
        self.check_message(tenant, event_type, payload.len())?;
        let store: &SqliteStore =
            self.outbox_store("send_in_sqlite needs a dispatcher on a SqliteStore")?;
        if !same_file(store.path(), tx.path()) {
            return Err(DispatchError::outbox(
                "the transaction is not on the dispatcher's SQLite file",
            ));
        }
        let key = idempotency_key.map(str::to_owned);
        let now = self.engine.now_millis();
        let result = SqliteStore::enqueue_fanned_out(tx, tenant, |endpoints| {
            fan_out(now, endpoints, tenant, event_type, payload, key, None)
        })?;
        // Nothing to wake yet: the rows are invisible until the caller commits.
        Ok(result)
    }

    /// Queues a webhook inside the caller's PostgreSQL transaction `tx` on the dispatcher's
    /// database (feature `postgres`). The rows and the wake-up `NOTIFY` take effect when the
    /// caller commits. See the [module docs](crate::outbox).
    ///
    /// # Errors
    /// The validation errors of [`send`](Self::send); [`ErrorKind::Outbox`](crate::ErrorKind::Outbox) when the
    /// dispatcher's store is not a [`PostgresStore`](crate::store::PostgresStore);
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) for database errors, including a database without the store's
    /// schema (rolled back to a savepoint: `tx` keeps the caller's writes and stays usable).
    #[cfg(feature = "postgres")]
    pub async fn send_in_postgres(
        &self,
        tx: &mut tokio_postgres::Transaction<'_>,
        tenant: &str,
        event_type: &str,
        payload: impl Into<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<EnqueueResult> {
        use crate::store::PostgresStore;

        let payload = payload.into();
        self.check_message(tenant, event_type, payload.len())?;
        let store: &PostgresStore =
            self.outbox_store("send_in_postgres needs a dispatcher on a PostgresStore")?;
        let key = idempotency_key.map(str::to_owned);
        let now = self.engine.now_millis();
        Ok(store
            .enqueue_fanned_out(tx, tenant, |endpoints| {
                fan_out(now, endpoints, tenant, event_type, payload, key, None)
            })
            .await?)
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Dispatcher {
    /// The dispatcher's store as the backend `T`, or [`ErrorKind::Outbox`](crate::ErrorKind::Outbox) saying `why`.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn outbox_store<T: 'static>(&self, why: &'static str) -> Result<&T> {
        // Trait upcasting: `Store: Any`, so the store is reachable as its concrete type.
        let store: &dyn std::any::Any = &**self.store();
        store
            .downcast_ref::<T>()
            .ok_or_else(|| DispatchError::outbox(why))
    }
}

/// Whether the store's file and the transaction's file are the same file (the same inode on
/// Unix, so hard links and symlinks match; the same canonical path elsewhere).
#[cfg(feature = "sqlite")]
fn same_file(store: Option<&std::path::Path>, tx: Option<&str>) -> bool {
    let (Some(store), Some(tx)) = (store, tx) else {
        return false;
    };
    if tx.is_empty() {
        return false; // a temporary or in-memory database
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(store), std::fs::metadata(tx)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    match (std::fs::canonicalize(store), std::fs::canonicalize(tx)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
