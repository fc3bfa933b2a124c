//! The proxy's configuration: plain data, built by the binary or by [`Config::for_tests`].

use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::ServerTls;
use serde::Deserialize;

/// What the proxy runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// TLS identity and the CAs whose clients it accepts (the internal CA and the device CA).
    pub tls: ServerTls,
    /// Production mode.
    pub production: bool,
}

impl Config {
    /// Returns a non-production configuration.
    pub fn for_tests(tls: ServerTls) -> Self {
        Self {
            tls,
            production: false,
        }
    }
}

/// The proxy's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listener, TLS files (with `device_ca`) and telemetry.
    pub server: ServerSection,
}

impl FileConfig {
    /// Reads the files the configuration names and returns the proxy's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        Ok(Config {
            tls: self.server.tls.read()?,
            production: self.server.production,
        })
    }
}
