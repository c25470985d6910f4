//! [`MemoryStore`]: every record in process memory. **It loses everything on exit.**

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    EndpointChange, EndpointRewrite, PurgeCutoffs, PurgeReport, RewriteBatch, Store, StoreError,
    StoreResult,
};
use crate::model::{
    Attempt, ClaimedDelivery, CompletedAttempt, Completion, Delivery, DeliveryFilter,
    DeliveryState, Endpoint, EnqueueResult, Message, NewDelivery, NewMessage, UnixMillis,
};

/// Default page size of [`Store::list_deliveries`].
const DEFAULT_LIST_LIMIT: usize = 100;

/// A [`Store`] that keeps everything in process memory behind one mutex.
///
/// For tests, examples and ephemeral use. **It loses every endpoint, message, delivery and
/// attempt when the process exits**, so a crash loses queued webhooks: use the SQLite store
/// (or PostgreSQL) when delivery must survive a restart.
///
/// Claims are cheap with many queued deliveries: due deliveries are kept in ordered indexes,
/// so a claim looks only at what is due.
///
/// ```
/// use hookwire_dispatch::store::{MemoryStore, Store};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// assert_eq!(store.queue_depth().await.unwrap(), 0);
/// assert_eq!(store.next_due().await.unwrap(), None);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Wakes idle workers when work is queued.
    work: tokio::sync::Notify,
}

/// Index key: (time, seq); `seq` is unique, so the key is too.
type Key = (UnixMillis, i64);
/// An ordered index of deliveries: key → delivery id.
type Index = BTreeMap<Key, String>;
/// A map keyed by ids this library generates (random, not chosen by callers), hashed with
/// foldhash: SipHash was about 4 % of a delivery's instructions through this store.
type IdMap<V> = foldhash::HashMap<String, V>;

#[derive(Debug, Default)]
struct Inner {
    /// Endpoints with their insertion number (for stable "oldest first" ties).
    endpoints: IdMap<(u64, Endpoint)>,
    /// Per tenant: its endpoint ids by (created_at, insertion number), the order
    /// `list_endpoints` returns; so a create or a send touches one tenant's endpoints only.
    by_tenant: HashMap<String, BTreeMap<(UnixMillis, u64), String>>,
    endpoint_counter: u64,
    messages: IdMap<Message>,
    /// (tenant, idempotency key) → message id. Callers choose these keys: SipHash.
    idempotency: HashMap<(String, String), String>,
    deliveries: IdMap<Delivery>,
    seq: i64,
    /// Pending deliveries by (next_attempt_at, seq).
    pending: Index,
    /// In-flight deliveries by (lease_expires_at, seq).
    leases: Index,
    /// Per endpoint: its pending and in-flight deliveries by (created_at, seq) (FIFO order).
    open_by_endpoint: IdMap<Index>,
    /// Every attempt in insertion order.
    attempts: Vec<Attempt>,
    attempts_by_message: IdMap<Vec<usize>>,
    attempts_by_endpoint: IdMap<Vec<usize>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot leave a half-applied change behind: every
        // method validates first and mutates last. So a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn is_open(state: DeliveryState) -> bool {
    matches!(state, DeliveryState::Pending | DeliveryState::InFlight)
}

impl Inner {
    fn insert_endpoint(&mut self, endpoint: &Endpoint) -> StoreResult<()> {
        if self.endpoints.contains_key(&endpoint.id) {
            return Err(StoreError::AlreadyExists {
                kind: "endpoint",
                id: endpoint.id.clone(),
            });
        }
        self.endpoint_counter += 1;
        let n = self.endpoint_counter;
        self.index_endpoint(n, endpoint);
        self.endpoints
            .insert(endpoint.id.clone(), (n, endpoint.clone()));
        Ok(())
    }

    /// Adds an endpoint to its tenant's list.
    fn index_endpoint(&mut self, n: u64, e: &Endpoint) {
        self.by_tenant
            .entry(e.tenant.clone())
            .or_default()
            .insert((e.created_at, n), e.id.clone());
    }

    /// Removes an endpoint from its tenant's list.
    fn unindex_endpoint(&mut self, n: u64, e: &Endpoint) {
        if let Some(list) = self.by_tenant.get_mut(&e.tenant) {
            list.remove(&(e.created_at, n));
            if list.is_empty() {
                self.by_tenant.remove(&e.tenant);
            }
        }
    }

    /// Replaces a stored endpoint (same id), keeping its tenant's list in step should the
    /// change have moved its tenant or creation time.
    fn replace_endpoint(&mut self, endpoint: Endpoint) {
        let Some((n, old)) = self.endpoints.remove(&endpoint.id) else {
            return;
        };
        if (&old.tenant, old.created_at) != (&endpoint.tenant, endpoint.created_at) {
            self.unindex_endpoint(n, &old);
            self.index_endpoint(n, &endpoint);
        }
        self.endpoints.insert(endpoint.id.clone(), (n, endpoint));
    }

    /// Removes a delivery's index entries.
    fn unindex(&mut self, d: &Delivery) {
        self.unindex_due(d);
        if is_open(d.state) {
            self.unindex_open(d);
        }
    }

    /// Adds a delivery's index entries.
    fn index(&mut self, d: &Delivery) {
        self.index_due(d);
        if is_open(d.state) {
            self.index_open(d);
        }
    }

    /// Removes its entry from `pending` or `leases`.
    fn unindex_due(&mut self, d: &Delivery) {
        match d.state {
            DeliveryState::Pending => {
                self.pending.remove(&(d.next_attempt_at, d.seq));
            }
            DeliveryState::InFlight => {
                if let Some(exp) = d.lease_expires_at {
                    self.leases.remove(&(exp, d.seq));
                }
            }
            DeliveryState::Delivered | DeliveryState::Failed => {}
        }
    }

    /// Adds its entry to `pending` or `leases`.
    fn index_due(&mut self, d: &Delivery) {
        match d.state {
            DeliveryState::Pending => {
                self.pending
                    .insert((d.next_attempt_at, d.seq), d.id.clone());
            }
            DeliveryState::InFlight => {
                if let Some(exp) = d.lease_expires_at {
                    self.leases.insert((exp, d.seq), d.id.clone());
                }
            }
            DeliveryState::Delivered | DeliveryState::Failed => {}
        }
    }

    /// Removes it from its endpoint's open deliveries.
    fn unindex_open(&mut self, d: &Delivery) {
        if let Some(set) = self.open_by_endpoint.get_mut(&d.endpoint_id) {
            set.remove(&(d.created_at, d.seq));
            if set.is_empty() {
                self.open_by_endpoint.remove(&d.endpoint_id);
            }
        }
    }

    /// Adds it to its endpoint's open deliveries.
    fn index_open(&mut self, d: &Delivery) {
        let key = (d.created_at, d.seq);
        match self.open_by_endpoint.get_mut(&d.endpoint_id) {
            Some(set) => {
                set.insert(key, d.id.clone());
            }
            None => {
                self.open_by_endpoint
                    .insert(d.endpoint_id.clone(), Index::from([(key, d.id.clone())]));
            }
        }
    }

    /// Replaces a stored delivery, keeping the indexes in step.
    fn put(&mut self, new: Delivery) {
        if let Some(old) = self.deliveries.remove(&new.id) {
            self.unindex(&old);
        }
        self.index(&new);
        self.deliveries.insert(new.id.clone(), new);
    }

    /// Applies `f` to a stored delivery (re-indexing it). `None` if absent.
    fn update<R>(&mut self, id: &str, f: impl FnOnce(&mut Delivery) -> R) -> Option<R> {
        // Moved out and back in (keeping its key), not cloned; its place among its
        // endpoint's open deliveries (by `created_at`, `seq`) only changes when it opens or
        // finishes.
        let (key, mut d) = self.deliveries.remove_entry(id)?;
        let was_open = is_open(d.state);
        self.unindex_due(&d);
        let r = f(&mut d);
        self.index_due(&d);
        match (was_open, is_open(d.state)) {
            (true, false) => self.unindex_open(&d),
            (false, true) => self.index_open(&d),
            _ => {}
        }
        self.deliveries.insert(key, d);
        Some(r)
    }

    /// The in-flight delivery `id` if `worker` holds its lease.
    fn held(&self, id: &str, worker: &str) -> StoreResult<&Delivery> {
        let d = self
            .deliveries
            .get(id)
            .ok_or_else(|| StoreError::NotFound {
                kind: "delivery",
                id: id.to_owned(),
            })?;
        if d.state == DeliveryState::InFlight && d.lease_owner.as_deref() == Some(worker) {
            Ok(d)
        } else {
            Err(StoreError::LeaseLost(id.to_owned()))
        }
    }

    /// Whether a FIFO endpoint lets `candidate` be claimed at `now`: it must be the endpoint's
    /// oldest open delivery and no other delivery of the endpoint may hold a live lease.
    fn fifo_allows(&self, endpoint_id: &str, candidate: &str, now: UnixMillis) -> bool {
        let Some(open) = self.open_by_endpoint.get(endpoint_id) else {
            return false;
        };
        if open.first_key_value().map(|(_, id)| id.as_str()) != Some(candidate) {
            return false;
        }
        !open.values().any(|id| {
            id != candidate
                && self.deliveries.get(id).is_some_and(|d| {
                    d.state == DeliveryState::InFlight
                        && d.lease_expires_at.is_some_and(|exp| exp > now)
                })
        })
    }

    /// [`Store::complete`] under the lock.
    fn complete(
        &mut self,
        delivery_id: &str,
        worker: &str,
        attempt: Attempt,
        completion: Completion,
    ) -> StoreResult<()> {
        self.held(delivery_id, worker)?;
        self.update(delivery_id, |d| {
            d.attempts = d.attempts.saturating_add(1);
            d.first_attempt_at.get_or_insert(attempt.at);
            d.lease_owner = None;
            d.lease_expires_at = None;
            d.last_error = attempt_summary(&attempt);
            match completion {
                Completion::Delivered => d.state = DeliveryState::Delivered,
                Completion::Failed => d.state = DeliveryState::Failed,
                Completion::Retry { at } => {
                    d.state = DeliveryState::Pending;
                    d.next_attempt_at = at;
                }
            }
        });
        if let Some(d) = self.deliveries.get(delivery_id)
            && let Some((_, e)) = self.endpoints.get_mut(&d.endpoint_id)
        {
            e.last_triggered_at = Some(
                e.last_triggered_at
                    .map_or(attempt.at, |t| t.max(attempt.at)),
            );
        }
        self.push_attempt(attempt);
        Ok(())
    }

    fn push_attempt(&mut self, attempt: Attempt) {
        let i = self.attempts.len();
        for (index, key) in [
            (&mut self.attempts_by_message, &attempt.message_id),
            (&mut self.attempts_by_endpoint, &attempt.endpoint_id),
        ] {
            match index.get_mut(key) {
                Some(list) => list.push(i),
                None => {
                    index.insert(key.clone(), vec![i]);
                }
            }
        }
        self.attempts.push(attempt);
    }

    /// Messages that [`Store::purge`] may take under `cutoff`: created before it, every
    /// delivery in one of `ended`, no attempt at or after it; oldest first, at most `limit`.
    fn doomed(&self, cutoff: UnixMillis, ended: &[DeliveryState], limit: usize) -> Vec<String> {
        let mut by_message: foldhash::HashMap<&str, bool> = foldhash::HashMap::default();
        for d in self.deliveries.values() {
            let ok = ended.contains(&d.state);
            let e = by_message.entry(d.message_id.as_str()).or_insert(true);
            *e = *e && ok;
        }
        let mut old: Vec<&Message> = self
            .messages
            .values()
            .filter(|m| m.created_at < cutoff)
            .filter(|m| by_message.get(m.id.as_str()).copied().unwrap_or(true))
            .filter(|m| {
                self.attempts_by_message
                    .get(&m.id)
                    .is_none_or(|ix| ix.iter().all(|&i| self.attempts[i].at < cutoff))
            })
            .collect();
        old.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        old.into_iter().take(limit).map(|m| m.id.clone()).collect()
    }

    /// Deletes messages with their deliveries and attempts; returns (deliveries, attempts).
    fn remove_messages(&mut self, ids: &[String]) -> (u64, u64) {
        let ids: foldhash::HashSet<&str> = ids.iter().map(String::as_str).collect();
        for id in &ids {
            if let Some(m) = self.messages.remove(*id)
                && let Some(key) = m.idempotency_key
            {
                self.idempotency.remove(&(m.tenant, key));
            }
        }
        let before = self.deliveries.len();
        self.deliveries
            .retain(|_, d| !ids.contains(d.message_id.as_str()));
        let deliveries = (before - self.deliveries.len()) as u64;
        let before = self.attempts.len();
        let kept: Vec<Attempt> = std::mem::take(&mut self.attempts)
            .into_iter()
            .filter(|a| !ids.contains(a.message_id.as_str()))
            .collect();
        let attempts = (before - kept.len()) as u64;
        if attempts > 0 {
            self.attempts_by_message.clear();
            self.attempts_by_endpoint.clear();
            for a in kept {
                self.push_attempt(a);
            }
        } else {
            self.attempts = kept;
        }
        (deliveries, attempts)
    }
}

/// A short display form of an attempt's result, for `Delivery::last_error`.
pub(crate) fn attempt_summary(attempt: &Attempt) -> Option<String> {
    match (&attempt.error, attempt.status) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(status)) if !attempt.success => Some(format!("HTTP {status}")),
        _ => None,
    }
}

/// `now + lease` in milliseconds, saturating.
pub(crate) fn lease_deadline(now: UnixMillis, lease: Duration) -> UnixMillis {
    now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_endpoint_within(&self, endpoint: &Endpoint, max: usize) -> StoreResult<bool> {
        // Count and insert under one lock: no other create runs in between.
        let mut g = self.lock();
        let tenant_has = g.by_tenant.get(&endpoint.tenant).map_or(0, BTreeMap::len);
        if tenant_has >= max {
            return Ok(false);
        }
        g.insert_endpoint(endpoint).map(|()| true)
    }

    async fn get_endpoint(&self, id: &str) -> StoreResult<Option<Endpoint>> {
        Ok(self.lock().endpoints.get(id).map(|(_, e)| e.clone()))
    }

    async fn list_endpoints(&self, tenant: &str) -> StoreResult<Vec<Endpoint>> {
        let g = self.lock();
        let Some(ids) = g.by_tenant.get(tenant) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .values()
            .filter_map(|id| g.endpoints.get(id))
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn modify_endpoint(&self, id: &str, change: EndpointChange) -> StoreResult<Endpoint> {
        let mut g = self.lock();
        let Some((_, stored)) = g.endpoints.get(id) else {
            return Err(StoreError::NotFound {
                kind: "endpoint",
                id: id.to_owned(),
            });
        };
        let mut endpoint = stored.clone();
        change(&mut endpoint);
        // The id is the key; a change cannot move the record.
        endpoint.id = id.to_owned();
        g.replace_endpoint(endpoint.clone());
        Ok(endpoint)
    }

    async fn rewrite_endpoints(
        &self,
        after: Option<&str>,
        limit: usize,
        mut rewrite: EndpointRewrite,
    ) -> StoreResult<RewriteBatch> {
        let mut g = self.lock();
        let mut ids: Vec<String> = g
            .endpoints
            .keys()
            .filter(|id| after.is_none_or(|a| id.as_str() > a))
            .cloned()
            .collect();
        ids.sort();
        ids.truncate(limit);
        let mut batch = RewriteBatch {
            last_id: ids.last().cloned(),
            seen: ids.len(),
            rewritten: 0,
        };
        for id in ids {
            if let Some((_, e)) = g.endpoints.get(&id) {
                let mut copy = e.clone();
                if rewrite(&mut copy) {
                    copy.id = id;
                    g.replace_endpoint(copy);
                    batch.rewritten += 1;
                }
            }
        }
        Ok(batch)
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        let mut g = self.lock();
        let removed = g.endpoints.remove(id);
        if let Some((n, e)) = &removed {
            g.unindex_endpoint(*n, e);
        }
        let existed = removed.is_some();
        let open: Vec<String> = g
            .open_by_endpoint
            .get(id)
            .map(|set| set.values().cloned().collect())
            .unwrap_or_default();
        for did in open {
            if let Some(d) = g.deliveries.remove(&did) {
                g.unindex(&d);
            }
        }
        Ok(existed)
    }

    async fn enqueue(
        &self,
        message: &NewMessage,
        deliveries: &[NewDelivery],
    ) -> StoreResult<EnqueueResult> {
        let mut g = self.lock();
        if let Some(key) = &message.idempotency_key
            && let Some(existing) = g.idempotency.get(&(message.tenant.clone(), key.clone()))
        {
            return Ok(EnqueueResult::Duplicate {
                message_id: existing.clone(),
            });
        }
        if g.messages.contains_key(&message.id) {
            return Err(StoreError::AlreadyExists {
                kind: "message",
                id: message.id.clone(),
            });
        }
        let mut ids = HashSet::new();
        for d in deliveries {
            if g.deliveries.contains_key(&d.id) || !ids.insert(d.id.as_str()) {
                return Err(StoreError::AlreadyExists {
                    kind: "delivery",
                    id: d.id.clone(),
                });
            }
        }
        if let Some(key) = &message.idempotency_key {
            g.idempotency
                .insert((message.tenant.clone(), key.clone()), message.id.clone());
        }
        g.messages.insert(message.id.clone(), message.clone());
        for d in deliveries {
            g.seq += 1;
            let seq = g.seq;
            g.put(Delivery {
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
            });
        }
        drop(g);
        if !deliveries.is_empty() {
            self.work.notify_waiters();
        }
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
        let g = self.lock();
        let mut list: Vec<&Delivery> = g
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
                    && filter.state.is_none_or(|s| s == d.state)
                    && filter.created_from.is_none_or(|t| d.created_at >= t)
                    && filter.created_before.is_none_or(|t| d.created_at < t)
                    && filter.after.is_none_or(|k| (d.created_at, d.seq) < k)
                    && (filter.tenant.is_none() && filter.event_type.is_none()
                        || g.messages.get(&d.message_id).is_some_and(|m| {
                            filter.tenant.as_ref().is_none_or(|t| *t == m.tenant)
                                && filter
                                    .event_type
                                    .as_ref()
                                    .is_none_or(|e| *e == m.event_type)
                        }))
            })
            .collect();
        list.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.seq)));
        list.truncate(filter.limit.unwrap_or(DEFAULT_LIST_LIMIT));
        Ok(list.into_iter().cloned().collect())
    }

    async fn claim(
        &self,
        worker: &str,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut g = self.lock();
        // Expired leases, in the same order as pending ones: (next_attempt_at, seq).
        let mut expired: Vec<(Key, String)> = g
            .leases
            .iter()
            .take_while(|((exp, _), _)| *exp <= now)
            .filter_map(|(_, id)| g.deliveries.get(id))
            .map(|d| ((d.next_attempt_at, d.seq), d.id.clone()))
            .collect();
        expired.sort();
        let mut pending = g
            .pending
            .iter()
            .take_while(|((at, _), _)| *at <= now)
            .peekable();
        let mut expired = expired.into_iter().peekable();

        let mut chosen: Vec<String> = Vec::new();
        let mut blocked: HashSet<String> = HashSet::new();
        loop {
            if chosen.len() >= limit {
                break;
            }
            // Merge the two ordered streams.
            let next = match (pending.peek(), expired.peek()) {
                (Some((p, _)), Some((e, _))) if e < *p => expired.next().map(|e| e.1),
                (Some(_), _) => pending.next().map(|(_, id)| id.clone()),
                (None, Some(_)) => expired.next().map(|e| e.1),
                (None, None) => None,
            };
            let Some(id) = next else { break };
            let Some(d) = g.deliveries.get(&id) else {
                continue;
            };
            if blocked.contains(&d.endpoint_id) {
                continue;
            }
            let Some((_, endpoint)) = g.endpoints.get(&d.endpoint_id) else {
                continue;
            };
            if !endpoint.is_enabled() {
                continue;
            }
            if endpoint.fifo {
                // Only its head, and so at most one per FIFO endpoint per claim.
                if !g.fifo_allows(&d.endpoint_id, &id, now) {
                    continue;
                }
                blocked.insert(d.endpoint_id.clone());
            }
            chosen.push(id);
        }
        drop(pending);

        let until = lease_deadline(now, lease);
        let mut out = Vec::with_capacity(chosen.len());
        for id in chosen {
            let Some(delivery) = g.update(&id, |d| {
                d.state = DeliveryState::InFlight;
                d.lease_owner = Some(worker.to_owned());
                d.lease_expires_at = Some(until);
                d.clone()
            }) else {
                continue;
            };
            let message = g.messages.get(&delivery.message_id).cloned();
            let endpoint = g
                .endpoints
                .get(&delivery.endpoint_id)
                .map(|(_, e)| e.clone());
            match (message, endpoint) {
                (Some(message), Some(endpoint)) => out.push(ClaimedDelivery {
                    delivery,
                    message,
                    endpoint,
                }),
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "delivery {id} refers to a missing message or endpoint"
                    )));
                }
            }
        }
        Ok(out)
    }

    async fn renew_lease(
        &self,
        delivery_id: &str,
        worker: &str,
        until: UnixMillis,
    ) -> StoreResult<()> {
        let mut g = self.lock();
        g.held(delivery_id, worker)?;
        g.update(delivery_id, |d| d.lease_expires_at = Some(until));
        Ok(())
    }

    async fn renew_leases(
        &self,
        worker: &str,
        delivery_ids: &[String],
        until: UnixMillis,
    ) -> StoreResult<Vec<String>> {
        let mut g = self.lock();
        let mut lost = Vec::new();
        for id in delivery_ids {
            if g.held(id, worker).is_ok() {
                g.update(id, |d| d.lease_expires_at = Some(until));
            } else {
                lost.push(id.clone());
            }
        }
        Ok(lost)
    }

    async fn complete(
        &self,
        delivery_id: &str,
        worker: &str,
        attempt: &Attempt,
        completion: Completion,
    ) -> StoreResult<()> {
        let retry = matches!(completion, Completion::Retry { .. });
        self.lock()
            .complete(delivery_id, worker, attempt.clone(), completion)?;
        if retry {
            self.work.notify_waiters();
        }
        Ok(())
    }

    async fn complete_batch(
        &self,
        batch: Vec<CompletedAttempt>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        let mut retry = false;
        let mut seen = HashSet::with_capacity(batch.len());
        let mut g = self.lock();
        let results: Vec<StoreResult<()>> = batch
            .into_iter()
            .map(|c| {
                let id = c.attempt.delivery_id.clone();
                if !seen.insert(id.clone()) {
                    return Err(StoreError::LeaseLost(id));
                }
                let r = matches!(c.completion, Completion::Retry { .. });
                let done = g.complete(&id, &c.worker, c.attempt, c.completion);
                retry |= r && done.is_ok();
                done
            })
            .collect();
        drop(g);
        if retry {
            self.work.notify_waiters();
        }
        Ok(results)
    }

    async fn release(&self, delivery_id: &str, worker: &str, at: UnixMillis) -> StoreResult<()> {
        let mut g = self.lock();
        g.held(delivery_id, worker)?;
        g.update(delivery_id, |d| {
            d.state = DeliveryState::Pending;
            d.next_attempt_at = at;
            d.lease_owner = None;
            d.lease_expires_at = None;
        });
        drop(g);
        self.work.notify_waiters();
        Ok(())
    }

    async fn fail_pending_for_endpoint(&self, endpoint_id: &str, reason: &str) -> StoreResult<u64> {
        let mut g = self.lock();
        let ids: Vec<String> = g
            .open_by_endpoint
            .get(endpoint_id)
            .map(|set| set.values().cloned().collect())
            .unwrap_or_default();
        let mut n = 0;
        for id in ids {
            let changed = g.update(&id, |d| {
                if d.state == DeliveryState::Pending {
                    d.state = DeliveryState::Failed;
                    d.last_error = Some(reason.to_owned());
                    true
                } else {
                    false
                }
            });
            if changed == Some(true) {
                n += 1;
            }
        }
        Ok(n)
    }

    async fn redeliver(&self, delivery_id: &str, now: UnixMillis) -> StoreResult<()> {
        let mut g = self.lock();
        let found = g.update(delivery_id, |d| {
            if d.state != DeliveryState::InFlight {
                d.state = DeliveryState::Pending;
                d.next_attempt_at = now;
                d.due_since = now;
            }
        });
        drop(g);
        self.work.notify_waiters();
        found.ok_or_else(|| StoreError::NotFound {
            kind: "delivery",
            id: delivery_id.to_owned(),
        })
    }

    async fn recover(
        &self,
        endpoint_id: &str,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<u64> {
        let mut g = self.lock();
        let ids: Vec<String> = g
            .deliveries
            .values()
            .filter(|d| {
                d.endpoint_id == endpoint_id
                    && d.state == DeliveryState::Failed
                    && d.created_at >= since
            })
            .map(|d| d.id.clone())
            .collect();
        for id in &ids {
            g.update(id, |d| {
                d.state = DeliveryState::Pending;
                d.next_attempt_at = now;
                d.due_since = now;
            });
        }
        drop(g);
        if !ids.is_empty() {
            self.work.notify_waiters();
        }
        Ok(ids.len() as u64)
    }

    async fn attempts_for_message(&self, message_id: &str) -> StoreResult<Vec<Attempt>> {
        let g = self.lock();
        let mut list: Vec<(usize, &Attempt)> = g
            .attempts_by_message
            .get(message_id)
            .map(|ix| ix.iter().map(|&i| (i, &g.attempts[i])).collect())
            .unwrap_or_default();
        list.sort_by_key(|(i, a)| (a.at, *i));
        Ok(list.into_iter().map(|(_, a)| a.clone()).collect())
    }

    async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Attempt>> {
        let g = self.lock();
        let mut list: Vec<(usize, &Attempt)> = g
            .attempts_by_endpoint
            .get(endpoint_id)
            .map(|ix| ix.iter().map(|&i| (i, &g.attempts[i])).collect())
            .unwrap_or_default();
        list.sort_by_key(|(i, a)| std::cmp::Reverse((a.at, *i)));
        list.truncate(limit);
        Ok(list.into_iter().map(|(_, a)| a.clone()).collect())
    }

    async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> StoreResult<Vec<Attempt>> {
        let g = self.lock();
        let mut list: Vec<(usize, &Attempt)> = g
            .attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.success && a.at >= from && a.at < to)
            .collect();
        list.sort_by_key(|(i, a)| (a.at, *i));
        Ok(list.into_iter().map(|(_, a)| a.clone()).collect())
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        let g = self.lock();
        Ok(g.open_by_endpoint.values().map(|s| s.len() as u64).sum())
    }

    async fn purge(&self, cutoffs: &PurgeCutoffs, limit: usize) -> StoreResult<PurgeReport> {
        let limit = limit.max(1);
        let mut g = self.lock();
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
            if room == 0 {
                break;
            }
            let ids = g.doomed(cutoff, ended, room);
            let (deliveries, attempts) = g.remove_messages(&ids);
            report.messages += ids.len() as u64;
            report.deliveries += deliveries;
            report.attempts += attempts;
        }
        if let Some(before) = cutoffs.payloads_before {
            let open: std::collections::HashSet<&str> = g
                .deliveries
                .values()
                .filter(|d| matches!(d.state, DeliveryState::Pending | DeliveryState::InFlight))
                .map(|d| d.message_id.as_str())
                .collect();
            let mut ids: Vec<(UnixMillis, String)> = g
                .messages
                .values()
                .filter(|m| m.created_at < before && !m.payload.is_empty())
                .filter(|m| !open.contains(m.id.as_str()))
                .map(|m| (m.created_at, m.id.clone()))
                .collect();
            ids.sort();
            for (_, id) in ids.into_iter().take(limit) {
                if let Some(m) = g.messages.get_mut(&id) {
                    m.payload = Vec::new();
                    report.payloads += 1;
                }
            }
        }
        Ok(report)
    }

    async fn next_due(&self) -> StoreResult<Option<UnixMillis>> {
        Ok(self.lock().pending.first_key_value().map(|(k, _)| k.0))
    }

    /// Sleeps up to `timeout`, waking early when this store queues new due work.
    async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.work.notified()).await;
    }
}
