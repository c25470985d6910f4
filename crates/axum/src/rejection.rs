//! Why a webhook request was refused, and the response each refusal produces.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookwire_signature::Error as SignatureError;

use crate::replay::ReplayStoreError;

/// Name of the header set on the response to a replayed message (value `true`).
pub const REPLAY_HEADER: &str = "hookwire-replayed";

/// A refused webhook request.
///
/// Each variant maps to one status code (see [`Rejection::status`]). The response body is a
/// short plain-text reason: it names a header or says what was wrong, and never contains a
/// secret, an expected signature or which secret came close.
///
/// | variant | status |
/// |---|---|
/// | [`BodyTooLarge`](Rejection::BodyTooLarge) | 413 |
/// | [`BodyUnreadable`](Rejection::BodyUnreadable) | 400 |
/// | [`BadHeader`](Rejection::BadHeader) (missing or malformed header) | 400 |
/// | [`Unauthorized`](Rejection::Unauthorized) (signature mismatch, timestamp out of tolerance) | 401 |
/// | [`Replayed`](Rejection::Replayed) | 200 by default (configurable), with header `hookwire-replayed: true` |
/// | [`ReplayStore`](Rejection::ReplayStore) | 503 |
/// | [`Misconfigured`](Rejection::Misconfigured) (unusable key in the receiver) | 500 |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is longer than the receiver's limit (bytes).
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The body could not be read (the connection failed mid-body).
    #[error("request body could not be read")]
    BodyUnreadable,
    /// A header the scheme needs is missing or cannot be parsed.
    #[error("{0}")]
    BadHeader(SignatureError),
    /// The signature does not match, or the signed timestamp is outside the tolerance.
    #[error("{0}")]
    Unauthorized(SignatureError),
    /// The message verified but its id was already seen within the replay window.
    #[error("message already received")]
    Replayed {
        /// The status to answer with (200 unless configured otherwise).
        status: StatusCode,
    },
    /// The replay store failed; the sender should retry later.
    #[error("replay store unavailable")]
    ReplayStore(#[source] ReplayStoreError),
    /// The receiver's own key cannot be used. The detail is kept for logs, not sent.
    #[error("webhook receiver misconfigured")]
    Misconfigured(SignatureError),
}

impl Rejection {
    /// Sorts a verification error into the matching refusal.
    pub(crate) fn from_signature(err: SignatureError) -> Self {
        match err {
            SignatureError::MissingHeader(..) | SignatureError::MalformedHeader(..) => {
                Self::BadHeader(err)
            }
            SignatureError::BadKey(_)
            | SignatureError::NoSecrets
            | SignatureError::UnknownScheme(_)
            | SignatureError::InvalidParameter(_)
            | SignatureError::FeatureDisabled(_) => Self::Misconfigured(err),
            // Signature mismatch, timestamps and anything a future version adds: refuse.
            _ => Self::Unauthorized(err),
        }
    }

    /// The HTTP status this refusal answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable | Self::BadHeader(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Replayed { status } => *status,
            Self::ReplayStore(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The underlying verification error, if the refusal came from the verifier.
    pub fn signature_error(&self) -> Option<&SignatureError> {
        match self {
            Self::BadHeader(e) | Self::Unauthorized(e) | Self::Misconfigured(e) => Some(e),
            _ => None,
        }
    }

    /// Whether this is the answer to a replayed message (not an error for the sender).
    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replayed { .. })
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        // `Display` of every variant is safe to send: the signature crate's messages carry
        // header names and fixed reasons only, and `Misconfigured` hides its detail.
        let mut response = (status, self.to_string()).into_response();
        if self.is_replay() {
            response
                .headers_mut()
                .insert(REPLAY_HEADER, HeaderValue::from_static("true"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Signature"),
            );
        }
        response
    }
}
