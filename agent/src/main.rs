//! `mynafleet-agent`: the reader agent's command line. It parses arguments, sets up logging and
//! dispatches to the library; it holds no agent logic of its own.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mynafleet_agent::readers;
use mynafleet_agent::transport::{PcscContext, TransportError};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// MynaFleet reader agent.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists card readers and whether each holds a My Number card.
    Readers,
}

fn main() -> ExitCode {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let outcome = match Cli::parse().command {
        Command::Readers => print_readers(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mynafleet-agent: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_readers() -> Result<(), TransportError> {
    let reports = readers::survey(&PcscContext::establish()?)?;
    if reports.is_empty() {
        println!("no card readers attached");
    }
    reports.iter().for_each(|report| println!("{report}"));
    Ok(())
}
