//! Verifying and parsing what ZITADEL sends to a target, without axum: [`TargetReceiver`],
//! [`Incoming`], [`parse_incoming`], [`ReceiveError`].

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hookwire_events::ParseError;
use hookwire_events::zitadel::{
    self as events, EventExecution, FunctionExecution, Payload, RequestExecution, ResponseExecution,
};
use hookwire_signature::{Scheme, Secret, Tolerance, Verified, Verifier};

use crate::rejection::Rejection;

/// Why a target refused what it received.
///
/// As a response: a signature refusal answers as the [`Rejection`] table says (400 for a
/// missing or malformed header, 401 for a mismatch or a stale timestamp), a body that does
/// not parse 400, an unexpected kind 422. ZITADEL treats any of them as a failed call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The signature header is missing, malformed, stale or does not match.
    #[error("signature refused: {0}")]
    Signature(#[from] hookwire_signature::Error),
    /// The body is not a ZITADEL payload.
    #[error("invalid payload: {0}")]
    Parse(#[from] ParseError),
    /// The body parsed, but as something ZITADEL does not send to targets (a reply, or an
    /// unknown shape); the kind is named.
    #[error("unexpected payload kind `{0}`")]
    Unexpected(&'static str),
}

impl IntoResponse for ReceiveError {
    fn into_response(self) -> Response {
        match self {
            Self::Signature(e) => Rejection::from_signature(e).into_response(),
            Self::Parse(_) => (StatusCode::BAD_REQUEST, self.to_string()).into_response(),
            Self::Unexpected(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, self.to_string()).into_response()
            }
        }
    }
}

/// What ZITADEL sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// A request execution: reply with the (modified) `request` message.
    Request(RequestExecution),
    /// A response execution: reply with the (modified) `response` message.
    Response(ResponseExecution),
    /// A function execution: reply with a `FunctionReply`.
    Function(FunctionExecution),
    /// An event execution: reply 2xx.
    Event(EventExecution),
}

impl Incoming {
    /// The type: the full method, `function/<name>` or the event type.
    pub fn event_type(&self) -> &str {
        match self {
            Self::Request(r) => r.full_method.as_deref().unwrap_or("request"),
            Self::Response(r) => r.full_method.as_deref().unwrap_or("response"),
            Self::Function(f) => &f.function,
            Self::Event(e) => e.event_type.as_deref().unwrap_or("event"),
        }
    }
}

/// Verifies and parses calls from ZITADEL to one target, on bytes you already hold (any HTTP
/// stack). In an axum handler, [`Verified<Incoming>`](crate::Verified) does the same and also
/// reads the body with a limit.
#[derive(Debug, Clone)]
pub struct TargetReceiver {
    verifier: Option<Verifier>,
}

impl TargetReceiver {
    /// A receiver that checks `ZITADEL-Signature` with the target's signing key (the
    /// `signingKey` ZITADEL returned when the target was created). The default tolerance is
    /// 300 s each way (zitadel-go checks only the past).
    ///
    /// # Errors
    /// [`ReceiveError::Signature`] when the key cannot be used (empty).
    pub fn new(signing_key: impl Into<Secret>) -> Result<Self, ReceiveError> {
        let key: Secret = signing_key.into();
        if key.expose_secret().is_empty() {
            return Err(hookwire_signature::Error::BadKey("empty signing key").into());
        }
        Ok(Self {
            verifier: Some(Verifier::new(&Scheme::Zitadel, &[key])?),
        })
    }

    /// A receiver for a target without a signing key: nothing is verified. Only for
    /// targets reachable solely by ZITADEL (or tests).
    pub fn without_signature_check() -> Self {
        Self { verifier: None }
    }

    /// Sets the timestamp tolerance.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Tolerance) -> Self {
        self.verifier = self.verifier.map(|v| v.with_tolerance(tolerance));
        self
    }

    /// Checks the signature only (against the system clock).
    ///
    /// # Errors
    /// [`ReceiveError::Signature`].
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Option<Verified>, ReceiveError> {
        self.verify_at(headers, body, unix_now())
    }

    /// Checks the signature only, with `now_unix` as the current time.
    ///
    /// # Errors
    /// [`ReceiveError::Signature`].
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Option<Verified>, ReceiveError> {
        match &self.verifier {
            Some(v) => Ok(Some(v.verify_at(body, headers, now_unix)?)),
            None => Ok(None),
        }
    }

    /// Verifies the raw body (against the system clock) and parses it.
    ///
    /// # Errors
    /// [`ReceiveError::Signature`], [`ReceiveError::Parse`], [`ReceiveError::Unexpected`].
    pub fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Result<Incoming, ReceiveError> {
        self.receive_at(headers, body, unix_now())
    }

    /// [`receive`](Self::receive) with `now_unix` as the current time.
    ///
    /// # Errors
    /// As [`receive`](Self::receive).
    pub fn receive_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Incoming, ReceiveError> {
        self.verify_at(headers, body, now_unix)?;
        parse_incoming(body)
    }
}

/// Parses a body ZITADEL sends to a target (no signature check).
///
/// # Errors
/// [`ReceiveError::Parse`], [`ReceiveError::Unexpected`].
pub fn parse_incoming(body: &[u8]) -> Result<Incoming, ReceiveError> {
    match events::parse(body)? {
        Payload::Request(r) => Ok(Incoming::Request(r)),
        Payload::Response(r) => Ok(Incoming::Response(r)),
        Payload::Function(f) => Ok(Incoming::Function(f)),
        Payload::Event(e) => Ok(Incoming::Event(e)),
        Payload::FunctionReply(_) => Err(ReceiveError::Unexpected("function-reply")),
        Payload::ErrorReply(_) => Err(ReceiveError::Unexpected("error-reply")),
        _ => Err(ReceiveError::Unexpected("other")),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"aggregateID":"336494809936035843","aggregateType":"user","resourceOwner":"336392597046099971","instanceID":"336392597046034435","version":"v2","sequence":1,"event_type":"user.human.added","created_at":"2025-09-05T08:55:36.156333Z","userID":"336392597046755331","event_payload":{"email":"mini@mouse.com","userName":"mini@mouse.com"}}"#;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("zitadel-signature", value.parse().unwrap());
        h
    }

    #[test]
    fn spec_vector_verifies_and_parses() {
        let r = TargetReceiver::new("testSigningKey").unwrap();
        let h = headers(
            "t=1700000000,v1=3a170cc15a7c453a637f8545c7a145ca43a846ba7e835a8156845a465307a18a",
        );
        let got = r.receive_at(&h, EVENT.as_bytes(), 1_700_000_100).unwrap();
        let Incoming::Event(e) = got else {
            panic!("not an event: {got:?}")
        };
        assert_eq!(e.event_type.as_deref(), Some("user.human.added"));
        // Second key's signature alongside: still accepted.
        let r2 = TargetReceiver::new("secondKey").unwrap();
        let h2 = headers(
            "t=1700000000,v1=3a170cc15a7c453a637f8545c7a145ca43a846ba7e835a8156845a465307a18a,v1=2d76d7914d42d761d87e8b4384ab27c731ef8c67be3e28b9d89971862e62b4b3",
        );
        assert!(r2.receive_at(&h2, EVENT.as_bytes(), 1_700_000_100).is_ok());
    }

    #[test]
    fn refusals_are_typed() {
        let r = TargetReceiver::new("testSigningKey").unwrap();
        let good =
            "t=1700000000,v1=3a170cc15a7c453a637f8545c7a145ca43a846ba7e835a8156845a465307a18a";
        // Tampered body.
        let tampered = EVENT.replace("mini@mouse.com", "evil@mouse.com");
        assert!(matches!(
            r.receive_at(&headers(good), tampered.as_bytes(), 1_700_000_100),
            Err(ReceiveError::Signature(
                hookwire_signature::Error::SignatureMismatch
            ))
        ));
        // Too old.
        assert!(matches!(
            r.receive_at(&headers(good), EVENT.as_bytes(), 1_700_000_301),
            Err(ReceiveError::Signature(
                hookwire_signature::Error::TimestampTooOld
            ))
        ));
        // Missing header.
        assert!(matches!(
            r.receive_at(&HeaderMap::new(), EVENT.as_bytes(), 1_700_000_100),
            Err(ReceiveError::Signature(
                hookwire_signature::Error::MissingHeader(_)
            ))
        ));
        // Not a payload ZITADEL sends.
        let u = TargetReceiver::without_signature_check();
        assert!(matches!(
            u.receive(&HeaderMap::new(), br#"{"forwardedStatusCode":400}"#),
            Err(ReceiveError::Unexpected("error-reply"))
        ));
        assert!(matches!(
            u.receive(&HeaderMap::new(), b"nope"),
            Err(ReceiveError::Parse(_))
        ));
        assert!(TargetReceiver::new("").is_err());
    }

    #[test]
    fn refusals_answer_with_their_status() {
        let status = |e: ReceiveError| e.into_response().status();
        let sig = hookwire_signature::Error::SignatureMismatch;
        assert_eq!(status(sig.into()), StatusCode::UNAUTHORIZED);
        let missing = TargetReceiver::new("k")
            .unwrap()
            .verify(&HeaderMap::new(), b"{}")
            .unwrap_err();
        assert_eq!(status(missing), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(parse_incoming(b"nope").unwrap_err()),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(parse_incoming(br#"{"append_claims":[]}"#).unwrap_err()),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    proptest::proptest! {
        /// Any body and any header value: a typed answer, never a panic.
        #[test]
        fn receive_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256), header in "[ -~]{0,120}") {
            let r = TargetReceiver::new("k").unwrap();
            let mut h = HeaderMap::new();
            if let Ok(v) = header.parse() {
                h.insert("zitadel-signature", v);
            }
            let _ = r.receive_at(&h, &body, 1_700_000_000);
            let _ = parse_incoming(&body);
        }
    }
}
