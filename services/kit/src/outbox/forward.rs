//! The audit forwarder: a background loop that hands the outbox's records to the central
//! store through the service's `send` function and deletes them once it has them. Every
//! ~200 ms it sends up to 500 of the oldest; a failure is noted on the records and retried
//! with jittered backoff (capped at 5 s). At shutdown it tries once more, briefly. A record
//! leaves the outbox only after `send` succeeded, so none is lost; a resend after a lost
//! reply is a duplicate the central store ignores (ingest is idempotent by record id). It
//! never writes or changes a record's content.

use super::{OutboxRecord, delete, note_failure, pending};
use backon::BackoffBuilder as _;
use sqlx::AnyPool;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the outbox is looked at when it is empty or was emptied.
const POLL: Duration = Duration::from_millis(200);
/// The most records sent at once (the central store's per-call limit).
pub const BATCH: u32 = 500;
/// How long the last attempt at shutdown may take.
const FINAL_FLUSH: Duration = Duration::from_secs(1);
/// The longest error text kept on a record.
const MAX_ERROR_CHARS: usize = 300;

/// Returns the retry backoff: jittered, from 200 ms up to 5 s, for as long as it takes.
fn backoff() -> backon::ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(POLL)
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

/// What one pass over the outbox did.
#[derive(Debug, PartialEq, Eq)]
pub enum Flushed {
    /// This many records were sent and deleted (0: the outbox was empty).
    Sent(usize),
    /// Sending failed; the records stay, with the failure noted.
    Failed {
        /// How many records were tried.
        tried: usize,
        /// Why it failed.
        error: String,
    },
}

/// Sends up to `limit` of the oldest records with `send` and deletes them once it succeeds;
/// on failure notes the error on them and keeps them.
pub async fn flush<F, Fut>(pool: &AnyPool, limit: u32, send: F) -> Result<Flushed, sqlx::Error>
where
    F: FnOnce(Vec<OutboxRecord>) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let records = pending(pool, limit).await?;
    if records.is_empty() {
        return Ok(Flushed::Sent(0));
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    match send(records).await {
        Ok(()) => {
            delete(pool, &ids).await?;
            Ok(Flushed::Sent(ids.len()))
        }
        Err(e) => {
            let error: String = e.chars().take(MAX_ERROR_CHARS).collect();
            note_failure(pool, &ids, &error).await?;
            Ok(Flushed::Failed {
                tried: ids.len(),
                error,
            })
        }
    }
}

/// Forwards the outbox with `send` until `shutdown` is cancelled, then tries once more.
/// `send` gets up to [`BATCH`] records, oldest first, and returns the failure's text.
pub async fn run<F, Fut>(pool: AnyPool, send: F, shutdown: CancellationToken)
where
    F: Fn(Vec<OutboxRecord>) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut delays = backoff();
    let mut failing = false;
    let mut delay = Duration::ZERO;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
        delay = match flush(&pool, BATCH, &send).await {
            Ok(Flushed::Sent(n)) => {
                if failing {
                    tracing::info!(sent = n, "audit forwarding recovered");
                    failing = false;
                }
                delays = backoff();
                // A full batch suggests more wait: go on at once.
                if n == BATCH as usize {
                    Duration::ZERO
                } else {
                    POLL
                }
            }
            Ok(Flushed::Failed { tried, error }) => {
                if !failing {
                    tracing::warn!(records = tried, error, "audit forwarding failed; retrying");
                    failing = true;
                }
                delays.next().unwrap_or(Duration::from_secs(5))
            }
            Err(e) => {
                tracing::warn!(error = %e, "audit outbox unreadable; retrying");
                failing = true;
                delays.next().unwrap_or(Duration::from_secs(5))
            }
        };
    }
    // Best effort: what is left is sent by the next start.
    match tokio::time::timeout(FINAL_FLUSH, flush(&pool, BATCH, &send)).await {
        Ok(Ok(Flushed::Sent(_))) => {}
        Ok(Ok(Flushed::Failed { tried, error })) => {
            tracing::info!(
                records = tried,
                error,
                "audit records left for the next start"
            );
        }
        Ok(Err(e)) => tracing::info!(error = %e, "audit records left for the next start"),
        Err(_) => tracing::info!("audit records left for the next start"),
    }
}

#[cfg(test)]
mod tests;
