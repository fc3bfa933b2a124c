//! The two ways records change place after they are written: retention, which removes whole
//! sealed segments (records up to a checkpoint, which stays and anchors the rest), and the
//! one-time chaining of records written before migration 0004 gave them a place.
//!
//! Retention never removes a checkpoint or a record past the newest checkpoint it releases;
//! the migration's triggers refuse both, and any move of `pruned_through` to a size that no
//! checkpoint covers.

use super::{lock_chain, set_head};
use crate::error::Result;
use crate::organization::OrganizationId;
use crate::store::audit_log::{self, COLUMNS};
use mynafleet_kit::audit_chain::{self as kit};
use sqlx::{AnyPool, Row};

/// Unchained records chained per transaction, so each one stays short.
const ADOPT_BATCH: i64 = 500;

/// Removes, from every chain, the entries of whole sealed segments: up to the newest
/// checkpoint signed before `sealed_before` (microseconds). The checkpoint stays and anchors
/// what remains. Returns the chains pruned with their new `pruned_through`, in name order.
pub async fn prune(pool: &AnyPool, sealed_before: i64) -> Result<Vec<(String, i64)>> {
    let due = sqlx::query(
        "SELECT k.chain, MAX(k.size) AS size FROM audit_checkpoints k \
         JOIN audit_chains c ON c.chain = k.chain \
         WHERE k.time < $1 AND k.size > c.pruned_through \
         GROUP BY k.chain ORDER BY k.chain",
    )
    .bind(sealed_before)
    .fetch_all(pool)
    .await?;
    let mut pruned = Vec::new();
    for row in due {
        let chain: String = row.try_get("chain")?;
        let size: i64 = row.try_get("size")?;
        let mut tx = mynafleet_kit::db::begin_write(pool).await?;
        // Moving the mark first takes the chain row's lock; a concurrent pruner that got
        // there first leaves nothing to move.
        let moved = sqlx::query(
            "UPDATE audit_chains SET pruned_through = $2 \
             WHERE chain = $1 AND pruned_through < $2",
        )
        .bind(&chain)
        .bind(size)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            continue;
        }
        sqlx::query("DELETE FROM audit_records WHERE chain = $1 AND seq <= $2")
            .bind(&chain)
            .bind(size)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        pruned.push((chain, size));
    }
    Ok(pruned)
}

/// Chains the records written before the chain existed (no seq yet), oldest first by
/// (time, id), after whatever their chain holds; returns how many. Run once at start.
pub async fn adopt_unchained(pool: &AnyPool) -> Result<u64> {
    let organizations: Vec<Option<String>> =
        sqlx::query_scalar("SELECT DISTINCT organization_id FROM audit_records WHERE seq IS NULL")
            .fetch_all(pool)
            .await?;
    let mut adopted = 0;
    for organization in organizations {
        loop {
            let n = adopt_batch(pool, organization.as_deref()).await?;
            adopted += n;
            if n < ADOPT_BATCH as u64 {
                break;
            }
        }
    }
    Ok(adopted)
}

/// Chains up to [`ADOPT_BATCH`] unchained records of `organization` (stored id, or None) in
/// one transaction; returns how many.
async fn adopt_batch(pool: &AnyPool, organization: Option<&str>) -> Result<u64> {
    let chain = organization
        .and_then(OrganizationId::from_stored)
        .map_or_else(|| kit::DEPLOYMENT_CHAIN.to_owned(), |o| o.name());
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    // The chain's lock first, so the records read are the ones chained here.
    let (mut size, mut head) = lock_chain(&mut tx, &chain).await?;
    let rows = match organization {
        Some(org) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_records WHERE seq IS NULL AND organization_id = $1 \
             ORDER BY time, id LIMIT $2"
        )))
        .bind(org)
        .bind(ADOPT_BATCH),
        None => sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_records WHERE seq IS NULL AND organization_id IS NULL \
             ORDER BY time, id LIMIT $1"
        )))
        .bind(ADOPT_BATCH),
    }
    .fetch_all(&mut *tx)
    .await?;
    let origin = kit::origin(&chain);
    let mut adopted = 0;
    for row in &rows {
        let record = audit_log::record(row)?;
        let hash = kit::entry_hash(&origin, size + 1, &head, &record.to_chain_record());
        // `seq IS NULL` again: a second starter that chained it first leaves it alone.
        let done = sqlx::query(
            "UPDATE audit_records SET chain = $1, seq = $2, prev_hash = $3, hash = $4 \
             WHERE id = $5 AND seq IS NULL",
        )
        .bind(&chain)
        .bind(size + 1)
        .bind(kit::hash_hex(&head))
        .bind(kit::hash_hex(&hash))
        .bind(&record.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            size += 1;
            head = hash;
            adopted += 1;
        }
    }
    set_head(&mut tx, &chain, size, &head).await?;
    tx.commit().await?;
    Ok(adopted)
}
