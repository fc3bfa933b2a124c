//! Agents' scan events as the proxy keeps them (DESIGN.md §3.5): the domain values the
//! `StreamEvents` handler builds from the wire, the group-commit writer that stores a
//! stream's batch durably before it is acked, and the registry of open streams that keeps a
//! closing stream from reporting its device offline while a newer one is open.
//!
//! Events carry no patient identity (no certificate, serial, name, PIN or APDU payload), so
//! nothing here is keyed or sealed. It never decides a status code; `grpc/events.rs` does.

pub(crate) mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

pub(crate) use store::EventStore;

/// One scan event from an agent, validated (seq > 0, kind set, time set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AgentEvent {
    /// The device's sequence number, from 1.
    pub(crate) seq: u64,
    /// What happened, as the wire names it without its prefix (`CARD_INSERTED`).
    pub(crate) kind: String,
    /// When it happened, microseconds since the epoch.
    pub(crate) time: i64,
    /// Random per-scan id; empty outside a scan.
    pub(crate) scan_id: String,
    /// PC/SC reader name.
    pub(crate) reader: String,
    /// The token kind (`CARD`, `ANDROID`, …); empty when unknown.
    pub(crate) token: String,
    /// PIN tries left as the card reported them.
    pub(crate) tries_left: Option<u32>,
    /// Status word of the failing card answer.
    pub(crate) status_word: String,
    /// Machine-readable failure class.
    pub(crate) error_class: String,
    /// How long the step took.
    pub(crate) duration_ms: u32,
    /// `CHECK_COMPLETED`: verdict and 資格有効性 code.
    pub(crate) verdict: String,
    /// `CHECK_COMPLETED`: the proxy's check id.
    pub(crate) check_id: String,
    /// Whether a full outbox would never drop it.
    pub(crate) security: bool,
    /// `EVENTS_DROPPED`: how many routine events the agent's outbox dropped.
    pub(crate) dropped_events: u64,
    /// Whether the card holds a signature certificate.
    pub(crate) signature_certificate_available: Option<bool>,
    /// The agent's version when it wrote the event.
    pub(crate) agent_version: String,
}

/// One stream's batch of events, written in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventBatch {
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub(crate) device: String,
    /// The outbox the events come from (the stream's hello).
    pub(crate) outbox_id: String,
    /// The agent's version (the stream's hello).
    pub(crate) agent_version: String,
    /// When the proxy received them, microseconds since the epoch.
    pub(crate) received_time: i64,
    /// The events, in the order the agent sent them.
    pub(crate) events: Vec<AgentEvent>,
}

/// What writing a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Events written for the first time.
    pub(crate) stored: u64,
    /// Events already held (same device and seq), dropped.
    pub(crate) duplicates: u64,
}

/// Where a device's stream left off: told to the agent when its stream opens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// The highest seq held for the device (0 for none).
    pub(crate) last_seq: u64,
    /// The outbox that seq came from; empty for none.
    pub(crate) outbox_id: String,
}

/// The open event streams per device, so only the newest stream of a device reports it
/// offline when it ends; cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenStreams {
    inner: Arc<Mutex<HashMap<String, u64>>>,
}

impl OpenStreams {
    /// Registers a new stream of `device` and returns its generation.
    pub(crate) fn open(&self, device: &str) -> u64 {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = map.get(device).map_or(1, |g| g + 1);
        map.insert(device.to_owned(), generation);
        generation
    }

    /// Ends the stream `generation` of `device`; returns whether it was the newest one (so
    /// the device is now offline).
    pub(crate) fn close(&self, device: &str, generation: u64) -> bool {
        let map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(device) == Some(&generation)
    }
}

#[cfg(test)]
mod tests;
