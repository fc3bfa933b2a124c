//! MynaFleet reader agent: reads the My Number card's JPKI AP over PC/SC, and holds the
//! terminal's device identity.
//!
//! Card side, layered as STYLE.md §8 describes, each layer importing only the one below:
//! [`transport`] (layer 1: APDUs to a card and the reader watcher; only `transport/pcsc.rs`
//! imports `pcsc`), [`jpki`] (layer 2: APDU builders, status words, the allow-list, the read
//! and verify-and-sign operations), [`card_thread`] (layers 1–2 on a thread of their own),
//! [`session`] (layer 3: the pure per-reader state machine), [`outbox`] (layer 4: durable
//! [`event`]s) and [`uplink`] (layer 5: `StreamEvents` to the proxy). [`scan`] runs them for
//! `mynafleet-agent run`; [`terminal`] is the loopback API for the front desk. [`readers`] is
//! the diagnostic behind `mynafleet-agent readers`.
//!
//! Identity side (DESIGN.md §3.2, §3.6): [`enroll`] activates the terminal (pinning the
//! server by [`fingerprint`] through [`pin`]), [`state`] keeps key, certificate and CA in the
//! state directory, [`identity`] builds mTLS channels from them, [`renewal`] renews the
//! certificate and [`watch`] keeps the proxy's device watch open. Only `client.rs`, `uplink`
//! and `terminal` import `mynafleet_proto`. [`cli`] is the command line; [`telemetry`] its
//! logs and, when configured, the OTLP export of each card check's trace.
//!
//! The library never logs APDU payloads, passwords, activation codes or keys, never selects
//! an application other than the JPKI AP, never changes the process environment and does not
//! depend on `mynafleet-kit`.

pub mod card_thread;
pub mod certificate;
pub mod cli;
mod client;
pub mod enroll;
pub mod event;
pub mod facts;
pub mod fingerprint;
pub mod identity;
pub mod jpki;
pub mod outbox;
pub mod pin;
pub mod readers;
pub mod reason;
pub mod renewal;
pub mod scan;
pub mod server_url;
pub mod session;
pub mod state;
pub mod status;
pub mod telemetry;
pub mod terminal;
pub mod transport;
pub mod uplink;
pub mod watch;

pub use enroll::{ActivateParams, Activated, EnrollError, Trust, activate};
pub use identity::{Identity, IdentityError};
pub use renewal::{RenewalEnd, spawn_renewal};
