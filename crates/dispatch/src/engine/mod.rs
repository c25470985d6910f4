//! The delivery engine: everything that runs once the dispatcher is started.
//!
//! - [`Engine`] holds the shared state and the [`Settings`], built once by
//!   [`DispatcherBuilder`](crate::DispatcherBuilder); the registry and the outbox read them
//!   through its accessors.
//! - [`claim`]: the claim loops (claim due deliveries, hand each to a task), shutdown's drain.
//! - [`backoff`]: while the store fails, the claim loops' backoff and the bounded failure log.
//! - [`attempt`]: one attempt as named steps: admit → build request → send → decide → record.
//! - [`completions`]: group commit of attempt results (one store call for those that
//!   arrive while another write is under way).
//! - [`health`]: endpoint health after each attempt (buffered successes, auto-disable).
//! - [`leases`]: the lease keeper (renews every held lease in one batch per store).
//! - [`prepared`]: per-endpoint parts of a request (signer, URL, fixed headers, auth), built
//!   from the decrypted endpoint and cached.
//! - [`ready`]: the at-rest pass over the store before first use, and reencryption.
//! - [`gates`]: runtime gates per endpoint (in-flight limit, rate limit).
//! - [`clock`]: the time source the engine reads, so its timing is unit-testable.
//!
//! Imports flow one way: `dispatcher` and `registry` use the engine; the engine uses the
//! store, the transport and the models, never the public types above it.

pub(crate) mod attempt;
pub(crate) mod backoff;
pub(crate) mod claim;
pub(crate) mod clock;
pub(crate) mod completions;
pub(crate) mod gates;
pub(crate) mod health;
pub(crate) mod in_flight;
pub(crate) mod leases;
pub(crate) mod prepared;
pub(crate) mod ready;
pub(crate) mod settings;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

pub(crate) use clock::{Clock, SystemClock};
pub(crate) use settings::Settings;

use crate::at_rest::AtRest;
use crate::model::{UnixMillis, new_id};
use crate::ssrf::SsrfGuard;
use crate::store::Store;
use crate::transport::Transport;

/// The shared state of one dispatcher: its store, transport, settings and clock, and the
/// runtime state of its claim loops. One per dispatcher, behind an `Arc`.
pub(crate) struct Engine {
    store: Arc<dyn Store>,
    /// The encryption keys (none: records in the clear).
    at_rest: AtRest,
    /// Set once the at-rest pass over the store succeeded.
    ready: tokio::sync::OnceCell<()>,
    transport: Transport,
    guard: Arc<SsrfGuard>,
    settings: Settings,
    clock: Arc<dyn Clock>,
    /// This process's name in lease owners (`wrk_…`); claim loop `n` is `wrk_…-n`.
    instance: String,
    /// Wakes idle claim loops (work queued by this process, a FIFO delivery finished).
    wake: Notify,
    /// The global concurrency limit: one permit per held delivery, from claim to recorded.
    permits: Arc<Semaphore>,
    gates: Arc<gates::Gates>,
    in_flight: in_flight::InFlight,
    health: health::HealthBuffer,
    prepared: prepared::PreparedCache,
    /// Store failures of every task, logged in bounded form.
    fault_log: backoff::FaultLog,
    /// Group commit of attempt results.
    completions: completions::Completions,
    started: AtomicBool,
    stopping: AtomicBool,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store)
            .field("instance", &self.instance)
            .field("workers", &self.settings.workers)
            .field("concurrency", &self.settings.concurrency)
            .finish_non_exhaustive()
    }
}

/// What [`Engine::shutdown`] did with the deliveries held at the signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Finished before the deadline (recorded, or given back by their own attempt).
    pub(crate) finished: usize,
    /// Given back unattempted because the deadline passed.
    pub(crate) released: usize,
}

impl Engine {
    /// An engine over `store` that is not running yet.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        at_rest: AtRest,
        transport: Transport,
        guard: Arc<SsrfGuard>,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            store,
            at_rest,
            ready: tokio::sync::OnceCell::new(),
            transport,
            guard,
            permits: Arc::new(Semaphore::new(settings.concurrency)),
            settings,
            clock,
            instance: new_id("wrk"),
            wake: Notify::new(),
            gates: Arc::default(),
            in_flight: in_flight::InFlight::default(),
            health: health::HealthBuffer::default(),
            prepared: prepared::PreparedCache::default(),
            fault_log: backoff::FaultLog::default(),
            completions: completions::Completions::default(),
            started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            shutdown,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// The store.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The encryption keys: seal before writing an endpoint, open after reading one.
    pub(crate) fn at_rest(&self) -> &AtRest {
        &self.at_rest
    }

    /// The transport.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The SSRF guard.
    pub(crate) fn guard(&self) -> &SsrfGuard {
        &self.guard
    }

    /// The settings.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The current time from the engine's clock.
    pub(crate) fn now_millis(&self) -> UnixMillis {
        self.clock.now_millis()
    }

    /// This process's lease-owner prefix.
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether shutdown has begun.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Wakes idle claim loops.
    pub(crate) fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// Forgets what the engine cached about a deleted endpoint.
    pub(crate) fn forget_endpoint(&self, endpoint_id: &str) {
        self.prepared.forget(endpoint_id);
    }

    /// Spawns the claim loops, the lease keeper and the housekeeping task on the current
    /// runtime. `Err(true)`: shutting down; `Err(false)`: started already.
    pub(crate) fn start(self: &Arc<Self>) -> Result<(), bool> {
        if self.is_stopping() {
            return Err(true);
        }
        if self.started.swap(true, Ordering::SeqCst) {
            return Err(false);
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for n in 0..self.settings.workers {
            tasks.push(tokio::spawn(claim::run(Arc::clone(self), n)));
        }
        tasks.push(tokio::spawn(leases::keep(Arc::clone(self))));
        tasks.push(tokio::spawn(housekeeping(Arc::clone(self))));
        if let Some(rules) = self.settings.retention {
            tasks.push(tokio::spawn(crate::retention::run_loop(
                Arc::clone(&self.store),
                rules,
                self.shutdown.subscribe(),
            )));
        }
        Ok(())
    }

    /// Stops claiming, waits up to `deadline` for held deliveries to finish, gives the rest
    /// back, stops every task and writes the buffered health.
    pub(crate) async fn shutdown(self: &Arc<Self>, deadline: Duration) -> Drained {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        self.wake();
        let drained = claim::drain(self, deadline).await;
        let tasks: Vec<JoinHandle<()>> = {
            let mut t = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            t.drain(..).collect()
        };
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
        self.flush_health().await;
        self.refresh_queue_gauge().await;
        drained
    }

    /// Sets the queue-depth gauge from the store (periodically, and once more at shutdown so
    /// the last value is not a stale one from before the drain).
    async fn refresh_queue_gauge(&self) {
        if let Ok(depth) = self.store.queue_depth().await {
            metrics::gauge!(crate::metrics::QUEUE_DEPTH).set(depth as f64);
        }
    }
}

/// Housekeeping: the queue-depth gauge and buffered health writes.
async fn housekeeping(engine: Arc<Engine>) {
    let mut shutdown = engine.shutdown.subscribe();
    let every = engine.settings.health_flush.max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        engine.refresh_queue_gauge().await;
        engine.flush_health().await;
    }
}
