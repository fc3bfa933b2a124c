//! Audit chain figures for the metrics endpoint (`crate::metrics`): each chain's size and
//! its newest checkpoint, read when metrics are scraped. It reads `audit_chains` and
//! `audit_checkpoints` only, never a record.

use crate::error::Result;
use sqlx::{AnyPool, Row};

/// One chain as the metrics show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFigures {
    /// `organizations/{org}` or `deployment`.
    pub chain: String,
    /// Entries appended so far.
    pub size: i64,
    /// Size of the newest (largest) checkpoint; 0 without any.
    pub checkpointed: i64,
    /// When that checkpoint was signed (microseconds); `None` without any.
    pub checkpoint_time: Option<i64>,
}

/// Returns every chain with its newest checkpoint, by chain name.
pub async fn chain_figures(pool: &AnyPool) -> Result<Vec<ChainFigures>> {
    let rows = sqlx::query(
        "SELECT c.chain AS chain, c.size AS size, k.size AS checkpointed, \
           k.time AS checkpoint_time \
         FROM audit_chains c \
         LEFT JOIN audit_checkpoints k ON k.chain = c.chain \
           AND k.size = (SELECT MAX(m.size) FROM audit_checkpoints m WHERE m.chain = c.chain) \
         ORDER BY c.chain",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let checkpointed: Option<i64> = r.try_get("checkpointed")?;
            Ok(ChainFigures {
                chain: r.try_get("chain")?,
                size: r.try_get("size")?,
                checkpointed: checkpointed.unwrap_or(0),
                checkpoint_time: r.try_get("checkpoint_time")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
