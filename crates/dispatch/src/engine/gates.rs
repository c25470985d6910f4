//! Runtime gates per endpoint: the in-flight limit and the token-bucket rate limit. (The
//! registry's [`Limits`](crate::Limits) are a different thing: what may be stored.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::model::RateLimit;

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Clone, Debug)]
struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: SystemTime,
}

impl TokenBucket {
    fn new(limit: RateLimit, now: SystemTime) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes one token, or says how long until one is available. A clock that steps back
    /// refills nothing.
    fn try_take(&mut self, now: SystemTime) -> Result<(), Duration> {
        let elapsed = now
            .duration_since(self.last)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        self.last = self.last.max(now);
        self.tokens =
            (self.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.limit.per_second;
            Err(Duration::from_secs_f64(wait.clamp(0.001, 3600.0)))
        }
    }
}

#[derive(Debug, Default)]
struct Gate {
    in_flight: u32,
    bucket: Option<TokenBucket>,
}

/// Per-endpoint in-flight counters and token buckets, shared by every claim loop. Endpoints
/// with neither limit never touch it.
#[derive(Debug, Default)]
pub(crate) struct Gates {
    map: Mutex<HashMap<String, Gate>>,
}

/// Why an endpoint cannot take another request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// At its in-flight limit.
    InFlight,
    /// Rate-limited; a token is available after this long.
    RateLimited(Duration),
}

/// Holds one in-flight slot of an endpoint (if it has gates); gives it back on drop.
#[derive(Debug)]
pub(crate) struct GatePass {
    held: Option<(Arc<Gates>, String)>,
}

impl Drop for GatePass {
    fn drop(&mut self) {
        let Some((gates, endpoint)) = self.held.take() else {
            return;
        };
        let mut map = gates.lock();
        if let Some(g) = map.get_mut(&endpoint) {
            g.in_flight = g.in_flight.saturating_sub(1);
            if g.in_flight == 0 && g.bucket.is_none() {
                map.remove(&endpoint);
            }
        }
    }
}

impl Gates {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Gate>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes an in-flight slot and a token for `endpoint`, or says why not. An endpoint
    /// with no limits passes without a lookup.
    pub(crate) fn try_enter(
        self: &Arc<Self>,
        endpoint: &str,
        max_in_flight: Option<u32>,
        rate: Option<RateLimit>,
        now: SystemTime,
    ) -> Result<GatePass, Busy> {
        if max_in_flight.is_none() && rate.is_none() {
            // A bucket left by a rate limit removed since stays (a few bytes) until the
            // endpoint is gated again.
            return Ok(GatePass { held: None });
        }
        let mut map = self.lock();
        let gate = match map.get_mut(endpoint) {
            Some(g) => g,
            None => map.entry(endpoint.to_owned()).or_default(),
        };
        if let Some(max) = max_in_flight
            && gate.in_flight >= max
        {
            return Err(Busy::InFlight);
        }
        match rate {
            Some(limit) => {
                let bucket = match &mut gate.bucket {
                    Some(b) if b.limit == limit => b,
                    slot => slot.insert(TokenBucket::new(limit, now)),
                };
                bucket.try_take(now).map_err(Busy::RateLimited)?;
            }
            None => gate.bucket = None,
        }
        gate.in_flight += 1;
        Ok(GatePass {
            held: Some((Arc::clone(self), endpoint.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut b = TokenBucket::new(
            RateLimit {
                per_second: 10.0,
                burst: 3,
            },
            t0,
        );
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        let wait = b.try_take(t0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(101) && wait >= Duration::from_millis(99),
            "{wait:?}"
        );
        assert!(b.try_take(t0 + Duration::from_millis(100)).is_ok());
        assert!(b.try_take(t0 + Duration::from_millis(100)).is_err());
        // A clock stepping back refills nothing and does not panic.
        assert!(b.try_take(t0).is_err());
    }

    #[test]
    fn in_flight_limit_and_release() {
        let gates = Arc::new(Gates::default());
        let now = UNIX_EPOCH;
        let a = gates.try_enter("ep", Some(2), None, now).unwrap();
        let _b = gates.try_enter("ep", Some(2), None, now).unwrap();
        assert_eq!(
            gates.try_enter("ep", Some(2), None, now).unwrap_err(),
            Busy::InFlight
        );
        assert!(gates.try_enter("other", Some(2), None, now).is_ok());
        drop(a);
        assert!(gates.try_enter("ep", Some(2), None, now).is_ok());
    }

    #[test]
    fn ungated_endpoints_leave_no_entry() {
        let gates = Arc::new(Gates::default());
        let pass = gates.try_enter("ep", None, None, UNIX_EPOCH).unwrap();
        assert!(gates.lock().is_empty());
        drop(pass);
        assert!(gates.lock().is_empty());
    }
}
