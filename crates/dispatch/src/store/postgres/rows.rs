//! Row ↔ record conversions of the PostgreSQL store.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::model::{Attempt, Delivery, DeliveryState, Endpoint, Message};
use crate::store::{StoreError, StoreResult};

fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx)
        .map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}")))
}

fn non_negative_u32(v: i32, what: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}: {v}")))
}

/// A delivery from [`super::sql::DELIVERY_COLS`] starting at column `at`.
pub(super) fn delivery(row: &Row, at: usize) -> StoreResult<Delivery> {
    let state: &str = get(row, at + 4)?;
    Ok(Delivery {
        seq: get(row, at)?,
        id: get(row, at + 1)?,
        message_id: get(row, at + 2)?,
        endpoint_id: get(row, at + 3)?,
        state: DeliveryState::parse(state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery state {state:?}")))?,
        attempts: non_negative_u32(get(row, at + 5)?, "attempt count")?,
        next_attempt_at: get(row, at + 6)?,
        first_attempt_at: get(row, at + 7)?,
        lease_owner: get(row, at + 8)?,
        lease_expires_at: get(row, at + 9)?,
        last_error: get(row, at + 10)?,
        created_at: get(row, at + 11)?,
        due_since: get(row, at + 12)?,
    })
}

/// A message from [`super::sql::MESSAGE_COLS`] starting at column `at`.
pub(super) fn message(row: &Row, at: usize) -> StoreResult<Message> {
    Ok(Message {
        id: get(row, at)?,
        tenant: get(row, at + 1)?,
        event_type: get(row, at + 2)?,
        payload: get(row, at + 3)?,
        idempotency_key: get(row, at + 4)?,
        created_at: get(row, at + 5)?,
    })
}

/// An endpoint from [`super::sql::ENDPOINT_COLS`] starting at column `at`: the JSON record,
/// with `last_triggered_at` taken from its own column when that is later.
pub(super) fn endpoint(row: &Row, at: usize) -> StoreResult<Endpoint> {
    let data: &str = get(row, at)?;
    let mut endpoint: Endpoint = serde_json::from_str(data)
        .map_err(|e| StoreError::Corrupt(format!("endpoint record: {e}")))?;
    let column: Option<i64> = get(row, at + 1)?;
    endpoint.last_triggered_at = endpoint.last_triggered_at.max(column);
    Ok(endpoint)
}

/// The JSON text stored in `endpoints.data`.
pub(super) fn endpoint_json(endpoint: &Endpoint) -> StoreResult<String> {
    serde_json::to_string(endpoint).map_err(|e| StoreError::Corrupt(format!("endpoint: {e}")))
}

/// An attempt from [`super::sql::ATTEMPT_COLS`].
pub(super) fn attempt(row: &Row) -> StoreResult<Attempt> {
    let status: Option<i32> = get(row, 7)?;
    let duration: i64 = get(row, 6)?;
    Ok(Attempt {
        id: get(row, 0)?,
        delivery_id: get(row, 1)?,
        message_id: get(row, 2)?,
        endpoint_id: get(row, 3)?,
        number: non_negative_u32(get(row, 4)?, "attempt number")?,
        at: get(row, 5)?,
        duration_ms: u64::try_from(duration)
            .map_err(|_| StoreError::Corrupt(format!("negative duration {duration}")))?,
        status: status
            .map(|s| u16::try_from(s).map_err(|_| StoreError::Corrupt(format!("HTTP status {s}"))))
            .transpose()?,
        error: get(row, 8)?,
        response_snippet: get(row, 9)?,
        success: get(row, 10)?,
    })
}
