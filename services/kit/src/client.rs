//! Outbound calls between services: a lazy mTLS channel with trace propagation, and the one
//! retry rule — only UNAVAILABLE is retried, with jittered exponential backoff, a few times.
//! Every other code is permanent and returned at once.

use crate::telemetry::TracePropagation;
use crate::tls::{ChannelError, ClientTls};
use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A channel whose calls carry the caller's trace context.
pub type TracedChannel = InterceptedService<Channel, TracePropagation>;

/// Returns a lazily connecting channel to `url` with `timeout` on every call.
pub fn traced_channel(
    tls: &ClientTls,
    url: &str,
    timeout: Duration,
) -> Result<TracedChannel, ChannelError> {
    Ok(InterceptedService::new(
        tls.lazy_channel(url, timeout)?,
        TracePropagation,
    ))
}

/// Runs `call` and retries it while it fails with UNAVAILABLE: three more tries with
/// jittered backoff from 50 ms, so a restarting peer is waited for briefly, never forever.
pub async fn retry_unavailable<T, F, Fut>(call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    call.retry(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(1))
            .with_max_times(3)
            .with_jitter(),
    )
    .when(|s: &tonic::Status| s.code() == tonic::Code::Unavailable)
    .await
}
