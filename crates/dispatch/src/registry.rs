//! The endpoint registry: create, read, update, delete, enable/disable, rotate, test.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hookwire_events::Family;
use hookwire_retry::{HealthPolicy, RetryPolicy};
use hookwire_signature::{Scheme, Secret};
use url::{Host, Url};

use crate::dispatcher::Dispatcher;
use crate::error::{DispatchError, Result, ValidationError};
use crate::model::{
    Auth, Endpoint, EndpointSecret, EndpointStatus, EnqueueResult, RateLimit, SecretHeader,
    UnixMillis, new_id,
};

/// The signing scheme a family's receivers expect: ZeroTier `X-ZTC-Signature`, ZTA
/// `X-ZTA-Signature` (`sha256=` form), Hub Message (placeholder header: set the one from the
/// vendor console), ZITADEL `ZITADEL-Signature`, Zentitle `N-Signature` (RSA), Standard
/// Webhooks `webhook-signature`.
pub(crate) fn default_scheme(family: Family) -> Scheme {
    let name = match family {
        Family::ZeroTier => "zerotier",
        Family::Zta => "zta",
        Family::HubMessage => "hub-message",
        Family::Zitadel => "zitadel",
        Family::Zentitle => "zentitle",
        Family::StandardWebhooks => "standard",
    };
    Scheme::from_name(name).unwrap_or(Scheme::Zitadel)
}

/// The retry policy a family documents: ZeroTier (10 attempts, doubling from 1 min, 1 h cap),
/// ZTA (immediate, +5 s, +25 s), otherwise Standard Webhooks' schedule.
pub fn default_retry(family: Family) -> RetryPolicy {
    match family {
        Family::ZeroTier => RetryPolicy::zerotier(),
        Family::Zta => RetryPolicy::zta(),
        _ => RetryPolicy::standard_webhooks(),
    }
}

/// A new endpoint; [`NewEndpoint::new`] fills in the family's defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewEndpoint {
    /// The tenant it belongs to.
    pub tenant: String,
    /// Its family.
    pub family: Family,
    /// Destination URL.
    pub url: String,
    /// Subscribed event types (default `["*"]`).
    pub event_types: Vec<String>,
    /// Signing scheme (default: the family's own, e.g. `X-ZTC-Signature` for ZeroTier);
    /// `None` sends unsigned requests.
    pub scheme: Option<Scheme>,
    /// A signing secret to use instead of a generated one (migration, tests).
    pub secret: Option<Secret>,
    /// Auth sent on every request (default none).
    pub auth: Auth,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Extra headers whose values are secrets (encrypted at rest).
    pub secret_headers: Vec<SecretHeader>,
    /// Per-attempt timeout (default: the retry policy's, else the dispatcher's).
    pub timeout: Option<Duration>,
    /// Retry policy (default [`default_retry`]).
    pub retry: RetryPolicy,
    /// Health policy (default [`HealthPolicy::default`]).
    pub health_policy: HealthPolicy,
    /// Token-bucket rate limit (default none).
    pub rate_limit: Option<RateLimit>,
    /// Per-endpoint in-flight limit (default none: only the global limit).
    pub max_in_flight: Option<u32>,
    /// Deliver one message at a time, in order (default off).
    pub fifo: bool,
    /// Free text.
    pub description: String,
    /// Labels kept with the endpoint (default none).
    pub metadata: BTreeMap<String, String>,
}

impl NewEndpoint {
    /// An endpoint for `tenant` of `family` at `url`, subscribed to everything, signed with the
    /// family's scheme and retried by its policy.
    pub fn new(tenant: impl Into<String>, family: Family, url: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            family,
            url: url.into(),
            event_types: vec!["*".to_owned()],
            scheme: Some(default_scheme(family)),
            secret: None,
            auth: Auth::None,
            headers: Vec::new(),
            secret_headers: Vec::new(),
            timeout: None,
            retry: default_retry(family),
            health_policy: HealthPolicy::default(),
            rate_limit: None,
            max_in_flight: None,
            fifo: false,
            description: String::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// Subscribes to these event types.
    #[must_use]
    pub fn event_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.event_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Signs with `scheme`, or sends unsigned with `None`.
    #[must_use]
    pub fn scheme(mut self, scheme: Option<Scheme>) -> Self {
        self.scheme = scheme;
        self
    }

    /// Uses this signing secret instead of generating one.
    #[must_use]
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Sets the auth.
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Adds a custom header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a custom header whose value is a secret: encrypted at rest, never in `Debug`.
    #[must_use]
    pub fn secret_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.secret_headers.push(SecretHeader::new(name, value));
        self
    }

    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the health policy.
    #[must_use]
    pub fn health_policy(mut self, policy: HealthPolicy) -> Self {
        self.health_policy = policy;
        self
    }

    /// Sets a rate limit.
    #[must_use]
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        self.rate_limit = Some(RateLimit { per_second, burst });
        self
    }

    /// Sets the in-flight limit.
    #[must_use]
    pub fn max_in_flight(mut self, n: u32) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// Turns FIFO delivery on or off.
    #[must_use]
    pub fn fifo(mut self, fifo: bool) -> Self {
        self.fifo = fifo;
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Adds a metadata label.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct EndpointUpdate {
    /// New URL.
    pub url: Option<String>,
    /// New event types (replaces the list).
    pub event_types: Option<Vec<String>>,
    /// New description.
    pub description: Option<String>,
    /// New auth.
    pub auth: Option<Auth>,
    /// New custom headers (replaces the list).
    pub headers: Option<Vec<(String, String)>>,
    /// New secret headers (replaces the list).
    pub secret_headers: Option<Vec<SecretHeader>>,
    /// New timeout.
    pub timeout: Option<Duration>,
    /// New retry policy.
    pub retry: Option<RetryPolicy>,
    /// New health policy.
    pub health_policy: Option<HealthPolicy>,
    /// New rate limit (`Some(None)` removes it).
    pub rate_limit: Option<Option<RateLimit>>,
    /// New in-flight limit (`Some(None)` removes it).
    pub max_in_flight: Option<Option<u32>>,
    /// FIFO on/off.
    pub fifo: Option<bool>,
    /// Enable (`true`) or disable (`false`, reason "disabled manually").
    pub enabled: Option<bool>,
    /// New metadata (replaces the map).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A secret's metadata, as [`EndpointInfo`] shows it (never the value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretInfo {
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it stops signing, if rotated out.
    pub expires_at: Option<UnixMillis>,
}

/// An endpoint as `get` and `list` show it: every field except the secret values.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The endpoint, with `secrets` emptied.
    pub endpoint: Endpoint,
    /// Its secrets' metadata, newest first.
    pub secrets: Vec<SecretInfo>,
}

impl From<Endpoint> for EndpointInfo {
    fn from(mut endpoint: Endpoint) -> Self {
        let secrets = std::mem::take(&mut endpoint.secrets)
            .into_iter()
            .map(|s| SecretInfo {
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect();
        Self { endpoint, secrets }
    }
}

/// A generated secret, shown exactly once.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedSecret {
    /// The signing secret (the dispatcher keeps it).
    pub signing: Secret,
    /// What the receiver configures to verify: the same secret for HMAC schemes, the public
    /// key for Zentitle (PEM) and Standard Webhooks Ed25519 (`whpk_`).
    pub verification: Secret,
}

impl fmt::Debug for IssuedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuedSecret { .. }")
    }
}

/// What [`Dispatcher::create_endpoint`] returns.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreatedEndpoint {
    /// The stored endpoint (without secret values).
    pub info: EndpointInfo,
    /// The secret, when the endpoint is signed; the only time it is shown.
    pub secret: Option<IssuedSecret>,
}

impl CreatedEndpoint {
    /// The endpoint's id.
    pub fn id(&self) -> &str {
        &self.info.endpoint.id
    }
}

/// What [`Dispatcher::rotate_secret`] returns.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RotatedSecret {
    /// The new secret; the only time it is shown.
    pub secret: IssuedSecret,
    /// Until when the previous secrets keep signing.
    pub previous_valid_until: UnixMillis,
}

fn grace_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Dispatcher {
    fn validate_url(&self, raw: &str) -> Result<(), ValidationError> {
        let max = self.engine.settings().limits.max_url_len;
        if raw.len() > max {
            return Err(ValidationError::UrlTooLong {
                len: raw.len(),
                max,
            });
        }
        let url = Url::parse(raw).map_err(|e| ValidationError::InvalidUrl(e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValidationError::UrlCredentials);
        }
        let host = url
            .host()
            .ok_or_else(|| ValidationError::InvalidUrl("no host".to_owned()))?;
        match url.scheme() {
            "https" => {}
            "http" => {
                // Plain HTTP only when enabled, and only to loopback: allow-listed loopback IP
                // literals, or `localhost` (whose addresses the resolver still checks). An
                // allow-listed private range still needs https.
                let allowed_literal = |ip: std::net::IpAddr| {
                    let ip = ip.to_canonical();
                    ip.is_loopback()
                        && self
                            .engine
                            .guard()
                            .allow_list()
                            .iter()
                            .any(|c| c.contains(ip))
                };
                let ok = self.engine.settings().allow_http
                    && match &host {
                        Host::Ipv4(v4) => allowed_literal((*v4).into()),
                        Host::Ipv6(v6) => allowed_literal((*v6).into()),
                        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
                    };
                if !ok {
                    return Err(ValidationError::InsecureUrl(raw.to_owned()));
                }
            }
            other => return Err(ValidationError::UnsupportedScheme(other.to_owned())),
        }
        self.engine.transport().check_literal(&url)?;
        Ok(())
    }

    fn validate_events(&self, family: Family, types: &[String]) -> Result<(), ValidationError> {
        if types.is_empty() {
            return Err(ValidationError::NoEventTypes);
        }
        let max = self.engine.settings().limits.max_event_types_per_endpoint;
        if types.len() > max {
            return Err(ValidationError::TooManyEventTypes {
                got: types.len(),
                max,
            });
        }
        for t in types {
            if t != "*" && !family.is_known_event_type(t) {
                return Err(ValidationError::UnknownEventType {
                    family,
                    event_type: t.clone(),
                });
            }
        }
        Ok(())
    }

    fn validate_endpoint(&self, ep: &Endpoint) -> Result<(), ValidationError> {
        if ep.tenant.is_empty() {
            return Err(ValidationError::EmptyTenant);
        }
        self.validate_url(&ep.url)?;
        self.validate_events(ep.family, &ep.event_types)?;
        let limits = &self.engine.settings().limits;
        crate::headers::validate(
            &ep.headers,
            &ep.secret_headers,
            &ep.auth,
            ep.scheme.as_ref(),
            limits.max_custom_headers,
        )?;
        let max_ms = u64::try_from(limits.max_timeout.as_millis()).unwrap_or(u64::MAX);
        if ep.timeout_ms == 0 || ep.timeout_ms > max_ms {
            return Err(ValidationError::InvalidTimeout { max_ms });
        }
        if let Some(r) = ep.rate_limit
            && !(r.per_second.is_finite() && r.per_second > 0.0 && r.burst >= 1)
        {
            return Err(ValidationError::InvalidRateLimit);
        }
        if ep.max_in_flight == Some(0) {
            return Err(ValidationError::InvalidMaxInFlight);
        }
        let metadata_len: usize = ep.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        if metadata_len > limits.max_metadata_bytes {
            return Err(ValidationError::MetadataTooLarge {
                max: limits.max_metadata_bytes,
            });
        }
        if ep.description.len() > limits.max_description_len {
            return Err(ValidationError::DescriptionTooLong {
                max: limits.max_description_len,
            });
        }
        Ok(())
    }

    fn issue(scheme: &Scheme, given: Option<Secret>) -> Result<IssuedSecret, ValidationError> {
        let signing = match given {
            Some(s) => s,
            None => scheme.generate_secret()?,
        };
        let verification = scheme.verification_secret(&signing)?;
        // Building a signer proves the secret fits the scheme.
        hookwire_signature::Signer::new(scheme, std::slice::from_ref(&signing))?;
        Ok(IssuedSecret {
            signing,
            verification,
        })
    }

    /// Registers an endpoint. The generated secret is in the result and nowhere else.
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) naming the broken rule; [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn create_endpoint(&self, new: NewEndpoint) -> Result<CreatedEndpoint> {
        let now = self.engine.now_millis();
        let timeout = new
            .timeout
            .or(new.retry.timeout())
            .unwrap_or(self.engine.settings().default_timeout);
        let issued = match &new.scheme {
            Some(s) => Some(Self::issue(s, new.secret)?),
            None => None,
        };
        let endpoint = Endpoint {
            id: new_id("ep"),
            tenant: new.tenant,
            family: new.family,
            url: new.url,
            event_types: new.event_types,
            scheme: new.scheme,
            secrets: issued
                .iter()
                .map(|i| EndpointSecret {
                    secret: i.signing.clone(),
                    created_at: now,
                    expires_at: None,
                })
                .collect(),
            auth: new.auth,
            headers: new.headers,
            secret_headers: new.secret_headers,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            retry: new.retry,
            health_policy: new.health_policy,
            rate_limit: new.rate_limit,
            max_in_flight: new.max_in_flight,
            fifo: new.fifo,
            description: new.description,
            status: EndpointStatus::Enabled,
            health: Default::default(),
            created_at: now,
            updated_at: now,
            last_triggered_at: None,
            metadata: new.metadata,
            sealed: false,
        };
        self.validate_endpoint(&endpoint)?;
        self.engine.ready().await?;
        let mut stored = endpoint.clone();
        self.engine.at_rest().seal(&mut stored)?;
        let max = self.engine.settings().limits.max_endpoints_per_tenant;
        if !self.store().insert_endpoint_within(&stored, max).await? {
            return Err(ValidationError::TooManyEndpoints {
                tenant: endpoint.tenant.clone(),
                max,
            }
            .into());
        }
        tracing::info!(endpoint = %endpoint.id, tenant = %endpoint.tenant, "endpoint created");
        Ok(CreatedEndpoint {
            info: endpoint.into(),
            secret: issued,
        })
    }

    /// One endpoint, without secret values.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn get_endpoint(&self, id: &str) -> Result<Option<EndpointInfo>> {
        self.engine.ready().await?;
        match self.store().get_endpoint(id).await? {
            Some(ep) => Ok(Some(self.opened(ep)?.into())),
            None => Ok(None),
        }
    }

    /// A stored record with its secrets decrypted.
    pub(crate) fn opened(&self, mut ep: Endpoint) -> Result<Endpoint> {
        self.engine.at_rest().open(&mut ep)?;
        Ok(ep)
    }

    /// Every endpoint of a tenant, oldest first, without secret values.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn list_endpoints(&self, tenant: &str) -> Result<Vec<EndpointInfo>> {
        self.engine.ready().await?;
        self.store()
            .list_endpoints(tenant)
            .await?
            .into_iter()
            .map(|ep| self.opened(ep).map(Into::into))
            .collect()
    }

    async fn require(&self, id: &str) -> Result<Endpoint> {
        self.engine.ready().await?;
        let ep = self
            .store()
            .get_endpoint(id)
            .await?
            .ok_or_else(|| DispatchError::not_found("endpoint", id))?;
        self.opened(ep)
    }

    async fn modify(
        &self,
        id: &str,
        change: impl FnOnce(&mut Endpoint) + Send + 'static,
    ) -> Result<Endpoint> {
        self.engine.ready().await?;
        // The change sees the decrypted record; what is written back is sealed again. A
        // store's `NotFound` converts to `ErrorKind::NotFound`.
        let (change, failed) = self.engine.at_rest().wrap_change(change);
        let ep = self.store().modify_endpoint(id, change).await?;
        if let Some(e) = failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e.into());
        }
        self.opened(ep)
    }

    /// Applies an update after validating the result.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`ErrorKind::Validation`](crate::ErrorKind::Validation), [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn update_endpoint(&self, id: &str, update: EndpointUpdate) -> Result<EndpointInfo> {
        let mut candidate = self.require(id).await?;
        let now = self.engine.now_millis();
        apply(&mut candidate, update.clone(), now);
        self.validate_endpoint(&candidate)?;
        let ep = self
            .modify(id, move |ep| {
                apply(ep, update, now);
            })
            .await?;
        if ep.is_enabled() {
            self.wake();
        }
        Ok(ep.into())
    }

    /// Deletes an endpoint and its pending deliveries; returns whether it existed.
    ///
    /// # Errors
    /// [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn delete_endpoint(&self, id: &str) -> Result<bool> {
        self.engine.ready().await?;
        let existed = self.store().delete_endpoint(id).await?;
        self.engine.forget_endpoint(id);
        Ok(existed)
    }

    /// Enables an endpoint and resets its health (counters, breaker).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn enable_endpoint(&self, id: &str) -> Result<EndpointInfo> {
        let update = EndpointUpdate {
            enabled: Some(true),
            ..EndpointUpdate::default()
        };
        self.update_endpoint(id, update).await
    }

    /// Disables an endpoint: nothing is sent to it until enabled; its pending deliveries wait.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn disable_endpoint(&self, id: &str) -> Result<EndpointInfo> {
        let update = EndpointUpdate {
            enabled: Some(false),
            ..EndpointUpdate::default()
        };
        self.update_endpoint(id, update).await
    }

    /// Generates a new signing secret. Older secrets keep signing (every request carries a
    /// signature per valid secret) until the rotation grace period ends; secrets already
    /// expired are dropped.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`ErrorKind::Validation`](crate::ErrorKind::Validation) (unsigned endpoint, key
    /// generation), [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn rotate_secret(&self, id: &str) -> Result<RotatedSecret> {
        self.rotate_secret_with(id, None).await
    }

    /// Like [`rotate_secret`](Self::rotate_secret) with a given secret.
    ///
    /// # Errors
    /// As [`rotate_secret`](Self::rotate_secret).
    pub async fn rotate_secret_with(
        &self,
        id: &str,
        secret: Option<Secret>,
    ) -> Result<RotatedSecret> {
        let current = self.require(id).await?;
        let scheme = current.scheme.clone().ok_or(ValidationError::Signature(
            hookwire_signature::Error::NoSecrets,
        ))?;
        let issued = Self::issue(&scheme, secret)?;
        let now = self.engine.now_millis();
        let until = now.saturating_add(grace_millis(self.engine.settings().rotation_grace));
        let fresh = EndpointSecret {
            secret: issued.signing.clone(),
            created_at: now,
            expires_at: None,
        };
        self.modify(id, move |ep| {
            ep.secrets.retain(|s| s.expires_at.is_none_or(|e| e > now));
            for s in &mut ep.secrets {
                s.expires_at = Some(s.expires_at.map_or(until, |e| e.min(until)));
            }
            ep.secrets.insert(0, fresh);
            ep.updated_at = now.max(ep.updated_at + 1);
        })
        .await?;
        tracing::info!(endpoint = id, "secret rotated");
        Ok(RotatedSecret {
            secret: issued,
            previous_valid_until: until,
        })
    }

    /// Turns signing on with `scheme` and a freshly generated secret, or off with `None`, in
    /// one change: the earlier scheme and secrets stop signing at once (no grace period,
    /// unlike [`rotate_secret`](Self::rotate_secret)). Returns the new secret, the only time
    /// it is shown.
    ///
    /// # Errors
    /// `DispatchError::NotFound`, `DispatchError::Validation` (key generation),
    /// `DispatchError::Store`.
    pub async fn set_signing(
        &self,
        id: &str,
        scheme: Option<Scheme>,
    ) -> Result<Option<IssuedSecret>> {
        self.require(id).await?;
        let issued = match &scheme {
            Some(s) => Some(Self::issue(s, None)?),
            None => None,
        };
        let now = self.engine.now_millis();
        let secrets: Vec<EndpointSecret> = issued
            .iter()
            .map(|i| EndpointSecret {
                secret: i.signing.clone(),
                created_at: now,
                expires_at: None,
            })
            .collect();
        self.modify(id, move |ep| {
            ep.scheme = scheme;
            ep.secrets = secrets;
            ep.updated_at = now.max(ep.updated_at + 1);
        })
        .await?;
        tracing::info!(endpoint = id, signed = issued.is_some(), "signing changed");
        Ok(issued)
    }

    /// Sends a test event to this endpoint only (ZTA: type `test`; others `hookwire.test`),
    /// through the normal queue, signing and retries.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`ErrorKind::Store`](crate::ErrorKind::Store).
    pub async fn send_test(&self, id: &str) -> Result<EnqueueResult> {
        let ep = self.require(id).await?;
        let now = self.engine.now_millis();
        let event_type = match ep.family {
            Family::Zta => "test",
            _ => "hookwire.test",
        };
        let payload = serde_json::json!({
            "type": event_type,
            "event": event_type,
            "endpoint_id": ep.id,
            "timestamp": now,
            "data": { "message": "This is a test webhook from hookwire" },
        });
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        self.enqueue(&ep.tenant, event_type, body, None, Some(id))
            .await
    }

    /// Sends a message to this one endpoint only, whatever its subscriptions (for example the
    /// targets a ZITADEL execution routes an event to). Durable when it returns, like
    /// [`send`](Self::send); a disabled endpoint stores the message with no delivery.
    ///
    /// # Errors
    /// `DispatchError::NotFound`, and as `send`.
    pub async fn send_to(
        &self,
        endpoint_id: &str,
        event_type: &str,
        payload: impl Into<Vec<u8>>,
    ) -> Result<EnqueueResult> {
        let ep = self.require(endpoint_id).await?;
        self.enqueue(
            &ep.tenant,
            event_type,
            payload.into(),
            None,
            Some(endpoint_id),
        )
        .await
    }
}

fn apply(ep: &mut Endpoint, u: EndpointUpdate, now: UnixMillis) {
    if let Some(v) = u.url {
        ep.url = v;
    }
    if let Some(v) = u.event_types {
        ep.event_types = v;
    }
    if let Some(v) = u.description {
        ep.description = v;
    }
    if let Some(v) = u.auth {
        ep.auth = v;
    }
    if let Some(v) = u.headers {
        ep.headers = v;
    }
    if let Some(v) = u.secret_headers {
        ep.secret_headers = v;
    }
    if let Some(v) = u.timeout {
        ep.timeout_ms = u64::try_from(v.as_millis()).unwrap_or(u64::MAX);
    }
    if let Some(v) = u.retry {
        ep.retry = v;
    }
    if let Some(v) = u.health_policy {
        ep.health_policy = v;
    }
    if let Some(v) = u.rate_limit {
        ep.rate_limit = v;
    }
    if let Some(v) = u.max_in_flight {
        ep.max_in_flight = v;
    }
    if let Some(v) = u.fifo {
        ep.fifo = v;
    }
    if let Some(v) = u.metadata {
        ep.metadata = v;
    }
    match u.enabled {
        Some(true) if !ep.is_enabled() || ep.health.is_disabled() => {
            ep.status = EndpointStatus::Enabled;
            ep.health.enable();
        }
        Some(false) if ep.is_enabled() => {
            ep.status = EndpointStatus::Disabled {
                reason: "disabled manually".to_owned(),
                at: now,
            };
        }
        _ => {}
    }
    ep.updated_at = now.max(ep.updated_at + 1);
}
