//! The records the dispatcher keeps: endpoints, messages, deliveries and attempts.
//!
//! Every timestamp is milliseconds since the Unix epoch ([`UnixMillis`]), so the same values
//! round-trip through every store backend. Ids are opaque strings with a type prefix
//! (`ep_`, `msg_`, `dlv_`, `att_`) made by [`new_id`].

use std::collections::BTreeMap;

use hookwire_events::Family;
use hookwire_retry::{EndpointHealth, HealthPolicy, RetryPolicy};
use hookwire_signature::{Scheme, Secret};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub type UnixMillis = i64;

/// A fresh random id with the given prefix, for example `new_id("msg")` → `msg_3f9c…`.
///
/// 16 random bytes from the OS CSPRNG, hex-encoded.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    // getrandom only fails when the OS has no entropy source at all; fall back to the clock
    // and a counter so an id is still unique within the process.
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&now.to_le_bytes());
        bytes[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(prefix.len() + 33);
    id.push_str(prefix);
    id.push('_');
    for b in bytes {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    id
}

/// The current time as [`UnixMillis`].
pub(crate) fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Serde for [`Secret`] fields: stored as their text form (stores only; never logged).
pub(crate) mod secret_serde {
    use hookwire_signature::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose_secret())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// One signing secret of an endpoint, with the time after which it is no longer used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndpointSecret {
    /// The secret in its family's text form (never shown by `Debug`).
    #[serde(with = "secret_serde")]
    pub secret: Secret,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it stops being used for signing (set on rotation to now + grace period).
    pub expires_at: Option<UnixMillis>,
}

/// How the dispatcher authenticates itself to an endpoint, sent on every request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Auth {
    /// No authentication header.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token (never shown by `Debug`).
        #[serde(with = "secret_serde")]
        token: Secret,
    },
    /// `<header>: <key>`, for example `X-API-Key`.
    ApiKey {
        /// Header name.
        header: String,
        /// The key (never shown by `Debug`).
        #[serde(with = "secret_serde")]
        key: Secret,
    },
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        username: String,
        /// Password (never shown by `Debug`).
        #[serde(with = "secret_serde")]
        password: Secret,
    },
    /// Any one header with a secret value.
    CustomHeader {
        /// Header name.
        header: String,
        /// Header value (never shown by `Debug`).
        #[serde(with = "secret_serde")]
        value: Secret,
    },
}

/// A custom header whose value is a secret: sent like the others, encrypted at rest, never
/// shown by `Debug`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    #[serde(with = "secret_serde")]
    pub value: Secret,
}

impl SecretHeader {
    /// A secret header `name: value`.
    pub fn new(name: impl Into<String>, value: impl Into<Secret>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A token-bucket rate limit for one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Bucket size: how many requests may go at once after a quiet period.
    pub burst: u32,
}

/// Whether an endpoint receives deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndpointStatus {
    /// Receives deliveries.
    #[default]
    Enabled,
    /// Receives nothing until enabled again; `reason` says why (manual, 410 Gone, health).
    Disabled {
        /// Why it was disabled.
        reason: String,
        /// When.
        at: UnixMillis,
    },
}

/// A registered destination for webhooks of one tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    /// `ep_…` id.
    pub id: String,
    /// The tenant it belongs to (a ZeroTier org, a ZTA site, a Hub Message channel, …).
    pub tenant: String,
    /// The webhook family whose event types, headers and limits apply.
    pub family: Family,
    /// Destination URL (HTTPS unless the dispatcher allows loopback HTTP).
    pub url: String,
    /// Subscribed event types; `"*"` subscribes to every type.
    pub event_types: Vec<String>,
    /// How requests are signed; `None` sends them unsigned.
    pub scheme: Option<Scheme>,
    /// Signing secrets, newest first; expired ones are dropped on rotation.
    pub secrets: Vec<EndpointSecret>,
    /// Authentication sent on every request.
    pub auth: Auth,
    /// Extra headers sent on every request (names checked against a deny-list).
    pub headers: Vec<(String, String)>,
    /// Extra headers whose values are secrets (sent after `headers`, encrypted at rest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_headers: Vec<SecretHeader>,
    /// Per-attempt timeout in milliseconds.
    pub timeout_ms: u64,
    /// When to retry.
    pub retry: RetryPolicy,
    /// When to open the circuit or disable the endpoint.
    pub health_policy: HealthPolicy,
    /// Optional token-bucket rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Most requests in flight to this endpoint at once (`None`: only the global limit).
    pub max_in_flight: Option<u32>,
    /// Deliver in order: the next message waits until the previous one is delivered or failed.
    pub fifo: bool,
    /// Free text.
    pub description: String,
    /// Enabled or disabled.
    pub status: EndpointStatus,
    /// Failure counters and circuit state.
    pub health: EndpointHealth,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Last change.
    pub updated_at: UnixMillis,
    /// Last time a delivery to it was attempted.
    pub last_triggered_at: Option<UnixMillis>,
    /// Whether the secret values above are ciphertexts, as a dispatcher with an encryption
    /// key stores them ([`at_rest`](crate::at_rest)). Records the dispatcher hands out are
    /// decrypted (`false`); a record written before encryption reads `false` too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealed: bool,
    /// Free-form labels the host or a management API keeps with the endpoint (for example
    /// a vendor flavour's own fields); never sent to the receiver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl Endpoint {
    /// Whether this endpoint subscribes to `event_type`.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types.iter().any(|t| t == "*" || t == event_type)
    }

    /// The secrets still valid at `now`, newest first.
    pub fn active_secrets(&self, now: UnixMillis) -> Vec<Secret> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|exp| exp > now))
            .map(|s| s.secret.clone())
            .collect()
    }

    /// Whether the endpoint is enabled.
    pub fn is_enabled(&self) -> bool {
        matches!(self.status, EndpointStatus::Enabled)
    }
}

/// A message as `send` hands it to the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// `msg_…` id; sent to receivers as the stable webhook/message id.
    pub id: String,
    /// The tenant it was sent for.
    pub tenant: String,
    /// Event type (for example `NETWORK_JOIN`).
    pub event_type: String,
    /// The exact body bytes every endpoint receives.
    pub payload: Vec<u8>,
    /// Makes a repeated `send` with the same key (per tenant) a no-op.
    pub idempotency_key: Option<String>,
    /// When it was accepted.
    pub created_at: UnixMillis,
}

/// A stored message.
pub type Message = NewMessage;

/// One delivery to create with a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDelivery {
    /// `dlv_…` id.
    pub id: String,
    /// The endpoint it goes to.
    pub endpoint_id: String,
    /// When it is first due.
    pub next_attempt_at: UnixMillis,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (due at `next_attempt_at`).
    Pending,
    /// Claimed by a worker under a lease.
    InFlight,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: attempts exhausted, permanent error, or endpoint disabled.
    Failed,
}

impl DeliveryState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "in_flight" => Self::InFlight,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A stored delivery: one message to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `dlv_…` id.
    pub id: String,
    /// The message.
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (meaningful while pending).
    pub next_attempt_at: UnixMillis,
    /// When the first attempt was made.
    pub first_attempt_at: Option<UnixMillis>,
    /// When it last became due from the start: its first `next_attempt_at`, moved to the
    /// time of a manual [redelivery](crate::Dispatcher::redeliver) or
    /// [recovery](crate::Dispatcher::recover). Retries and released leases leave it alone;
    /// delivery latency is measured from here, so a redelivery does not look slow.
    pub due_since: UnixMillis,
    /// The worker holding the lease, while in flight.
    pub lease_owner: Option<String>,
    /// When the lease runs out; after that the delivery may be claimed again.
    pub lease_expires_at: Option<UnixMillis>,
    /// Last error or status, for display.
    pub last_error: Option<String>,
    /// Creation time; also the FIFO order within an endpoint (ties broken by `seq`).
    pub created_at: UnixMillis,
    /// Insertion order assigned by the store (monotonic per store).
    pub seq: i64,
}

/// A delivery handed to a worker, with what it needs to make the attempt.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    /// The delivery (state `InFlight`, lease held by the claiming worker).
    pub delivery: Delivery,
    /// Its message.
    pub message: Message,
    /// Its endpoint as stored at claim time.
    pub endpoint: Endpoint,
}

/// The record of one HTTP attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// `att_…` id.
    pub id: String,
    /// The delivery.
    pub delivery_id: String,
    /// Its message.
    pub message_id: String,
    /// Its endpoint.
    pub endpoint_id: String,
    /// 1-based attempt number.
    pub number: u32,
    /// When it started.
    pub at: UnixMillis,
    /// How long it took.
    pub duration_ms: u64,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Transport error or classification, when there was one.
    pub error: Option<String>,
    /// The first few KiB of the response body (lossy UTF-8).
    pub response_snippet: Option<String>,
    /// Whether this attempt delivered the message.
    pub success: bool,
}

/// What a worker decided after an attempt; applied atomically with the attempt record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Delivered: state `Delivered`.
    Delivered,
    /// Try again at the given time: state `Pending`.
    Retry {
        /// When the next attempt is due.
        at: UnixMillis,
    },
    /// Give up: state `Failed`.
    Failed,
}

/// One attempt's result for [`Store::complete_batch`](crate::store::Store::complete_batch):
/// the arguments of one [`Store::complete`](crate::store::Store::complete) call. The
/// delivery is `attempt.delivery_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletedAttempt {
    /// The worker that holds the delivery's lease.
    pub worker: std::sync::Arc<str>,
    /// The attempt to append to the log.
    pub attempt: Attempt,
    /// The delivery's next state.
    pub completion: Completion,
}

impl CompletedAttempt {
    /// `attempt`, made by `worker`, moving its delivery to `completion`.
    pub fn new(
        worker: impl Into<std::sync::Arc<str>>,
        attempt: Attempt,
        completion: Completion,
    ) -> Self {
        Self {
            worker: worker.into(),
            attempt,
            completion,
        }
    }
}

/// What happened to a `send`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnqueueResult {
    /// The message and its deliveries were stored.
    Created {
        /// The message id.
        message_id: String,
        /// How many deliveries were created.
        deliveries: usize,
    },
    /// A message with the same idempotency key exists already; nothing was stored.
    Duplicate {
        /// The earlier message's id.
        message_id: String,
    },
}

/// A filter for listing deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only this endpoint.
    pub endpoint_id: Option<String>,
    /// Only this message.
    pub message_id: Option<String>,
    /// Only this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries of messages sent for this tenant.
    pub tenant: Option<String>,
    /// Only deliveries of messages of this event type.
    pub event_type: Option<String>,
    /// Only deliveries created at or after this time.
    pub created_from: Option<UnixMillis>,
    /// Only deliveries created before this time.
    pub created_before: Option<UnixMillis>,
    /// Keyset position `(created_at, seq)`: only deliveries after it in newest-first order,
    /// that is with `(created_at, seq)` strictly smaller. [`Dispatcher::delivery_page`]
    /// fills it from a page cursor.
    ///
    /// [`Dispatcher::delivery_page`]: crate::Dispatcher::delivery_page
    pub after: Option<(UnixMillis, i64)>,
    /// At most this many (newest first); `None`: a store default of 100. To read every
    /// match, use [`Dispatcher::delivery_page`] and follow its cursor.
    ///
    /// [`Dispatcher::delivery_page`]: crate::Dispatcher::delivery_page
    pub limit: Option<usize>,
}
