//! Layer 1 (STYLE.md §8): moving command APDUs to a card and responses back.
//!
//! [`CardTransport`] is the whole contract the layers above see. The PC/SC implementation lives
//! in [`pcsc`], the only module that imports the `pcsc` crate; tests put an in-memory card
//! behind the trait instead. This layer never builds, checks or interprets APDUs (that is
//! [`crate::jpki`]) and never logs their payloads. It is synchronous and knows nothing of tokio:
//! PC/SC calls block, so callers run them on a thread of their own.

use std::fmt;
use std::time::Duration;

pub mod pcsc;
pub mod watcher;

pub use self::pcsc::{PcscCard, PcscContext, PcscMonitor, PcscTransaction};
pub use self::watcher::{
    ReaderEvent, StatusMonitor, WatchConfig, WatcherHandle, spawn_watcher, spawn_watcher_with,
};

/// Sends one command APDU to a card and returns its complete response APDU (data, SW1, SW2).
pub trait CardTransport {
    /// Transmits `apdu` and returns the raw response.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: CardTransport + ?Sized> CardTransport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
}

/// A [`CardTransport`] made of a closure: how tests and in-memory setups put any card model
/// (card-sim's `Card::respond`, a script) behind the trait.
pub struct FnTransport<F>(pub F);

impl<F> fmt::Debug for FnTransport<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTransport").finish_non_exhaustive()
    }
}

impl<F> CardTransport for FnTransport<F>
where
    F: FnMut(&[u8]) -> Result<Vec<u8>, TransportError>,
{
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (self.0)(apdu)
    }
}

/// What a reader slot holds, as PC/SC reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// The resource manager does not know a reader of that name.
    ReaderMissing,
    /// The reader is known but its state cannot be read.
    ReaderUnavailable,
    /// No card in the reader.
    Empty,
    /// A card is present and answered its reset.
    Card,
    /// A card is present but did not answer its reset.
    MuteCard,
}

impl fmt::Display for SlotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlotState::ReaderMissing => "no such reader",
            SlotState::ReaderUnavailable => "reader unavailable",
            SlotState::Empty => "no card",
            SlotState::Card => "card present",
            SlotState::MuteCard => "card present but mute",
        })
    }
}

/// One reader and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderStatus {
    /// The reader name as the resource manager lists it.
    pub name: String,
    /// What the slot holds.
    pub state: SlotState,
    /// The card's answer-to-reset, empty without a card. Logged, never used for decisions
    /// (DOMAIN.md §10 rule 1).
    pub atr: Vec<u8>,
}

/// Errors of the transport layer, with the PC/SC details mapped to what callers act on.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The PC/SC resource manager cannot be reached.
    #[error(
        "pcscd is not running: start it with `sudo systemctl start pcscd.socket` \
         (or run `sudo pcscd --foreground` where systemd is absent)"
    )]
    ServiceUnavailable,
    /// pcscd stopped or restarted under an established context (DOMAIN.md §7).
    #[error("pcscd stopped or restarted: the pc/sc context must be established again")]
    ServiceStopped,
    /// The reader named is not (or no longer) attached.
    #[error("reader not found")]
    UnknownReader,
    /// The reader cannot be used right now.
    #[error("reader unavailable")]
    ReaderUnavailable,
    /// Another application holds the card exclusively.
    #[error("card is in exclusive use by another application")]
    SharingViolation,
    /// There is no card in the reader.
    #[error("no card in the reader")]
    NoCard,
    /// The card was removed during the operation.
    #[error("card was removed")]
    CardRemoved,
    /// The card was reset by another application; selections and verified PINs are gone.
    #[error("card was reset by another application")]
    CardReset,
    /// The card is present but does not respond.
    #[error("card does not respond")]
    UnresponsiveCard,
    /// A blocking wait was cancelled.
    #[error("pc/sc wait cancelled")]
    Cancelled,
    /// A wait for a reader state reached its deadline first.
    #[error(
        "reader {reader:?} still shows \"{last_seen}\" after {waited:?} waiting for \"{wanted}\""
    )]
    WaitTimedOut {
        /// The reader waited on.
        reader: String,
        /// The state waited for.
        wanted: SlotState,
        /// The state last reported.
        last_seen: SlotState,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// Any other PC/SC failure.
    #[error("pc/sc call failed while {action}: {message}")]
    Pcsc {
        /// What the transport was doing.
        action: &'static str,
        /// The resource manager's description of the error.
        message: String,
    },
}

impl TransportError {
    /// Returns whether the PC/SC context is dead and must be established again.
    pub fn needs_new_context(&self) -> bool {
        matches!(
            self,
            TransportError::ServiceUnavailable | TransportError::ServiceStopped
        )
    }

    /// Returns whether the card left the reader, or was reset, under the operation: the scan
    /// ends cleanly and the next insert starts afresh.
    pub fn card_gone(&self) -> bool {
        matches!(
            self,
            TransportError::CardRemoved | TransportError::NoCard | TransportError::CardReset
        )
    }

    /// Returns the machine-readable failure class a scan event carries.
    pub fn class(&self) -> &'static str {
        match self {
            TransportError::ServiceUnavailable | TransportError::ServiceStopped => {
                "PCSC_UNAVAILABLE"
            }
            TransportError::UnknownReader | TransportError::ReaderUnavailable => {
                "READER_UNAVAILABLE"
            }
            TransportError::SharingViolation => "READER_BUSY",
            TransportError::NoCard | TransportError::CardRemoved => "CARD_REMOVED",
            TransportError::CardReset => "CARD_RESET",
            TransportError::UnresponsiveCard => "CARD_UNRESPONSIVE",
            TransportError::Cancelled
            | TransportError::WaitTimedOut { .. }
            | TransportError::Pcsc { .. } => "TRANSPORT_FAILED",
        }
    }
}
