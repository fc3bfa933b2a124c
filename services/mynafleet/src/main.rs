//! `mynafleet`: parses the command line and hands over to the library (`dev`, `serve`,
//! `admin`).

use clap::Parser as _;
use mynafleet::cli::{Cli, Command};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(args) => {
            let telemetry = mynafleet_kit::config::TelemetrySection {
                otlp_endpoint: args.otlp_endpoint.clone(),
                ..Default::default()
            };
            match mynafleet_kit::telemetry::init("mynafleet-dev", &telemetry) {
                Ok(guard) => {
                    let r = mynafleet::cli::run_dev(args).await;
                    guard.shutdown().await;
                    r.map(|()| ExitCode::SUCCESS)
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Serve(args) => mynafleet::serve::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Admin(args) => mynafleet::admin::run(args).await,
        Command::Health(args) => mynafleet::health::run(args).await,
        Command::Deploy(args) => mynafleet::deploy::run(args).await,
    };
    result.unwrap_or_else(|e| {
        eprintln!("mynafleet: {e:#}");
        ExitCode::FAILURE
    })
}
