//! `mynafleet-card-sim`: command-line front of the virtual card. It only parses arguments,
//! runs the library (`mynafleet_card_sim::cli`) and reports the outcome; it never handles
//! APDUs itself.

use std::process::ExitCode;

use clap::Parser;
use mynafleet_card_sim::SessionEnd;
use mynafleet_card_sim::cli::{Cli, Command, run_vpcd};

fn main() -> ExitCode {
    let Command::Vpcd(args) = Cli::parse().command;
    let (host, port) = (args.host.clone(), args.port);
    let outcome = run_vpcd(&args, || {
        eprintln!("mynafleet-card-sim: card inserted via vpcd at {host}:{port}");
    });
    match outcome {
        Ok(report) => {
            let how = match report.end {
                SessionEnd::Closed => "vpcd closed the connection",
                SessionEnd::Pulled => "the card was pulled",
            };
            let count = report.apdus;
            eprintln!("mynafleet-card-sim: {how} after {count} apdus");
            if report.apdu_log_failed {
                eprintln!("mynafleet-card-sim: writing the apdu log failed part-way");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mynafleet-card-sim: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
