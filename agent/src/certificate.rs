//! The device's key and certificate as files hold them: a fresh ECDSA P-256 key, the CSR
//! made with it, and the facts the agent reads back from an issued certificate (serial,
//! validity, public key). It reads no personal fields and logs nothing.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};
use time::OffsetDateTime;
use zeroize::Zeroizing;

#[cfg(test)]
mod tests;

/// What the agent reads from its certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The serial number, upper-case hex without separators.
    pub serial: String,
    /// The start of validity.
    pub not_before: OffsetDateTime,
    /// The end of validity.
    pub not_after: OffsetDateTime,
    /// The SubjectPublicKeyInfo, DER.
    pub(crate) public_key: Vec<u8>,
}

impl std::fmt::Debug for CertificateInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateInfo")
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Why a key or certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// Not one PEM certificate.
    #[error("not a pem certificate: {0}")]
    NotPem(String),
    /// The certificate does not parse.
    #[error("certificate does not parse: {0}")]
    Malformed(String),
    /// The key could not be made, read or used.
    #[error("device key: {0}")]
    Key(#[from] rcgen::Error),
}

impl CertificateInfo {
    /// Reads the first certificate of `pem`.
    pub fn from_pem(pem: &str) -> Result<Self, CertificateError> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|e| CertificateError::NotPem(e.to_string()))?;
        let cert = block
            .parse_x509()
            .map_err(|e| CertificateError::Malformed(e.to_string()))?;
        let time = |t: x509_parser::time::ASN1Time| {
            OffsetDateTime::from_unix_timestamp(t.timestamp())
                .map_err(|e| CertificateError::Malformed(e.to_string()))
        };
        Ok(Self {
            serial: hex::encode_upper(cert.raw_serial()),
            not_before: time(cert.validity().not_before)?,
            not_after: time(cert.validity().not_after)?,
            public_key: cert.public_key().raw.to_vec(),
        })
    }

    /// Whether `key_pem` holds the private key of this certificate.
    pub fn matches_key(&self, key_pem: &str) -> bool {
        KeyPair::from_pem(key_pem)
            .map(|key| key.subject_public_key_info() == self.public_key)
            .unwrap_or(false)
    }
}

/// A new device key and a CSR made with it.
#[derive(Debug)]
pub struct KeyAndCsr {
    /// The private key, PKCS#8 PEM.
    pub key_pem: Zeroizing<String>,
    /// The PKCS#10 request, DER.
    pub csr_der: Vec<u8>,
}

/// Generates an ECDSA P-256 key (ring) and its CSR.
pub fn new_key_and_csr() -> Result<KeyAndCsr, CertificateError> {
    let key = KeyPair::generate()?;
    let key_pem = Zeroizing::new(key.serialize_pem());
    let csr_der = csr(&key)?;
    Ok(KeyAndCsr { key_pem, csr_der })
}

/// Returns a CSR made with the key in `key_pem`.
pub fn csr_for_key(key_pem: &str) -> Result<Vec<u8>, CertificateError> {
    csr(&KeyPair::from_pem(key_pem)?)
}

fn csr(key: &KeyPair) -> Result<Vec<u8>, CertificateError> {
    // The server names the device in the certificate it issues; the request only proves
    // possession of the key, so its subject says what made it and nothing about anyone.
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "mynafleet-agent");
    params.distinguished_name = name;
    Ok(params.serialize_request(key)?.der().to_vec())
}
