//! The activation store: plain async functions over an `AnyPool`, one SQL text for SQLite
//! and PostgreSQL (proved by the conformance suites in each module's `tests.rs`, run on
//! both). One module per noun: codes, devices, locks, events, audit (the outbox).

pub mod audit;
pub mod codes;
pub mod devices;
pub mod enroll;
pub mod events;
pub mod gauges;
pub mod locks;
pub mod presence;
pub mod watch;

use crate::error::{Error, Result};
use mynafleet_kit::idempotency::{self, Claim, RequestKey};

/// Claims `key` as the transaction's first statement: `Some(response)` when the same request
/// was done before, an error when the id was used with another request.
pub(crate) async fn claim(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key: Option<&RequestKey<'_>>,
    now: i64,
) -> Result<Option<Vec<u8>>> {
    let Some(key) = key else { return Ok(None) };
    match idempotency::claim(tx, key, now).await? {
        Claim::New => Ok(None),
        Claim::Replay(r) => Ok(Some(r)),
        Claim::Reused => Err(Error::RequestIdReused),
    }
}

/// Records the encoded response of a claimed key beside the work and commits. `encoded`
/// is what a repeat gets back: it must leave out anything shown only once (codes).
pub(crate) async fn finish(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    key: Option<&RequestKey<'_>>,
    encoded: &[u8],
) -> Result<()> {
    if let Some(key) = key {
        idempotency::complete(&mut tx, key, encoded).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Bumps the counter `name` on `conn` and returns its new value. Bumping locks the row until
/// the transaction ends, so concurrent writers queue and sequences have no gaps.
pub(crate) async fn next_value(conn: &mut sqlx::AnyConnection, name: &str) -> Result<i64> {
    use sqlx::Row as _;
    Ok(sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?
    .try_get("value")?)
}
