//! [`RedisReplayGuard`]: replay keys shared by every receiver instance through Redis.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{ReplayGuard, ReplayStoreError};

/// The key prefix used unless [`RedisReplayGuard::with_prefix`] sets another.
pub const DEFAULT_REDIS_PREFIX: &str = "hookwire:replay:";

/// How long connecting and each command may take before the request is refused with 503.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A [`ReplayGuard`] on Redis (feature `redis`), for receivers that run as several instances.
///
/// Each key is recorded with `SET <prefix><key> 1 NX PX <ttl ms>`: Redis runs it as one atomic
/// step, so of any number of instances receiving one message at once exactly one sees it as
/// new, and Redis expires the key itself (on its own clock). [`forget`](ReplayGuard::forget)
/// is a `DEL`. The connection is multiplexed and re-opened after a failure; while Redis is
/// unreachable every check fails within 2 seconds and the request is refused with 503.
///
/// Cheap to clone: clones share the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use hookwire_axum::{Receiver, RedisReplayGuard};
/// use hookwire_signature::{Scheme, Secret};
///
/// let guard = RedisReplayGuard::connect("redis://127.0.0.1:6379/").await?;
/// let receiver = Receiver::new(&Scheme::ZeroTier, &[Secret::new("…")])?.with_replay_guard(guard);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayGuard {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisReplayGuard {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`, or `redis+unix://`) and
    /// records keys under [`DEFAULT_REDIS_PREFIX`].
    ///
    /// # Errors
    /// The URL does not parse or the server cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, ReplayStoreError> {
        let client = redis::Client::open(url).map_err(ReplayStoreError::new)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(ReplayStoreError::new)?;
        Ok(Self::from_connection(conn))
    }

    /// A guard on a connection you configured (TLS, credentials, timeouts).
    pub fn from_connection(conn: ConnectionManager) -> Self {
        Self {
            conn,
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
        }
    }

    /// Records keys under `prefix` instead of [`DEFAULT_REDIS_PREFIX`] (several receivers
    /// that must not see each other's keys on one Redis, or a test of its own).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// The longest TTL sent (100 years): Redis refuses expiry times that overflow its clock.
const MAX_TTL_MILLIS: u64 = 100 * 365 * 86_400_000;

/// A TTL in whole milliseconds, at least 1 (Redis refuses `PX 0`), at most [`MAX_TTL_MILLIS`].
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MILLIS)
}

#[async_trait]
impl ReplayGuard for RedisReplayGuard {
    async fn check_and_record(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
        let mut conn = self.conn.clone();
        let reply: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(ReplayStoreError::new)?;
        // "OK" when set; nil when the key exists.
        Ok(reply.is_some())
    }

    async fn forget(&self, key: &str) -> Result<(), ReplayStoreError> {
        let mut conn = self.conn.clone();
        let _removed: u64 = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await
            .map_err(ReplayStoreError::new)?;
        Ok(())
    }
}

impl fmt::Debug for RedisReplayGuard {
    // The connection's address may carry a password: not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayGuard")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_whole_milliseconds_and_never_zero() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 1);
        assert_eq!(ttl_millis(Duration::from_secs(300)), 300_000);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MILLIS);
    }
}
