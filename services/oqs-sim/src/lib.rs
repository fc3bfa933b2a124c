//! The OQS simulator: a deterministic stand-in for the national eligibility system, for
//! development and tests. It holds a seeded synthetic population, a test JPKI CA
//! (`O=JPKI-TEST`) that issues each person's auth certificate and card profile, answers card
//! and number queries, 照会番号 registration and 再照会 over gRPC, and plays the 資格確認端末
//! side of the OQS file interface in configured folders. Latency and fault knobs let tests
//! exercise timeouts, errors and outages. See docs/oqs-sim.md.
//!
//! It keeps its own reading and writing of OQS XML and never shares the proxy's parser. Like
//! the proxy, it uses the `mynafleet.eligibility.v1` result shape as its result type (the
//! XML element tree as typed data). Every person is made up; it never holds real data.

mod card;
mod config;
mod error;
mod grpc;
mod jpki;
mod metrics;
mod population;
mod responder;
mod sim;
#[cfg(test)]
mod testing;

pub use card::{CardProfile, CardRequest, Token, issue_card};
pub use config::{
    Config, Faults, FileConfig, Outage, Population, PopulationSection, Responder, ResponderEncoding,
};
pub use error::Error;
pub use jpki::{JpkiError, LeafRequest, TestCa, VerifyError, generate_key, load_or_create};
pub use population::{CardNumbers, People, Person, person};

use std::future::Future;

/// The service's short name: its SAN URI and span attribute.
pub const SERVICE_NAME: &str = "oqs-sim";

/// Returns the PEM certificate of the test JPKI CA in `dir`, creating the CA when missing.
pub fn test_ca_pem(dir: &std::path::Path) -> anyhow::Result<String> {
    Ok(load_or_create(dir)?.cert_pem().to_owned())
}

/// Runs the simulator on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let dir = config.jpki_dir.clone();
    // RSA key generation (first start only) is CPU-bound: keep it off the runtime's workers.
    let ca = tokio::task::spawn_blocking(move || load_or_create(&dir))
        .await
        .context("load or create the test jpki ca")?
        .context("load or create the test jpki ca")?;
    let sim = std::sync::Arc::new(sim::Sim::new(&config, ca));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut responders = tokio::task::JoinSet::new();
    for r in config.responders.clone() {
        responders.spawn(responder::run(r, sim.clone(), stop.clone()));
    }
    let (frame, routes) = grpc::frame(config, sim);
    let served = mynafleet_kit::grpc::serve(frame, routes, listener, shutdown).await;
    stop.cancel();
    while responders.join_next().await.is_some() {}
    served.context("serve oqs-sim")?;
    Ok(())
}
