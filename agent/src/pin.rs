//! Trust on first contact, pinned by the CA fingerprint printed on the sheet (like `kubeadm
//! join --discovery-token-ca-cert-hash`).
//!
//! [`fetch_pinned_ca`] makes one TLS handshake and sends nothing over it. Its verifier looks
//! through the chain the server presents for the certificate whose SHA-256 equals the pin and
//! then checks the leaf against that certificate as the only root, with rustls' WebPKI
//! verifier: the server must prove it holds a key certified under the pinned CA, for the name
//! it was reached by. Only then is the CA handed back as the trust anchor for the real
//! channel, so no secret leaves the terminal before the server is verified.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::fingerprint::Fingerprint;
use crate::server_url::ServerUrl;

#[cfg(test)]
mod tests;

/// A CA certificate the server proved itself under.
#[derive(Clone, Debug)]
pub struct PinnedCa {
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
}

impl PinnedCa {
    /// Returns the certificate as PEM.
    pub fn pem(&self) -> String {
        der_to_pem(&self.der)
    }
}

/// Why the server could not be verified against the pin.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// No TCP connection.
    #[error("connect to {server}: {source}")]
    Connect {
        /// The server.
        server: String,
        /// The error.
        source: io::Error,
    },
    /// The server did not answer in time.
    #[error("connect to {server}: no tls handshake within {timeout:?}")]
    Timeout {
        /// The server.
        server: String,
        /// The limit.
        timeout: Duration,
    },
    /// The host is not a valid TLS server name.
    #[error("{0:?} is not a valid tls server name")]
    ServerName(String),
    /// No certificate the server presented has the pinned fingerprint.
    #[error(
        "ca fingerprint mismatch: the sheet says {expected}, but the server presented {}; \
         check the fingerprint and the server address — the server may not be the one on the sheet",
        ListFingerprints(presented)
    )]
    Mismatch {
        /// The pin.
        expected: Fingerprint,
        /// Every certificate the server presented, leaf first.
        presented: Vec<Fingerprint>,
    },
    /// A certificate matched the pin, but the server's own certificate does not verify under
    /// it (wrong name, expired, not issued by it).
    #[error("the server's certificate does not verify under the pinned ca {pin}: {source}")]
    Untrusted {
        /// The pin.
        pin: Fingerprint,
        /// What rustls found wrong.
        source: rustls::Error,
    },
    /// The handshake failed for another reason.
    #[error("tls handshake with {server}: {source}")]
    Handshake {
        /// The server.
        server: String,
        /// The error.
        source: io::Error,
    },
}

struct ListFingerprints<'a>(&'a [Fingerprint]);

impl fmt::Display for ListFingerprints<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("no certificate"),
            list => {
                for (i, fp) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    write!(f, "{fp}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a presented chain failed the pin check (the handshake itself only sees "bad
/// certificate").
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PinFailure {
    Mismatch(Vec<Fingerprint>),
    Untrusted(rustls::Error),
}

/// Connects to `server`, verifies it against `pin` and returns the pinned CA. Sends nothing
/// but the TLS handshake.
pub async fn fetch_pinned_ca(
    server: &ServerUrl,
    pin: Fingerprint,
    timeout: Duration,
) -> Result<PinnedCa, PinError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinVerifier {
        pin,
        provider: provider.clone(),
        outcome: Mutex::new(None),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| PinError::Untrusted { pin, source })?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from(server.host().to_owned())
        .map_err(|_| PinError::ServerName(server.host().to_owned()))?;
    let authority = server.authority();
    let handshake = async {
        let tcp = TcpStream::connect(&authority)
            .await
            .map_err(|source| PinError::Connect {
                server: authority.clone(),
                source,
            })?;
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|source| PinError::Handshake {
                server: authority.clone(),
                source,
            })
    };
    let result = tokio::time::timeout(timeout, handshake).await;
    let outcome = verifier
        .outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match (result, outcome) {
        (_, Some(Err(PinFailure::Mismatch(presented)))) => Err(PinError::Mismatch {
            expected: pin,
            presented,
        }),
        (_, Some(Err(PinFailure::Untrusted(source)))) => Err(PinError::Untrusted { pin, source }),
        (Err(_), _) => Err(PinError::Timeout {
            server: authority,
            timeout,
        }),
        (Ok(Err(e)), _) => Err(e),
        (Ok(Ok(mut stream)), Some(Ok(der))) => {
            // Nothing was sent; close politely, and ignore a server that hangs up first.
            let _ = stream.shutdown().await;
            Ok(PinnedCa { der })
        }
        (Ok(Ok(_)), None) => Err(PinError::Handshake {
            server: authority,
            source: io::Error::other("the server's certificate was never checked"),
        }),
    }
}

/// Checks a presented chain against `pin` and returns the pinned certificate.
pub(crate) fn check_chain(
    pin: Fingerprint,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    now: UnixTime,
    provider: &Arc<CryptoProvider>,
) -> Result<CertificateDer<'static>, PinFailure> {
    let presented = std::iter::once(end_entity).chain(intermediates);
    let Some(anchor) = presented
        .clone()
        .find(|cert| Fingerprint::of_der(cert) == pin)
    else {
        return Err(PinFailure::Mismatch(
            presented.map(|cert| Fingerprint::of_der(cert)).collect(),
        ));
    };
    let mut roots = RootCertStore::empty();
    roots.add(anchor.clone()).map_err(PinFailure::Untrusted)?;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| PinFailure::Untrusted(rustls::Error::General(e.to_string())))?;
    webpki
        .verify_server_cert(end_entity, intermediates, server_name, &[], now)
        .map_err(PinFailure::Untrusted)?;
    Ok(anchor.clone().into_owned())
}

/// The handshake's verifier: [`check_chain`], remembering why it refused.
#[derive(Debug)]
struct PinVerifier {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
    outcome: Mutex<Option<Result<CertificateDer<'static>, PinFailure>>>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let outcome = check_chain(
            self.pin,
            end_entity,
            intermediates,
            server_name,
            now,
            &self.provider,
        );
        let verdict = match &outcome {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(PinFailure::Untrusted(e)) => Err(e.clone()),
            Err(PinFailure::Mismatch(_)) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Returns `der` as one PEM `CERTIFICATE` block.
pub(crate) fn der_to_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
