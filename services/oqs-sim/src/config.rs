//! The simulator's configuration: plain data, built by the binary or by [`Config::for_tests`].

use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::ServerTls;
use serde::Deserialize;

/// What the simulator runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// TLS identity and the CAs whose clients it accepts.
    pub tls: ServerTls,
    /// The seed the population is generated from.
    pub seed: u64,
    /// How many people the population holds.
    pub population_size: u32,
}

impl Config {
    /// Returns a configuration with the default seed and population.
    pub fn for_tests(tls: ServerTls) -> Self {
        Self {
            tls,
            seed: Population::DEFAULT_SEED,
            population_size: Population::DEFAULT_SIZE,
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
        })
    }
}
