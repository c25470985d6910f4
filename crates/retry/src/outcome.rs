//! What one delivery attempt produced, and how a policy classifies it.

use serde::{Deserialize, Serialize};

use crate::RetryAfter;

/// What one delivery attempt produced, as the dispatcher saw it.
///
/// Build it with [`Outcome::from_status`] when a response arrived, or pick the transport
/// variant that matches the error. Redirects are never followed, so a 3xx arrives here as
/// [`Outcome::Status`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// A 2xx response.
    Success {
        /// The status code (200..=299).
        status: u16,
    },
    /// Any other response, including 1xx and 3xx (redirects are not followed).
    Status {
        /// The status code.
        status: u16,
        /// The parsed `Retry-After` header, if the response had a valid one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<RetryAfter>,
    },
    /// No complete response within the per-attempt timeout.
    Timeout,
    /// The TCP connection was refused.
    ConnectionRefused,
    /// The connection was reset or closed before a complete response.
    ConnectionReset,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The request body is larger than the endpoint accepts (or than we allow to send);
    /// sending it again cannot help.
    BodyTooLarge,
    /// The SSRF guard refused the destination address; never retried.
    SsrfRefused,
    /// Any other transport failure, with a short description.
    Other(String),
}

impl Outcome {
    /// [`Outcome::Success`] for a 2xx status, otherwise [`Outcome::Status`].
    pub fn from_status(status: u16, retry_after: Option<RetryAfter>) -> Self {
        if (200..300).contains(&status) {
            Self::Success { status }
        } else {
            Self::Status {
                status,
                retry_after,
            }
        }
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Success { status } | Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The `Retry-After` hint, when the response carried one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// `true` for [`Outcome::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }

    /// `true` when the outcome says the receiver is overloaded: a timeout or a 429.
    /// Svix raises the delay to a floor in that case (see `RetryPolicy::overload_floor`).
    pub fn is_overload(&self) -> bool {
        matches!(self, Self::Timeout | Self::Status { status: 429, .. })
    }

    /// Classifies this outcome under `cfg` (same as [`classify`]).
    pub fn class(&self, cfg: &ClassifyConfig) -> Class {
        classify(self, cfg)
    }
}

/// What an outcome means for the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Class {
    /// Delivered.
    Success,
    /// Failed; another attempt may succeed.
    Retryable,
    /// Failed; not retried.
    Permanent,
    /// 410 Gone: stop and disable the endpoint.
    Gone,
}

/// Which failures a policy retries. Each field names a group of outcomes; `true` means
/// [`Class::Retryable`], `false` means [`Class::Permanent`].
///
/// [`Outcome::SsrfRefused`] and [`Outcome::BodyTooLarge`] are always permanent, and 2xx is
/// always [`Class::Success`]. The [`Default`] is the baseline: 408/425/429/5xx, 3xx,
/// timeouts and connection-level failures are retried; other 4xx are not; 410 disables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifyConfig {
    /// 408 Request Timeout, 425 Too Early, 429 Too Many Requests. Default: `true`.
    pub retry_throttled: bool,
    /// 5xx. Default: `true`.
    pub retry_server_errors: bool,
    /// 4xx other than 408/410/425/429. Default: `false`.
    pub retry_client_errors: bool,
    /// 3xx (redirects are not followed, so they are failures). Default: `true`.
    pub retry_redirects: bool,
    /// 1xx and codes outside 100..=599. Default: `true`.
    pub retry_unusual_statuses: bool,
    /// [`Outcome::Timeout`]. Default: `true`.
    pub retry_timeouts: bool,
    /// Refused, reset, DNS, TLS and [`Outcome::Other`]. Default: `true`.
    pub retry_connection_errors: bool,
    /// 410 Gone gives [`Class::Gone`] (stop and disable). When `false`, 410 is treated as
    /// any other 4xx. Default: `true`.
    pub disable_on_gone: bool,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            retry_throttled: true,
            retry_server_errors: true,
            retry_client_errors: false,
            retry_redirects: true,
            retry_unusual_statuses: true,
            retry_timeouts: true,
            retry_connection_errors: true,
            disable_on_gone: true,
        }
    }
}

impl ClassifyConfig {
    /// Retries every failure except the always-permanent ones (SSRF refusal, body too
    /// large); 410 still disables. This is how ZeroTier ("fails to be sent for any reason"),
    /// Standard Webhooks ("the rest of the status codes should be treated as a failure")
    /// and Svix (every non-2xx is retried) behave.
    pub fn retry_all_failures() -> Self {
        Self {
            retry_client_errors: true,
            ..Self::default()
        }
    }

    /// Retries only 5xx and timeouts: Zero Trust Analytics' documented rule. 410 still
    /// disables.
    pub fn server_errors_and_timeouts() -> Self {
        Self {
            retry_throttled: false,
            retry_server_errors: true,
            retry_client_errors: false,
            retry_redirects: false,
            retry_unusual_statuses: false,
            retry_timeouts: true,
            retry_connection_errors: false,
            disable_on_gone: true,
        }
    }
}

fn verdict(retry: bool) -> Class {
    if retry {
        Class::Retryable
    } else {
        Class::Permanent
    }
}

/// Classifies an outcome under `cfg`.
///
/// | outcome | class |
/// |---|---|
/// | 2xx | `Success` |
/// | 410 | `Gone` (or as other 4xx when `disable_on_gone` is off) |
/// | 408, 425, 429 | `retry_throttled` |
/// | other 4xx | `retry_client_errors` |
/// | 5xx | `retry_server_errors` |
/// | 3xx | `retry_redirects` |
/// | 1xx, < 100, > 599 | `retry_unusual_statuses` |
/// | timeout | `retry_timeouts` |
/// | refused, reset, DNS, TLS, other | `retry_connection_errors` |
/// | body too large, SSRF refused | `Permanent` |
pub fn classify(outcome: &Outcome, cfg: &ClassifyConfig) -> Class {
    match outcome {
        Outcome::Success { .. } => Class::Success,
        Outcome::Status { status, .. } => classify_status(*status, cfg),
        Outcome::Timeout => verdict(cfg.retry_timeouts),
        Outcome::ConnectionRefused
        | Outcome::ConnectionReset
        | Outcome::Dns
        | Outcome::Tls
        | Outcome::Other(_) => verdict(cfg.retry_connection_errors),
        Outcome::BodyTooLarge | Outcome::SsrfRefused => Class::Permanent,
    }
}

fn classify_status(status: u16, cfg: &ClassifyConfig) -> Class {
    match status {
        200..=299 => Class::Success,
        410 if cfg.disable_on_gone => Class::Gone,
        408 | 425 | 429 => verdict(cfg.retry_throttled),
        400..=499 => verdict(cfg.retry_client_errors),
        500..=599 => verdict(cfg.retry_server_errors),
        300..=399 => verdict(cfg.retry_redirects),
        _ => verdict(cfg.retry_unusual_statuses),
    }
}
