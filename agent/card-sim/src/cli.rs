//! The `mynafleet-card-sim` command line: which card to build, its quirks, and where to
//! insert it. It turns arguments into a [`Card`] and one vpcd session; it never handles APDUs
//! itself, and it never prints the PIN (only the APDU log's masked form ever reaches a file).

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::card::{BlockedAnswer, Card, CardSpec, ProfileError, Quirks, Token};
use crate::vpcd::{DEFAULT_HOST, DEFAULT_PORT, SessionEnd, VpcdClient, VpcdError};

/// A virtual My Number card for pcscd's vpcd driver.
#[derive(Debug, Parser)]
#[command(name = "mynafleet-card-sim", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inserts the card into a vpcd reader slot until vpcd closes the connection, the card
    /// is pulled (--remove-after-reads) or the process is killed.
    Vpcd(VpcdArgs),
}

/// Arguments of `vpcd`.
#[derive(Debug, Args)]
pub struct VpcdArgs {
    /// Host vpcd listens on.
    #[arg(long, default_value = DEFAULT_HOST)]
    pub host: String,
    /// vpcd port: 35963 is reader "Virtual PCD 00 00", 35964 is "Virtual PCD 00 01".
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Card profile directory written by `mynafleet-oqs-sim issue-card` (docs/card-profile.md);
    /// without it a My Number card uses the compiled-in fixture profile (PIN 1234).
    #[arg(long, conflicts_with = "card")]
    pub profile: Option<PathBuf>,
    /// Which card to present when no profile is given.
    #[arg(long, value_enum, default_value_t = Preset::MyNumber)]
    pub card: Preset,
    /// Starts with the PIN blocked (0 tries left).
    #[arg(long)]
    pub pin_blocked: bool,
    /// Plays another token than the profile's (changes the EF 0006 label and behaviour).
    #[arg(long, value_enum)]
    pub token: Option<TokenArg>,
    /// Switches on a quirk; repeat for several.
    #[arg(long = "quirk", value_enum)]
    pub quirks: Vec<QuirkArg>,
    /// Waits this many milliseconds before answering each APDU.
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// Pulls the card on the READ BINARY after this many (the session then ends).
    #[arg(long)]
    pub remove_after_reads: Option<u32>,
    /// Appends each APDU received to this file as one hex line, PIN bytes masked as 2A.
    #[arg(long)]
    pub apdu_log: Option<PathBuf>,
}

/// A card without a profile.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Preset {
    /// A My Number card with all five applications (the fixture profile).
    MyNumber,
    /// A card without any My Number application.
    Foreign,
}

/// The token to play.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TokenArg {
    /// A physical 個人番号カード (JPKIAPICCTOKEN2).
    Card,
    /// Android (JPKIAPGPSETOKEN): EF 000A only after VERIFY.
    Android,
    /// iPhone (JPKIAPIOSTOKEN): answers the 80 FC indicator with 9000.
    Iphone,
}

/// A quirk to switch on (docs/card-sim.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuirkArg {
    /// READ BINARY and the signature answer 61xx; data via GET RESPONSE.
    GetResponse,
    /// A read past the end answers 6Cxx instead of a short read.
    WrongLe,
    /// A short read at the end of a file ends with 6282.
    Eof6282,
    /// An empty VERIFY on a blocked PIN answers 6984 instead of 63C0.
    Blocked6984,
    /// No signature certificate (EF 0008 = 00 8F 00).
    NoSignatureCert,
}

/// Why the command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The card profile could not be loaded.
    #[error("could not load the card profile")]
    Profile(#[from] ProfileError),
    /// The APDU log file could not be opened.
    #[error("could not open the apdu log {path}")]
    ApduLog {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The vpcd session failed.
    #[error(transparent)]
    Vpcd(#[from] VpcdError),
}

/// What a finished session reports.
#[derive(Debug)]
pub struct Report {
    /// How the session ended.
    pub end: SessionEnd,
    /// APDUs the card received.
    pub apdus: usize,
    /// Tries left on the PIN at the end.
    pub tries_left: u8,
    /// Whether writing the APDU log file failed part-way.
    pub apdu_log_failed: bool,
}

/// Builds the card `args` describe.
pub fn build_card(args: &VpcdArgs) -> Result<Card, CliError> {
    let mut spec = match (&args.profile, args.card) {
        (Some(dir), _) => CardSpec::from_profile_dir(dir)?,
        (None, Preset::MyNumber) => CardSpec::fixture()?,
        (None, Preset::Foreign) => return Ok(Card::foreign()),
    };
    if args.pin_blocked {
        spec.tries_left = 0;
    }
    if let Some(token) = args.token {
        spec.token = match token {
            TokenArg::Card => Token::Card,
            TokenArg::Android => Token::Android,
            TokenArg::Iphone => Token::Iphone,
        };
        spec.token_label = None;
    }
    let on = |quirk| args.quirks.contains(&quirk);
    if on(QuirkArg::NoSignatureCert) {
        spec.signature_cert = false;
    }
    let quirks = Quirks {
        get_response: on(QuirkArg::GetResponse),
        wrong_le: on(QuirkArg::WrongLe),
        eof_6282: on(QuirkArg::Eof6282),
        delay: args.delay_ms.map(Duration::from_millis),
        remove_after_reads: args.remove_after_reads,
        blocked_answer: if on(QuirkArg::Blocked6984) {
            BlockedAnswer::Blocked
        } else {
            BlockedAnswer::TriesZero
        },
    };
    Ok(Card::jpki(spec).with_quirks(quirks))
}

/// Builds the card, inserts it and serves vpcd until the session ends. `inserted` is
/// called once the connection is open.
pub fn run_vpcd(args: &VpcdArgs, inserted: impl FnOnce()) -> Result<Report, CliError> {
    let card = build_card(args)?;
    let log = card.apdu_log_handle();
    if let Some(path) = &args.apdu_log {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| CliError::ApduLog {
                path: path.clone(),
                source,
            })?;
        log.tee(file);
    }
    let client = VpcdClient::connect(&args.host, args.port, card)?;
    inserted();
    let (card, end) = client.run_session()?;
    Ok(Report {
        end,
        apdus: log.len(),
        tries_left: card.tries_left(),
        apdu_log_failed: log.sink_failed(),
    })
}
