//! Retention: how long delivered and failed messages are kept, run by the dispatcher in the
//! background on every store.
//!
//! Every [`Retention::every`] the dispatcher calls [`Store::purge`] with the cutoffs of
//! [`Retention::cutoffs`] until a step removes less than a batch, pausing between steps so
//! claims and completions always get the store in between, then asks the store to give the
//! freed space back ([`Store::reclaim_space`]: SQLite's incremental vacuum). Each step is one
//! short transaction that only touches messages all of whose deliveries ended.

use std::time::Duration;

use crate::metrics as m;
use crate::model::UnixMillis;
use crate::store::{PurgeCutoffs, PurgeReport, Store, StoreResult};

const DAY: Duration = Duration::from_secs(86_400);

/// How long history is kept. Give it to
/// [`DispatcherBuilder::retention`](crate::DispatcherBuilder::retention).
///
/// | setting | default |
/// |---|---|
/// | delivered messages (with their deliveries and attempts) | 30 days |
/// | messages with a failed delivery | 90 days (long enough to `recover` them) |
/// | payloads of ended messages | kept as long as the message |
/// | run every | 1 hour (and once at start) |
/// | messages per step | 500 |
/// | pause between steps | 20 ms |
///
/// Ages count from the message's creation, and a message with an attempt younger than the
/// age (a recent redelivery) is kept.
///
/// ```
/// use std::time::Duration;
/// use hookwire_dispatch::Retention;
///
/// let day = Duration::from_secs(86_400);
/// let rules = Retention::new().delivered_for(7 * day).drop_payloads_after(day);
/// assert_eq!(rules.cutoffs(10 * 86_400_000).delivered_before, 3 * 86_400_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Retention {
    delivered: Duration,
    failed: Duration,
    payloads: Option<Duration>,
    every: Duration,
    batch: usize,
    pause: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            delivered: 30 * DAY,
            failed: 90 * DAY,
            payloads: None,
            every: Duration::from_secs(3600),
            batch: 500,
            pause: Duration::from_millis(20),
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Retention {
    /// The defaults (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps delivered messages this long. Default 30 days.
    pub fn delivered_for(mut self, age: Duration) -> Self {
        self.delivered = age;
        self
    }

    /// Keeps messages with a failed delivery this long. Default 90 days.
    pub fn failed_for(mut self, age: Duration) -> Self {
        self.failed = age;
        self
    }

    /// Drops the payload of ended messages older than `age`, keeping their rows and attempt
    /// log. Default: never. A message whose payload was dropped is redelivered with an empty
    /// body, so keep it at least as long as you may want to redeliver.
    pub fn drop_payloads_after(mut self, age: Duration) -> Self {
        self.payloads = Some(age);
        self
    }

    /// How often the dispatcher purges. Default 1 hour.
    pub fn every(mut self, interval: Duration) -> Self {
        self.every = interval.max(Duration::from_millis(10));
        self
    }

    /// Messages removed per step (one transaction). Default 500.
    pub fn batch(mut self, messages: usize) -> Self {
        self.batch = messages.max(1);
        self
    }

    /// Pause between two steps of one run. Default 20 ms.
    pub fn pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// The interval between runs.
    pub fn interval(&self) -> Duration {
        self.every
    }

    /// The cutoffs for a run at `now`.
    pub fn cutoffs(&self, now: UnixMillis) -> PurgeCutoffs {
        let before = |age: Duration| now.saturating_sub(millis(age));
        let cutoffs = PurgeCutoffs::new(before(self.delivered), before(self.failed));
        match self.payloads {
            Some(age) => cutoffs.drop_payloads_before(before(age)),
            None => cutoffs,
        }
    }

    /// Runs retention once to the end at `now`: purge steps until one removes less than a
    /// batch, then space reclaimed. Counts go to the [`RETENTION_DELETED`](m::RETENTION_DELETED)
    /// metric as they are removed.
    ///
    /// # Errors
    /// The store's, from the first step that failed (what earlier steps removed stays removed).
    pub async fn run_once(&self, store: &dyn Store, now: UnixMillis) -> StoreResult<PurgeReport> {
        self.purge(store, &self.cutoffs(now)).await
    }

    /// [`run_once`](Self::run_once) with explicit cutoffs (this value's batch and pause), for
    /// example "everything ended before a date" (`hookwire deliveries purge --older-than`).
    ///
    /// # Errors
    /// The store's, from the first step that failed (what earlier steps removed stays removed).
    pub async fn purge(
        &self,
        store: &dyn Store,
        cutoffs: &PurgeCutoffs,
    ) -> StoreResult<PurgeReport> {
        let cutoffs = *cutoffs;
        let mut total = PurgeReport::default();
        loop {
            let step = store.purge(&cutoffs, self.batch).await?;
            record(&step);
            total.add(step);
            let full = step.messages >= self.batch as u64 || step.payloads >= self.batch as u64;
            if !full {
                break;
            }
            tokio::time::sleep(self.pause).await;
        }
        if !total.is_empty() {
            // 256 pages (1 MiB at the default page size) per write, with the same pauses.
            while store.reclaim_space(256).await? {
                tokio::time::sleep(self.pause).await;
            }
        }
        Ok(total)
    }
}

fn record(step: &PurgeReport) {
    for (kind, n) in [
        ("messages", step.messages),
        ("deliveries", step.deliveries),
        ("attempts", step.attempts),
        ("payloads", step.payloads),
    ] {
        if n > 0 {
            metrics::counter!(m::RETENTION_DELETED, "kind" => kind).increment(n);
        }
    }
}

/// The dispatcher's background loop: a run at start, then one every interval, until
/// shutdown. Errors are logged (one line per failed run) and the next run tries again.
pub(crate) async fn run_loop(
    store: std::sync::Arc<dyn Store>,
    rules: Retention,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let run = rules.run_once(store.as_ref(), crate::model::now_millis());
        tokio::select! {
            r = run => match r {
                Ok(report) if !report.is_empty() => tracing::info!(
                    messages = report.messages,
                    deliveries = report.deliveries,
                    attempts = report.attempts,
                    payloads = report.payloads,
                    "retention removed old history"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention run failed; retrying next interval"),
            },
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(rules.every) => {}
            _ = shutdown.changed() => return,
        }
    }
}
