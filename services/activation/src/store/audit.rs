//! The audit outbox: the table is activation's (migrations 0002 and 0003), the code is the
//! shared `mynafleet_kit::outbox` (with its conformance suite); this module only names it
//! where the rest of the store lives. Records are written by `crate::audit`.

pub use mynafleet_kit::outbox::{OutboxRecord, delete, depth, note_failure, pending};
