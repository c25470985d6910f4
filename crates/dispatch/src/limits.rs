//! Registry limits and the per-endpoint gates (in-flight limit, token bucket).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::model::RateLimit;

/// Limits the registry enforces. The defaults are the families' documented ones.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Endpoints per tenant (default 10: ZTA's "max 10 webhooks per site").
    pub max_endpoints_per_tenant: usize,
    /// Event types per endpoint (default 5: ZTA's "max 5 event types").
    pub max_event_types_per_endpoint: usize,
    /// Payload bytes per message (default 1 MiB).
    pub max_payload_bytes: usize,
    /// Custom headers per endpoint (default 20).
    pub max_custom_headers: usize,
    /// URL length (default 2048, Hub Message's limit).
    pub max_url_len: usize,
    /// Description length in bytes (default 1024).
    pub max_description_len: usize,
    /// Metadata bytes per endpoint, keys and values together (default 16 KiB).
    pub max_metadata_bytes: usize,
    /// Longest per-attempt timeout (default 5 minutes).
    pub max_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_endpoints_per_tenant: 10,
            max_event_types_per_endpoint: 5,
            max_payload_bytes: 1024 * 1024,
            max_custom_headers: 20,
            max_url_len: 2048,
            max_description_len: 1024,
            max_metadata_bytes: 16 * 1024,
            max_timeout: Duration::from_secs(300),
        }
    }
}

impl Limits {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`max_endpoints_per_tenant`](Self::max_endpoints_per_tenant).
    #[must_use]
    pub fn endpoints_per_tenant(mut self, n: usize) -> Self {
        self.max_endpoints_per_tenant = n;
        self
    }

    /// Sets [`max_event_types_per_endpoint`](Self::max_event_types_per_endpoint).
    #[must_use]
    pub fn event_types_per_endpoint(mut self, n: usize) -> Self {
        self.max_event_types_per_endpoint = n;
        self
    }

    /// Sets [`max_payload_bytes`](Self::max_payload_bytes).
    #[must_use]
    pub fn payload_bytes(mut self, n: usize) -> Self {
        self.max_payload_bytes = n;
        self
    }

    /// Sets [`max_custom_headers`](Self::max_custom_headers).
    #[must_use]
    pub fn custom_headers(mut self, n: usize) -> Self {
        self.max_custom_headers = n;
        self
    }

    /// Sets [`max_timeout`](Self::max_timeout).
    #[must_use]
    pub fn timeout(mut self, d: Duration) -> Self {
        self.max_timeout = d;
        self
    }
}

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes one token, or says how long until one is available.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
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

/// Per-endpoint in-flight counters and token buckets, shared by every worker.
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

/// Holds one in-flight slot of an endpoint; gives it back on drop.
#[derive(Debug)]
pub(crate) struct GatePass {
    gates: Arc<Gates>,
    endpoint: String,
}

impl Drop for GatePass {
    fn drop(&mut self) {
        let mut map = self.gates.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = map.get_mut(&self.endpoint) {
            g.in_flight = g.in_flight.saturating_sub(1);
            if g.in_flight == 0 && g.bucket.is_none() {
                map.remove(&self.endpoint);
            }
        }
    }
}

impl Gates {
    /// Takes an in-flight slot and a token for `endpoint`, or says why not.
    pub(crate) fn try_enter(
        self: &Arc<Self>,
        endpoint: &str,
        max_in_flight: Option<u32>,
        rate: Option<RateLimit>,
        now: Instant,
    ) -> Result<GatePass, Busy> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let gate = map.entry(endpoint.to_owned()).or_default();
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
            gates: Arc::clone(self),
            endpoint: endpoint.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let t0 = Instant::now();
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
    }

    #[test]
    fn in_flight_limit_and_release() {
        let gates = Arc::new(Gates::default());
        let now = Instant::now();
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
}
