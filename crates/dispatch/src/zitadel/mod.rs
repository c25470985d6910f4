//! ZITADEL Actions v2: synchronous calls to targets ("executions"), and the helpers a target
//! needs to answer them.
//!
//! ZITADEL does not only notify: at an execution point (before or after an API call, inside
//! a function such as `preaccesstoken`, or after an event was stored) it calls the targets
//! of the best matching execution, in order, and uses their answers to continue, change or
//! stop its flow. This module does the same on hookwire's signing and transport path:
//!
//! - [`CallTarget`]: a validated Target resource (`restWebhook`, `restCall` or `restAsync`,
//!   `interruptOnError`, timeout, signing key; JSON payloads).
//! - [`Router`]: conditions to ordered target lists; method beats service beats all, event
//!   beats group (most specific first) beats all, functions by name.
//! - [`Executor`]: runs one execution: `execute_request`, `execute_response`,
//!   `execute_function`, `execute_event`; each call is signed with `ZITADEL-Signature`,
//!   bounded by the target's timeout (and an optional overall deadline), restCall replies
//!   replace the message in turn, `forwardedStatusCode`/`forwardedErrorMessage` become
//!   [`ExecutionError`]s.
//! - [`TargetReceiver`], [`Reply`]: the target side: verify, parse into
//!   [`hookwire_events::zitadel`] types, answer in the shape ZITADEL reads.
//!
//! Payload types `PAYLOAD_TYPE_JWT`/`JWE` (signed with the instance's OIDC web key) are
//! refused with [`ConfigError::UnsupportedPayloadType`].
//!
//! # A target, receiving side
//!
//! ```
//! use hookwire_dispatch::zitadel::{Incoming, Reply, TargetReceiver};
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
//!
//! # Running an execution
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use hookwire_dispatch::transport::{Transport, TransportConfig};
//! use hookwire_dispatch::zitadel::Executor;
//! use hookwire_events::zitadel::{Condition, Execution, MethodCondition, Target};
//!
//! let mut target = Target::rest_call(
//!     "email-domain", "https://actions.example.com/validate", Duration::from_secs(5), true);
//! target.signing_key = Some("key-from-CreateTarget".into());
//! let execution = Execution::new(
//!     Condition::Request(MethodCondition::Method(
//!         "/zitadel.user.v2.UserService/AddHumanUser".into())),
//!     ["email-domain".to_owned()],
//! );
//! let executor = Executor::new(Transport::new(TransportConfig::default())?, [target], [execution])?
//!     .with_deadline(Duration::from_secs(10));
//! let request = serde_json::json!({"email": {"email": "mini@example.com"}});
//! match executor.execute_request("/zitadel.user.v2.UserService/AddHumanUser", request).await {
//!     Ok(request) => println!("continue with {request}"),
//!     Err(e) => println!("refused: {:?} {}", e.forwarded_status(), e.client_message()),
//! }
//! # Ok(()) }
//! ```
//!
//! # Event executions and the durable dispatcher
//!
//! Event executions are notifications (ZITADEL queues them and never retries a target).
//! [`Executor::execute_event`] runs them synchronously; [`DurableEvents`] hands them to the
//! durable [`Dispatcher`](crate::Dispatcher) instead (stored, retried, logged), one delivery
//! per target of the best matching execution.

mod call;
mod durable;
mod error;
pub mod router;
mod target;

pub use call::{CallTarget, DEFAULT_TARGET_TIMEOUT, Executor, TargetKind};
pub use durable::{DurableError, DurableEvents};
pub use error::{CallFailure, ConfigError, ExecutionError};
pub use router::{Route, Router, Specificity, Trigger};
pub use target::{Incoming, ReceiveError, Reply, TargetReceiver, parse_incoming};
