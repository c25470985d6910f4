//! Retry policies as data, outcome classification and endpoint health for webhook
//! delivery. Everything here is a pure function: no runtime, no clock (time is passed in),
//! and the random source for jitter is injected ([`JitterSource`]).
//!
//! ```
//! use std::time::Duration;
//! use hookwire_retry::{Decision, Fixed, Outcome, RetryPolicy};
//!
//! // ZeroTier: up to 10 attempts, 1 min doubling, at most 1 h between attempts.
//! let policy = RetryPolicy::zerotier();
//! let mut at = Duration::ZERO;
//! for (i, delay) in policy.schedule().iter().enumerate() {
//!     at += *delay;
//!     println!("attempt {} after {:>5?} (t+{:?})", i + 2, delay, at);
//! }
//! assert_eq!(policy.schedule().len(), 9);
//!
//! // The dispatcher's loop: classify what happened, then ask for a decision.
//! let failed = Outcome::from_status(503, None);
//! let d = policy.decide(1, &failed, Duration::ZERO, &mut Fixed(0.5));
//! assert_eq!(d, Decision::RetryAfter(Duration::from_secs(60)));
//! assert_eq!(policy.decide(10, &failed, at, &mut Fixed(0.5)), Decision::GiveUp);
//! ```
//!
//! # The pieces
//! - [`Outcome`]: what an attempt produced (status, timeout, refused, DNS, TLS, SSRF, ...).
//!   [`classify`] / [`Outcome::class`] turn it into a [`Class`] under a [`ClassifyConfig`].
//! - [`parse_retry_after`] / [`RetryAfter`]: the `Retry-After` header, seconds or HTTP-date.
//! - [`RetryPolicy`]: [`Backoff`] (`None`, `Schedule`, `Exponential`, `Linear`), max attempts,
//!   optional deadline, [`Jitter`], a [`RetryAfterRule`], an overload floor, a per-attempt
//!   timeout, and a [`ClassifyConfig`]. [`RetryPolicy::decide`] returns a [`Decision`].
//!   Presets: [`RetryPolicy::zerotier`], [`zta`](RetryPolicy::zta),
//!   [`zentitle_test`](RetryPolicy::zentitle_test),
//!   [`standard_webhooks`](RetryPolicy::standard_webhooks), [`svix`](RetryPolicy::svix),
//!   [`none`](RetryPolicy::none), and by name with [`RetryPolicy::preset`].
//! - [`EndpointHealth`] + [`HealthPolicy`]: auto-disable after consecutive failed
//!   deliveries or a failing duration, 410 disable, and a closed/open/half-open circuit
//!   breaker; [`EndpointHealth::record`] takes each attempt's outcome and its [`Finality`]
//!   (was it the delivery's last?) and returns a [`HealthChange`].
//!
//! # Session semantics
//! A policy holds no per-delivery state (tower's `Clone` starts a new session; here there is
//! nothing to reset). The dispatcher stores the attempt number and the time of the first
//! attempt; `decide(attempt, outcome, elapsed, rng)` is all it needs after a restart.
//!
//! # Why a cap and a deadline, not just max attempts
//! Exponential growth without a cap waits days between attempts after a short outage;
//! [`MAX_DELAY`] (7 days) bounds every delay so `now + delay` can never overflow, and an
//! optional deadline bounds the whole delivery. Jitter spreads retries of many deliveries
//! that failed together, so a recovering endpoint is not hit by all of them at once.
//!
//! # Serialized form
//! Policies and health serialize with serde; every `Duration` is whole milliseconds. A
//! deserialized policy is validated like a built one.

#![doc(test(attr(deny(warnings))))]

mod health;
mod jitter;
mod ms;
mod outcome;
mod policy;
mod retry_after;

pub use health::{
    CircuitBreakerConfig, CircuitState, DisableReason, EndpointHealth, Finality, HealthChange,
    HealthPolicy, WindowBucket,
};
pub use jitter::{EntropyError, Fixed, Jitter, JitterSource, SeededJitter};
pub use outcome::{Class, ClassifyConfig, Outcome, classify};
pub use policy::{
    Backoff, Decision, InvalidPolicy, MAX_ATTEMPTS, MAX_DELAY, PRESET_NAMES, RetryAfterRule,
    RetryPolicy, RetryPolicyBuilder,
};
pub use retry_after::{RetryAfter, parse_retry_after};
