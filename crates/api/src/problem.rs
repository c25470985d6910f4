//! [`Problem`]: the one error shape of the API (`application/problem+json`, RFC 9457).

use std::fmt;

use axum::response::{IntoResponse, Response};
use hookwire_dispatch::error::ErrorKind;
use hookwire_dispatch::{DispatchError, ValidationError};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// The `type` URI prefix of every problem; the rest is [`Problem::kind`].
pub const TYPE_PREFIX: &str = "urn:hookwire:problem:";

/// An error answer: status, a stable kind (the `type` member is `urn:hookwire:problem:<kind>`),
/// a title, an optional detail, and the request field that failed (`field`, a JSON member
/// name, a dotted path such as `auth.token`, or a query parameter).
#[derive(Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: Option<String>,
    field: Option<String>,
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("status", &self.status.as_u16())
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .field("field", &self.field)
            .finish()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.title)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl Problem {
    /// A problem with `status`, a stable `kind` (lowercase, dashes) and a short `title`.
    pub fn new(status: StatusCode, kind: &'static str, title: &'static str) -> Self {
        Self {
            status,
            kind,
            title,
            detail: None,
            field: None,
        }
    }

    /// Adds a human-readable explanation of this occurrence.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Names the request field that failed.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable kind (the end of the `type` URI).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The failing field, if one is named.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// 400 `invalid-request`: a malformed body, parameter or id, naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "The request is invalid",
        )
        .with_field(field)
        .with_detail(detail)
    }

    /// 422 `validation`: well-formed, but refused by a rule, naming `field`.
    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request breaks a rule",
        )
        .with_field(field)
        .with_detail(detail)
    }

    /// 401 `unauthorized` (with `WWW-Authenticate: Bearer`).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
        )
    }

    /// 403 `forbidden`.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
    }

    /// 404 `not-found`: no such record for this tenant (also for other tenants' records).
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .with_detail(format!("no such {what}"))
    }

    /// 404 `no-route`: no route at this path.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no-route", "No such route")
    }

    /// 405 `method-not-allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed on this route",
        )
    }

    /// 413 `too-large`.
    pub fn too_large(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request is too large",
        )
        .with_field(field)
        .with_detail(detail)
    }

    /// 415 `unsupported-media-type`: the body is not `application/json`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body must be application/json",
        )
    }

    /// 500 `internal`: no detail is given to the caller.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
    }

    /// 503 `unavailable`: the store or the dispatcher cannot serve now; retry later.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            type_: format!("{TYPE_PREFIX}{}", self.kind),
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail.as_deref(),
            field: self.field.as_deref(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (self.status, bytes).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// The request field a validation error is about, as this API names its JSON members.
fn validation_field(e: &ValidationError) -> &'static str {
    match (e, e.field()) {
        (ValidationError::TooManyEndpoints { .. }, _) => "endpoints",
        (_, "timeout") => "timeout_ms",
        (_, "secret") => "scheme",
        (_, field) => field,
    }
}

impl From<ValidationError> for Problem {
    fn from(v: ValidationError) -> Self {
        let field = validation_field(&v);
        match v {
            ValidationError::InvalidCursor | ValidationError::InvalidPageSize { .. } => {
                Self::invalid(field, v.to_string())
            }
            ValidationError::PayloadTooLarge { .. } => Self::too_large(field, v.to_string()),
            ValidationError::TooManyEndpoints { max, .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit-exceeded",
                "A limit is reached",
            )
            .with_field(field)
            .with_detail(format!("the limit is {max} endpoints per tenant")),
            ValidationError::Ssrf(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "destination-refused",
                "The destination is not allowed",
            )
            .with_field(field)
            .with_detail(v.to_string()),
            other => Self::unprocessable(field, other.to_string()),
        }
    }
}

impl From<DispatchError> for Problem {
    fn from(e: DispatchError) -> Self {
        let e = match e.into_validation() {
            Ok(v) => return v.into(),
            Err(e) => e,
        };
        match e.kind() {
            ErrorKind::NotFound => Self::not_found("record"),
            ErrorKind::ShuttingDown => Self::unavailable(),
            ErrorKind::Store => {
                tracing::error!(error = %e, "hookwire-api: store failed");
                Self::unavailable()
            }
            _ => {
                tracing::error!(error = %e, "hookwire-api: internal error");
                Self::internal()
            }
        }
    }
}
