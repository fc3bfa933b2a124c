//! The OQS simulator: a deterministic stand-in for the national eligibility system, for
//! development and tests. Today it describes its (seeded) population; the population itself,
//! the test JPKI CA, card profiles and card/number queries arrive with #5.
//!
//! It keeps its own reading of what it simulates and never shares the proxy's parser.

mod config;
mod grpc;

pub use config::{Config, FileConfig, Population, PopulationSection};

use std::future::Future;

/// The service's short name: its SAN URI and span attribute.
pub const SERVICE_NAME: &str = "oqs-sim";

/// Runs the simulator on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (frame, routes) = grpc::frame(config);
    mynafleet_kit::grpc::serve(frame, routes, listener, shutdown)
        .await
        .context("serve oqs-sim")?;
    Ok(())
}
