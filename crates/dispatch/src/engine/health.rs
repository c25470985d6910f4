//! Endpoint health as the engine keeps it: attempts' outcomes applied to the stored
//! [`EndpointHealth`](hookwire_retry::EndpointHealth), successes of healthy endpoints
//! buffered and written at most every flush interval, and the endpoint disabled (its pending
//! deliveries failed) when health says so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use hookwire_retry::{CircuitState, EndpointHealth, Finality, HealthChange, Outcome};

use super::Engine;
use super::clock::{millis, to_millis};
use crate::metrics as m;
use crate::model::{Endpoint, EndpointStatus, UnixMillis};
use crate::store::{Store, StoreError, StoreResult};

/// What to write to one endpoint's health.
#[derive(Clone, Debug, Default)]
pub(crate) struct HealthReport {
    /// Successful attempts (buffered), each the last of its delivery.
    pub(crate) successes: u32,
    /// Then one more attempt's outcome and whether it ended its delivery.
    pub(crate) outcome: Option<(Outcome, Finality)>,
    /// The endpoint answered 410 Gone and its retry policy gives up on it.
    pub(crate) gone: bool,
}

/// What writing a [`HealthReport`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HealthWritten {
    /// The most important health change.
    pub(crate) change: HealthChange,
    /// Why the endpoint was disabled, when this write disabled it.
    pub(crate) disabled: Option<String>,
    /// Pending deliveries failed because it was disabled.
    pub(crate) failed_pending: u64,
}

/// Applies `report` to `ep` at `now` (a pure function of its inputs: the store runs it
/// inside its atomic read-modify-write). Returns the change and the reason when this
/// disabled the endpoint.
pub(crate) fn apply(
    ep: &mut Endpoint,
    report: &HealthReport,
    now: SystemTime,
) -> (HealthChange, Option<String>) {
    let ok = Outcome::Success { status: 200 };
    let mut change = HealthChange::None;
    for _ in 0..report.successes {
        let c = ep
            .health
            .record(&ep.health_policy, &ok, Finality::Final, now);
        if c != HealthChange::None {
            change = c;
        }
    }
    if let Some((outcome, finality)) = &report.outcome {
        let c = ep.health.record(&ep.health_policy, outcome, *finality, now);
        if c != HealthChange::None {
            change = c;
        }
    }
    if !ep.is_enabled() {
        return (change, None);
    }
    let reason = match (&change, report.gone) {
        (HealthChange::Disabled(r), _) => r.to_string(),
        (_, true) => "endpoint answered 410 Gone".to_owned(),
        _ => return (change, None),
    };
    ep.status = EndpointStatus::Disabled {
        reason: reason.clone(),
        at: to_millis(now),
    };
    (change, Some(reason))
}

/// Writes `report` to the endpoint's stored health; disables it (and fails its pending
/// deliveries) when health says so. `Ok(None)`: the endpoint no longer exists.
pub(crate) async fn write(
    engine: &Engine,
    endpoint_id: &str,
    report: HealthReport,
) -> StoreResult<Option<HealthWritten>> {
    let now = engine.clock.now();
    let store: &dyn Store = &*engine.store;
    let applied = modify_endpoint_with(store, endpoint_id, move |ep| apply(ep, &report, now)).await;
    let (endpoint, (change, disabled)) = match applied {
        Ok(applied) => applied,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => {
            tracing::debug!(endpoint = endpoint_id, error = %e, "health update failed");
            engine
                .fault_log
                .log_failure(engine.clock.now_millis(), "health update", &e);
            return Err(e);
        }
    };
    match &change {
        HealthChange::CircuitOpened => {
            tracing::warn!(endpoint = endpoint_id, "circuit breaker opened");
        }
        HealthChange::CircuitClosed => {
            tracing::info!(endpoint = endpoint_id, "circuit breaker closed");
        }
        _ => {}
    }
    let mut failed_pending = 0;
    if let Some(reason) = &disabled {
        let labels = m::labels(&endpoint, engine.settings.endpoint_label);
        metrics::counter!(m::DISABLED, labels.clone()).increment(1);
        tracing::warn!(endpoint = endpoint_id, reason = %reason, "endpoint disabled");
        failed_pending = store
            .fail_pending_for_endpoint(endpoint_id, &format!("endpoint disabled: {reason}"))
            .await?;
        metrics::counter!(m::FAILED, labels).increment(failed_pending);
    }
    Ok(Some(HealthWritten {
        change,
        disabled,
        failed_pending,
    }))
}

/// [`Store::modify_endpoint`] with a change that returns a value: the stored endpoint after
/// the change, and what the change returned.
pub(crate) async fn modify_endpoint_with<R: Send + 'static>(
    store: &dyn Store,
    id: &str,
    change: impl FnOnce(&mut Endpoint) -> R + Send + 'static,
) -> StoreResult<(Endpoint, R)> {
    // The store takes a `FnOnce(&mut Endpoint)`; the value comes back over a one-shot
    // channel, sent inside the store's atomic section.
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let endpoint = store
        .modify_endpoint(
            id,
            Box::new(move |ep: &mut Endpoint| {
                let _ = tx.send(change(ep));
            }),
        )
        .await?;
    match rx.try_recv() {
        Ok(r) => Ok((endpoint, r)),
        Err(_) => Err(StoreError::backend_message(
            "the store returned without applying the endpoint change",
        )),
    }
}

/// Whether nothing in `h` needs writing after a success: no failure streak, breaker closed,
/// not disabled. Successes of such endpoints are only counted, and written in bulk.
pub(crate) fn is_clean(h: &EndpointHealth) -> bool {
    h.consecutive_failures == 0
        && h.consecutive_failed_deliveries == 0
        && h.circuit == CircuitState::Closed
        && h.disabled.is_none()
}

/// Success counts per endpoint not yet written, with when they were last written.
#[derive(Debug, Default)]
pub(crate) struct HealthBuffer {
    pending: Mutex<HashMap<String, (u32, UnixMillis)>>,
}

impl HealthBuffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, UnixMillis)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the buffered count of `endpoint` (restarting its flush interval at `now`).
    pub(crate) fn take(&self, endpoint: &str, now: UnixMillis) -> u32 {
        match self.lock().get_mut(endpoint) {
            Some(entry) => std::mem::replace(entry, (0, now)).0,
            None => 0,
        }
    }

    /// Buffers a success at `now`; returns whether the endpoint's buffer is due for writing
    /// (its last write is at least `every_ms` old).
    pub(crate) fn buffer_success(&self, endpoint: &str, now: UnixMillis, every_ms: i64) -> bool {
        let mut map = self.lock();
        let entry = match map.get_mut(endpoint) {
            Some(e) => e,
            None => map.entry(endpoint.to_owned()).or_insert((0, now)),
        };
        entry.0 += 1;
        now.saturating_sub(entry.1) >= every_ms
    }

    /// Takes every buffered count.
    pub(crate) fn take_all(&self, now: UnixMillis) -> Vec<(String, u32)> {
        let mut map = self.lock();
        map.iter_mut()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(id, entry)| (id.clone(), std::mem::replace(entry, (0, now)).0))
            .collect()
    }
}

impl Engine {
    /// Writes every buffered success count.
    pub(crate) async fn flush_health(&self) {
        for (id, successes) in self.health.take_all(self.clock.now_millis()) {
            let report = HealthReport {
                successes,
                ..HealthReport::default()
            };
            let _ = write(self, &id, report).await;
        }
    }

    /// Updates health after one recorded attempt: a success of a clean endpoint is buffered
    /// (written once the flush interval passed); anything else is written at once, together
    /// with the buffered successes.
    pub(crate) async fn note_health(
        &self,
        endpoint: &Endpoint,
        outcome: Outcome,
        finality: Finality,
        gone: bool,
    ) -> Option<HealthWritten> {
        let now = self.clock.now_millis();
        let every = millis(self.settings.health_flush);
        if outcome.is_success() && is_clean(&endpoint.health) && !gone {
            if !self.health.buffer_success(&endpoint.id, now, every) {
                return None;
            }
            let report = HealthReport {
                successes: self.health.take(&endpoint.id, now),
                ..HealthReport::default()
            };
            return write(self, &endpoint.id, report).await.ok().flatten();
        }
        let report = HealthReport {
            successes: self.health.take(&endpoint.id, now),
            outcome: Some((outcome, finality)),
            gone,
        };
        write(self, &endpoint.id, report).await.ok().flatten()
    }
}
