//! [`Dispatcher`] and [`DispatcherBuilder`]: the object an application embeds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::at_rest::{
    AtRest, EncryptionKey, IntoEncryptionKey, KeyError, Keyring, ReencryptReport,
};
use crate::engine::{Clock, Engine, Settings, SystemClock};
use crate::error::{DispatchError, Result, ValidationError};
use crate::limits::Limits;
use crate::model::{
    Attempt, Delivery, DeliveryFilter, Endpoint, EnqueueResult, Message, NewDelivery, NewMessage,
    UnixMillis, new_id,
};
use crate::retention::Retention;
use crate::ssrf::{InnerResolver, IpCidr, SsrfGuard};
use crate::store::Store;
use crate::transport::{Transport, TransportConfig};

/// Builds a [`Dispatcher`]. Every setter states its default.
#[must_use]
pub struct DispatcherBuilder {
    store: Arc<dyn Store>,
    settings: Settings,
    user_agent: String,
    allow: Vec<IpCidr>,
    resolver: Option<InnerResolver>,
    tls: Option<rustls::ClientConfig>,
    response_read_cap: usize,
    clock: Arc<dyn Clock>,
    keys: Vec<EncryptionKey>,
    key_error: Option<KeyError>,
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("store", &self.store)
            .field("workers", &self.settings.workers)
            .field("concurrency", &self.settings.concurrency)
            .field("lease", &self.settings.lease)
            .field("allow_http", &self.settings.allow_http)
            .field("allow", &self.allow)
            .field("limits", &self.settings.limits)
            .field("encryption_keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl DispatcherBuilder {
    /// A builder over `store` with the defaults.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            settings: Settings::default(),
            user_agent: crate::DEFAULT_USER_AGENT.to_owned(),
            allow: Vec::new(),
            resolver: None,
            tls: None,
            response_read_cap: 64 * 1024,
            clock: Arc::new(SystemClock),
            keys: Vec::new(),
            key_error: None,
        }
    }

    /// A builder over the embedded durable default: a [`SqliteStore`](crate::store::SqliteStore)
    /// on the file at `path`, created and migrated if needed (feature `sqlite`).
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) if the file cannot be opened or migrated.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(Self::new(Arc::new(crate::store::SqliteStore::open(path)?)))
    }

    /// A builder over a [`PostgresStore`](crate::store::PostgresStore) at the connection URL
    /// `url` (`postgres://user:password@host:port/db`), with its tables in the schema
    /// `hookwire`: connects, applies migrations and starts listening for work (feature
    /// `postgres`). Every process built on the same URL shares one queue.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) if the URL is invalid, the server does not answer or the
    /// migrations fail.
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str) -> Result<Self> {
        Self::postgres_schema(url, crate::store::DEFAULT_SCHEMA).await
    }

    /// [`postgres`](Self::postgres) with the tables in `schema` (created if missing), for
    /// example next to the application's own tables for the [transactional
    /// outbox](crate::outbox).
    ///
    /// # Errors
    /// As [`postgres`](Self::postgres), and for an invalid schema name.
    #[cfg(feature = "postgres")]
    pub async fn postgres_schema(url: &str, schema: &str) -> Result<Self> {
        let store = crate::store::PostgresStore::connect_schema(url, schema).await?;
        Ok(Self::new(Arc::new(store)))
    }

    /// Claim loops (default 2). Each claims batches of due deliveries.
    pub fn workers(mut self, n: usize) -> Self {
        self.settings.workers = n;
        self
    }

    /// Most HTTP requests in flight at once across all endpoints (default 64).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.settings.concurrency = n;
        self
    }

    /// How long a claim holds a delivery before another worker may take it (default 3 s).
    /// Renewed every third of it while the delivery is held, so it only bounds how soon the
    /// deliveries of a process that died are retried: at most a lease plus a
    /// [poll interval](Self::poll_interval) after its last renewal.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// Longest idle sleep between claims when nothing wakes the workers (default 1 s).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.settings.poll_interval = d;
        self
    }

    /// Most deliveries one claim takes (default 32).
    pub fn claim_batch(mut self, n: usize) -> Self {
        self.settings.claim_batch = n;
        self
    }

    /// Allows plain `http://` URLs to loopback: allow-listed loopback IP literals and
    /// `localhost` (default off: HTTPS only). For tests and local development together with
    /// [`allow_cidr`](Self::allow_cidr); other allow-listed ranges still need `https://`.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.settings.allow_http = allow;
        self
    }

    /// Adds a CIDR to the SSRF allow-list (default empty: every special range is refused).
    pub fn allow_cidr(mut self, cidr: IpCidr) -> Self {
        self.allow.push(cidr);
        self
    }

    /// Shorthand for `allow_http(true)` + `allow_cidr(127.0.0.0/8)`: deliveries to local
    /// test receivers.
    pub fn allow_loopback_http(self) -> Self {
        let loopback = IpCidr::new(std::net::Ipv4Addr::LOCALHOST.into(), 8);
        match loopback {
            Ok(c) => self.allow_http(true).allow_cidr(c),
            Err(_) => self.allow_http(true),
        }
    }

    /// A custom DNS resolver (its answers still pass the SSRF filter; default: the system's).
    pub fn dns_resolver(mut self, resolver: InnerResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// A TLS configuration instead of rustls + ring + the platform trust store.
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Registry and payload limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// The `User-Agent` header (default `hookwire/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Most response body bytes read per attempt (default 64 KiB).
    pub fn response_read_cap(mut self, bytes: usize) -> Self {
        self.response_read_cap = bytes;
        self
    }

    /// Most response bytes kept in the attempt log (default 4 KiB).
    pub fn snippet_cap(mut self, bytes: usize) -> Self {
        self.settings.snippet_cap = bytes;
        self
    }

    /// How long a rotated-out secret keeps signing (default 24 h).
    pub fn rotation_grace(mut self, grace: Duration) -> Self {
        self.settings.rotation_grace = grace;
        self
    }

    /// Per-attempt timeout for endpoints created without one and whose retry policy has
    /// none (default 15 s).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.settings.default_timeout = timeout;
        self
    }

    /// How often buffered success counts are written to endpoint health (default 1 s;
    /// failures are written at once).
    pub fn health_flush_interval(mut self, d: Duration) -> Self {
        self.settings.health_flush = d;
        self
    }

    /// The clock the engine and the registry read (unit tests).
    #[cfg(test)]
    pub(crate) fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds the `endpoint` label (the endpoint id) to every delivery and attempt metric (see
    /// [`metrics`](crate::metrics)). Default off: each endpoint becomes a series of every
    /// metric, so turn it on only where the number of endpoints is bounded.
    pub fn metrics_endpoint_label(mut self, on: bool) -> Self {
        self.settings.endpoint_label = on;
        self
    }

    /// How long history is kept (see [`Retention`]); the running dispatcher purges in the
    /// background. Default [`Retention::default`]: delivered messages 30 days, failed ones
    /// 90 days, checked hourly.
    pub fn retention(mut self, rules: Retention) -> Self {
        self.settings.retention = Some(rules);
        self
    }

    /// Turns background retention off: nothing is ever deleted (run
    /// [`Retention::run_once`] or `hookwire deliveries purge` yourself).
    pub fn no_retention(mut self) -> Self {
        self.settings.retention = None;
        self
    }

    /// Adds an encryption key for the endpoint secrets at rest ([`crate::at_rest`]): an
    /// [`EncryptionKey`], its text form from `hookwire keygen encryption` (`hwenc1_<id>_…`),
    /// or 32 raw bytes. Call it once per key, **oldest first**: the last key encrypts every
    /// write, every key decrypts. Default: none, and secrets are stored in the clear (a
    /// warning at build; a store that already holds encrypted records is refused). An
    /// unusable key fails [`build`](Self::build) with [`ErrorKind::Key`](crate::ErrorKind::Key).
    pub fn encryption_key(mut self, key: impl IntoEncryptionKey) -> Self {
        match key.into_encryption_key() {
            Ok(k) => self.keys.push(k),
            Err(e) => {
                self.key_error.get_or_insert(e);
            }
        }
        self
    }

    /// [`encryption_key`](Self::encryption_key) for each key, oldest first (for example
    /// [`EncryptionKey::parse_many`] of a key file).
    pub fn encryption_keys(mut self, keys: impl IntoIterator<Item = EncryptionKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Builds the dispatcher and runs the at-rest check now (see [`Dispatcher::ready`]):
    /// refuses a store it cannot read and encrypts plaintext records from before encryption
    /// was configured. [`build`](Self::build) defers that check to the first operation.
    ///
    /// # Errors
    /// As [`build`](Self::build) and [`Dispatcher::ready`].
    pub async fn open(self) -> Result<Dispatcher> {
        let dispatcher = self.build()?;
        dispatcher.ready().await?;
        Ok(dispatcher)
    }

    /// Builds the dispatcher (not yet running: call [`Dispatcher::start`]). The at-rest check
    /// of the store ([`Dispatcher::ready`]) runs on the first operation; use
    /// [`open`](Self::open) to run it here.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for zero workers/concurrency/lease/batch or an invalid user
    /// agent, [`ErrorKind::Transport`](crate::ErrorKind::Transport) when the HTTP client cannot be built,
    /// [`ErrorKind::Key`](crate::ErrorKind::Key) for an unusable or duplicate encryption key.
    pub fn build(self) -> Result<Dispatcher> {
        if let Some(e) = self.key_error {
            return Err(e.into());
        }
        let keys = if self.keys.is_empty() {
            None
        } else {
            Some(Arc::new(Keyring::new(self.keys)?))
        };
        let store_any: &dyn std::any::Any = &*self.store;
        if keys.is_none() && !store_any.is::<crate::store::MemoryStore>() {
            tracing::warn!(
                "no encryption key configured: endpoint signing secrets and credentials are \
                 stored in the clear; give the builder one (DispatcherBuilder::encryption_key, \
                 `hookwire keygen encryption`)"
            );
        }
        let mut settings = self.settings;
        if settings.workers == 0 || settings.concurrency == 0 || settings.claim_batch == 0 {
            return Err(DispatchError::config(
                "workers, concurrency and claim batch must be at least 1",
            ));
        }
        if settings.lease < Duration::from_millis(100) {
            return Err(DispatchError::config("lease must be at least 100 ms"));
        }
        settings.user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| DispatchError::config("user agent is not a valid header value"))?;
        let mut guard = SsrfGuard::new();
        for c in self.allow {
            guard = guard.allow(c);
        }
        let guard = Arc::new(guard);
        let transport = Transport::new(TransportConfig {
            guard: Arc::clone(&guard),
            resolver: self.resolver,
            tls: self.tls,
            user_agent: self.user_agent,
            response_read_cap: self.response_read_cap,
            pool_idle_timeout: Duration::from_secs(90),
        })?;
        let engine = Engine::new(
            self.store,
            AtRest { keys },
            transport,
            guard,
            settings,
            self.clock,
        );
        Ok(Dispatcher {
            engine: Arc::new(engine),
        })
    }
}

/// The embeddable webhook dispatcher: registry, `send`, workers. `Clone` is cheap (an `Arc`);
/// build one per process and share it.
///
/// See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) engine: Arc<Engine>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = self.engine.settings();
        f.debug_struct("Dispatcher")
            .field("store", self.engine.store())
            .field("instance", &self.engine.instance())
            .field("workers", &settings.workers)
            .field("concurrency", &settings.concurrency)
            .finish_non_exhaustive()
    }
}

/// What [`Dispatcher::shutdown`] did with the work in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Deliveries in flight whose processing ended before the deadline: an attempt recorded,
    /// or handed back to the store unattempted by the worker itself (circuit open, rate
    /// limited).
    pub finished: usize,
    /// Deliveries given back to the store unattempted, due at once, because the deadline passed.
    pub released: usize,
}

impl Dispatcher {
    /// Starts building a dispatcher over `store`.
    pub fn builder(store: Arc<dyn Store>) -> DispatcherBuilder {
        DispatcherBuilder::new(store)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    /// Runs the at-rest check of the store once (later calls return at once): without a
    /// key, refuses a store that holds encrypted records; with keys, refuses records under a
    /// key that is not configured and encrypts every plaintext record (written before
    /// encryption was configured) under the newest key, in batches of 256, one transaction
    /// each; an interrupted migration resumes on the next open. Every operation that reads or
    /// writes endpoints, and every worker, waits for it; [`DispatcherBuilder::open`] runs it
    /// at build.
    ///
    /// # Errors
    /// [`ErrorKind::AtRest`](crate::ErrorKind::AtRest) naming the first record it cannot read and why;
    /// `DispatchError::Store`. A failed check runs again on the next call.
    pub async fn ready(&self) -> Result<()> {
        self.engine.ready().await
    }

    /// Moves every endpoint record to the newest encryption key (plaintext ones included), in
    /// batches of `batch_size` records, one transaction per batch. Restartable: records
    /// already under the newest key are skipped, so after an interruption simply run it again.
    /// Once it returns `Ok`, older keys may be removed from the configuration.
    ///
    /// # Errors
    /// `AtRestError::NotConfigured` without a key; `ErrorKind::AtRest` for a record
    /// the configured keys cannot read (batches before it stay committed);
    /// `DispatchError::Store`.
    pub async fn reencrypt(&self, batch_size: usize) -> Result<ReencryptReport> {
        self.engine
            .pass(crate::at_rest::Pass::Reencrypt, batch_size.max(1))
            .await
    }

    /// The SSRF guard in use.
    pub fn ssrf_guard(&self) -> &SsrfGuard {
        self.engine.guard()
    }

    /// Spawns the workers (on the current tokio runtime), the queue-depth gauge task and the
    /// retention task.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyStarted`](crate::ErrorKind::AlreadyStarted), [`ErrorKind::ShuttingDown`](crate::ErrorKind::ShuttingDown).
    pub fn start(&self) -> Result<()> {
        self.engine.start().map_err(|stopping| {
            if stopping {
                DispatchError::shutting_down()
            } else {
                DispatchError::already_started()
            }
        })
    }

    /// Sends an event to every enabled endpoint of `tenant` subscribed to `event_type`.
    /// The message and its deliveries are durable in the store when this returns.
    ///
    /// # Errors
    /// [`ValidationError::PayloadTooLarge`], [`ValidationError::EmptyTenant`],
    /// [`ValidationError::EmptyEventType`], [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn send(
        &self,
        tenant: &str,
        event_type: &str,
        payload: impl Into<Vec<u8>>,
    ) -> Result<EnqueueResult> {
        self.enqueue(tenant, event_type, payload.into(), None, None)
            .await
    }

    /// Like [`send`](Self::send), but a repeated call with the same key (per tenant) stores
    /// nothing and returns [`EnqueueResult::Duplicate`].
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_idempotent(
        &self,
        tenant: &str,
        event_type: &str,
        payload: impl Into<Vec<u8>>,
        idempotency_key: &str,
    ) -> Result<EnqueueResult> {
        self.enqueue(
            tenant,
            event_type,
            payload.into(),
            Some(idempotency_key.to_owned()),
            None,
        )
        .await
    }

    /// Sends a typed event: its subscription type decides the fan-out, its compact JSON is
    /// the body.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_event(
        &self,
        tenant: &str,
        event: &hookwire_events::AnyEvent,
    ) -> Result<EnqueueResult> {
        self.enqueue(
            tenant,
            event.subscription_type(),
            event.to_vec(),
            None,
            None,
        )
        .await
    }

    /// Stores a message; `only` restricts the fan-out to one endpoint regardless of its
    /// subscriptions (test events).
    pub(crate) async fn enqueue(
        &self,
        tenant: &str,
        event_type: &str,
        payload: Vec<u8>,
        idempotency_key: Option<String>,
        only: Option<&str>,
    ) -> Result<EnqueueResult> {
        self.enqueue_with_ids(tenant, event_type, payload, idempotency_key, only)
            .await
            .map(|(result, _)| result)
    }

    /// [`enqueue`](Self::enqueue), also returning the ids of the deliveries it stored (none
    /// for a duplicate).
    pub(crate) async fn enqueue_with_ids(
        &self,
        tenant: &str,
        event_type: &str,
        payload: Vec<u8>,
        idempotency_key: Option<String>,
        only: Option<&str>,
    ) -> Result<(EnqueueResult, Vec<String>)> {
        self.check_message(tenant, event_type, payload.len())?;
        self.engine.ready().await?;
        let endpoints = self.store().list_endpoints(tenant).await?;
        let (message, deliveries) = fan_out(
            self.engine.now_millis(),
            &endpoints,
            tenant,
            event_type,
            payload,
            idempotency_key,
            only,
        );
        let result = self.store().enqueue(&message, &deliveries).await?;
        self.woken_by(&result);
        Ok((result, deliveries.into_iter().map(|d| d.id).collect()))
    }

    /// The checks every message passes before anything is stored (`send` and the outbox).
    pub(crate) fn check_message(
        &self,
        tenant: &str,
        event_type: &str,
        payload_len: usize,
    ) -> Result<()> {
        if self.engine.is_stopping() {
            return Err(DispatchError::shutting_down());
        }
        if tenant.is_empty() {
            return Err(ValidationError::EmptyTenant.into());
        }
        if event_type.is_empty() {
            return Err(ValidationError::EmptyEventType.into());
        }
        let max = self.engine.settings().limits.max_payload_bytes;
        if payload_len > max {
            return Err(ValidationError::PayloadTooLarge {
                got: payload_len,
                max,
            }
            .into());
        }
        Ok(())
    }

    /// Wakes this process's idle workers when `result` queued a delivery.
    pub(crate) fn woken_by(&self, result: &EnqueueResult) {
        if let EnqueueResult::Created { deliveries, .. } = result
            && *deliveries > 0
        {
            self.engine.wake();
        }
    }

    /// Wakes idle workers (new work in the store from elsewhere).
    pub fn wake(&self) {
        self.engine.wake();
    }

    // ---- deliveries and the attempt log ---------------------------------------------------

    /// One message.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn message(&self, id: &str) -> Result<Option<Message>> {
        Ok(self.store().get_message(id).await?)
    }

    /// One delivery.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        Ok(self.store().get_delivery(id).await?)
    }

    /// Deliveries matching `filter`, newest first.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        Ok(self.store().list_deliveries(filter).await?)
    }

    /// Every attempt for one message, in order.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn attempts_for_message(&self, message_id: &str) -> Result<Vec<Attempt>> {
        Ok(self.store().attempts_for_message(message_id).await?)
    }

    /// The latest attempts for one endpoint, newest first.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn attempts_for_endpoint(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Attempt>> {
        Ok(self
            .store()
            .attempts_for_endpoint(endpoint_id, limit)
            .await?)
    }

    /// Failed attempts in `[from, to)` (Unix milliseconds), oldest first.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> Result<Vec<Attempt>> {
        Ok(self.store().failed_attempts(from, to).await?)
    }

    /// Puts one delivery back in the queue, due now: a delivered or failed one is sent again,
    /// a pending one is made due at once, and one in flight is left to its running attempt
    /// (its outcome decides what follows).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for an unknown delivery,
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn redeliver(&self, delivery_id: &str) -> Result<()> {
        self.store()
            .redeliver(delivery_id, self.engine.now_millis())
            .await?;
        self.wake();
        Ok(())
    }

    /// Re-queues every failed delivery of an endpoint created at or after `since`; returns
    /// how many.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn recover(&self, endpoint_id: &str, since: UnixMillis) -> Result<u64> {
        let n = self
            .store()
            .recover(endpoint_id, since, self.engine.now_millis())
            .await?;
        if n > 0 {
            self.wake();
        }
        Ok(n)
    }

    /// Deliveries pending or in flight.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn queue_depth(&self) -> Result<u64> {
        Ok(self.store().queue_depth().await?)
    }

    /// Stops claiming, waits up to `deadline` for attempts in flight to finish and be
    /// recorded, then gives every unfinished delivery back to the store (pending, due at once,
    /// no attempt counted). New `send` calls fail with [`ErrorKind::ShuttingDown`](crate::ErrorKind::ShuttingDown).
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let drained = self.engine.shutdown(deadline).await;
        ShutdownReport {
            finished: drained.finished,
            released: drained.released,
        }
    }
}

/// The message and one delivery per enabled endpoint subscribed to `event_type` (or only the
/// endpoint `only`), all due at `now`. Shared by `send` and the transactional outbox, so
/// both fan out identically.
pub(crate) fn fan_out(
    now: UnixMillis,
    endpoints: &[Endpoint],
    tenant: &str,
    event_type: &str,
    payload: Vec<u8>,
    idempotency_key: Option<String>,
    only: Option<&str>,
) -> (NewMessage, Vec<NewDelivery>) {
    let deliveries = endpoints
        .iter()
        .filter(|ep| ep.is_enabled())
        .filter(|ep| match only {
            Some(id) => ep.id == id,
            None => ep.subscribes_to(event_type),
        })
        .map(|ep| NewDelivery {
            id: new_id("dlv"),
            endpoint_id: ep.id.clone(),
            next_attempt_at: now,
        })
        .collect();
    let message = NewMessage {
        id: new_id("msg"),
        tenant: tenant.to_owned(),
        event_type: event_type.to_owned(),
        payload,
        idempotency_key,
        created_at: now,
    };
    (message, deliveries)
}
