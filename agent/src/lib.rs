//! MynaFleet reader agent: reads the My Number card's JPKI AP over PC/SC.
//!
//! Layered as STYLE.md §8 describes, each layer importing only the one below:
//! [`transport`] (layer 1: APDUs to a card; only `transport/pcsc.rs` imports `pcsc`) and
//! [`jpki`] (layer 2: APDU builders, status words, the allow-list). Session, outbox and uplink
//! come later. [`readers`] is the diagnostic behind `mynafleet-agent readers`. The library never
//! logs APDU payloads, never selects an application other than the JPKI AP, never touches the
//! process environment and does not depend on `mynafleet-kit`.

pub mod jpki;
pub mod readers;
pub mod transport;
