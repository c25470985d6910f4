//! Typed errors of the dispatcher and the registry.

use hookwire_events::Family;

use crate::ssrf::SsrfError;
use crate::store::StoreError;
use crate::transport::TransportError;

/// Why an endpoint definition or a message was refused. Each variant names the rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The tenant is empty.
    #[error("tenant must not be empty")]
    EmptyTenant,
    /// The URL does not parse.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL is longer than the limit.
    #[error("URL is {len} bytes, the limit is {max}")]
    UrlTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The URL scheme is neither `https` nor (when allowed) `http`.
    #[error("URL scheme {0:?} is not allowed: use https")]
    UnsupportedScheme(String),
    /// Plain `http` is allowed only to allow-listed loopback addresses, and only when the
    /// builder enables it.
    #[error(
        "plain http is not allowed for {0}: use https (http is only for allow-listed loopback when the dispatcher enables it)"
    )]
    InsecureUrl(String),
    /// The URL carries a user name or password; use [`Auth`](crate::model::Auth) instead.
    #[error("URL must not contain credentials; use the endpoint's auth instead")]
    UrlCredentials,
    /// The URL's IP literal is in a refused range.
    #[error("destination refused: {0}")]
    Ssrf(#[from] SsrfError),
    /// No event type given.
    #[error("an endpoint needs at least one event type (or \"*\")")]
    NoEventTypes,
    /// More event types than the limit.
    #[error("{got} event types, the limit per endpoint is {max}")]
    TooManyEventTypes {
        /// How many were given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// An event type the family does not know.
    #[error("unknown {family} event type {event_type:?}")]
    UnknownEventType {
        /// The family.
        family: Family,
        /// The type.
        event_type: String,
    },
    /// The event type of a message is empty.
    #[error("event type must not be empty")]
    EmptyEventType,
    /// The tenant has as many endpoints as allowed.
    #[error("tenant {tenant} already has {max} endpoints, the limit")]
    TooManyEndpoints {
        /// The tenant.
        tenant: String,
        /// The limit.
        max: usize,
    },
    /// The payload is larger than the limit.
    #[error("payload is {got} bytes, the limit is {max}")]
    PayloadTooLarge {
        /// Its size.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A custom or auth header name is reserved (hop-by-hop, Host, Content-Length, our own
    /// and the signature headers).
    #[error("header {0:?} cannot be set: it is reserved")]
    ReservedHeader(String),
    /// A header name or value is not valid HTTP.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// Too many custom headers.
    #[error("{got} custom headers, the limit is {max}")]
    TooManyHeaders {
        /// How many were given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The timeout is zero or above the limit.
    #[error("timeout must be between 1 ms and {max_ms} ms")]
    InvalidTimeout {
        /// The limit in milliseconds.
        max_ms: u64,
    },
    /// The rate limit is not a positive finite rate with a burst of at least 1.
    #[error("rate limit must have a positive finite rate and a burst of at least 1")]
    InvalidRateLimit,
    /// `max_in_flight` is zero.
    #[error("max in flight must be at least 1")]
    InvalidMaxInFlight,
    /// The auth settings are unusable (empty token, bad header name, ...).
    #[error("invalid auth: {0}")]
    InvalidAuth(&'static str),
    /// The description is longer than the limit.
    #[error("description is longer than {max} bytes")]
    DescriptionTooLong {
        /// The limit.
        max: usize,
    },
    /// The signing scheme or secret is unusable.
    #[error("signing: {0}")]
    Signature(#[from] hookwire_signature::Error),
}

/// Errors from [`Dispatcher`](crate::Dispatcher) operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The input was refused.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No such record.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The builder's settings are inconsistent.
    #[error("invalid dispatcher configuration: {0}")]
    Config(&'static str),
    /// `start` was called twice.
    #[error("the dispatcher is already running")]
    AlreadyStarted,
    /// A transactional-outbox call does not fit the dispatcher's store (another backend, or
    /// another database file).
    #[error("transactional outbox: {0}")]
    Outbox(&'static str),
    /// The dispatcher is shutting down and accepts no new work.
    #[error("the dispatcher is shutting down")]
    ShuttingDown,
}

/// Shorthand for dispatcher results.
pub type Result<T, E = DispatchError> = std::result::Result<T, E>;
