//! Scan events: what happened at a reader, as the agent records and streams it (DESIGN.md
//! §3.5). An event never carries patient identity: no certificate or its serial, no name, no
//! PIN, no APDU payload; a scan is correlated by a random per-scan id (DOMAIN.md §10 rule 9).
//!
//! The session layer makes them, the [`crate::outbox`] numbers and keeps them, the
//! [`crate::uplink`] sends them. [`Presence`] is the live reader view that rides the same
//! stream.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::jpki::TokenKind;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// `mynafleet-agent run` started.
    AgentStarted,
    /// A reader appeared.
    ReaderAttached,
    /// A reader went away.
    ReaderRemoved,
    /// A card was put on a reader.
    CardInserted,
    /// A card left a reader.
    CardRemoved,
    /// The JPKI AP was read.
    CardRead,
    /// The PIN counter was reported before a VERIFY.
    PinTriesLeft,
    /// A VERIFY failed (security).
    PinRejected,
    /// The card's PIN is blocked; no VERIFY was sent (security).
    PinBlocked,
    /// The card signed the challenge.
    CardSigned,
    /// Staff chose 目視 (visual) mode.
    VisualChosen,
    /// The proxy answered the check.
    CheckCompleted,
    /// The check failed (proxy refusal or unreachable).
    CheckFailed,
    /// A scan ended without a check (card pulled, not a My Number card, read error).
    ScanFailed,
    /// The terminal cancelled the scan.
    ScanCancelled,
    /// The agent refused a command before it reached the card (security).
    CommandRefused,
    /// pcscd went away and the agent established a new context.
    PcscRecovered,
    /// The outbox was full and dropped routine events (security).
    EventsDropped,
}

impl EventKind {
    /// Returns whether the event is security-relevant: a full outbox never drops these.
    pub fn is_security(self) -> bool {
        matches!(
            self,
            EventKind::PinRejected
                | EventKind::PinBlocked
                | EventKind::CommandRefused
                | EventKind::EventsDropped
        )
    }
}

/// One scan event, before the outbox gives it a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Random per-scan UUID; empty outside a scan.
    #[serde(default)]
    pub scan_id: String,
    /// PC/SC reader name; empty when no reader is concerned.
    #[serde(default)]
    pub reader: String,
    /// Token kind, once EF `0006` was read.
    #[serde(default)]
    pub token: Option<TokenKind>,
    /// PIN tries left as the card reported them.
    #[serde(default)]
    pub tries_left: Option<u8>,
    /// Status word of the failing card answer, 4 hex digits.
    #[serde(default)]
    pub status_word: String,
    /// Machine-readable failure class.
    #[serde(default)]
    pub error_class: String,
    /// How long the step took.
    #[serde(default)]
    pub duration: Option<Duration>,
    /// `CheckCompleted`: verdict and 資格有効性 code (never the result).
    #[serde(default)]
    pub verdict: String,
    /// `CheckCompleted`: the proxy's check id.
    #[serde(default)]
    pub check_id: String,
    /// From EF `0008`.
    #[serde(default)]
    pub signature_certificate_available: Option<bool>,
    /// `EventsDropped`: how many routine events were dropped.
    #[serde(default)]
    pub dropped_events: u64,
}

impl Event {
    /// Returns an event of `kind` at `time` with every other field empty.
    pub fn new(kind: EventKind, time: OffsetDateTime) -> Self {
        Self {
            kind,
            time,
            scan_id: String::new(),
            reader: String::new(),
            token: None,
            tries_left: None,
            status_word: String::new(),
            error_class: String::new(),
            duration: None,
            verdict: String::new(),
            check_id: String::new(),
            signature_certificate_available: None,
            dropped_events: 0,
        }
    }

    /// Sets the reader.
    pub fn reader(mut self, reader: impl Into<String>) -> Self {
        self.reader = reader.into();
        self
    }

    /// Sets the scan id.
    pub fn scan(mut self, scan_id: impl Into<String>) -> Self {
        self.scan_id = scan_id.into();
        self
    }
}

/// An event as the outbox holds it: numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The device's sequence number (from 1).
    pub seq: u64,
    /// The event.
    pub event: Event,
}

/// The agent's live reader view, streamed to the proxy for the fleet view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    /// Attached readers, by name.
    pub readers: Vec<ReaderPresence>,
    /// When the last scan finished.
    pub last_scan_time: Option<OffsetDateTime>,
}

/// One reader in [`Presence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderPresence {
    /// PC/SC reader name.
    pub name: String,
    /// Whether a card is on it.
    pub card_present: bool,
}
