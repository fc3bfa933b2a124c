//! `request_id` idempotency (DESIGN.md §4): a duplicate from the same caller to the same RPC
//! returns the first response; the same id with a different request is refused.
//!
//! Each service's migrations create the table this module writes:
//!
//! ```sql
//! CREATE TABLE request_ids (
//!     caller TEXT NOT NULL, method TEXT NOT NULL, request_id TEXT NOT NULL,
//!     request_hash BYTEA/BLOB NOT NULL, response BYTEA/BLOB, create_time BIGINT NOT NULL,
//!     PRIMARY KEY (caller, method, request_id));
//! ```
//!
//! [`claim`] is the first statement of the mutation's transaction, so it takes the write lock
//! up front on SQLite and makes a concurrent duplicate wait for the first on PostgreSQL.

use sqlx::{Any, Row, Transaction};

/// One request's idempotency key.
#[derive(Clone, Debug)]
pub struct RequestKey<'a> {
    /// The caller's stable key ([`crate::auth::Caller::key`]).
    pub caller: &'a str,
    /// The full RPC path.
    pub method: &'a str,
    /// The client's request id.
    pub request_id: &'a str,
    /// A digest of the request without its request id.
    pub request_hash: &'a [u8],
}

/// What [`claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// The id is new: do the work, then [`complete`] in the same transaction.
    New,
    /// The same request was done before: return this encoded response.
    Replay(Vec<u8>),
    /// The id was used with a different request.
    Reused,
}

/// Claims `key` inside `tx`.
pub async fn claim(
    tx: &mut Transaction<'static, Any>,
    key: &RequestKey<'_>,
    now_micros: i64,
) -> Result<Claim, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO request_ids (caller, method, request_id, request_hash, create_time) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, method, request_id) DO NOTHING",
    )
    .bind(key.caller)
    .bind(key.method)
    .bind(key.request_id)
    .bind(key.request_hash)
    .bind(now_micros)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let row = sqlx::query(
        "SELECT request_hash, response FROM request_ids \
         WHERE caller = $1 AND method = $2 AND request_id = $3",
    )
    .bind(key.caller)
    .bind(key.method)
    .bind(key.request_id)
    .fetch_one(&mut **tx)
    .await?;
    let hash: Vec<u8> = row.try_get("request_hash")?;
    let response: Option<Vec<u8>> = row.try_get("response")?;
    Ok(match response {
        Some(r) if hash == key.request_hash => Claim::Replay(r),
        // A row without a response belongs to a transaction that did not commit its work;
        // it cannot be seen here, so a missing response means another request.
        _ => Claim::Reused,
    })
}

/// Records the encoded response of a claimed key, in the same transaction as the work.
pub async fn complete(
    tx: &mut Transaction<'static, Any>,
    key: &RequestKey<'_>,
    response: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE request_ids SET response = $1 \
         WHERE caller = $2 AND method = $3 AND request_id = $4",
    )
    .bind(response)
    .bind(key.caller)
    .bind(key.method)
    .bind(key.request_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
