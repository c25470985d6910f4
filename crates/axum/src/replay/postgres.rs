//! [`PostgresReplayGuard`]: replay keys shared by every receiver instance through PostgreSQL.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;

use super::{ReplayGuard, ReplayStoreError};

/// The schema used by [`PostgresReplayGuard::connect`].
pub const DEFAULT_REPLAY_SCHEMA: &str = "hookwire";

/// How often, at most, a check also prunes expired rows. Default of
/// [`PostgresReplayGuard::with_prune_interval`].
pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Expired rows deleted by one [`PostgresReplayGuard::prune`] statement.
const PRUNE_BATCH: i64 = 1000;

/// Connections in the pool made by [`PostgresReplayGuard::connect`].
const POOL_SIZE: usize = 8;

/// How long waiting for, or opening, a pooled connection may take before a check fails.
const TIMEOUT: Duration = Duration::from_secs(2);

/// First key of the advisory lock that serializes table creation.
const MIGRATE_LOCK: i64 = 0x686b_7752; // "hkwR"

/// A [`ReplayGuard`] on PostgreSQL (feature `postgres`), for receivers that run as several
/// instances and already share a database.
///
/// Keys live in `<schema>.hookwire_replay (key text PRIMARY KEY, expires_at timestamptz)`,
/// created on connect. A check is one statement,
/// `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at <= now() RETURNING 1`: it inserts a
/// new key or reclaims an expired one and returns a row, or finds a live key and returns none.
/// The conflicting row is locked and its expiry re-checked, so of any number of concurrent
/// checks of one key exactly one wins. Expiry uses the server's clock. At most once per
/// [`prune interval`](Self::with_prune_interval) a check also deletes up to 1000 expired rows
/// (`FOR UPDATE SKIP LOCKED`, so instances pruning at once never wait for each other);
/// [`prune`](Self::prune) does the same on demand.
///
/// Cheap to clone: clones share the pool.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use hookwire_axum::{PostgresReplayGuard, Receiver};
/// use hookwire_signature::{Scheme, Secret};
///
/// let guard = PostgresReplayGuard::connect("postgres://hooks@db.internal/app").await?;
/// let receiver = Receiver::new(&Scheme::ZeroTier, &[Secret::new("…")])?.with_replay_guard(guard);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresReplayGuard {
    inner: Arc<Inner>,
    prune_interval: Duration,
}

struct Inner {
    pool: Pool,
    schema: String,
    record_sql: String,
    forget_sql: String,
    prune_sql: String,
    /// When a check of this guard or one of its clones last pruned.
    last_prune: Mutex<Option<Instant>>,
}

impl PostgresReplayGuard {
    /// Connects to `url` (`postgres://user:pass@host:port/db`, no TLS) with a pool of 8
    /// connections and creates the table in [`DEFAULT_REPLAY_SCHEMA`] if needed.
    ///
    /// # Errors
    /// The URL does not parse, the server cannot be reached, or the table cannot be created.
    pub async fn connect(url: &str) -> Result<Self, ReplayStoreError> {
        Self::connect_schema(url, DEFAULT_REPLAY_SCHEMA).await
    }

    /// [`connect`](Self::connect) with the table in `schema` (created if missing).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), and an invalid schema name.
    pub async fn connect_schema(url: &str, schema: &str) -> Result<Self, ReplayStoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(ReplayStoreError::new)?;
        config.connect_timeout(TIMEOUT);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let timeouts = Timeouts {
            wait: Some(TIMEOUT),
            create: Some(TIMEOUT),
            recycle: Some(TIMEOUT),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .timeouts(timeouts)
            .build()
            .map_err(ReplayStoreError::new)?;
        Self::with_pool(pool, schema).await
    }

    /// A guard on a pool you built (TLS, sizes, timeouts), with its table in `schema`
    /// (1-48 of `[a-z0-9_]`, not starting with a digit; created if missing).
    ///
    /// # Errors
    /// An invalid schema name, or the table cannot be created.
    pub async fn with_pool(pool: Pool, schema: &str) -> Result<Self, ReplayStoreError> {
        validate_schema(schema)?;
        let table = format!("\"{schema}\".hookwire_replay");
        let client = pool.get().await.map_err(ReplayStoreError::new)?;
        // Several instances may start at once: CREATE … IF NOT EXISTS alone can still collide.
        client
            .batch_execute(&format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock({MIGRATE_LOCK});
                 CREATE SCHEMA IF NOT EXISTS \"{schema}\";
                 CREATE TABLE IF NOT EXISTS {table} (
                     key text PRIMARY KEY,
                     expires_at timestamptz NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS hookwire_replay_expiry ON {table} (expires_at);
                 COMMIT;"
            ))
            .await
            .map_err(ReplayStoreError::new)?;
        drop(client);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                schema: schema.to_owned(),
                record_sql: format!(
                    "INSERT INTO {table} AS r (key, expires_at)
                     VALUES ($1, now() + $2::bigint * interval '1 millisecond')
                     ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
                     WHERE r.expires_at <= now()
                     RETURNING 1"
                ),
                forget_sql: format!("DELETE FROM {table} WHERE key = $1"),
                prune_sql: format!(
                    "DELETE FROM {table} WHERE key IN (
                         SELECT key FROM {table} WHERE expires_at <= now()
                         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
                ),
                last_prune: Mutex::new(Some(Instant::now())),
            }),
            prune_interval: DEFAULT_PRUNE_INTERVAL,
        })
    }

    /// Sets how often, at most, a check also prunes expired rows (default
    /// [`DEFAULT_PRUNE_INTERVAL`]; the first prune comes one interval after the guard was
    /// made). `Duration::MAX` leaves pruning to [`prune`](Self::prune).
    #[must_use]
    pub fn with_prune_interval(mut self, every: Duration) -> Self {
        self.prune_interval = every;
        self
    }

    /// The schema holding the table.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Deletes up to 1000 expired rows and returns how many it deleted. Checks call it on
    /// their own (see [`with_prune_interval`](Self::with_prune_interval)); call it in a loop
    /// until it returns less than 1000 to empty a large backlog.
    ///
    /// # Errors
    /// The database could not be reached.
    pub async fn prune(&self) -> Result<u64, ReplayStoreError> {
        let client = self.inner.pool.get().await.map_err(ReplayStoreError::new)?;
        client
            .execute(&self.inner.prune_sql, &[&PRUNE_BATCH])
            .await
            .map_err(ReplayStoreError::new)
    }

    /// Whether this check should prune: the interval has passed since the last prune of this
    /// guard (and its clones). Claims the slot, so one check at a time prunes.
    fn prune_due(&self, now: Instant) -> bool {
        let Ok(mut last) = self.inner.last_prune.lock() else {
            return false;
        };
        let due = last.is_none_or(|t| now.saturating_duration_since(t) >= self.prune_interval);
        if due {
            *last = Some(now);
        }
        due
    }
}

/// Checks a schema name (it is quoted into SQL): 1-48 of `[a-z0-9_]`, no leading digit.
fn validate_schema(schema: &str) -> Result<(), ReplayStoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 48
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(ReplayStoreError::new(format!(
            "invalid schema name {schema:?}: use 1-48 of [a-z0-9_], not starting with a digit"
        )))
    }
}

/// A TTL in whole milliseconds, at least 1, at most 100 years.
fn ttl_millis(ttl: Duration) -> i64 {
    const MAX: i64 = 100 * 365 * 86_400_000;
    i64::try_from(ttl.as_millis()).unwrap_or(MAX).clamp(1, MAX)
}

#[async_trait]
impl ReplayGuard for PostgresReplayGuard {
    async fn check_and_record(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
        let client = self.inner.pool.get().await.map_err(ReplayStoreError::new)?;
        let row = client
            .query_opt(&self.inner.record_sql, &[&key, &ttl_millis(ttl)])
            .await
            .map_err(ReplayStoreError::new)?;
        drop(client);
        if self.prune_due(Instant::now()) {
            // The key is recorded already; a failed prune only leaves rows for the next one.
            let _ = self.prune().await;
        }
        Ok(row.is_some())
    }

    async fn forget(&self, key: &str) -> Result<(), ReplayStoreError> {
        let client = self.inner.pool.get().await.map_err(ReplayStoreError::new)?;
        client
            .execute(&self.inner.forget_sql, &[&key])
            .await
            .map_err(ReplayStoreError::new)?;
        Ok(())
    }
}

impl fmt::Debug for PostgresReplayGuard {
    // The pool's configuration may carry a password: not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresReplayGuard")
            .field("schema", &self.inner.schema)
            .field("prune_interval", &self.prune_interval)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked_before_they_reach_sql() {
        assert!(validate_schema("hookwire").is_ok());
        assert!(validate_schema("t_01").is_ok());
        for bad in [
            "",
            "1abc",
            "Upper",
            "a\"; DROP TABLE x; --",
            &"a".repeat(49),
        ] {
            assert!(validate_schema(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ttl_is_whole_milliseconds_and_never_zero() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_secs(2)), 2000);
        assert_eq!(ttl_millis(Duration::MAX), 100 * 365 * 86_400_000);
    }
}
