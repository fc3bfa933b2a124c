//! `mynafleet-card-sim`: command-line front of the virtual card. It only parses arguments,
//! runs the library and reports the outcome; it never handles APDUs itself.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mynafleet_card_sim::Card;
use mynafleet_card_sim::vpcd::{DEFAULT_HOST, DEFAULT_PORT, VpcdClient};

/// A virtual My Number card for pcscd's vpcd driver.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inserts the card into a vpcd reader slot until killed or vpcd closes the connection.
    Vpcd {
        /// Host vpcd listens on.
        #[arg(long, default_value = DEFAULT_HOST)]
        host: String,
        /// vpcd port: 35963 is reader "Virtual PCD 00 00", 35964 is "Virtual PCD 00 01".
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Which card to present.
        #[arg(long, value_enum, default_value_t = Profile::MyNumber)]
        card: Profile,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Profile {
    /// A My Number card with all five applications.
    MyNumber,
    /// A card without any My Number application.
    Foreign,
}

fn main() -> ExitCode {
    let Command::Vpcd { host, port, card } = Cli::parse().command;
    let card = match card {
        Profile::MyNumber => Card::my_number(),
        Profile::Foreign => Card::foreign(),
    };
    let outcome = VpcdClient::connect(&host, port, card).and_then(|client| {
        eprintln!("mynafleet-card-sim: card inserted via vpcd at {host}:{port}");
        client.run()
    });
    match outcome {
        Ok(card) => {
            let count = card.apdu_log().len();
            eprintln!("mynafleet-card-sim: vpcd closed the connection after {count} apdus");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mynafleet-card-sim: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
