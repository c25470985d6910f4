//! An outside crate implements [`Store`] with nothing but hookwire-dispatch's public API and
//! passes the published conformance suite (`hookwire_dispatch::store::conformance`).
//!
//! [`MapStore`] keeps everything in `Mutex<HashMap>`s and answers every question by scanning
//! them: the plainest store a third party could write from the trait's docs alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use hookwire_dispatch::model::{
    Attempt, ClaimedDelivery, Completion, Delivery, DeliveryFilter, DeliveryState, Endpoint,
    EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};
use hookwire_dispatch::store::{
    EndpointChange, EndpointRewrite, PurgeCutoffs, PurgeReport, RewriteBatch, Store, StoreError,
    StoreResult,
};
use tokio::sync::Notify;

/// The page size `list_deliveries` uses without a limit.
const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Default)]
struct State {
    /// Endpoints with their insertion number (ties of `created_at` keep insertion order).
    endpoints: HashMap<String, (u64, Endpoint)>,
    inserted: u64,
    messages: HashMap<String, Message>,
    deliveries: HashMap<String, Delivery>,
    seq: i64,
    /// Every attempt, in insertion order.
    attempts: Vec<Attempt>,
}

/// A [`Store`] over `Mutex<HashMap>`s.
#[derive(Debug, Default)]
struct MapStore {
    state: Mutex<State>,
    work: Notify,
}

impl MapStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn is_open(state: DeliveryState) -> bool {
    matches!(state, DeliveryState::Pending | DeliveryState::InFlight)
}

fn not_found(kind: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_owned(),
    }
}

impl State {
    /// The delivery `id`, in flight under `worker`'s lease.
    fn held(&mut self, id: &str, worker: &str) -> StoreResult<&mut Delivery> {
        let d = self
            .deliveries
            .get_mut(id)
            .ok_or_else(|| not_found("delivery", id))?;
        if d.state == DeliveryState::InFlight && d.lease_owner.as_deref() == Some(worker) {
            Ok(d)
        } else {
            Err(StoreError::LeaseLost(id.to_owned()))
        }
    }

    /// Whether `d` of a FIFO endpoint may be claimed at `now`: it is the endpoint's oldest
    /// open delivery and no other delivery of the endpoint holds a live lease.
    fn fifo_allows(&self, d: &Delivery, now: UnixMillis) -> bool {
        let open = || {
            self.deliveries
                .values()
                .filter(|o| o.endpoint_id == d.endpoint_id && is_open(o.state))
        };
        let head = open().min_by_key(|o| (o.created_at, o.seq));
        head.is_some_and(|h| h.id == d.id)
            && !open().any(|o| {
                o.id != d.id
                    && o.state == DeliveryState::InFlight
                    && o.lease_expires_at.is_some_and(|exp| exp > now)
            })
    }
}

#[async_trait]
impl Store for MapStore {
    async fn insert_endpoint_within(&self, endpoint: &Endpoint, max: usize) -> StoreResult<bool> {
        let mut s = self.lock();
        if s.endpoints.contains_key(&endpoint.id) {
            return Err(StoreError::AlreadyExists {
                kind: "endpoint",
                id: endpoint.id.clone(),
            });
        }
        let has = s
            .endpoints
            .values()
            .filter(|(_, e)| e.tenant == endpoint.tenant)
            .count();
        if has >= max {
            return Ok(false);
        }
        s.inserted += 1;
        let n = s.inserted;
        s.endpoints
            .insert(endpoint.id.clone(), (n, endpoint.clone()));
        Ok(true)
    }

    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<Endpoint>> {
        Ok(self.lock().endpoints.get(id).map(|(_, e)| e.clone()))
    }

    async fn list_endpoints(&self, tenant: &str) -> StoreResult<Vec<Endpoint>> {
        let s = self.lock();
        let mut list: Vec<&(u64, Endpoint)> = s
            .endpoints
            .values()
            .filter(|(_, e)| e.tenant == tenant)
            .collect();
        list.sort_by_key(|(n, e)| (e.created_at, *n));
        Ok(list.into_iter().map(|(_, e)| e.clone()).collect())
    }

    async fn modify_endpoint(&self, id: &str, change: EndpointChange) -> StoreResult<Endpoint> {
        let mut s = self.lock();
        let (_, stored) = s
            .endpoints
            .get_mut(id)
            .ok_or_else(|| not_found("endpoint", id))?;
        let mut changed = stored.clone();
        change(&mut changed);
        changed.id = id.to_owned();
        *stored = changed.clone();
        Ok(changed)
    }

    async fn rewrite_endpoints(
        &self,
        after: Option<&str>,
        limit: usize,
        mut rewrite: EndpointRewrite,
    ) -> StoreResult<RewriteBatch> {
        let mut s = self.lock();
        let mut ids: Vec<String> = s
            .endpoints
            .keys()
            .filter(|id| after.is_none_or(|a| id.as_str() > a))
            .cloned()
            .collect();
        ids.sort();
        ids.truncate(limit);
        let mut batch = RewriteBatch::default();
        for id in ids {
            if let Some((_, stored)) = s.endpoints.get_mut(&id) {
                let mut changed = stored.clone();
                batch.seen += 1;
                if rewrite(&mut changed) {
                    changed.id.clone_from(&id);
                    *stored = changed;
                    batch.rewritten += 1;
                }
            }
            batch.last_id = Some(id);
        }
        Ok(batch)
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        let mut s = self.lock();
        let existed = s.endpoints.remove(id).is_some();
        s.deliveries
            .retain(|_, d| !(d.endpoint_id == id && is_open(d.state)));
        Ok(existed)
    }

    async fn enqueue(
        &self,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult> {
        let mut s = self.lock();
        if let Some(key) = &message.idempotency_key
            && let Some(earlier) = s
                .messages
                .values()
                .find(|m| m.tenant == message.tenant && m.idempotency_key.as_ref() == Some(key))
        {
            return Ok(EnqueueResult::Duplicate {
                message_id: earlier.id.clone(),
            });
        }
        if s.messages.contains_key(&message.id) {
            return Err(StoreError::AlreadyExists {
                kind: "message",
                id: message.id.clone(),
            });
        }
        for (i, d) in deliveries.iter().enumerate() {
            if s.deliveries.contains_key(&d.id) || deliveries[..i].iter().any(|o| o.id == d.id) {
                return Err(StoreError::AlreadyExists {
                    kind: "delivery",
                    id: d.id.clone(),
                });
            }
        }
        s.messages.insert(message.id.clone(), message.clone());
        for d in deliveries {
            s.seq += 1;
            let seq = s.seq;
            s.deliveries.insert(
                d.id.clone(),
                Delivery {
                    id: d.id.clone(),
                    message_id: message.id.clone(),
                    endpoint_id: d.endpoint_id.clone(),
                    state: DeliveryState::Pending,
                    attempts: 0,
                    next_attempt_at: d.next_attempt_at,
                    first_attempt_at: None,
                    due_since: d.next_attempt_at,
                    lease_owner: None,
                    lease_expires_at: None,
                    last_error: None,
                    created_at: message.created_at,
                    seq,
                },
            );
        }
        drop(s);
        self.work.notify_waiters();
        Ok(EnqueueResult::Created {
            message_id: message.id.clone(),
            deliveries: deliveries.len(),
        })
    }

    async fn get_message(&self, id: &str) -> StoreResult<Option<Message>> {
        Ok(self.lock().messages.get(id).cloned())
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        Ok(self.lock().deliveries.get(id).cloned())
    }

    async fn list_deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        let s = self.lock();
        let mut list: Vec<&Delivery> = s
            .deliveries
            .values()
            .filter(|d| {
                filter
                    .endpoint_id
                    .as_ref()
                    .is_none_or(|e| *e == d.endpoint_id)
                    && filter
                        .message_id
                        .as_ref()
                        .is_none_or(|m| *m == d.message_id)
                    && filter.state.is_none_or(|st| st == d.state)
            })
            .collect();
        list.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.seq)));
        list.truncate(filter.limit.unwrap_or(DEFAULT_LIMIT));
        Ok(list.into_iter().cloned().collect())
    }

    async fn claim(
        &self,
        worker: &str,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let mut s = self.lock();
        let mut due: Vec<&Delivery> = s
            .deliveries
            .values()
            .filter(|d| match d.state {
                DeliveryState::Pending => d.next_attempt_at <= now,
                DeliveryState::InFlight => d.lease_expires_at.is_some_and(|exp| exp <= now),
                _ => false,
            })
            .collect();
        due.sort_by_key(|d| (d.next_attempt_at, d.seq));
        let mut chosen: Vec<String> = Vec::new();
        let mut fifo_taken: Vec<&str> = Vec::new();
        for d in due {
            if chosen.len() >= limit {
                break;
            }
            let Some((_, endpoint)) = s.endpoints.get(&d.endpoint_id) else {
                continue;
            };
            if !endpoint.is_enabled() {
                continue;
            }
            if endpoint.fifo {
                if fifo_taken.contains(&d.endpoint_id.as_str()) || !s.fifo_allows(d, now) {
                    continue;
                }
                fifo_taken.push(&d.endpoint_id);
            }
            chosen.push(d.id.clone());
        }
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut out = Vec::with_capacity(chosen.len());
        for id in chosen {
            let Some(d) = s.deliveries.get_mut(&id) else {
                continue;
            };
            d.state = DeliveryState::InFlight;
            d.lease_owner = Some(worker.to_owned());
            d.lease_expires_at = Some(until);
            let delivery = d.clone();
            let message = s.messages.get(&delivery.message_id).cloned();
            let endpoint = s
                .endpoints
                .get(&delivery.endpoint_id)
                .map(|(_, e)| e.clone());
            let (Some(message), Some(endpoint)) = (message, endpoint) else {
                return Err(StoreError::Corrupt(format!("delivery {id} is orphaned")));
            };
            out.push(ClaimedDelivery {
                delivery,
                message,
                endpoint,
            });
        }
        Ok(out)
    }

    async fn renew_lease(
        &self,
        delivery_id: &str,
        worker: &str,
        until: UnixMillis,
    ) -> StoreResult<()> {
        self.lock().held(delivery_id, worker)?.lease_expires_at = Some(until);
        Ok(())
    }

    async fn complete(
        &self,
        delivery_id: &str,
        worker: &str,
        attempt: &Attempt,
        completion: Completion,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        let d = s.held(delivery_id, worker)?;
        d.attempts += 1;
        d.first_attempt_at.get_or_insert(attempt.at);
        d.lease_owner = None;
        d.lease_expires_at = None;
        d.last_error = match (&attempt.error, attempt.status) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(status)) if !attempt.success => Some(format!("HTTP {status}")),
            _ => None,
        };
        let retry = match completion {
            Completion::Delivered => {
                d.state = DeliveryState::Delivered;
                false
            }
            Completion::Failed => {
                d.state = DeliveryState::Failed;
                false
            }
            Completion::Retry { at } => {
                d.state = DeliveryState::Pending;
                d.next_attempt_at = at;
                true
            }
        };
        let endpoint_id = d.endpoint_id.clone();
        s.attempts.push(attempt.clone());
        if let Some((_, e)) = s.endpoints.get_mut(&endpoint_id) {
            e.last_triggered_at = Some(
                e.last_triggered_at
                    .map_or(attempt.at, |t| t.max(attempt.at)),
            );
        }
        drop(s);
        if retry {
            self.work.notify_waiters();
        }
        Ok(())
    }

    async fn release(&self, delivery_id: &str, worker: &str, at: UnixMillis) -> StoreResult<()> {
        {
            let mut s = self.lock();
            let d = s.held(delivery_id, worker)?;
            d.state = DeliveryState::Pending;
            d.next_attempt_at = at;
            d.lease_owner = None;
            d.lease_expires_at = None;
        }
        self.work.notify_waiters();
        Ok(())
    }

    async fn fail_pending_for_endpoint(&self, endpoint_id: &str, reason: &str) -> StoreResult<u64> {
        let mut s = self.lock();
        let mut n = 0;
        for d in s.deliveries.values_mut() {
            if d.endpoint_id == endpoint_id && d.state == DeliveryState::Pending {
                d.state = DeliveryState::Failed;
                d.last_error = Some(reason.to_owned());
                n += 1;
            }
        }
        Ok(n)
    }

    async fn redeliver(&self, delivery_id: &str, now: UnixMillis) -> StoreResult<()> {
        {
            let mut s = self.lock();
            let d = s
                .deliveries
                .get_mut(delivery_id)
                .ok_or_else(|| not_found("delivery", delivery_id))?;
            if d.state != DeliveryState::InFlight {
                d.state = DeliveryState::Pending;
                d.next_attempt_at = now;
                d.due_since = now;
            }
        }
        self.work.notify_waiters();
        Ok(())
    }

    async fn recover(
        &self,
        endpoint_id: &str,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<u64> {
        let mut n = 0;
        for d in self.lock().deliveries.values_mut() {
            if d.endpoint_id == endpoint_id
                && d.state == DeliveryState::Failed
                && d.created_at >= since
            {
                d.state = DeliveryState::Pending;
                d.next_attempt_at = now;
                d.due_since = now;
                n += 1;
            }
        }
        if n > 0 {
            self.work.notify_waiters();
        }
        Ok(n)
    }

    async fn attempts_for_message(&self, message_id: &str) -> StoreResult<Vec<Attempt>> {
        let s = self.lock();
        let mut list: Vec<(usize, &Attempt)> = s
            .attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.message_id == message_id)
            .collect();
        list.sort_by_key(|(i, a)| (a.at, *i));
        Ok(list.into_iter().map(|(_, a)| a.clone()).collect())
    }

    async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Attempt>> {
        let s = self.lock();
        let mut list: Vec<(usize, &Attempt)> = s
            .attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.endpoint_id == endpoint_id)
            .collect();
        list.sort_by_key(|(i, a)| std::cmp::Reverse((a.at, *i)));
        list.truncate(limit);
        Ok(list.into_iter().map(|(_, a)| a.clone()).collect())
    }

    async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> StoreResult<Vec<Attempt>> {
        let s = self.lock();
        let mut list: Vec<(usize, &Attempt)> = s
            .attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.success && a.at >= from && a.at < to)
            .collect();
        list.sort_by_key(|(i, a)| (a.at, *i));
        Ok(list.into_iter().map(|(_, a)| a.clone()).collect())
    }

    async fn purge(&self, cutoffs: &PurgeCutoffs, limit: usize) -> StoreResult<PurgeReport> {
        let limit = limit.max(1);
        let mut s = self.lock();
        let mut report = PurgeReport::default();
        let passes: [(UnixMillis, &[DeliveryState]); 2] = [
            (cutoffs.delivered_before, &[DeliveryState::Delivered]),
            (
                cutoffs.failed_before,
                &[DeliveryState::Delivered, DeliveryState::Failed],
            ),
        ];
        for (cutoff, ended) in passes {
            let room = limit.saturating_sub(usize::try_from(report.messages).unwrap_or(limit));
            let mut doomed: Vec<(UnixMillis, String)> = s
                .messages
                .values()
                .filter(|m| m.created_at < cutoff)
                .filter(|m| {
                    s.deliveries
                        .values()
                        .filter(|d| d.message_id == m.id)
                        .all(|d| ended.contains(&d.state))
                })
                .filter(|m| {
                    s.attempts
                        .iter()
                        .filter(|a| a.message_id == m.id)
                        .all(|a| a.at < cutoff)
                })
                .map(|m| (m.created_at, m.id.clone()))
                .collect();
            doomed.sort();
            doomed.truncate(room);
            for (_, id) in doomed {
                s.messages.remove(&id);
                let before = s.deliveries.len();
                s.deliveries.retain(|_, d| d.message_id != id);
                report.deliveries += (before - s.deliveries.len()) as u64;
                let before = s.attempts.len();
                s.attempts.retain(|a| a.message_id != id);
                report.attempts += (before - s.attempts.len()) as u64;
                report.messages += 1;
            }
        }
        if let Some(before) = cutoffs.payloads_before {
            let mut ended: Vec<(UnixMillis, String)> = s
                .messages
                .values()
                .filter(|m| m.created_at < before && !m.payload.is_empty())
                .filter(|m| {
                    !s.deliveries
                        .values()
                        .any(|d| d.message_id == m.id && is_open(d.state))
                })
                .map(|m| (m.created_at, m.id.clone()))
                .collect();
            ended.sort();
            for (_, id) in ended.into_iter().take(limit) {
                if let Some(m) = s.messages.get_mut(&id) {
                    m.payload = Vec::new();
                    report.payloads += 1;
                }
            }
        }
        Ok(report)
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let s = self.lock();
        Ok(s.deliveries.values().filter(|d| is_open(d.state)).count() as u64)
    }

    async fn next_due(&self) -> StoreResult<Option<UnixMillis>> {
        let s = self.lock();
        Ok(s.deliveries
            .values()
            .filter(|d| d.state == DeliveryState::Pending)
            .map(|d| d.next_attempt_at)
            .min())
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.work.notified()).await;
    }
}

async fn make() -> (Arc<dyn Store>, ()) {
    (Arc::new(MapStore::default()), ())
}

hookwire_dispatch::store_conformance_suite!(make());

/// The outside store also downcasts through trait upcasting, as the outbox does with the
/// built-in backends.
#[test]
fn upcasts_to_any() {
    let store: Arc<dyn Store> = Arc::new(MapStore::default());
    let any: Arc<dyn std::any::Any + Send + Sync> = store;
    assert!(any.downcast::<MapStore>().is_ok());
}
