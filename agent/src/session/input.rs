//! What a session takes in ([`Input`]) and gives out ([`Effect`], [`Refusal`]), and how card
//! work can fail ([`ReadFailure`], [`SignFailure`]). Plain data; no PIN, certificate or
//! result ever travels in them.

use super::{CheckSummary, Failure, Method};
use crate::event::Event;
use crate::jpki::{PinCounter, TokenKind};

/// Why a read produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// The card left the reader.
    CardRemoved,
    /// SELECT of the JPKI AP did not answer `9000`.
    NotMyNumber {
        /// The SELECT's status word, 4 hex digits.
        status_word: String,
    },
    /// The allow-list refused a command (a bug: nothing reached the card).
    Refused,
    /// Worth another attempt (card reset, mute card, a garbled answer).
    Transient {
        /// Machine-readable class.
        class: String,
    },
    /// Not worth another attempt.
    Failed {
        /// Machine-readable class.
        class: String,
        /// The failing status word, if the card answered one.
        status_word: String,
    },
}

/// Why verifying and signing produced no signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignFailure {
    /// The card rejected the PIN.
    Rejected {
        /// Tries left after the attempt.
        tries_left: u8,
    },
    /// The counter says blocked; no PIN was sent.
    Blocked,
    /// One try left and no confirmation; nothing was sent.
    LastTryNotConfirmed,
    /// The card left the reader.
    CardRemoved,
    /// The allow-list refused a command.
    Refused,
    /// Anything else; never retried.
    Failed {
        /// Machine-readable class.
        class: String,
        /// The failing status word, if the card answered one.
        status_word: String,
    },
}

/// A terminal command the session refuses; nothing reached the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No scan waits for a PIN or a visual check.
    #[error("no scan waits for a pin or a visual check")]
    NoScanWaiting,
    /// The command names another scan than the current one.
    #[error("the command names another scan than the current one")]
    ScanMismatch,
    /// One try is left and the terminal did not confirm the warning.
    #[error("one pin try is left and the warning was not confirmed; nothing was sent to the card")]
    LastTryNotConfirmed,
    /// The card's PIN is blocked.
    #[error(
        "the card's pin is blocked (only a municipal office can unblock it); no verify was sent; use visual mode"
    )]
    PinBlocked,
    /// The scan is already signing or checking.
    #[error("the scan is already signing or checking")]
    ScanBusy,
}

/// What the session learns or is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The reader appeared.
    ReaderAttached,
    /// The reader went away.
    ReaderRemoved,
    /// A card was put on the reader; `scan_id` is a fresh random id for its scan.
    CardInserted {
        /// The new scan's id.
        scan_id: String,
    },
    /// The card left the reader.
    CardRemoved,
    /// The read transaction finished.
    ReadDone {
        /// The scan read for.
        scan_id: String,
        /// EF `0006`.
        token: TokenKind,
        /// EF `0008`.
        signature_certificate_available: bool,
        /// The PIN counter.
        pin: PinCounter,
    },
    /// The read transaction failed.
    ReadFailed {
        /// The scan read for.
        scan_id: String,
        /// Why.
        failure: ReadFailure,
    },
    /// The terminal submitted a PIN (held by the caller, never here).
    PinSubmitted {
        /// The scan the PIN is for.
        scan_id: String,
        /// Whether the patient saw the last-try warning.
        confirm_last_try: bool,
    },
    /// Staff chose visual mode.
    VisualChosen {
        /// The scan.
        scan_id: String,
    },
    /// The proxy issued a challenge.
    ChallengeReceived {
        /// The scan.
        scan_id: String,
    },
    /// The proxy issued no challenge.
    ChallengeFailed {
        /// The scan.
        scan_id: String,
        /// The proxy's reason.
        failure: Failure,
    },
    /// The card signed the challenge.
    SignDone {
        /// The scan.
        scan_id: String,
    },
    /// The card produced no signature.
    SignFailed {
        /// The scan.
        scan_id: String,
        /// Why.
        failure: SignFailure,
    },
    /// The proxy answered the check.
    CheckDone {
        /// The scan.
        scan_id: String,
        /// What events may say about the answer.
        summary: CheckSummary,
    },
    /// The check failed.
    CheckFailed {
        /// The scan.
        scan_id: String,
        /// The proxy's reason.
        failure: Failure,
    },
    /// The terminal ends the scan.
    Cancel {
        /// The scan.
        scan_id: String,
    },
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a read transaction on the card in `reader`.
    StartRead {
        /// The reader.
        reader: String,
        /// The scan.
        scan_id: String,
    },
    /// Ask the proxy for a challenge.
    FetchChallenge {
        /// The scan.
        scan_id: String,
    },
    /// Verify the submitted PIN and sign the challenge (one transaction).
    StartSign {
        /// The reader.
        reader: String,
        /// The scan.
        scan_id: String,
        /// The token, which decides the order of VERIFY and the certificate read.
        token: TokenKind,
        /// Whether the terminal confirmed the last-try warning.
        confirm_last_try: bool,
    },
    /// Send the check to the proxy.
    SendCheck {
        /// The scan.
        scan_id: String,
        /// How the identity was confirmed.
        method: Method,
    },
    /// Write the event to the outbox.
    Emit(Event),
    /// Refuse the command (or the pending one of this scan).
    Refuse(Refusal),
    /// The visible state changed.
    Publish,
}
