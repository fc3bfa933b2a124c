//! The background task that holds activation's `WatchDeviceStatus` stream open and feeds
//! the status cache: the first connect starts at the head, every reconnect resumes after
//! the last token it saw, with jittered backoff between tries. It stops when the server
//! shuts down. It never answers a call itself; while it is down the gate asks activation.

use crate::client::{ActivationClient, CallError};
use crate::status::StatusCache;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Holds the watch until `shutdown` is cancelled. A stream that stays silent for
/// `stall_after` is taken for dead and reopened.
pub(crate) async fn run(
    activation: ActivationClient,
    cache: Arc<StatusCache>,
    stall_after: Duration,
    shutdown: CancellationToken,
) {
    let mut resume: Option<String> = None;
    let mut delays = backoff();
    // Log a lost watch once, not on every failed reconnect.
    let mut live = true;
    loop {
        let opened = tokio::select! {
            () = shutdown.cancelled() => break,
            opened = activation.watch(resume.as_deref()) => opened,
        };
        match opened {
            Ok(stream) => {
                cache.watch_connected(Instant::now());
                let delivered = follow(stream, &cache, &mut resume, stall_after, &shutdown).await;
                cache.watch_lost();
                if delivered {
                    delays = backoff();
                    if !live {
                        tracing::info!("device status watch restored");
                    }
                    live = true;
                }
            }
            Err(CallError::ResumeTokenInvalid) => {
                tracing::warn!("device status watch resume token refused; starting at head");
                resume = None;
            }
            Err(CallError::Failed(s)) => {
                tracing::debug!(code = ?s.code(), error = %s.message(), "device status watch not opened");
            }
        }
        if shutdown.is_cancelled() {
            break;
        }
        if live {
            tracing::warn!("device status watch lost; asking activation on each call");
            live = false;
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(5));
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    cache.watch_lost();
}

fn backoff() -> backon::ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Reads one open stream until it ends, fails, stalls or the server shuts down. Returns
/// whether it delivered any message.
async fn follow(
    stream: impl futures::Stream<Item = Result<crate::client::WatchMessage, CallError>>,
    cache: &StatusCache,
    resume: &mut Option<String>,
    stall_after: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let mut stream = std::pin::pin!(stream);
    let mut delivered = false;
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return delivered,
            next = tokio::time::timeout(stall_after, stream.next()) => next,
        };
        match next {
            Err(_) => {
                tracing::warn!(
                    silent_ms = stall_after.as_millis(),
                    "device status watch stalled"
                );
                return delivered;
            }
            Ok(None) => {
                tracing::info!("device status watch ended by activation");
                return delivered;
            }
            Ok(Some(Err(CallError::ResumeTokenInvalid))) => {
                tracing::warn!("device status watch resume token refused; starting at head");
                *resume = None;
                return delivered;
            }
            Ok(Some(Err(CallError::Failed(s)))) => {
                tracing::info!(code = ?s.code(), error = %s.message(), "device status watch broke");
                return delivered;
            }
            Ok(Some(Ok(m))) => {
                delivered = true;
                if !m.resume_token.is_empty() {
                    *resume = Some(m.resume_token);
                }
                cache.watch_message(Instant::now(), m.change);
            }
        }
    }
}
