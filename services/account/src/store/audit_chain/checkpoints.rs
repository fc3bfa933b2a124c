//! Signed checkpoints of the chains (`audit_checkpoints`) and the public halves of the keys
//! that signed them (`audit_signing_keys`). A checkpoint is stored once per (chain, size) and
//! never changed or removed (the migration's triggers refuse it); private keys never come here.

use super::stored_hash;
use crate::error::{Error, Result};
use mynafleet_kit::audit_chain::{self as kit, Checkpoint, PublicKey, ZERO_HASH};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

const COLUMNS: &str = "chain, size, head_hash, time, key_id, signature";

fn checkpoint(row: &AnyRow) -> Result<Checkpoint> {
    let chain: String = row.try_get("chain")?;
    let signature: String = row.try_get("signature")?;
    Ok(Checkpoint {
        origin: kit::origin(&chain),
        size: row.try_get("size")?,
        head: stored_hash(row, "head_hash")?,
        time: row.try_get("time")?,
        key_id: row.try_get("key_id")?,
        signature: Checkpoint::decode_signature(&signature)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

fn mismatch(message: &str) -> Error {
    Error::Precondition {
        reason: "AUDIT_CHECKPOINT_MISMATCH",
        message: message.to_owned(),
    }
}

/// Stores a checkpoint of `chain` (a second one of the same size is ignored: two replicas may
/// both sign the same head) and returns the stored one of that size. A checkpoint of another
/// origin, past the chain's size or with a head other than the entry at its size is refused
/// (`AUDIT_CHECKPOINT_MISMATCH`): a stored checkpoint can never be taken back.
pub async fn put_checkpoint(
    pool: &AnyPool,
    chain: &str,
    checkpoint: &Checkpoint,
) -> Result<Checkpoint> {
    if checkpoint.origin != kit::origin(chain) {
        return Err(mismatch("the checkpoint names another chain"));
    }
    let size: Option<i64> = sqlx::query_scalar("SELECT size FROM audit_chains WHERE chain = $1")
        .bind(chain)
        .fetch_optional(pool)
        .await?;
    if checkpoint.size < 0 || checkpoint.size > size.unwrap_or(0) {
        return Err(mismatch("the checkpoint is past the chain's head"));
    }
    let expected = if checkpoint.size == 0 {
        Some(kit::hash_hex(&ZERO_HASH))
    } else {
        sqlx::query_scalar("SELECT hash FROM audit_records WHERE chain = $1 AND seq = $2")
            .bind(chain)
            .bind(checkpoint.size)
            .fetch_optional(pool)
            .await?
    };
    match expected {
        Some(h) if h != kit::hash_hex(&checkpoint.head) => {
            return Err(mismatch(
                "the checkpoint's head is not the chain's hash at its size",
            ));
        }
        Some(_) => {}
        // Retention removed the entry: only the checkpoint kept for it can be there.
        None => {
            return checkpoint_at(pool, chain, checkpoint.size)
                .await?
                .ok_or_else(|| mismatch("the entry at the checkpoint's size was removed"));
        }
    }
    sqlx::query(
        "INSERT INTO audit_checkpoints (chain, size, head_hash, time, key_id, signature) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain, size) DO NOTHING",
    )
    .bind(chain)
    .bind(checkpoint.size)
    .bind(kit::hash_hex(&checkpoint.head))
    .bind(checkpoint.time)
    .bind(&checkpoint.key_id)
    .bind(checkpoint.signature_b64())
    .execute(pool)
    .await?;
    checkpoint_at(pool, chain, checkpoint.size)
        .await?
        .ok_or_else(|| sqlx::Error::RowNotFound.into())
}

/// Returns the checkpoints of `chain` with `from <= size <= to`, in size order.
pub async fn checkpoints(
    pool: &AnyPool,
    chain: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Checkpoint>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_checkpoints \
         WHERE chain = $1 AND size >= $2 AND size <= $3 ORDER BY size"
    )))
    .bind(chain)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter().map(checkpoint).collect()
}

/// Returns the checkpoint of `chain` at exactly `size`.
pub async fn checkpoint_at(pool: &AnyPool, chain: &str, size: i64) -> Result<Option<Checkpoint>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_checkpoints WHERE chain = $1 AND size = $2"
    )))
    .bind(chain)
    .bind(size)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(checkpoint).transpose()
}

/// Returns the newest checkpoint of `chain`.
pub async fn latest_checkpoint(pool: &AnyPool, chain: &str) -> Result<Option<Checkpoint>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_checkpoints WHERE chain = $1 ORDER BY size DESC LIMIT 1"
    )))
    .bind(chain)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(checkpoint).transpose()
}

/// Records the public half of a signing key (first use at `now`); a known key is left as is.
pub async fn remember_key(pool: &AnyPool, key: &PublicKey, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_signing_keys (key_id, public_key, first_use) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id) DO NOTHING",
    )
    .bind(&key.key_id)
    .bind(key.b64())
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Returns every signing key's public half, oldest first.
pub async fn keys(pool: &AnyPool) -> Result<Vec<PublicKey>> {
    let rows =
        sqlx::query("SELECT key_id, public_key FROM audit_signing_keys ORDER BY first_use, key_id")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("key_id")?;
            let text: String = row.try_get("public_key")?;
            PublicKey::from_b64(&text)
                .filter(|k| k.key_id == id)
                .ok_or_else(|| {
                    sqlx::Error::Decode(format!("signing key {id} is malformed").into()).into()
                })
        })
        .collect()
}
