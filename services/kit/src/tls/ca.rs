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
