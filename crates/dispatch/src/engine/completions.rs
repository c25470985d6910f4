//! Group commit of attempt results: completions that arrive while others are being written
//! go to the store together, in one [`Store::complete_batch`] call.
//!
//! No task and no timer: the attempt that finds a free writer slot writes its own completion
//! at once, together with whatever is queued by then, so a lone completion is never delayed.
//! Attempts that find every slot busy queue up; a writer that finishes hands its slot to the
//! first of them, which writes everything queued meanwhile. Each attempt learns its own
//! result only after the batch holding it is committed, and keeps its permit and its lease
//! until then, so nothing is acknowledged before it is durable, and what is in flight or
//! written-but-uncommitted at a crash is at most the concurrency limit.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::model::CompletedAttempt;
use crate::store::{Store, StoreError, StoreResult};

/// Most batches written at once (each is one store call, so one connection of a pool).
const WRITERS: usize = 4;
/// Most completions in one batch.
const MAX_BATCH: usize = 256;

/// What a queued completion is told.
enum Turn {
    /// Its batch was written: this is its result.
    Done(StoreResult<()>),
    /// A writer slot passed to it: write the queue, starting with this (its own) item.
    Lead(CompletedAttempt),
}

struct Waiting {
    item: CompletedAttempt,
    reply: oneshot::Sender<Turn>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    /// Writer slots taken.
    writers: usize,
}

/// The completion queue of one engine.
#[derive(Default)]
pub(crate) struct Completions {
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for Completions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Completions { .. }")
    }
}

impl Completions {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `item` in `store` (alone or in a batch) and returns its own result once the
    /// batch holding it is committed.
    pub(crate) async fn record(
        &self,
        store: &dyn Store,
        item: CompletedAttempt,
    ) -> StoreResult<()> {
        self.record_with(item, |batch| store.complete_batch(batch))
            .await
    }

    /// [`record`](Self::record) with `write` in place of the store's batch completion.
    async fn record_with<F, Fut>(&self, item: CompletedAttempt, write: F) -> StoreResult<()>
    where
        F: FnOnce(Vec<CompletedAttempt>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<StoreResult<()>>>>,
    {
        let waiting = {
            let mut q = self.lock();
            if q.writers < WRITERS {
                q.writers += 1;
                Err(item)
            } else {
                let (reply, turn) = oneshot::channel();
                q.waiting.push_back(Waiting { item, reply });
                Ok(turn)
            }
        };
        let own = match waiting {
            Err(item) => item,
            Ok(turn) => match turn.await {
                Ok(Turn::Done(result)) => return result,
                Ok(Turn::Lead(item)) => item,
                Err(_) => {
                    return Err(StoreError::backend_message(
                        "the write of this completion was cancelled; it may not be recorded",
                    ));
                }
            },
        };
        self.lead(own, write).await
    }

    /// Holding a writer slot: writes `own` and what is queued, answers the others, and
    /// passes the slot on (also when cancelled, through [`Slot`]'s drop).
    async fn lead<F, Fut>(&self, own: CompletedAttempt, write: F) -> StoreResult<()>
    where
        F: FnOnce(Vec<CompletedAttempt>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<StoreResult<()>>>>,
    {
        let mut slot = Slot {
            completions: self,
            replies: Vec::new(),
        };
        let mut items = vec![own];
        {
            let mut q = self.lock();
            while items.len() < MAX_BATCH {
                let Some(w) = q.waiting.pop_front() else {
                    break;
                };
                items.push(w.item);
                slot.replies.push(w.reply);
            }
        }
        let n = items.len();
        let written = write(items).await;
        let replies = std::mem::take(&mut slot.replies);
        let own = match written {
            Ok(results) if results.len() == n => {
                let mut results = results.into_iter();
                let own = results
                    .next()
                    .unwrap_or_else(|| Err(StoreError::backend_message("no result")));
                for (reply, result) in replies.into_iter().zip(results) {
                    // A waiter that went away (its task was aborted) needs no answer.
                    let _ = reply.send(Turn::Done(result));
                }
                own
            }
            Ok(results) => {
                let e = format!(
                    "the store answered {} results for {n} completions",
                    results.len()
                );
                for reply in replies {
                    let _ = reply.send(Turn::Done(Err(StoreError::backend_message(e.clone()))));
                }
                Err(StoreError::backend_message(e))
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Turn::Done(Err(StoreError::backend_message(format!(
                        "recording a batch of {n} completions failed: {e}"
                    )))));
                }
                Err(e)
            }
        };
        drop(slot);
        own
    }
}

/// A writer slot. Dropping it passes the slot to the first queued completion still
/// waiting, or frees it. Replies still held (the write was cancelled) are dropped, which
/// tells those waiters that their result is unknown.
struct Slot<'a> {
    completions: &'a Completions,
    replies: Vec<oneshot::Sender<Turn>>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.replies.clear();
        let mut q = self.completions.lock();
        while let Some(w) = q.waiting.pop_front() {
            // A waiter that went away takes its item with it: never written, so its
            // delivery is sent again after its lease.
            if w.reply.send(Turn::Lead(w.item)).is_ok() {
                return;
            }
        }
        q.writers = q.writers.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::model::{Attempt, Completion};

    fn item(n: usize) -> CompletedAttempt {
        CompletedAttempt::new(
            "w",
            Attempt {
                id: format!("att_{n}"),
                delivery_id: format!("dlv_{n}"),
                message_id: "msg".to_owned(),
                endpoint_id: "ep".to_owned(),
                number: 1,
                at: 0,
                duration_ms: 1,
                status: Some(200),
                error: None,
                response_snippet: None,
                success: true,
            },
            Completion::Delivered,
        )
    }

    /// A writer that records batch sizes, waits for a permit per batch, and refuses the
    /// delivery `dlv_13`.
    struct Writer {
        sizes: std::sync::Mutex<Vec<usize>>,
        gate: Semaphore,
    }

    impl Writer {
        async fn write(&self, batch: Vec<CompletedAttempt>) -> StoreResult<Vec<StoreResult<()>>> {
            self.sizes.lock().unwrap().push(batch.len());
            self.gate.acquire().await.unwrap().forget();
            Ok(batch
                .iter()
                .map(|c| match c.attempt.delivery_id.as_str() {
                    "dlv_13" => Err(StoreError::LeaseLost("dlv_13".to_owned())),
                    _ => Ok(()),
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn lone_completion_is_written_at_once_and_a_crowd_in_one_batch() {
        let c = Arc::new(Completions::default());
        let w = Arc::new(Writer {
            sizes: std::sync::Mutex::new(Vec::new()),
            gate: Semaphore::new(1),
        });
        // Alone: written at once (the gate has one permit).
        c.record_with(item(0), |b| w.write(b)).await.unwrap();
        assert_eq!(*w.sizes.lock().unwrap(), [1]);
        // Every writer slot busy (their writes wait at the gate), then 20 more arrive.
        let mut tasks = Vec::new();
        for n in 1..=(WRITERS + 20) {
            let (c, w) = (Arc::clone(&c), Arc::clone(&w));
            tasks.push(tokio::spawn(async move {
                c.record_with(item(n), |b| w.write(b)).await
            }));
            tokio::task::yield_now().await;
        }
        while w.sizes.lock().unwrap().len() < 1 + WRITERS || c.lock().waiting.len() < 20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Nothing is answered before its write finished.
        assert!(tasks.iter().all(|t| !t.is_finished()));
        w.gate.add_permits(100);
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let sizes = w.sizes.lock().unwrap().clone();
        assert_eq!(sizes[..1 + WRITERS], [1; 1 + WRITERS]);
        // The 20 that queued went in batches, far fewer than 20 writes.
        assert_eq!(sizes[1 + WRITERS..].iter().sum::<usize>(), 20);
        assert!(sizes.len() - 1 - WRITERS <= WRITERS, "{sizes:?}");
        // Each got its own result.
        for (n, r) in (1..).zip(&results) {
            assert_eq!(r.is_ok(), n != 13, "{n}: {r:?}");
        }
        assert_eq!(c.lock().writers, 0);
        assert!(c.lock().waiting.is_empty());
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_items() {
        let c = Completions::default();
        let r = c
            .record_with(item(1), |_| async {
                Err(StoreError::backend_message("disk full"))
            })
            .await;
        assert!(matches!(r, Err(StoreError::Backend { .. })), "{r:?}");
        assert_eq!(c.lock().writers, 0);
    }
}
