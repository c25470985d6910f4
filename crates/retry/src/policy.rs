//! Retry policies as data: backoff shape, limits, jitter, `Retry-After` handling, and the
//! pure [`RetryPolicy::decide`] function.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::jitter::{MAX_ADDITIVE_PERCENT, MAX_SYMMETRIC_PERCENT};
use crate::{Class, ClassifyConfig, Jitter, JitterSource, Outcome, classify};

/// The longest delay any decision returns: 7 days (Hook0's hard per-retry cap). Every
/// delay, jittered or taken from `Retry-After`, is at most this, so `now + delay` never
/// overflows a `SystemTime`.
pub const MAX_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most attempts a policy may allow.
pub const MAX_ATTEMPTS: u32 = 10_000;

/// The shape of the delays between attempts. `retry` below is 1 for the delay after the
/// first attempt. Durations serialize as whole milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Backoff {
    /// Never retry (the policy allows exactly one attempt).
    None,
    /// Fixed delays: `delays[retry - 1]`; past the end the last delay repeats
    /// (Svix's `retry_schedule`).
    Schedule {
        /// The delays, in order.
        #[serde(with = "crate::ms::vec")]
        delays: Vec<Duration>,
    },
    /// `min(base × factor^(retry − 1), cap)`, overflow-safe for any `retry`.
    Exponential {
        /// The first delay.
        #[serde(with = "crate::ms")]
        base: Duration,
        /// The growth factor, finite and at least 1. Integral factors are computed
        /// exactly in integers; others in `f64`. JSON keeps short decimals (1.5, 2.25)
        /// exactly.
        factor: f64,
        /// The largest delay.
        #[serde(with = "crate::ms")]
        cap: Duration,
    },
    /// `min(base + step × (retry − 1), cap)`, saturating.
    Linear {
        /// The first delay.
        #[serde(with = "crate::ms")]
        base: Duration,
        /// Added for each further retry.
        #[serde(with = "crate::ms")]
        step: Duration,
        /// The largest delay.
        #[serde(with = "crate::ms")]
        cap: Duration,
    },
}

impl Backoff {
    /// The nominal (un-jittered) delay before retry number `retry` (1-based; 0 is read
    /// as 1), or `None` when this backoff never retries.
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        let k = retry.max(1) - 1; // exponent / index, 0-based
        match self {
            Self::None => None,
            Self::Schedule { delays } => {
                let i = usize::try_from(k).unwrap_or(usize::MAX);
                delays.get(i).or_else(|| delays.last()).copied()
            }
            Self::Exponential { base, factor, cap } => Some(exponential(*base, *factor, *cap, k)),
            Self::Linear { base, step, cap } => {
                Some(base.saturating_add(step.saturating_mul(k)).min(*cap))
            }
        }
    }

    /// The ceiling this backoff puts on every delay, when it has one.
    pub fn cap(&self) -> Option<Duration> {
        match self {
            Self::Exponential { cap, .. } | Self::Linear { cap, .. } => Some(*cap),
            Self::None | Self::Schedule { .. } => None,
        }
    }
}

fn exponential(base: Duration, factor: f64, cap: Duration, k: u32) -> Duration {
    if base.is_zero() || k == 0 || base >= cap {
        return base.min(cap);
    }
    if !(factor.is_finite() && factor >= 1.0) {
        // Not constructible through validation; degrade to the cap rather than panic.
        return cap;
    }
    if factor.fract() == 0.0 && factor <= f64::from(u32::MAX) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let f = factor as u32;
        if f == 1 {
            return base;
        }
        // f >= 2: at most ~94 doublings before any duration passes the cap.
        let mut d = base;
        for _ in 0..k {
            match d.checked_mul(f) {
                Some(next) if next < cap => d = next,
                _ => return cap,
            }
        }
        d
    } else {
        let exp = i32::try_from(k).unwrap_or(i32::MAX);
        let nanos = base.as_nanos() as f64 * factor.powi(exp);
        let cap_nanos = cap.as_nanos() as f64;
        if !nanos.is_finite() || nanos >= cap_nanos || nanos >= u64::MAX as f64 {
            cap
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Duration::from_nanos(nanos as u64).min(cap)
        }
    }
}

/// How much of a server's `Retry-After` to honour. When honoured, the clamped value is the
/// delay (no jitter on top: the server named a time); the deadline still applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
#[non_exhaustive]
pub enum RetryAfterRule {
    /// Ignore the header; use the policy's own delay.
    #[default]
    Ignore,
    /// Clamp into `[base, base × max_factor]`, where `base` is the policy's nominal delay
    /// for this retry (after the overload floor). Svix: `max_factor = 2`.
    WithinSchedule {
        /// Upper bound as a multiple of the nominal delay (1..=1000).
        max_factor: u32,
    },
    /// Clamp into a fixed `[min, max]`.
    Between {
        /// Lower bound.
        #[serde(with = "crate::ms")]
        min: Duration,
        /// Upper bound (at most [`MAX_DELAY`]).
        #[serde(with = "crate::ms")]
        max: Duration,
    },
}

impl RetryAfterRule {
    /// The closed interval a `Retry-After` is clamped into for nominal delay `base`, or
    /// `None` when the header is ignored. Both ends are at most [`MAX_DELAY`].
    pub fn bounds(self, base: Duration) -> Option<(Duration, Duration)> {
        let (lo, hi) = match self {
            Self::Ignore => return None,
            Self::WithinSchedule { max_factor } => (base, base.saturating_mul(max_factor.max(1))),
            Self::Between { min, max } => (min, max.max(min)),
        };
        Some((lo.min(MAX_DELAY), hi.min(MAX_DELAY)))
    }
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Delivered; nothing more to do.
    Done,
    /// Try again after this delay (measured from when the attempt finished).
    RetryAfter(#[serde(with = "crate::ms")] Duration),
    /// Stop: attempts or deadline exhausted, or the failure is permanent.
    GiveUp,
    /// Stop and disable the endpoint (410 Gone).
    GiveUpAndDisable,
}

/// A policy failed validation. The message says which rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPolicy(&'static str);

impl InvalidPolicy {
    /// What was wrong.
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid retry policy: {}", self.0)
    }
}

impl std::error::Error for InvalidPolicy {}

/// A retry policy: a pure function from (attempt number, outcome, elapsed time, random
/// draw) to a [`Decision`]. It is plain data (serde, durations as milliseconds), so a
/// dispatcher can store which policy an endpoint uses and resume a delivery's schedule
/// after a restart from its stored attempt count alone.
///
/// Build one from a preset ([`RetryPolicy::preset`]) or with [`RetryPolicy::builder`];
/// both validate. Deserializing validates too.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetryPolicy {
    backoff: Backoff,
    max_attempts: u32,
    #[serde(with = "crate::ms::option")]
    deadline: Option<Duration>,
    jitter: Jitter,
    #[serde(with = "crate::ms::option")]
    timeout: Option<Duration>,
    retry_after: RetryAfterRule,
    #[serde(with = "crate::ms::option")]
    overload_floor: Option<Duration>,
    classify: ClassifyConfig,
}

/// The serialized form, validated into a [`RetryPolicy`].
#[derive(Deserialize)]
struct PolicyData {
    backoff: Backoff,
    max_attempts: u32,
    #[serde(default, with = "crate::ms::option")]
    deadline: Option<Duration>,
    #[serde(default)]
    jitter: Jitter,
    #[serde(default, with = "crate::ms::option")]
    timeout: Option<Duration>,
    #[serde(default)]
    retry_after: RetryAfterRule,
    #[serde(default, with = "crate::ms::option")]
    overload_floor: Option<Duration>,
    #[serde(default)]
    classify: ClassifyConfig,
}

impl<'de> Deserialize<'de> for RetryPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = PolicyData::deserialize(d)?;
        RetryPolicyBuilder {
            policy: RetryPolicy {
                backoff: p.backoff,
                max_attempts: p.max_attempts,
                deadline: p.deadline,
                jitter: p.jitter,
                timeout: p.timeout,
                retry_after: p.retry_after,
                overload_floor: p.overload_floor,
                classify: p.classify,
            },
        }
        .build()
        .map_err(serde::de::Error::custom)
    }
}

/// Builds a validated [`RetryPolicy`]; start with [`RetryPolicy::builder`] or
/// [`RetryPolicy::to_builder`].
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicyBuilder {
    policy: RetryPolicy,
}

impl RetryPolicyBuilder {
    /// Total attempts including the first (default: 1 for [`Backoff::None`], otherwise
    /// the schedule's length + 1, or 5).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.policy.max_attempts = n;
        self
    }

    /// Give up when the next attempt would start later than `deadline` after the first.
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.policy.deadline = deadline;
        self
    }

    /// How the nominal delay is spread (default: none).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// The per-attempt timeout the dispatcher should use (default: none, the
    /// dispatcher's own).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.policy.timeout = timeout;
        self
    }

    /// How to honour `Retry-After` (default: ignore).
    pub fn retry_after(mut self, rule: RetryAfterRule) -> Self {
        self.policy.retry_after = rule;
        self
    }

    /// On a timeout or a 429, raise the nominal delay to at least this (Svix: 60 s).
    pub fn overload_floor(mut self, floor: Option<Duration>) -> Self {
        self.policy.overload_floor = floor;
        self
    }

    /// Which failures are retried (default: [`ClassifyConfig::default`]).
    pub fn classify(mut self, cfg: ClassifyConfig) -> Self {
        self.policy.classify = cfg;
        self
    }

    /// Validates and returns the policy.
    ///
    /// # Errors
    /// [`InvalidPolicy`] when: `max_attempts` is 0 or above [`MAX_ATTEMPTS`];
    /// [`Backoff::None`] allows more than one attempt; a schedule is empty; a factor is
    /// NaN, infinite or below 1; a base exceeds its cap; any delay, cap, bound or floor
    /// exceeds [`MAX_DELAY`]; a jitter percentage is out of range; a `Retry-After` bound
    /// is inverted; a timeout is zero.
    pub fn build(self) -> Result<RetryPolicy, InvalidPolicy> {
        let p = self.policy;
        if p.max_attempts == 0 {
            return Err(InvalidPolicy("max_attempts must be at least 1"));
        }
        if p.max_attempts > MAX_ATTEMPTS {
            return Err(InvalidPolicy("max_attempts must be at most 10000"));
        }
        match &p.backoff {
            Backoff::None => {
                if p.max_attempts != 1 {
                    return Err(InvalidPolicy("a policy without backoff allows one attempt"));
                }
            }
            Backoff::Schedule { delays } => {
                if delays.is_empty() {
                    return Err(InvalidPolicy("schedule must not be empty"));
                }
                if delays.iter().any(|d| *d > MAX_DELAY) {
                    return Err(InvalidPolicy("schedule delay exceeds MAX_DELAY"));
                }
            }
            Backoff::Exponential { base, factor, cap } => {
                if !factor.is_finite() || *factor < 1.0 {
                    return Err(InvalidPolicy("factor must be finite and at least 1"));
                }
                check_cap(*base, *cap)?;
            }
            Backoff::Linear { base, cap, .. } => check_cap(*base, *cap)?,
        }
        match p.jitter {
            Jitter::Symmetric { percent } if percent > MAX_SYMMETRIC_PERCENT => {
                return Err(InvalidPolicy(
                    "symmetric jitter percent must be at most 100",
                ));
            }
            Jitter::Additive { percent } if percent > MAX_ADDITIVE_PERCENT => {
                return Err(InvalidPolicy(
                    "additive jitter percent must be at most 1000",
                ));
            }
            _ => {}
        }
        match p.retry_after {
            RetryAfterRule::Ignore => {}
            RetryAfterRule::WithinSchedule { max_factor } => {
                if max_factor == 0 || max_factor > 1000 {
                    return Err(InvalidPolicy("retry_after max_factor must be in 1..=1000"));
                }
            }
            RetryAfterRule::Between { min, max } => {
                if min > max {
                    return Err(InvalidPolicy("retry_after min must not exceed max"));
                }
                if max > MAX_DELAY {
                    return Err(InvalidPolicy("retry_after max exceeds MAX_DELAY"));
                }
            }
        }
        if p.timeout.is_some_and(|t| t.is_zero()) {
            return Err(InvalidPolicy("timeout must not be zero"));
        }
        if p.overload_floor.is_some_and(|f| f > MAX_DELAY) {
            return Err(InvalidPolicy("overload_floor exceeds MAX_DELAY"));
        }
        Ok(p)
    }
}

fn check_cap(base: Duration, cap: Duration) -> Result<(), InvalidPolicy> {
    if cap > MAX_DELAY {
        return Err(InvalidPolicy("cap exceeds MAX_DELAY"));
    }
    if base > cap {
        return Err(InvalidPolicy("base must not exceed cap"));
    }
    Ok(())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn preset_unchecked(p: RetryPolicy) -> RetryPolicy {
    // Presets are constants checked by the tests; building them cannot fail.
    debug_assert!(RetryPolicyBuilder { policy: p.clone() }.build().is_ok());
    p
}

/// The names [`RetryPolicy::preset`] accepts, in display order.
pub const PRESET_NAMES: [&str; 6] = [
    "zerotier",
    "zta",
    "zentitle-test",
    "standard",
    "svix",
    "none",
];

impl RetryPolicy {
    /// Starts a policy with this backoff. Defaults: max attempts 1 for
    /// [`Backoff::None`], the schedule's length + 1 for [`Backoff::Schedule`], otherwise
    /// 5; no deadline, no jitter, no timeout, `Retry-After` ignored, no overload floor,
    /// [`ClassifyConfig::default`].
    pub fn builder(backoff: Backoff) -> RetryPolicyBuilder {
        let max_attempts = match &backoff {
            Backoff::None => 1,
            Backoff::Schedule { delays } => u32::try_from(delays.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            _ => 5,
        };
        RetryPolicyBuilder {
            policy: Self {
                backoff,
                max_attempts,
                deadline: None,
                jitter: Jitter::None,
                timeout: None,
                retry_after: RetryAfterRule::Ignore,
                overload_floor: None,
                classify: ClassifyConfig::default(),
            },
        }
    }

    /// A builder holding a copy of this policy, to change some of it.
    pub fn to_builder(&self) -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            policy: self.clone(),
        }
    }

    /// **ZeroTier Central** (seed `000`, `specs/zerotier.md` §1.2): "retried up to a
    /// maximum of 10 times with an exponential backoff policy. The 2nd attempt will be
    /// approximately 1 minute after the first. The third approximately 2 minutes after the
    /// 2nd, and so on to a maximum of 1 hour between attempts."
    ///
    /// 10 attempts; delays 1, 2, 4, 8, 16, 32, 60, 60, 60 min; any failure is retried
    /// ("fails to be sent for any reason"), 410 still disables. No jitter (the docs give
    /// none); `Retry-After` honoured within [delay, 2 × delay] (our choice).
    pub fn zerotier() -> Self {
        preset_unchecked(Self {
            backoff: Backoff::Exponential {
                base: secs(60),
                factor: 2.0,
                cap: secs(3600),
            },
            max_attempts: 10,
            deadline: None,
            jitter: Jitter::None,
            timeout: None,
            retry_after: RetryAfterRule::WithinSchedule { max_factor: 2 },
            overload_floor: None,
            classify: ClassifyConfig::retry_all_failures(),
        })
    }

    /// **Zero Trust Analytics**, as documented (seed `001` "Retry Behavior",
    /// `specs/zero-trust-analytics.md` §2.3): 3 attempts, immediate, +5 s, +25 s; only
    /// 5xx and timeouts are retried; 5 s per-attempt timeout. (ZTA's own code has no
    /// retry loop; the docs are the model.) `Retry-After` is ignored: the docs give
    /// fixed times.
    pub fn zta() -> Self {
        preset_unchecked(Self {
            backoff: Backoff::Schedule {
                delays: vec![secs(5), secs(25)],
            },
            max_attempts: 3,
            deadline: None,
            jitter: Jitter::None,
            timeout: Some(secs(5)),
            retry_after: RetryAfterRule::Ignore,
            overload_floor: None,
            classify: ClassifyConfig::server_errors_and_timeouts(),
        })
    }

    /// **Zentitle2 test event** (seed `004`, `specs/zentitle.md` §5.2): the Test event "is
    /// not retried". One attempt; a 410 still disables.
    pub fn zentitle_test() -> Self {
        Self::none()
    }

    /// **Standard Webhooks 1.0.0** example retry schedule (`spec/standard-webhooks.md`,
    /// "Deliverability and reliability"): immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
    /// 14 h, 20 h, 24 h; 10 attempts over about 75.5 h. Non-2xx is a failure and retried
    /// (3xx too), 410 disables, `Retry-After` "should be taken into consideration"
    /// (clamped into [delay, 2 × delay], Svix's rule). The spec recommends "some level of
    /// random jitter" (±20 % here, Svix's) and a 15 to 30 s request timeout (30 s here).
    pub fn standard_webhooks() -> Self {
        preset_unchecked(Self {
            backoff: Backoff::Schedule {
                delays: vec![
                    secs(5),
                    secs(5 * 60),
                    secs(30 * 60),
                    secs(2 * 3600),
                    secs(5 * 3600),
                    secs(10 * 3600),
                    secs(14 * 3600),
                    secs(20 * 3600),
                    secs(24 * 3600),
                ],
            },
            max_attempts: 10,
            deadline: None,
            jitter: Jitter::Symmetric { percent: 20 },
            timeout: Some(secs(30)),
            retry_after: RetryAfterRule::WithinSchedule { max_factor: 2 },
            overload_floor: None,
            classify: ClassifyConfig::retry_all_failures(),
        })
    }

    /// **Svix** server (`svix-server` `worker.rs` and the default `retry_schedule`; Svix
    /// docs "Retry Schedule"): immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    /// (8 attempts); every non-2xx is retried; ±20 % jitter (`JITTER_DELTA = 0.2`); a
    /// timeout or 429 raises the delay to at least 60 s (`OVERLOAD_PENALTY_SECS`);
    /// `Retry-After` clamped into [delay, 2 × delay]; 30 s request timeout
    /// (`worker_request_timeout`).
    pub fn svix() -> Self {
        preset_unchecked(Self {
            backoff: Backoff::Schedule {
                delays: vec![
                    secs(5),
                    secs(5 * 60),
                    secs(30 * 60),
                    secs(2 * 3600),
                    secs(5 * 3600),
                    secs(10 * 3600),
                    secs(10 * 3600),
                ],
            },
            max_attempts: 8,
            deadline: None,
            jitter: Jitter::Symmetric { percent: 20 },
            timeout: Some(secs(30)),
            retry_after: RetryAfterRule::WithinSchedule { max_factor: 2 },
            overload_floor: Some(secs(60)),
            classify: ClassifyConfig::retry_all_failures(),
        })
    }

    /// Never retry: one attempt. A 410 still gives [`Decision::GiveUpAndDisable`].
    pub fn none() -> Self {
        preset_unchecked(Self {
            backoff: Backoff::None,
            max_attempts: 1,
            deadline: None,
            jitter: Jitter::None,
            timeout: None,
            retry_after: RetryAfterRule::Ignore,
            overload_floor: None,
            classify: ClassifyConfig::default(),
        })
    }

    /// A preset by name (the CLI's `--retry PRESET`): `"zerotier"`, `"zta"`,
    /// `"zentitle-test"`, `"standard"`, `"svix"`, `"none"` (see [`PRESET_NAMES`]).
    /// Also accepts `"zero-trust-analytics"` and `"standard-webhooks"`.
    pub fn preset(name: &str) -> Option<Self> {
        Some(match name {
            "zerotier" => Self::zerotier(),
            "zta" | "zero-trust-analytics" => Self::zta(),
            "zentitle-test" => Self::zentitle_test(),
            "standard" | "standard-webhooks" => Self::standard_webhooks(),
            "svix" => Self::svix(),
            "none" => Self::none(),
            _ => return None,
        })
    }

    /// Total attempts allowed, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The per-attempt timeout, where the preset documents one (ZTA: 5 s).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The overall deadline measured from the first attempt, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The backoff shape.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The jitter mode.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// How `Retry-After` is honoured.
    pub fn retry_after_rule(&self) -> RetryAfterRule {
        self.retry_after
    }

    /// The minimum delay after a timeout or 429, if any.
    pub fn overload_floor(&self) -> Option<Duration> {
        self.overload_floor
    }

    /// Which failures this policy retries.
    pub fn classify_config(&self) -> &ClassifyConfig {
        &self.classify
    }

    /// Classifies `outcome` under this policy's [`ClassifyConfig`].
    pub fn classify(&self, outcome: &Outcome) -> Class {
        classify(outcome, &self.classify)
    }

    /// The nominal delay after attempt `attempt` (1-based) fails, without jitter,
    /// overload floor or `Retry-After`; `None` when no further attempt is allowed.
    pub fn nominal_delay(&self, attempt: u32) -> Option<Duration> {
        if attempt.max(1) >= self.max_attempts {
            return None;
        }
        self.backoff.delay(attempt).map(|d| d.min(MAX_DELAY))
    }

    /// The nominal delays between attempts: entry `i` is the wait after attempt `i + 1`
    /// fails. Its length is `max_attempts − 1`; the policy gives up after attempt
    /// `max_attempts`.
    pub fn schedule(&self) -> Vec<Duration> {
        (1..self.max_attempts)
            .map_while(|a| self.nominal_delay(a))
            .collect()
    }

    /// Decides what to do after attempt number `attempt` (1-based; 0 is read as 1)
    /// finished with `outcome`, `elapsed` after the first attempt started. Draws at most
    /// one number from `rng`.
    ///
    /// 1. Success → [`Decision::Done`]; [`Class::Gone`] → [`Decision::GiveUpAndDisable`];
    ///    [`Class::Permanent`] → [`Decision::GiveUp`].
    /// 2. Retryable: give up when `attempt >= max_attempts`. Otherwise take the nominal
    ///    delay, raise it to the overload floor on a timeout or 429, then either clamp the
    ///    response's `Retry-After` into the rule's bounds (no jitter) or apply the jitter
    ///    and re-cap at the backoff's cap. Every delay is at most [`MAX_DELAY`].
    /// 3. Give up when `elapsed + delay` passes the deadline.
    pub fn decide(
        &self,
        attempt: u32,
        outcome: &Outcome,
        elapsed: Duration,
        rng: &mut dyn JitterSource,
    ) -> Decision {
        match self.classify(outcome) {
            Class::Success => return Decision::Done,
            Class::Gone => return Decision::GiveUpAndDisable,
            Class::Permanent => return Decision::GiveUp,
            Class::Retryable => {}
        }
        let Some(nominal) = self.nominal_delay(attempt) else {
            return Decision::GiveUp;
        };
        let base = match self.overload_floor {
            Some(floor) if outcome.is_overload() => nominal.max(floor),
            _ => nominal,
        };
        let hinted = outcome
            .retry_after()
            .zip(self.retry_after.bounds(base))
            .map(|(ra, (lo, hi))| ra.delay().clamp(lo, hi));
        let delay = match hinted {
            Some(d) => d,
            None => {
                let d = self.jitter.apply(base, rng);
                match self.backoff.cap() {
                    Some(cap) => d.min(cap.max(base)),
                    None => d,
                }
            }
        }
        .min(MAX_DELAY);
        if let Some(deadline) = self.deadline
            && elapsed.saturating_add(delay) > deadline
        {
            return Decision::GiveUp;
        }
        Decision::RetryAfter(delay)
    }
}
