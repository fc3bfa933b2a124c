//! A device's presence as the eligibility proxies report it for the fleet view: whether its
//! agent's event stream is open, its readers and whether a card is on each, its last scan and
//! version, and which proxy saw it when. A report is what a proxy says a terminal says, so it
//! is bounded and cleaned before it is kept; it never changes a device's status.

/// The longest text kept for a reader name, a version or a proxy name.
const MAX_LEN: usize = 200;
/// The most readers kept.
const MAX_READERS: usize = 16;

/// One PC/SC reader of a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PresenceReader {
    /// Its PC/SC name.
    pub(crate) name: String,
    /// Whether a card is on it.
    pub(crate) card_present: bool,
}

/// What a proxy last saw of a device's agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DevicePresence {
    /// Whether the agent's event stream is open at a proxy.
    pub(crate) online: bool,
    /// Its readers.
    pub(crate) readers: Vec<PresenceReader>,
    /// When its last scan finished, microseconds since the epoch.
    pub(crate) last_scan_time: Option<i64>,
    /// The agent's version.
    pub(crate) agent_version: String,
    /// When the proxy saw this, microseconds since the epoch; a later report wins.
    pub(crate) report_time: i64,
    /// The reporting proxy's instance name.
    pub(crate) proxy: String,
}

/// Returns `s` without control characters and cut to [`MAX_LEN`] characters.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_LEN)
        .collect()
}

impl DevicePresence {
    /// Returns the presence with every text cleaned of control characters and cut to 200
    /// characters, at most 16 readers and no reader without a name: a terminal's own report
    /// is informative, never trusted.
    pub(crate) fn bounded(self) -> Self {
        Self {
            readers: self
                .readers
                .iter()
                .map(|r| PresenceReader {
                    name: clean(&r.name),
                    card_present: r.card_present,
                })
                .filter(|r| !r.name.is_empty())
                .take(MAX_READERS)
                .collect(),
            agent_version: clean(&self.agent_version),
            proxy: clean(&self.proxy),
            ..self
        }
    }
}

#[cfg(test)]
mod tests;
