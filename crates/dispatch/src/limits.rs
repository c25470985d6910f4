//! Registry limits: what the registry accepts and stores. (The runtime gates, in-flight
//! limit and rate limit, belong to the engine.)

use std::time::Duration;

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
