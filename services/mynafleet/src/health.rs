//! `mynafleet health`: one grpc.health.v1 Check over TLS, for container and systemd probes
//! (Kubernetes' built-in gRPC probe speaks plaintext only). Skeleton: filled in by #8.

use std::process::ExitCode;

/// Flags of `mynafleet health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {}

/// Runs the check; exit 0 when SERVING.
pub async fn run(_args: HealthArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("mynafleet health is not implemented yet")
}
