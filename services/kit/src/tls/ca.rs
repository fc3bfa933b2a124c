//! A certificate authority built on rcgen (ring): the internal CA that issues service
//! certificates, and the shape activation's device CA reuses.

use super::TlsIdentity;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::time::Duration;
use time::OffsetDateTime;

/// Why a certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// rcgen refused the parameters or the key.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A SAN value was not valid.
    #[error("invalid subject alternative name {0:?}")]
    San(String),
    /// A certificate signing request did not parse or its signature did not verify.
    #[error("certificate signing request: {0}")]
    Csr(String),
}

/// A certificate issued for a key the CA never saw (from a CSR).
#[derive(Clone, Debug)]
pub struct SignedLeaf {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// Its serial number, lowercase hex.
    pub serial_hex: String,
    /// Its end of validity.
    pub not_after: OffsetDateTime,
    /// SHA-256 of the certified SubjectPublicKeyInfo (DER), lowercase hex.
    pub key_fingerprint: String,
}

/// Returns the SHA-256 fingerprint (lowercase hex) of the public key in a PKCS#10 request
/// after checking the request's self-signature.
pub fn csr_key_fingerprint(csr_der: &[u8]) -> Result<String, CaError> {
    use sha2::Digest;
    use x509_parser::prelude::FromDer;
    let (rest, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
            .map_err(|e| CaError::Csr(format!("not a PKCS#10 request: {e}")))?;
    if !rest.is_empty() {
        return Err(CaError::Csr("trailing bytes after the request".to_owned()));
    }
    csr.verify_signature()
        .map_err(|_| CaError::Csr("the request is not signed by its own key".to_owned()))?;
    Ok(hex::encode(sha2::Sha256::digest(
        csr.certification_request_info.subject_pki.raw,
    )))
}

/// A CA whose key is in memory.
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

/// What a leaf certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafUse {
    /// A service: server and client authentication.
    Service,
    /// A client only (devices, test callers).
    Client,
}

impl CertificateAuthority {
    /// Generates a new CA (ECDSA P-256) named `common_name`, valid for `validity`.
    pub fn generate(common_name: &str, validity: Duration) -> Result<Self, CaError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "MynaFleet");
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + validity;
        let cert = params.self_signed(&key)?;
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem,
            key_pem,
        })
    }

    /// Loads a CA from its certificate and key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CaError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            issuer,
        })
    }

    /// Returns the CA certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Returns the CA key (PEM); write it only to a 0600 file.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues a leaf with a fresh key: `uri` as SAN URI, `hosts` as DNS or IP SANs.
    pub fn issue(
        &self,
        common_name: &str,
        uri: &str,
        hosts: &[&str],
        leaf_use: LeafUse,
        validity: Duration,
    ) -> Result<TlsIdentity, CaError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "MynaFleet");
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        let mut sans = vec![SanType::URI(
            uri.try_into().map_err(|_| CaError::San(uri.to_owned()))?,
        )];
        for h in hosts {
            sans.push(match h.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => {
                    SanType::DnsName((*h).try_into().map_err(|_| CaError::San((*h).to_owned()))?)
                }
            });
        }
        params.subject_alt_names = sans;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match leaf_use {
            LeafUse::Service => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            LeafUse::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + validity;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(TlsIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Issues a client certificate (client-auth EKU only) for the key in a PKCS#10 request:
    /// the subject and SAN URI are ours, whatever the request asked for; the serial is 16
    /// random bytes; validity starts a minute back (clock skew) and ends `validity` from now.
    pub fn sign_request(
        &self,
        csr_der: &[u8],
        common_name: &str,
        uri: &str,
        now: OffsetDateTime,
        validity: Duration,
    ) -> Result<SignedLeaf, CaError> {
        let key_fingerprint = csr_key_fingerprint(csr_der)?;
        let der = rustls::pki_types::CertificateSigningRequestDer::from(csr_der.to_vec());
        let mut request = rcgen::CertificateSigningRequestParams::from_der(&der)
            .map_err(|e| CaError::Csr(e.to_string()))?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "MynaFleet");
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::URI(
            uri.try_into().map_err(|_| CaError::San(uri.to_owned()))?,
        )];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let mut serial = [0u8; 16];
        crate::keys::random_bytes(&mut serial).map_err(|e| CaError::Csr(e.to_string()))?;
        serial[0] &= 0x7f; // a positive INTEGER of 16 bytes
        serial[0] |= 0x40;
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        params.not_before = now - time::Duration::minutes(1);
        let not_after = now + validity;
        params.not_after = not_after;
        request.params = params;
        let cert = request.signed_by(&self.issuer)?;
        Ok(SignedLeaf {
            cert_pem: cert.pem(),
            serial_hex: hex::encode(serial),
            not_after,
            key_fingerprint,
        })
    }

    /// Issues a service certificate for `service` (SAN URI `spiffe://mynafleet/service/<name>`)
    /// that names `hosts`.
    pub fn issue_service(
        &self,
        service: &str,
        hosts: &[&str],
        validity: Duration,
    ) -> Result<TlsIdentity, CaError> {
        self.issue(
            service,
            &crate::auth::service_uri(service),
            hosts,
            LeafUse::Service,
            validity,
        )
    }
}
