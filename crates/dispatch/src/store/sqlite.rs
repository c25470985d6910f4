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
//! - The schema is versioned in code (`MIGRATIONS`, tracked in `PRAGMA user_version`) and
//!   migrated in order when the file is opened.
//!
//! # Tables
//! `endpoints` (the record as JSON plus the columns claims filter on), `messages` (payload
//! as a BLOB, unique `(tenant, idempotency_key)`), `deliveries` (`seq` is the rowid, so insert
//! order is monotonic; partial indexes for due pending rows, in-flight leases and each
//! endpoint's open deliveries) and `attempts` (indexed by message, endpoint and failures by time).

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, params};
use tokio::sync::{Notify, oneshot};

use super::memory::{attempt_summary, lease_deadline};
use super::{EndpointChange, Store, StoreError, StoreResult};
use crate::model::{
    Attempt, ClaimedDelivery, Completion, Delivery, DeliveryFilter, DeliveryState, Endpoint,
    EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};

/// Most write jobs committed in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// How long a connection waits for a lock held by another connection (another process on
/// the same file, or an outbox transaction) before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;

/// Default page size of [`Store::list_deliveries`].
const DEFAULT_LIST_LIMIT: usize = 100;

/// The schema, one entry per version: `MIGRATIONS[i]` moves a database from version `i` to
/// `i + 1`. Append new versions; never edit a released one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // v1
    r"
    CREATE TABLE endpoints (
        id                TEXT PRIMARY KEY,
        tenant            TEXT NOT NULL,
        enabled           INTEGER NOT NULL,
        created_at        INTEGER NOT NULL,
        last_triggered_at INTEGER,
        body              TEXT NOT NULL
    );
    CREATE INDEX endpoints_tenant ON endpoints (tenant, created_at);

    CREATE TABLE messages (
        id              TEXT PRIMARY KEY,
        tenant          TEXT NOT NULL,
        event_type      TEXT NOT NULL,
        payload         BLOB NOT NULL,
        idempotency_key TEXT,
        created_at      INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX messages_idempotency ON messages (tenant, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

    CREATE TABLE deliveries (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        message_id       TEXT NOT NULL,
        endpoint_id      TEXT NOT NULL,
        state            TEXT NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL,
        first_attempt_at INTEGER,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        last_error       TEXT,
        created_at       INTEGER NOT NULL
    );
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE state = 'pending';
    CREATE INDEX deliveries_leases ON deliveries (lease_expires_at) WHERE state = 'in_flight';
    CREATE INDEX deliveries_open ON deliveries (endpoint_id, created_at, seq)
        WHERE state IN ('pending', 'in_flight');
    CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, created_at, seq);
    CREATE INDEX deliveries_message ON deliveries (message_id);
    CREATE INDEX deliveries_created ON deliveries (created_at, seq);

    CREATE TABLE attempts (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        delivery_id      TEXT NOT NULL,
        message_id       TEXT NOT NULL,
        endpoint_id      TEXT NOT NULL,
        number           INTEGER NOT NULL,
        at               INTEGER NOT NULL,
        duration_ms      INTEGER NOT NULL,
        status           INTEGER,
        error            TEXT,
        response_snippet TEXT,
        success          INTEGER NOT NULL
    );
    CREATE INDEX attempts_message ON attempts (message_id, at, seq);
    CREATE INDEX attempts_endpoint ON attempts (endpoint_id, at, seq);
    CREATE INDEX attempts_failed ON attempts (at, seq) WHERE success = 0;
    ",
];

// ---- errors and row mapping -------------------------------------------------------------------

fn db_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}

/// A duplicate key (not any constraint: a trigger's `RAISE` or a `CHECK` is a plain error).
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn closed() -> StoreError {
    StoreError::Backend("the SQLite writer thread has stopped".to_owned())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn corrupt_col(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        Box::new(StoreError::Corrupt(msg)),
    )
}

const DELIVERY_COLS: &str = "id, message_id, endpoint_id, state, attempts, next_attempt_at, \
     first_attempt_at, lease_owner, lease_expires_at, last_error, created_at, seq";

fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let state: String = row.get(3)?;
    let attempts: i64 = row.get(4)?;
    Ok(Delivery {
        id: row.get(0)?,
        message_id: row.get(1)?,
        endpoint_id: row.get(2)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| corrupt_col(3, format!("unknown delivery state {state:?}")))?,
        attempts: u32::try_from(attempts)
            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(4, attempts))?,
        next_attempt_at: row.get(5)?,
        first_attempt_at: row.get(6)?,
        lease_owner: row.get(7)?,
        lease_expires_at: row.get(8)?,
        last_error: row.get(9)?,
        created_at: row.get(10)?,
        seq: row.get(11)?,
    })
}

const MESSAGE_COLS: &str = "id, tenant, event_type, payload, idempotency_key, created_at";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        tenant: row.get(1)?,
        event_type: row.get(2)?,
        payload: row.get(3)?,
        idempotency_key: row.get(4)?,
        created_at: row.get(5)?,
    })
}

const ATTEMPT_COLS: &str = "id, delivery_id, message_id, endpoint_id, number, at, duration_ms, \
     status, error, response_snippet, success";

fn attempt_from_row(row: &Row<'_>) -> rusqlite::Result<Attempt> {
    let number: i64 = row.get(4)?;
    let duration: i64 = row.get(6)?;
    let status: Option<i64> = row.get(7)?;
    Ok(Attempt {
        id: row.get(0)?,
        delivery_id: row.get(1)?,
        message_id: row.get(2)?,
        endpoint_id: row.get(3)?,
        number: u32::try_from(number)
            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(4, number))?,
        at: row.get(5)?,
        duration_ms: u64::try_from(duration)
            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(6, duration))?,
        status: status
            .map(|s| u16::try_from(s).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(7, s)))
            .transpose()?,
        error: row.get(8)?,
        response_snippet: row.get(9)?,
        success: row.get(10)?,
    })
}

/// `(body, last_triggered_at)` → endpoint; the column is authoritative for
/// `last_triggered_at` (complete() updates it without rewriting the JSON).
fn endpoint_from_parts(body: &str, last_triggered_at: Option<i64>) -> StoreResult<Endpoint> {
    let mut e: Endpoint = serde_json::from_str(body)
        .map_err(|err| StoreError::Corrupt(format!("endpoint record: {err}")))?;
    e.last_triggered_at = last_triggered_at;
    Ok(e)
}

fn endpoint_body(e: &Endpoint) -> StoreResult<String> {
    serde_json::to_string(e).map_err(|err| StoreError::Corrupt(format!("endpoint record: {err}")))
}

// ---- the SQL of every operation (on a connection inside a transaction) ------------------------

fn get_endpoint_on(conn: &Connection, id: &str) -> StoreResult<Option<Endpoint>> {
    let row: Option<(String, Option<i64>)> = conn
        .prepare_cached("SELECT body, last_triggered_at FROM endpoints WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(db_err)?;
    row.map(|(body, ltr)| endpoint_from_parts(&body, ltr))
        .transpose()
}

/// Every endpoint of a tenant, oldest first (also read inside an outbox transaction).
fn list_endpoints_on(conn: &Connection, tenant: &str) -> StoreResult<Vec<Endpoint>> {
    let rows: Vec<(String, Option<i64>)> = conn
        .prepare_cached(
            "SELECT body, last_triggered_at FROM endpoints WHERE tenant = ?1 \
             ORDER BY created_at, rowid",
        )
        .and_then(|mut s| {
            s.query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
        })
        .map_err(db_err)?;
    rows.iter()
        .map(|(body, ltr)| endpoint_from_parts(body, *ltr))
        .collect()
}

fn write_endpoint_on(conn: &Connection, e: &Endpoint, insert: bool) -> StoreResult<()> {
    let body = endpoint_body(e)?;
    let sql = if insert {
        "INSERT INTO endpoints (id, tenant, enabled, created_at, last_triggered_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    } else {
        "UPDATE endpoints SET tenant = ?2, enabled = ?3, created_at = ?4, \
         last_triggered_at = ?5, body = ?6 WHERE id = ?1"
    };
    conn.prepare_cached(sql)
        .and_then(|mut s| {
            s.execute(params![
                e.id,
                e.tenant,
                e.is_enabled(),
                e.created_at,
                e.last_triggered_at,
                body
            ])
        })
        .map_err(|err| {
            if insert && is_unique_violation(&err) {
                StoreError::AlreadyExists {
                    kind: "endpoint",
                    id: e.id.clone(),
                }
            } else {
                db_err(err)
            }
        })?;
    Ok(())
}

fn get_delivery_on(conn: &Connection, id: &str) -> StoreResult<Option<Delivery>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], delivery_from_row).optional())
    .map_err(db_err)
}

fn get_message_on(conn: &Connection, id: &str) -> StoreResult<Option<Message>> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], message_from_row).optional())
    .map_err(db_err)
}

/// The enqueue SQL, shared by [`Store::enqueue`] and [`SqliteStore::enqueue_in_transaction`].
/// Runs inside the caller's transaction; does not roll back on error by itself.
fn enqueue_on(
    conn: &Connection,
    message: &NewMessage,
    deliveries: &[NewDelivery],
) -> StoreResult<EnqueueResult> {
    if let Some(key) = &message.idempotency_key {
        let existing: Option<String> = conn
            .prepare_cached("SELECT id FROM messages WHERE tenant = ?1 AND idempotency_key = ?2")
            .and_then(|mut s| {
                s.query_row(params![message.tenant, key], |r| r.get(0))
                    .optional()
            })
            .map_err(db_err)?;
        if let Some(message_id) = existing {
            return Ok(EnqueueResult::Duplicate { message_id });
        }
    }
    conn.prepare_cached(
        "INSERT INTO messages (id, tenant, event_type, payload, idempotency_key, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            message.id,
            message.tenant,
            message.event_type,
            message.payload,
            message.idempotency_key,
            message.created_at
        ])
    })
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists {
                kind: "message",
                id: message.id.clone(),
            }
        } else {
            db_err(e)
        }
    })?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO deliveries (id, message_id, endpoint_id, state, attempts, \
             next_attempt_at, created_at) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5)",
        )
        .map_err(db_err)?;
    for d in deliveries {
        stmt.execute(params![
            d.id,
            message.id,
            d.endpoint_id,
            d.next_attempt_at,
            message.created_at
        ])
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::AlreadyExists {
                    kind: "delivery",
                    id: d.id.clone(),
                }
            } else {
                db_err(e)
            }
        })?;
    }
    Ok(EnqueueResult::Created {
        message_id: message.id.clone(),
        deliveries: deliveries.len(),
    })
}

/// Runs `f` inside a savepoint of `conn`'s current transaction: all of it or none of it.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT hookwire_op")
        .map_err(db_err)?;
    match f() {
        Ok(v) => {
            conn.execute_batch("RELEASE hookwire_op").map_err(db_err)?;
            Ok(v)
        }
        Err(e) => {
            // Best effort: if the rollback itself fails, the surrounding transaction fails too.
            let _ = conn.execute_batch("ROLLBACK TO hookwire_op; RELEASE hookwire_op");
            Err(e)
        }
    }
}

/// Lease check: `Ok(delivery)` when `worker` holds it, `LeaseLost` or `NotFound` otherwise.
fn held_on(conn: &Connection, id: &str, worker: &str) -> StoreResult<Delivery> {
    let d = get_delivery_on(conn, id)?.ok_or_else(|| StoreError::NotFound {
        kind: "delivery",
        id: id.to_owned(),
    })?;
    if d.state == DeliveryState::InFlight && d.lease_owner.as_deref() == Some(worker) {
        Ok(d)
    } else {
        Err(StoreError::LeaseLost(id.to_owned()))
    }
}

fn claim_on(
    conn: &Connection,
    worker: &str,
    now: UnixMillis,
    lease: Duration,
    limit: usize,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let until = lease_deadline(now, lease);
    let page = limit.saturating_mul(2).max(32);
    let mut cursor = (i64::MIN, i64::MIN);
    let mut endpoints: HashMap<String, Option<Endpoint>> = HashMap::new();
    let mut fifo_heads: HashMap<String, Option<String>> = HashMap::new();
    let mut fifo_taken: HashSet<String> = HashSet::new();
    let mut candidates = conn
        .prepare_cached(
            "SELECT id, endpoint_id, next_attempt_at, seq FROM deliveries \
             WHERE state = 'pending' AND next_attempt_at <= ?1 AND (next_attempt_at, seq) > (?2, ?3) \
             UNION ALL \
             SELECT id, endpoint_id, next_attempt_at, seq FROM deliveries \
             WHERE state = 'in_flight' AND lease_expires_at <= ?1 AND (next_attempt_at, seq) > (?2, ?3) \
             ORDER BY 3, 4 LIMIT ?4",
        )
        .map_err(db_err)?;
    let mut fifo_head = conn
        .prepare_cached(
            "SELECT id FROM deliveries WHERE endpoint_id = ?1 AND state IN ('pending', 'in_flight') \
             ORDER BY created_at, seq LIMIT 1",
        )
        .map_err(db_err)?;
    let mut live_lease = conn
        .prepare_cached(
            "SELECT 1 FROM deliveries WHERE endpoint_id = ?1 AND state IN ('pending', 'in_flight') \
             AND state = 'in_flight' AND lease_expires_at > ?2 AND id <> ?3 LIMIT 1",
        )
        .map_err(db_err)?;
    let mut take = conn
        .prepare_cached(
            "UPDATE deliveries SET state = 'in_flight', lease_owner = ?2, lease_expires_at = ?3 \
             WHERE id = ?1",
        )
        .map_err(db_err)?;
    loop {
        let rows: Vec<(String, String, i64, i64)> = candidates
            .query_map(params![now, cursor.0, cursor.1, to_i64(page as u64)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        let exhausted = rows.len() < page;
        for (id, endpoint_id, next_at, seq) in rows {
            cursor = (next_at, seq);
            if !endpoints.contains_key(&endpoint_id) {
                let e = get_endpoint_on(conn, &endpoint_id)?;
                endpoints.insert(endpoint_id.clone(), e);
            }
            let Some(Some(endpoint)) = endpoints.get(&endpoint_id) else {
                continue;
            };
            if !endpoint.is_enabled() {
                continue;
            }
            if endpoint.fifo {
                // Only its head, and so at most one per FIFO endpoint per claim.
                if fifo_taken.contains(&endpoint_id) {
                    continue;
                }
                if !fifo_heads.contains_key(&endpoint_id) {
                    let head: Option<String> = fifo_head
                        .query_row([&endpoint_id], |r| r.get(0))
                        .optional()
                        .map_err(db_err)?;
                    fifo_heads.insert(endpoint_id.clone(), head);
                }
                if fifo_heads.get(&endpoint_id).and_then(Option::as_deref) != Some(id.as_str()) {
                    continue;
                }
                let busy = live_lease
                    .query_row(params![endpoint_id, now, id], |_| Ok(()))
                    .optional()
                    .map_err(db_err)?;
                if busy.is_some() {
                    continue;
                }
            }
            if endpoint.fifo {
                fifo_taken.insert(endpoint_id.clone());
            }
            take.execute(params![id, worker, until]).map_err(db_err)?;
            let delivery = get_delivery_on(conn, &id)?.ok_or_else(|| StoreError::NotFound {
                kind: "delivery",
                id: id.clone(),
            })?;
            let message = get_message_on(conn, &delivery.message_id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("delivery {id} refers to a missing message"))
            })?;
            out.push(ClaimedDelivery {
                delivery,
                message,
                endpoint: endpoint.clone(),
            });
            if out.len() >= limit {
                return Ok(out);
            }
        }
        if exhausted {
            return Ok(out);
        }
    }
}

fn complete_on(
    conn: &Connection,
    delivery_id: &str,
    worker: &str,
    attempt: &Attempt,
    completion: &Completion,
) -> StoreResult<()> {
    let d = held_on(conn, delivery_id, worker)?;
    conn.prepare_cached(&format!(
        "INSERT INTO attempts ({ATTEMPT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            attempt.id,
            attempt.delivery_id,
            attempt.message_id,
            attempt.endpoint_id,
            attempt.number,
            attempt.at,
            to_i64(attempt.duration_ms),
            attempt.status,
            attempt.error,
            attempt.response_snippet,
            attempt.success
        ])
    })
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists {
                kind: "attempt",
                id: attempt.id.clone(),
            }
        } else {
            db_err(e)
        }
    })?;
    let (state, retry_at) = match completion {
        Completion::Delivered => (DeliveryState::Delivered, None),
        Completion::Failed => (DeliveryState::Failed, None),
        Completion::Retry { at } => (DeliveryState::Pending, Some(*at)),
    };
    conn.prepare_cached(
        "UPDATE deliveries SET attempts = attempts + 1, \
         first_attempt_at = COALESCE(first_attempt_at, ?2), lease_owner = NULL, \
         lease_expires_at = NULL, last_error = ?3, state = ?4, \
         next_attempt_at = COALESCE(?5, next_attempt_at) WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            delivery_id,
            attempt.at,
            attempt_summary(attempt),
            state.as_str(),
            retry_at
        ])
    })
    .map_err(db_err)?;
    conn.prepare_cached(
        "UPDATE endpoints SET last_triggered_at = MAX(COALESCE(last_triggered_at, ?2), ?2) \
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![d.endpoint_id, attempt.at]))
    .map_err(db_err)?;
    Ok(())
}

fn list_deliveries_on(conn: &Connection, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
    let mut sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(e) = &filter.endpoint_id {
        args.push(Value::Text(e.clone()));
        sql.push_str(&format!(" AND endpoint_id = ?{}", args.len()));
    }
    if let Some(m) = &filter.message_id {
        args.push(Value::Text(m.clone()));
        sql.push_str(&format!(" AND message_id = ?{}", args.len()));
    }
    if let Some(s) = filter.state {
        args.push(Value::Text(s.as_str().to_owned()));
        sql.push_str(&format!(" AND state = ?{}", args.len()));
    }
    let limit = filter.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    args.push(Value::Integer(to_i64(limit as u64)));
    sql.push_str(&format!(
        " ORDER BY created_at DESC, seq DESC LIMIT ?{}",
        args.len()
    ));
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    stmt.query_map(rusqlite::params_from_iter(args), delivery_from_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

fn attempts_query(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    stmt.query_map(args, attempt_from_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

/// Applies the versioned schema in order; each version commits with its `user_version`.
fn migrate_on(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err)?;
    let known = MIGRATIONS.len();
    let current = usize::try_from(current)
        .map_err(|_| StoreError::Corrupt(format!("schema version {current}")))?;
    if current > known {
        return Err(StoreError::Corrupt(format!(
            "schema version {current} is newer than this library's {known}"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_err)?;
        // Re-check under the write lock: another process may have migrated meanwhile.
        let v: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        if usize::try_from(v).is_ok_and(|v| v > i) {
            continue;
        }
        tx.execute_batch(sql).map_err(db_err)?;
        tx.pragma_update(None, "user_version", to_i64(i as u64 + 1))
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

fn configure(conn: &Connection, file: bool) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    if file {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "could not switch to WAL (journal_mode is {mode})"
            )));
        }
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err)?;
    Ok(())
}

// ---- the writer thread ------------------------------------------------------------------------

/// One write job: runs in the batch transaction, answers after the commit.
trait WriteJob: Send {
    /// Runs the job; whether it succeeded (its savepoint is kept) or not (rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller with the job's result, or with `commit_error` if the batch failed.
    fn finish(self: Box<Self>, commit_error: Option<&StoreError>);
}

struct Job<T, F> {
    f: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        // A panicking closure (a user's `modify_endpoint` change) fails only its own job.
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| in_savepoint(conn, || f(conn))))
            .unwrap_or_else(|_| {
                // The savepoint may still be open after an unwind: drop its effects.
                let _ = conn.execute_batch("ROLLBACK TO hookwire_op; RELEASE hookwire_op");
                Err(StoreError::Backend("store operation panicked".to_owned()))
            });
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, commit_error: Option<&StoreError>) {
        let r = match (self.result, commit_error) {
            (Some(Err(e)), _) => Err(e),
            (_, Some(e)) => Err(StoreError::Backend(format!("commit failed: {e}"))),
            (Some(ok), None) => ok,
            (None, None) => Err(closed()),
        };
        // The caller may have gone away (its future was dropped); nothing to do then.
        let _ = self.reply.send(r);
    }
}

type BoxedJob = Box<dyn WriteJob>;

/// What the writer thread has done: see [`SqliteStore::write_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Write operations run (each `enqueue`, `claim`, `complete`, …, one job; on an in-memory
    /// store reads go through the writer too and count here). The two fields are read
    /// separately, so a snapshot taken while the writer runs may be off by one batch.
    pub writes: u64,
    /// Transactions committed (or tried) for them: one fsync each. With concurrent writers
    /// this is far below `writes`: jobs that arrive while a commit runs share the next one.
    pub transactions: u64,
}

#[derive(Debug, Default)]
struct WriteCounters {
    writes: std::sync::atomic::AtomicU64,
    transactions: std::sync::atomic::AtomicU64,
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<BoxedJob>, counters: Arc<WriteCounters>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters.writes.fetch_add(
            u64::try_from(batch.len()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        counters
            .transactions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        run_batch(&conn, batch);
    }
}

fn run_batch(conn: &Connection, mut batch: Vec<BoxedJob>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = db_err(e);
        for job in batch {
            job.finish(Some(&err));
        }
        return;
    }
    for job in &mut batch {
        job.run(conn);
    }
    let commit = conn.execute_batch("COMMIT").map_err(db_err);
    if commit.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let err = commit.err();
    for job in batch {
        job.finish(err.as_ref());
    }
}

// ---- read pool --------------------------------------------------------------------------------

#[derive(Debug)]
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> StoreResult<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match idle {
            Some(c) => Ok(c),
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(db_err)?;
                conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
                Ok(conn)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

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
                &self.readers.as_ref().map(|r| r.path.display().to_string()),
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
        migrate_on(&mut conn)?;
        Self::start(
            conn,
            Some(Arc::new(ReadPool {
                path,
                idle: Mutex::new(Vec::new()),
            })),
        )
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
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
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
        WriteStats {
            writes: self
                .counters
                .writes
                .load(std::sync::atomic::Ordering::Relaxed),
            transactions: self
                .counters
                .transactions
                .load(std::sync::atomic::Ordering::Relaxed),
        }
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

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.readers.as_ref().map(|r| r.path.as_path())
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
            return Err(StoreError::Backend(
                "the outbox transaction is no longer open".to_owned(),
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
            return Err(StoreError::Backend(
                "the database rolled back the whole transaction; the caller's writes are lost"
                    .to_owned(),
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
        let (reply, answer) = oneshot::channel();
        let job: BoxedJob = Box::new(Job {
            f: Some(f),
            result: None,
            reply,
        });
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
        .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
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
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn insert_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        let e = endpoint.clone();
        self.write(move |c| write_endpoint_on(c, &e, true)).await
    }

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
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2 \
                         WHERE id = ?1",
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
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3 \
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
