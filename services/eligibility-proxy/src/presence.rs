//! Presence for the fleet view (DESIGN.md §3.5): what the proxy sees of each agent (event
//! stream open or closed, readers, card present, last scan, agent version) is forwarded to
//! activation's device registry with `ReportPresence`, latest report per device first,
//! coalesced, retried in the background; a report never delays the agent's stream.
//!
//! SKELETON (issue #6): the contract the event stream codes against.

#![allow(dead_code, reason = "skeleton: the event stream (issue 6) calls it")]

use time::OffsetDateTime;

/// One device's presence as an open (or just closed) event stream shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresenceReport {
    /// Whether the agent's event stream is open.
    pub(crate) online: bool,
    /// Attached readers: name and whether a card is on it.
    pub(crate) readers: Vec<(String, bool)>,
    /// When the agent's last scan finished.
    pub(crate) last_scan_time: Option<OffsetDateTime>,
    /// The agent's version.
    pub(crate) agent_version: String,
}

/// Forwards presence reports to activation; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Presences {
    _private: (),
}

impl Presences {
    /// Records `report` for `device` (`organizations/…/devices/{uuid}`) and returns at once;
    /// a background task forwards the latest report per device.
    pub(crate) fn report(&self, device: &str, report: PresenceReport) {
        let _ = (device, report);
    }
}
