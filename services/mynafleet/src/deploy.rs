//! `mynafleet deploy init`: writes what a deployment needs before its first start.
//! Skeleton: filled in by #8.

use std::process::ExitCode;

/// Flags of `mynafleet deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {}

/// Runs the deploy subcommand.
pub async fn run(_args: DeployArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("mynafleet deploy is not implemented yet")
}
