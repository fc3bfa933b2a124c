//! The `agent_events` and `agent_streams` tables. A stream's batch is inserted in one
//! transaction with `ON CONFLICT DO NOTHING` on (device, seq), counting duplicates, and the
//! device's stream position moves to the highest seq in the same transaction. Batches of
//! many streams share one commit through kit's group-commit [`Batcher`]. One SQL text serves
//! SQLite and PostgreSQL (conformance cases in `../tests.rs`).
//!
//! Nothing prunes events yet: retention is a later decision.

use mynafleet_kit::outbox::{BatchError, BatchWrite, Batcher};
use sqlx::{AnyConnection, AnyPool, Row as _};
use tokio_util::sync::CancellationToken;

use super::{AgentEvent, EventBatch, Position, Stored};

/// The event writer; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct EventStore {
    pool: AnyPool,
    writer: Batcher<EventWrite>,
}

impl EventStore {
    /// Spawns the writer on `pool`; it stops when `shutdown` is cancelled, after writing what
    /// was queued.
    pub(crate) fn spawn(pool: AnyPool, shutdown: CancellationToken) -> Self {
        Self {
            writer: Batcher::spawn(pool.clone(), EventWrite, shutdown),
            pool,
        }
    }

    /// Writes `batch` and returns once it is durable.
    pub(crate) async fn write(&self, batch: EventBatch) -> Result<Stored, BatchError> {
        self.writer.submit(batch).await
    }

    /// Returns where `device`'s stream left off.
    pub(crate) async fn position(&self, device: &str) -> Result<Position, sqlx::Error> {
        position(&self.pool, device).await
    }
}

/// Writes event batches (the [`BatchWrite`] behind [`EventStore`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EventWrite;

impl BatchWrite for EventWrite {
    type Op = EventBatch;
    type Out = Stored;

    async fn write(
        &self,
        conn: &mut AnyConnection,
        ops: &[EventBatch],
    ) -> Result<Vec<Stored>, sqlx::Error> {
        let mut outs = Vec::with_capacity(ops.len());
        for batch in ops {
            outs.push(insert_batch(conn, batch).await?);
        }
        Ok(outs)
    }
}

/// Inserts `batch` on `conn` (inside the caller's transaction): new events are stored,
/// events already held for (device, seq) are counted as duplicates, and the device's
/// position moves to the highest seq seen.
pub(crate) async fn insert_batch(
    conn: &mut AnyConnection,
    batch: &EventBatch,
) -> Result<Stored, sqlx::Error> {
    let mut stored = Stored::default();
    let Some(last) = batch.events.iter().map(|e| e.seq).max() else {
        return Ok(stored);
    };
    for event in &batch.events {
        if insert_event(conn, batch, event).await? {
            stored.stored += 1;
        } else {
            stored.duplicates += 1;
        }
    }
    sqlx::query(
        "INSERT INTO agent_streams (device, outbox_id, last_seq, agent_version, updated) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (device) DO UPDATE SET \
           outbox_id = excluded.outbox_id, \
           last_seq = CASE WHEN agent_streams.last_seq > excluded.last_seq \
                      THEN agent_streams.last_seq ELSE excluded.last_seq END, \
           agent_version = excluded.agent_version, \
           updated = excluded.updated",
    )
    .bind(&batch.device)
    .bind(&batch.outbox_id)
    .bind(to_i64(last))
    .bind(&batch.agent_version)
    .bind(batch.received_time)
    .execute(&mut *conn)
    .await?;
    Ok(stored)
}

/// Inserts one event; false when (device, seq) was already held.
async fn insert_event(
    conn: &mut AnyConnection,
    batch: &EventBatch,
    e: &AgentEvent,
) -> Result<bool, sqlx::Error> {
    let version = if e.agent_version.is_empty() {
        &batch.agent_version
    } else {
        &e.agent_version
    };
    let done = sqlx::query(
        "INSERT INTO agent_events (device, seq, outbox_id, kind, time, received_time, scan_id, \
           reader, token, tries_left, status_word, error_class, duration_ms, verdict, check_id, \
           security, dropped_events, signature_certificate_available, agent_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
           $18, $19) \
         ON CONFLICT (device, seq) DO NOTHING",
    )
    .bind(&batch.device)
    .bind(to_i64(e.seq))
    .bind(&batch.outbox_id)
    .bind(&e.kind)
    .bind(e.time)
    .bind(batch.received_time)
    .bind(&e.scan_id)
    .bind(&e.reader)
    .bind(&e.token)
    .bind(e.tries_left.map(i64::from))
    .bind(&e.status_word)
    .bind(&e.error_class)
    .bind(i64::from(e.duration_ms))
    .bind(&e.verdict)
    .bind(&e.check_id)
    .bind(i64::from(e.security))
    .bind(to_i64(e.dropped_events))
    .bind(e.signature_certificate_available.map(i64::from))
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns where `device`'s stream left off (zero and no outbox for a device never seen).
pub(crate) async fn position(pool: &AnyPool, device: &str) -> Result<Position, sqlx::Error> {
    let row = sqlx::query("SELECT last_seq, outbox_id FROM agent_streams WHERE device = $1")
        .bind(device)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(Position::default());
    };
    Ok(Position {
        last_seq: to_u64(row.try_get::<i64, _>("last_seq")?),
        outbox_id: row.try_get("outbox_id")?,
    })
}

/// Returns how many events are held for `device`.
#[cfg_attr(not(test), allow(dead_code, reason = "a query helper for tests"))]
pub(crate) async fn count_events(pool: &AnyPool, device: &str) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM agent_events WHERE device = $1")
        .bind(device)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    Ok(to_u64(n))
}

/// Returns the seqs held for `device`, in order.
#[cfg_attr(not(test), allow(dead_code, reason = "a query helper for tests"))]
pub(crate) async fn seqs(pool: &AnyPool, device: &str) -> Result<Vec<u64>, sqlx::Error> {
    let rows = sqlx::query("SELECT seq FROM agent_events WHERE device = $1 ORDER BY seq")
        .bind(device)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>("seq").map(to_u64))
        .collect()
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
