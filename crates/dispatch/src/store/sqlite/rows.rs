//! Row ↔ record conversions of the SQLite store, and its error mapping.

use rusqlite::Row;

use crate::model::{Attempt, Delivery, DeliveryState, Endpoint, Message};
use crate::store::{StoreError, StoreResult};

pub(super) fn db_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::backend(other),
    }
}

/// The fault an SQLite error is, if any (see [`StoreError::fault`]).
pub(crate) fn fault_of(e: &rusqlite::Error) -> Option<crate::store::StoreFault> {
    use crate::store::StoreFault;
    use rusqlite::ErrorCode;
    match e.sqlite_error_code()? {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(StoreFault::Busy),
        ErrorCode::ReadOnly => Some(StoreFault::ReadOnly),
        ErrorCode::DiskFull => Some(StoreFault::Full),
        ErrorCode::CannotOpen | ErrorCode::SystemIoFailure => Some(StoreFault::Unavailable),
        _ => None,
    }
}

/// A failed commit of a batch, for each job of the batch: the same SQLite code (so
/// [`StoreError::fault`] still says what happened), with the context.
pub(super) fn commit_err(e: &StoreError) -> StoreError {
    let code = match e {
        StoreError::Backend {
            source: Some(s), ..
        } => match s.downcast_ref::<rusqlite::Error>() {
            Some(rusqlite::Error::SqliteFailure(code, msg)) => Some((*code, msg.clone())),
            _ => None,
        },
        _ => None,
    };
    match code {
        Some((code, msg)) => {
            StoreError::backend_context("commit failed", rusqlite::Error::SqliteFailure(code, msg))
        }
        None => StoreError::backend_message(format!("commit failed: {e}")),
    }
}

/// A duplicate key (not any constraint: a trigger's `RAISE` or a `CHECK` is a plain error).
pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn corrupt_col(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        Box::new(StoreError::Corrupt(msg)),
    )
}

pub(super) const DELIVERY_COLS: &str = "id, message_id, endpoint_id, state, attempts, next_attempt_at, \
     first_attempt_at, lease_owner, lease_expires_at, last_error, created_at, seq, \
     COALESCE(due_since, created_at)";

pub(super) fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
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
        due_since: row.get(12)?,
    })
}

pub(super) const MESSAGE_COLS: &str =
    "id, tenant, event_type, payload, idempotency_key, created_at";

pub(super) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        tenant: row.get(1)?,
        event_type: row.get(2)?,
        payload: row.get(3)?,
        idempotency_key: row.get(4)?,
        created_at: row.get(5)?,
    })
}

pub(super) const ATTEMPT_COLS: &str = "id, delivery_id, message_id, endpoint_id, number, at, duration_ms, \
     status, error, response_snippet, success";

pub(super) fn attempt_from_row(row: &Row<'_>) -> rusqlite::Result<Attempt> {
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
pub(super) fn endpoint_from_parts(
    body: &str,
    last_triggered_at: Option<i64>,
) -> StoreResult<Endpoint> {
    let mut e: Endpoint = serde_json::from_str(body)
        .map_err(|err| StoreError::Corrupt(format!("endpoint record: {err}")))?;
    e.last_triggered_at = last_triggered_at;
    Ok(e)
}

pub(super) fn endpoint_body(e: &Endpoint) -> StoreResult<String> {
    serde_json::to_string(e).map_err(|err| StoreError::Corrupt(format!("endpoint record: {err}")))
}
