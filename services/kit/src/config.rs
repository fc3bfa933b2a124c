//! Configuration loading: a TOML file overlaid by `MYNAFLEET_<SERVICE>_…` environment
//! variables (nested keys joined by `__`, e.g. `MYNAFLEET_ACCOUNT_TLS__CERT`). Only binaries
//! call [`load`]; services receive plain data and never read the environment themselves.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file was missing, unreadable, or did not fit the expected shape.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A file the configuration names could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Loads `T` from `file` (TOML) overlaid by environment variables starting with `env_prefix`.
pub fn load<T: DeserializeOwned>(file: &Path, env_prefix: &str) -> Result<T, ConfigError> {
    if !file.exists() {
        return Err(ConfigError::Read {
            path: file.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    Figment::from(Toml::file(file))
        .merge(Env::prefixed(env_prefix).split("__"))
        .extract()
        .map_err(|e| ConfigError::Invalid(Box::new(e)))
}

/// The part of every service's file configuration that the frame needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// The address to listen on, for example `0.0.0.0:7501`.
    pub listen: SocketAddr,
    /// Production mode refuses test trust roots and generates no certificates. Defaults on.
    #[serde(default = "default_true")]
    pub production: bool,
    /// `sqlite:///var/lib/mynafleet/account.db` or `postgres://user@host/db`.
    pub database_url: Option<String>,
    /// The service's TLS files.
    pub tls: TlsFiles,
    /// Telemetry settings.
    #[serde(default)]
    pub telemetry: TelemetrySection,
    /// Where the plain-HTTP Prometheus endpoint (`GET /metrics`) listens; unset = the
    /// service's default (`0.0.0.0:9501` account … `0.0.0.0:9504` oqs-sim), `"off"` = none.
    #[serde(default)]
    pub metrics_listen: MetricsListen,
}

/// The `[server] metrics_listen` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetricsListen {
    /// The service's default port on every address.
    #[default]
    Default,
    /// No metrics endpoint.
    Off,
    /// This address.
    At(SocketAddr),
}

impl MetricsListen {
    /// Returns the address to bind, `default_port` standing in for [`MetricsListen::Default`].
    pub fn address(self, default_port: u16) -> Option<SocketAddr> {
        match self {
            MetricsListen::Default => Some(SocketAddr::from(([0, 0, 0, 0], default_port))),
            MetricsListen::Off => None,
            MetricsListen::At(a) => Some(a),
        }
    }
}

impl<'de> Deserialize<'de> for MetricsListen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim() {
            "off" => Ok(MetricsListen::Off),
            "" => Ok(MetricsListen::Default),
            other => other.parse().map(MetricsListen::At).map_err(|_| {
                serde::de::Error::custom(format!(
                    "metrics_listen must be an address such as \"0.0.0.0:9501\" or \"off\", \
                     not {other:?}"
                ))
            }),
        }
    }
}

fn default_true() -> bool {
    true
}

/// PEM files of a service's identity and the CAs it trusts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The service's certificate chain (serverAuth + clientAuth).
    pub cert: PathBuf,
    /// The service's private key (keep it 0600).
    pub key: PathBuf,
    /// The internal CA that issues service certificates.
    pub service_ca: PathBuf,
    /// The device CA, on services that devices call (activation, eligibility-proxy).
    pub device_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the files into memory.
    pub fn read(&self) -> Result<crate::tls::ServerTls, ConfigError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_owned(),
                source,
            })
        };
        Ok(crate::tls::ServerTls {
            identity: crate::tls::TlsIdentity {
                cert_pem: read(&self.cert)?,
                key_pem: read(&self.key)?,
            },
            roots: crate::tls::TrustRoots {
                service_ca_pem: read(&self.service_ca)?,
                device_ca_pem: self.device_ca.as_deref().map(read).transpose()?,
            },
        })
    }
}

/// Telemetry settings of a process.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySection {
    /// OTLP/gRPC endpoint for traces, for example `http://127.0.0.1:4317`; none = no export.
    pub otlp_endpoint: Option<String>,
    /// Logs as JSON lines instead of text.
    #[serde(default)]
    pub log_json: bool,
    /// An `EnvFilter` directive, for example `info,mynafleet_account=debug`.
    pub log_filter: Option<String>,
}
