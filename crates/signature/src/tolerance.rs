//! How far a signed timestamp may be from the verifier's clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Accepted distance between a signed timestamp and the verifier's clock, with separate bounds
/// for the past and the future. The default is 300 seconds each way.
///
/// The default is stricter than some vendors' own libraries: ZeroTier's `ztchooks`, ZITADEL's
/// `zitadel-go` and Stripe's SDKs check only the past and accept any future timestamp. To
/// match them exactly use `Tolerance { past: Duration::from_secs(300), future: Duration::MAX }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance {
    /// How old a timestamp may be.
    pub past: Duration,
    /// How far in the future a timestamp may be.
    pub future: Duration,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self::symmetric(Duration::from_secs(300))
    }
}

impl Tolerance {
    /// The same bound in both directions.
    pub const fn symmetric(bound: Duration) -> Self {
        Self {
            past: bound,
            future: bound,
        }
    }

    /// Accepts any timestamp (the signature is still checked).
    pub const fn ignore() -> Self {
        Self::symmetric(Duration::MAX)
    }

    /// Checks `timestamp` against `now` (both unix seconds).
    ///
    /// # Errors
    /// [`Error::TimestampTooOld`] or [`Error::TimestampTooNew`].
    pub fn check(&self, timestamp: i64, now: i64) -> Result<()> {
        let age = i128::from(now) - i128::from(timestamp);
        if age > i128::from(self.past.as_secs()) {
            Err(Error::TimestampTooOld)
        } else if -age > i128::from(self.future.as_secs()) {
            Err(Error::TimestampTooNew)
        } else {
            Ok(())
        }
    }
}

/// The system clock in unix seconds (negative before 1970).
pub(crate) fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}
