//! `mynafleet-agent`: the reader agent's command line. It parses arguments, sets up logging and
//! hands over to [`mynafleet_agent::cli`]; it holds no agent logic of its own.

use std::process::ExitCode;

use clap::Parser;
use mynafleet_agent::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::builder()
        .with_default_directive(cli.default_log_level().into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    cli::execute(cli)
}
