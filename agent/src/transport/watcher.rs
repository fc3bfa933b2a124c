//! The reader watcher (DOMAIN.md §7, §10 rule 20): a dedicated thread looping on
//! `SCardGetStatusChange` over the PnP pseudo-reader and every listed reader, reporting reader
//! attach/remove and card insert/remove (using `event_count`, so a fast swap between two waits
//! is still seen), re-establishing the context when pcscd restarts, stopped with
//! `Context::cancel`.
//!
//! SKELETON (issue #6): the contract the session layer codes against.

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

/// Stops the watcher thread when dropped or on [`WatcherHandle::stop`].
#[derive(Debug)]
pub struct WatcherHandle {
    _private: (),
}

impl WatcherHandle {
    /// Cancels the blocking wait and joins the thread.
    pub fn stop(self) {}
}

/// Starts the watcher on its own thread; `sink` receives every event and returns `false` to
/// stop the watcher.
pub fn spawn_watcher(sink: impl FnMut(ReaderEvent) -> bool + Send + 'static) -> WatcherHandle {
    drop(sink);
    WatcherHandle { _private: () }
}
