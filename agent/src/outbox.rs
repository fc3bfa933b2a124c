//! Layer 4 (STYLE.md §8): the durable outbox. SQLite in WAL mode with `synchronous=FULL` in
//! the state dir (`outbox.db`) through sqlx's `SqlitePool` and its own migrations; every
//! event is committed with the device's next `seq` before `append` returns, so it survives a
//! `kill -9` and is never sent before it is on disk.
//!
//! Bounded, with an explicit policy: once more than `max_events` wait for an ack, the oldest
//! routine events are dropped down to 90 % of the bound in one go, counted, and one
//! `EventsDropped` security event records how many. Security events are never dropped, so a
//! flood of them may overrun the bound.
//!
//! It never holds a PIN, a certificate or an APDU payload: a row is an [`Event`] as JSON and
//! events carry none. It never talks to the network; the uplink reads from it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use tracing::warn;

use crate::event::{Event, EventKind, StoredEvent};

/// The outbox's file in the state dir.
pub const OUTBOX_FILE: &str = "outbox.db";

/// Size limits of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Most events kept unacknowledged; past it the oldest routine events are dropped.
    pub max_events: u64,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        Self {
            max_events: 100_000,
        }
    }
}

impl OutboxLimits {
    /// Returns how many events are left after a full outbox made room: 90 % of the bound,
    /// so a full outbox drops (and reports) in chunks rather than one event per append.
    fn low_water(self) -> u64 {
        self.max_events
            .saturating_sub((self.max_events / 10).max(1))
    }
}

/// Errors of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error("outbox database failed while {action}: {message}")]
    Database {
        /// What the outbox was doing.
        action: &'static str,
        /// The database's error.
        message: String,
    },
    /// An event could not be turned into JSON.
    #[error("outbox event could not be encoded: {0}")]
    Encode(String),
}

/// Returns a mapper of a database error while doing `action`.
fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> OutboxError {
    move |e| OutboxError::Database {
        action,
        message: e.to_string(),
    }
}

/// The outbox; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: SqlitePool,
    limits: OutboxLimits,
    outbox_id: Arc<str>,
    appended: Arc<watch::Sender<u64>>,
}

impl Outbox {
    /// Opens (creating if needed) `outbox.db` in `state_dir`.
    pub async fn open(state_dir: &Path, limits: OutboxLimits) -> Result<Self, OutboxError> {
        let options = SqliteConnectOptions::new()
            .filename(state_dir.join(OUTBOX_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A commit is on disk when it returns: an appended event survives a kill -9.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(db("opening the file"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| OutboxError::Database {
                action: "migrating",
                message: e.to_string(),
            })?;
        sqlx::query(
            "INSERT INTO meta (id, outbox_id, next_seq, pending, dropped) VALUES (1, ?, 1, 0, 0) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .execute(&pool)
        .await
        .map_err(db("creating the outbox id"))?;
        let row = sqlx::query("SELECT outbox_id, next_seq FROM meta WHERE id = 1")
            .fetch_one(&pool)
            .await
            .map_err(db("reading the outbox id"))?;
        let outbox_id: String = row
            .try_get("outbox_id")
            .map_err(db("reading the outbox id"))?;
        let next_seq: i64 = row
            .try_get("next_seq")
            .map_err(db("reading the outbox id"))?;
        Ok(Self {
            pool,
            limits,
            outbox_id: outbox_id.into(),
            appended: Arc::new(watch::Sender::new(to_u64(next_seq - 1))),
        })
    }

    /// Returns the random id made when the outbox file was created.
    pub fn outbox_id(&self) -> &str {
        &self.outbox_id
    }

    /// Returns a receiver of the last appended seq; it changes on every append.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// Commits `event` with the next seq and returns the seq; wakes the uplink. When the
    /// outbox is full, the oldest routine events are dropped in the same transaction and an
    /// `EventsDropped` event (after this one) records how many.
    pub async fn append(&self, event: Event) -> Result<u64, OutboxError> {
        let mut tx = self.pool.begin().await.map_err(db("appending"))?;
        let seq = insert(&mut tx, &event).await?;
        let mut last = seq;
        let pending: i64 = sqlx::query_scalar("SELECT pending FROM meta WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("appending"))?;
        if to_u64(pending) > self.limits.max_events {
            let excess = to_u64(pending) - self.limits.low_water();
            let dropped = drop_oldest_routine(&mut tx, excess).await?;
            if dropped > 0 {
                let mut report = Event::new(EventKind::EventsDropped, event.time);
                report.dropped_events = dropped;
                last = insert(&mut tx, &report).await?;
                warn!(
                    dropped,
                    max_events = self.limits.max_events,
                    "outbox full; oldest routine events dropped"
                );
            }
        }
        tx.commit().await.map_err(db("appending"))?;
        self.appended.send_replace(last);
        Ok(seq)
    }

    /// Returns how many events wait for an ack.
    pub async fn pending_count(&self) -> Result<u64, OutboxError> {
        let pending: i64 = sqlx::query_scalar("SELECT pending FROM meta WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db("counting"))?;
        Ok(to_u64(pending))
    }

    /// Returns the seq the next appended event gets.
    pub async fn next_seq(&self) -> Result<u64, OutboxError> {
        let next: i64 = sqlx::query_scalar("SELECT next_seq FROM meta WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db("reading the next seq"))?;
        Ok(to_u64(next))
    }

    /// Returns how many routine events a full outbox has dropped since it was created.
    pub async fn dropped_count(&self) -> Result<u64, OutboxError> {
        let dropped: i64 = sqlx::query_scalar("SELECT dropped FROM meta WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db("counting"))?;
        Ok(to_u64(dropped))
    }

    /// Returns up to `limit` pending events with seq > `after`, in seq order. A row that no
    /// longer decodes is skipped (logged); the next ack above it removes it.
    pub async fn pending_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, OutboxError> {
        let rows = sqlx::query("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(to_i64(after))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading pending events"))?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.try_get("seq").map_err(db("reading pending events"))?;
            let body: String = row.try_get("body").map_err(db("reading pending events"))?;
            match serde_json::from_str::<Event>(&body) {
                Ok(event) => events.push(StoredEvent {
                    seq: to_u64(seq),
                    event,
                }),
                Err(e) => warn!(seq, error = %e, "outbox row unreadable; skipped"),
            }
        }
        Ok(events)
    }

    /// Deletes every event with seq <= `up_to` (the proxy holds them durably); returns how
    /// many were deleted.
    pub async fn ack(&self, up_to: u64) -> Result<u64, OutboxError> {
        let mut tx = self.pool.begin().await.map_err(db("acknowledging"))?;
        let deleted = sqlx::query("DELETE FROM events WHERE seq <= ?")
            .bind(to_i64(up_to))
            .execute(&mut *tx)
            .await
            .map_err(db("acknowledging"))?
            .rows_affected();
        if deleted > 0 {
            sqlx::query("UPDATE meta SET pending = pending - ? WHERE id = 1")
                .bind(to_i64(deleted))
                .execute(&mut *tx)
                .await
                .map_err(db("acknowledging"))?;
        }
        tx.commit().await.map_err(db("acknowledging"))?;
        Ok(deleted)
    }

    /// Moves every pending event (and the next seq) above `last_seq`, keeping their order
    /// and gaps, in one transaction: the proxy's last seq for this device came from another
    /// outbox (the state dir was wiped or restored), so lower seqs would be taken for
    /// duplicates. Returns how far the events moved (0 when nothing had to move).
    pub async fn renumber_above(&self, last_seq: u64) -> Result<u64, OutboxError> {
        let mut tx = self.pool.begin().await.map_err(db("renumbering"))?;
        // A write first, so the transaction holds SQLite's write lock before it reads.
        let next_seq: i64 = sqlx::query_scalar(
            "UPDATE meta SET next_seq = next_seq WHERE id = 1 RETURNING next_seq",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db("renumbering"))?;
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("renumbering"))?;
        let lowest = to_u64(first.unwrap_or(next_seq));
        let shift = (last_seq + 1).saturating_sub(lowest);
        if shift == 0 {
            return Ok(0);
        }
        // Through negative seqs, so no row meets another's new seq halfway.
        sqlx::query("UPDATE events SET seq = -(seq + ?)")
            .bind(to_i64(shift))
            .execute(&mut *tx)
            .await
            .map_err(db("renumbering"))?;
        sqlx::query("UPDATE events SET seq = -seq")
            .execute(&mut *tx)
            .await
            .map_err(db("renumbering"))?;
        sqlx::query("UPDATE meta SET next_seq = next_seq + ? WHERE id = 1")
            .bind(to_i64(shift))
            .execute(&mut *tx)
            .await
            .map_err(db("renumbering"))?;
        tx.commit().await.map_err(db("renumbering"))?;
        Ok(shift)
    }

    /// Closes the database (waits for open connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Inserts `event` with the next seq inside `tx` and returns the seq.
async fn insert(tx: &mut SqliteConnection, event: &Event) -> Result<u64, OutboxError> {
    let body = serde_json::to_string(event).map_err(|e| OutboxError::Encode(e.to_string()))?;
    let kind = serde_json::to_value(event.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    // The counter row first: the transaction takes SQLite's write lock before anything else.
    let seq: i64 = sqlx::query_scalar(
        "UPDATE meta SET next_seq = next_seq + 1, pending = pending + 1 WHERE id = 1 \
         RETURNING next_seq - 1",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db("appending"))?;
    sqlx::query("INSERT INTO events (seq, kind, security, body) VALUES (?, ?, ?, ?)")
        .bind(seq)
        .bind(kind)
        .bind(i64::from(event.kind.is_security()))
        .bind(body)
        .execute(&mut *tx)
        .await
        .map_err(db("appending"))?;
    Ok(to_u64(seq))
}

/// Drops up to `count` of the oldest routine events inside `tx`; returns how many.
async fn drop_oldest_routine(tx: &mut SqliteConnection, count: u64) -> Result<u64, OutboxError> {
    let dropped = sqlx::query(
        "DELETE FROM events WHERE seq IN \
         (SELECT seq FROM events WHERE security = 0 ORDER BY seq LIMIT ?)",
    )
    .bind(to_i64(count))
    .execute(&mut *tx)
    .await
    .map_err(db("dropping routine events"))?
    .rows_affected();
    if dropped > 0 {
        sqlx::query("UPDATE meta SET pending = pending - ?, dropped = dropped + ? WHERE id = 1")
            .bind(to_i64(dropped))
            .bind(to_i64(dropped))
            .execute(&mut *tx)
            .await
            .map_err(db("dropping routine events"))?;
    }
    Ok(dropped)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
