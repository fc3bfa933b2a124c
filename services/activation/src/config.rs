//! The activation service's configuration: plain data, built by the binary from a file and
//! the environment, or by [`Config::for_tests`].

use crate::ca::DeviceCa;
use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::tls::{ClientTls, ServerTls};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// What the activation service runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// TLS identity and the CAs whose clients it accepts (the internal CA and the device CA).
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
    /// The device CA (its key stays in a 0600 file).
    pub device_ca: DeviceCa,
    /// Lifetime of a device certificate (default 24 h).
    pub certificate_lifetime: Duration,
    /// Lifetime of an activation code (default 7 days).
    pub code_lifetime: Duration,
    /// When failed activations lock an account or an address.
    pub lockout: LockoutPolicy,
    /// The eligibility proxies terminals are told about.
    pub proxy_urls: Vec<String>,
    /// The CA bundle (PEM) terminals use to verify MynaFleet's servers.
    pub server_ca_pem: String,
}

/// When failed activations lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failed activations naming one account before it locks (default 5).
    pub max_failures_per_account: u32,
    /// Failed activations from one source address before it locks (default 5).
    pub max_failures_per_source: u32,
    /// How long a lock lasts unless an operator clears it first (default 15 min).
    pub cool_down: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures_per_account: 5,
            max_failures_per_source: 5,
            cool_down: Duration::from_secs(15 * 60),
        }
    }
}

impl Config {
    /// Returns a non-production configuration with a manual clock at the current time and
    /// a device CA that lives only in memory.
    pub fn for_tests(
        database_url: String,
        tls: ServerTls,
        client_tls: ClientTls,
        account_url: String,
    ) -> Self {
        let server_ca_pem = tls.roots.service_ca_pem.clone();
        Self {
            database_url,
            tls,
            client_tls,
            account_url,
            call_timeout: Duration::from_secs(5),
            clock: Clock::manual(time::OffsetDateTime::now_utc()),
            production: false,
            device_ca: DeviceCa::generate().unwrap_or_else(|e| panic!("test device CA: {e}")),
            certificate_lifetime: Duration::from_secs(24 * 3600),
            code_lifetime: Duration::from_secs(7 * 24 * 3600),
            lockout: LockoutPolicy::default(),
            proxy_urls: Vec::new(),
            server_ca_pem,
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
    /// The device CA's files.
    pub device_ca: DeviceCaFiles,
    /// Codes, certificates and lockout.
    #[serde(default)]
    pub activation: ActivationSection,
}

/// The services activation calls, and the proxies it tells terminals about.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    /// The account service's URL.
    pub account_url: String,
    /// The deadline of every outbound call, in milliseconds (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub call_timeout_ms: u64,
    /// The eligibility proxies' URLs as terminals reach them.
    #[serde(default)]
    pub proxy_urls: Vec<String>,
}

/// Where the device CA lives.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCaFiles {
    /// The CA certificate (PEM).
    pub cert: PathBuf,
    /// The CA key (PEM); must be mode 0600.
    pub key: PathBuf,
}

/// Lifetimes and lockout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivationSection {
    /// Device certificate lifetime in seconds (default 86400).
    pub certificate_lifetime_seconds: u64,
    /// Activation code lifetime in hours (default 168).
    pub code_lifetime_hours: u64,
    /// Failed activations per account before a lock (default 5).
    pub max_failures_per_account: u32,
    /// Failed activations per source address before a lock (default 5).
    pub max_failures_per_source: u32,
    /// Lock cool-down in minutes (default 15).
    pub cool_down_minutes: u64,
}

impl Default for ActivationSection {
    fn default() -> Self {
        let l = LockoutPolicy::default();
        Self {
            certificate_lifetime_seconds: 86_400,
            code_lifetime_hours: 168,
            max_failures_per_account: l.max_failures_per_account,
            max_failures_per_source: l.max_failures_per_source,
            cool_down_minutes: l.cool_down.as_secs() / 60,
        }
    }
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
        let device_ca =
            DeviceCa::from_files(&self.device_ca.cert, &self.device_ca.key).map_err(|e| {
                ConfigError::Read {
                    path: self.device_ca.key.clone(),
                    source: std::io::Error::other(e.to_string()),
                }
            })?;
        let a = self.activation;
        let server_ca_pem = tls.roots.service_ca_pem.clone();
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
            device_ca,
            certificate_lifetime: Duration::from_secs(a.certificate_lifetime_seconds),
            code_lifetime: Duration::from_secs(a.code_lifetime_hours * 3600),
            lockout: LockoutPolicy {
                max_failures_per_account: a.max_failures_per_account,
                max_failures_per_source: a.max_failures_per_source,
                cool_down: Duration::from_secs(a.cool_down_minutes * 60),
            },
            proxy_urls: self.peers.proxy_urls,
            server_ca_pem,
        })
    }
}
