//! Development PKI: an internal CA kept in a data directory (key 0600) and fresh service
//! certificates on every start, naming `localhost` and `127.0.0.1`. Used by `mynafleet dev`
//! and the test suite; production mode never calls it.

use super::{CertificateAuthority, ClientTls, ServerTls, TlsIdentity, TrustRoots, ca::CaError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const LEAF_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
/// Hosts every development service certificate names.
pub const DEV_HOSTS: &[&str] = &["localhost", "127.0.0.1"];

/// Why the development PKI could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum DevPkiError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A certificate could not be made.
    #[error(transparent)]
    Ca(#[from] CaError),
}

/// The internal CA of a development deployment.
#[derive(Debug)]
pub struct DevPki {
    ca: CertificateAuthority,
    dir: Option<PathBuf>,
}

impl DevPki {
    /// Returns a PKI that lives only in memory (tests).
    pub fn in_memory() -> Result<Self, DevPkiError> {
        Ok(Self {
            ca: CertificateAuthority::generate("MynaFleet internal CA (development)", CA_VALIDITY)?,
            dir: None,
        })
    }

    /// Loads the CA from `dir` (`ca.pem`, `ca-key.pem`), creating both on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, DevPkiError> {
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca-key.pem");
        let ca = if cert_path.exists() && key_path.exists() {
            let cert = read(&cert_path)?;
            let key = read(&key_path)?;
            CertificateAuthority::from_pem(&cert, &key)?
        } else {
            std::fs::create_dir_all(dir).map_err(|source| DevPkiError::Io {
                action: "create",
                path: dir.to_owned(),
                source,
            })?;
            let ca =
                CertificateAuthority::generate("MynaFleet internal CA (development)", CA_VALIDITY)?;
            write_private(&key_path, ca.key_pem())?;
            write_public(&cert_path, ca.cert_pem())?;
            ca
        };
        Ok(Self {
            ca,
            dir: Some(dir.to_owned()),
        })
    }

    /// Returns the CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// Returns the path of the CA bundle, when the PKI lives in a directory.
    pub fn ca_bundle_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("ca.pem"))
    }

    /// Issues `service`'s certificate (and writes `<service>.pem` / `<service>-key.pem` when
    /// the PKI lives in a directory). The chain ends with the CA certificate, so a terminal that pins the CA by its
    /// fingerprint (the one printed on the ユーザ設定情報 sheet) finds it in the handshake.
    pub fn service_identity(&self, service: &str) -> Result<TlsIdentity, DevPkiError> {
        self.service_identity_for(service, DEV_HOSTS, LEAF_VALIDITY)
    }

    /// Like [`DevPki::service_identity`], naming `hosts` (DNS names or IP addresses) and
    /// valid for `validity` (`mynafleet deploy init`: the service's name and the hosts an
    /// operator lists).
    pub fn service_identity_for(
        &self,
        service: &str,
        hosts: &[&str],
        validity: Duration,
    ) -> Result<TlsIdentity, DevPkiError> {
        let mut id = self.ca.issue_service(service, hosts, validity)?;
        if !id.cert_pem.ends_with('\n') {
            id.cert_pem.push('\n');
        }
        id.cert_pem.push_str(self.ca.cert_pem());
        if let Some(dir) = &self.dir {
            write_private(&dir.join(format!("{service}-key.pem")), &id.key_pem)?;
            write_public(&dir.join(format!("{service}.pem")), &id.cert_pem)?;
        }
        Ok(id)
    }

    /// Returns server TLS for `identity`, accepting services (and devices from `device_ca_pem`).
    pub fn server_tls(&self, identity: TlsIdentity, device_ca_pem: Option<String>) -> ServerTls {
        ServerTls {
            identity,
            roots: TrustRoots {
                service_ca_pem: self.ca.cert_pem().to_owned(),
                device_ca_pem,
            },
        }
    }

    /// Returns client TLS that trusts this CA and presents `identity`.
    pub fn client_tls(&self, identity: Option<TlsIdentity>) -> ClientTls {
        ClientTls {
            server_ca_pem: self.ca.cert_pem().to_owned(),
            identity,
        }
    }
}

fn read(path: &Path) -> Result<String, DevPkiError> {
    std::fs::read_to_string(path).map_err(|source| DevPkiError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

fn write_public(path: &Path, contents: &str) -> Result<(), DevPkiError> {
    std::fs::write(path, contents).map_err(|source| DevPkiError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// Writes `contents` to a file only its owner can read (0600 from creation on Unix).
pub fn write_private(path: &Path, contents: &str) -> Result<(), DevPkiError> {
    let io = |source| DevPkiError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    f.write_all(contents.as_bytes()).map_err(io)
}
