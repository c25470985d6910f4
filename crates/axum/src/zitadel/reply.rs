//! [`Reply`]: a target's answer in the shape ZITADEL reads.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookwire_events::zitadel::{ErrorReply, FunctionReply};
use serde_json::Value;

/// A target's answer: status and JSON body. Return it from an axum handler (it is
/// [`IntoResponse`]), or send `status` and `body` with `Content-Type: application/json` on
/// any other HTTP stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body (may be empty).
    pub body: Vec<u8>,
}

impl Reply {
    /// The content type of every reply with a body.
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// 200 with an empty body: success for restWebhook, restAsync and event targets (a
    /// restCall target answering this leaves the message unchanged).
    pub fn ok() -> Self {
        Self {
            status: 200,
            body: Vec::new(),
        }
    }

    /// 200 with the bare message (the modified request or response, protojson).
    pub fn message(message: &Value) -> Self {
        Self {
            status: 200,
            body: serde_json::to_vec(message).unwrap_or_default(),
        }
    }

    /// 200 with a function reply (claims, metadata, log claims, SAML attributes).
    pub fn function(reply: &FunctionReply) -> Self {
        Self {
            status: 200,
            body: serde_json::to_vec(reply).unwrap_or_default(),
        }
    }

    /// 200 with `forwardedStatusCode`/`forwardedErrorMessage`: ZITADEL answers its caller
    /// with `status` when it is 400..=499, PreconditionFailed otherwise (and only when the
    /// target has `interruptOnError`; otherwise it logs and continues).
    pub fn forward_error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status: 200,
            body: serde_json::to_vec(&ErrorReply::new(status, message)).unwrap_or_default(),
        }
    }

    /// A non-2xx status with an empty body: ZITADEL treats it as a failed call
    /// (`Errors.Execution.Failed`).
    pub fn fail(status: u16) -> Self {
        Self {
            status,
            body: Vec::new(),
        }
    }
}

/// The status (500 if it is not a valid HTTP status), and the body with
/// `Content-Type: application/json` when there is one.
impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.body.is_empty() {
            return status.into_response();
        }
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(Self::CONTENT_TYPE),
            )],
            self.body,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_the_wire_shape() {
        let r = Reply::forward_error(400, "domain not allowed");
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"forwardedStatusCode":400,"forwardedErrorMessage":"domain not allowed"})
        );
        let f = Reply::function(&FunctionReply::default().claim("dept", Value::from("eng")));
        let v: Value = serde_json::from_slice(&f.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"append_claims":[{"key":"dept","value":"eng"}]})
        );
        assert_eq!(Reply::fail(503).status, 503);
        assert!(Reply::ok().body.is_empty());
    }

    #[test]
    fn replies_become_responses() {
        let r = Reply::message(&serde_json::json!({"a": 1})).into_response();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], Reply::CONTENT_TYPE);
        let r = Reply::fail(503).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(
            Reply::fail(42).into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
