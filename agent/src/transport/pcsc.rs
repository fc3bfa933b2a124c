//! The PC/SC implementation of layer 1, and the only file in the agent that imports `pcsc`.
//!
//! [`PcscContext`] establishes a context with the resource manager (pcscd), lists readers,
//! reports what each slot holds and waits for slot changes with `SCardGetStatusChange` and a
//! deadline, never by sleeping. [`PcscCard`] is a shared-mode connection to one card and a
//! [`CardTransport`]; [`PcscTransaction`] is the same inside a PC/SC transaction, which is how
//! card work runs (DOMAIN.md §10 rule 20). [`PcscMonitor`] is the reader watcher's view of
//! the same calls ([`super::watcher::StatusMonitor`]). Every call blocks, so this module
//! belongs on a thread of its own, never on an async worker. It never logs APDU payloads.

use std::ffi::CString;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::pcsc::{
    Card, Context, Disposition, Error, MAX_BUFFER_SIZE, PNP_NOTIFICATION, Protocols, ReaderState,
    Scope, ShareMode, State, Transaction,
};

use tracing::debug;

use super::watcher::{Canceller, PNP_READER, Slot, StatusMonitor};
use super::{CardTransport, ReaderStatus, SlotState, TransportError};

/// How long a snapshot may wait for the resource manager. A snapshot asks with every slot
/// state "unaware", which pcscd answers at once; the bound only guards against a hung daemon.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(5);

/// A context with the PC/SC resource manager.
///
/// After pcscd restarts, calls fail with [`TransportError::ServiceStopped`] or
/// [`TransportError::ServiceUnavailable`] for good: drop the context and establish a new one
/// ([`TransportError::needs_new_context`]).
pub struct PcscContext {
    ctx: Context,
}

impl fmt::Debug for PcscContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscContext").finish_non_exhaustive()
    }
}

impl PcscContext {
    /// Establishes a user-scope context; fails with [`TransportError::ServiceUnavailable`]
    /// when pcscd is not running.
    pub fn establish() -> Result<Self, TransportError> {
        let ctx = Context::establish(Scope::User).map_err(map_error("establishing a context"))?;
        Ok(Self { ctx })
    }

    /// Returns the names of the attached readers (empty when there are none).
    pub fn readers(&self) -> Result<Vec<String>, TransportError> {
        list_readers(&self.ctx)
    }

    /// Returns every attached reader with what its slot holds right now.
    pub fn reader_statuses(&self) -> Result<Vec<ReaderStatus>, TransportError> {
        let names = self.readers()?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut states = names
            .iter()
            .map(|name| Ok(ReaderState::new(reader_cstring(name)?, State::UNAWARE)))
            .collect::<Result<Vec<_>, TransportError>>()?;
        self.ctx
            .get_status_change(SNAPSHOT_TIMEOUT, &mut states)
            .map_err(map_error("reading reader states"))?;
        Ok(names
            .into_iter()
            .zip(&states)
            .map(|(name, state)| reader_status(name, state))
            .collect())
    }

    /// Blocks until `reader` shows `wanted` and returns its status, or fails with
    /// [`TransportError::WaitTimedOut`] once `timeout` has passed.
    ///
    /// The wait sleeps inside `SCardGetStatusChange`, which pcscd wakes on every change of the
    /// reader (and, through the PnP pseudo-reader, of the reader list), so a reader that
    /// appears only later is picked up too.
    pub fn wait_for(
        &self,
        reader: &str,
        wanted: SlotState,
        timeout: Duration,
    ) -> Result<ReaderStatus, TransportError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let name = reader_cstring(reader)?;
        let mut states = [
            ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE),
            ReaderState::new(name.clone(), State::UNAWARE),
        ];
        // pcscd fails the whole call for a reader it does not list; until the reader appears,
        // wait on the PnP pseudo-reader alone, which changes with the reader list.
        let mut listed = true;
        let mut last_seen = SlotState::ReaderMissing;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let watched = if listed {
                &mut states[..]
            } else {
                &mut states[..1]
            };
            match self.ctx.get_status_change(remaining, watched) {
                Ok(()) if listed => {
                    let status = reader_status(reader.to_owned(), &states[1]);
                    if status.state == wanted {
                        return Ok(status);
                    }
                    last_seen = status.state;
                }
                Ok(()) => {
                    // The reader list changed: look for the reader again.
                    listed = true;
                    states[1] = ReaderState::new(name.clone(), State::UNAWARE);
                }
                Err(Error::UnknownReader) if listed => {
                    listed = false;
                    last_seen = SlotState::ReaderMissing;
                    continue;
                }
                Err(Error::Timeout) => {
                    return Err(TransportError::WaitTimedOut {
                        reader: reader.to_owned(),
                        wanted,
                        last_seen,
                        waited: started.elapsed(),
                    });
                }
                Err(e) => return Err(map_error("waiting for a reader state change")(e)),
            }
            // Wait for the next change relative to what was just seen (event count included).
            for state in &mut states {
                state.sync_current_state();
            }
        }
    }

    /// Connects to the card in `reader` in shared mode, T=0 or T=1.
    pub fn connect(&self, reader: &str) -> Result<PcscCard, TransportError> {
        let card = self
            .ctx
            .connect(&reader_cstring(reader)?, ShareMode::Shared, Protocols::ANY)
            .map_err(map_error("connecting to the card"))?;
        Ok(PcscCard { card })
    }
}

/// A shared-mode connection to one card.
///
/// Dropping it disconnects with a card reset, which also drops any PIN the card had verified
/// for this connection (DOMAIN.md §1.6).
pub struct PcscCard {
    card: Card,
}

impl fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscCard").finish_non_exhaustive()
    }
}

impl PcscCard {
    /// Begins a PC/SC transaction: no other application reaches the card until it is dropped.
    /// Ending it leaves the card as it is.
    pub fn transaction(&mut self) -> Result<PcscTransaction<'_>, TransportError> {
        let tx = self
            .card
            .transaction()
            .map_err(map_error("beginning a transaction"))?;
        Ok(PcscTransaction { tx })
    }
}

impl PcscCard {
    /// Disconnects leaving the card as it is, for a card that already went away: a reset
    /// would only fail.
    pub fn disconnect_gone(self) {
        if let Err((_, e)) = self.card.disconnect(Disposition::LeaveCard) {
            debug!(error = %e, "disconnecting from a removed card failed");
        }
    }
}

impl CardTransport for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        transmit(&self.card, apdu)
    }
}

/// A card connection inside a PC/SC transaction.
pub struct PcscTransaction<'card> {
    tx: Transaction<'card>,
}

impl fmt::Debug for PcscTransaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscTransaction").finish_non_exhaustive()
    }
}

impl CardTransport for PcscTransaction<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        transmit(&self.tx, apdu)
    }
}

/// The reader watcher's PC/SC calls over pcscd. The context sits behind a lock only so that
/// [`StatusMonitor::canceller`] can reach the current one from another thread; waits run on
/// a clone of it (`Context` is a shared handle), so a cancel never waits for a wait to end.
#[derive(Default)]
pub struct PcscMonitor {
    context: Arc<Mutex<Option<Context>>>,
}

impl fmt::Debug for PcscMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscMonitor").finish_non_exhaustive()
    }
}

impl PcscMonitor {
    /// Returns a monitor with no context yet; the watcher establishes one.
    pub fn new() -> Self {
        Self::default()
    }

    fn context(&self) -> Result<Context, TransportError> {
        self.context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(TransportError::ServiceStopped)
    }
}

impl StatusMonitor for PcscMonitor {
    fn establish(&mut self) -> Result<(), TransportError> {
        let mut current = self.context.lock().unwrap_or_else(PoisonError::into_inner);
        // Drop the dead context first: its handle is no good to anyone (DOMAIN.md §7).
        *current = None;
        *current =
            Some(Context::establish(Scope::User).map_err(map_error("establishing a context"))?);
        Ok(())
    }

    fn list_readers(&mut self) -> Result<Vec<String>, TransportError> {
        list_readers(&self.context()?)
    }

    fn get_status_change(
        &mut self,
        timeout: Duration,
        slots: &mut [Slot],
    ) -> Result<bool, TransportError> {
        let context = self.context()?;
        let mut states = slots
            .iter()
            .map(|slot| {
                let name = if slot.name == PNP_READER {
                    PNP_NOTIFICATION().to_owned()
                } else {
                    reader_cstring(&slot.name)?
                };
                Ok(ReaderState::new(
                    name,
                    State::from_bits_retain(slot.current.into()),
                ))
            })
            .collect::<Result<Vec<_>, TransportError>>()?;
        match context.get_status_change(timeout, &mut states) {
            Ok(()) => {}
            Err(Error::Timeout) => return Ok(false),
            Err(e) => return Err(map_error("waiting for reader changes")(e)),
        }
        for (slot, state) in slots.iter_mut().zip(&states) {
            // The event count rides in the upper 16 bits, which `State` does not keep.
            slot.event = (state.event_state().bits() & 0xFFFF) as u32 | (state.event_count() << 16);
            slot.atr = state.atr().to_vec();
        }
        Ok(true)
    }

    fn canceller(&self) -> Canceller {
        let context = Arc::clone(&self.context);
        Arc::new(move || {
            if let Some(context) = context
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                // Nothing to cancel is fine: the stop flag ends the loop at its next turn.
                let _ = context.cancel();
            }
        })
    }
}

/// Transmits a short APDU: responses of up to 256 data bytes plus the status word fit
/// `MAX_BUFFER_SIZE`, and the agent sends no extended APDUs (DOMAIN.md §10 rule 3).
///
/// A card pulled in the middle of a command can come back as an empty response rather than
/// an error (vpcd does this, before pcscd's presence poll notices the removal). A card that
/// is there always answers at least SW1 SW2, so an answer without them is a removed card.
fn transmit(card: &Card, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut buffer = [0u8; MAX_BUFFER_SIZE];
    let response = card
        .transmit(apdu, &mut buffer)
        .map_err(map_error("transmitting an apdu"))?;
    if response.len() < 2 {
        return Err(TransportError::CardRemoved);
    }
    Ok(response.to_vec())
}

/// Returns the names of the readers `ctx` lists (empty when there are none).
fn list_readers(ctx: &Context) -> Result<Vec<String>, TransportError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names
            .iter()
            .map(|name| name.to_string_lossy().into_owned())
            .collect()),
        Err(Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(map_error("listing readers")(e)),
    }
}

fn reader_cstring(name: &str) -> Result<CString, TransportError> {
    // A name with an interior NUL cannot name any reader.
    CString::new(name).map_err(|_| TransportError::UnknownReader)
}

fn reader_status(name: String, state: &ReaderState) -> ReaderStatus {
    let slot = slot_state(state.event_state());
    let atr = match slot {
        SlotState::Card | SlotState::MuteCard => state.atr().to_vec(),
        SlotState::ReaderMissing | SlotState::ReaderUnavailable | SlotState::Empty => Vec::new(),
    };
    ReaderStatus {
        name,
        state: slot,
        atr,
    }
}

fn slot_state(event: State) -> SlotState {
    if event.intersects(State::UNKNOWN | State::IGNORE) {
        SlotState::ReaderMissing
    } else if event.contains(State::PRESENT) {
        if event.contains(State::MUTE) {
            SlotState::MuteCard
        } else {
            SlotState::Card
        }
    } else if event.contains(State::EMPTY) {
        SlotState::Empty
    } else {
        // UNAVAILABLE, or no state reported yet.
        SlotState::ReaderUnavailable
    }
}

fn map_error(action: &'static str) -> impl FnOnce(Error) -> TransportError {
    move |e| match e {
        Error::NoService => TransportError::ServiceUnavailable,
        Error::ServiceStopped | Error::InvalidHandle => TransportError::ServiceStopped,
        Error::UnknownReader | Error::NoReadersAvailable => TransportError::UnknownReader,
        Error::ReaderUnavailable => TransportError::ReaderUnavailable,
        Error::SharingViolation => TransportError::SharingViolation,
        Error::NoSmartcard => TransportError::NoCard,
        Error::RemovedCard => TransportError::CardRemoved,
        Error::ResetCard => TransportError::CardReset,
        Error::UnresponsiveCard | Error::UnpoweredCard => TransportError::UnresponsiveCard,
        Error::Cancelled => TransportError::Cancelled,
        other => TransportError::Pcsc {
            action,
            message: other.to_string(),
        },
    }
}
