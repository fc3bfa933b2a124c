//! The record of every command APDU a card receives, shared by handle so a test can read it
//! while the card answers on another thread (inside a vpcd session).
//!
//! PIN-carrying commands are masked before they are stored: the data field of VERIFY (`20`),
//! CHANGE REFERENCE DATA (`24`) and RESET RETRY COUNTER (`2C`) becomes `2A` bytes, so a PIN
//! never reaches the record, a sink or a test's failure message. The log never interprets
//! anything else and never panics on a poisoned lock.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::apdu::Command;

/// The byte that replaces every PIN byte in the record (`*`).
pub const MASK: u8 = 0x2A;

/// A shared, append-only record of command APDUs, oldest first, PINs masked.
///
/// Clones share one record. A card and its clones write to the same record.
#[derive(Clone, Default)]
pub struct ApduLog {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    apdus: Vec<Vec<u8>>,
    sink: Option<Box<dyn Write + Send>>,
    sink_failed: bool,
}

impl fmt::Debug for ApduLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("ApduLog")
            .field("len", &inner.apdus.len())
            .field("sink", &inner.sink.is_some())
            .finish()
    }
}

impl ApduLog {
    /// Returns an empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns a copy of every command APDU recorded so far, oldest first.
    pub fn snapshot(&self) -> Vec<Vec<u8>> {
        self.lock().apdus.clone()
    }

    /// Returns how many command APDUs were recorded.
    pub fn len(&self) -> usize {
        self.lock().apdus.len()
    }

    /// Returns whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.lock().apdus.is_empty()
    }

    /// Forgets what was recorded so far (the sink keeps what it was given).
    pub fn clear(&self) {
        self.lock().apdus.clear();
    }

    /// Returns whether any recorded APDU contains `needle` as a contiguous byte sequence.
    pub fn contains(&self, needle: &[u8]) -> bool {
        !needle.is_empty()
            && self
                .lock()
                .apdus
                .iter()
                .any(|apdu| apdu.windows(needle.len()).any(|w| w == needle))
    }

    /// Also writes each APDU recorded from now on to `sink`, as one line of upper-case hex
    /// (see [`ApduLog::hex_line`]), flushed per line.
    pub fn tee(&self, sink: impl Write + Send + 'static) {
        let mut inner = self.lock();
        inner.sink = Some(Box::new(sink));
        inner.sink_failed = false;
    }

    /// Returns whether writing to the sink failed; later lines are then not written.
    pub fn sink_failed(&self) -> bool {
        self.lock().sink_failed
    }

    /// Formats an APDU the way the sink writes it: hex byte pairs separated by spaces.
    pub fn hex_line(apdu: &[u8]) -> String {
        let mut line = String::with_capacity(apdu.len() * 3);
        for (i, byte) in apdu.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            line.push_str(&format!("{byte:02X}"));
        }
        line
    }

    /// Records `apdu` with its PIN bytes masked.
    pub(super) fn record(&self, apdu: &[u8]) {
        let masked = mask_pins(apdu);
        let mut inner = self.lock();
        if let Some(sink) = inner.sink.as_mut() {
            let line = Self::hex_line(&masked);
            let written = writeln!(sink, "{line}").and_then(|()| sink.flush());
            if written.is_err() {
                inner.sink = None;
                inner.sink_failed = true;
            }
        }
        inner.apdus.push(masked);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returns `apdu` with the data field of PIN-carrying instructions replaced by [`MASK`].
pub(super) fn mask_pins(apdu: &[u8]) -> Vec<u8> {
    let mut out = apdu.to_vec();
    let Some(&ins) = apdu.get(1) else {
        return out;
    };
    if !matches!(ins, 0x20 | 0x24 | 0x2C) {
        return out;
    }
    match Command::parse(apdu) {
        Some(command) if !command.data.is_empty() => {
            // The data field sits just before Le (none, one byte, or two when extended).
            let le_bytes = match (command.le, command.extended) {
                (None, _) => 0,
                (Some(_), false) => 1,
                (Some(_), true) => 2,
            };
            let end = apdu.len().saturating_sub(le_bytes);
            let start = end.saturating_sub(command.data.len());
            if let Some(data) = out.get_mut(start..end) {
                data.fill(MASK);
            }
        }
        Some(_) => {}
        // A malformed PIN command may still carry a PIN: mask everything after the header.
        None => {
            if let Some(body) = out.get_mut(4..) {
                body.fill(MASK);
            }
        }
    }
    out
}
