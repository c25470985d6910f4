//! The SQL of every operation shared by several store methods, run on a connection inside a
//! transaction (the writer's batch, a read connection, or a caller's outbox transaction).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{
    ATTEMPT_COLS, DELIVERY_COLS, MESSAGE_COLS, attempt_from_row, db_err, delivery_from_row,
    endpoint_body, endpoint_from_parts, is_unique_violation, message_from_row, to_i64,
};
use crate::model::{
    Attempt, ClaimedDelivery, Completion, Delivery, DeliveryFilter, DeliveryState, Endpoint,
    EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};
use crate::store::memory::{attempt_summary, lease_deadline};
use crate::store::{EndpointRewrite, RewriteBatch, StoreError, StoreResult};

/// Default page size of [`Store::list_deliveries`](crate::store::Store::list_deliveries).
const DEFAULT_LIST_LIMIT: usize = 100;

pub(super) fn get_endpoint_on(conn: &Connection, id: &str) -> StoreResult<Option<Endpoint>> {
    let row: Option<(String, Option<i64>)> = conn
        .prepare_cached("SELECT body, last_triggered_at FROM endpoints WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(db_err)?;
    row.map(|(body, ltr)| endpoint_from_parts(&body, ltr))
        .transpose()
}

/// Every endpoint of a tenant, oldest first (also read inside an outbox transaction).
pub(super) fn list_endpoints_on(conn: &Connection, tenant: &str) -> StoreResult<Vec<Endpoint>> {
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

/// One batch of [`Store::rewrite_endpoints`](crate::store::Store::rewrite_endpoints): up to
/// `limit` endpoints after `after` in id order, the changed ones written back.
pub(super) fn rewrite_endpoints_on(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
    rewrite: &mut EndpointRewrite,
) -> StoreResult<RewriteBatch> {
    let rows: Vec<(String, Option<i64>)> = conn
        .prepare_cached(
            "SELECT body, last_triggered_at FROM endpoints \
             WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(
                params![after, to_i64(u64::try_from(limit).unwrap_or(u64::MAX))],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .and_then(|rows| rows.collect())
        })
        .map_err(db_err)?;
    let mut batch = RewriteBatch {
        seen: rows.len(),
        ..RewriteBatch::default()
    };
    for (body, ltr) in rows {
        let mut e = endpoint_from_parts(&body, ltr)?;
        let id = e.id.clone();
        if rewrite(&mut e) {
            // The id is the key; a rewrite cannot move the record.
            e.id.clone_from(&id);
            write_endpoint_on(conn, &e, false)?;
            batch.rewritten += 1;
        }
        batch.last_id = Some(id);
    }
    Ok(batch)
}

pub(super) fn write_endpoint_on(conn: &Connection, e: &Endpoint, insert: bool) -> StoreResult<()> {
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

pub(super) fn get_delivery_on(conn: &Connection, id: &str) -> StoreResult<Option<Delivery>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], delivery_from_row).optional())
    .map_err(db_err)
}

pub(super) fn get_message_on(conn: &Connection, id: &str) -> StoreResult<Option<Message>> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], message_from_row).optional())
    .map_err(db_err)
}

/// The enqueue SQL, shared by [`Store::enqueue`](crate::store::Store::enqueue) and
/// [`SqliteStore::enqueue_in_transaction`](super::SqliteStore::enqueue_in_transaction).
/// Runs inside the caller's transaction; does not roll back on error by itself.
pub(super) fn enqueue_on(
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
             next_attempt_at, due_since, created_at) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4, ?5)",
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
pub(super) fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce() -> StoreResult<T>,
) -> StoreResult<T> {
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
pub(super) fn held_on(conn: &Connection, id: &str, worker: &str) -> StoreResult<Delivery> {
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

pub(super) fn claim_on(
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

pub(super) fn complete_on(
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

pub(super) fn list_deliveries_on(
    conn: &Connection,
    filter: &DeliveryFilter,
) -> StoreResult<Vec<Delivery>> {
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
    if let Some(t) = filter.created_from {
        args.push(Value::Integer(t));
        sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
    }
    if let Some(t) = filter.created_before {
        args.push(Value::Integer(t));
        sql.push_str(&format!(" AND created_at < ?{}", args.len()));
    }
    if let Some((at, seq)) = filter.after {
        args.push(Value::Integer(at));
        args.push(Value::Integer(seq));
        let n = args.len();
        sql.push_str(&format!(" AND (created_at, seq) < (?{}, ?{n})", n - 1));
    }
    // Tenant and event type live on the message: a correlated primary-key probe per row keeps
    // the scan on the (created_at, seq) or (endpoint_id, created_at, seq) index, in order.
    if filter.tenant.is_some() || filter.event_type.is_some() {
        sql.push_str(" AND EXISTS (SELECT 1 FROM messages m WHERE m.id = deliveries.message_id");
        if let Some(t) = &filter.tenant {
            args.push(Value::Text(t.clone()));
            sql.push_str(&format!(" AND m.tenant = ?{}", args.len()));
        }
        if let Some(e) = &filter.event_type {
            args.push(Value::Text(e.clone()));
            sql.push_str(&format!(" AND m.event_type = ?{}", args.len()));
        }
        sql.push(')');
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

pub(super) fn attempts_query(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    stmt.query_map(args, attempt_from_row)
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}
