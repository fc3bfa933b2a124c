//! The terminal's device identity in memory: key, certificate, the servers' CA bundle and
//! `identity.json`, and the mTLS channels built from them.
//!
//! A tonic client identity is fixed when its `Channel` is built, so [`Identity::channel`]
//! caches one channel per URL and builds a new one after each renewal; streams opened on an
//! older channel keep their connection. This module never logs the key and holds it only in
//! zeroizing buffers of its own (tonic copies it into the TLS configuration).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use zeroize::Zeroizing;

use crate::certificate::{CertificateError, CertificateInfo};
use crate::server_url::{ServerUrl, ServerUrlError};
use crate::state::{
    CERT_FILE, IdentityRecord, KEY_FILE, RENEW_KEY_FILE, SERVER_CA_FILE, StateDir, StateError,
};

/// How long a connection attempt may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the identity could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The state directory holds no certificate.
    #[error("not activated: {0} holds no device certificate; run `mynafleet-agent activate` first")]
    NotActivated(PathBuf),
    /// A state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The certificate in the state directory cannot be used.
    #[error("{path}: {source}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: CertificateError,
    },
    /// Neither the key nor a pending renewal key belongs to the certificate.
    #[error("{0}: the device key does not belong to the certificate; activate again")]
    KeyMismatch(PathBuf),
    /// A URL is not an https address.
    #[error(transparent)]
    Url(#[from] ServerUrlError),
    /// tonic refused the endpoint or TLS settings.
    #[error("channel to {url}: {source}")]
    Channel {
        /// The URL.
        url: String,
        /// What tonic said.
        source: tonic::transport::Error,
    },
}

/// A renewed certificate to install.
#[derive(Debug)]
pub(crate) struct NewCertificate {
    pub(crate) key_pem: Zeroizing<String>,
    pub(crate) certificate_pem: String,
    pub(crate) server_ca_pem: String,
    pub(crate) proxy_urls: Vec<String>,
    pub(crate) received_at: OffsetDateTime,
}

struct Current {
    record: IdentityRecord,
    key_pem: Zeroizing<String>,
    cert_pem: String,
    server_ca_pem: String,
    certificate: CertificateInfo,
    generation: u64,
}

/// The device identity of an activated terminal.
pub struct Identity {
    state: StateDir,
    current: RwLock<Current>,
    channels: Mutex<HashMap<String, (u64, Channel)>>,
    renewals: watch::Sender<u64>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("state_dir", &self.state.root())
            .field("renewals", &*self.renewals.borrow())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads the identity from the state directory `dir`. A renewal interrupted after its
    /// certificate was written is completed here.
    pub fn load(dir: impl AsRef<Path>) -> Result<Arc<Self>, IdentityError> {
        let state = StateDir::open(dir.as_ref());
        if !state.exists(CERT_FILE) {
            return Err(IdentityError::NotActivated(state.root().to_owned()));
        }
        let cert_pem = state.read(CERT_FILE)?;
        let certificate =
            CertificateInfo::from_pem(&cert_pem).map_err(|source| IdentityError::Certificate {
                path: state.path(CERT_FILE),
                source,
            })?;
        let key_pem = match state.read_secret(KEY_FILE)? {
            Some(key) if certificate.matches_key(&key) => key,
            _ => match state.read_secret(RENEW_KEY_FILE)? {
                Some(key) if certificate.matches_key(&key) => {
                    state.rename(RENEW_KEY_FILE, KEY_FILE)?;
                    key
                }
                _ => return Err(IdentityError::KeyMismatch(state.path(KEY_FILE))),
            },
        };
        let server_ca_pem = state.read(SERVER_CA_FILE)?;
        let mut record = state.read_record()?;
        if record.certificate_expire_time != certificate.not_after {
            // The certificate was replaced but identity.json not yet: trust the certificate.
            record.certificate_expire_time = certificate.not_after;
            record.issued_at = certificate.not_before;
            state.write_record(&record)?;
        }
        Ok(Arc::new(Self {
            state,
            current: RwLock::new(Current {
                record,
                key_pem,
                cert_pem,
                server_ca_pem,
                certificate,
                generation: 0,
            }),
            channels: Mutex::new(HashMap::new()),
            renewals: watch::Sender::new(0),
        }))
    }

    /// Returns a channel to `url` presenting the current certificate. The same channel comes
    /// back until the next renewal; it connects on first use.
    pub fn channel(&self, url: &str) -> Result<Channel, IdentityError> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((generation, channel)) = channels.get(url)
            && *generation == current.generation
        {
            return Ok(channel.clone());
        }
        let server = ServerUrl::parse(url)?;
        let channel = lazy_channel(
            &server,
            &current.server_ca_pem,
            Some((&current.cert_pem, &current.key_pem)),
        )?;
        channels.insert(url.to_owned(), (current.generation, channel.clone()));
        Ok(channel)
    }

    /// Returns what `identity.json` says now.
    pub fn record(&self) -> IdentityRecord {
        self.read().record.clone()
    }

    /// Returns the current certificate's serial and validity.
    pub fn certificate(&self) -> CertificateInfo {
        self.read().certificate.clone()
    }

    /// Returns the current certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        self.read().cert_pem.clone()
    }

    /// Returns the state directory.
    pub fn state_dir(&self) -> &Path {
        self.state.root()
    }

    /// Returns a receiver counting the renewals installed since [`Identity::load`].
    pub fn renewals(&self) -> watch::Receiver<u64> {
        self.renewals.subscribe()
    }

    /// Writes a renewed certificate and switches new channels to it. The new key is already
    /// on disk as [`RENEW_KEY_FILE`]; it replaces the old one only once its certificate is
    /// written, so a crash in between leaves a pair [`Identity::load`] can finish.
    pub(crate) fn install(&self, new: NewCertificate) -> Result<CertificateInfo, IdentityError> {
        let certificate = CertificateInfo::from_pem(&new.certificate_pem).map_err(|source| {
            IdentityError::Certificate {
                path: self.state.path(CERT_FILE),
                source,
            }
        })?;
        if !certificate.matches_key(&new.key_pem) {
            return Err(IdentityError::KeyMismatch(self.state.path(RENEW_KEY_FILE)));
        }
        let mut record = self.record();
        record.certificate_expire_time = certificate.not_after;
        record.issued_at = new.received_at;
        if !new.proxy_urls.is_empty() {
            record.proxy_urls = new.proxy_urls;
        }
        if !new.server_ca_pem.is_empty() {
            self.state
                .write_public(SERVER_CA_FILE, new.server_ca_pem.as_bytes())?;
        }
        self.state
            .write_public(CERT_FILE, new.certificate_pem.as_bytes())?;
        self.state.rename(RENEW_KEY_FILE, KEY_FILE)?;
        self.state.write_record(&record)?;
        {
            let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
            current.record = record;
            current.key_pem = new.key_pem;
            current.cert_pem = new.certificate_pem;
            if !new.server_ca_pem.is_empty() {
                current.server_ca_pem = new.server_ca_pem;
            }
            current.certificate = certificate.clone();
            current.generation += 1;
        }
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.renewals.send_modify(|n| *n += 1);
        Ok(certificate)
    }

    pub(crate) fn state(&self) -> &StateDir {
        &self.state
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returns a lazily connecting channel to `server` trusting `ca_pem`, presenting
/// `identity` (certificate PEM, key PEM) when given. Unary deadlines are set per call;
/// HTTP/2 keep-alives notice a dead peer under a long stream.
pub(crate) fn lazy_channel(
    server: &ServerUrl,
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<Channel, IdentityError> {
    let url = server.to_string();
    let err = |source| IdentityError::Channel {
        url: url.clone(),
        source,
    };
    let mut tls = ClientTlsConfig::new()
        .domain_name(server.host())
        .ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((cert_pem, key_pem)) = identity {
        tls = tls.identity(tonic::transport::Identity::from_pem(cert_pem, key_pem));
    }
    let endpoint = Endpoint::from_shared(url.clone())
        .map_err(err)?
        .tls_config(tls)
        .map_err(err)?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}
