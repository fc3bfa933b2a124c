//! The proxy's database: the audit outbox (forwarded to the account service) and used
//! challenge ids. Writes go through batching writers (`mynafleet_kit::outbox::Batcher`) so
//! many checks share one durable commit (SQLite WAL `synchronous=FULL`, PostgreSQL
//! defaults); a caller hears back only once its write committed. One SQL text serves SQLite
//! and PostgreSQL, proved by the conformance cases in each module's `tests.rs`.
//!
//! It never holds a patient identifier: audit records arrive with keyed HMACs only.

pub(crate) mod challenges;

use mynafleet_kit::clock::Clock;
use mynafleet_kit::db::{DbError, MigrationFile, Migrations};
use mynafleet_kit::outbox::{Appender, BatchError, Batcher, OutboxRecord};
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

pub(crate) use challenges::prune_challenges;

/// The proxy's migrations.
pub(crate) const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        MigrationFile {
            version: 1,
            description: "create_proxy",
            sql: include_str!("../../migrations/sqlite/0001_create_proxy.sql"),
        },
        MigrationFile {
            version: 2,
            description: "agent_events",
            sql: include_str!("../../migrations/sqlite/0002_agent_events.sql"),
        },
    ],
    postgres: &[
        MigrationFile {
            version: 1,
            description: "create_proxy",
            sql: include_str!("../../migrations/postgres/0001_create_proxy.sql"),
        },
        MigrationFile {
            version: 2,
            description: "agent_events",
            sql: include_str!("../../migrations/postgres/0002_agent_events.sql"),
        },
    ],
};

/// Opens the proxy's database at `url` and applies its migrations.
pub(crate) async fn connect(url: &str) -> Result<AnyPool, DbError> {
    mynafleet_kit::db::connect(url, &MIGRATIONS).await
}

/// The proxy's writers: one group-commit queue for audit records, one for challenge claims.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: AnyPool,
    audit: Appender,
    claims: Batcher<challenges::ClaimWrite>,
}

impl Store {
    /// Spawns the writers on `pool`; they stop when `shutdown` is cancelled, after writing
    /// what was queued.
    pub(crate) fn spawn(pool: AnyPool, shutdown: CancellationToken) -> Self {
        Self {
            audit: Appender::spawn(pool.clone(), shutdown.clone()),
            claims: Batcher::spawn(pool.clone(), challenges::ClaimWrite, shutdown),
            pool,
        }
    }

    /// Returns the pool (for the audit forwarder and the pruner).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Claims challenge `id` (valid until `expires_micros`): true when this is its first
    /// use, false when it was used before. Returns once the claim is durable.
    pub(crate) async fn claim_challenge(
        &self,
        id: &str,
        expires_micros: i64,
    ) -> Result<bool, BatchError> {
        self.claims
            .submit(challenges::Claim {
                id: id.to_owned(),
                expires: expires_micros,
            })
            .await
    }

    /// Appends an audit record to the outbox; returns once it is durable.
    pub(crate) async fn append_audit(&self, record: OutboxRecord) -> Result<(), BatchError> {
        self.audit.append(record).await
    }
}

/// How often expired challenge claims are removed.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes expired challenge claims every minute (by `clock`) until `shutdown`.
pub(crate) async fn run_pruner(pool: AnyPool, clock: Clock, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match prune_challenges(&pool, clock.now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "expired challenge claims pruned"),
            Err(e) => tracing::warn!(error = %e, "challenge claims not pruned"),
        }
    }
}
