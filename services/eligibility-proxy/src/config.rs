//! The proxy's configuration: plain data, built by the binary or by [`Config::for_tests`].

use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::{ClientTls, ServerTls};
use serde::Deserialize;
use std::time::Duration;

/// What the proxy runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// TLS identity and the CAs whose clients it accepts (the internal CA and the device CA).
    pub tls: ServerTls,
    /// How it calls other services (its service identity, their CA).
    pub client_tls: ClientTls,
    /// The activation service (device status watch), for example `https://activation:7502`.
    pub activation_url: String,
    /// The deadline of every outbound call.
    pub call_timeout: Duration,
    /// The oldest a device status may be when a call is let through (1 s).
    pub status_max_age: Duration,
    /// How often `AgentService.WatchDevice` sends a heartbeat.
    pub watch_heartbeat: Duration,
    /// Where the wall-clock time of heartbeats comes from. Status freshness is measured on
    /// the monotonic clock instead (see `status.rs`).
    pub clock: Clock,
    /// Production mode.
    pub production: bool,
}

impl Config {
    /// Returns a non-production configuration with a manual clock at the current time.
    pub fn for_tests(tls: ServerTls, client_tls: ClientTls, activation_url: String) -> Self {
        Self {
            tls,
            client_tls,
            activation_url,
            call_timeout: Duration::from_secs(5),
            status_max_age: Duration::from_secs(1),
            watch_heartbeat: Duration::from_millis(500),
            clock: Clock::manual(time::OffsetDateTime::now_utc()),
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
    /// Where the other services are.
    pub peers: Peers,
}

/// The services the proxy calls.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    /// The activation service's URL.
    pub activation_url: String,
    /// The deadline of every outbound call, in milliseconds (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub call_timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}

impl FileConfig {
    /// Reads the files the configuration names and returns the proxy's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let tls = self.server.tls.read()?;
        let client_tls = ClientTls {
            server_ca_pem: tls.roots.service_ca_pem.clone(),
            identity: Some(tls.identity.clone()),
        };
        Ok(Config {
            tls,
            client_tls,
            activation_url: self.peers.activation_url,
            call_timeout: Duration::from_millis(self.peers.call_timeout_ms),
            status_max_age: Duration::from_secs(1),
            watch_heartbeat: Duration::from_millis(500),
            clock: Clock::system(),
            production: self.server.production,
        })
    }
}
