//! The read pool: read-only connections reused across reads (WAL readers never wait for the
//! writer).

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use super::BUSY_TIMEOUT;
use super::rows::db_err;
use crate::store::StoreResult;

/// Read connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;

/// Read-only connections to one database file, opened on demand.
#[derive(Debug)]
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    /// A pool over the file at `path` (no connection opened yet).
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The database file.
    pub(super) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// An idle connection, or a new one.
    pub(super) fn take(&self) -> StoreResult<Connection> {
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

    /// Returns a connection for reuse (closed if enough are idle).
    pub(super) fn give_back(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}
