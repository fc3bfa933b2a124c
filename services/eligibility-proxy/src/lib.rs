//! The eligibility proxy: agents' event streams in, eligibility checks out (#5, #6). Today it
//! serves `AgentService` for devices: `WhoAmI` and the `WatchDevice` stream. Every agent call
//! is let through only for a device activation reports ACTIVE, from a status cache fed by
//! activation's device-status watch and never older than `status_max_age`.
//!
//! It reaches activation only through `client.rs`; it has no database yet.

mod audit;
mod challenge;
mod client;
mod config;
mod error;
mod gate;
mod grpc;
mod handoff;
mod oqs;
mod scope;
mod status;
mod store;
mod upstream;
mod verify;
mod watch;

pub use config::{
    Config, FileConfig, FileInterfaceConfig, HandoffConfig, ProxyKeys, TrustRoots, UpstreamConfig,
    UpstreamKind, XmlEncoding,
};
pub use error::{Error, Result};

use std::future::Future;

/// The service's short name: its SAN URI and span attribute.
pub const SERVICE_NAME: &str = "eligibility-proxy";

/// Runs the proxy on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let activation = client::ActivationClient::new(&config).context("build activation client")?;
    let cache = status::StatusCache::new(config.status_max_age);
    let token = tokio_util::sync::CancellationToken::new();
    // A watch silent for twice the freshness bound is reopened; heartbeats come every 500 ms.
    let watcher = tokio::spawn(watch::run(
        activation.clone(),
        cache.clone(),
        config.status_max_age * 2,
        token.clone(),
    ));
    let gate = gate::Gate::new(cache, activation);
    let agents = grpc::Agents::new(
        gate,
        config.watch_heartbeat,
        config.clock.clone(),
        token.clone(),
    );
    let (frame, routes) = grpc::frame(config.tls, agents);
    let stop = token.clone();
    let served = mynafleet_kit::grpc::serve(frame, routes, listener, async move {
        shutdown.await;
        stop.cancel();
    })
    .await;
    // The server may also stop on its own (an error); the watch stops with it.
    token.cancel();
    if let Err(e) = watcher.await {
        tracing::warn!(error = %e, "device status watch task failed");
    }
    served.context("serve eligibility-proxy")?;
    Ok(())
}
