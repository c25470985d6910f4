//! The SQLite schema: versioned migrations (tracked in `PRAGMA user_version`) and the
//! connection settings every writing connection gets.

use rusqlite::Connection;

use super::BUSY_TIMEOUT;
use super::rows::{db_err, to_i64};
use crate::store::{StoreError, StoreResult};

/// The schema, one entry per version: `MIGRATIONS[i]` moves a database from version `i` to
/// `i + 1`. Append new versions; never edit a released one.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // v2: retention walks messages oldest first.
    r"
    CREATE INDEX messages_created ON messages (created_at);
    ",
    // v3: when a delivery last became due from the start (latency is measured from it).
    // Rows written before it read as due since their creation.
    r"
    ALTER TABLE deliveries ADD COLUMN due_since INTEGER;
    ",
];

/// Applies the versioned schema in order; each version commits with its `user_version`.
pub(super) fn migrate_on(conn: &mut Connection) -> StoreResult<()> {
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

pub(super) fn configure(conn: &Connection, file: bool) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    if file {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::backend_message(format!(
                "could not switch to WAL (journal_mode is {mode})"
            )));
        }
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err)?;
    Ok(())
}
