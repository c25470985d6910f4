//! [`Receiver`]: the verifier, body limit and replay settings that the extractor and the layer
//! share, and the one function both run.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use hookwire_events::Family;
use hookwire_signature::{Scheme, Secret, Tolerance, Verifier};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};

use crate::rejection::Rejection;
use crate::replay::{MemoryReplayGuard, ReplayGuard, ReplayTicket};

/// Default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Default longest time a replay entry is kept (and the whole window for schemes without a
/// timestamp): 24 hours.
pub const DEFAULT_MAX_REPLAY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What a receiver learned about a request that verified. The [`VerifyLayer`](crate::VerifyLayer)
/// inserts it as a request extension; [`Verified`](crate::Verified) carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The signed message id, where the scheme has one (Standard Webhooks `webhook-id`).
    pub id: Option<String>,
    /// The signed timestamp (unix seconds), where the scheme has one.
    pub timestamp: Option<i64>,
    /// Which secret matched, as an index into the secrets the receiver was built with
    /// (during a rotation: 0 is usually the new secret, 1 the old one).
    pub key_index: usize,
    /// The key under which the replay guard recorded the message, if a guard is configured.
    pub replay_key: Option<String>,
}

/// Settings shared by the [`Verified`](crate::Verified) extractor and the
/// [`VerifyLayer`](crate::VerifyLayer): the verifier, the body limit, the replay guard.
///
/// Cheap to clone (one `Arc`). Put it in the router state (the extractor finds it through
/// [`FromRef`](axum::extract::FromRef)) or give it to the layer.
///
/// | setting | default |
/// |---|---|
/// | body limit | [`DEFAULT_BODY_LIMIT`] (1 MiB): longer bodies get 413 |
/// | tolerance | the verifier's (300 s each way unless set) |
/// | replay guard | none; [`with_memory_replay_guard`](Self::with_memory_replay_guard) or [`with_replay_guard`](Self::with_replay_guard) |
/// | replay status | 200 OK, so the sender stops retrying |
/// | max replay TTL | [`DEFAULT_MAX_REPLAY_TTL`] (24 h) |
/// | clock | system time |
/// | event family | from the scheme (none for Stripe, GitHub and generic schemes) |
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    verifier: Verifier,
    family: Option<Family>,
    body_limit: usize,
    replay: Option<Arc<dyn ReplayGuard>>,
    replay_status: StatusCode,
    max_replay_ttl: Duration,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

/// The family whose payloads a scheme carries.
fn family_of(scheme: &Scheme) -> Option<Family> {
    match scheme {
        Scheme::ZeroTier => Some(Family::ZeroTier),
        Scheme::Zta { .. } => Some(Family::Zta),
        Scheme::HubMessage { .. } => Some(Family::HubMessage),
        Scheme::Zitadel => Some(Family::Zitadel),
        Scheme::Zentitle => Some(Family::Zentitle),
        Scheme::StandardWebhooks { .. } => Some(Family::StandardWebhooks),
        _ => None,
    }
}

fn system_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

impl Receiver {
    /// A receiver for `scheme` with one or more secrets (for Zentitle: the RSA public key).
    /// During a rotation pass every still-valid secret; any one matching is enough.
    ///
    /// # Errors
    /// The signature crate's key errors ([`BadKey`](hookwire_signature::Error::BadKey),
    /// [`NoSecrets`](hookwire_signature::Error::NoSecrets), ...).
    pub fn new(scheme: &Scheme, secrets: &[Secret]) -> Result<Self, hookwire_signature::Error> {
        let verifier = Verifier::new(scheme, secrets)?;
        Ok(Self::from_verifier(verifier, family_of(scheme)))
    }

    /// A receiver around an already built verifier, parsing payloads of `family` when asked
    /// for an [`AnyEvent`](hookwire_events::AnyEvent).
    pub fn from_verifier(verifier: Verifier, family: Option<Family>) -> Self {
        Self {
            inner: Arc::new(Inner {
                verifier,
                family,
                body_limit: DEFAULT_BODY_LIMIT,
                replay: None,
                replay_status: StatusCode::OK,
                max_replay_ttl: DEFAULT_MAX_REPLAY_TTL,
                clock: Arc::new(system_now),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Sets the largest body accepted, in bytes; longer bodies are refused with 413 without
    /// being read further.
    #[must_use]
    pub fn with_body_limit(self, bytes: usize) -> Self {
        self.edit(|i| i.body_limit = bytes)
    }

    /// Sets the timestamp tolerance (schemes without a timestamp ignore it).
    #[must_use]
    pub fn with_tolerance(self, tolerance: Tolerance) -> Self {
        self.edit(|i| i.verifier = i.verifier.clone().with_tolerance(tolerance))
    }

    /// Sets the family whose payloads [`AnyEvent`](hookwire_events::AnyEvent) parses.
    #[must_use]
    pub fn with_family(self, family: Family) -> Self {
        self.edit(|i| i.family = Some(family))
    }

    /// Drops replays with `guard` (see [`crate::replay`] for what each scheme allows).
    #[must_use]
    pub fn with_replay_guard(self, guard: impl ReplayGuard) -> Self {
        let guard: Arc<dyn ReplayGuard> = Arc::new(guard);
        self.edit(|i| i.replay = Some(guard))
    }

    /// Drops replays with an in-process [`MemoryReplayGuard`] of `capacity` keys.
    #[must_use]
    pub fn with_memory_replay_guard(self, capacity: usize) -> Self {
        self.with_replay_guard(MemoryReplayGuard::new(capacity))
    }

    /// Sets the status answered to a replayed message (default 200 OK, so the sender stops
    /// retrying; 409 Conflict is a common alternative).
    #[must_use]
    pub fn with_replay_status(self, status: StatusCode) -> Self {
        self.edit(|i| i.replay_status = status)
    }

    /// Caps how long a replay entry is kept; it is also the whole replay window of schemes
    /// without a timestamp. Default [`DEFAULT_MAX_REPLAY_TTL`].
    #[must_use]
    pub fn with_max_replay_ttl(self, ttl: Duration) -> Self {
        self.edit(|i| i.max_replay_ttl = ttl)
    }

    /// Replaces the clock (unix seconds) used for the timestamp check; for tests.
    #[must_use]
    pub fn with_clock(self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        let clock: Arc<dyn Fn() -> i64 + Send + Sync> = Arc::new(clock);
        self.edit(|i| i.clock = clock)
    }

    /// The verifier in use.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The family payloads are parsed as, if known.
    pub fn family(&self) -> Option<Family> {
        self.inner.family
    }

    /// How long the replay guard keeps a message that verified with `timestamp` at `now`:
    /// until the timestamp leaves the past tolerance (then the verifier refuses it anyway),
    /// plus one second, capped by the max replay TTL; the max TTL itself without a timestamp.
    pub fn replay_ttl(&self, timestamp: Option<i64>, now: i64) -> Duration {
        let max = self.inner.max_replay_ttl;
        match timestamp {
            None => max,
            Some(t) => {
                let past = i128::from(self.inner.verifier.tolerance().past.as_secs());
                let remaining = i128::from(t) + past - i128::from(now) + 1;
                let secs = u64::try_from(remaining.max(1)).unwrap_or(u64::MAX);
                Duration::from_secs(secs).min(max)
            }
        }
    }

    /// Reads the body (within the limit), verifies it, and checks for a replay.
    pub(crate) async fn check(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Accepted, Rejection> {
        let bytes = self.read_body(headers, body).await?;
        self.accept(headers, bytes).await
    }

    /// Verifies bytes already read, and checks for a replay.
    pub(crate) async fn accept(
        &self,
        headers: &HeaderMap,
        bytes: Bytes,
    ) -> Result<Accepted, Rejection> {
        let now = (self.inner.clock)();
        let verified = self
            .inner
            .verifier
            .verify_at(&bytes, headers, now)
            .map_err(Rejection::from_signature)?;
        let mut verification = Verification {
            id: verified.id,
            timestamp: verified.timestamp,
            key_index: verified.key_index,
            replay_key: None,
        };
        let mut ticket = None;
        if let Some(guard) = &self.inner.replay {
            let key = replay_key(&verification, &bytes);
            let ttl = self.replay_ttl(verification.timestamp, now);
            let fresh = guard
                .check_and_record(&key, ttl)
                .await
                .map_err(Rejection::ReplayStore)?;
            if !fresh {
                return Err(Rejection::Replayed {
                    status: self.inner.replay_status,
                });
            }
            verification.replay_key = Some(key.clone());
            ticket = Some(ReplayTicket {
                guard: Arc::clone(guard),
                key,
            });
        }
        Ok(Accepted {
            bytes,
            verification,
            ticket,
        })
    }

    /// Reads the body, refusing it (413) past the limit.
    pub(crate) async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, Rejection> {
        let limit = self.inner.body_limit;
        let too_large = Rejection::BodyTooLarge { limit };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large);
        }
        match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large),
            Err(_) => Err(Rejection::BodyUnreadable),
        }
    }
}

/// The key a message is recorded under: its id, or a digest of timestamp and body.
fn replay_key(verification: &Verification, body: &[u8]) -> String {
    if let Some(id) = &verification.id {
        return format!("id:{id}");
    }
    let mut hash = Sha256::new();
    if let Some(t) = verification.timestamp {
        hash.update(t.to_be_bytes());
    }
    hash.update(b".");
    hash.update(body);
    format!("sha256:{}", hex::encode(hash.finalize()))
}

/// A request that verified and is not a replay.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) bytes: Bytes,
    pub(crate) verification: Verification,
    pub(crate) ticket: Option<ReplayTicket>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("tolerance", &self.inner.verifier.tolerance())
            .field("family", &self.inner.family)
            .field("body_limit", &self.inner.body_limit)
            .field("replay", &self.inner.replay)
            .field("replay_status", &self.inner.replay_status)
            .field("max_replay_ttl", &self.inner.max_replay_ttl)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_ttl_covers_the_rest_of_the_window() {
        let r = Receiver::new(&Scheme::Zitadel, &[Secret::new("k")]).unwrap();
        // Signed 100 s ago with 300 s past tolerance: 200 s left, plus one.
        assert_eq!(r.replay_ttl(Some(900), 1000), Duration::from_secs(201));
        // Signed 300 s in the future: 600 s left.
        assert_eq!(r.replay_ttl(Some(1300), 1000), Duration::from_secs(601));
        assert_eq!(r.replay_ttl(None, 1000), DEFAULT_MAX_REPLAY_TTL);
        let r = r.with_tolerance(Tolerance::ignore());
        assert_eq!(r.replay_ttl(Some(1000), 1000), DEFAULT_MAX_REPLAY_TTL);
    }

    #[test]
    fn replay_key_prefers_the_id() {
        let mut v = Verification {
            id: Some("msg_1".into()),
            timestamp: Some(5),
            key_index: 0,
            replay_key: None,
        };
        assert_eq!(replay_key(&v, b"x"), "id:msg_1");
        v.id = None;
        let a = replay_key(&v, b"x");
        v.timestamp = Some(6);
        assert_ne!(a, replay_key(&v, b"x"));
        assert!(a.starts_with("sha256:"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let r = Receiver::new(&Scheme::Zitadel, &[Secret::new("super-secret-key")]).unwrap();
        assert!(!format!("{r:?}").contains("super-secret-key"));
    }
}
