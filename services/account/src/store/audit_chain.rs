//! The per-organization hash chain over `audit_records` (issue #7, docs/audit.md): appends
//! that give each new record its seq, previous hash and hash inside the writer's transaction
//! (the chain row is bumped first, which queues concurrent writers: STYLE.md §6), reading a
//! chain in seq order for export, checkpoints, the signing keys' public halves, retention by
//! whole sealed segments, and chaining records written before the chain existed.
//!
//! Nothing here updates or deletes a chained record; the migration's triggers refuse it.

#![allow(
    dead_code,
    reason = "skeleton: filled in by the chain-store work of #7"
)]

use crate::error::Result;
use crate::store::audit_log::StoredRecord;
use mynafleet_kit::audit_chain::{Checkpoint, Entry, Hash, PublicKey};
use sqlx::{AnyConnection, AnyPool};

/// Returns the chain a record belongs to: `organizations/{org}`, or
/// [`mynafleet_kit::audit_chain::DEPLOYMENT_CHAIN`] without an organization.
pub fn chain_of(record: &StoredRecord) -> String {
    record.organization.map_or_else(
        || mynafleet_kit::audit_chain::DEPLOYMENT_CHAIN.to_owned(),
        |o| o.name(),
    )
}

/// A chain's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// `organizations/{org}` or `deployment`.
    pub chain: String,
    /// Entries appended so far (seq of the last one).
    pub size: i64,
    /// Hash of the last entry ([`mynafleet_kit::audit_chain::ZERO_HASH`] when empty).
    pub head: Hash,
    /// Entries up to this seq were removed by retention (0: none).
    pub pruned_through: i64,
    /// Size of the newest checkpoint (0: none).
    pub checkpointed: i64,
}

/// Appends `records` to their chains on `conn`, which must be inside the transaction of the
/// change they record (or of the ingest). Records whose id is already stored are skipped (so
/// ingest is idempotent); returns how many were appended. Chains are locked in name order.
pub async fn append(conn: &mut AnyConnection, records: &[StoredRecord]) -> Result<u64> {
    let _ = (conn, records);
    Ok(0)
}

/// Returns the state of `chain`, or None when nothing was ever appended to it.
pub async fn head(pool: &AnyPool, chain: &str) -> Result<Option<ChainHead>> {
    let _ = (pool, chain);
    Ok(None)
}

/// Returns up to `limit` entries of `chain` with seq > `after_seq`, in seq order.
pub async fn read(pool: &AnyPool, chain: &str, after_seq: i64, limit: u32) -> Result<Vec<Entry>> {
    let _ = (pool, chain, after_seq, limit);
    Ok(Vec::new())
}

/// Returns the chains that grew past their newest checkpoint.
pub async fn unsealed(pool: &AnyPool) -> Result<Vec<ChainHead>> {
    let _ = pool;
    Ok(Vec::new())
}

/// Stores a checkpoint of `chain` (a second one of the same size is ignored: two replicas may
/// both sign the same head) and returns the stored one of that size.
pub async fn put_checkpoint(
    pool: &AnyPool,
    chain: &str,
    checkpoint: &Checkpoint,
) -> Result<Checkpoint> {
    let _ = (pool, chain);
    Ok(checkpoint.clone())
}

/// Returns the checkpoints of `chain` with `from <= size <= to`, in size order.
pub async fn checkpoints(
    pool: &AnyPool,
    chain: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Checkpoint>> {
    let _ = (pool, chain, from, to);
    Ok(Vec::new())
}

/// Returns the checkpoint of `chain` at exactly `size`.
pub async fn checkpoint_at(pool: &AnyPool, chain: &str, size: i64) -> Result<Option<Checkpoint>> {
    let _ = (pool, chain, size);
    Ok(None)
}

/// Returns the newest checkpoint of `chain`.
pub async fn latest_checkpoint(pool: &AnyPool, chain: &str) -> Result<Option<Checkpoint>> {
    let _ = (pool, chain);
    Ok(None)
}

/// Records the public half of a signing key (first use at `now`); a known key is left as is.
pub async fn remember_key(pool: &AnyPool, key: &PublicKey, now: i64) -> Result<()> {
    let _ = (pool, key, now);
    Ok(())
}

/// Returns every signing key's public half, oldest first.
pub async fn keys(pool: &AnyPool) -> Result<Vec<PublicKey>> {
    let _ = pool;
    Ok(Vec::new())
}

/// Removes, from every chain, the entries of whole sealed segments: up to the newest
/// checkpoint signed before `sealed_before` (microseconds). The checkpoint stays and anchors
/// what remains. Returns the chains pruned with their new `pruned_through`.
pub async fn prune(pool: &AnyPool, sealed_before: i64) -> Result<Vec<(String, i64)>> {
    let _ = (pool, sealed_before);
    Ok(Vec::new())
}

/// Chains the records written before the chain existed (no seq yet), oldest first; returns
/// how many. Run once at start.
pub async fn adopt_unchained(pool: &AnyPool) -> Result<u64> {
    let _ = pool;
    Ok(0)
}

#[cfg(test)]
mod tests;
