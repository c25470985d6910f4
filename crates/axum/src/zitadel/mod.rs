//! Writing a ZITADEL Actions v2 target: verify the call, read it as a typed [`Incoming`],
//! answer with a [`Reply`].
//!
//! ZITADEL calls a target (`restWebhook`, `restCall` or `restAsync`) with a POST signed by
//! `ZITADEL-Signature: t=…,v1=…` (the target's `signingKey`) and a JSON body: a request or
//! response execution, a function execution (`preaccesstoken`, …) or an event. The target
//! answers:
//!
//! - request/response executions (restCall): the bare, possibly modified message
//!   ([`Reply::message`]), never a wrapper;
//! - function executions: a [`FunctionReply`](hookwire_events::zitadel::FunctionReply)
//!   ([`Reply::function`]);
//! - a refusal the user should see: **HTTP 200** with `forwardedStatusCode` (400..=499) and
//!   `forwardedErrorMessage` ([`Reply::forward_error`]); ZITADEL only reads these on 2xx;
//! - a plain success for webhooks and events ([`Reply::ok`]); any non-2xx
//!   ([`Reply::fail`]) makes ZITADEL report PreconditionFailed.
//!
//! The extractor is [`Verified<Incoming>`](crate::Verified) with a [`Receiver`](crate::Receiver)
//! for [`Scheme::Zitadel`](hookwire_signature::Scheme::Zitadel) in the router state: it reads
//! the body up to the receiver's limit, verifies the signature over those exact bytes, then
//! parses them. A refused call gets the [`Rejection`](crate::Rejection) response (400, 401,
//! 413, …); a verified body that is not a call ZITADEL makes gets [`ReceiveError`] (400 for
//! one that does not parse, 422 for a reply or an unknown shape).
//!
//! The sending side (running executions against targets, the router, durable event
//! executions) is `hookwire_dispatch::zitadel`.
//!
//! # A target in axum
//!
//! ```
//! use axum::{Router, routing::post};
//! use hookwire_axum::zitadel::{Incoming, Reply};
//! use hookwire_axum::{Receiver, Verified};
//! use hookwire_signature::{Scheme, Secret};
//!
//! /// Before AddHumanUser: refuse foreign email domains, name the rest.
//! async fn validate(call: Verified<Incoming>) -> Reply {
//!     let Incoming::Request(call) = call.payload else {
//!         return Reply::fail(422);
//!     };
//!     let mut request = call.request.unwrap_or_default();
//!     let email = request.pointer("/email/email").and_then(|e| e.as_str()).unwrap_or_default();
//!     if !email.ends_with("@example.com") {
//!         return Reply::forward_error(400, "email domain not allowed");
//!     }
//!     request["profile"]["displayName"] = "checked by the target".into();
//!     Reply::message(&request)
//! }
//!
//! # fn main() -> Result<(), hookwire_signature::Error> {
//! let receiver = Receiver::new(&Scheme::Zitadel, &[Secret::new("key-from-CreateTarget")])?
//!     .with_body_limit(256 * 1024);
//! let app: Router = Router::new().route("/validate", post(validate)).with_state(receiver);
//! # let _ = app;
//! # Ok(()) }
//! ```
//!
//! # Without axum
//!
//! [`TargetReceiver`] does the same on bytes you already hold:
//!
//! ```
//! use hookwire_axum::zitadel::{Incoming, Reply, TargetReceiver};
//! use hookwire_signature::{Scheme, Secret, Signer};
//!
//! // What ZITADEL sends before AddHumanUser (signed here to make the example self-contained).
//! let body = br#"{"fullMethod":"/zitadel.user.v2.UserService/AddHumanUser","instanceID":"1","request":{"email":{"email":"mini@evil.example"}}}"#;
//! let signer = Signer::new(&Scheme::Zitadel, &[Secret::new("key-from-CreateTarget")])?;
//! let mut headers = http::HeaderMap::new();
//! for (name, value) in signer.sign("", 1_700_000_000, body)? {
//!     headers.insert(name, value);
//! }
//!
//! let receiver = TargetReceiver::new("key-from-CreateTarget")?;
//! let reply = match receiver.receive_at(&headers, body, 1_700_000_010)? {
//!     Incoming::Request(call) => {
//!         let email = call.request.as_ref()
//!             .and_then(|r| r.pointer("/email/email"))
//!             .and_then(|e| e.as_str())
//!             .unwrap_or_default();
//!         if email.ends_with("@example.com") {
//!             Reply::message(call.request.as_ref().unwrap_or(&serde_json::Value::Null))
//!         } else {
//!             Reply::forward_error(400, "email domain not allowed")
//!         }
//!     }
//!     _ => Reply::ok(),
//! };
//! assert_eq!(reply.status, 200); // forwarded errors travel in a 200
//! assert!(String::from_utf8_lossy(&reply.body).contains("forwardedStatusCode"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod reply;
mod target;

pub use reply::Reply;
pub use target::{Incoming, ReceiveError, TargetReceiver, parse_incoming};

use axum::body::Bytes;

use crate::extract::{BodyContext, FromVerifiedBody};

/// A verified body as the call ZITADEL made; [`ReceiveError`] (400 or 422) when it is not one.
impl FromVerifiedBody for Incoming {
    type Rejection = ReceiveError;

    fn from_verified_body(body: Bytes, _: BodyContext<'_>) -> Result<Self, Self::Rejection> {
        parse_incoming(&body)
    }
}
