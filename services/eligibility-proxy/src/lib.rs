//! The eligibility proxy: agents' event streams in, eligibility checks out (#5, #6). Today it
//! answers `AgentService.WhoAmI` for devices, which proves the device side of the identity
//! layer end to end.

mod config;
mod grpc;

pub use config::{Config, FileConfig};

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
    let (frame, routes) = grpc::frame(config);
    mynafleet_kit::grpc::serve(frame, routes, listener, shutdown)
        .await
        .context("serve eligibility-proxy")?;
    Ok(())
}
