//! The two ways the card thread opens a card: [`PcscConnector`] through pcscd, and
//! [`memory_connector`] over in-memory cards. Neither retries card work; the PC/SC one only
//! retries opening the card once after pcscd restarted, before any APDU was sent.

use std::fmt;

use super::Connector;
use crate::transport::{CardTransport, PcscContext, TransportError};

/// Opens cards through pcscd: connects in shared mode and runs the work inside a PC/SC
/// transaction, so no other application talks to the card meanwhile (DOMAIN.md §7, §10 rule
/// 20). The connection is dropped after each request, which resets the card and so drops any
/// PIN it verified; a card that went away is left as it is instead, since a failed reset
/// leaves pcscd's slot looking empty to this process even after the next insert. A context that pcscd's restart invalidated is established again: at once
/// (one retry) when opening the card finds it dead, or on the next request when it dies
/// during the work.
#[derive(Default)]
pub struct PcscConnector {
    context: Option<PcscContext>,
}

impl fmt::Debug for PcscConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscConnector")
            .field("established", &self.context.is_some())
            .finish()
    }
}

impl PcscConnector {
    /// Returns a connector that establishes its context on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn context(&mut self) -> Result<&PcscContext, TransportError> {
        match &mut self.context {
            Some(context) => Ok(context),
            empty => Ok(empty.insert(PcscContext::establish()?)),
        }
    }
}

impl Connector for PcscConnector {
    fn with_card<R>(
        &mut self,
        reader: &str,
        work: &mut dyn FnMut(&mut dyn CardTransport) -> R,
    ) -> Result<R, TransportError> {
        let mut retried = false;
        loop {
            let opened = self
                .context()
                .and_then(|context| context.connect(reader))
                .and_then(|mut card| {
                    let outcome = match card.transaction() {
                        Ok(mut transaction) => {
                            let mut watched = Watched {
                                inner: &mut transaction,
                                context_died: false,
                                card_gone: false,
                            };
                            let result = work(&mut watched);
                            Ok((result, watched.context_died, watched.card_gone))
                        }
                        Err(e) => Err(e),
                    };
                    // A reset of a card that went away fails, and leaves pcscd's slot
                    // looking empty to this process even after the next insert.
                    match outcome {
                        Ok((result, context_died, card_gone)) => {
                            if card_gone {
                                card.disconnect_gone();
                            }
                            Ok((result, context_died))
                        }
                        Err(e) => {
                            if e.card_gone() {
                                card.disconnect_gone();
                            }
                            Err(e)
                        }
                    }
                });
            match opened {
                Ok((result, context_died)) => {
                    if context_died {
                        self.context = None;
                    }
                    return Ok(result);
                }
                Err(e) if e.needs_new_context() => {
                    self.context = None;
                    if retried {
                        return Err(e);
                    }
                    retried = true;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A transport that notices when pcscd went away under the work.
struct Watched<'a> {
    inner: &'a mut dyn CardTransport,
    context_died: bool,
    card_gone: bool,
}

impl CardTransport for Watched<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self.inner.transmit(apdu);
        if let Err(e) = &result {
            self.context_died |= e.needs_new_context();
            self.card_gone |= e.card_gone();
        }
        result
    }
}

/// A [`Connector`] over in-memory cards; see [`memory_connector`].
pub struct MemoryConnector<F> {
    open: F,
}

impl<F> fmt::Debug for MemoryConnector<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryConnector").finish_non_exhaustive()
    }
}

/// Returns a [`Connector`] that asks `open` for the card in a reader on every request and
/// runs the work against it: `Err(TransportError::NoCard)` for an empty reader,
/// `Err(TransportError::UnknownReader)` for one that does not exist. To keep a card's state
/// (PIN counter, APDU log) across requests, share it, for example card-sim's card behind an
/// `Arc<Mutex<_>>` wrapped in [`crate::transport::FnTransport`]:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use mynafleet_agent::card_thread::{CardThread, memory_connector};
/// use mynafleet_agent::transport::{CardTransport, FnTransport, TransportError};
///
/// let card = Arc::new(Mutex::new(mynafleet_card_sim::Card::my_number()));
/// let thread = CardThread::spawn(memory_connector(move |reader: &str| {
///     if reader != "Virtual PCD 00 00" {
///         return Err(TransportError::UnknownReader);
///     }
///     let card = Arc::clone(&card);
///     Ok(Box::new(FnTransport(move |apdu: &[u8]| {
///         let mut card = card.lock().map_err(|_| TransportError::CardRemoved)?;
///         Ok(card.respond(apdu))
///     })) as Box<dyn CardTransport>)
/// }));
/// # drop(thread);
/// ```
pub fn memory_connector<F>(open: F) -> MemoryConnector<F>
where
    F: FnMut(&str) -> Result<Box<dyn CardTransport>, TransportError> + Send + 'static,
{
    MemoryConnector { open }
}

impl<F> Connector for MemoryConnector<F>
where
    F: FnMut(&str) -> Result<Box<dyn CardTransport>, TransportError> + Send + 'static,
{
    fn with_card<R>(
        &mut self,
        reader: &str,
        work: &mut dyn FnMut(&mut dyn CardTransport) -> R,
    ) -> Result<R, TransportError> {
        let mut card = (self.open)(reader)?;
        Ok(work(&mut *card))
    }
}
