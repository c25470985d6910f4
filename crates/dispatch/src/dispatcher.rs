//! [`Dispatcher`] and [`DispatcherBuilder`]: the object an application embeds.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderValue;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::at_rest::{
    AtRest, AtRestError, EncryptionKey, IntoEncryptionKey, KeyError, Keyring, Pass, ReencryptReport,
};
use crate::error::{DispatchError, Result, ValidationError};
use crate::limits::{Gates, Limits};
use crate::model::{
    Attempt, Delivery, DeliveryFilter, Endpoint, EnqueueResult, Message, NewDelivery, NewMessage,
    UnixMillis, new_id, now_millis,
};
use crate::retention::Retention;
use crate::ssrf::{InnerResolver, IpCidr, SsrfGuard};
use crate::store::Store;
use crate::transport::{Transport, TransportConfig};
use crate::worker::{HealthBuffer, InFlight, SignerCache};

/// Settings shared by the registry and the workers.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) concurrency: usize,
    pub(crate) lease: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) claim_batch: usize,
    pub(crate) allow_http: bool,
    pub(crate) limits: Limits,
    pub(crate) user_agent: HeaderValue,
    pub(crate) rotation_grace: Duration,
    pub(crate) snippet_cap: usize,
    pub(crate) default_timeout: Duration,
    pub(crate) health_flush: Duration,
    pub(crate) endpoint_label: bool,
    pub(crate) retention: Option<Retention>,
}

/// Builds a [`Dispatcher`]. Every setter states its default.
#[must_use]
pub struct DispatcherBuilder {
    store: Arc<dyn Store>,
    workers: usize,
    concurrency: usize,
    lease: Duration,
    poll_interval: Duration,
    claim_batch: usize,
    allow_http: bool,
    allow: Vec<IpCidr>,
    resolver: Option<InnerResolver>,
    tls: Option<rustls::ClientConfig>,
    limits: Limits,
    user_agent: String,
    response_read_cap: usize,
    snippet_cap: usize,
    rotation_grace: Duration,
    default_timeout: Duration,
    health_flush: Duration,
    endpoint_label: bool,
    retention: Option<Retention>,
    keys: Vec<EncryptionKey>,
    key_error: Option<KeyError>,
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("store", &self.store)
            .field("workers", &self.workers)
            .field("concurrency", &self.concurrency)
            .field("lease", &self.lease)
            .field("allow_http", &self.allow_http)
            .field("allow", &self.allow)
            .field("limits", &self.limits)
            .field("encryption_keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl DispatcherBuilder {
    /// A builder over `store` with the defaults.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            workers: 2,
            concurrency: 64,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            claim_batch: 32,
            allow_http: false,
            allow: Vec::new(),
            resolver: None,
            tls: None,
            limits: Limits::default(),
            user_agent: crate::DEFAULT_USER_AGENT.to_owned(),
            response_read_cap: 64 * 1024,
            snippet_cap: 4 * 1024,
            rotation_grace: Duration::from_secs(24 * 3600),
            default_timeout: Duration::from_secs(15),
            health_flush: Duration::from_secs(1),
            endpoint_label: false,
            retention: Some(Retention::default()),
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
        self.workers = n;
        self
    }

    /// Most HTTP requests in flight at once across all endpoints (default 64).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How long a claim holds a delivery before another worker may take it (default 60 s).
    /// Renewed while the attempt runs; after a crash the delivery is retried this much later.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Longest idle sleep between claims when nothing wakes the workers (default 1 s).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }

    /// Most deliveries one claim takes (default 32).
    pub fn claim_batch(mut self, n: usize) -> Self {
        self.claim_batch = n;
        self
    }

    /// Allows plain `http://` URLs to loopback: allow-listed loopback IP literals and
    /// `localhost` (default off: HTTPS only). For tests and local development together with
    /// [`allow_cidr`](Self::allow_cidr); other allow-listed ranges still need `https://`.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
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
        self.limits = limits;
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
        self.snippet_cap = bytes;
        self
    }

    /// How long a rotated-out secret keeps signing (default 24 h).
    pub fn rotation_grace(mut self, grace: Duration) -> Self {
        self.rotation_grace = grace;
        self
    }

    /// Per-attempt timeout for endpoints created without one and whose retry policy has
    /// none (default 15 s).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// How often buffered success counts are written to endpoint health (default 1 s;
    /// failures are written at once).
    pub fn health_flush_interval(mut self, d: Duration) -> Self {
        self.health_flush = d;
        self
    }

    /// Adds the `endpoint` label (the endpoint id) to every delivery and attempt metric (see
    /// [`metrics`](crate::metrics)). Default off: each endpoint becomes a series of every
    /// metric, so turn it on only where the number of endpoints is bounded.
    pub fn metrics_endpoint_label(mut self, on: bool) -> Self {
        self.endpoint_label = on;
        self
    }

    /// How long history is kept (see [`Retention`]); the running dispatcher purges in the
    /// background. Default [`Retention::default`]: delivered messages 30 days, failed ones
    /// 90 days, checked hourly.
    pub fn retention(mut self, rules: Retention) -> Self {
        self.retention = Some(rules);
        self
    }

    /// Turns background retention off: nothing is ever deleted (run
    /// [`Retention::run_once`] or `hookwire deliveries purge` yourself).
    pub fn no_retention(mut self) -> Self {
        self.retention = None;
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
        if self.workers == 0 || self.concurrency == 0 || self.claim_batch == 0 {
            return Err(DispatchError::config(
                "workers, concurrency and claim batch must be at least 1",
            ));
        }
        if self.lease < Duration::from_millis(100) {
            return Err(DispatchError::config("lease must be at least 100 ms"));
        }
        let user_agent = HeaderValue::from_str(&self.user_agent)
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
        let (shutdown_tx, _) = watch::channel(false);
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                store: self.store,
                at_rest: AtRest { keys },
                ready: tokio::sync::OnceCell::new(),
                transport,
                guard,
                config: Config {
                    workers: self.workers,
                    concurrency: self.concurrency,
                    lease: self.lease,
                    poll_interval: self.poll_interval,
                    claim_batch: self.claim_batch,
                    allow_http: self.allow_http,
                    limits: self.limits,
                    user_agent,
                    rotation_grace: self.rotation_grace,
                    snippet_cap: self.snippet_cap,
                    default_timeout: self.default_timeout,
                    health_flush: self.health_flush,
                    endpoint_label: self.endpoint_label,
                    retention: self.retention,
                },
                notify: Notify::new(),
                permits: Arc::new(Semaphore::new(self.concurrency)),
                gates: Arc::new(Gates::default()),
                in_flight: InFlight::default(),
                health: HealthBuffer::default(),
                signers: SignerCache::default(),
                started: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                shutdown_tx,
                tasks: Mutex::new(Vec::new()),
                instance: new_id("wrk"),
            }),
        })
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) at_rest: AtRest,
    /// Set once the at-rest pass over the store succeeded.
    pub(crate) ready: tokio::sync::OnceCell<()>,
    pub(crate) transport: Transport,
    pub(crate) guard: Arc<SsrfGuard>,
    pub(crate) config: Config,
    pub(crate) notify: Notify,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) gates: Arc<Gates>,
    pub(crate) in_flight: InFlight,
    pub(crate) health: HealthBuffer,
    pub(crate) signers: SignerCache,
    pub(crate) started: AtomicBool,
    pub(crate) stopping: AtomicBool,
    pub(crate) shutdown_tx: watch::Sender<bool>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) instance: String,
}

/// Records per transaction of the at-rest pass at open.
const OPEN_PASS_BATCH: usize = 256;

impl Inner {
    /// [`Dispatcher::ready`].
    pub(crate) async fn ready(&self) -> Result<()> {
        self.ready
            .get_or_try_init(|| async {
                let report = self.pass(Pass::Open, OPEN_PASS_BATCH).await?;
                if report.migrated > 0 {
                    tracing::info!(
                        records = report.migrated,
                        "plaintext endpoint records encrypted at open"
                    );
                }
                Ok::<(), DispatchError>(())
            })
            .await
            .map(|_| ())
    }

    /// One pass over every endpoint record, `batch` records per transaction.
    async fn pass(&self, pass: Pass, batch: usize) -> Result<ReencryptReport> {
        if pass == Pass::Reencrypt && self.at_rest.keys.is_none() {
            return Err(AtRestError::NotConfigured.into());
        }
        let mut report = ReencryptReport::default();
        let mut after: Option<String> = None;
        loop {
            let failed: Arc<Mutex<Option<AtRestError>>> = Arc::new(Mutex::new(None));
            let counts: Arc<Mutex<(u64, u64)>> = Arc::new(Mutex::new((0, 0)));
            let (failed2, counts2, at_rest) = (
                Arc::clone(&failed),
                Arc::clone(&counts),
                self.at_rest.clone(),
            );
            let rewrite = Box::new(move |ep: &mut Endpoint| {
                let mut slot = failed2.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_some() {
                    return false;
                }
                match at_rest.pass_record(ep, pass) {
                    Ok(Some(was_plain)) => {
                        let mut c = counts2.lock().unwrap_or_else(|p| p.into_inner());
                        c.0 += 1;
                        c.1 += u64::from(was_plain);
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        *slot = Some(e);
                        false
                    }
                }
            });
            let done = self
                .store
                .rewrite_endpoints(after.as_deref(), batch, rewrite)
                .await?;
            let (rewritten, migrated) = *counts.lock().unwrap_or_else(|p| p.into_inner());
            report.examined += done.seen as u64;
            report.rewritten += rewritten;
            report.migrated += migrated;
            report.batches += 1;
            if let Some(e) = failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(e.into());
            }
            match done.last_id {
                Some(last) if done.seen >= batch => after = Some(last),
                _ => return Ok(report),
            }
        }
    }
}

/// The embeddable webhook dispatcher: registry, `send`, workers. `Clone` is cheap (an `Arc`);
/// build one per process and share it.
///
/// See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("store", &self.inner.store)
            .field("instance", &self.inner.instance)
            .field("workers", &self.inner.config.workers)
            .field("concurrency", &self.inner.config.concurrency)
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
        &self.inner.store
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
    /// [`DispatchError::Store`]. A failed check runs again on the next call.
    pub async fn ready(&self) -> Result<()> {
        self.inner.ready().await
    }

    /// Moves every endpoint record to the newest encryption key (plaintext ones included), in
    /// batches of `batch_size` records, one transaction per batch. Restartable: records
    /// already under the newest key are skipped, so after an interruption simply run it again.
    /// Once it returns `Ok`, older keys may be removed from the configuration.
    ///
    /// # Errors
    /// [`AtRestError::NotConfigured`] without a key; [`ErrorKind::AtRest`](crate::ErrorKind::AtRest) for a record
    /// the configured keys cannot read (batches before it stay committed);
    /// [`DispatchError::Store`].
    pub async fn reencrypt(&self, batch_size: usize) -> Result<ReencryptReport> {
        self.inner.pass(Pass::Reencrypt, batch_size.max(1)).await
    }

    /// The SSRF guard in use.
    pub fn ssrf_guard(&self) -> &SsrfGuard {
        &self.inner.guard
    }

    /// Spawns the workers (on the current tokio runtime), the queue-depth gauge task and the
    /// retention task.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyStarted`](crate::ErrorKind::AlreadyStarted), [`ErrorKind::ShuttingDown`](crate::ErrorKind::ShuttingDown).
    pub fn start(&self) -> Result<()> {
        if self.inner.stopping.load(Ordering::SeqCst) {
            return Err(DispatchError::shutting_down());
        }
        if self.inner.started.swap(true, Ordering::SeqCst) {
            return Err(DispatchError::already_started());
        }
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for n in 0..self.inner.config.workers {
            let inner = Arc::clone(&self.inner);
            tasks.push(tokio::spawn(crate::worker::run(inner, n)));
        }
        tasks.push(tokio::spawn(crate::worker::gauge_loop(Arc::clone(
            &self.inner,
        ))));
        if let Some(rules) = self.inner.config.retention {
            tasks.push(tokio::spawn(crate::retention::run_loop(
                Arc::clone(&self.inner.store),
                rules,
                self.inner.shutdown_tx.subscribe(),
            )));
        }
        Ok(())
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
        self.check_message(tenant, event_type, payload.len())?;
        self.inner.ready().await?;
        let endpoints = self.inner.store.list_endpoints(tenant).await?;
        let (message, deliveries) = fan_out(
            &endpoints,
            tenant,
            event_type,
            payload,
            idempotency_key,
            only,
        );
        let result = self.inner.store.enqueue(&message, &deliveries).await?;
        self.woken_by(&result);
        Ok(result)
    }

    /// The checks every message passes before anything is stored (`send` and the outbox).
    pub(crate) fn check_message(
        &self,
        tenant: &str,
        event_type: &str,
        payload_len: usize,
    ) -> Result<()> {
        if self.inner.stopping.load(Ordering::SeqCst) {
            return Err(DispatchError::shutting_down());
        }
        if tenant.is_empty() {
            return Err(ValidationError::EmptyTenant.into());
        }
        if event_type.is_empty() {
            return Err(ValidationError::EmptyEventType.into());
        }
        let max = self.inner.config.limits.max_payload_bytes;
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
    fn woken_by(&self, result: &EnqueueResult) {
        if let EnqueueResult::Created { deliveries, .. } = result
            && *deliveries > 0
        {
            self.inner.notify.notify_waiters();
        }
    }

    /// Wakes idle workers (new work in the store from elsewhere).
    pub fn wake(&self) {
        self.inner.notify.notify_waiters();
    }

    // ---- deliveries and the attempt log ---------------------------------------------------

    /// One message.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn message(&self, id: &str) -> Result<Option<Message>> {
        Ok(self.inner.store.get_message(id).await?)
    }

    /// One delivery.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        Ok(self.inner.store.get_delivery(id).await?)
    }

    /// Deliveries matching `filter`, newest first.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        Ok(self.inner.store.list_deliveries(filter).await?)
    }

    /// Every attempt for one message, in order.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn attempts_for_message(&self, message_id: &str) -> Result<Vec<Attempt>> {
        Ok(self.inner.store.attempts_for_message(message_id).await?)
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
            .inner
            .store
            .attempts_for_endpoint(endpoint_id, limit)
            .await?)
    }

    /// Failed attempts in `[from, to)` (Unix milliseconds), oldest first.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn failed_attempts(&self, from: UnixMillis, to: UnixMillis) -> Result<Vec<Attempt>> {
        Ok(self.inner.store.failed_attempts(from, to).await?)
    }

    /// Puts one delivery back in the queue, due now: a delivered or failed one is sent again,
    /// a pending one is made due at once, and one in flight is left to its running attempt
    /// (its outcome decides what follows).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for an unknown delivery,
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn redeliver(&self, delivery_id: &str) -> Result<()> {
        self.inner
            .store
            .redeliver(delivery_id, now_millis())
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
            .inner
            .store
            .recover(endpoint_id, since, now_millis())
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
        Ok(self.inner.store.queue_depth().await?)
    }

    /// Stops claiming, waits up to `deadline` for attempts in flight to finish and be
    /// recorded, then gives every unfinished delivery back to the store (pending, due at once,
    /// no attempt counted). New `send` calls fail with [`ErrorKind::ShuttingDown`](crate::ErrorKind::ShuttingDown).
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.inner.stopping.store(true, Ordering::SeqCst);
        let _ = self.inner.shutdown_tx.send(true);
        self.inner.notify.notify_waiters();
        let report = crate::worker::drain(&self.inner, deadline).await;
        let tasks: Vec<JoinHandle<()>> = {
            let mut t = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
            t.drain(..).collect()
        };
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
        self.inner.health.flush_all(&self.inner).await;
        crate::worker::refresh_queue_gauge(&self.inner).await;
        report
    }
}

/// Endpoint ids → something, behind a std mutex (never held across `.await`).
pub(crate) type SharedMap<V> = Mutex<HashMap<String, V>>;

/// The message and one delivery per enabled endpoint subscribed to `event_type` (or only the
/// endpoint `only`), all due now. Shared by `send` and the transactional outbox, so both fan
/// out identically.
pub(crate) fn fan_out(
    endpoints: &[Endpoint],
    tenant: &str,
    event_type: &str,
    payload: Vec<u8>,
    idempotency_key: Option<String>,
    only: Option<&str>,
) -> (NewMessage, Vec<NewDelivery>) {
    let now = now_millis();
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
