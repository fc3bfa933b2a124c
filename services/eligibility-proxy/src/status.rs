//! The device-status cache: what activation last said about each device, fed by the
//! `WatchDeviceStatus` stream and by `GetDeviceStatus` answers, and the rule that says when
//! an entry may be believed without asking activation again.
//!
//! Freshness is measured on the monotonic clock (`tokio::time::Instant`), not on the
//! configured wall clock: it is about how recently the network told us something, and a
//! manual test clock that never moves would make a dead watch look live forever. The cache
//! never talks to activation itself and never decides a refusal (that is `gate.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Where a device is in its life, as activation reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    /// A code is bound to its key; no certificate yet.
    Pending,
    /// It may work.
    Active,
    /// An operator or its account's suspension stopped it.
    Suspended,
    /// Stopped for good.
    Revoked,
}

/// What activation knows of one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    /// The device is registered to `account` with `status`.
    Registered {
        /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
        account: String,
        /// Its status.
        status: DeviceStatus,
    },
    /// Activation has no such device.
    NotFound,
}

/// One device's change, as the watch reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusChange {
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub(crate) device: String,
    /// The new state; `None` when activation sent a status this proxy does not know, which
    /// drops the entry so the next call asks again.
    pub(crate) known: Option<Known>,
}

/// What the watch looks like at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WatchView {
    /// When the current watch stream was opened; `None` while there is none.
    pub(crate) connected_at: Option<Instant>,
    /// When the current stream last delivered a message (change or heartbeat).
    pub(crate) last_seen: Option<Instant>,
}

/// Whether a cached entry may answer a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// The entry is fresh: use it.
    UseCache,
    /// There is no fresh entry: ask activation.
    AskActivation,
}

/// Decides whether an entry written at `written` (if any) may answer a call at `now`.
///
/// An entry is fresh when the watch is live (its last message is under `max_age` old) and
/// the entry was written since the watch (re)connected, so every later change would have
/// reached it; or when the entry itself is under `max_age` old, however the watch is doing.
/// An entry from a fetch counts from when the fetch started, never from when it returned.
pub(crate) fn freshness(
    now: Instant,
    max_age: Duration,
    watch: WatchView,
    written: Option<Instant>,
) -> Freshness {
    let Some(written) = written else {
        return Freshness::AskActivation;
    };
    let young = |t: Instant| now.saturating_duration_since(t) < max_age;
    let watch_live = watch.last_seen.is_some_and(young);
    let since_connect = watch.connected_at.is_some_and(|c| written >= c);
    if (watch_live && since_connect) || young(written) {
        Freshness::UseCache
    } else {
        Freshness::AskActivation
    }
}

#[derive(Debug)]
struct Entry {
    known: Known,
    written: Instant,
    by_watch: bool,
}

#[derive(Debug, Default)]
struct State {
    watch: WatchView,
    entries: HashMap<String, Entry>,
}

/// The proxy's device-status cache, shared by every call and the watch task.
#[derive(Debug)]
pub(crate) struct StatusCache {
    max_age: Duration,
    state: Mutex<State>,
    changes: broadcast::Sender<Arc<str>>,
}

impl StatusCache {
    /// Returns an empty cache whose entries go stale after `max_age` without a live watch.
    pub(crate) fn new(max_age: Duration) -> Arc<Self> {
        let (changes, _) = broadcast::channel(1024);
        Arc::new(Self {
            max_age,
            state: Mutex::new(State::default()),
            changes,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns the device's cached state if it is fresh at `now`.
    pub(crate) fn fresh(&self, device: &str, now: Instant) -> Option<Known> {
        let state = self.state();
        let entry = state.entries.get(device)?;
        match freshness(now, self.max_age, state.watch, Some(entry.written)) {
            Freshness::UseCache => Some(entry.known.clone()),
            Freshness::AskActivation => None,
        }
    }

    /// Stores what a `GetDeviceStatus` started at `started` answered and returns what the
    /// cache now holds. A change the watch delivered after the fetch started is newer than
    /// the answer (or as new), so it is kept.
    pub(crate) fn store_fetched(&self, device: &str, known: Known, started: Instant) -> Known {
        let mut state = self.state();
        if let Some(e) = state.entries.get(device)
            && e.by_watch
            && e.written >= started
        {
            return e.known.clone();
        }
        state.entries.insert(
            device.to_owned(),
            Entry {
                known: known.clone(),
                written: started,
                by_watch: false,
            },
        );
        known
    }

    /// Records that a new watch stream opened at `now`: entries written before it are no
    /// longer vouched for by the watch.
    pub(crate) fn watch_connected(&self, now: Instant) {
        self.state().watch = WatchView {
            connected_at: Some(now),
            last_seen: None,
        };
    }

    /// Records that the watch stream ended; entries stay fresh only by their own age.
    pub(crate) fn watch_lost(&self) {
        self.state().watch = WatchView::default();
    }

    /// Records a watch message at `now` and applies its change, if it carries one.
    pub(crate) fn watch_message(&self, now: Instant, change: Option<StatusChange>) {
        let changed = {
            let mut state = self.state();
            state.watch.last_seen = Some(now);
            let Some(change) = change else { return };
            match change.known {
                Some(known) => {
                    state.entries.insert(
                        change.device.clone(),
                        Entry {
                            known,
                            written: now,
                            by_watch: true,
                        },
                    );
                }
                None => {
                    state.entries.remove(&change.device);
                }
            }
            change.device
        };
        // Nobody listening is fine: no stream is open.
        let _ = self.changes.send(Arc::from(changed));
    }

    /// Returns a receiver of the names of devices whose entry the watch changed.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.changes.subscribe()
    }

    /// Returns what the watch looks like now (for logs and tests).
    #[cfg(test)]
    pub(crate) fn watch_view(&self) -> WatchView {
        self.state().watch
    }
}

#[cfg(test)]
mod tests;
