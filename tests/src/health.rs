//! Readiness by gRPC health, polled on an interval inside a deadline (never a bare sleep).

use mynafleet_proto::tonic::transport::Channel;
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Returns the health status of `service` ("" for the whole server).
pub async fn check(channel: Channel, service: &str) -> Result<ServingStatus, tonic::Status> {
    let r = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(r.into_inner().status())
}

/// Polls until `service` reports SERVING; panics with the last answer when `deadline` passes.
pub async fn wait_serving(channel: Channel, service: &str, deadline: Duration) {
    let mut last = None;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let waited = tokio::time::timeout(deadline, async {
        loop {
            tick.tick().await;
            match check(channel.clone(), service).await {
                Ok(ServingStatus::Serving) => return,
                other => last = Some(format!("{other:?}")),
            }
        }
    })
    .await;
    if waited.is_err() {
        panic!("{service:?} not SERVING within {deadline:?}; last answer: {last:?}");
    }
}
