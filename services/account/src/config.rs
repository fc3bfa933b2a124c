//! The account service's configuration: plain data, built by the binary from a file and the
//! environment, or by [`Config::for_tests`].

use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::ServerTls;
use serde::Deserialize;

/// What the account service runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// TLS identity and the CAs whose clients it accepts.
    pub tls: ServerTls,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Production mode (refuses test roots once trust roots exist).
    pub production: bool,
}

impl Config {
    /// Returns a non-production configuration with a manual clock at the current time.
    pub fn for_tests(database_url: String, tls: ServerTls) -> Self {
        Self {
            database_url,
            tls,
            clock: Clock::manual(time::OffsetDateTime::now_utc()),
            production: false,
        }
    }
}

/// The account service's configuration file (`mynafleet serve account --config FILE`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listener, database, TLS files and telemetry.
    pub server: ServerSection,
}

impl FileConfig {
    /// Reads the files the configuration names and returns the service's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        Ok(Config {
            database_url: self
                .server
                .database_url
                .clone()
                .unwrap_or_else(|| "sqlite://account.db".to_owned()),
            tls: self.server.tls.read()?,
            clock: Clock::system(),
            production: self.server.production,
        })
    }
}
