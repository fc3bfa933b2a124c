//! The device CA: the key that signs terminals' client certificates. Its key lives in a
//! 0600 file in the data directory (dev) or where the configuration says (production); it is
//! never stored in a database. Certificates carry the client-auth EKU only and one SAN URI
//! naming organization, clinic, account and device (`kit::auth::device_uri`).

use mynafleet_kit::auth::{DeviceIdentity, device_uri};
use mynafleet_kit::tls::CertificateAuthority;
use mynafleet_kit::tls::ca::{CaError, SignedLeaf};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The device CA's subject: different from the internal CA's, so the identity layer can tell
/// device certificates from service certificates by their issuer.
const COMMON_NAME: &str = "MynaFleet device CA";
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const CERT_FILE: &str = "device-ca.pem";
const KEY_FILE: &str = "device-ca-key.pem";

/// Why the device CA could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum DeviceCaError {
    /// A file could not be read or written, or the key file is readable by others.
    #[error("{0}")]
    File(String),
    /// The certificate or key did not load.
    #[error(transparent)]
    Ca(#[from] CaError),
}

/// The device CA, shared by every handler.
#[derive(Clone)]
pub struct DeviceCa {
    ca: Arc<CertificateAuthority>,
}

impl std::fmt::Debug for DeviceCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceCa(<key redacted>)")
    }
}

impl DeviceCa {
    /// Returns a new CA that lives only in memory (tests).
    pub fn generate() -> Result<Self, DeviceCaError> {
        Ok(Self {
            ca: Arc::new(CertificateAuthority::generate(COMMON_NAME, CA_VALIDITY)?),
        })
    }

    /// Loads the CA from `cert` and `key` (PEM); the key file must be mode 0600.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, DeviceCaError> {
        let cert_pem = std::fs::read_to_string(cert)
            .map_err(|e| DeviceCaError::File(format!("read {}: {e}", cert.display())))?;
        let key_pem = mynafleet_kit::keys::read_private(key)
            .map_err(|e| DeviceCaError::File(e.to_string()))?;
        Ok(Self {
            ca: Arc::new(CertificateAuthority::from_pem(&cert_pem, &key_pem)?),
        })
    }

    /// Loads `device-ca.pem` and `device-ca-key.pem` from `dir`, creating both (key 0600)
    /// on first use. Development mode and the test suite only.
    pub fn load_or_create(dir: &Path) -> Result<Self, DeviceCaError> {
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if cert.exists() && key.exists() {
            return Self::from_files(&cert, &key);
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| DeviceCaError::File(format!("create {}: {e}", dir.display())))?;
        let made = Self::generate()?;
        mynafleet_kit::tls::dev::write_private(&key, made.ca.key_pem())
            .map_err(|e| DeviceCaError::File(e.to_string()))?;
        std::fs::write(&cert, made.ca.cert_pem())
            .map_err(|e| DeviceCaError::File(format!("write {}: {e}", cert.display())))?;
        Ok(made)
    }

    /// Returns the CA certificate (PEM): the root servers accept device certificates from.
    pub fn cert_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// Returns the CA itself (tests issue device certificates with their own keys).
    pub fn authority(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// Certifies the key of a PKCS#10 request as `device`, valid for `lifetime` from `now`.
    pub fn certify(
        &self,
        csr_der: &[u8],
        device: &DeviceIdentity,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<SignedLeaf, CaError> {
        self.ca
            .sign_request(csr_der, &device.account, &device_uri(device), now, lifetime)
    }
}

#[cfg(test)]
mod tests;
