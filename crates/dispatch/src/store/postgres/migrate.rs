//! Versioned schema migrations, applied when a store starts.
//!
//! Each migration is a `.sql` file compiled into the binary; `__SCHEMA__` in it stands for the
//! quoted schema name. The table `<schema>.hookwire_migrations` records which versions ran.
//! Every start takes a transaction-scoped advisory lock first, so processes starting at once
//! on an empty database apply each migration exactly once; the others wait and then find
//! nothing left to do.

use deadpool_postgres::Pool;

use super::{db_err, pool_err};
use crate::model::now_millis;
use crate::store::{StoreError, StoreResult};

/// The migrations, in order: (version, name, SQL).
pub(super) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "listing", include_str!("migrations/0002_listing.sql")),
    (
        3,
        "due_since",
        include_str!("migrations/0003_due_since.sql"),
    ),
];

/// The advisory-lock namespace of migrations (first key of the two-int lock).
const LOCK_SPACE: i32 = 0x686b_7731; // "hkw1"

/// Brings `schema` (bare name `name`, quoted `quoted`) up to the newest version.
pub(super) async fn migrate(pool: &Pool, name: &str, quoted: &str) -> StoreResult<()> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await.map_err(db_err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_SPACE, &name],
    )
    .await
    .map_err(db_err)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted}; \
         CREATE TABLE IF NOT EXISTS {quoted}.hookwire_migrations \
         (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)"
    ))
    .await
    .map_err(db_err)?;
    let current: Option<i32> = tx
        .query_one(
            &format!("SELECT max(version) FROM {quoted}.hookwire_migrations"),
            &[],
        )
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
    let current = current.unwrap_or(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::Corrupt(format!(
            "schema {name} is at version {current}, newer than this build knows ({newest})"
        )));
    }
    for (version, migration, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(&sql.replace("__SCHEMA__", quoted))
            .await
            .map_err(db_err)?;
        tx.execute(
            &format!(
                "INSERT INTO {quoted}.hookwire_migrations (version, name, applied_at) \
                 VALUES ($1, $2, $3)"
            ),
            &[version, migration, &now_millis()],
        )
        .await
        .map_err(db_err)?;
        tracing::info!(
            schema = name,
            version,
            migration,
            "applied PostgreSQL migration"
        );
    }
    tx.commit().await.map_err(db_err)
}
