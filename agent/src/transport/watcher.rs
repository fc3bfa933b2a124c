//! The reader watcher (DOMAIN.md §7, §10 rule 20): a dedicated thread looping on
//! `SCardGetStatusChange` over the PnP pseudo-reader and every listed reader, reporting reader
//! attach/remove and card insert/remove (using `event_count`, so a fast swap between two waits
//! is still seen), re-establishing the context when pcscd restarts, stopped with
//! `Context::cancel`.
//!
//! The loop runs over [`StatusMonitor`], the three PC/SC calls it needs, so reader hot-plug
//! (which vpcd cannot simulate) is tested against a fake; the pcsc implementation lives in
//! [`super::pcsc`]. The watcher never connects to a card and logs reader names and ATRs only.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tracing::{debug, info, warn};

use super::TransportError;
use super::pcsc::PcscMonitor;

mod run;
#[cfg(test)]
mod tests;

/// A change at the readers, in the order seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderEvent {
    /// A reader appeared (also reported for every reader present at start).
    Attached {
        /// PC/SC reader name.
        reader: String,
    },
    /// A reader went away (its card, if any, is reported removed first).
    Removed {
        /// PC/SC reader name.
        reader: String,
    },
    /// A card was put on a reader (also reported for cards present at start).
    CardInserted {
        /// PC/SC reader name.
        reader: String,
        /// The card's ATR, logged, never used for decisions.
        atr: Vec<u8>,
    },
    /// A card left a reader.
    CardRemoved {
        /// PC/SC reader name.
        reader: String,
    },
    /// pcscd cannot be reached; readers are reported removed first.
    ServiceLost,
    /// A new context was established after [`ReaderEvent::ServiceLost`].
    ServiceRestored,
}

/// Name of the PnP notification pseudo-reader, whose state changes with the reader list.
pub const PNP_READER: &str = r"\\?PnP?\Notification";

/// `SCARD_STATE_*` bits of a reader state (PC/SC part 5; pcsc-lite's values). The upper 16
/// bits of an event state hold the reader's card event count.
pub mod state {
    /// The caller knows nothing of the reader yet.
    pub const UNAWARE: u32 = 0x0000;
    /// The reader is to be ignored.
    pub const IGNORE: u32 = 0x0001;
    /// The state differs from the caller's current state.
    pub const CHANGED: u32 = 0x0002;
    /// The reader is not known (removed).
    pub const UNKNOWN: u32 = 0x0004;
    /// The reader's state cannot be read.
    pub const UNAVAILABLE: u32 = 0x0008;
    /// No card.
    pub const EMPTY: u32 = 0x0010;
    /// A card is present.
    pub const PRESENT: u32 = 0x0020;
    /// The card does not answer its reset.
    pub const MUTE: u32 = 0x0200;
}

/// One entry of a status-change wait: `SCARD_READERSTATE` in portable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The reader name, or [`PNP_READER`].
    pub name: String,
    /// The state the caller knows (`dwCurrentState`), event count included.
    pub current: u32,
    /// The state last reported (`dwEventState`), event count in the upper 16 bits.
    pub event: u32,
    /// The ATR last reported.
    pub atr: Vec<u8>,
}

impl Slot {
    /// Returns an entry the caller knows nothing about yet (UNAWARE).
    pub fn unaware(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            current: state::UNAWARE,
            event: state::UNAWARE,
            atr: Vec::new(),
        }
    }

    /// Returns the card event count of the last reported state.
    pub fn event_count(&self) -> u16 {
        (self.event >> 16) as u16
    }

    /// Makes the last reported state the known one, count included, so the next wait blocks
    /// until something really changes (DOMAIN.md §7).
    pub fn sync_current_state(&mut self) {
        self.current = self.event;
    }
}

/// The PC/SC calls the watcher makes.
pub trait StatusMonitor: Send + 'static {
    /// Establishes a new context, replacing any previous one.
    fn establish(&mut self) -> Result<(), TransportError>;

    /// Returns the names of the attached readers (empty when there are none).
    fn list_readers(&mut self) -> Result<Vec<String>, TransportError>;

    /// Blocks until the state of one of `slots` differs from its `current`, then fills in
    /// every `event` and `atr` and returns `true`; returns `false` once `timeout` passed.
    /// A cancelled wait fails with [`TransportError::Cancelled`], an unknown reader name with
    /// [`TransportError::UnknownReader`].
    fn get_status_change(
        &mut self,
        timeout: Duration,
        slots: &mut [Slot],
    ) -> Result<bool, TransportError>;

    /// Returns what cancels a blocked [`StatusMonitor::get_status_change`] from another
    /// thread (`SCardCancel` on the current context).
    fn canceller(&self) -> Canceller;
}

/// Cancels a blocked wait from another thread.
pub type Canceller = Arc<dyn Fn() + Send + Sync>;

/// Timing of the watcher loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// How often the reader list is polled where PnP notification is missing.
    pub poll_interval: Duration,
    /// The longest single wait with PnP; a wake-up re-lists the readers (and bounds how long
    /// a cancel that arrived between two waits can go unseen).
    pub pnp_wait: Duration,
    /// First delay before establishing a context again after pcscd went away.
    pub reconnect_min: Duration,
    /// Longest delay between two attempts.
    pub reconnect_max: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            pnp_wait: Duration::from_secs(2),
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(1),
        }
    }
}

impl WatchConfig {
    /// Returns the jittered, capped delays between attempts to reach pcscd again.
    fn reconnect_delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::new()
            .with_min_delay(self.reconnect_min)
            .with_max_delay(self.reconnect_max)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// A stop flag whose waits end as soon as it is set.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    pub(crate) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits `timeout` unless stopped first; returns whether the watcher should go on.
    pub(crate) fn pause(&self, timeout: Duration) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, timeout, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        !*stopped
    }
}

/// Stops the watcher thread when dropped or on [`WatcherHandle::stop`].
pub struct WatcherHandle {
    stop: Arc<Stop>,
    cancel: Canceller,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WatcherHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatcherHandle")
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl WatcherHandle {
    /// Cancels the blocking wait and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.stop();
        (self.cancel)();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            warn!("the reader watcher thread panicked");
        }
    }
}

impl Drop for WatcherHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the watcher over pcscd on its own thread; `sink` receives every event and returns
/// `false` to stop the watcher.
pub fn spawn_watcher(sink: impl FnMut(ReaderEvent) -> bool + Send + 'static) -> WatcherHandle {
    spawn_watcher_with(PcscMonitor::new(), WatchConfig::default(), sink)
}

/// Starts the watcher over `monitor` with `config` on its own thread.
pub fn spawn_watcher_with(
    monitor: impl StatusMonitor,
    config: WatchConfig,
    sink: impl FnMut(ReaderEvent) -> bool + Send + 'static,
) -> WatcherHandle {
    let stop = Arc::new(Stop::default());
    let cancel = monitor.canceller();
    let thread_stop = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name("mynafleet-readers".to_owned())
        .spawn(move || {
            let mut monitor = monitor;
            run::run(&mut monitor, config, sink, &thread_stop);
        });
    let thread = match thread {
        Ok(thread) => Some(thread),
        Err(e) => {
            warn!(error = %e, "cannot start the reader watcher thread");
            None
        }
    };
    WatcherHandle {
        stop,
        cancel,
        thread,
    }
}

/// Logs what the loop does, in one place, with reader names and ATRs only.
fn log_event(event: &ReaderEvent) {
    match event {
        ReaderEvent::Attached { reader } => info!(reader, "reader attached"),
        ReaderEvent::Removed { reader } => info!(reader, "reader removed"),
        ReaderEvent::CardInserted { reader, atr } => {
            debug!(reader, atr = %hex::encode_upper(atr), "card inserted");
        }
        ReaderEvent::CardRemoved { reader } => debug!(reader, "card removed"),
        ReaderEvent::ServiceLost => warn!("pcscd went away; reconnecting"),
        ReaderEvent::ServiceRestored => info!("pcscd reachable again"),
    }
}
