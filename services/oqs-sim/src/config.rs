//! The simulator's configuration: plain data, built by the binary or by [`Config::for_tests`].

use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::ServerTls;
use serde::Deserialize;
use std::path::PathBuf;

/// What the simulator runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// TLS identity and the CAs whose clients it accepts.
    pub tls: ServerTls,
    /// The seed the population is generated from.
    pub seed: u64,
    /// How many people the population holds.
    pub population_size: u32,
    /// Where the test JPKI CA lives (`ca.pem`, `ca.key` 0600); created when missing.
    pub jpki_dir: PathBuf,
    /// OQS file-interface folders the simulator answers in, like a 資格確認端末.
    pub responders: Vec<Responder>,
    /// Latency and fault knobs at start (ConfigureFaults changes them at run time).
    pub faults: Faults,
    /// Where "now" comes from: result timestamps and outage windows.
    pub clock: Clock,
}

/// One OQS file-interface folder pair the simulator answers in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responder {
    /// Requests appear here (`…\OQS\req`).
    pub req_dir: PathBuf,
    /// Results are written here (`…\OQS\res`).
    pub res_dir: PathBuf,
    /// Result encoding: `utf8` or `shift_jis`.
    #[serde(default)]
    pub encoding: ResponderEncoding,
}

/// Result encoding of a responder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponderEncoding {
    /// UTF-8.
    #[default]
    Utf8,
    /// Shift_JIS (Windows-31J).
    ShiftJis,
}

/// Latency and fault knobs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Added to every query, in milliseconds.
    pub delay_ms: u64,
    /// Share of queries answered UNAVAILABLE, 0.0–1.0.
    pub error_rate: f64,
    /// Outage windows: every query in one is answered UNAVAILABLE.
    pub outages: Vec<Outage>,
}

/// An outage window, RFC 3339 times.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// Start (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub start: time::OffsetDateTime,
    /// End (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub end: time::OffsetDateTime,
}

impl Config {
    /// Returns a configuration with the default seed and population and the test JPKI CA in
    /// `jpki_dir`.
    pub fn for_tests(tls: ServerTls, jpki_dir: PathBuf) -> Self {
        Self {
            tls,
            seed: Population::DEFAULT_SEED,
            population_size: Population::DEFAULT_SIZE,
            jpki_dir,
            responders: Vec::new(),
            faults: Faults::default(),
            clock: Clock::system(),
        }
    }
}

/// Population defaults.
#[derive(Debug)]
pub struct Population;

impl Population {
    /// The default seed.
    pub const DEFAULT_SEED: u64 = 20_260_101;
    /// The default population size.
    pub const DEFAULT_SIZE: u32 = 10_000;
}

/// The simulator's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listener, TLS files and telemetry.
    pub server: ServerSection,
    /// The simulated population.
    #[serde(default)]
    pub population: PopulationSection,
    /// Where the test JPKI CA lives (default `./jpki-test-ca`).
    pub jpki_dir: Option<PathBuf>,
    /// File-interface folders to answer in (`[[responders]]`).
    #[serde(default)]
    pub responders: Vec<Responder>,
    /// Latency and fault knobs.
    #[serde(default)]
    pub faults: Faults,
}

/// The `[population]` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSection {
    /// The seed (default [`Population::DEFAULT_SEED`]).
    pub seed: Option<u64>,
    /// The size (default [`Population::DEFAULT_SIZE`]).
    pub size: Option<u32>,
}

impl FileConfig {
    /// Reads the files the configuration names and returns the simulator's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        Ok(Config {
            tls: self.server.tls.read()?,
            seed: self.population.seed.unwrap_or(Population::DEFAULT_SEED),
            population_size: self.population.size.unwrap_or(Population::DEFAULT_SIZE),
            jpki_dir: self
                .jpki_dir
                .unwrap_or_else(|| PathBuf::from("jpki-test-ca")),
            responders: self.responders,
            faults: self.faults,
            clock: Clock::system(),
        })
    }
}
