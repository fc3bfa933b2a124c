//! A virtual My Number card for tests and demos without hardware.
//!
//! [`Card`] is a plain object that answers command APDUs the way a physical card does;
//! [`vpcd`] connects one to pcscd's vsmartcard `vpcd` driver so real PC/SC clients see it in
//! a reader. Agent unit tests can also put a [`Card`] behind their transport trait directly.
//!
//! This crate is an independent reading of DOMAIN.md (§1 for the card, §8 for vpcd): it never
//! imports the agent's APDU builders or constants, so a wrong constant on either side fails a
//! test instead of agreeing with itself.

pub mod card;
pub mod vpcd;

pub use card::{Application, Card};
pub use vpcd::{Disconnect, VpcdClient, VpcdError};
