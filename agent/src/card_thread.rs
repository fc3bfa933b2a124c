//! The card thread: runs layers 1–2 (PC/SC transport and JPKI operations) on a dedicated
//! thread and answers the async session over channels, one short card transaction per
//! request (STYLE.md §8): one to read, one to re-SELECT, VERIFY and sign. A context that
//! pcscd's restart invalidated is established again before the next request.
//!
//! SKELETON (issue #6): the contract the session layer codes against.

use std::fmt;

use crate::jpki::{CardRead, JpkiError, Pin, SignError, Signed, TokenKind};
use crate::transport::{CardTransport, TransportError};

/// Opens a connection to the card in a reader; the pcsc implementation connects in shared
/// mode and runs the work inside a transaction, tests hand out an in-memory card.
pub trait Connector: Send + 'static {
    /// Runs `work` against the card in `reader`, inside one card transaction.
    fn with_card<R>(
        &mut self,
        reader: &str,
        work: &mut dyn FnMut(&mut dyn CardTransport) -> R,
    ) -> Result<R, TransportError>;
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Connecting or the transaction failed (card removed, pcscd gone ...).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered badly, or is not a My Number card.
    #[error(transparent)]
    Card(#[from] JpkiError),
    /// The card thread is gone.
    #[error("the card thread stopped")]
    Stopped,
}

/// Handle to the card thread; cheap to clone.
#[derive(Clone)]
pub struct CardThread {
    _private: (),
}

impl fmt::Debug for CardThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardThread").finish_non_exhaustive()
    }
}

impl CardThread {
    /// Starts the thread over `connector`.
    pub fn spawn(connector: impl Connector) -> Self {
        drop(connector);
        Self { _private: () }
    }

    /// Reads the card in `reader` (one transaction).
    pub async fn read(&self, reader: &str) -> Result<CardRead, ReadError> {
        let _ = reader;
        Err(ReadError::Stopped)
    }

    /// Verifies `pin` and signs `challenge` on the card in `reader` (one transaction).
    pub async fn sign(
        &self,
        reader: &str,
        token: TokenKind,
        pin: Pin,
        confirm_last_try: bool,
        challenge: Vec<u8>,
    ) -> Result<Signed, SignThreadError> {
        let _ = (reader, token, pin, confirm_last_try, challenge);
        Err(SignThreadError::Stopped)
    }
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignThreadError {
    /// Connecting or the transaction failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The JPKI operation failed (PIN rejected, blocked, ...).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The card thread is gone.
    #[error("the card thread stopped")]
    Stopped,
}
