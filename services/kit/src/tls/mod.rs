//! TLS material and the internal CA: service identities for mTLS between services, the
//! server configuration that asks for (but does not require) a client certificate, and lazy
//! client channels. Development mode generates everything (see [`dev`]); production loads
//! PEM files (see [`crate::config::TlsFiles`]).

pub mod ca;
pub mod dev;

pub use ca::CertificateAuthority;

use std::time::Duration;
use tonic::transport::{
    Certificate, Channel, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig,
};

/// A certificate chain and its private key, both PEM. `Debug` never shows the key.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate chain, leaf first.
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// The CAs a server accepts client certificates from, kept apart so the identity layer can
/// tell a service from a device by who issued its certificate.
#[derive(Clone, Debug)]
pub struct TrustRoots {
    /// The internal CA (service identities).
    pub service_ca_pem: String,
    /// Activation's device CA (device identities), where devices may call.
    pub device_ca_pem: Option<String>,
}

impl TrustRoots {
    /// Returns every root as one PEM bundle.
    pub fn bundle(&self) -> String {
        let mut pem = self.service_ca_pem.clone();
        if let Some(d) = &self.device_ca_pem {
            if !pem.ends_with('\n') {
                pem.push('\n');
            }
            pem.push_str(d);
        }
        pem
    }
}

/// A server's TLS settings.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The server's certificate and key.
    pub identity: TlsIdentity,
    /// Whose client certificates it accepts.
    pub roots: TrustRoots,
}

impl ServerTls {
    /// Returns tonic's server TLS configuration: client certificates asked for, not required,
    /// so one port serves devices, services and operators (bearer tokens).
    pub fn to_tonic(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(
                &self.identity.cert_pem,
                &self.identity.key_pem,
            ))
            .client_ca_root(Certificate::from_pem(self.roots.bundle()))
            .client_auth_optional(true)
    }
}

/// A client's TLS settings: whom it trusts, and who it is (if anyone).
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// The CA that issued the servers' certificates.
    pub server_ca_pem: String,
    /// The client's own certificate, for mTLS.
    pub identity: Option<TlsIdentity>,
}

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The URL is not a valid `https://host:port` URL.
    #[error("invalid endpoint url {url:?}: {source}")]
    Url {
        /// The URL as given.
        url: String,
        /// What was wrong.
        source: tonic::transport::Error,
    },
    /// The TLS settings were refused.
    #[error("tls settings for {url}: {source}")]
    Tls {
        /// The URL the settings were for.
        url: String,
        /// What was wrong.
        source: tonic::transport::Error,
    },
}

impl ClientTls {
    /// Returns a channel to `url` that connects on first use (start order does not matter),
    /// with `timeout` as the deadline of every call made through it.
    pub fn lazy_channel(&self, url: &str, timeout: Duration) -> Result<Channel, ChannelError> {
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.server_ca_pem));
        if let Some(id) = &self.identity {
            tls = tls.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
        }
        let endpoint =
            Endpoint::from_shared(url.to_owned()).map_err(|source| ChannelError::Url {
                url: url.to_owned(),
                source,
            })?;
        let endpoint = endpoint
            .tls_config(tls)
            .map_err(|source| ChannelError::Tls {
                url: url.to_owned(),
                source,
            })?
            .connect_timeout(timeout)
            .timeout(timeout);
        Ok(endpoint.connect_lazy())
    }
}

/// Returns the SHA-256 fingerprint (upper-case hex pairs joined by `:`) of the first
/// certificate in `pem`, or an empty string when there is none.
pub fn fingerprint_pem(pem: &str) -> String {
    use sha2::Digest;
    let Ok((_, block)) = x509_parser::pem::parse_x509_pem(pem.as_bytes()) else {
        return String::new();
    };
    sha2::Sha256::digest(&block.contents)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
