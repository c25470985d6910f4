//! Running executions: call each target in order, sign, enforce timeouts, apply restCall
//! replies, interpret forwarded errors.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookwire_events::zitadel::{
    ErrorReply, EventExecution, Execution, FunctionExecution, FunctionReply, PayloadType,
    RequestExecution, ResponseExecution, Target, TargetType,
};
use hookwire_retry::Outcome;
use hookwire_signature::{Scheme, Secret, Signer};
use http::{HeaderMap, HeaderValue, header};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::error::{CallFailure, ConfigError, ExecutionError};
use super::router::{Router, Trigger, function_name};
use crate::transport::Transport;

/// Used when a target has no `timeout` (ZITADEL requires one; 10 s is its docs' example).
pub const DEFAULT_TARGET_TIMEOUT: Duration = Duration::from_secs(10);

/// How a target's answer is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetKind {
    /// `restWebhook`: the status decides (a 2xx forwarded-error body still counts as an
    /// error, as in ZITADEL's `HandleResponse`); any other body is ignored.
    Webhook,
    /// `restCall`: the status decides and the body replaces the request/response message
    /// (or is the function reply).
    Call,
    /// `restAsync`: sent in the background; errors are only logged.
    Async,
}

/// A target ready to be called: validated endpoint and timeout, pre-keyed signer.
/// `Debug` never shows the signing key or the endpoint's query string.
#[derive(Clone)]
pub struct CallTarget {
    id: String,
    name: String,
    endpoint: Url,
    timeout: Duration,
    kind: TargetKind,
    interrupt_on_error: bool,
    signer: Option<Signer>,
}

impl fmt::Debug for CallTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.endpoint.clone();
        if shown.query().is_some() {
            shown.set_query(Some("<redacted>"));
        }
        f.debug_struct("CallTarget")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("endpoint", &shown.as_str())
            .field("timeout", &self.timeout)
            .field("kind", &self.kind)
            .field("interrupt_on_error", &self.interrupt_on_error)
            .field("signed", &self.signer.is_some())
            .finish()
    }
}

impl CallTarget {
    /// Validates a Target resource. Its id is `id`, or `name` when there is no id.
    ///
    /// # Errors
    /// [`ConfigError::MissingTargetId`], [`ConfigError::InvalidEndpoint`],
    /// [`ConfigError::InvalidTimeout`], [`ConfigError::MissingTargetType`],
    /// [`ConfigError::UnsupportedTargetType`], [`ConfigError::UnsupportedPayloadType`],
    /// [`ConfigError::BadSigningKey`].
    pub fn from_resource(target: &Target) -> Result<Self, ConfigError> {
        let id = match (&target.id, target.name.is_empty()) {
            (Some(id), _) if !id.is_empty() => id.clone(),
            (_, false) => target.name.clone(),
            _ => return Err(ConfigError::MissingTargetId),
        };
        let endpoint = Url::parse(&target.endpoint).map_err(|e| ConfigError::InvalidEndpoint {
            target: id.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
            return Err(ConfigError::InvalidEndpoint {
                target: id,
                reason: "expected an absolute http(s) URL".to_owned(),
            });
        }
        let timeout = target
            .timeout_duration()
            .map_err(|e| ConfigError::InvalidTimeout {
                target: id.clone(),
                reason: e.to_string(),
            })?
            .unwrap_or(DEFAULT_TARGET_TIMEOUT);
        if timeout.is_zero() {
            return Err(ConfigError::InvalidTimeout {
                target: id,
                reason: "zero".to_owned(),
            });
        }
        let (kind, interrupt_on_error) = match &target.target_type {
            None => return Err(ConfigError::MissingTargetType(id)),
            Some(TargetType::RestWebhook(o)) => (TargetKind::Webhook, o.interrupt_on_error),
            Some(TargetType::RestCall(o)) => (TargetKind::Call, o.interrupt_on_error),
            Some(TargetType::RestAsync(_)) => (TargetKind::Async, false),
            Some(_) => return Err(ConfigError::UnsupportedTargetType(id)),
        };
        match target.effective_payload_type() {
            PayloadType::Json => {}
            other => {
                return Err(ConfigError::UnsupportedPayloadType {
                    target: id,
                    payload_type: other.as_str().to_owned(),
                });
            }
        }
        let signer =
            match target.signing_key.as_deref() {
                None | Some("") => None,
                Some(key) => Some(Signer::new(&Scheme::Zitadel, &[Secret::new(key)]).map_err(
                    |e| ConfigError::BadSigningKey {
                        target: id.clone(),
                        reason: e.to_string(),
                    },
                )?),
            };
        Ok(Self {
            name: if target.name.is_empty() {
                id.clone()
            } else {
                target.name.clone()
            },
            id,
            endpoint,
            timeout,
            kind,
            interrupt_on_error,
            signer,
        })
    }

    /// The id executions refer to.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The kind.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// Whether a failure stops the chain (always `false` for `restAsync`).
    pub fn interrupt_on_error(&self) -> bool {
        self.interrupt_on_error
    }

    /// Whether calls carry `ZITADEL-Signature` (the target has a signing key).
    pub fn is_signed(&self) -> bool {
        self.signer.is_some()
    }

    /// The headers of one call: `Content-Type: application/json` and, with a signing key,
    /// `ZITADEL-Signature: t=<now>,v1=<hex>` over `"{t}." + body`.
    ///
    /// # Errors
    /// [`CallFailure::Signing`].
    pub fn headers(&self, body: &[u8], now_unix: i64) -> Result<HeaderMap, CallFailure> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(signer) = &self.signer {
            let pairs = signer
                .sign("", now_unix, body)
                .map_err(|e| CallFailure::Signing(e.to_string()))?;
            for (name, value) in pairs {
                headers.append(name, value);
            }
        }
        Ok(headers)
    }

    /// Sends one call and interprets the answer like ZITADEL's `HandleResponse`: a 2xx body
    /// carrying `forwardedStatusCode`/`forwardedErrorMessage` is an error, any other 2xx
    /// returns the body, anything else is an error. `timeout` caps this call.
    ///
    /// # Errors
    /// Every [`CallFailure`] but [`CallFailure::InvalidReply`].
    pub async fn call(
        &self,
        transport: &Transport,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallFailure> {
        let headers = self.headers(&body, unix_now())?;
        let result = transport.post(&self.endpoint, headers, body, timeout).await;
        match result.outcome {
            Outcome::Success { .. } => {
                if let Some(err) = forwarded_error(&result.body) {
                    return Err(err);
                }
                if result.truncated && self.kind == TargetKind::Call {
                    return Err(CallFailure::InvalidReply(
                        "reply larger than the transport's read cap".to_owned(),
                    ));
                }
                Ok(result.body)
            }
            Outcome::Status { status, .. } => Err(CallFailure::Status(status)),
            Outcome::Timeout => Err(CallFailure::Timeout),
            other => Err(CallFailure::Transport(match result.error {
                Some(e) => format!("{other:?}: {e}"),
                None => format!("{other:?}"),
            })),
        }
    }
}

/// A 2xx body's forwarded error, as ZITADEL reads it (a body that is not such an object is
/// a success).
fn forwarded_error(body: &[u8]) -> Option<CallFailure> {
    let reply: ErrorReply = serde_json::from_slice(body).ok()?;
    let code = reply.forwarded_status_code.unwrap_or(0);
    let message = reply.forwarded_error_message.clone().unwrap_or_default();
    if code == 0 && message.is_empty() {
        return None;
    }
    Some(match u16::try_from(code) {
        Ok(status) if reply.is_forwarded() => CallFailure::Forwarded { status, message },
        _ => CallFailure::ForwardedOther {
            status: reply.forwarded_status_code,
            message,
        },
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The message an execution carries through its chain.
trait Chain {
    /// The body sent to the next target.
    fn body(&self) -> Bytes;
    /// Applies a restCall reply (non-empty body).
    fn apply(&mut self, reply: &[u8]) -> Result<(), CallFailure>;
}

fn reply_object(reply: &[u8]) -> Result<Value, CallFailure> {
    match serde_json::from_slice::<Value>(reply) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(CallFailure::InvalidReply(
            "expected a JSON object (the bare message)".to_owned(),
        )),
        Err(e) => Err(CallFailure::InvalidReply(format!("not JSON: {e}"))),
    }
}

fn to_bytes<T: serde::Serialize>(value: &T) -> Bytes {
    // Serializing these types cannot fail: string keys, no non-finite floats from us.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

struct RequestChain(RequestExecution);

impl Chain for RequestChain {
    fn body(&self) -> Bytes {
        to_bytes(&self.0)
    }
    fn apply(&mut self, reply: &[u8]) -> Result<(), CallFailure> {
        self.0.request = Some(reply_object(reply)?);
        Ok(())
    }
}

struct ResponseChain(ResponseExecution);

impl Chain for ResponseChain {
    fn body(&self) -> Bytes {
        to_bytes(&self.0)
    }
    fn apply(&mut self, reply: &[u8]) -> Result<(), CallFailure> {
        self.0.response = Some(reply_object(reply)?);
        Ok(())
    }
}

struct FunctionChain {
    context: FunctionExecution,
    reply: FunctionReply,
}

fn extend<T>(into: &mut Option<Vec<T>>, from: Option<Vec<T>>) {
    if let Some(items) = from {
        into.get_or_insert_with(Vec::new).extend(items);
    }
}

impl Chain for FunctionChain {
    fn body(&self) -> Bytes {
        to_bytes(&self.context)
    }
    fn apply(&mut self, reply: &[u8]) -> Result<(), CallFailure> {
        let reply: FunctionReply = serde_json::from_slice(reply)
            .map_err(|e| CallFailure::InvalidReply(format!("not a function reply: {e}")))?;
        extend(&mut self.reply.set_user_metadata, reply.set_user_metadata);
        extend(&mut self.reply.append_claims, reply.append_claims);
        extend(&mut self.reply.append_log_claims, reply.append_log_claims);
        extend(&mut self.reply.append_attribute, reply.append_attribute);
        self.reply.extra.extend(reply.extra);
        Ok(())
    }
}

struct EventChain(EventExecution);

impl Chain for EventChain {
    fn body(&self) -> Bytes {
        to_bytes(&self.0)
    }
    fn apply(&mut self, _reply: &[u8]) -> Result<(), CallFailure> {
        // Event executions have nothing a target could change.
        Ok(())
    }
}

#[derive(Clone)]
struct Inner {
    transport: Transport,
    targets: HashMap<String, Arc<CallTarget>>,
    router: Router,
    deadline: Option<Duration>,
}

/// Runs ZITADEL executions against their targets. `Clone` is cheap (an `Arc`); build one and
/// share it.
///
/// Each `execute_*` call finds the best matching execution ([`Router`]), then calls its
/// targets in order: `restWebhook` and `restCall` are awaited (each within its own timeout
/// and the executor's overall deadline, if set), `restAsync` is spawned and never awaited.
/// A restCall reply replaces the message the next target sees. A failing target with
/// `interruptOnError` stops the chain with [`ExecutionError::Interrupted`]; without it the
/// failure is logged (`tracing`, target `hookwire_dispatch::zitadel`) and the chain goes on.
///
/// Must be used inside a tokio runtime (restAsync calls are spawned on it).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.inner.targets.keys().collect();
        ids.sort();
        f.debug_struct("Executor")
            .field("targets", &ids)
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// Validates the targets and executions and builds the router.
    ///
    /// # Errors
    /// Any [`ConfigError`]: a bad target, a bad condition, an execution naming a target that
    /// is not in `targets`, two targets with one id.
    pub fn new(
        transport: Transport,
        targets: impl IntoIterator<Item = Target>,
        executions: impl IntoIterator<Item = Execution>,
    ) -> Result<Self, ConfigError> {
        let mut map = HashMap::new();
        for target in targets {
            let t = CallTarget::from_resource(&target)?;
            if map.contains_key(t.id()) {
                return Err(ConfigError::DuplicateTarget(t.id().to_owned()));
            }
            map.insert(t.id().to_owned(), Arc::new(t));
        }
        let router = Router::new(executions)?;
        if let Some(missing) = router.target_ids().find(|id| !map.contains_key(*id)) {
            return Err(ConfigError::UnknownTarget(missing.to_owned()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                transport,
                targets: map,
                router,
                deadline: None,
            }),
        })
    }

    /// Caps each synchronous execution (all its awaited calls together) at `deadline`.
    /// Default is none: only the targets' own timeouts apply.
    #[must_use]
    pub fn with_deadline(self, deadline: Duration) -> Self {
        let mut inner = Inner::clone(&self.inner);
        inner.deadline = Some(deadline);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The router.
    pub fn router(&self) -> &Router {
        &self.inner.router
    }

    /// A target by id.
    pub fn target(&self, id: &str) -> Option<&CallTarget> {
        self.inner.targets.get(id).map(|t| &**t)
    }

    /// The targets a trigger would call, in order (best matching execution).
    pub fn targets_for(&self, trigger: Trigger<'_>) -> Vec<&CallTarget> {
        self.inner
            .router
            .targets(trigger)
            .iter()
            .filter_map(|id| self.target(id))
            .collect()
    }

    /// Runs the request execution of `full_method` on `request` (the protojson of the
    /// request message) and returns the request to continue with.
    ///
    /// # Errors
    /// [`ExecutionError::Interrupted`], [`ExecutionError::DeadlineExceeded`],
    /// [`ExecutionError::MissingField`] (empty method).
    pub async fn execute_request(
        &self,
        full_method: &str,
        request: Value,
    ) -> Result<Value, ExecutionError> {
        self.execute_request_context(RequestExecution {
            full_method: Some(full_method.to_owned()),
            request: Some(request),
            ..RequestExecution::default()
        })
        .await
    }

    /// [`execute_request`](Self::execute_request) with the whole context (instance, org,
    /// user, headers). A missing `request` is sent as `{}`.
    ///
    /// # Errors
    /// As [`execute_request`](Self::execute_request).
    pub async fn execute_request_context(
        &self,
        mut context: RequestExecution,
    ) -> Result<Value, ExecutionError> {
        let method = required(context.full_method.clone(), "fullMethod")?;
        context.request.get_or_insert_with(empty_object);
        let mut chain = RequestChain(context);
        self.run(Trigger::Request(&method), &mut chain).await?;
        Ok(chain.0.request.unwrap_or_else(empty_object))
    }

    /// Runs the response execution of `full_method` and returns the response to send.
    ///
    /// # Errors
    /// As [`execute_request`](Self::execute_request).
    pub async fn execute_response(
        &self,
        full_method: &str,
        request: Value,
        response: Value,
    ) -> Result<Value, ExecutionError> {
        self.execute_response_context(ResponseExecution {
            full_method: Some(full_method.to_owned()),
            request: Some(request),
            response: Some(response),
            ..ResponseExecution::default()
        })
        .await
    }

    /// [`execute_response`](Self::execute_response) with the whole context. A missing
    /// `response` is sent as `{}`.
    ///
    /// # Errors
    /// As [`execute_request`](Self::execute_request).
    pub async fn execute_response_context(
        &self,
        mut context: ResponseExecution,
    ) -> Result<Value, ExecutionError> {
        let method = required(context.full_method.clone(), "fullMethod")?;
        context.response.get_or_insert_with(empty_object);
        let mut chain = ResponseChain(context);
        self.run(Trigger::Response(&method), &mut chain).await?;
        Ok(chain.0.response.unwrap_or_else(empty_object))
    }

    /// Runs the function execution named by `context.function` (`function/preaccesstoken`
    /// or `preaccesstoken`; sent as `function/<name>`) and returns the restCall replies
    /// merged in target order (lists appended). An unknown function calls nothing.
    ///
    /// ZITADEL itself unmarshals each reply over the previous one (a later target's list
    /// replaces an earlier one's); appending lets several targets each add claims.
    ///
    /// # Errors
    /// As [`execute_request`](Self::execute_request); `MissingField("function")` when empty.
    pub async fn execute_function(
        &self,
        mut context: FunctionExecution,
    ) -> Result<FunctionReply, ExecutionError> {
        let name = context.name().trim().to_owned();
        if name.is_empty() {
            return Err(ExecutionError::MissingField("function"));
        }
        if let Some(known) = function_name(&name) {
            context.function = format!("function/{known}");
        }
        let mut chain = FunctionChain {
            context,
            reply: FunctionReply::default(),
        };
        self.run(Trigger::Function(&name), &mut chain).await?;
        Ok(chain.reply)
    }

    /// Runs the event execution for `event.event_type` synchronously (every target awaited
    /// in order, restCall bodies ignored). For durable, retried delivery use
    /// [`DurableEvents`](super::DurableEvents) instead.
    ///
    /// # Errors
    /// As [`execute_request`](Self::execute_request); `MissingField("event_type")`.
    pub async fn execute_event(&self, event: EventExecution) -> Result<(), ExecutionError> {
        let event_type = required(event.event_type.clone(), "event_type")?;
        let mut chain = EventChain(event);
        self.run(Trigger::Event(&event_type), &mut chain).await
    }

    async fn run(&self, trigger: Trigger<'_>, chain: &mut dyn Chain) -> Result<(), ExecutionError> {
        let ids = self.inner.router.targets(trigger);
        if ids.is_empty() {
            return Ok(());
        }
        let deadline = self.inner.deadline.map(|d| Instant::now() + d);
        for id in ids {
            let Some(target) = self.inner.targets.get(id) else {
                continue; // checked in `new`
            };
            if target.kind == TargetKind::Async {
                self.spawn_async(Arc::clone(target), chain.body());
                continue;
            }
            let (timeout, capped) = match deadline {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ExecutionError::DeadlineExceeded { target: id.clone() });
                    }
                    (left.min(target.timeout), left < target.timeout)
                }
                None => (target.timeout, false),
            };
            let result = match target
                .call(&self.inner.transport, chain.body(), timeout)
                .await
            {
                Ok(body) if target.kind == TargetKind::Call && !body.is_empty() => {
                    chain.apply(&body)
                }
                Ok(_) => Ok(()),
                Err(CallFailure::Timeout) if capped => {
                    return Err(ExecutionError::DeadlineExceeded { target: id.clone() });
                }
                Err(e) => Err(e),
            };
            if let Err(failure) = result {
                if target.interrupt_on_error {
                    tracing::warn!(target: "hookwire_dispatch::zitadel", target_id = %id, error = %failure, "target failed; execution interrupted");
                    return Err(ExecutionError::Interrupted {
                        target: id.clone(),
                        failure,
                    });
                }
                tracing::warn!(target: "hookwire_dispatch::zitadel", target_id = %id, error = %failure, "target failed; continuing (interruptOnError off)");
            }
        }
        Ok(())
    }

    fn spawn_async(&self, target: Arc<CallTarget>, body: Bytes) {
        let transport = self.inner.transport.clone();
        tokio::spawn(async move {
            let timeout = target.timeout;
            if let Err(e) = target.call(&transport, body, timeout).await {
                tracing::warn!(target: "hookwire_dispatch::zitadel", target_id = %target.id, error = %e, "restAsync target failed");
            }
        });
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, ExecutionError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or(ExecutionError::MissingField(field))
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_error_reading_matches_handle_response() {
        assert_eq!(
            forwarded_error(br#"{"forwardedStatusCode":400,"forwardedErrorMessage":"no"}"#),
            Some(CallFailure::Forwarded {
                status: 400,
                message: "no".into()
            })
        );
        assert_eq!(
            forwarded_error(br#"{"forwardedStatusCode":500,"forwardedErrorMessage":"x"}"#),
            Some(CallFailure::ForwardedOther {
                status: Some(500),
                message: "x".into()
            })
        );
        assert_eq!(
            forwarded_error(br#"{"forwardedErrorMessage":"only text"}"#),
            Some(CallFailure::ForwardedOther {
                status: None,
                message: "only text".into()
            })
        );
        assert_eq!(forwarded_error(br#"{"forwardedStatusCode":0}"#), None);
        assert_eq!(forwarded_error(br#"{"email":"a@b.c"}"#), None);
        assert_eq!(forwarded_error(b"not json"), None);
        assert_eq!(forwarded_error(b"[1]"), None);
        assert_eq!(forwarded_error(b""), None);
    }

    #[test]
    fn target_validation() {
        let ok = Target::rest_call("t", "http://127.0.0.1:1/x", Duration::from_secs(1), true);
        let t = CallTarget::from_resource(&ok).unwrap();
        assert_eq!(t.id(), "t");
        assert_eq!(t.kind(), TargetKind::Call);
        assert!(t.interrupt_on_error());
        assert!(!t.is_signed());

        let mut bad = ok.clone();
        bad.endpoint = "ftp://x/".into();
        assert!(matches!(
            CallTarget::from_resource(&bad),
            Err(ConfigError::InvalidEndpoint { .. })
        ));
        let mut bad = ok.clone();
        bad.timeout = Some("10".into());
        assert!(matches!(
            CallTarget::from_resource(&bad),
            Err(ConfigError::InvalidTimeout { .. })
        ));
        let mut bad = ok.clone();
        bad.timeout = Some("0s".into());
        assert!(matches!(
            CallTarget::from_resource(&bad),
            Err(ConfigError::InvalidTimeout { .. })
        ));
        let mut bad = ok.clone();
        bad.payload_type = Some(PayloadType::Jwt);
        assert!(matches!(
            CallTarget::from_resource(&bad),
            Err(ConfigError::UnsupportedPayloadType { .. })
        ));
        let mut bad = ok.clone();
        bad.target_type = None;
        assert_eq!(
            CallTarget::from_resource(&bad).unwrap_err(),
            ConfigError::MissingTargetType("t".into())
        );
        let mut anon = ok;
        anon.name = String::new();
        assert_eq!(
            CallTarget::from_resource(&anon).unwrap_err(),
            ConfigError::MissingTargetId
        );
    }

    #[test]
    fn debug_hides_key_and_query() {
        let mut t = Target::rest_webhook(
            "t",
            "http://127.0.0.1:1/x?token=abc",
            Duration::from_secs(1),
            false,
        );
        t.signing_key = Some("super-secret-key".into());
        let ct = CallTarget::from_resource(&t).unwrap();
        let shown = format!("{ct:?}");
        assert!(!shown.contains("super-secret-key"));
        assert!(!shown.contains("abc"));
        assert!(shown.contains("signed: true"));
    }

    #[test]
    fn signs_with_the_spec_vector() {
        let mut t = Target::rest_webhook("t", "http://127.0.0.1:1/", Duration::from_secs(1), false);
        t.signing_key = Some("testSigningKey".into());
        let ct = CallTarget::from_resource(&t).unwrap();
        let h = ct.headers(b"test", 1_700_000_000).unwrap();
        assert_eq!(
            h.get("zitadel-signature").unwrap(),
            "t=1700000000,v1=4d2cdd3630cfdb0f43c5842d65b7e89b3c3c3617a9380884ce676f3b63ca517e"
        );
        assert_eq!(h.get("content-type").unwrap(), "application/json");
    }
}
