//! The PIN tries counter, shared by handle so a test can watch or set it while the card is
//! inserted and answering on another thread.
//!
//! Counters live as long as the card object: resets, power cycles and vpcd re-insertion keep
//! them, as on a real card; only a successful VERIFY restores the maximum (DOMAIN.md §1.4).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// A PIN's tries counter. Clones share one counter.
#[derive(Debug, Clone)]
pub struct PinCounter {
    tries: Arc<AtomicU8>,
    max: u8,
}

impl PinCounter {
    pub(super) fn new(tries_left: u8, max_tries: u8) -> Self {
        Self {
            tries: Arc::new(AtomicU8::new(tries_left.min(max_tries))),
            max: max_tries,
        }
    }

    /// Returns the tries left; 0 means blocked.
    pub fn tries_left(&self) -> u8 {
        self.tries.load(Ordering::SeqCst)
    }

    /// Returns the tries a successful VERIFY restores.
    pub fn max_tries(&self) -> u8 {
        self.max
    }

    /// Returns whether the PIN is blocked.
    pub fn is_blocked(&self) -> bool {
        self.tries_left() == 0
    }

    /// Sets the tries left (at most the maximum), as a 窓口 unblock or a test would.
    pub fn set_tries_left(&self, tries: u8) {
        self.tries.store(tries.min(self.max), Ordering::SeqCst);
    }

    /// Spends one try and returns what is left.
    pub(super) fn spend(&self) -> u8 {
        let left = self.tries_left().saturating_sub(1);
        self.tries.store(left, Ordering::SeqCst);
        left
    }

    /// Restores the maximum after a successful VERIFY.
    pub(super) fn restore(&self) {
        self.tries.store(self.max, Ordering::SeqCst);
    }
}
