//! The [`Verified`] extractor and the bodies it can hand out ([`FromVerifiedBody`]).

use std::ops::Deref;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hookwire_events::{AnyEvent, Family, ParseError};
use serde::de::DeserializeOwned;

use crate::receiver::{Receiver, Verification};
use crate::rejection::Rejection;
use crate::replay::{ReplayStoreError, ReplayTicket};

/// A request body whose signature verified over the exact bytes received, turned into `T`.
///
/// `T` is any [`FromVerifiedBody`]: [`Bytes`], `Vec<u8>`, [`String`], [`Json<E>`](axum::Json),
/// a typed event of `hookwire-events` (`zerotier::Hook`, `zta::Event`, `hub_message::Event`,
/// `zitadel::Payload`, `zentitle::Event`, `standard::Event`) or [`AnyEvent`] of the
/// receiver's family. The [`Receiver`] comes from the router state through [`FromRef`].
///
/// The body is read once, into memory, up to the receiver's limit; the signature is checked
/// over those bytes; only then are the same bytes parsed. Nothing is ever re-serialized.
///
/// Refusals are [`VerifiedRejection`]s: the [`Rejection`] table (400, 401, 413, replay) or the
/// body type's own (for example 400 for a payload that does not parse).
///
/// Under a [`VerifyLayer`](crate::VerifyLayer) the request was already verified: the extractor
/// then reuses the layer's [`Verification`] and only parses.
#[derive(Debug)]
pub struct Verified<T> {
    /// The body, as the requested type.
    pub payload: T,
    /// What the verification found: message id, timestamp, which secret matched.
    pub verification: Verification,
    ticket: Option<ReplayTicket>,
}

impl<T> Verified<T> {
    /// The body, dropping the verification details.
    pub fn into_inner(self) -> T {
        self.payload
    }

    /// Forgets this message in the replay guard, so the sender's next delivery of it is
    /// processed again. Call it when your handler fails after extraction (the
    /// [`VerifyLayer`](crate::VerifyLayer) does this by itself for any non-2xx response).
    /// Does nothing when no guard is configured or the layer recorded the message.
    ///
    /// # Errors
    /// The replay store could not be reached.
    pub async fn release_replay(&self) -> Result<(), ReplayStoreError> {
        ReplayTicket::release_if_any(self.ticket.as_ref()).await
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.payload
    }
}

/// Why [`Verified<T>`] refused a request.
#[derive(Debug)]
pub enum VerifiedRejection<R> {
    /// The request failed verification, was too large, or is a replay.
    Refused(Rejection),
    /// The request verified but the body could not become `T`.
    Body(R),
}

impl<R: IntoResponse> IntoResponse for VerifiedRejection<R> {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(r) => r.into_response(),
            Self::Body(r) => r.into_response(),
        }
    }
}

/// The context a verified body is converted in.
#[derive(Debug, Clone, Copy)]
pub struct BodyContext<'a> {
    /// The receiver's family, for [`AnyEvent`].
    pub family: Option<Family>,
    /// The verification result.
    pub verification: &'a Verification,
}

/// A type the verified body bytes can become. Implement it for your own payload types.
pub trait FromVerifiedBody: Sized {
    /// The refusal when the bytes do not fit.
    type Rejection: IntoResponse;

    /// Converts the verified bytes.
    ///
    /// # Errors
    /// The bytes are not a valid `Self`.
    fn from_verified_body(body: Bytes, cx: BodyContext<'_>) -> Result<Self, Self::Rejection>;
}

impl FromVerifiedBody for Bytes {
    type Rejection = std::convert::Infallible;

    fn from_verified_body(body: Bytes, _: BodyContext<'_>) -> Result<Self, Self::Rejection> {
        Ok(body)
    }
}

impl FromVerifiedBody for Vec<u8> {
    type Rejection = std::convert::Infallible;

    fn from_verified_body(body: Bytes, _: BodyContext<'_>) -> Result<Self, Self::Rejection> {
        Ok(body.into())
    }
}

/// The verified body is not UTF-8 (400).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("request body is not valid UTF-8")]
pub struct InvalidUtf8;

impl IntoResponse for InvalidUtf8 {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

impl FromVerifiedBody for String {
    type Rejection = InvalidUtf8;

    fn from_verified_body(body: Bytes, _: BodyContext<'_>) -> Result<Self, Self::Rejection> {
        String::from_utf8(body.into()).map_err(|_| InvalidUtf8)
    }
}

/// JSON into any `Deserialize` type. Unlike axum's own `Json` extractor the `Content-Type`
/// is not required (several vendors omit it); syntax errors are 400, type errors 422.
impl<E: DeserializeOwned> FromVerifiedBody for Json<E> {
    type Rejection = JsonRejection;

    fn from_verified_body(body: Bytes, _: BodyContext<'_>) -> Result<Self, Self::Rejection> {
        Json::from_bytes(&body)
    }
}

/// A verified payload that is not a valid event of its family (400).
///
/// Unknown event types are not refused (they parse into `Unknown`/`Other` variants); this is
/// for bodies that are not JSON or miss required fields. The message names the field path.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadRejection {
    /// The payload does not parse.
    #[error("payload does not parse: {0}")]
    Parse(#[from] ParseError),
    /// [`AnyEvent`] was asked for but the receiver has no event family.
    #[error("webhook receiver has no event family configured")]
    NoFamily,
}

impl IntoResponse for PayloadRejection {
    fn into_response(self) -> Response {
        let status = match self {
            Self::Parse(_) => StatusCode::BAD_REQUEST,
            Self::NoFamily => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

impl FromVerifiedBody for AnyEvent {
    type Rejection = PayloadRejection;

    fn from_verified_body(body: Bytes, cx: BodyContext<'_>) -> Result<Self, Self::Rejection> {
        let family = cx.family.ok_or(PayloadRejection::NoFamily)?;
        Ok(hookwire_events::parse(family, &body)?)
    }
}

macro_rules! event_body {
    ($($ty:ty => $parse:path),* $(,)?) => {$(
        impl FromVerifiedBody for $ty {
            type Rejection = PayloadRejection;

            fn from_verified_body(body: Bytes, _: BodyContext<'_>) -> Result<Self, Self::Rejection> {
                Ok($parse(&body)?)
            }
        }
    )*};
}

event_body! {
    hookwire_events::zerotier::Hook => hookwire_events::zerotier::parse,
    hookwire_events::zta::Event => hookwire_events::zta::parse,
    hookwire_events::hub_message::Event => hookwire_events::hub_message::parse,
    hookwire_events::zitadel::Payload => hookwire_events::zitadel::parse,
    hookwire_events::zentitle::Event => hookwire_events::zentitle::parse,
    hookwire_events::standard::Event => hookwire_events::standard::parse,
}

impl<S, T> FromRequest<S> for Verified<T>
where
    S: Send + Sync,
    Receiver: FromRef<S>,
    T: FromVerifiedBody,
{
    type Rejection = VerifiedRejection<T::Rejection>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let (bytes, verification, ticket) =
            match parts.extensions.remove::<crate::layer::LayerVerified>() {
                // The layer verified this request already; the body it passes on is the
                // verified bytes.
                Some(done) => {
                    let bytes = done.bytes;
                    (bytes, done.verification, None)
                }
                None => {
                    let accepted = receiver
                        .check(&parts.headers, body)
                        .await
                        .map_err(VerifiedRejection::Refused)?;
                    (accepted.bytes, accepted.verification, accepted.ticket)
                }
            };
        let cx = BodyContext {
            family: receiver.family(),
            verification: &verification,
        };
        let payload = T::from_verified_body(bytes, cx).map_err(VerifiedRejection::Body)?;
        Ok(Self {
            payload,
            verification,
            ticket,
        })
    }
}
