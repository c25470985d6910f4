//! Errors of the ZITADEL execution engine.

/// An execution or target set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two targets share an id.
    #[error("duplicate target id `{0}`")]
    DuplicateTarget(String),
    /// A target has neither an id nor a name.
    #[error("a target has neither an id nor a name")]
    MissingTargetId,
    /// A target's endpoint is not an absolute `http(s)` URL.
    #[error("target `{target}`: invalid endpoint: {reason}")]
    InvalidEndpoint {
        /// The target id.
        target: String,
        /// Why (never the URL itself: it may embed a token).
        reason: String,
    },
    /// A target's `timeout` is not a protobuf duration such as `"10s"`, or is zero.
    #[error("target `{target}`: invalid timeout: {reason}")]
    InvalidTimeout {
        /// The target id.
        target: String,
        /// Why.
        reason: String,
    },
    /// A target has no `restWebhook`, `restCall` or `restAsync` type.
    #[error("target `{0}` has no target type (restWebhook, restCall or restAsync)")]
    MissingTargetType(String),
    /// A target type this crate does not know (a newer proto).
    #[error("target `{0}` has an unsupported target type")]
    UnsupportedTargetType(String),
    /// `PAYLOAD_TYPE_JWT` / `PAYLOAD_TYPE_JWE` (signed with the instance's OIDC web key; out
    /// of scope, see the module docs).
    #[error("target `{target}`: payload type `{payload_type}` is not supported (only JSON)")]
    UnsupportedPayloadType {
        /// The target id.
        target: String,
        /// The wire name of the payload type.
        payload_type: String,
    },
    /// The signing key could not be used.
    #[error("target `{target}`: signing key refused: {reason}")]
    BadSigningKey {
        /// The target id.
        target: String,
        /// Why (never the key).
        reason: String,
    },
    /// An execution names a target id that is not in the target set.
    #[error("an execution names unknown target `{0}`")]
    UnknownTarget(String),
    /// A condition that can never match (`all: false`, an empty method, service, event or
    /// group) or is malformed.
    #[error("invalid execution condition: {0}")]
    InvalidCondition(String),
    /// A function condition with a name ZITADEL does not have.
    #[error(
        "unknown function `{0}` (known: preuserinfo, preaccesstoken, presamlresponse, preotpsmscode, preotpemailcode)"
    )]
    UnknownFunction(String),
    /// A condition kind this crate does not know (a newer proto).
    #[error("unsupported execution condition")]
    UnsupportedCondition,
}

/// Why one call to a target failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallFailure {
    /// The target answered 2xx with `forwardedStatusCode` in 400..=499: ZITADEL returns that
    /// status (and the message) to its caller.
    #[error("forwarded {status}: {message}")]
    Forwarded {
        /// The forwarded status (400..=499).
        status: u16,
        /// `forwardedErrorMessage`.
        message: String,
    },
    /// The target answered 2xx with a forwarded error whose code is not 4xx (or absent):
    /// ZITADEL turns it into PreconditionFailed with the message.
    #[error("forwarded non-4xx error ({status:?}): {message}")]
    ForwardedOther {
        /// `forwardedStatusCode`, if any.
        status: Option<i64>,
        /// `forwardedErrorMessage`.
        message: String,
    },
    /// A non-2xx status (ZITADEL: PreconditionFailed `Errors.Execution.Failed`).
    #[error("target answered HTTP {0}")]
    Status(u16),
    /// No answer within the target's timeout.
    #[error("target timed out")]
    Timeout,
    /// The request could not be delivered (refused, reset, DNS, TLS, SSRF guard, ...).
    #[error("transport error: {0}")]
    Transport(String),
    /// A restCall reply that cannot replace the message (not a JSON object, too large, not a
    /// function reply).
    #[error("invalid reply: {0}")]
    InvalidReply(String),
    /// The call could not be signed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Why an execution did not produce a final message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutionError {
    /// A target with `interruptOnError` failed; the chain stopped there.
    #[error("target `{target}` interrupted the execution: {failure}")]
    Interrupted {
        /// The target id.
        target: String,
        /// What went wrong.
        failure: CallFailure,
    },
    /// The execution's overall deadline ([`Executor::with_deadline`](super::Executor::with_deadline))
    /// passed before the chain finished; this always stops the chain.
    #[error("execution deadline exceeded at target `{target}`")]
    DeadlineExceeded {
        /// The target being called (or about to be) when time ran out.
        target: String,
    },
    /// The context lacks a field the execution needs (`fullMethod`, `event_type`,
    /// `function`).
    #[error("missing `{0}` in the execution context")]
    MissingField(&'static str),
}

impl ExecutionError {
    /// The status ZITADEL forwards to its own caller, for a forwarded 4xx error.
    pub fn forwarded_status(&self) -> Option<u16> {
        match self {
            Self::Interrupted {
                failure: CallFailure::Forwarded { status, .. },
                ..
            } => Some(*status),
            _ => None,
        }
    }

    /// `true` when ZITADEL would answer its caller with PreconditionFailed (every failure
    /// except a forwarded 4xx and a missing context field).
    pub fn is_precondition_failed(&self) -> bool {
        match self {
            Self::Interrupted { failure, .. } => !matches!(failure, CallFailure::Forwarded { .. }),
            Self::DeadlineExceeded { .. } => true,
            Self::MissingField(_) => false,
        }
    }

    /// The message ZITADEL shows its caller: the forwarded message, or
    /// `Errors.Execution.Failed`.
    pub fn client_message(&self) -> &str {
        match self {
            Self::Interrupted {
                failure:
                    CallFailure::Forwarded { message, .. } | CallFailure::ForwardedOther { message, .. },
                ..
            } => message,
            _ => "Errors.Execution.Failed",
        }
    }

    /// `true` for a target timeout or the overall deadline.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::DeadlineExceeded { .. }
                | Self::Interrupted {
                    failure: CallFailure::Timeout,
                    ..
                }
        )
    }

    /// The target that failed, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            Self::Interrupted { target, .. } | Self::DeadlineExceeded { target } => Some(target),
            Self::MissingField(_) => None,
        }
    }
}
