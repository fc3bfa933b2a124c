//! Presence for the fleet view (DESIGN.md §3.5): what the proxy sees of each agent (event
//! stream open or closed, readers, card present, last scan, agent version) is forwarded to
//! activation's device registry with `ReportPresence`, latest report per device first,
//! coalesced, retried in the background; a report never delays the agent's stream.
//!
//! [`Presences::report`] stamps a report with the proxy's clock and its instance name, puts
//! it in a map that keeps only the latest report per device, and wakes the forwarder. The
//! forwarder sends what the map holds, a few devices at a time; a report that failed for a
//! reason worth retrying goes back in the map unless a newer one took its place, and the
//! next round waits a jittered, growing delay. Activation keeps the report with the latest
//! time, so order between proxies needs nothing here. On shutdown the forwarder sends what
//! is left (the offline reports of the streams that just ended) within a short deadline. It
//! never stores a report and never decides anything about a device.

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt as _;
use mynafleet_kit::clock::Clock;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How many devices' reports are in flight at once.
const CONCURRENCY: usize = 16;
/// How long the forwarder may take to send what is left once the proxy stops.
const FLUSH_DEADLINE: Duration = Duration::from_secs(2);

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

/// A report as it is sent: when this proxy saw it, and which proxy it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamped {
    /// What the stream showed.
    pub(crate) report: PresenceReport,
    /// When the proxy saw it (its configured clock); the later report wins at activation.
    pub(crate) report_time: OffsetDateTime,
    /// The proxy's instance name.
    pub(crate) proxy: String,
}

/// Why activation did not take a report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// Activation could not be reached or did not answer in time: the report is tried again.
    #[error("presence report not delivered: {0}")]
    Retry(String),
    /// Activation refused the report (unknown device, malformed): it is dropped.
    #[error("presence report refused: {0}")]
    Refused(String),
}

/// Where reports go: activation's `ReportPresence` (`crate::client::ActivationClient`), or
/// a fake in tests.
pub(crate) trait PresenceSink: Send + Sync + 'static {
    /// Sends `presence` for `device` (`organizations/…/devices/{uuid}`).
    fn send(
        &self,
        device: &str,
        presence: &Stamped,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// The state [`Presences`] and its forwarder share.
#[derive(Debug)]
struct Shared {
    /// The latest report per device not yet sent.
    pending: Mutex<HashMap<String, Stamped>>,
    /// Wakes the forwarder when a report arrives.
    wake: Notify,
    clock: Clock,
    proxy: String,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Stamped>> {
        // The map holds plain values: a panic elsewhere leaves it usable.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes every pending report.
    fn take(&self) -> HashMap<String, Stamped> {
        std::mem::take(&mut *self.pending())
    }

    /// Puts a report that failed back, unless a newer one for the device arrived meanwhile.
    fn put_back(&self, device: String, stamped: Stamped) {
        self.pending().entry(device).or_insert(stamped);
    }
}

/// Forwards presence reports to activation; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Presences {
    shared: Arc<Shared>,
}

impl Presences {
    /// Returns the handle the event streams report through and spawns its forwarder to
    /// `sink`, stamping reports with `clock` and `proxy` (this proxy's instance name). The
    /// forwarder runs until `stop` is cancelled, then sends what is left within two seconds;
    /// the returned task ends after that.
    pub(crate) fn spawn(
        sink: impl PresenceSink,
        clock: Clock,
        proxy: String,
        stop: CancellationToken,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            clock,
            proxy,
        });
        let task = tokio::spawn(forward(sink, shared.clone(), stop));
        (Self { shared }, task)
    }

    /// Records `report` for `device` (`organizations/…/devices/{uuid}`) and returns at once;
    /// a background task forwards the latest report per device.
    pub(crate) fn report(&self, device: &str, report: PresenceReport) {
        let stamped = Stamped {
            report,
            report_time: self.shared.clock.now(),
            proxy: self.shared.proxy.clone(),
        };
        self.shared.pending().insert(device.to_owned(), stamped);
        self.shared.wake.notify_one();
    }
}

/// Returns this proxy's instance name for reports: the host's name and the port it serves on.
pub(crate) fn instance_name(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| crate::SERVICE_NAME.to_owned());
    format!("{host}:{port}")
}

fn backoff() -> backon::ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Sends reports as they arrive until `stop`, then flushes within [`FLUSH_DEADLINE`].
async fn forward(sink: impl PresenceSink, shared: Arc<Shared>, stop: CancellationToken) {
    let mut delays = backoff();
    let mut retry_after: Option<Duration> = None;
    loop {
        // After a failed round the next one waits; otherwise it waits for a report.
        let woken = async {
            match retry_after {
                Some(delay) => tokio::time::sleep(delay).await,
                None => shared.wake.notified().await,
            }
        };
        // Stop first: a report that arrived with the stop is sent by the bounded flush below,
        // never by a round that could wait on a slow activation past the shutdown. (A round
        // already under way finishes within the client's call timeout.)
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = woken => {}
        }
        if send_round(&sink, &shared).await {
            delays = backoff();
            retry_after = None;
        } else {
            retry_after = Some(delays.next().unwrap_or(Duration::from_secs(10)));
        }
    }
    let flush = async {
        // What was put back after a failure gets one more try.
        while !shared.pending().is_empty() {
            if !send_round(&sink, &shared).await {
                tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
            }
        }
    };
    if tokio::time::timeout(FLUSH_DEADLINE, flush).await.is_err() {
        tracing::warn!(
            devices = shared.pending().len(),
            "presence reports not delivered before shutdown"
        );
    }
}

/// Sends every pending report once; returns false when one must be tried again.
async fn send_round(sink: &impl PresenceSink, shared: &Shared) -> bool {
    let batch = shared.take();
    let failed = futures::stream::iter(batch)
        .map(|(device, stamped)| async move {
            match sink.send(&device, &stamped).await {
                Ok(()) => None,
                Err(SendError::Refused(why)) => {
                    tracing::warn!(device = %device, error = %why, "presence report refused");
                    None
                }
                Err(SendError::Retry(why)) => {
                    tracing::debug!(device = %device, error = %why, "presence report to retry");
                    Some((device, stamped))
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(std::future::ready)
        .collect::<Vec<_>>()
        .await;
    let ok = failed.is_empty();
    for (device, stamped) in failed {
        shared.put_back(device, stamped);
    }
    ok
}

#[cfg(test)]
mod tests;
