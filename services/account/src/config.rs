//! The account service's configuration: plain data, built by the binary from a file and the
//! environment, or by [`Config::for_tests`].

use mynafleet_kit::audit_chain::Signer;
use mynafleet_kit::clock::Clock;
use mynafleet_kit::config::{ConfigError, ServerSection};
use mynafleet_kit::keys::{KeyError, SecretKey};
use mynafleet_kit::tls::{ClientTls, ServerTls};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

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
    /// The keys kept in files.
    pub keys: Keys,
    /// Operator sessions and login lockout.
    pub sessions: SessionPolicy,
    /// Failed device-password checks before the account locks.
    pub device_max_failed_checks: u32,
    /// What the ユーザ設定情報 sheet tells a terminal about where to connect.
    pub sheet: SheetSettings,
    /// The activation service, asked for the activation codes printed on sheets. Without
    /// it, sheets are issued without codes and `sheets_missing_code` names them.
    pub activation: Option<ActivationPeer>,
    /// Checkpoints and retention of the audit chain.
    pub audit: AuditSettings,
}

/// How the audit chain is sealed and kept (docs/audit.md).
#[derive(Clone, Debug)]
pub struct AuditSettings {
    /// A chain is checkpointed once it grew by this many records (default 1,000)…
    pub checkpoint_every: i64,
    /// …or at this interval when it grew at all (default 60 s).
    pub checkpoint_interval: Duration,
    /// Sealed segments whose checkpoint is older than this leave the store; None keeps
    /// everything (the default). Production refuses less than five years (guideline 6.0).
    pub retention: Option<Duration>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_every: 1_000,
            checkpoint_interval: Duration::from_secs(60),
            retention: None,
        }
    }
}

/// How the account service reaches the activation service.
#[derive(Clone, Debug)]
pub struct ActivationPeer {
    /// For example `https://activation.internal:7502`.
    pub url: String,
    /// The account service's client identity and the servers' CA.
    pub client_tls: ClientTls,
    /// The deadline of every call.
    pub call_timeout: Duration,
}

/// The account service's secret keys (DESIGN.md §5).
#[derive(Clone, Debug)]
pub struct Keys {
    /// Seals operators' TOTP secrets.
    pub totp: SecretKey,
    /// The patient-reference key; HKDF derives the bank-digit check key from it.
    pub reference: SecretKey,
    /// Signs audit checkpoints (Ed25519, PKCS#8 PEM).
    pub audit_signing: std::sync::Arc<Signer>,
}

/// Operator session and login rules.
#[derive(Clone, Debug)]
pub struct SessionPolicy {
    /// A session ends after this much inactivity (default 15 min).
    pub idle_timeout: Duration,
    /// A session ends this long after login whatever happens (default 8 h).
    pub absolute_lifetime: Duration,
    /// Failed logins in a row before the operator locks (default 5).
    pub max_failed_logins: u32,
    /// Whether every operator must use TOTP (default yes, guideline 6.0 two-factor rule).
    pub require_totp: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(15 * 60),
            absolute_lifetime: Duration::from_secs(8 * 3600),
            max_failed_logins: 5,
            require_totp: true,
        }
    }
}

/// What the sheet names besides the account.
#[derive(Clone, Debug, Default)]
pub struct SheetSettings {
    /// The activation endpoint terminals connect to, for example `activation.example.jp:7502`.
    pub activation_endpoint: String,
    /// SHA-256 fingerprint (colon-separated hex) of the CA behind the servers' certificates.
    pub ca_fingerprint: String,
}

impl Config {
    /// Returns a non-production configuration with a manual clock at the current time and
    /// fresh in-memory keys.
    pub fn for_tests(database_url: String, tls: ServerTls) -> Self {
        let ca_fingerprint = mynafleet_kit::tls::fingerprint_pem(&tls.roots.service_ca_pem);
        Self {
            database_url,
            tls,
            clock: Clock::manual(time::OffsetDateTime::now_utc()),
            production: false,
            keys: Keys::generate().unwrap_or_else(|e| panic!("test keys: {e}")),
            sessions: SessionPolicy::default(),
            device_max_failed_checks: 5,
            sheet: SheetSettings {
                activation_endpoint: String::new(),
                ca_fingerprint,
            },
            activation: None,
            audit: AuditSettings::default(),
        }
    }
}

impl Keys {
    /// Returns fresh random keys (tests).
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self {
            totp: SecretKey::generate()?,
            reference: SecretKey::generate()?,
            audit_signing: std::sync::Arc::new(Signer::generate()?.0),
        })
    }

    /// Reads the key files in `dir` (`totp.key`, `reference.key`, `audit-signing.key`),
    /// creating missing ones.
    pub fn load_or_create(dir: &std::path::Path) -> Result<Self, KeyError> {
        Ok(Self {
            totp: SecretKey::load_or_create(&dir.join("totp.key"))?,
            reference: SecretKey::load_or_create(&dir.join("reference.key"))?,
            audit_signing: std::sync::Arc::new(Signer::load_or_create(
                &dir.join("audit-signing.key"),
            )?),
        })
    }
}

/// The account service's configuration file (`mynafleet serve account --config FILE`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listener, database, TLS files and telemetry.
    pub server: ServerSection,
    /// Key files.
    pub keys: KeyFiles,
    /// Session rules; defaults when absent.
    #[serde(default)]
    pub sessions: SessionSection,
    /// What ユーザ設定情報 sheets say.
    #[serde(default)]
    pub sheet: SheetSection,
    /// Where the other services are.
    #[serde(default)]
    pub peers: PeersSection,
    /// Checkpoints and retention of the audit chain; defaults when absent.
    #[serde(default)]
    pub audit: AuditSection,
}

/// The shortest retention production accepts: five years (guideline 6.0), in days.
pub const MIN_PRODUCTION_RETENTION_DAYS: u64 = 1_827;

/// `[audit]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// A chain is checkpointed once it grew by this many records.
    pub checkpoint_every_records: u64,
    /// …or this many seconds after it last grew.
    pub checkpoint_interval_seconds: u64,
    /// Days sealed segments are kept; 0 keeps everything.
    pub retention_days: u64,
}

impl Default for AuditSection {
    fn default() -> Self {
        let d = AuditSettings::default();
        Self {
            checkpoint_every_records: d.checkpoint_every.unsigned_abs(),
            checkpoint_interval_seconds: d.checkpoint_interval.as_secs(),
            retention_days: 0,
        }
    }
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(Box::new(figment::Error::from(message)))
}

impl AuditSection {
    /// Returns the settings; refuses zero counts and intervals, and in `production` a
    /// retention under [`MIN_PRODUCTION_RETENTION_DAYS`].
    pub fn settings(&self, production: bool) -> Result<AuditSettings, ConfigError> {
        let checkpoint_every = i64::try_from(self.checkpoint_every_records)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(format!(
                    "[audit] checkpoint_every_records must be at least 1 (got {})",
                    self.checkpoint_every_records
                ))
            })?;
        if self.checkpoint_interval_seconds == 0 {
            return Err(invalid(
                "[audit] checkpoint_interval_seconds must be at least 1".to_owned(),
            ));
        }
        let retention = match self.retention_days {
            0 => None,
            days if production && days < MIN_PRODUCTION_RETENTION_DAYS => {
                return Err(invalid(format!(
                    "[audit] retention_days = {days} is shorter than the five years \
                     ({MIN_PRODUCTION_RETENTION_DAYS} days) guideline 6.0 requires in \
                     production; set 0 to keep everything or at least \
                     {MIN_PRODUCTION_RETENTION_DAYS}"
                )));
            }
            days => Some(Duration::from_secs(days.saturating_mul(86_400))),
        };
        Ok(AuditSettings {
            checkpoint_every,
            checkpoint_interval: Duration::from_secs(self.checkpoint_interval_seconds),
            retention,
        })
    }
}

/// The services the account service calls.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeersSection {
    /// The activation service's URL (for the codes on sheets); empty for none.
    pub activation_url: String,
    /// The deadline of every outbound call, in milliseconds (0 means 5000).
    pub call_timeout_ms: u64,
}

/// `[keys]`: files of 64 hex digits, mode 0600.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFiles {
    /// Seals TOTP secrets.
    pub totp_key_file: PathBuf,
    /// The patient-reference key (shared with the eligibility proxy).
    pub reference_key_file: PathBuf,
    /// The Ed25519 key (PKCS#8 PEM, `openssl genpkey -algorithm ed25519`) that signs audit
    /// checkpoints.
    pub audit_signing_key_file: PathBuf,
}

/// `[sessions]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    /// Minutes of inactivity that end a session.
    pub idle_timeout_minutes: u64,
    /// Hours after login that end a session.
    pub absolute_lifetime_hours: u64,
    /// Failed logins before an operator locks.
    pub max_failed_logins: u32,
    /// Whether operators must enrol TOTP.
    pub require_totp: bool,
    /// Failed device-password checks before a device account locks.
    pub device_max_failed_checks: u32,
}

impl Default for SessionSection {
    fn default() -> Self {
        let p = SessionPolicy::default();
        Self {
            idle_timeout_minutes: p.idle_timeout.as_secs() / 60,
            absolute_lifetime_hours: p.absolute_lifetime.as_secs() / 3600,
            max_failed_logins: p.max_failed_logins,
            require_totp: p.require_totp,
            device_max_failed_checks: 5,
        }
    }
}

/// `[sheet]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SheetSection {
    /// The activation endpoint printed on sheets.
    pub activation_endpoint: String,
}

impl FileConfig {
    /// Reads the files the configuration names and returns the service's configuration.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let audit = self.audit.settings(self.server.production)?;
        let tls = self.server.tls.read()?;
        let key = |path: &PathBuf| {
            SecretKey::from_file(path).map_err(|e| ConfigError::Read {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })
        };
        let ca_fingerprint = mynafleet_kit::tls::fingerprint_pem(&tls.roots.service_ca_pem);
        let activation = (!self.peers.activation_url.is_empty()).then(|| ActivationPeer {
            url: self.peers.activation_url.clone(),
            client_tls: ClientTls {
                server_ca_pem: tls.roots.service_ca_pem.clone(),
                identity: Some(tls.identity.clone()),
            },
            call_timeout: Duration::from_millis(match self.peers.call_timeout_ms {
                0 => 5_000,
                ms => ms,
            }),
        });
        Ok(Config {
            database_url: self
                .server
                .database_url
                .clone()
                .unwrap_or_else(|| "sqlite://account.db".to_owned()),
            tls,
            clock: Clock::system(),
            production: self.server.production,
            keys: Keys {
                totp: key(&self.keys.totp_key_file)?,
                reference: key(&self.keys.reference_key_file)?,
                audit_signing: std::sync::Arc::new(
                    Signer::from_file(&self.keys.audit_signing_key_file).map_err(|e| {
                        ConfigError::Read {
                            path: self.keys.audit_signing_key_file.clone(),
                            source: std::io::Error::other(e.to_string()),
                        }
                    })?,
                ),
            },
            sessions: SessionPolicy {
                idle_timeout: Duration::from_secs(self.sessions.idle_timeout_minutes * 60),
                absolute_lifetime: Duration::from_secs(
                    self.sessions.absolute_lifetime_hours * 3600,
                ),
                max_failed_logins: self.sessions.max_failed_logins,
                require_totp: self.sessions.require_totp,
            },
            device_max_failed_checks: self.sessions.device_max_failed_checks,
            sheet: SheetSettings {
                activation_endpoint: self.sheet.activation_endpoint,
                ca_fingerprint,
            },
            activation,
            audit,
        })
    }
}

#[cfg(test)]
mod tests;
