//! The deliveries this process holds right now: what shutdown gives back and what the lease
//! keeper renews.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::AbortHandle;

use crate::model::UnixMillis;

/// One held delivery: the claim loop that holds its lease, until when, and the task
/// running it.
#[derive(Debug)]
struct Held {
    worker: Arc<str>,
    lease_until: UnixMillis,
    task: Option<AbortHandle>,
}

/// Deliveries claimed by this process and not yet finished (attempt recorded or given back).
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    map: Mutex<HashMap<String, Held>>,
    changed: Notify,
    finished: AtomicUsize,
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a claimed delivery held by `worker` until `lease_until`, with no task.
    #[cfg(test)]
    pub(crate) fn insert(&self, delivery: String, worker: &Arc<str>, lease_until: UnixMillis) {
        self.lock().insert(
            delivery,
            Held {
                worker: Arc::clone(worker),
                lease_until,
                task: None,
            },
        );
    }

    /// Notes a claimed delivery held by `worker` until `lease_until`, and the task `spawn`
    /// starts for it (under the lock, so the task's [`finish`](Self::finish) always finds
    /// the entry), in one lookup.
    pub(crate) fn insert_spawned(
        &self,
        delivery: String,
        worker: &Arc<str>,
        lease_until: UnixMillis,
        spawn: impl FnOnce() -> AbortHandle,
    ) {
        let mut map = self.lock();
        let task = Some(spawn());
        map.insert(
            delivery,
            Held {
                worker: Arc::clone(worker),
                lease_until,
                task,
            },
        );
    }

    /// `delivery` is finished: its result is recorded or it was given back.
    pub(crate) fn finish(&self, delivery: &str) {
        self.lock().remove(delivery);
        self.finished.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// How many deliveries finished since the process started.
    pub(crate) fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Deliveries held right now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Resolves on the next [`finish`](Self::finish) after it is enabled (pin and
    /// `enable` it before checking [`len`](Self::len)).
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// The held deliveries whose lease ends by `before`, grouped by the claim loop holding
    /// them (for lease renewal).
    pub(crate) fn expiring(&self, before: UnixMillis) -> Vec<(Arc<str>, Vec<String>)> {
        let map = self.lock();
        let mut groups: Vec<(Arc<str>, Vec<String>)> = Vec::new();
        for (delivery, held) in map.iter().filter(|(_, h)| h.lease_until <= before) {
            match groups.iter_mut().find(|(w, _)| *w == held.worker) {
                Some((_, ids)) => ids.push(delivery.clone()),
                None => groups.push((Arc::clone(&held.worker), vec![delivery.clone()])),
            }
        }
        groups
    }

    /// Notes that the leases of `deliveries` now run until `until`.
    pub(crate) fn renewed(&self, deliveries: &[String], until: UnixMillis) {
        let mut map = self.lock();
        for id in deliveries {
            if let Some(held) = map.get_mut(id) {
                held.lease_until = until;
            }
        }
    }

    /// Takes every held delivery out, aborting its task (shutdown past its deadline).
    pub(crate) fn abort_all(&self) -> Vec<(String, Arc<str>)> {
        let mut map = self.lock();
        map.drain()
            .map(|(delivery, held)| {
                if let Some(task) = held.task {
                    task.abort();
                }
                (delivery, held.worker)
            })
            .collect()
    }
}
