//! Typed errors of the dispatcher and the registry.

use std::fmt;

use hookwire_events::Family;

use crate::at_rest::{AtRestError, KeyError};
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
    /// A page cursor that this dispatcher did not hand out (or for another listing).
    #[error("invalid page cursor")]
    InvalidCursor,
    /// A page size of zero or above the limit.
    #[error("page size must be between 1 and {max}")]
    InvalidPageSize {
        /// The largest page size.
        max: usize,
    },
    /// The metadata (keys and values together) is larger than the limit.
    #[error("metadata is larger than {max} bytes")]
    MetadataTooLarge {
        /// The limit.
        max: usize,
    },
    /// The signing scheme or secret is unusable.
    #[error("signing: {0}")]
    Signature(#[from] hookwire_signature::Error),
}

impl ValidationError {
    /// The input field the rule is about, for field-level reporting (an HTTP API answering
    /// 422 names it): `tenant`, `url`, `event_types`, `event_type`, `payload`, `headers`,
    /// `timeout`, `rate_limit`, `max_in_flight`, `auth`, `description`, `metadata`, `secret`,
    /// `cursor` or
    /// `limit` (the page size).
    ///
    /// ```
    /// use hookwire_dispatch::ValidationError;
    ///
    /// assert_eq!(ValidationError::NoEventTypes.field(), "event_types");
    /// assert_eq!(ValidationError::UrlCredentials.field(), "url");
    /// ```
    pub fn field(&self) -> &'static str {
        match self {
            Self::EmptyTenant | Self::TooManyEndpoints { .. } => "tenant",
            Self::InvalidUrl(_)
            | Self::UrlTooLong { .. }
            | Self::UnsupportedScheme(_)
            | Self::InsecureUrl(_)
            | Self::UrlCredentials
            | Self::Ssrf(_) => "url",
            Self::NoEventTypes | Self::TooManyEventTypes { .. } | Self::UnknownEventType { .. } => {
                "event_types"
            }
            Self::EmptyEventType => "event_type",
            Self::PayloadTooLarge { .. } => "payload",
            Self::ReservedHeader(_) | Self::InvalidHeader(_) | Self::TooManyHeaders { .. } => {
                "headers"
            }
            Self::InvalidTimeout { .. } => "timeout",
            Self::InvalidRateLimit => "rate_limit",
            Self::InvalidMaxInFlight => "max_in_flight",
            Self::InvalidAuth(_) => "auth",
            Self::DescriptionTooLong { .. } => "description",
            Self::MetadataTooLarge { .. } => "metadata",
            Self::Signature(_) => "secret",
            Self::InvalidCursor => "cursor",
            Self::InvalidPageSize { .. } => "limit",
        }
    }
}

/// What kind of failure a [`DispatchError`] is; see [`DispatchError::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was refused: [`DispatchError::validation`] says which rule and field.
    Validation,
    /// An operation named an endpoint, delivery or message that does not exist.
    NotFound,
    /// The store failed; [`source`](std::error::Error::source) is the [`StoreError`].
    Store,
    /// The HTTP client could not be built; the source is the [`TransportError`].
    Transport,
    /// The builder's settings are inconsistent.
    Config,
    /// [`Dispatcher::start`](crate::Dispatcher::start) was called twice.
    AlreadyStarted,
    /// A transactional-outbox call does not fit the dispatcher's store (another backend, or
    /// another database file).
    Outbox,
    /// Endpoint secrets could not be encrypted or decrypted, or the store holds encrypted
    /// records the configured keys cannot read (the store is then refused);
    /// [`DispatchError::at_rest_error`] says which record and why.
    AtRest,
    /// An encryption key given to the builder is unusable; the source is the [`KeyError`].
    Key,
    /// The dispatcher is shutting down and accepts no new work.
    ShuttingDown,
}

/// Errors from [`Dispatcher`](crate::Dispatcher) operations.
///
/// Opaque on purpose (reqwest's shape): ask [`kind`](Self::kind) or an `is_*` predicate,
/// [`validation`](Self::validation) for the rule an input broke, and
/// [`source`](std::error::Error::source) for the underlying [`ValidationError`],
/// [`StoreError`] or [`TransportError`]. New kinds may be added.
///
/// # Not found
/// There is one way to learn that a record does not exist:
/// - **lookups** (`endpoint`/`get_endpoint`, `delivery`, `message`) answer `Ok(None)`;
/// - **operations on an id** (`update_endpoint`, `enable_endpoint`, `disable_endpoint`,
///   `rotate_secret`, `send_test`, `redeliver`) fail with an error whose
///   [`is_not_found`](Self::is_not_found) is true, whichever layer noticed;
/// - deletes answer whether the record existed (`delete_endpoint` → `Ok(false)`), and bulk
///   operations on an unknown endpoint (`recover`) count zero.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use hookwire_dispatch::{Dispatcher, ErrorKind, store::MemoryStore};
///
/// let dispatcher = Dispatcher::builder(Arc::new(MemoryStore::new())).build().unwrap();
/// let err = dispatcher.redeliver("dlv_unknown").await.unwrap_err();
/// assert!(err.is_not_found());
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(dispatcher.delivery("dlv_unknown").await.unwrap().is_none());
/// # }
/// ```
pub struct DispatchError {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    detail: Detail,
}

enum Detail {
    Validation(ValidationError),
    NotFound { what: &'static str, id: String },
    Store(StoreError),
    Transport(TransportError),
    AtRest(AtRestError),
    Key(KeyError),
    Message(&'static str),
    None,
}

impl DispatchError {
    fn new(kind: ErrorKind, detail: Detail) -> Self {
        Self {
            inner: Box::new(Inner { kind, detail }),
        }
    }

    /// No `what` (`endpoint`, `delivery`, `message`) with this id.
    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::NotFound,
            Detail::NotFound {
                what,
                id: id.into(),
            },
        )
    }

    /// Inconsistent builder settings.
    pub(crate) fn config(why: &'static str) -> Self {
        Self::new(ErrorKind::Config, Detail::Message(why))
    }

    /// A transactional-outbox call that does not fit the store.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn outbox(why: &'static str) -> Self {
        Self::new(ErrorKind::Outbox, Detail::Message(why))
    }

    /// `start` called twice.
    pub(crate) fn already_started() -> Self {
        Self::new(ErrorKind::AlreadyStarted, Detail::None)
    }

    /// The dispatcher is shutting down.
    pub(crate) fn shutting_down() -> Self {
        Self::new(ErrorKind::ShuttingDown, Detail::None)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The refused rule, when the input was refused ([`ErrorKind::Validation`]);
    /// [`ValidationError::field`] names the field.
    pub fn validation(&self) -> Option<&ValidationError> {
        match &self.inner.detail {
            Detail::Validation(v) => Some(v),
            _ => None,
        }
    }

    /// The refused rule by value, or the error back when it is not a validation error.
    ///
    /// # Errors
    /// `self`, unchanged, when its kind is not [`ErrorKind::Validation`].
    pub fn into_validation(self) -> Result<ValidationError, Self> {
        match self.inner.detail {
            Detail::Validation(v) => Ok(v),
            _ => Err(self),
        }
    }

    /// The store's error, when the store failed ([`ErrorKind::Store`]).
    pub fn store_error(&self) -> Option<&StoreError> {
        match &self.inner.detail {
            Detail::Store(e) => Some(e),
            _ => None,
        }
    }

    /// The at-rest failure, when secrets could not be encrypted or decrypted or the store
    /// was refused ([`ErrorKind::AtRest`]).
    pub fn at_rest_error(&self) -> Option<&AtRestError> {
        match &self.inner.detail {
            Detail::AtRest(e) => Some(e),
            _ => None,
        }
    }

    /// Secrets could not be encrypted or decrypted, or the store was refused.
    pub fn is_at_rest(&self) -> bool {
        self.kind() == ErrorKind::AtRest
    }

    /// The input was refused.
    pub fn is_validation(&self) -> bool {
        self.kind() == ErrorKind::Validation
    }

    /// The endpoint, delivery or message named does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// The store failed (database error, lost connection, corrupt record, ...).
    pub fn is_store(&self) -> bool {
        self.kind() == ErrorKind::Store
    }

    /// The HTTP client could not be built.
    pub fn is_transport(&self) -> bool {
        self.kind() == ErrorKind::Transport
    }

    /// The builder's settings are inconsistent.
    pub fn is_config(&self) -> bool {
        self.kind() == ErrorKind::Config
    }

    /// `start` was called twice.
    pub fn is_already_started(&self) -> bool {
        self.kind() == ErrorKind::AlreadyStarted
    }

    /// A transactional-outbox call does not fit the dispatcher's store.
    pub fn is_outbox(&self) -> bool {
        self.kind() == ErrorKind::Outbox
    }

    /// The dispatcher is shutting down and accepts no new work.
    pub fn is_shutting_down(&self) -> bool {
        self.kind() == ErrorKind::ShuttingDown
    }
}

impl fmt::Debug for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DispatchError");
        d.field("kind", &self.inner.kind);
        match &self.inner.detail {
            Detail::Validation(v) => d.field("source", v),
            Detail::NotFound { what, id } => d.field("what", what).field("id", id),
            Detail::Store(e) => d.field("source", e),
            Detail::Transport(e) => d.field("source", e),
            Detail::AtRest(e) => d.field("source", e),
            Detail::Key(e) => d.field("source", e),
            Detail::Message(m) => d.field("message", m),
            Detail::None => &mut d,
        };
        d.finish()
    }
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.inner.kind, &self.inner.detail) {
            (_, Detail::Validation(v)) => fmt::Display::fmt(v, f),
            (_, Detail::NotFound { what, id }) => write!(f, "{what} {id} not found"),
            (_, Detail::Store(e)) => write!(f, "store: {e}"),
            (_, Detail::Transport(e)) => fmt::Display::fmt(e, f),
            (_, Detail::AtRest(e)) => write!(f, "secrets at rest: {e}"),
            (_, Detail::Key(e)) => write!(f, "encryption key: {e}"),
            (ErrorKind::Config, Detail::Message(m)) => {
                write!(f, "invalid dispatcher configuration: {m}")
            }
            (ErrorKind::Outbox, Detail::Message(m)) => write!(f, "transactional outbox: {m}"),
            (ErrorKind::AlreadyStarted, _) => f.write_str("the dispatcher is already running"),
            (ErrorKind::ShuttingDown, _) => f.write_str("the dispatcher is shutting down"),
            (_, Detail::Message(m)) => f.write_str(m),
            (kind, Detail::None) => write!(f, "{kind:?}"),
        }
    }
}

impl std::error::Error for DispatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.detail {
            Detail::Validation(v) => Some(v),
            Detail::Store(e) => Some(e),
            Detail::Transport(e) => Some(e),
            Detail::AtRest(e) => Some(e),
            Detail::Key(e) => Some(e),
            Detail::NotFound { .. } | Detail::Message(_) | Detail::None => None,
        }
    }
}

impl From<AtRestError> for DispatchError {
    fn from(e: AtRestError) -> Self {
        Self::new(ErrorKind::AtRest, Detail::AtRest(e))
    }
}

impl From<KeyError> for DispatchError {
    fn from(e: KeyError) -> Self {
        Self::new(ErrorKind::Key, Detail::Key(e))
    }
}

impl From<ValidationError> for DispatchError {
    fn from(e: ValidationError) -> Self {
        Self::new(ErrorKind::Validation, Detail::Validation(e))
    }
}

/// A store's [`StoreError::NotFound`] becomes [`ErrorKind::NotFound`] (the one not-found path);
/// every other store error is [`ErrorKind::Store`].
impl From<StoreError> for DispatchError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => Self::not_found(kind, id),
            other => Self::new(ErrorKind::Store, Detail::Store(other)),
        }
    }
}

impl From<TransportError> for DispatchError {
    fn from(e: TransportError) -> Self {
        Self::new(ErrorKind::Transport, Detail::Transport(e))
    }
}

/// Shorthand for dispatcher results.
pub type Result<T, E = DispatchError> = std::result::Result<T, E>;
