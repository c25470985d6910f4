//! The HTTP side of an attempt: one POST, SSRF-checked, no redirects, no proxies, capped read.
//!
//! [`Transport`] wraps one `reqwest::Client` (connection pool shared by every worker) built
//! with:
//! - TLS from rustls with the `ring` provider and the platform's trust store (or a
//!   [`rustls::ClientConfig`] you pass), HTTP/1.1;
//! - [`redirect::Policy::none`](reqwest::redirect::Policy::none): a 3xx is an answer, never
//!   followed (a redirect to an internal address would bypass the guard);
//! - `no_proxy()`: `HTTP_PROXY` and friends in the environment are ignored;
//! - the guard's resolver: names resolve once, refused addresses are dropped before connecting.
//!
//! [`Transport::post`] never fails: every result, including a refused destination, comes back
//! as an [`HttpResult`] whose [`Outcome`] the retry crate classifies.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hookwire_retry::{Outcome, RetryAfter};
use http::HeaderMap;
use url::{Host, Url};

use crate::ssrf::{InnerResolver, ResolveFailed, SsrfError, SsrfGuard, SsrfResolver};

/// Settings for [`Transport::new`]: start from [`TransportConfig::default`] and change what
/// you need.
///
/// ```
/// use std::sync::Arc;
/// use hookwire_dispatch::ssrf::{IpCidr, SsrfGuard};
/// use hookwire_dispatch::transport::{Transport, TransportConfig};
///
/// let loopback: IpCidr = "127.0.0.0/8".parse()?;
/// let config = TransportConfig::default()
///     .guard(Arc::new(SsrfGuard::new().allow(loopback)))
///     .response_read_cap(4096);
/// let transport = Transport::new(config)?;
/// # let _ = transport;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct TransportConfig {
    /// Which destinations are allowed.
    pub(crate) guard: Arc<SsrfGuard>,
    /// A custom name resolver (its answers are still filtered by the guard); `None`: system.
    pub(crate) resolver: Option<InnerResolver>,
    /// A TLS configuration to use instead of ring + the platform trust store (for example one
    /// that trusts a private CA).
    pub(crate) tls: Option<rustls::ClientConfig>,
    /// Sent as `User-Agent` unless the request sets its own.
    pub(crate) user_agent: String,
    /// At most this many response body bytes are read; the rest is never received.
    pub(crate) response_read_cap: usize,
    /// How long an idle pooled connection is kept.
    pub(crate) pool_idle_timeout: Duration,
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportConfig")
            .field("guard", &self.guard)
            .field("resolver", &self.resolver.as_ref().map(|_| "custom"))
            .field("tls", &self.tls.as_ref().map(|_| "custom"))
            .field("user_agent", &self.user_agent)
            .field("response_read_cap", &self.response_read_cap)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .finish()
    }
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            guard: Arc::new(SsrfGuard::new()),
            resolver: None,
            tls: None,
            user_agent: crate::DEFAULT_USER_AGENT.to_owned(),
            response_read_cap: 64 * 1024,
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

impl TransportConfig {
    /// Which destinations are allowed. Default: [`SsrfGuard::new`] (every private, loopback,
    /// link-local and reserved range refused).
    pub fn guard(mut self, guard: Arc<SsrfGuard>) -> Self {
        self.guard = guard;
        self
    }

    /// A custom name resolver; its answers are still filtered by the guard. Default: the
    /// system resolver.
    pub fn resolver(mut self, resolver: InnerResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// A TLS configuration to use instead of ring + the platform trust store (for example one
    /// that trusts a private CA). Default: [`default_tls_config`].
    pub fn tls(mut self, tls: rustls::ClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sent as `User-Agent` unless the request sets its own. Default:
    /// [`DEFAULT_USER_AGENT`](crate::DEFAULT_USER_AGENT).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// At most this many response body bytes are read; the rest is never received.
    /// Default: 64 KiB.
    pub fn response_read_cap(mut self, bytes: usize) -> Self {
        self.response_read_cap = bytes;
        self
    }

    /// How long an idle pooled connection is kept. Default: 90 s.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }
}

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The TLS configuration (provider, trust store) could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// reqwest refused the configuration.
    #[error("HTTP client setup failed: {0}")]
    Client(String),
}

/// What one POST produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpResult {
    /// The outcome for the retry policy.
    pub outcome: Outcome,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The response body, at most the read cap.
    pub body: Bytes,
    /// Whether the body was longer than the cap (the rest was not read).
    pub truncated: bool,
    /// The response headers, when a response arrived.
    pub headers: HeaderMap,
    /// Transport error, when there was one (no URL, no secrets).
    pub error: Option<String>,
    /// From sending the request to the end of the (capped) body read or the error.
    pub duration: Duration,
}

/// A pooled HTTP client with the SSRF guard built in. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    guard: Arc<SsrfGuard>,
    read_cap: usize,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("guard", &self.guard)
            .field("read_cap", &self.read_cap)
            .finish_non_exhaustive()
    }
}

/// The default TLS configuration: rustls with the `ring` provider, the platform's trust store
/// (native roots on Linux), TLS 1.2 and 1.3, ALPN `http/1.1`.
///
/// # Errors
/// [`TransportError::Tls`] when the provider or trust store cannot be loaded.
pub fn default_tls_config() -> Result<rustls::ClientConfig, TransportError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_platform_verifier()
        .map_err(|e| TransportError::Tls(e.to_string()))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Transport {
    /// Builds the client.
    ///
    /// # Errors
    /// [`TransportError`] when TLS or the client cannot be set up.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let tls = match config.tls {
            Some(tls) => tls,
            None => default_tls_config()?,
        };
        let resolver = match config.resolver {
            Some(inner) => SsrfResolver::with_inner(Arc::clone(&config.guard), inner),
            None => SsrfResolver::new(Arc::clone(&config.guard)),
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolver)
            .user_agent(config.user_agent)
            .pool_idle_timeout(config.pool_idle_timeout)
            .build()
            .map_err(|e| TransportError::Client(error_chain(&e)))?;
        Ok(Self {
            client,
            guard: config.guard,
            read_cap: config.response_read_cap,
        })
    }

    /// The SSRF guard in use.
    pub fn guard(&self) -> &SsrfGuard {
        &self.guard
    }

    /// Checks a URL's host when it is an IP literal (names are checked at resolution).
    ///
    /// # Errors
    /// [`SsrfError::Blocked`] for a refused literal.
    pub fn check_literal(&self, url: &Url) -> Result<(), SsrfError> {
        match url.host() {
            Some(Host::Ipv4(v4)) => self.guard.check(v4.into()),
            Some(Host::Ipv6(v6)) => self.guard.check(v6.into()),
            _ => Ok(()),
        }
    }

    /// POSTs `body` with `headers` to `url`, giving up after `timeout` (connect, send and the
    /// capped body read together).
    pub async fn post(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> HttpResult {
        let started = Instant::now();
        if let Err(e) = self.check_literal(url) {
            return failure(Outcome::SsrfRefused, e.to_string(), started);
        }
        let request = self
            .client
            .post(url.clone())
            .headers(headers)
            .body(body)
            .timeout(timeout)
            .send();
        let attempt = async {
            let mut response = match request.await {
                Ok(r) => r,
                Err(e) => return Err(e),
            };
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
            let mut buf = Vec::new();
            let mut truncated = false;
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = self.read_cap.saturating_sub(buf.len());
                        if chunk.len() > room {
                            buf.extend_from_slice(&chunk[..room]);
                            truncated = true;
                            break;
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    // The status arrived; a body that breaks off afterwards still counts as
                    // the status's answer (we only keep a snippet of it).
                    Err(_) => break,
                }
            }
            Ok((status, headers, buf, truncated))
        };
        // reqwest's own timeout covers the body read too; the outer one is a backstop.
        match tokio::time::timeout(timeout + Duration::from_millis(50), attempt).await {
            Err(_) => failure(Outcome::Timeout, "timed out".to_owned(), started),
            Ok(Err(e)) => {
                let outcome = classify_error(&e);
                failure(outcome, error_chain(&e.without_url()), started)
            }
            Ok(Ok((status, headers, body, truncated))) => {
                let retry_after = headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| RetryAfter::parse(v, SystemTime::now()));
                HttpResult {
                    outcome: Outcome::from_status(status, retry_after),
                    status: Some(status),
                    body: Bytes::from(body),
                    truncated,
                    headers,
                    error: None,
                    duration: started.elapsed(),
                }
            }
        }
    }
}

fn failure(outcome: Outcome, error: String, started: Instant) -> HttpResult {
    HttpResult {
        outcome,
        status: None,
        body: Bytes::new(),
        truncated: false,
        headers: HeaderMap::new(),
        error: Some(error),
        duration: started.elapsed(),
    }
}

/// Every error in the chain, joined with `: ` (io errors' wrapped errors included).
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let text = err.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = err.source();
    }
    out
}

/// Walks the error chain, looking inside `io::Error` wrappers too.
fn for_each_cause(e: &(dyn StdError + 'static), f: &mut dyn FnMut(&(dyn StdError + 'static))) {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        f(err);
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            for_each_cause(inner, f);
        }
        cur = err.source();
    }
}

/// Maps a reqwest error onto the retry crate's transport outcomes.
fn classify_error(e: &reqwest::Error) -> Outcome {
    let mut ssrf = false;
    let mut dns = false;
    let mut tls = false;
    let mut refused = false;
    let mut reset = false;
    for_each_cause(e, &mut |cause| {
        if cause.is::<SsrfError>() {
            ssrf = true;
        } else if cause.is::<ResolveFailed>() {
            dns = true;
        } else if cause.is::<rustls::Error>() {
            tls = true;
        } else if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => refused = true,
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    reset = true
                }
                _ => {}
            }
        }
    });
    if ssrf {
        Outcome::SsrfRefused
    } else if e.is_timeout() {
        Outcome::Timeout
    } else if dns {
        Outcome::Dns
    } else if tls {
        Outcome::Tls
    } else if refused {
        Outcome::ConnectionRefused
    } else if reset || e.is_request() || e.is_body() {
        // The connection was up but broke before a complete response (hyper's "connection
        // closed before message completed" carries no io::Error).
        Outcome::ConnectionReset
    } else {
        Outcome::Other(e_without_url(e))
    }
}

fn e_without_url(e: &reqwest::Error) -> String {
    // reqwest errors are not Clone; format and strip the URL part instead.
    let text = e.to_string();
    match e.url() {
        Some(u) => text
            .replace(&format!(" ({u})"), "")
            .replace(u.as_str(), "<url>"),
        None => text,
    }
}
