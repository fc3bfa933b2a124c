//! The proxy's configuration: plain data, built by the binary or by [`Config::for_tests`].

use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::keys::SecretKey;
use mynafleet_kit::tls::{ClientTls, ServerTls};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What the proxy runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// TLS identity and the CAs whose clients it accepts (the internal CA and the device CA).
    pub tls: ServerTls,
    /// How it calls other services (its service identity, their CA).
    pub client_tls: ClientTls,
    /// The proxy's database (audit outbox, used challenges).
    pub database_url: String,
    /// The activation service (device status watch), for example `https://activation:7502`.
    pub activation_url: String,
    /// The account service (device accounts' scope, audit ingest).
    pub account_url: String,
    /// The deadline of every outbound call to activation and account.
    pub call_timeout: Duration,
    /// The oldest a device status may be when a call is let through (1 s).
    pub status_max_age: Duration,
    /// How often `AgentService.WatchDevice` sends a heartbeat.
    pub watch_heartbeat: Duration,
    /// Where the wall-clock time of heartbeats, challenges and certificate validity comes
    /// from. Status freshness is measured on the monotonic clock instead (see `status.rs`).
    pub clock: Clock,
    /// Production mode: test JPKI roots are refused.
    pub production: bool,
    /// Secret keys.
    pub keys: ProxyKeys,
    /// JPKI trust roots for card certificates.
    pub trust: TrustRoots,
    /// How long a card-check challenge stays valid (30 s).
    pub challenge_ttl: Duration,
    /// The upstream used for every clinic without its own entry in `upstreams`.
    pub default_upstream: UpstreamConfig,
    /// Upstreams by 機関コード.
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    /// Hand-off folders by 機関コード.
    pub handoff: BTreeMap<String, HandoffConfig>,
}

/// The proxy's secret keys (0600 files, never in a database).
#[derive(Clone, Debug)]
pub struct ProxyKeys {
    /// The patient-reference key, the same file as the account service's `[keys] reference`:
    /// HKDF derives each organization's key for patient and 照会番号 references from it.
    pub reference: SecretKey,
    /// Authenticates challenge ids, so any replica sharing the file can check them.
    pub challenge: SecretKey,
}

/// The JPKI roots card certificates must chain to.
#[derive(Clone, Debug, Default)]
pub struct TrustRoots {
    /// Production roots (J-LIS authca01–03), PEM.
    pub roots: Vec<String>,
    /// Test roots (O=JPKI-TEST, oqs-sim's CA), PEM: accepted only when not in production
    /// mode; in production a certificate chaining to one is refused with its own reason.
    pub test_roots: Vec<String>,
}

/// Encoding of OQS XML the proxy writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XmlEncoding {
    /// UTF-8.
    #[default]
    Utf8,
    /// Shift_JIS (written as Windows-31J; characters it cannot encode are refused).
    ShiftJis,
}

/// One upstream adapter and its guards.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Which adapter.
    pub kind: UpstreamKind,
    /// The deadline of one upstream call (each try).
    pub deadline: Duration,
    /// How many times an UNAVAILABLE answer is retried (jittered backoff).
    pub retries: usize,
    /// Consecutive failures that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before one probe is let through.
    pub breaker_open_for: Duration,
}

impl UpstreamConfig {
    /// Returns the simulator at `url` with default guards.
    pub fn simulator(url: String) -> Self {
        Self::with_kind(UpstreamKind::Simulator { url })
    }

    /// Returns `kind` with default guards: 10 s deadline, 2 retries, open after 5 failures
    /// for 5 s.
    pub fn with_kind(kind: UpstreamKind) -> Self {
        Self {
            kind,
            deadline: Duration::from_secs(10),
            retries: 2,
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(5),
        }
    }
}

/// The adapters.
#[derive(Clone, Debug)]
pub enum UpstreamKind {
    /// oqs-sim over gRPC (service mTLS with `client_tls`).
    Simulator {
        /// For example `https://oqs-sim:7504`.
        url: String,
    },
    /// The OQS file interface of an on-site 資格確認端末.
    FileInterface(FileInterfaceConfig),
}

/// Folders of the OQS file interface (DOMAIN.md §3.1).
#[derive(Clone, Debug)]
pub struct FileInterfaceConfig {
    /// Where requests are dropped (`…\OQS\req`).
    pub req_dir: PathBuf,
    /// Where results and `.err` files appear (`…\OQS\res`, subfolders included).
    pub res_dir: PathBuf,
    /// Encoding of requests written.
    pub encoding: XmlEncoding,
    /// How often `res_dir` is looked at while waiting (default 100 ms).
    pub poll_interval: Duration,
}

/// Where a clinic's results are handed off to its レセコン.
#[derive(Clone, Debug, Default)]
pub struct HandoffConfig {
    /// OQS-compatible result XML (`OQSsiquc01res_face_…`), if set.
    pub xml_dir: Option<PathBuf>,
    /// The app's copy format as TSV, if set.
    pub tsv_dir: Option<PathBuf>,
    /// Encoding of the XML.
    pub encoding: XmlEncoding,
}

impl Config {
    /// Returns a non-production configuration with a manual clock at the current time, fresh
    /// keys, no trust roots and the simulator at `https://localhost:7504`.
    pub fn for_tests(
        database_url: String,
        tls: ServerTls,
        client_tls: ClientTls,
        activation_url: String,
        account_url: String,
    ) -> Self {
        Self {
            tls,
            client_tls,
            database_url,
            activation_url,
            account_url,
            call_timeout: Duration::from_secs(5),
            status_max_age: Duration::from_secs(1),
            watch_heartbeat: Duration::from_millis(500),
            clock: Clock::manual(time::OffsetDateTime::now_utc()),
            production: false,
            keys: ProxyKeys {
                reference: SecretKey::generate().expect("operating system randomness"),
                challenge: SecretKey::generate().expect("operating system randomness"),
            },
            trust: TrustRoots::default(),
            challenge_ttl: Duration::from_secs(30),
            default_upstream: UpstreamConfig::simulator("https://localhost:7504".to_owned()),
            upstreams: BTreeMap::new(),
            handoff: BTreeMap::new(),
        }
    }
}

/// The proxy's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listener, TLS files (with `device_ca`), database and telemetry.
    pub server: ServerSection,
    /// Where the other services are.
    pub peers: Peers,
    /// Key files.
    pub keys: KeyFiles,
    /// JPKI trust roots.
    #[serde(default)]
    pub jpki: JpkiSection,
    /// Challenges.
    #[serde(default)]
    pub checks: ChecksSection,
    /// The default upstream.
    pub upstream: UpstreamSection,
    /// Upstreams by 機関コード (`[upstreams."1310000019"]`).
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamSection>,
    /// Hand-off by 機関コード (`[handoff."1310000019"]`).
    #[serde(default)]
    pub handoff: BTreeMap<String, HandoffSection>,
}

/// The services the proxy calls.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    /// The activation service's URL.
    pub activation_url: String,
    /// The account service's URL.
    pub account_url: String,
    /// The deadline of every outbound call, in milliseconds (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub call_timeout_ms: u64,
}

/// `[keys]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFiles {
    /// The patient-reference key file (the account service's `reference_key_file`), 0600.
    pub reference_key_file: PathBuf,
    /// The challenge key file, 0600; shared by every proxy replica. Created when missing.
    pub challenge_key_file: PathBuf,
}

/// `[jpki]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JpkiSection {
    /// PEM files of production roots.
    #[serde(default)]
    pub roots: Vec<PathBuf>,
    /// PEM files of test roots (refused in production mode).
    #[serde(default)]
    pub test_roots: Vec<PathBuf>,
}

/// `[checks]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksSection {
    /// Challenge lifetime in seconds (default 30).
    pub challenge_ttl_seconds: u64,
}

impl Default for ChecksSection {
    fn default() -> Self {
        Self {
            challenge_ttl_seconds: 30,
        }
    }
}

/// `[upstream]` and each `[upstreams."…"]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// `simulator` or `file`.
    pub kind: UpstreamKindName,
    /// The simulator's URL (`simulator`).
    pub url: Option<String>,
    /// The request folder (`file`).
    pub req_dir: Option<PathBuf>,
    /// The result folder (`file`).
    pub res_dir: Option<PathBuf>,
    /// Request encoding (`file`): `utf8` (default) or `shift_jis`.
    #[serde(default)]
    pub encoding: XmlEncoding,
    /// Polling interval of the result folder in milliseconds (`file`, default 100).
    pub poll_interval_ms: Option<u64>,
    /// Deadline of one call in milliseconds (default 10000).
    pub deadline_ms: Option<u64>,
    /// Retries on UNAVAILABLE (default 2).
    pub retries: Option<usize>,
    /// Consecutive failures that open the breaker (default 5).
    pub breaker_failures: Option<u32>,
    /// How long the breaker stays open, in milliseconds (default 5000).
    pub breaker_open_ms: Option<u64>,
}

/// Adapter names in the file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamKindName {
    /// oqs-sim over gRPC.
    Simulator,
    /// The OQS file interface.
    File,
}

/// `[handoff."…"]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffSection {
    /// Folder for result XML.
    pub xml_dir: Option<PathBuf>,
    /// Folder for TSV.
    pub tsv_dir: Option<PathBuf>,
    /// XML encoding: `utf8` (default) or `shift_jis`.
    #[serde(default)]
    pub encoding: XmlEncoding,
}

fn default_timeout_ms() -> u64 {
    5_000
}

fn invalid(path: &std::path::Path, message: String) -> ConfigError {
    ConfigError::Read {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
    }
}

impl UpstreamSection {
    fn into_config(self, name: &str) -> Result<UpstreamConfig, ConfigError> {
        let here = std::path::Path::new(name);
        let kind = match self.kind {
            UpstreamKindName::Simulator => UpstreamKind::Simulator {
                url: self
                    .url
                    .ok_or_else(|| invalid(here, "a simulator upstream needs `url`".to_owned()))?,
            },
            UpstreamKindName::File => UpstreamKind::FileInterface(FileInterfaceConfig {
                req_dir: self
                    .req_dir
                    .ok_or_else(|| invalid(here, "a file upstream needs `req_dir`".to_owned()))?,
                res_dir: self
                    .res_dir
                    .ok_or_else(|| invalid(here, "a file upstream needs `res_dir`".to_owned()))?,
                encoding: self.encoding,
                poll_interval: Duration::from_millis(self.poll_interval_ms.unwrap_or(100)),
            }),
        };
        let mut c = UpstreamConfig::with_kind(kind);
        if let Some(ms) = self.deadline_ms {
            c.deadline = Duration::from_millis(ms);
        }
        if let Some(n) = self.retries {
            c.retries = n;
        }
        if let Some(n) = self.breaker_failures {
            c.breaker_failures = n.max(1);
        }
        if let Some(ms) = self.breaker_open_ms {
            c.breaker_open_for = Duration::from_millis(ms);
        }
        Ok(c)
    }
}

fn read_pems(paths: &[PathBuf]) -> Result<Vec<String>, ConfigError> {
    paths
        .iter()
        .map(|p| {
            std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.clone(),
                source,
            })
        })
        .collect()
}

fn key(path: &std::path::Path, create: bool) -> Result<SecretKey, ConfigError> {
    let loaded = if create {
        SecretKey::load_or_create(path)
    } else {
        SecretKey::from_file(path)
    };
    loaded.map_err(|e| invalid(path, e.to_string()))
}

impl FileConfig {
    /// Reads the files the configuration names and returns the proxy's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let tls = self.server.tls.read()?;
        let client_tls = ClientTls {
            server_ca_pem: tls.roots.service_ca_pem.clone(),
            identity: Some(tls.identity.clone()),
        };
        let upstreams = self
            .upstreams
            .into_iter()
            .map(|(code, s)| Ok((code.clone(), s.into_config(&format!("upstreams.{code}"))?)))
            .collect::<Result<_, ConfigError>>()?;
        let handoff = self
            .handoff
            .into_iter()
            .map(|(code, h)| {
                (
                    code,
                    HandoffConfig {
                        xml_dir: h.xml_dir,
                        tsv_dir: h.tsv_dir,
                        encoding: h.encoding,
                    },
                )
            })
            .collect();
        Ok(Config {
            database_url: self
                .server
                .database_url
                .clone()
                .unwrap_or_else(|| "sqlite://eligibility-proxy.db".to_owned()),
            tls,
            client_tls,
            activation_url: self.peers.activation_url,
            account_url: self.peers.account_url,
            call_timeout: Duration::from_millis(self.peers.call_timeout_ms),
            status_max_age: Duration::from_secs(1),
            watch_heartbeat: Duration::from_millis(500),
            clock: Clock::system(),
            production: self.server.production,
            keys: ProxyKeys {
                reference: key(&self.keys.reference_key_file, false)?,
                challenge: key(&self.keys.challenge_key_file, true)?,
            },
            trust: TrustRoots {
                roots: read_pems(&self.jpki.roots)?,
                test_roots: read_pems(&self.jpki.test_roots)?,
            },
            challenge_ttl: Duration::from_secs(self.checks.challenge_ttl_seconds),
            default_upstream: self.upstream.into_config("upstream")?,
            upstreams,
            handoff,
        })
    }
}
