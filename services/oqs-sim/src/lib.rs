//! The OQS simulator: a deterministic stand-in for the national eligibility system, for
//! development and tests. Today it describes its (seeded) population; the population itself,
//! the test JPKI CA, card profiles and card/number queries arrive with #5.
//!
//! It keeps its own reading of what it simulates and never shares the proxy's parser.

mod config;
mod grpc;

pub use config::{
    Config, Faults, FileConfig, Outage, Population, PopulationSection, Responder, ResponderEncoding,
};

use std::future::Future;

/// The service's short name: its SAN URI and span attribute.
pub const SERVICE_NAME: &str = "oqs-sim";

/// Returns the PEM certificate of the test JPKI CA in `dir`, creating the CA when missing.
pub fn test_ca_pem(_dir: &std::path::Path) -> anyhow::Result<String> {
    Ok(String::new())
}

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
