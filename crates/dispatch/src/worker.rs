//! The workers: claim due deliveries, sign, POST, classify, record, update health.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookwire_retry::{Decision, EndpointHealth, Finality, HealthChange, Outcome, SeededJitter};
use hookwire_signature::Signer;
use http::{HeaderName, HeaderValue};
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::task::AbortHandle;
use tracing::Instrument as _;

use crate::at_rest::AtRest;
use crate::dispatcher::{Inner, SharedMap, ShutdownReport};
use crate::headers::{self, RequestMeta};
use crate::limits::Busy;
use crate::metrics as m;
use crate::model::{
    Attempt, Auth, ClaimedDelivery, Completion, Endpoint, EndpointStatus, SecretHeader, UnixMillis,
    new_id, now_millis,
};
use crate::store::StoreError;
use crate::transport::HttpResult;

/// How long a delivery waits when its endpoint is at its in-flight limit.
const IN_FLIGHT_BACKOFF_MS: i64 = 20;

/// Deliveries being attempted by this process, so shutdown can release them.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    map: SharedMap<(String, Option<AbortHandle>)>,
    changed: Notify,
    completed: AtomicUsize,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Option<AbortHandle>)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, delivery: &str, worker: &str) {
        self.lock()
            .insert(delivery.to_owned(), (worker.to_owned(), None));
    }

    fn set_handle(&self, delivery: &str, handle: AbortHandle) {
        if let Some(entry) = self.lock().get_mut(delivery) {
            entry.1 = Some(handle);
        }
    }

    fn finish(&self, delivery: &str) {
        self.lock().remove(delivery);
        self.completed.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Deliveries in flight right now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Success counts not yet written to endpoint health (written at most every flush interval;
/// any failure writes at once, together with the buffered successes).
#[derive(Debug, Default)]
pub(crate) struct HealthBuffer {
    pending: SharedMap<(u32, Instant)>,
}

impl HealthBuffer {
    fn take(&self, endpoint: &str) -> u32 {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(endpoint) {
            Some(entry) => {
                let n = entry.0;
                *entry = (0, Instant::now());
                n
            }
            None => 0,
        }
    }

    /// Buffers a success; returns whether it is time to write.
    fn buffer_success(&self, endpoint: &str, every: Duration) -> bool {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .entry(endpoint.to_owned())
            .or_insert_with(|| (0, Instant::now()));
        entry.0 += 1;
        entry.1.elapsed() >= every
    }

    /// Writes every buffered count.
    pub(crate) async fn flush_all(&self, inner: &Inner) {
        let ids: Vec<String> = {
            let map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            map.iter()
                .filter(|(_, (n, _))| *n > 0)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for id in ids {
            let n = self.take(&id);
            if n > 0 {
                let _ = write_health(inner, &id, n, None, false).await;
            }
        }
    }
}

/// What an attempt needs from an endpoint's secrets, decrypted once per endpoint version.
pub(crate) struct Credentials {
    /// The signer of its scheme over its active secrets; `None` when unsigned.
    signer: Option<Arc<Signer>>,
    auth: Auth,
    secret_headers: Vec<SecretHeader>,
}

/// Credentials per endpoint, rebuilt when the endpoint changes or a secret expires: the hot
/// path neither decrypts nor builds a signer.
#[derive(Default)]
pub(crate) struct SignerCache {
    map: SharedMap<((UnixMillis, usize), Arc<Credentials>)>,
}

impl std::fmt::Debug for SignerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignerCache { .. }")
    }
}

impl SignerCache {
    /// The credentials of `endpoint` as stored (sealed or not) at `now`; on a miss, the
    /// record is decrypted and the signer built.
    fn credentials(
        &self,
        at_rest: &AtRest,
        endpoint: &Endpoint,
        now: UnixMillis,
    ) -> Result<Arc<Credentials>, String> {
        let active = endpoint
            .secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|exp| exp > now))
            .count();
        let key = (endpoint.updated_at, active);
        {
            let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((k, c)) = map.get(&endpoint.id)
                && *k == key
            {
                return Ok(Arc::clone(c));
            }
        }
        let credentials = Arc::new(Credentials::open(at_rest, endpoint, now)?);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(endpoint.id.clone(), (key, Arc::clone(&credentials)));
        Ok(credentials)
    }
}

impl Credentials {
    /// The signer-cache miss path: decrypt a copy of the record, build its signer.
    fn open(at_rest: &AtRest, endpoint: &Endpoint, now: UnixMillis) -> Result<Self, String> {
        let mut ep = endpoint.clone();
        at_rest
            .open(&mut ep)
            .map_err(|e| format!("endpoint secrets unreadable: {e}"))?;
        let signer = match &ep.scheme {
            None => None,
            Some(scheme) => Some(Arc::new(
                Signer::new(scheme, &ep.active_secrets(now))
                    .map_err(|e| format!("signing failed: {e}"))?,
            )),
        };
        Ok(Self {
            signer,
            auth: ep.auth,
            secret_headers: ep.secret_headers,
        })
    }
}

fn to_millis(t: SystemTime) -> UnixMillis {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn jitter_source() -> SeededJitter {
    SeededJitter::from_entropy().unwrap_or_else(|_| {
        SeededJitter::new(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        )
    })
}

/// One claim loop.
pub(crate) async fn run(inner: Arc<Inner>, n: usize) {
    let worker = format!("{}-{n}", inner.instance);
    let mut shutdown = inner.shutdown_tx.subscribe();
    let mut rng = jitter_source();
    // Nothing is claimed before the store passed the at-rest check (keys, migration).
    while let Err(e) = inner.ready().await {
        tracing::error!(worker = %worker, error = %e, "store refused: not delivering");
        tokio::select! {
            _ = tokio::time::sleep(inner.config.poll_interval) => {}
            _ = shutdown.changed() => return,
        }
    }
    loop {
        if *shutdown.borrow() {
            break;
        }
        let first = tokio::select! {
            p = Arc::clone(&inner.permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let mut permits = vec![first];
        while permits.len() < inner.config.claim_batch {
            match Arc::clone(&inner.permits).try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        let notified = inner.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = now_millis();
        let claimed = match inner
            .store
            .claim(&worker, now, inner.config.lease, permits.len())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(worker = %worker, error = %e, "claim failed");
                drop(permits);
                tokio::select! {
                    _ = tokio::time::sleep(inner.config.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        if claimed.is_empty() {
            drop(permits);
            let sleep_for = match inner.store.next_due().await {
                Ok(Some(due)) if due > now => {
                    Duration::from_millis(u64::try_from(due - now).unwrap_or(0))
                        .min(inner.config.poll_interval)
                }
                _ => inner.config.poll_interval,
            };
            tokio::select! {
                _ = &mut notified => {}
                _ = inner.store.wait_for_work(sleep_for) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        if inner.stopping.load(Ordering::SeqCst) {
            for cd in &claimed {
                release(&inner, &cd.delivery.id, &worker, now_millis()).await;
            }
            break;
        }
        let mut permits = permits.into_iter();
        for cd in claimed {
            let Some(permit) = permits.next() else {
                // The store returned more than asked; give the rest back.
                release(&inner, &cd.delivery.id, &worker, now_millis()).await;
                continue;
            };
            let id = cd.delivery.id.clone();
            inner.in_flight.insert(&id, &worker);
            let decide_rng = SeededJitter::new(rng.next_u64());
            let task = tokio::spawn(process(
                Arc::clone(&inner),
                worker.clone(),
                cd,
                permit,
                decide_rng,
            ));
            inner.in_flight.set_handle(&id, task.abort_handle());
        }
    }
}

async fn release(inner: &Inner, delivery: &str, worker: &str, at: UnixMillis) -> bool {
    match inner.store.release(delivery, worker, at).await {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(delivery, error = %e, "release failed");
            false
        }
    }
}

/// Waits for in-flight attempts up to `deadline`, then aborts and releases the rest.
pub(crate) async fn drain(inner: &Arc<Inner>, deadline: Duration) -> ShutdownReport {
    let until = tokio::time::Instant::now() + deadline;
    // Let claim loops notice the signal (they release what they claim after it).
    let workers: Vec<_> = {
        let mut t = inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        t.drain(..).collect()
    };
    for w in workers {
        let abort = w.abort_handle();
        if tokio::time::timeout_at(until, w).await.is_err() {
            abort.abort();
        }
    }
    let before = inner.in_flight.completed.load(Ordering::SeqCst);
    loop {
        let changed = inner.in_flight.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if inner.in_flight.len() == 0 {
            break;
        }
        if tokio::time::timeout_at(until, changed).await.is_err() {
            break;
        }
    }
    let finished = inner.in_flight.completed.load(Ordering::SeqCst) - before;
    let leftovers: Vec<(String, String, Option<AbortHandle>)> = {
        let mut map = inner.in_flight.lock();
        map.drain().map(|(d, (w, h))| (d, w, h)).collect()
    };
    let mut released = 0;
    for (delivery, worker, handle) in leftovers {
        if let Some(h) = handle {
            h.abort();
        }
        if release(inner, &delivery, &worker, now_millis()).await {
            released += 1;
        }
    }
    ShutdownReport { finished, released }
}

/// Housekeeping: queue-depth gauge and buffered health writes.
pub(crate) async fn gauge_loop(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown_tx.subscribe();
    let mut tick = tokio::time::interval(inner.config.health_flush.max(Duration::from_millis(100)));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        refresh_queue_gauge(&inner).await;
        inner.health.flush_all(&inner).await;
    }
}

/// Sets the queue-depth gauge from the store (periodically, and once more at shutdown so the
/// last value is not a stale one from before the drain).
pub(crate) async fn refresh_queue_gauge(inner: &Inner) {
    if let Ok(depth) = inner.store.queue_depth().await {
        metrics::gauge!(m::QUEUE_DEPTH).set(depth as f64);
    }
}

/// Runs one claimed delivery to its recorded result.
async fn process(
    inner: Arc<Inner>,
    worker: String,
    cd: ClaimedDelivery,
    permit: OwnedSemaphorePermit,
    rng: SeededJitter,
) {
    let id = cd.delivery.id.clone();
    let span = tracing::info_span!(
        "hookwire.attempt",
        delivery = %cd.delivery.id,
        message = %cd.message.id,
        endpoint = %cd.endpoint.id,
        attempt = cd.delivery.attempts + 1,
    );
    attempt(&inner, &worker, cd, rng).instrument(span).await;
    drop(permit);
    inner.in_flight.finish(&id);
}

async fn attempt(inner: &Arc<Inner>, worker: &str, cd: ClaimedDelivery, mut rng: SeededJitter) {
    let ClaimedDelivery {
        delivery,
        message,
        endpoint,
    } = cd;
    let now_sys = SystemTime::now();
    let now = to_millis(now_sys);
    if !endpoint
        .health
        .allows_request(&endpoint.health_policy, now_sys)
    {
        let at = endpoint
            .health
            .retry_at(&endpoint.health_policy)
            .map_or(now + 1000, to_millis)
            .max(now + 1);
        tracing::debug!(until = at, "circuit open; delivery released");
        release(inner, &delivery.id, worker, at).await;
        return;
    }
    let pass = match inner.gates.try_enter(
        &endpoint.id,
        endpoint.max_in_flight,
        endpoint.rate_limit,
        Instant::now(),
    ) {
        Ok(p) => p,
        Err(busy) => {
            let wait = match busy {
                Busy::InFlight => IN_FLIGHT_BACKOFF_MS,
                Busy::RateLimited(d) => i64::try_from(d.as_millis()).unwrap_or(1000).max(1),
            };
            release(inner, &delivery.id, worker, now + wait).await;
            return;
        }
    };

    let number = delivery.attempts + 1;
    let timestamp = now / 1000;
    let mut early_error: Option<String> = None;
    let credentials = match inner.signers.credentials(&inner.at_rest, &endpoint, now) {
        Ok(c) => Some(c),
        Err(e) => {
            early_error = Some(e);
            None
        }
    };
    let signature: Vec<(HeaderName, HeaderValue)> =
        match credentials.as_ref().and_then(|c| c.signer.as_ref()) {
            None => Vec::new(),
            Some(signer) => match signer.sign(&message.id, timestamp, &message.payload) {
                Ok(h) => h,
                Err(e) => {
                    early_error = Some(format!("signing failed: {e}"));
                    Vec::new()
                }
            },
        };
    let url = match url::Url::parse(&endpoint.url) {
        Ok(u) => Some(u),
        Err(e) => {
            early_error = Some(format!("invalid endpoint URL: {e}"));
            None
        }
    };
    let setup_failed = early_error.is_some() || url.is_none();
    let result = match (early_error, url, credentials) {
        (None, Some(url), Some(credentials)) => {
            let meta = RequestMeta {
                family: endpoint.family,
                message_id: &message.id,
                event_type: &message.event_type,
                timestamp,
                attempt: number,
                user_agent: &inner.config.user_agent,
            };
            let headers = headers::build(
                &meta,
                &endpoint.headers,
                &credentials.secret_headers,
                &credentials.auth,
                signature,
            );
            let timeout = Duration::from_millis(endpoint.timeout_ms.max(1));
            let post = inner
                .transport
                .post(&url, headers, Bytes::from(message.payload), timeout);
            with_renewal(inner, &delivery.id, worker, post).await
        }
        (err, _, _) => HttpResult {
            outcome: Outcome::Other(err.clone().unwrap_or_default()),
            status: None,
            body: Bytes::new(),
            truncated: false,
            headers: http::HeaderMap::new(),
            error: err,
            duration: Duration::ZERO,
        },
    };
    drop(pass);

    let finished = now_millis();
    let outcome = result.outcome.clone();
    let elapsed = delivery.first_attempt_at.map_or(Duration::ZERO, |first| {
        Duration::from_millis(u64::try_from(finished - first).unwrap_or(0))
    });
    // A request that could not even be built (unusable secret or URL) never gets better.
    let decision = if setup_failed {
        Decision::GiveUp
    } else {
        endpoint.retry.decide(number, &outcome, elapsed, &mut rng)
    };
    let completion = match decision {
        Decision::Done => Completion::Delivered,
        Decision::RetryAfter(d) => Completion::Retry {
            at: finished.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)),
        },
        // `GiveUp`, `GiveUpAndDisable`, and any decision a newer hookwire-retry adds: stop.
        _ => Completion::Failed,
    };
    let success = outcome.is_success();
    let snippet_len = result.body.len().min(inner.config.snippet_cap);
    let record = Attempt {
        id: new_id("att"),
        delivery_id: delivery.id.clone(),
        message_id: message.id.clone(),
        endpoint_id: endpoint.id.clone(),
        number,
        at: now,
        duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        status: result.status,
        error: if success {
            None
        } else {
            Some(describe(&outcome, result.error.as_deref()))
        },
        response_snippet: (snippet_len > 0)
            .then(|| String::from_utf8_lossy(&result.body[..snippet_len]).into_owned()),
        success,
    };
    let labels = m::labels(&endpoint, inner.config.endpoint_label);
    metrics::counter!(m::ATTEMPTS, m::attempt_labels(&labels, &outcome)).increment(1);
    metrics::histogram!(m::ATTEMPT_SECONDS, labels.clone()).record(result.duration.as_secs_f64());
    // Whether this attempt ended its delivery, for the consecutive-failed-deliveries rule.
    // Only a recorded completion ends it: if recording failed, the delivery is retried.
    let mut finality = Finality::Retrying;
    match inner
        .store
        .complete(&delivery.id, worker, &record, completion.clone())
        .await
    {
        Ok(()) => match &completion {
            Completion::Delivered => {
                finality = Finality::Final;
                metrics::counter!(m::DELIVERED, labels.clone()).increment(1);
                let latency = (finished - message.created_at).max(0) as f64 / 1000.0;
                metrics::histogram!(m::DELIVERY_LATENCY_SECONDS, labels.clone()).record(latency);
                tracing::debug!(status = ?result.status, "delivered");
            }
            Completion::Retry { at } => {
                metrics::counter!(m::RETRIED, labels.clone()).increment(1);
                tracing::debug!(status = ?result.status, error = ?record.error, next = at, "will retry");
            }
            Completion::Failed => {
                finality = Finality::Final;
                metrics::counter!(m::FAILED, labels.clone()).increment(1);
                tracing::info!(status = ?result.status, error = ?record.error, "delivery failed");
            }
        },
        Err(StoreError::LeaseLost(_)) => {
            metrics::counter!(m::LEASE_LOST, labels.clone()).increment(1);
            tracing::warn!("lease lost before the result was recorded; another worker retries");
        }
        Err(e) => {
            tracing::error!(error = %e, "recording the attempt failed; the lease will expire and the delivery is retried");
        }
    }
    if endpoint.fifo {
        inner.notify.notify_waiters();
    }

    // Health.
    let gone = decision == Decision::GiveUpAndDisable;
    let clean = is_clean(&endpoint.health);
    if success && clean && !gone {
        if inner
            .health
            .buffer_success(&endpoint.id, inner.config.health_flush)
        {
            let n = inner.health.take(&endpoint.id);
            let _ = write_health(inner, &endpoint.id, n, None, false).await;
        }
    } else {
        let n = inner.health.take(&endpoint.id);
        let _ = write_health(inner, &endpoint.id, n, Some((outcome, finality)), gone).await;
    }
}

fn is_clean(h: &EndpointHealth) -> bool {
    h.consecutive_failures == 0
        && h.consecutive_failed_deliveries == 0
        && h.circuit == hookwire_retry::CircuitState::Closed
        && h.disabled.is_none()
}

/// Records `successes` successes then `outcome` (one attempt, and whether it was its
/// delivery's last) in the stored health; disables the endpoint (and fails its pending
/// deliveries) when health says so or `gone` is set.
async fn write_health(
    inner: &Inner,
    endpoint_id: &str,
    successes: u32,
    outcome: Option<(Outcome, Finality)>,
    gone: bool,
) -> Result<(), StoreError> {
    let out: Arc<Mutex<Option<(HealthChange, bool)>>> = Arc::new(Mutex::new(None));
    let out2 = Arc::clone(&out);
    let result = inner
        .store
        .modify_endpoint(
            endpoint_id,
            Box::new(move |ep: &mut Endpoint| {
                let now = SystemTime::now();
                let ok = Outcome::Success { status: 200 };
                let mut change = HealthChange::None;
                // A success always ends its delivery.
                for _ in 0..successes {
                    let c = ep
                        .health
                        .record(&ep.health_policy, &ok, Finality::Final, now);
                    if c != HealthChange::None {
                        change = c;
                    }
                }
                if let Some((o, finality)) = &outcome {
                    let c = ep.health.record(&ep.health_policy, o, *finality, now);
                    if c != HealthChange::None {
                        change = c;
                    }
                }
                let mut newly_disabled = false;
                if ep.is_enabled() {
                    let reason = match (&change, gone) {
                        (HealthChange::Disabled(r), _) => Some(r.to_string()),
                        (_, true) => Some("endpoint answered 410 Gone".to_owned()),
                        _ => None,
                    };
                    if let Some(reason) = reason {
                        ep.status = EndpointStatus::Disabled {
                            reason,
                            at: to_millis(now),
                        };
                        newly_disabled = true;
                    }
                }
                *out2.lock().unwrap_or_else(|p| p.into_inner()) = Some((change, newly_disabled));
            }),
        )
        .await;
    let endpoint = match result {
        Ok(ep) => ep,
        Err(StoreError::NotFound { .. }) => return Ok(()),
        Err(e) => {
            tracing::warn!(endpoint = endpoint_id, error = %e, "health update failed");
            return Err(e);
        }
    };
    let (change, newly_disabled) = out
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or((HealthChange::None, false));
    match &change {
        HealthChange::CircuitOpened => {
            tracing::warn!(endpoint = endpoint_id, "circuit breaker opened");
        }
        HealthChange::CircuitClosed => {
            tracing::info!(endpoint = endpoint_id, "circuit breaker closed");
        }
        _ => {}
    }
    if newly_disabled {
        let reason = match &endpoint.status {
            EndpointStatus::Disabled { reason, .. } => reason.clone(),
            EndpointStatus::Enabled => String::new(),
        };
        let labels = m::labels(&endpoint, inner.config.endpoint_label);
        metrics::counter!(m::DISABLED, labels.clone()).increment(1);
        tracing::warn!(endpoint = endpoint_id, reason = %reason, "endpoint disabled");
        let failed = inner
            .store
            .fail_pending_for_endpoint(endpoint_id, &format!("endpoint disabled: {reason}"))
            .await?;
        metrics::counter!(m::FAILED, labels).increment(failed);
    }
    Ok(())
}

/// Text for the attempt log.
fn describe(outcome: &Outcome, error: Option<&str>) -> String {
    match (outcome, error) {
        (Outcome::Status { status, .. }, _) => format!("HTTP {status}"),
        (_, Some(e)) => e.to_owned(),
        (o, None) => format!("{o:?}"),
    }
}

/// Runs the request while renewing the lease every third of its length.
async fn with_renewal(
    inner: &Inner,
    delivery: &str,
    worker: &str,
    post: impl std::future::Future<Output = HttpResult>,
) -> HttpResult {
    let lease = inner.config.lease;
    let every = lease / 3;
    tokio::pin!(post);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            r = &mut post => return r,
            _ = tick.tick() => {
                let until = now_millis() + i64::try_from(lease.as_millis()).unwrap_or(60_000);
                if let Err(e) = inner.store.renew_lease(delivery, worker, until).await {
                    tracing::warn!(error = %e, "lease renewal failed");
                }
            }
        }
    }
}
