//! Keeps an `AgentService.WatchDevice` stream open to a proxy while the agent runs.
//!
//! It tries the proxy URLs from `identity.json` in order and stays on the first that answers;
//! when a stream breaks it starts again from the first, after a jittered backoff. Each stream
//! is opened on [`Identity::channel`] at that moment, so a reconnect after a renewal presents
//! the new certificate while an open stream keeps its connection. Status changes are logged
//! (suspended and revoked at error). It never sends anything but the watch request.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tracing::{error, info, warn};

use crate::client::{self, CallError};
use crate::identity::Identity;
use crate::reason::{self, Described};

/// Where a device is in its life, as the proxy reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// A code was bound to the key; no certificate yet.
    Pending,
    /// The device may work.
    Active,
    /// An operator (or the account's suspension) suspended it.
    Suspended,
    /// Revoked for good.
    Revoked,
    /// A status this agent does not know.
    Unknown(i32),
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pending => f.write_str("pending"),
            Self::Active => f.write_str("active"),
            Self::Suspended => f.write_str("suspended"),
            Self::Revoked => f.write_str("revoked"),
            Self::Unknown(n) => write!(f, "unknown ({n})"),
        }
    }
}

/// Why the watch ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WatchEnd {
    /// The shutdown future completed.
    #[error("stopped")]
    Shutdown,
    /// The proxy refuses the device for good (revoked, unknown, another account's).
    #[error("{}", Described { reason, message })]
    CutOff {
        /// `DEVICE_REVOKED`, `DEVICE_NOT_FOUND` or `DEVICE_ACCOUNT_MISMATCH`.
        reason: String,
        /// The proxy's message.
        message: String,
    },
}

fn backoff() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_jitter()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(30))
        .without_max_times()
        .build()
}

/// Watches the device's status until `shutdown` completes or a proxy refuses the device for
/// good.
pub async fn watch_device(
    identity: Arc<Identity>,
    shutdown: impl Future<Output = ()> + Send,
) -> WatchEnd {
    tokio::pin!(shutdown);
    let mut delays = backoff();
    let mut last: Option<DeviceStatus> = None;
    // Where the next round starts: the first proxy, or the one after a proxy that said it
    // is shutting down.
    let mut start = 0;
    loop {
        let urls = identity.record().proxy_urls;
        if urls.is_empty() {
            error!("identity.json names no proxy; the device status cannot be watched");
        }
        let mut next_start = 0;
        let mut at_once = false;
        for offset in 0..urls.len() {
            let index = (start + offset) % urls.len();
            let url = &urls[index];
            let channel = match identity.channel(url) {
                Ok(channel) => channel,
                Err(e) => {
                    warn!(proxy = %url, error = %e, "proxy url unusable");
                    continue;
                }
            };
            let opened = tokio::select! {
                () = &mut shutdown => return WatchEnd::Shutdown,
                opened = client::watch_device(channel) => opened,
            };
            let mut stream = match opened {
                Ok(stream) => stream,
                Err(e) => {
                    if let Some(end) = refusal(&e, url, &mut last) {
                        return end;
                    }
                    warn!(proxy = %url, error = %e, "device watch could not open; trying the next proxy");
                    continue;
                }
            };
            info!(proxy = %url, "device watch open");
            loop {
                let next = tokio::select! {
                    () = &mut shutdown => return WatchEnd::Shutdown,
                    next = stream.next() => next,
                };
                match next {
                    Ok(Some(status)) => {
                        delays = backoff();
                        if last != Some(status) {
                            log_status(status, url, None);
                            last = Some(status);
                        }
                        if status == DeviceStatus::Revoked {
                            return WatchEnd::CutOff {
                                reason: "DEVICE_REVOKED".into(),
                                message: "the proxy reports the device revoked".into(),
                            };
                        }
                    }
                    Ok(None) => {
                        warn!(proxy = %url, "device watch ended by the proxy; reconnecting");
                        break;
                    }
                    Err(e) => {
                        if let Some(end) = refusal(&e, url, &mut last) {
                            return end;
                        }
                        if e.reason() == "PROXY_SHUTTING_DOWN" && urls.len() > 1 {
                            info!(proxy = %url, "proxy shutting down; moving to the next proxy");
                            next_start = (index + 1) % urls.len();
                            at_once = true;
                        } else {
                            warn!(proxy = %url, error = %e, "device watch broke; reconnecting");
                        }
                        break;
                    }
                }
            }
            // A stream was open: the next round starts again from the first proxy (or the
            // next one), after the backoff.
            break;
        }
        start = next_start;
        if at_once {
            continue;
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(30));
        tokio::select! {
            () = &mut shutdown => return WatchEnd::Shutdown,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Logs a refusal that reports the device's status; returns the end of the watch when the
/// proxy refuses the device for good.
fn refusal(e: &CallError, url: &str, last: &mut Option<DeviceStatus>) -> Option<WatchEnd> {
    let reason = e.reason();
    if reason == "DEVICE_SUSPENDED" && *last != Some(DeviceStatus::Suspended) {
        log_status(DeviceStatus::Suspended, url, Some(reason));
        *last = Some(DeviceStatus::Suspended);
    }
    if !reason::ends_watch(reason) {
        return None;
    }
    if reason == "DEVICE_REVOKED" {
        log_status(DeviceStatus::Revoked, url, Some(reason));
    } else {
        error!(proxy = %url, reason, "the proxy refuses this device for good; activate again");
    }
    Some(WatchEnd::CutOff {
        reason: reason.to_owned(),
        message: e.message.clone(),
    })
}

fn log_status(status: DeviceStatus, url: &str, reason: Option<&str>) {
    let reason = reason.unwrap_or("");
    match status {
        DeviceStatus::Suspended => {
            error!(proxy = %url, %status, reason, "device suspended by an administrator; eligibility checks are refused")
        }
        DeviceStatus::Revoked => {
            error!(proxy = %url, %status, reason, "device revoked for good; activate again with a new code")
        }
        DeviceStatus::Active | DeviceStatus::Pending | DeviceStatus::Unknown(_) => {
            info!(proxy = %url, %status, "device status")
        }
    }
}
