//! The clock seam: every time the engine reads, it reads from a [`Clock`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::UnixMillis;

/// Where the engine (and the registry) read the current time. The system clock in
/// production; a [`ManualClock`] in unit tests, so retry timing, leases, health windows and
/// the circuit breaker can be tested without sleeping.
pub(crate) trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// [`now`](Self::now) as [`UnixMillis`].
    fn now_millis(&self) -> UnixMillis {
        to_millis(self.now())
    }
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// `t` as milliseconds since the Unix epoch (0 before it, saturating far after it).
pub(crate) fn to_millis(t: SystemTime) -> UnixMillis {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A duration in whole milliseconds as a [`UnixMillis`] offset, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// A clock that moves only when told to (unit tests).
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct ManualClock {
    at: std::sync::Mutex<SystemTime>,
}

#[cfg(test)]
impl ManualClock {
    /// A clock standing at `millis` after the epoch.
    pub(crate) fn at(millis: u64) -> Self {
        Self {
            at: std::sync::Mutex::new(UNIX_EPOCH + Duration::from_millis(millis)),
        }
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, d: Duration) {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        *at += d;
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.at.lock().unwrap_or_else(|p| p.into_inner())
    }
}
