//! While the store fails: claim loops back off exponentially with jitter (up to a cap) and
//! resume at full speed after the first success; the failures are logged in bounded form
//! (the first one, then at most one summary with a count per interval, and a line when the
//! store answers again), shared by every claim loop, lease renewal and attempt recording of
//! one engine.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hookwire_retry::SeededJitter;

use super::clock::millis;
use crate::model::UnixMillis;
use crate::store::StoreError;

/// The first backoff delay after a failure.
pub(crate) const BASE: Duration = Duration::from_millis(50);
/// The longest backoff delay.
pub(crate) const CAP: Duration = Duration::from_secs(5);
/// At most one summary line per this interval while the store keeps failing.
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// One claim loop's backoff: `base · 2^(n-1)` after the `n`-th consecutive failure, capped,
/// with "equal jitter" (a delay drawn in `[d/2, d]`, so there is always a pause).
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(BASE, CAP)
    }
}

impl Backoff {
    /// A backoff from `base` doubling to `cap`.
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: 0,
        }
    }

    /// The upper bound of the delay after the `n`-th consecutive failure (`n ≥ 1`).
    pub(crate) fn bound(&self, n: u32) -> Duration {
        let shift = n.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << shift)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// Notes one more failure; how long to wait before trying again.
    pub(crate) fn failed(&mut self, rng: &mut SeededJitter) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let d = self.bound(self.failures);
        let half = d / 2;
        let spread = u64::try_from((d - half).as_micros()).unwrap_or(u64::MAX);
        let extra = if spread == 0 {
            0
        } else {
            rng.next_u64() % (spread + 1)
        };
        half + Duration::from_micros(extra)
    }

    /// The store answered: the next failure starts from `base` again.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

/// What to log for one failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// The first failure of an outage: log it in full.
    First,
    /// A summary: `failures` since the last line, the outage lasting `for_ms` so far.
    Summary {
        /// Failures not logged since the last line (this one included).
        failures: u64,
        /// Since the outage's first failure.
        for_ms: i64,
    },
    /// Counted for the next summary, not logged.
    Quiet,
}

/// The end of an outage: the store answered after `failures` failures over `for_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Failures of the whole outage.
    pub(crate) failures: u64,
    /// From the first failure to the success.
    pub(crate) for_ms: i64,
}

#[derive(Debug)]
struct Outage {
    since: UnixMillis,
    total: u64,
    /// Whether a failure line was written during it (then its end is logged too).
    logged: bool,
}

#[derive(Debug, Default)]
struct LogState {
    outage: Option<Outage>,
    /// When the last failure line was written (across outages: a flapping store is
    /// summarised like a failing one).
    last_line: Option<UnixMillis>,
    /// Failures since the last line.
    unlogged: u64,
}

/// The engine's store-failure log limiter (shared by its tasks): at most one failure line
/// per interval, and one line for the end of an outage that had one.
#[derive(Debug)]
pub(crate) struct FaultLog {
    every: i64,
    /// Fast path for [`success`](Self::success): whether an outage is open.
    failing: AtomicBool,
    state: Mutex<LogState>,
}

impl Default for FaultLog {
    fn default() -> Self {
        Self::new(SUMMARY_EVERY)
    }
}

impl FaultLog {
    /// A limiter writing at most one failure line per `every`.
    pub(crate) fn new(every: Duration) -> Self {
        Self {
            every: millis(every).max(1),
            failing: AtomicBool::new(false),
            state: Mutex::new(LogState::default()),
        }
    }

    /// Notes a failure at `now`; what to log.
    pub(crate) fn failure(&self, now: UnixMillis) -> Line {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.failing.store(true, Ordering::Release);
        st.unlogged += 1;
        let due = st.last_line.is_none_or(|t| now - t >= self.every);
        let unlogged = st.unlogged;
        let o = st.outage.get_or_insert(Outage {
            since: now,
            total: 0,
            logged: false,
        });
        o.total += 1;
        if !due {
            return Line::Quiet;
        }
        o.logged = true;
        let line = if unlogged == 1 && o.total == 1 {
            Line::First
        } else {
            Line::Summary {
                failures: unlogged,
                for_ms: now - o.since,
            }
        };
        st.unlogged = 0;
        st.last_line = Some(now);
        line
    }

    /// Notes a success at `now`: the outage that it ends, if one was open and logged.
    pub(crate) fn success(&self, now: UnixMillis) -> Option<Recovered> {
        if !self.failing.load(Ordering::Acquire) {
            return None;
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.failing.store(false, Ordering::Release);
        let o = st.outage.take().filter(|o| o.logged)?;
        // The recovery line counts the outage's failures not summarised yet.
        st.unlogged = 0;
        Some(Recovered {
            failures: o.total,
            for_ms: now - o.since,
        })
    }

    /// Notes a failure of `what` and logs it as [`failure`](Self::failure) says.
    pub(crate) fn log_failure(&self, now: UnixMillis, what: &'static str, error: &StoreError) {
        let fault = error.fault().map(|f| f.to_string());
        match self.failure(now) {
            Line::First => tracing::warn!(
                what,
                error = %error,
                fault = fault.as_deref().unwrap_or("other"),
                "store failed; backing off (further failures are summarised)"
            ),
            Line::Summary { failures, for_ms } => tracing::warn!(
                what,
                error = %error,
                failures,
                failing_for_ms = for_ms,
                "store still failing"
            ),
            Line::Quiet => {}
        }
    }

    /// Notes a success and logs the end of an outage.
    pub(crate) fn log_success(&self, now: UnixMillis) {
        if let Some(r) = self.success(now) {
            tracing::info!(
                failures = r.failures,
                failed_for_ms = r.for_ms,
                "store answers again; resuming"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::engine::clock::{Clock, ManualClock};

    #[test]
    fn delays_double_to_the_cap_with_jitter_and_reset_on_success() {
        let mut b = Backoff::default();
        let mut rng = SeededJitter::new(1);
        let bounds: Vec<_> = (1..=10).map(|n| b.bound(n).as_millis()).collect();
        assert_eq!(
            bounds,
            [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
        );
        for round in 0..3 {
            for n in 1..=40 {
                let d = b.failed(&mut rng);
                let bound = b.bound(n);
                assert!(
                    d >= bound / 2 && d <= bound,
                    "round {round}, failure {n}: {d:?} not in [{:?}, {bound:?}]",
                    bound / 2
                );
            }
            assert!(b.failed(&mut rng) >= CAP / 2);
            // The first success: the next failure waits at most the base again.
            b.succeeded();
            assert_eq!(b.failures(), 0);
        }
        // The jitter spreads: many draws at the cap are not all equal.
        let mut at_cap = Backoff::new(CAP, CAP);
        let draws: std::collections::BTreeSet<_> =
            (0..20).map(|_| at_cap.failed(&mut rng)).collect();
        assert!(draws.len() > 10, "{draws:?}");
        assert!(Backoff::new(BASE, CAP).bound(u32::MAX) == CAP);
    }

    /// A schedule driven by the clock: an outage of 10 minutes, two loops retrying after
    /// each of their delays. Retries are no hot loop (about one per loop per cap once
    /// backed off) and log lines are bounded by the summary interval, not by the retries.
    #[test]
    fn an_outage_logs_a_bounded_number_of_lines_on_the_clock() {
        let clock = ManualClock::at(1_000_000);
        let log = FaultLog::default();
        let mut loops = [Backoff::default(), Backoff::default()];
        let mut next = [clock.now_millis(); 2];
        let mut rng = SeededJitter::new(9);
        let start = clock.now_millis();
        let outage = millis(Duration::from_secs(600));
        let (mut tries, mut lines, mut quiet) = (0u64, 0u64, 0u64);
        let mut summarised = 0;
        while clock.now_millis() - start < outage {
            let now = clock.now_millis();
            for (i, b) in loops.iter_mut().enumerate() {
                if next[i] <= now {
                    tries += 1;
                    match log.failure(now) {
                        Line::First => lines += 1,
                        Line::Summary { failures, .. } => {
                            lines += 1;
                            summarised += failures;
                        }
                        Line::Quiet => quiet += 1,
                    }
                    next[i] = now + millis(b.failed(&mut rng));
                }
            }
            clock.advance(Duration::from_millis(10));
        }
        // Two loops at ≥ 2.5 s apart once capped: at most ~480 tries, not thousands.
        assert!(tries <= 2 * (600 / 2 + 10), "{tries} tries");
        assert!(tries >= 2 * (600 / 5), "{tries} tries: backed off too far");
        // One first line, then one summary per 10 s at most.
        assert!(lines <= 1 + 600 / 10, "{lines} lines");
        // A summary waits for the next failure after the interval (at most a cap later).
        assert!(lines >= 600 / 15, "{lines} lines");
        // Every failure is counted: logged first, in a summary, or pending for the next one.
        assert_eq!(quiet + lines, tries);
        assert!(
            summarised < tries && summarised + 1 + 2 * 5 >= tries,
            "{summarised}"
        );
        // The end of the outage is reported once, with every failure counted.
        let r = log.success(clock.now_millis()).unwrap();
        assert_eq!(r.failures, tries);
        assert!(r.for_ms >= outage - 5000);
        assert_eq!(log.success(clock.now_millis()), None);
        // The next outage, once the interval passed, starts with a full line again.
        clock.advance(SUMMARY_EVERY);
        assert_eq!(log.failure(clock.now_millis()), Line::First);
    }

    /// A store that fails and answers in turn (every other batch fails) is summarised like
    /// a failing one: one failure line per interval and one recovery line after it.
    #[test]
    fn a_flapping_store_is_logged_like_a_failing_one() {
        let clock = ManualClock::at(1_000_000);
        let log = FaultLog::default();
        let (mut failure_lines, mut recoveries, mut failures) = (0, 0, 0u64);
        let mut counted = 0;
        for _ in 0..600 {
            failures += 1;
            match log.failure(clock.now_millis()) {
                Line::First => {
                    failure_lines += 1;
                    counted += 1;
                }
                Line::Summary { failures, .. } => {
                    failure_lines += 1;
                    counted += failures;
                }
                Line::Quiet => {}
            }
            clock.advance(Duration::from_millis(50));
            if log.success(clock.now_millis()).is_some() {
                recoveries += 1;
            }
            clock.advance(Duration::from_millis(50));
        }
        // 60 s of flapping: 6 failure lines and as many recovery lines, not 600 each.
        assert_eq!(failure_lines, 6);
        assert_eq!(recoveries, 6);
        // The summaries count the quiet failures of the short outages in between.
        assert!(counted > failures - 100, "{counted} of {failures}");
    }

    #[derive(Default)]
    struct Count(Arc<AtomicUsize>);

    impl tracing::Subscriber for Count {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, _: &tracing::Event<'_>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    /// The lines actually written: a thousand failures within one summary interval give one
    /// line, a success one more.
    #[test]
    fn log_failure_writes_the_first_line_and_summaries_only() {
        let n = Arc::new(AtomicUsize::new(0));
        let sub = Count(Arc::clone(&n));
        let clock = ManualClock::at(5_000);
        let log = FaultLog::default();
        let err = StoreError::backend_message("down");
        tracing::subscriber::with_default(sub, || {
            for _ in 0..1000 {
                log.log_failure(clock.now_millis(), "claim", &err);
                clock.advance(Duration::from_millis(5));
            }
            assert_eq!(n.load(Ordering::Relaxed), 1, "5 s of failures");
            clock.advance(SUMMARY_EVERY);
            log.log_failure(clock.now_millis(), "claim", &err);
            assert_eq!(n.load(Ordering::Relaxed), 2, "one summary");
            log.log_success(clock.now_millis());
            log.log_success(clock.now_millis());
            assert_eq!(n.load(Ordering::Relaxed), 3, "one recovery line");
        });
    }
}
