//! The agent's state directory: its key, certificate, the servers' CA bundle and
//! `identity.json`.
//!
//! Every write goes to a temporary file in the same directory, is flushed to disk and then
//! renamed over the old file, so a crash leaves either the old or the new content. Private
//! keys are written `0600` (on Unix). This module stores what it is handed; it never logs file
//! contents and never sees a password or activation code.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

#[cfg(test)]
mod tests;

/// The device key (PKCS#8 PEM), written before its CSR is sent.
pub const KEY_FILE: &str = "key.pem";
/// A renewal's new key, until its certificate arrives and it replaces [`KEY_FILE`].
pub const RENEW_KEY_FILE: &str = "renew-key.pem";
/// The device certificate (PEM). Its presence means the agent is activated.
pub const CERT_FILE: &str = "cert.pem";
/// The CA bundle behind MynaFleet's server certificates (PEM).
pub const SERVER_CA_FILE: &str = "server-ca.pem";
/// What the agent knows about itself ([`IdentityRecord`]).
pub const IDENTITY_FILE: &str = "identity.json";

/// Why the state directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or the directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`write`, `read`, `create`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// `identity.json` is not what this agent writes.
    #[error("read {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
}

/// What the agent knows about its identity besides key and certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRecord {
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub device: String,
    /// `organizations/{org}/clinics/{clinic}/accounts/{W0000001}`.
    pub account: String,
    /// 機関コード.
    pub institution_code: String,
    /// 機関名.
    pub institution_name: String,
    /// The activation service, for renewals (`https://host:port`).
    pub activation_url: String,
    /// The eligibility proxies, in order of preference.
    pub proxy_urls: Vec<String>,
    /// When the current certificate expires.
    #[serde(with = "time::serde::rfc3339")]
    pub certificate_expire_time: OffsetDateTime,
    /// When the current certificate was received (renewal is scheduled from here).
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
}

/// The agent's state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Opens `root`, creating it (`0700` on Unix) when it does not exist.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self, StateError> {
        let root = root.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&root).map_err(|source| StateError::Io {
            action: "create",
            path: root.clone(),
            source,
        })?;
        Ok(Self { root })
    }

    /// Opens `root` without creating anything.
    pub fn open(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Returns the directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the path of `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Whether `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// Writes a public file (`0644`) atomically.
    pub fn write_public(&self, name: &str, contents: &[u8]) -> Result<(), StateError> {
        self.write_atomic(name, contents, 0o644)
    }

    /// Writes a private file (`0600`) atomically.
    pub fn write_private(&self, name: &str, contents: &[u8]) -> Result<(), StateError> {
        self.write_atomic(name, contents, 0o600)
    }

    /// Reads a text file, or `None` when it does not exist.
    pub fn read_optional(&self, name: &str) -> Result<Option<String>, StateError> {
        let path = self.path(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// Reads a text file that must exist.
    pub fn read(&self, name: &str) -> Result<String, StateError> {
        let path = self.path(name);
        fs::read_to_string(&path).map_err(|source| StateError::Io {
            action: "read",
            path,
            source,
        })
    }

    /// Reads a private key file into a buffer that is wiped when dropped.
    pub fn read_secret(&self, name: &str) -> Result<Option<Zeroizing<String>>, StateError> {
        Ok(self.read_optional(name)?.map(Zeroizing::new))
    }

    /// Renames `from` over `to` inside the directory.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StateError> {
        let path = self.path(to);
        fs::rename(self.path(from), &path).map_err(|source| StateError::Io {
            action: "rename into",
            path,
            source,
        })?;
        self.sync_dir();
        Ok(())
    }

    /// Removes `name` if it exists.
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                action: "remove",
                path,
                source,
            }),
        }
    }

    /// Reads `identity.json`.
    pub fn read_record(&self) -> Result<IdentityRecord, StateError> {
        let text = self.read(IDENTITY_FILE)?;
        serde_json::from_str(&text).map_err(|source| StateError::Json {
            path: self.path(IDENTITY_FILE),
            source,
        })
    }

    /// Writes `identity.json` atomically.
    pub fn write_record(&self, record: &IdentityRecord) -> Result<(), StateError> {
        let mut json = serde_json::to_vec_pretty(record).map_err(|source| StateError::Json {
            path: self.path(IDENTITY_FILE),
            source,
        })?;
        json.push(b'\n');
        self.write_public(IDENTITY_FILE, &json)
    }

    fn write_atomic(&self, name: &str, contents: &[u8], mode: u32) -> Result<(), StateError> {
        let path = self.path(name);
        let tmp = self.path(&format!(".{name}.tmp-{}", std::process::id()));
        let io_err = |source| StateError::Io {
            action: "write",
            path: path.clone(),
            source,
        };
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let written = options.open(&tmp).and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        });
        if let Err(source) = written.and_then(|()| fs::rename(&tmp, &path)) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(source));
        }
        self.sync_dir();
        Ok(())
    }

    /// Flushes the directory entry after a rename; best effort (not every platform can).
    fn sync_dir(&self) {
        #[cfg(unix)]
        if let Ok(dir) = fs::File::open(&self.root) {
            let _ = dir.sync_all();
        }
    }
}

/// Returns the per-OS default state directory (`~/.local/share/mynafleet-agent` on Linux,
/// `%APPDATA%\mynafleet-agent` on Windows), if the platform names one.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("mynafleet-agent"))
}
