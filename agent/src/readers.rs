//! The `readers` diagnostic: one look at every PC/SC reader and what it holds.
//!
//! For a reader with a card it connects, selects the JPKI AP inside a transaction (through
//! [`JpkiCard`], so through the allow-list) and reports whether the card is a My Number card.
//! It reads nothing else from the card, and its output holds reader names, card kinds and
//! status words only; ATRs go to the debug log.

use std::fmt;

use tracing::debug;

use crate::jpki::{CardKind, JpkiCard, JpkiError, StatusWord};
use crate::transport::{PcscContext, SlotState, TransportError};

/// One reader and what was found in it.
#[derive(Debug)]
pub struct ReaderReport {
    /// The reader name.
    pub name: String,
    /// What the reader holds.
    pub finding: Finding,
}

/// What a reader holds.
#[derive(Debug)]
pub enum Finding {
    /// The reader's state could not be read.
    ReaderUnavailable,
    /// No card.
    Empty,
    /// A card that did not answer its reset.
    MuteCard,
    /// A card whose JPKI AP answered `9000`.
    MyNumberCard,
    /// A card that answered the JPKI SELECT with this status word.
    OtherCard(StatusWord),
    /// A card that could not be asked.
    Unreadable(JpkiError),
}

impl fmt::Display for ReaderReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.finding {
            Finding::ReaderUnavailable => write!(f, "{name}: reader unavailable"),
            Finding::Empty => write!(f, "{name}: no card"),
            Finding::MuteCard => write!(f, "{name}: card present, not responding"),
            Finding::MyNumberCard => write!(f, "{name}: card present, My Number card"),
            Finding::OtherCard(sw) => write!(
                f,
                "{name}: card present, not a My Number card (JPKI AP select answered {sw})"
            ),
            Finding::Unreadable(e) => write!(f, "{name}: card present, could not be read: {e}"),
        }
    }
}

/// Returns a report for every attached reader, in the resource manager's order.
pub fn survey(ctx: &PcscContext) -> Result<Vec<ReaderReport>, TransportError> {
    let statuses = ctx.reader_statuses()?;
    Ok(statuses
        .into_iter()
        .map(|status| {
            let finding = match status.state {
                SlotState::ReaderMissing | SlotState::ReaderUnavailable => {
                    Finding::ReaderUnavailable
                }
                SlotState::Empty => Finding::Empty,
                SlotState::MuteCard => Finding::MuteCard,
                SlotState::Card => {
                    debug!(reader = %status.name, atr = %Hex(&status.atr), "card present");
                    match identify(ctx, &status.name) {
                        Ok(CardKind::MyNumber) => Finding::MyNumberCard,
                        Ok(CardKind::NotMyNumber(sw)) => Finding::OtherCard(sw),
                        Err(e) => Finding::Unreadable(e),
                    }
                }
            };
            ReaderReport {
                name: status.name,
                finding,
            }
        })
        .collect())
}

fn identify(ctx: &PcscContext, reader: &str) -> Result<CardKind, JpkiError> {
    let mut card = ctx.connect(reader)?;
    let transaction = card.transaction()?;
    JpkiCard::new(transaction).identify()
}

/// Formats bytes as upper-case hex without separators.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}
