//! Sealing and retention of the audit chain (issue #7, docs/audit.md): the checkpointer signs
//! a chain's head once it grew [`AuditSettings::checkpoint_every`] records past its newest
//! checkpoint, or when that checkpoint is older than [`AuditSettings::checkpoint_interval`];
//! [`seal_now`] signs on request (CreateCheckpoint); the retention task releases whole sealed
//! segments older than [`AuditSettings::retention`].
//!
//! Several replicas may seal at once: the store keeps the first checkpoint of a size and
//! ignores the rest. Failures are logged and retried on the next round; nothing here panics,
//! and nothing here changes or removes a record other than through the store's retention rule.

use crate::config::{AuditSettings, Config};
use crate::error::Result;
use crate::store::audit_chain::{self, ChainHead};
use mynafleet_kit::audit_chain::{Checkpoint, Signer, ZERO_HASH, origin};
use mynafleet_kit::clock::Clock;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the checkpointer looks for chains to seal (at most; a shorter interval wins).
const CHECKPOINT_POLL: Duration = Duration::from_secs(1);

/// How often retention runs (and once at start).
const RETENTION_PERIOD: Duration = Duration::from_secs(3600);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Signs a checkpoint of `head` at `now` with `signer` and stores it; returns the stored one
/// (another replica's, when it stored that size first).
async fn sign(pool: &AnyPool, signer: &Signer, head: &ChainHead, now: i64) -> Result<Checkpoint> {
    let checkpoint = signer.sign(&origin(&head.chain), head.size, head.head, now);
    audit_chain::put_checkpoint(pool, &head.chain, &checkpoint).await
}

/// Returns a checkpoint of `chain`'s current head: the newest stored one when the head has
/// not moved since, else a new one signed with `signer` at `clock`'s now. An empty chain
/// gets a signed checkpoint of size 0, which is not stored.
pub async fn seal_now(
    pool: &AnyPool,
    signer: &Signer,
    clock: &Clock,
    chain: &str,
) -> Result<Checkpoint> {
    let now = clock.now_micros();
    let Some(head) = audit_chain::head(pool, chain).await? else {
        return Ok(signer.sign(&origin(chain), 0, ZERO_HASH, now));
    };
    if let Some(latest) = audit_chain::latest_checkpoint(pool, chain).await?
        && latest.size == head.size
    {
        return Ok(latest);
    }
    sign(pool, signer, &head, now).await
}

/// One round of the checkpointer at `now`: seals every chain that grew at least
/// `settings.checkpoint_every` records past its newest checkpoint, that has none yet, or whose
/// newest is at least `settings.checkpoint_interval` old. Returns the checkpoints stored.
pub async fn checkpoint_round(
    pool: &AnyPool,
    signer: &Signer,
    settings: &AuditSettings,
    now: i64,
) -> Result<Vec<Checkpoint>> {
    let mut sealed = Vec::new();
    for head in audit_chain::unsealed(pool).await? {
        let due = if head.size - head.checkpointed >= settings.checkpoint_every {
            true
        } else {
            match audit_chain::latest_checkpoint(pool, &head.chain).await? {
                None => true,
                Some(c) => now.saturating_sub(c.time) >= micros(settings.checkpoint_interval),
            }
        };
        if due {
            sealed.push(sign(pool, signer, &head, now).await?);
        }
    }
    Ok(sealed)
}

/// One round of retention at `now`: releases the sealed segments whose checkpoint was signed
/// more than `retention` ago. Returns the chains pruned with their new `pruned_through`.
pub async fn retention_round(
    pool: &AnyPool,
    retention: Duration,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    audit_chain::prune(pool, now.saturating_sub(micros(retention))).await
}

/// Prepares the chain at start: records the signing key's public half (so exports can name
/// it) and chains the records written before the chain existed.
pub async fn start(pool: &AnyPool, config: &Config) -> Result<()> {
    let now = config.clock.now_micros();
    audit_chain::remember_key(pool, config.keys.audit_signing.public_key(), now).await?;
    let adopted = audit_chain::adopt_unchained(pool).await?;
    if adopted > 0 {
        tracing::info!(records = adopted, "audit records chained at start");
    }
    Ok(())
}

/// Spawns the checkpointer and, when retention is configured, the retention task; both stop
/// when `shutdown` is cancelled.
pub fn spawn(pool: AnyPool, config: &Config, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(run_checkpointer(
        pool.clone(),
        config.keys.audit_signing.clone(),
        config.clock.clone(),
        config.audit.clone(),
        shutdown.clone(),
    ))];
    if let Some(retention) = config.audit.retention {
        tasks.push(tokio::spawn(run_retention(
            pool,
            config.clock.clone(),
            retention,
            shutdown,
        )));
    }
    tasks
}

async fn run_checkpointer(
    pool: AnyPool,
    signer: Arc<Signer>,
    clock: Clock,
    settings: AuditSettings,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(CHECKPOINT_POLL.min(settings.checkpoint_interval));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match checkpoint_round(&pool, &signer, &settings, clock.now_micros()).await {
            Ok(sealed) => {
                for c in sealed {
                    tracing::debug!(origin = %c.origin, size = c.size, key_id = %c.key_id, "audit checkpoint signed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "audit checkpoint round failed; retrying"),
        }
    }
}

async fn run_retention(
    pool: AnyPool,
    clock: Clock,
    retention: Duration,
    shutdown: CancellationToken,
) {
    // The first tick completes at once: retention runs at start, then hourly.
    let mut ticks = tokio::time::interval(RETENTION_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match retention_round(&pool, retention, clock.now_micros()).await {
            Ok(pruned) => {
                for (chain, through) in pruned {
                    tracing::info!(chain = %chain, pruned_through = through, "audit segment released by retention");
                }
            }
            Err(e) => tracing::warn!(error = %e, "audit retention round failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests;
