//! The writer thread: the one writing connection, running queued jobs in group-committed
//! batches (one transaction and one fsync for everything queued meanwhile).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::queries::in_savepoint;
use super::rows::db_err;
use crate::store::{StoreError, StoreResult};

/// Most write jobs committed in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

pub(super) fn closed() -> StoreError {
    StoreError::backend_message("the SQLite writer thread has stopped")
}

/// One write job: runs in the batch transaction, answers after the commit.
pub(super) trait WriteJob: Send {
    /// Runs the job; whether it succeeded (its savepoint is kept) or not (rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller with the job's result, or with `commit_error` if the batch failed.
    fn finish(self: Box<Self>, commit_error: Option<&StoreError>);
    /// Whether the job runs alone, between batches and outside any transaction.
    fn outside_transaction(&self) -> bool {
        false
    }
    /// The job's error, once it ran and failed.
    fn error(&self) -> Option<&StoreError> {
        None
    }
}

/// One closure to run on the writer connection, answering on its channel.
pub(super) struct Job<T, F> {
    f: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
    /// Run alone between batches, outside any transaction (connection settings).
    outside: bool,
}

impl<T, F> Job<T, F> {
    /// A job running `f` inside the writer's batch and answering on `reply`.
    pub(super) fn new(f: F, reply: oneshot::Sender<StoreResult<T>>) -> Self {
        Self {
            f: Some(f),
            result: None,
            reply,
            outside: false,
        }
    }

    /// A job running `f` alone between batches, outside any transaction.
    pub(super) fn direct(f: F, reply: oneshot::Sender<StoreResult<T>>) -> Self {
        Self {
            outside: true,
            ..Self::new(f, reply)
        }
    }
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
        let panicked = || Err(StoreError::backend_message("store operation panicked"));
        let r = if self.outside {
            std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| panicked())
        } else {
            // A panicking closure (a user's `modify_endpoint` change) fails only its own job.
            std::panic::catch_unwind(AssertUnwindSafe(|| in_savepoint(conn, || f(conn))))
                .unwrap_or_else(|_| {
                    // The savepoint may still be open after an unwind: drop its effects.
                    let _ = conn.execute_batch("ROLLBACK TO hookwire_op; RELEASE hookwire_op");
                    panicked()
                })
        };
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, commit_error: Option<&StoreError>) {
        let r = match (self.result, commit_error) {
            (Some(Err(e)), _) => Err(e),
            (_, Some(e)) => Err(super::rows::commit_err(e)),
            (Some(ok), None) => ok,
            (None, None) => Err(closed()),
        };
        // The caller may have gone away (its future was dropped); nothing to do then.
        let _ = self.reply.send(r);
    }

    fn outside_transaction(&self) -> bool {
        self.outside
    }

    fn error(&self) -> Option<&StoreError> {
        self.result.as_ref().and_then(|r| r.as_ref().err())
    }
}

pub(super) type BoxedJob = Box<dyn WriteJob>;

/// What the writer thread has done: see [`SqliteStore::write_stats`](super::SqliteStore::write_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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
pub(super) struct WriteCounters {
    writes: AtomicU64,
    transactions: AtomicU64,
}

impl WriteCounters {
    /// The counts so far.
    pub(super) fn snapshot(&self) -> WriteStats {
        WriteStats {
            writes: self.writes.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
        }
    }
}

pub(super) fn writer_loop(
    conn: Connection,
    jobs: mpsc::Receiver<BoxedJob>,
    counters: Arc<WriteCounters>,
) {
    while let Ok(first) = jobs.recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if job.outside_transaction() {
                let mut job = job;
                job.run(&conn);
                job.finish(None);
                continue;
            }
            let mut batch = vec![job];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    // Runs after this batch, alone.
                    Ok(job) if job.outside_transaction() => {
                        next = Some(job);
                        break;
                    }
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            counters.writes.fetch_add(
                u64::try_from(batch.len()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            counters.transactions.fetch_add(1, Ordering::Relaxed);
            run_batch(&conn, batch);
        }
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
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back on this job's error (SQLITE_FULL,
            // SQLITE_IOERR, …): the jobs before it are undone and the ones after it must
            // not run outside a transaction. Every job fails with that error.
            let err = job.error().map_or_else(
                || StoreError::backend_message("the transaction was rolled back"),
                super::rows::commit_err,
            );
            for job in batch {
                job.finish(Some(&err));
            }
            return;
        }
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
