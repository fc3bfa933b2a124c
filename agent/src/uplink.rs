//! Layer 5 (STYLE.md §8): the uplink. Streams unacked outbox rows to the proxy over
//! `AgentService.StreamEvents` and deletes each on ack; presence rides the same stream.
//!
//! It tries the proxy URLs from `identity.json` in order and stays on the first that answers
//! (like [`crate::watch`]); a broken stream or UNAVAILABLE reconnects after a jittered
//! backoff (100 ms to 5 s, so a proxy coming back is used at once), to the next proxy when
//! one says it is shutting down. A permanent refusal (the device suspended or revoked, a
//! malformed stream) is logged and retried only after a long pause, never in a tight loop.
//! Each stream is opened on [`Identity::channel`] at that moment, so a reconnect after a
//! renewal presents the new certificate.
//!
//! With `mod stream` and `mod wire`, the only agent module besides `client.rs` that imports
//! `mynafleet_proto`. It never logs event contents.

mod stream;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;
use tracing::{error, info, warn};

use crate::event::Presence;
use crate::identity::Identity;
use crate::outbox::Outbox;
use crate::reason::Described;
use stream::Ended;

/// What the uplink reports about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UplinkState {
    /// Whether a stream is open and ready.
    pub connected: bool,
}

/// How long a permanent refusal pauses the uplink (before jitter).
const PARK: Duration = Duration::from_secs(30);
/// How long a stream must have lived for the backoff to start again from its minimum.
const STEADY: Duration = Duration::from_secs(10);

/// Where the uplink connects: the proxy URLs and a channel to each.
pub(crate) trait Proxies: Send + Sync {
    /// Returns the proxy URLs, in order of preference.
    fn urls(&self) -> Vec<String>;
    /// Returns a channel to `url`.
    fn channel(&self, url: &str) -> Result<Channel, String>;
}

impl Proxies for Arc<Identity> {
    fn urls(&self) -> Vec<String> {
        self.record().proxy_urls
    }

    fn channel(&self, url: &str) -> Result<Channel, String> {
        Identity::channel(self, url).map_err(|e| e.to_string())
    }
}

/// Runs the uplink until `shutdown` completes.
pub async fn run(
    identity: Arc<Identity>,
    outbox: Outbox,
    presence: watch::Receiver<Presence>,
    state: watch::Sender<UplinkState>,
    shutdown: impl Future<Output = ()> + Send,
) {
    run_with(identity, outbox, presence, state, shutdown).await;
}

fn backoff() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_jitter()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .without_max_times()
        .build()
}

/// Whether a refusal with `code` will not change by retrying at once.
fn permanent(code: Code) -> bool {
    matches!(
        code,
        Code::PermissionDenied
            | Code::Unauthenticated
            | Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::Unimplemented
    )
}

/// Runs the uplink against `proxies` until `shutdown` completes.
pub(crate) async fn run_with(
    proxies: impl Proxies,
    outbox: Outbox,
    mut presence: watch::Receiver<Presence>,
    state: watch::Sender<UplinkState>,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    let mut delays = backoff();
    // Where the next round starts: the first proxy, or the one after a proxy that said it is
    // shutting down.
    let mut start = 0;
    loop {
        let urls = proxies.urls();
        if urls.is_empty() {
            error!("identity.json names no proxy; scan events stay in the outbox");
        }
        let mut next_start = 0;
        let mut at_once = false;
        let mut park = false;
        for offset in 0..urls.len() {
            let index = (start + offset) % urls.len();
            let url = &urls[index];
            let channel = match proxies.channel(url) {
                Ok(channel) => channel,
                Err(e) => {
                    warn!(proxy = %url, error = %e, "proxy url unusable");
                    continue;
                }
            };
            let opened = Instant::now();
            let ended = tokio::select! {
                () = &mut shutdown => return,
                ended = stream::stream(channel, url, &outbox, &mut presence, &state) => ended,
            };
            if !ended.was_ready() {
                if let Ended::Call { error: e, .. } = &ended
                    && permanent(e.code)
                {
                    error!(
                        proxy = %url,
                        code = ?e.code,
                        reason = %Described { reason: e.reason(), message: &e.message },
                        "the proxy refuses the event stream; retrying later"
                    );
                    park = true;
                    break;
                }
                warn!(proxy = %url, ended = ?ended, "event stream could not open; trying the next proxy");
                continue;
            }
            if opened.elapsed() >= STEADY {
                delays = backoff();
            }
            match &ended {
                Ended::Call { error: e, .. } if e.reason() == "PROXY_SHUTTING_DOWN" => {
                    info!(proxy = %url, "proxy shutting down; reconnecting");
                    if urls.len() > 1 {
                        next_start = (index + 1) % urls.len();
                        at_once = true;
                    }
                }
                Ended::Call { error: e, .. } if permanent(e.code) => {
                    error!(
                        proxy = %url,
                        code = ?e.code,
                        reason = %Described { reason: e.reason(), message: &e.message },
                        "the proxy ended the event stream; retrying later"
                    );
                    park = true;
                }
                Ended::Outbox(e) => error!(error = %e, "outbox failed; the event stream restarts"),
                Ended::Call { .. } | Ended::Closed { .. } => {
                    warn!(proxy = %url, ended = ?ended, "event stream broke; reconnecting");
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
        let delay = if park {
            PARK + delays.next().unwrap_or(PARK)
        } else {
            delays.next().unwrap_or(Duration::from_secs(5))
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests;
