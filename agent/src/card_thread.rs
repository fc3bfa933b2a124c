//! The card thread: runs layers 1–2 (PC/SC transport and JPKI operations) on a dedicated
//! thread and answers the async session over channels, one short card transaction per
//! request (STYLE.md §8): one to read, one to re-SELECT, VERIFY and sign. Nothing here holds a
//! card across requests, retries a VERIFY, or logs card data or the PIN.
//!
//! [`Connector`] opens the card: [`PcscConnector`] through pcscd (shared mode, inside a
//! transaction, the context established again after pcscd restarts), [`memory_connector`]
//! over in-memory cards for tests.

use std::fmt;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;
use tracing::warn;

use crate::jpki::{CardRead, JpkiCard, JpkiError, Pin, SignError, Signed, TokenKind};
use crate::transport::{CardTransport, TransportError};

mod connector;
#[cfg(test)]
mod tests;

pub use self::connector::{MemoryConnector, PcscConnector, memory_connector};

/// Opens a connection to the card in a reader; the pcsc implementation connects in shared
/// mode and runs the work inside a transaction, tests hand out an in-memory card.
pub trait Connector: Send + 'static {
    /// Runs `work` against the card in `reader`, inside one card transaction. `work` runs at
    /// most once: an implementation may retry opening the card, never the work.
    fn with_card<R>(
        &mut self,
        reader: &str,
        work: &mut dyn FnMut(&mut dyn CardTransport) -> R,
    ) -> Result<R, TransportError>;
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Connecting or the transaction failed, or the card went away (removed, reset) in the
    /// middle of the read.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered badly, or is not a My Number card.
    #[error(transparent)]
    Card(#[from] JpkiError),
    /// The card thread is gone.
    #[error("the card thread stopped")]
    Stopped,
}

impl ReadError {
    /// Returns the machine-readable failure class a scan event carries (`CARD_REMOVED` for a
    /// card pulled mid-read).
    pub fn class(&self) -> &'static str {
        match self {
            ReadError::Transport(e) => e.class(),
            ReadError::Card(e) => e.class(),
            ReadError::Stopped => "AGENT_STOPPED",
        }
    }

    fn flatten(
        result: Result<Result<CardRead, JpkiError>, TransportError>,
    ) -> Result<CardRead, Self> {
        match result {
            Ok(Ok(read)) => Ok(read),
            Ok(Err(JpkiError::Transport(e))) | Err(e) => Err(ReadError::Transport(e)),
            Ok(Err(e)) => Err(ReadError::Card(e)),
        }
    }
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignThreadError {
    /// Connecting or the transaction failed, or the card went away mid-transaction.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The JPKI operation failed (PIN rejected, blocked, ...).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The card thread is gone.
    #[error("the card thread stopped")]
    Stopped,
}

impl SignThreadError {
    /// Returns the machine-readable failure class a scan event carries.
    pub fn class(&self) -> &'static str {
        match self {
            SignThreadError::Transport(e) => e.class(),
            SignThreadError::Sign(e) => e.class(),
            SignThreadError::Stopped => "AGENT_STOPPED",
        }
    }

    fn flatten(result: Result<Result<Signed, SignError>, TransportError>) -> Result<Signed, Self> {
        match result {
            Ok(Ok(signed)) => Ok(signed),
            Ok(Err(SignError::Card(JpkiError::Transport(e)))) | Err(e) => {
                Err(SignThreadError::Transport(e))
            }
            Ok(Err(e)) => Err(SignThreadError::Sign(e)),
        }
    }
}

/// One unit of card work and where its answer goes.
enum Request {
    Read {
        reader: String,
        reply: oneshot::Sender<Result<CardRead, ReadError>>,
    },
    Sign {
        reader: String,
        token: TokenKind,
        pin: Pin,
        confirm_last_try: bool,
        challenge: Vec<u8>,
        reply: oneshot::Sender<Result<Signed, SignThreadError>>,
    },
}

/// Handle to the card thread; cheap to clone. The thread ends when the last handle is
/// dropped.
#[derive(Clone)]
pub struct CardThread {
    requests: mpsc::Sender<Request>,
}

impl fmt::Debug for CardThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardThread").finish_non_exhaustive()
    }
}

impl CardThread {
    /// Starts the thread over `connector`. If the thread cannot be started, every request
    /// fails with `Stopped`.
    pub fn spawn(connector: impl Connector) -> Self {
        let (requests, inbox) = mpsc::channel();
        let started = thread::Builder::new()
            .name("mynafleet-card".to_owned())
            .spawn(move || serve(connector, inbox));
        if let Err(e) = started {
            warn!(error = %e, "cannot start the card thread");
        }
        Self { requests }
    }

    /// Reads the card in `reader` (one transaction).
    pub async fn read(&self, reader: &str) -> Result<CardRead, ReadError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Read {
            reader: reader.to_owned(),
            reply,
        };
        if self.requests.send(request).is_err() {
            return Err(ReadError::Stopped);
        }
        answer.await.unwrap_or(Err(ReadError::Stopped))
    }

    /// Verifies `pin` and signs `challenge` on the card in `reader` (one transaction). The
    /// PIN is dropped (zeroized) on the card thread once the transaction ends.
    pub async fn sign(
        &self,
        reader: &str,
        token: TokenKind,
        pin: Pin,
        confirm_last_try: bool,
        challenge: Vec<u8>,
    ) -> Result<Signed, SignThreadError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Sign {
            reader: reader.to_owned(),
            token,
            pin,
            confirm_last_try,
            challenge,
            reply,
        };
        if self.requests.send(request).is_err() {
            return Err(SignThreadError::Stopped);
        }
        answer.await.unwrap_or(Err(SignThreadError::Stopped))
    }
}

/// The thread's loop: one request at a time, until every handle is gone.
fn serve(mut connector: impl Connector, inbox: mpsc::Receiver<Request>) {
    for request in inbox {
        match request {
            Request::Read { reader, reply } => {
                let result =
                    connector.with_card(&reader, &mut |card| JpkiCard::new(card).read_card());
                // A caller that went away no longer wants the answer.
                let _ = reply.send(ReadError::flatten(result));
            }
            Request::Sign {
                reader,
                token,
                pin,
                confirm_last_try,
                challenge,
                reply,
            } => {
                let result = connector.with_card(&reader, &mut |card| {
                    JpkiCard::new(card).verify_and_sign(token, &pin, confirm_last_try, &challenge)
                });
                drop(pin);
                let _ = reply.send(SignThreadError::flatten(result));
            }
        }
    }
}
