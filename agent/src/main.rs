//! `mynafleet-agent`: the reader agent's command line. It parses arguments, sets up logging
//! and tracing (OTLP export when `--otlp-endpoint`, `MYNAFLEET_AGENT_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector), hands over to [`mynafleet_agent::cli`]
//! and flushes the spans before exiting; it holds no agent logic of its own.

use std::process::ExitCode;

use clap::Parser;
use mynafleet_agent::cli::{self, Cli};
use mynafleet_agent::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let endpoint = cli::otlp_endpoint(
        cli.otlp_endpoint.as_deref(),
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok(),
    );
    let telemetry = match telemetry::init(cli.default_log_level(), endpoint.as_deref()) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("mynafleet-agent: {e}");
            return ExitCode::from(2);
        }
    };
    let code = cli::execute(cli);
    telemetry.shutdown();
    code
}
