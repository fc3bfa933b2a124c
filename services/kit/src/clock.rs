//! Time as a value passed in configuration, so tests move it instead of waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// Where a service reads "now" from: the system clock, or a manual one that tests advance.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// Returns the system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// Returns a manual clock that starts at `start` and moves only by [`Clock::advance`].
    pub fn manual(start: OffsetDateTime) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(to_micros(start)))),
        }
    }

    /// Returns the current time in microseconds since the Unix epoch.
    pub fn now_micros(&self) -> i64 {
        match &self.manual {
            Some(m) => m.load(Ordering::SeqCst),
            None => to_micros(OffsetDateTime::now_utc()),
        }
    }

    /// Returns the current time.
    pub fn now(&self) -> OffsetDateTime {
        from_micros(self.now_micros())
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(m) = &self.manual {
            let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
            m.fetch_add(micros, Ordering::SeqCst);
        }
    }
}

/// Converts a time to microseconds since the Unix epoch, the storage format of every table.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Converts microseconds since the Unix epoch back to a time, saturating out-of-range values.
pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
