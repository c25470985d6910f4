//! Endpoint health: auto-disable rules and a circuit breaker, as plain data updated by a
//! pure function of (state, outcome, whether the attempt was its delivery's last, time).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::Outcome;

/// Circuit breaker settings. The [`Default`] follows Convoy's defaults
/// (`config/config.go` `CircuitBreaker`): open when at least 70 % of at least 10 requests
/// in the last 5 minutes failed; try again (half-open) after 30 s; disable the endpoint
/// after 10 consecutive opens. Convoy closes a half-open breaker on a success *rate*;
/// here one successful probe (`close_after_successes`) closes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CircuitBreakerConfig {
    /// Open when failures are at least this percentage of requests in the window (1..=100).
    pub failure_rate_percent: u8,
    /// ...and the window holds at least this many requests.
    pub minimum_requests: u32,
    /// The sliding window (kept as 10 buckets of `window / 10`).
    #[serde(with = "crate::ms")]
    pub window: Duration,
    /// How long an open breaker refuses requests before allowing probes (half-open).
    #[serde(with = "crate::ms")]
    pub open_for: Duration,
    /// Successful probes needed to close a half-open breaker.
    pub close_after_successes: u32,
    /// Disable the endpoint after this many opens with no close in between.
    pub disable_after_opens: Option<u32>,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            failure_rate_percent: 70,
            minimum_requests: 10,
            window: Duration::from_secs(5 * 60),
            open_for: Duration::from_secs(30),
            close_after_successes: 1,
            disable_after_opens: Some(10),
        }
    }
}

/// When an endpoint's health changes. The [`Default`] combines: ZTA's code (disable after
/// 10 consecutive failed deliveries), Svix's (disable after failing continuously for 5 days;
/// any success resets), Standard Webhooks' 410 rule, and a Convoy-like circuit breaker.
///
/// The consecutive rule counts *deliveries*, the others *attempts*: with ZeroTier's 10
/// attempts per delivery, one message that never gets through does not disable its endpoint;
/// 10 messages in a row that each exhausted their retries do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthPolicy {
    /// Disable after this many consecutive deliveries that ended failed, i.e. whose last
    /// attempt ([`Finality::Final`]) failed because the retries were exhausted or the
    /// delivery was given up (ZTA: 10). Attempts that will be retried do not count; any
    /// successful attempt resets the count. See
    /// [`EndpointHealth::consecutive_failed_deliveries`].
    pub max_consecutive_failures: Option<u32>,
    /// Disable once failing continuously for this long (Svix
    /// `endpoint_failure_disable_after`: 5 days). A failure streak older than twice this
    /// is forgotten and restarts (Svix's cache entry expires after `2 × disable_in`).
    #[serde(with = "crate::ms::option")]
    pub disable_after_failing_for: Option<Duration>,
    /// Disable immediately on 410 Gone.
    pub disable_on_gone: bool,
    /// The circuit breaker, if any.
    pub circuit: Option<CircuitBreakerConfig>,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            max_consecutive_failures: Some(10),
            disable_after_failing_for: Some(Duration::from_secs(5 * 24 * 3600)),
            disable_on_gone: true,
            circuit: Some(CircuitBreakerConfig::default()),
        }
    }
}

impl HealthPolicy {
    /// Never disables and has no breaker.
    pub fn lenient() -> Self {
        Self {
            max_consecutive_failures: None,
            disable_after_failing_for: None,
            disable_on_gone: false,
            circuit: None,
        }
    }
}

/// The breaker's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CircuitState {
    /// Requests flow; outcomes are counted in the window.
    #[default]
    Closed,
    /// Requests are refused until `open_for` has passed.
    Open,
    /// Probes are allowed; a success closes, a failure reopens.
    HalfOpen,
}

/// Why an endpoint was disabled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum DisableReason {
    /// The endpoint answered 410 Gone.
    Gone,
    /// Too many consecutive failed deliveries.
    ConsecutiveFailures {
        /// Consecutive failed deliveries when disabled.
        count: u32,
    },
    /// Failing continuously since this time.
    FailingSince {
        /// When the streak started.
        since: SystemTime,
    },
    /// The circuit breaker opened too many times in a row.
    CircuitOpenedTooOften {
        /// Consecutive opens when disabled.
        opens: u32,
    },
}

impl fmt::Display for DisableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gone => f.write_str("endpoint answered 410 Gone"),
            // ZTA's own `disabledReason` text.
            Self::ConsecutiveFailures { count } => {
                write!(f, "Too many consecutive failures ({count})")
            }
            Self::FailingSince { since } => {
                let secs = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                write!(f, "failing continuously since unix time {secs}")
            }
            Self::CircuitOpenedTooOften { opens } => {
                write!(f, "circuit breaker opened {opens} times in a row")
            }
        }
    }
}

/// What [`EndpointHealth::record`] or [`EndpointHealth::poll`] changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HealthChange {
    /// Nothing the dispatcher must act on.
    None,
    /// The breaker opened: stop sending until [`EndpointHealth::allows_request`].
    CircuitOpened,
    /// The breaker moved to half-open: probes may go.
    CircuitHalfOpen,
    /// The breaker closed again.
    CircuitClosed,
    /// The endpoint is now disabled.
    Disabled(DisableReason),
}

/// Whether an attempt was its delivery's last, as [`EndpointHealth::record`] takes it: the
/// consecutive-failure rule counts deliveries that ended failed, not attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finality {
    /// Another attempt of the same delivery follows (a retry is scheduled).
    Retrying,
    /// No attempt of the delivery follows: it succeeded, exhausted its attempts, or was given
    /// up.
    Final,
}

/// One bucket of the breaker's sliding window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBucket {
    /// Bucket start, unix milliseconds.
    pub start_ms: u64,
    /// Successful requests in the bucket.
    pub successes: u32,
    /// Failed requests in the bucket.
    pub failures: u32,
}

/// One endpoint's health: plain data (serde, [`Default`] = healthy), updated only by
/// [`record`](Self::record) and [`poll`](Self::poll), so the dispatcher can persist it
/// next to the endpoint.
///
/// Time is always passed in. A clock that goes backwards is tolerated (durations
/// saturate at zero).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointHealth {
    /// Failed attempts since the last successful attempt (informational; no rule uses it).
    pub consecutive_failures: u32,
    /// Deliveries that ended failed ([`Finality::Final`]) since the last successful
    /// attempt; compared with [`HealthPolicy::max_consecutive_failures`]. Absent from data
    /// stored before it existed, which then counts from 0.
    #[serde(default)]
    pub consecutive_failed_deliveries: u32,
    /// First failure of the current streak (cleared by any success).
    pub failing_since: Option<SystemTime>,
    /// Last success.
    pub last_success_at: Option<SystemTime>,
    /// Last failure.
    pub last_failure_at: Option<SystemTime>,
    /// The breaker's state.
    pub circuit: CircuitState,
    /// When the breaker last opened.
    pub opened_at: Option<SystemTime>,
    /// Opens since the breaker last closed.
    pub consecutive_opens: u32,
    /// Successful probes while half-open.
    pub half_open_successes: u32,
    /// The breaker's sliding window, oldest first.
    pub window: Vec<WindowBucket>,
    /// Set once disabled; stays until [`enable`](Self::enable).
    pub disabled: Option<DisableReason>,
    /// When it was disabled.
    pub disabled_at: Option<SystemTime>,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or(Duration::ZERO)
}

/// How an outcome counts for health.
enum Verdict {
    Success,
    Failure,
    Gone,
    /// Says nothing about the endpoint (our request body was too large).
    Neutral,
}

fn verdict(outcome: &Outcome, policy: &HealthPolicy) -> Verdict {
    match outcome {
        Outcome::Success { .. } => Verdict::Success,
        Outcome::Status { status: 410, .. } if policy.disable_on_gone => Verdict::Gone,
        Outcome::BodyTooLarge => Verdict::Neutral,
        _ => Verdict::Failure,
    }
}

impl EndpointHealth {
    /// A healthy endpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// `true` once disabled.
    pub fn is_disabled(&self) -> bool {
        self.disabled.is_some()
    }

    /// Re-enables the endpoint and resets every counter and the breaker.
    pub fn enable(&mut self) {
        *self = Self::default();
    }

    /// Whether the dispatcher may send to this endpoint at `now`: not disabled, and the
    /// breaker is closed, half-open, or open for at least `open_for` (then the attempt is
    /// the half-open probe).
    pub fn allows_request(&self, policy: &HealthPolicy, now: SystemTime) -> bool {
        if self.is_disabled() {
            return false;
        }
        let Some(cb) = &policy.circuit else {
            return true;
        };
        match self.circuit {
            CircuitState::Closed | CircuitState::HalfOpen => true,
            CircuitState::Open => self.open_elapsed(cb, now),
        }
    }

    /// When an open breaker will allow a probe, if it is open.
    pub fn retry_at(&self, policy: &HealthPolicy) -> Option<SystemTime> {
        let cb = policy.circuit.as_ref()?;
        match (self.circuit, self.opened_at) {
            (CircuitState::Open, Some(at)) => at.checked_add(cb.open_for),
            _ => None,
        }
    }

    fn open_elapsed(&self, cb: &CircuitBreakerConfig, now: SystemTime) -> bool {
        self.opened_at
            .is_none_or(|at| since(now, at) >= cb.open_for)
    }

    /// Moves an open breaker whose `open_for` has passed to half-open. Call it before
    /// deciding whether to claim work for the endpoint, if you want the transition
    /// reported; [`record`](Self::record) performs it too.
    pub fn poll(&mut self, policy: &HealthPolicy, now: SystemTime) -> HealthChange {
        if self.is_disabled() {
            return HealthChange::None;
        }
        match &policy.circuit {
            Some(cb) if self.circuit == CircuitState::Open && self.open_elapsed(cb, now) => {
                self.circuit = CircuitState::HalfOpen;
                self.half_open_successes = 0;
                HealthChange::CircuitHalfOpen
            }
            _ => HealthChange::None,
        }
    }

    /// Records one attempt's outcome at `now` and reports the most important change
    /// (disable over circuit transitions). `finality` says whether the attempt was its
    /// delivery's last.
    ///
    /// - A success clears `consecutive_failures`, `consecutive_failed_deliveries` and
    ///   `failing_since`, counts as a probe success when half-open, and closing the breaker
    ///   resets `consecutive_opens`.
    /// - A failure extends the attempt streak and may disable (failing duration) or
    ///   open/reopen the breaker; too many consecutive opens disables. A failure that is
    ///   [`Finality::Final`] also counts one failed delivery and disables once
    ///   `max_consecutive_failures` deliveries in a row ended failed.
    /// - 410 disables at once when `disable_on_gone`.
    /// - [`Outcome::BodyTooLarge`] is neutral: it is our request, not the endpoint.
    ///
    /// Counters keep updating while disabled, but a disabled endpoint stays disabled
    /// until [`enable`](Self::enable), and no further change is reported.
    pub fn record(
        &mut self,
        policy: &HealthPolicy,
        outcome: &Outcome,
        finality: Finality,
        now: SystemTime,
    ) -> HealthChange {
        let was_disabled = self.is_disabled();
        let mut change = if was_disabled {
            HealthChange::None
        } else {
            self.poll(policy, now)
        };
        match verdict(outcome, policy) {
            Verdict::Neutral => {
                return if was_disabled {
                    HealthChange::None
                } else {
                    change
                };
            }
            Verdict::Success => {
                self.consecutive_failures = 0;
                self.consecutive_failed_deliveries = 0;
                self.failing_since = None;
                self.last_success_at = Some(now);
                if let Some(cb) = &policy.circuit {
                    self.push_sample(cb, now, true);
                    if self.circuit == CircuitState::HalfOpen {
                        self.half_open_successes = self.half_open_successes.saturating_add(1);
                        if self.half_open_successes >= cb.close_after_successes {
                            self.close();
                            change = HealthChange::CircuitClosed;
                        }
                    }
                }
            }
            Verdict::Gone => {
                self.note_failure(policy, finality, now);
                if !was_disabled {
                    return self.disable(DisableReason::Gone, now);
                }
            }
            Verdict::Failure => {
                self.note_failure(policy, finality, now);
                if let Some(reason) = self.failure_disable_reason(policy, finality, now)
                    && !was_disabled
                {
                    return self.disable(reason, now);
                }
                if let Some(cb) = policy.circuit.clone() {
                    self.push_sample(&cb, now, false);
                    let open = match self.circuit {
                        CircuitState::HalfOpen => true,
                        CircuitState::Closed => self.rate_exceeded(&cb),
                        CircuitState::Open => false,
                    };
                    if open {
                        self.circuit = CircuitState::Open;
                        self.opened_at = Some(now);
                        self.half_open_successes = 0;
                        self.consecutive_opens = self.consecutive_opens.saturating_add(1);
                        change = HealthChange::CircuitOpened;
                        if let Some(k) = cb.disable_after_opens
                            && self.consecutive_opens >= k
                            && !was_disabled
                        {
                            return self.disable(
                                DisableReason::CircuitOpenedTooOften {
                                    opens: self.consecutive_opens,
                                },
                                now,
                            );
                        }
                    }
                }
            }
        }
        if was_disabled {
            HealthChange::None
        } else {
            change
        }
    }

    fn note_failure(&mut self, policy: &HealthPolicy, finality: Finality, now: SystemTime) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if finality == Finality::Final {
            self.consecutive_failed_deliveries =
                self.consecutive_failed_deliveries.saturating_add(1);
        }
        self.last_failure_at = Some(now);
        let stale = match (self.failing_since, policy.disable_after_failing_for) {
            (Some(start), Some(d)) => since(now, start) > d.saturating_mul(2),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if stale {
            self.failing_since = Some(now);
        }
    }

    fn failure_disable_reason(
        &self,
        policy: &HealthPolicy,
        finality: Finality,
        now: SystemTime,
    ) -> Option<DisableReason> {
        // Judged when a delivery ends: a retried attempt never completes a failed delivery.
        if let Some(n) = policy.max_consecutive_failures
            && finality == Finality::Final
            && self.consecutive_failed_deliveries >= n
        {
            return Some(DisableReason::ConsecutiveFailures {
                count: self.consecutive_failed_deliveries,
            });
        }
        if let (Some(d), Some(start)) = (policy.disable_after_failing_for, self.failing_since)
            && since(now, start) >= d
        {
            return Some(DisableReason::FailingSince { since: start });
        }
        None
    }

    fn disable(&mut self, reason: DisableReason, now: SystemTime) -> HealthChange {
        self.disabled = Some(reason.clone());
        self.disabled_at = Some(now);
        HealthChange::Disabled(reason)
    }

    fn close(&mut self) {
        self.circuit = CircuitState::Closed;
        self.opened_at = None;
        self.consecutive_opens = 0;
        self.half_open_successes = 0;
        self.window.clear();
    }

    fn push_sample(&mut self, cb: &CircuitBreakerConfig, now: SystemTime, success: bool) {
        let now_ms = unix_ms(now);
        let window_ms = u64::try_from(cb.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(10);
        let bucket_ms = (window_ms / 10).max(1);
        // Drop buckets that ended before the window.
        let horizon = now_ms.saturating_sub(window_ms);
        self.window
            .retain(|b| b.start_ms.saturating_add(bucket_ms) > horizon && b.start_ms <= now_ms);
        let start = now_ms - now_ms % bucket_ms;
        let bucket = match self.window.last_mut() {
            Some(b) if b.start_ms == start => b,
            _ => {
                self.window.push(WindowBucket {
                    start_ms: start,
                    ..WindowBucket::default()
                });
                self.window.sort_by_key(|b| b.start_ms);
                // Bounded: at most 11 buckets can overlap the window.
                while self.window.len() > 11 {
                    self.window.remove(0);
                }
                match self.window.iter_mut().find(|b| b.start_ms == start) {
                    Some(b) => b,
                    None => return,
                }
            }
        };
        if success {
            bucket.successes = bucket.successes.saturating_add(1);
        } else {
            bucket.failures = bucket.failures.saturating_add(1);
        }
    }

    /// Requests and failures currently in the window.
    pub fn window_counts(&self) -> (u64, u64) {
        self.window.iter().fold((0, 0), |(t, f), b| {
            (
                t + u64::from(b.successes) + u64::from(b.failures),
                f + u64::from(b.failures),
            )
        })
    }

    fn rate_exceeded(&self, cb: &CircuitBreakerConfig) -> bool {
        let (total, failures) = self.window_counts();
        total >= u64::from(cb.minimum_requests.max(1))
            && failures * 100 >= total * u64::from(cb.failure_rate_percent.clamp(1, 100))
    }
}
