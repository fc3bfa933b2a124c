//! `mynafleet-oqs-sim`: the simulator's thin tool binary. `issue-card` writes a card profile
//! for card-sim (docs/card-profile.md). The simulator itself runs as `mynafleet serve oqs-sim`
//! or inside `mynafleet dev`; this binary never serves.

use clap::{Parser, Subcommand};
use mynafleet_oqs_sim::{CardRequest, Population, Token, issue_card};
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Parser)]
#[command(
    name = "mynafleet-oqs-sim",
    version,
    about = "MynaFleet OQS simulator tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes a card profile (certificate, key, PIN, tries, token label) for one person.
    IssueCard(IssueCard),
}

#[derive(Debug, clap::Args)]
struct IssueCard {
    /// The person's index in the population.
    #[arg(long)]
    person: u32,
    /// The profile directory to create (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// The test JPKI CA directory (created when missing).
    #[arg(long, default_value = "jpki-test-ca")]
    ca_dir: PathBuf,
    /// The population seed.
    #[arg(long, default_value_t = Population::DEFAULT_SEED)]
    seed: u64,
    /// The population size.
    #[arg(long, default_value_t = Population::DEFAULT_SIZE)]
    size: u32,
    /// The card's 4-digit PIN (random when absent).
    #[arg(long)]
    pin: Option<String>,
    /// PIN tries left (0 = blocked).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
    tries: u8,
    /// Which token to play.
    #[arg(long, value_enum, default_value_t = Token::Card)]
    token: Token,
    /// An existing RSA-2048 private key (PKCS#8 DER) instead of a new one.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Certificate validity start (RFC 3339).
    #[arg(long, value_parser = rfc3339)]
    not_before: Option<OffsetDateTime>,
    /// Certificate validity end (RFC 3339).
    #[arg(long, value_parser = rfc3339)]
    not_after: Option<OffsetDateTime>,
}

fn rfc3339(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    use anyhow::Context as _;
    let Command::IssueCard(a) = Cli::parse().command;
    let key_pkcs8 = match &a.key {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("read {}", path.display()))?)
        }
        None => None,
    };
    let pin_given = a.pin.is_some();
    let card = issue_card(&CardRequest {
        person: a.person,
        out: a.out,
        ca_dir: a.ca_dir,
        seed: a.seed,
        population_size: a.size,
        pin: a.pin,
        tries_left: a.tries,
        token: a.token,
        key_pkcs8,
        not_before: a.not_before,
        not_after: a.not_after,
    })
    .context("issue card")?;
    println!(
        "card profile for person {} in {}",
        card.person.index,
        card.dir.display()
    );
    println!(
        "  validity {}  token {}",
        card.person.validity, card.token_label
    );
    if !pin_given {
        println!("  pin: see profile.toml");
    }
    Ok(())
}
