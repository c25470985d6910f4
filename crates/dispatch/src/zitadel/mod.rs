//! ZITADEL Actions v2: synchronous calls to targets ("executions").
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
//!
//! The target side (verify a call, parse it into [`hookwire_events::zitadel`] types, answer in
//! the shape ZITADEL reads) has no runtime in it and lives in `hookwire_axum::zitadel`: a
//! target author depends on hookwire-axum, not on this crate.
//!
//! Payload types `PAYLOAD_TYPE_JWT`/`JWE` (signed with the instance's OIDC web key) are
//! refused with [`ConfigError::UnsupportedPayloadType`].
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

pub use call::{CallTarget, DEFAULT_TARGET_TIMEOUT, Executor, TargetKind};
pub use durable::{DurableError, DurableEvents};
pub use error::{CallFailure, ConfigError, ExecutionError};
pub use router::{Route, Router, Specificity, Trigger};
