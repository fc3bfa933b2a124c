//! The `mynafleet-agent` command line: `readers`, `activate`, `status`, `run` and `check`.
//!
//! Parses arguments, resolves the state directory, prompts for what is missing (only on a
//! terminal) and calls the library; `main.rs` only sets up logging and calls [`execute`].
//! Secrets read here go straight into zeroizing buffers and are never echoed or logged.

mod activate;
mod check;
mod prompt;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use tracing::level_filters::LevelFilter;

use crate::identity::Identity;
use crate::readers;
use crate::state;
use crate::transport::PcscContext;

pub use self::activate::ActivateArgs;
pub use self::check::CheckArgs;
pub use self::run::RunArgs;

/// MynaFleet reader agent.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// Where the agent keeps its key, certificate and identity [default: the per-user data
    /// directory + mynafleet-agent].
    #[arg(
        long,
        global = true,
        env = "MYNAFLEET_AGENT_STATE_DIR",
        value_name = "DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// Export traces over OTLP/gRPC to this collector, e.g. `http://collector:4317`
    /// [default: `OTEL_EXPORTER_OTLP_ENDPOINT`, else no export].
    #[arg(
        long,
        global = true,
        env = "MYNAFLEET_AGENT_OTLP_ENDPOINT",
        value_name = "URL"
    )]
    pub otlp_endpoint: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The agent's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists card readers and whether each holds a My Number card.
    Readers,
    /// Activates this terminal with the four items of its ユーザ設定情報 sheet.
    Activate(ActivateArgs),
    /// Prints this terminal's identity, servers and certificate expiry.
    Status,
    /// Runs the agent until stopped: readers, scans, the event uplink, the terminal API,
    /// certificate renewal and the device watch.
    Run(RunArgs),
    /// Does one card check through the running agent and prints the result.
    Check(CheckArgs),
}

impl Cli {
    /// Returns the log level when `RUST_LOG` says nothing: `run` reports what it does, the
    /// one-shot commands print their results and log only warnings.
    pub fn default_log_level(&self) -> LevelFilter {
        match self.command {
            Command::Run(_) => LevelFilter::INFO,
            Command::Readers | Command::Activate(_) | Command::Status | Command::Check(_) => {
                LevelFilter::WARN
            }
        }
    }
}

/// Returns the OTLP endpoint: `--otlp-endpoint` (or `MYNAFLEET_AGENT_OTLP_ENDPOINT`), else
/// `fallback` (the binary passes the standard `OTEL_EXPORTER_OTLP_ENDPOINT`); empty means none.
pub fn otlp_endpoint(flag: Option<&str>, fallback: Option<String>) -> Option<String> {
    flag.map(str::to_owned)
        .or(fallback)
        .filter(|e| !e.trim().is_empty())
}

/// Runs the command and returns the process exit code (non-zero on any failure, after
/// printing why to stderr).
pub fn execute(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::Readers => print_readers(),
        Command::Activate(args) => {
            state_dir(cli.state_dir).and_then(|dir| with_runtime(activate::run(dir, args)))
        }
        Command::Status => state_dir(cli.state_dir).and_then(print_status),
        Command::Run(args) => {
            state_dir(cli.state_dir).and_then(|dir| with_runtime(run::run(dir, args)))
        }
        Command::Check(args) => {
            return match state_dir(cli.state_dir).and_then(|dir| {
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(anyhow::Error::new)
                    .map(|runtime| runtime.block_on(check::run(&dir, args)))
            }) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("mynafleet-agent: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mynafleet-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn with_runtime(work: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

fn state_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    flag.or_else(state::default_dir)
        .ok_or_else(|| anyhow::anyhow!("this platform names no data directory; pass --state-dir"))
}

fn print_readers() -> anyhow::Result<()> {
    let reports = readers::survey(&PcscContext::establish()?)?;
    if reports.is_empty() {
        println!("no card readers attached");
    }
    reports.iter().for_each(|report| println!("{report}"));
    Ok(())
}

fn print_status(dir: PathBuf) -> anyhow::Result<()> {
    let identity = Identity::load(&dir)?;
    print!(
        "{}",
        crate::status::render(
            &identity.record(),
            &identity.certificate(),
            &dir,
            OffsetDateTime::now_utc(),
        )
    );
    Ok(())
}
