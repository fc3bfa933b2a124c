//! Layer 4 (STYLE.md §8): the durable outbox. SQLite in WAL mode in the state dir through
//! sqlx's `SqlitePool` and its own migrations; every event is committed with the device's
//! next `seq` before any attempt to send it; bounded, with an explicit policy (the oldest
//! routine events are dropped and counted, security events never).
//!
//! SKELETON (issue #6): the contract the session and uplink layers code against.

use std::path::Path;

use crate::event::{Event, StoredEvent};

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
}

/// The outbox; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    _private: (),
}

impl Outbox {
    /// Opens (creating if needed) `outbox.db` in `state_dir`.
    pub async fn open(state_dir: &Path, limits: OutboxLimits) -> Result<Self, OutboxError> {
        let _ = (state_dir, limits);
        Ok(Self { _private: () })
    }

    /// Commits `event` with the next seq and returns the seq; wakes the uplink.
    pub async fn append(&self, event: Event) -> Result<u64, OutboxError> {
        let _ = event;
        Ok(0)
    }

    /// Returns how many events wait for an ack.
    pub async fn pending_count(&self) -> Result<u64, OutboxError> {
        Ok(0)
    }

    /// Returns up to `limit` pending events with seq > `after`, in seq order.
    pub async fn pending_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, OutboxError> {
        let _ = (after, limit);
        Ok(Vec::new())
    }
}
