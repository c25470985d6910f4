//! One attempt, as named steps: [`admit`] (circuit breaker, in-flight limit, rate limit) →
//! [`build_request`] (signature and headers from the endpoint's [prepared](super::prepared)
//! parts) → send (the transport) → [`decide`] (the retry policy) → record (the store, then
//! endpoint health).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hookwire_retry::{Decision, Finality, Outcome, SeededJitter};
use http::HeaderMap;

use super::Engine;
use super::clock::{millis, to_millis};
use super::gates::{Busy, GatePass};
use super::prepared::Prepared;
use crate::headers::{self, RequestMeta};
use crate::metrics as m;
use crate::model::{
    Attempt, ClaimedDelivery, CompletedAttempt, Completion, Delivery, Endpoint, Message,
    UnixMillis, new_id,
};
use crate::store::StoreError;
use crate::transport::HttpResult;

/// How long a delivery waits when its endpoint is at its in-flight limit.
const IN_FLIGHT_BACKOFF_MS: i64 = 20;
/// How long a delivery waits for an open breaker that does not say when it half-opens.
const OPEN_CIRCUIT_BACKOFF_MS: i64 = 1000;

/// Runs one claimed delivery to its recorded result (or gives it back unattempted).
pub(crate) async fn run(
    engine: &Engine,
    worker: &Arc<str>,
    cd: ClaimedDelivery,
    mut rng: SeededJitter,
) {
    let ClaimedDelivery {
        delivery,
        mut message,
        endpoint,
    } = cd;
    let started = engine.clock.now();
    let pass = match admit(engine, &endpoint, started) {
        Admission::Go(pass) => pass,
        Admission::Later { at, why } => {
            tracing::debug!(until = at, why, "delivery released");
            super::claim::release(engine, &delivery.id, worker, at).await;
            return;
        }
    };
    let now = to_millis(started);
    let number = delivery.attempts + 1;
    let prepared =
        engine
            .prepared
            .get(&engine.at_rest, &endpoint, &engine.settings.user_agent, now);
    let result = match build_request(&prepared, &endpoint, &message, number, now) {
        Ok((url, headers)) => {
            let body = Bytes::from(std::mem::take(&mut message.payload));
            let timeout = Duration::from_millis(endpoint.timeout_ms.max(1));
            Ok(engine.transport.post(url, headers, body, timeout).await)
        }
        Err(error) => Err(error),
    };
    drop(pass);
    let finished = engine.clock.now_millis();
    let due_since = delivery.due_since;
    let decided = decide(
        &endpoint,
        delivery,
        &message,
        result,
        (now, finished),
        engine.settings.snippet_cap,
        &mut rng,
    );
    let labels = m::labels(&endpoint, engine.settings.endpoint_label);
    let recorded = record(engine, worker, decided, due_since, &labels).await;
    if endpoint.fifo {
        // The next delivery of a FIFO endpoint may be claimed now.
        engine.wake();
    }
    let gone = recorded.decision == Decision::GiveUpAndDisable;
    engine
        .note_health(&endpoint, recorded.outcome, recorded.finality, gone)
        .await;
}

/// Whether an attempt may go now.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Go, holding the endpoint's gate until the request ends.
    Go(GatePass),
    /// Not now: give the delivery back, due at `at`.
    Later {
        /// When it is due again.
        at: UnixMillis,
        /// Why (for the log).
        why: &'static str,
    },
}

/// Step 1: the endpoint's breaker must allow a request, and its gates (in-flight limit,
/// rate limit) must have room.
pub(crate) fn admit(engine: &Engine, endpoint: &Endpoint, now: SystemTime) -> Admission {
    let now_ms = to_millis(now);
    if !endpoint.health.allows_request(&endpoint.health_policy, now) {
        let at = endpoint
            .health
            .retry_at(&endpoint.health_policy)
            .map_or(now_ms + OPEN_CIRCUIT_BACKOFF_MS, to_millis)
            .max(now_ms + 1);
        return Admission::Later {
            at,
            why: "circuit open",
        };
    }
    match engine.gates.try_enter(
        &endpoint.id,
        endpoint.max_in_flight,
        endpoint.rate_limit,
        now,
    ) {
        Ok(pass) => Admission::Go(pass),
        Err(Busy::InFlight) => Admission::Later {
            at: now_ms + IN_FLIGHT_BACKOFF_MS,
            why: "in-flight limit",
        },
        Err(Busy::RateLimited(wait)) => Admission::Later {
            at: now_ms + millis(wait).max(1),
            why: "rate limited",
        },
    }
}

/// Step 2: the destination and headers of attempt `number` at `now`, or why the request
/// cannot be built (an unusable URL or secret: that never gets better).
pub(crate) fn build_request<'p>(
    prepared: &'p Prepared,
    endpoint: &Endpoint,
    message: &Message,
    number: u32,
    now: UnixMillis,
) -> Result<(&'p url::Url, HeaderMap), String> {
    let url = prepared.url.as_ref().map_err(Clone::clone)?;
    let timestamp = now / 1000;
    let signature = match &prepared.signer {
        Ok(None) => Vec::new(),
        Ok(Some(signer)) => signer
            .sign(&message.id, timestamp, &message.payload)
            .map_err(|e| format!("signing failed: {e}"))?,
        Err(e) => return Err(e.clone()),
    };
    let meta = RequestMeta {
        family: endpoint.family,
        message_id: &message.id,
        event_type: &message.event_type,
        timestamp,
        attempt: number,
    };
    let headers = headers::build(
        &prepared.base_headers,
        &meta,
        prepared.auth.as_ref(),
        signature,
    );
    Ok((url, headers))
}

/// What the engine decided after an attempt.
#[derive(Debug)]
pub(crate) struct Decided {
    /// The attempt log record.
    pub(crate) attempt: Attempt,
    /// The delivery's next state.
    pub(crate) completion: Completion,
    /// The retry policy's decision.
    pub(crate) decision: Decision,
    /// The classified outcome (for health).
    pub(crate) outcome: Outcome,
    /// How long the request took.
    pub(crate) duration: Duration,
    /// When the attempt ended.
    pub(crate) finished: UnixMillis,
}

/// Step 4: classify the result, ask the retry policy, and write the attempt record. The
/// attempt started at `times.0` and ended at `times.1`; `result` is the response, or why no
/// request could be built (then the delivery fails at once).
pub(crate) fn decide(
    endpoint: &Endpoint,
    delivery: Delivery,
    message: &Message,
    result: Result<HttpResult, String>,
    (started, finished): (UnixMillis, UnixMillis),
    snippet_cap: usize,
    rng: &mut SeededJitter,
) -> Decided {
    let number = delivery.attempts + 1;
    let elapsed = delivery.first_attempt_at.map_or(Duration::ZERO, |first| {
        Duration::from_millis(u64::try_from(finished - first).unwrap_or(0))
    });
    let (result, decision) = match result {
        Ok(r) => {
            let decision = endpoint.retry.decide(number, &r.outcome, elapsed, rng);
            (r, decision)
        }
        Err(error) => (setup_failure(error), Decision::GiveUp),
    };
    let completion = match decision {
        Decision::Done => Completion::Delivered,
        Decision::RetryAfter(d) => Completion::Retry {
            at: finished.saturating_add(millis(d)),
        },
        // `GiveUp`, `GiveUpAndDisable`, and any decision a newer hookwire-retry adds: stop.
        _ => Completion::Failed,
    };
    let success = result.outcome.is_success();
    let snippet_len = result.body.len().min(snippet_cap);
    let attempt = Attempt {
        id: new_id("att"),
        delivery_id: delivery.id,
        message_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        number,
        at: started,
        duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        status: result.status,
        error: (!success).then(|| describe(&result.outcome, result.error.as_deref())),
        response_snippet: (snippet_len > 0)
            .then(|| String::from_utf8_lossy(&result.body[..snippet_len]).into_owned()),
        success,
    };
    Decided {
        attempt,
        completion,
        decision,
        outcome: result.outcome,
        duration: result.duration,
        finished,
    }
}

/// The result of a request that could not be built.
fn setup_failure(error: String) -> HttpResult {
    HttpResult {
        outcome: Outcome::Other(error.clone()),
        status: None,
        body: Bytes::new(),
        truncated: false,
        headers: HeaderMap::new(),
        error: Some(error),
        duration: Duration::ZERO,
    }
}

/// Text for the attempt log.
fn describe(outcome: &Outcome, error: Option<&str>) -> String {
    match (outcome, error) {
        (Outcome::Status { status, .. }, _) => format!("HTTP {status}"),
        (_, Some(e)) => e.to_owned(),
        (o, None) => format!("{o:?}"),
    }
}

/// What [`record`] leaves of a [`Decided`] for the steps after it.
#[derive(Debug)]
pub(crate) struct Recorded {
    /// Whether the attempt ended its delivery: only a recorded completion does (if
    /// recording failed, the delivery is sent again).
    pub(crate) finality: Finality,
    /// The delivery's next state, as decided.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the unit tests"))]
    pub(crate) completion: Completion,
    /// The retry policy's decision.
    pub(crate) decision: Decision,
    /// The classified outcome (for health).
    pub(crate) outcome: Outcome,
}

/// Step 5: records the attempt and the delivery's next state, while `worker` still holds
/// the lease, through the engine's group commit (it returns once the batch holding it is
/// committed).
pub(crate) async fn record(
    engine: &Engine,
    worker: &Arc<str>,
    decided: Decided,
    due_since: UnixMillis,
    labels: &[metrics::Label],
) -> Recorded {
    let Decided {
        attempt,
        completion,
        decision,
        outcome,
        duration,
        finished,
    } = decided;
    metrics::counter!(m::ATTEMPTS, m::attempt_labels(labels, &outcome)).increment(1);
    metrics::histogram!(m::ATTEMPT_SECONDS, labels.to_vec()).record(duration.as_secs_f64());
    let status = attempt.status;
    // Kept for the log only when there is something to say.
    let error = attempt.error.clone();
    let item = CompletedAttempt::new(Arc::clone(worker), attempt, completion.clone());
    let stored = engine.completions.record(&*engine.store, item).await;
    let finality = match stored {
        Ok(()) => match &completion {
            Completion::Delivered => {
                metrics::counter!(m::DELIVERED, labels.to_vec()).increment(1);
                let latency = (finished - due_since).max(0) as f64 / 1000.0;
                metrics::histogram!(m::DELIVERY_LATENCY_SECONDS, labels.to_vec()).record(latency);
                tracing::debug!(status = ?status, "delivered");
                Finality::Final
            }
            Completion::Retry { at } => {
                metrics::counter!(m::RETRIED, labels.to_vec()).increment(1);
                tracing::debug!(status = ?status, error = ?error, next = at, "will retry");
                Finality::Retrying
            }
            Completion::Failed => {
                metrics::counter!(m::FAILED, labels.to_vec()).increment(1);
                tracing::info!(status = ?status, error = ?error, "delivery failed");
                Finality::Final
            }
        },
        Err(StoreError::LeaseLost(_)) => {
            metrics::counter!(m::LEASE_LOST, labels.to_vec()).increment(1);
            tracing::warn!("lease lost before the result was recorded; another worker retries");
            Finality::Retrying
        }
        Err(e) => {
            // The lease will expire and the delivery is sent again. Logged through the
            // engine's bounded store-failure log: an outage fails every attempt in flight.
            tracing::debug!(error = %e, "recording the attempt failed; it will be retried");
            engine
                .fault_log
                .log_failure(engine.clock.now_millis(), "recording an attempt", &e);
            Finality::Retrying
        }
    };
    Recorded {
        finality,
        completion,
        decision,
        outcome,
    }
}
