//! The activation service's configuration: plain data, built by the binary from a file and
//! the environment, or by [`Config::for_tests`].

use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::{ClientTls, ServerTls};
use serde::Deserialize;
use std::time::Duration;

/// What the activation service runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// TLS identity and the CAs whose clients it accepts.
    pub tls: ServerTls,
    /// How it calls other services (its service identity, their CA).
    pub client_tls: ClientTls,
    /// The account service, for example `https://account.internal:7501`.
    pub account_url: String,
    /// The deadline of every outbound call.
    pub call_timeout: Duration,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Production mode.
    pub production: bool,
}

impl Config {
    /// Returns a non-production configuration with a manual clock at the current time.
    pub fn for_tests(
        database_url: String,
        tls: ServerTls,
        client_tls: ClientTls,
        account_url: String,
    ) -> Self {
        Self {
            database_url,
            tls,
            client_tls,
            account_url,
            call_timeout: Duration::from_secs(5),
            clock: Clock::manual(time::OffsetDateTime::now_utc()),
            production: false,
        }
    }
}

/// The activation service's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listener, database, TLS files and telemetry.
    pub server: ServerSection,
    /// Where the other services are.
    pub peers: Peers,
}

/// The services activation calls.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    /// The account service's URL.
    pub account_url: String,
    /// The deadline of every outbound call, in milliseconds (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub call_timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}

impl FileConfig {
    /// Reads the files the configuration names and returns the service's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let tls = self.server.tls.read()?;
        let client_tls = ClientTls {
            server_ca_pem: tls.roots.service_ca_pem.clone(),
            identity: Some(tls.identity.clone()),
        };
        Ok(Config {
            database_url: self
                .server
                .database_url
                .clone()
                .unwrap_or_else(|| "sqlite://activation.db".to_owned()),
            tls,
            client_tls,
            account_url: self.peers.account_url,
            call_timeout: Duration::from_millis(self.peers.call_timeout_ms),
            clock: Clock::system(),
            production: self.server.production,
        })
    }
}
