//! Retention on SQLite: the purge step and giving the freed pages back to the file system.
//!
//! The file uses `auto_vacuum = INCREMENTAL`: pages freed by a purge go on SQLite's free list
//! and [`reclaim_on`] truncates up to N of them off the end of the file per call
//! (`PRAGMA incremental_vacuum(N)`), one short write each. A file created before this setting
//! is converted once, at open, by a full `VACUUM` ([`ensure_incremental_vacuum`]).

use rusqlite::{Connection, params};

use super::rows::db_err;
use crate::model::UnixMillis;
use crate::store::{PurgeCutoffs, PurgeReport, StoreResult};

/// `PRAGMA auto_vacuum` value for INCREMENTAL.
const INCREMENTAL: i64 = 2;

/// Makes sure the file reclaims space incrementally: a file that does not yet is rebuilt by
/// `VACUUM` once (instant when new; for an existing file it takes as long as copying it and
/// needs as much free disk space).
pub(super) fn ensure_incremental_vacuum(conn: &Connection) -> StoreResult<()> {
    let mode: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .map_err(db_err)?;
    if mode == INCREMENTAL {
        return Ok(());
    }
    // The setting takes effect on a file that has its first page (WAL mode wrote it) only
    // through VACUUM, which is instant on a new file.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .map_err(db_err)?;
    conn.execute_batch("VACUUM").map_err(db_err)?;
    Ok(())
}

/// The ids of up to `limit` messages created before `cutoff`, all of whose deliveries are in
/// `ended` states, with no attempt at or after `cutoff`; oldest first.
fn doomed(
    conn: &Connection,
    cutoff: UnixMillis,
    ended: &str,
    limit: usize,
) -> StoreResult<Vec<String>> {
    let sql = format!(
        "SELECT m.id FROM messages m WHERE m.created_at < ?1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id \
           AND d.state NOT IN ({ended})) \
         AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = m.id AND a.at >= ?1) \
         ORDER BY m.created_at LIMIT ?2"
    );
    let mut st = conn.prepare_cached(&sql).map_err(db_err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    st.query_map(params![cutoff, limit], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

/// One purge step (runs inside the writer's transaction).
pub(super) fn purge_on(
    conn: &Connection,
    cutoffs: &PurgeCutoffs,
    limit: usize,
) -> StoreResult<PurgeReport> {
    let limit = limit.max(1);
    let mut report = PurgeReport::default();
    let passes = [
        (cutoffs.delivered_before, "'delivered'"),
        (cutoffs.failed_before, "'delivered', 'failed'"),
    ];
    for (cutoff, ended) in passes {
        let room = limit.saturating_sub(usize::try_from(report.messages).unwrap_or(usize::MAX));
        if room == 0 {
            break;
        }
        for id in doomed(conn, cutoff, ended, room)? {
            let n = |sql: &str| -> StoreResult<u64> {
                let mut st = conn.prepare_cached(sql).map_err(db_err)?;
                st.execute(params![id]).map(|n| n as u64).map_err(db_err)
            };
            report.attempts += n("DELETE FROM attempts WHERE message_id = ?1")?;
            report.deliveries += n("DELETE FROM deliveries WHERE message_id = ?1")?;
            report.messages += n("DELETE FROM messages WHERE id = ?1")?;
        }
    }
    if let Some(before) = cutoffs.payloads_before {
        let mut st = conn
            .prepare_cached(
                "UPDATE messages SET payload = X'' WHERE id IN (SELECT m.id FROM messages m \
                 WHERE m.created_at < ?1 AND length(m.payload) > 0 \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id \
                   AND d.state IN ('pending', 'in_flight')) \
                 ORDER BY m.created_at LIMIT ?2)",
            )
            .map_err(db_err)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        report.payloads = st.execute(params![before, limit]).map_err(db_err)? as u64;
    }
    Ok(report)
}

/// Truncates up to `pages` free pages off the file; whether free pages remain.
pub(super) fn reclaim_on(conn: &Connection, pages: u32) -> StoreResult<bool> {
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({})", pages.max(1)))
        .map_err(db_err)?;
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .map_err(db_err)?;
    Ok(free > 0)
}
