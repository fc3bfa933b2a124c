//! A virtual My Number card for tests and demos without hardware.
//!
//! [`Card`] is a plain object that answers command APDUs the way a physical card does
//! ([`Card::respond`] is the in-memory transport); [`vpcd`] connects one to pcscd's
//! vsmartcard `vpcd` driver so real PC/SC clients see it in a reader. Agent unit tests can
//! also put a [`Card`] behind their transport trait directly. docs/card-sim.md describes what
//! the card models, its quirks, the CLI and the APDU log format.
//!
//! This crate is an independent reading of DOMAIN.md (§1 for the card, §8 for vpcd): it never
//! imports the agent's APDU builders or constants, nor oqs-sim (it reads oqs-sim's card
//! profiles from their documented layout), so a wrong constant on either side fails a test
//! instead of agreeing with itself.

pub mod card;
pub mod cli;
pub mod vpcd;

pub use card::{
    ApduLog, Application, BlockedAnswer, Card, CardPulled, CardSpec, Pin, PinCounter, ProfileError,
    Quirks, Token,
};
pub use vpcd::{Disconnect, Inserted, SessionEnd, VpcdClient, VpcdError};
