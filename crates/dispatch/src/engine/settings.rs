//! [`Settings`]: every knob of the engine and the registry, set once by
//! [`DispatcherBuilder`](crate::DispatcherBuilder) and read in place afterwards.

use std::time::Duration;

use http::HeaderValue;

use crate::limits::Limits;
use crate::retention::Retention;

/// The dispatcher's settings. The builder fills one in and hands it to the engine, which
/// keeps it for the dispatcher's lifetime; nothing copies it.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Claim loops.
    pub(crate) workers: usize,
    /// Most attempts in flight (and completions not yet committed) at once.
    pub(crate) concurrency: usize,
    /// How long a claim holds a delivery; renewed every third of it while held.
    pub(crate) lease: Duration,
    /// Longest idle sleep between claims.
    pub(crate) poll_interval: Duration,
    /// Most deliveries one claim takes.
    pub(crate) claim_batch: usize,
    /// Plain `http://` to loopback allowed (registry).
    pub(crate) allow_http: bool,
    /// Registry and payload limits.
    pub(crate) limits: Limits,
    /// The `User-Agent` header.
    pub(crate) user_agent: HeaderValue,
    /// How long a rotated-out secret keeps signing (registry).
    pub(crate) rotation_grace: Duration,
    /// Most response bytes kept in the attempt log.
    pub(crate) snippet_cap: usize,
    /// Timeout of endpoints created without one (registry).
    pub(crate) default_timeout: Duration,
    /// How often buffered health successes are written.
    pub(crate) health_flush: Duration,
    /// Whether delivery and attempt metrics carry the `endpoint` label.
    pub(crate) endpoint_label: bool,
    /// Background retention rules (`None`: nothing is deleted).
    pub(crate) retention: Option<Retention>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            workers: 2,
            concurrency: 64,
            lease: Duration::from_secs(3),
            poll_interval: Duration::from_secs(1),
            claim_batch: 32,
            allow_http: false,
            limits: Limits::default(),
            user_agent: HeaderValue::from_static(crate::DEFAULT_USER_AGENT),
            rotation_grace: Duration::from_secs(24 * 3600),
            snippet_cap: 4 * 1024,
            default_timeout: Duration::from_secs(15),
            health_flush: Duration::from_secs(1),
            endpoint_label: false,
            retention: Some(Retention::default()),
        }
    }
}

impl Settings {
    /// How often held leases are renewed: a third of the lease.
    pub(crate) fn renew_every(&self) -> Duration {
        self.lease / 3
    }
}
