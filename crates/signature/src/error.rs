//! The one error type of this crate.

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why signing or verifying failed.
///
/// Every refusal of a verifier is one of these variants. [`Error::SignatureMismatch`] is
/// deliberately opaque: it never says which secret came close or which byte differed.
/// Messages are safe to log: no variant ever carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A header the scheme needs is absent (the name is given in lowercase).
    #[error("missing header `{0}`")]
    MissingHeader(String),
    /// A header is present but its value cannot be parsed (header name, reason).
    #[error("malformed header `{0}`: {1}")]
    MalformedHeader(String, &'static str),
    /// A secret or key could not be used (reason; never the key itself).
    #[error("bad key: {0}")]
    BadKey(&'static str),
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp too old")]
    TimestampTooOld,
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp too new")]
    TimestampTooNew,
    /// No signature matched any secret. Deliberately carries no detail.
    #[error("signature mismatch")]
    SignatureMismatch,
    /// A signer or verifier was built with an empty secret list.
    #[error("no secrets given")]
    NoSecrets,
    /// The name passed to [`Scheme::from_name`](crate::Scheme::from_name) is not a known scheme.
    #[error("unknown scheme `{0}`")]
    UnknownScheme(String),
    /// A scheme parameter is invalid (for example a header name that is not a valid HTTP
    /// header name, or a separator other than `,` or `.`).
    #[error("invalid scheme parameter: {0}")]
    InvalidParameter(&'static str),
    /// A value to sign cannot be put on the wire (negative timestamp, message id that is not a
    /// valid header value).
    #[error("invalid input to sign: {0}")]
    InvalidInput(&'static str),
    /// The scheme needs a crate feature that is disabled (`rsa` or `ed25519`).
    #[error("scheme needs the `{0}` crate feature")]
    FeatureDisabled(&'static str),
    /// The operating system's random number generator failed.
    #[error("OS random number generator failed")]
    Random,
    /// A private-key operation failed (RSA signing or key generation).
    #[error("cryptographic operation failed")]
    Crypto,
}
