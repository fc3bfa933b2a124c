//! Card verification (DOMAIN.md §1.5, §1.7, §10.7): the RSA PKCS#1 v1.5 signature over the
//! SHA-256 DigestInfo of the challenge, as the card's `80 2A 00 80` produces it, verified with
//! the auth certificate's key; the certificate's chain to the configured JPKI roots (issuer
//! found by signature, not by name) and its validity period. Test (JPKI-TEST) roots are
//! accepted only outside production mode. Revocation is the upstream's job.
//!
//! Roots are parsed once, when the store is built: each keeps only its RSA public key, so a
//! check parses the card's certificate and runs one RSA verification per root tried, nothing
//! more. Nothing here logs, and errors never carry a certificate's subject (personal data on
//! signature certificates) or serial.

use crate::config::TrustRoots;
use ring::signature::{self, RsaParameters, UnparsedPublicKey};
use std::sync::Arc;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA,
};
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

#[cfg(test)]
mod tests;

/// The organization of test JPKI hierarchies (DOMAIN.md §1.7).
const TEST_ORGANIZATION: &str = "JPKI-TEST";

/// What a verified auth certificate tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VerifiedCertificate {
    /// Serial number, lower-case hex (for the keyed audit reference only; never stored clear).
    pub(crate) serial_hex: String,
    /// Whether it chains to a test root.
    pub(crate) test_root: bool,
}

/// Why a card was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CardError {
    /// Not a DER X.509 certificate with an RSA key.
    #[error("certificate malformed: {0}")]
    Malformed(String),
    /// No configured root signed it.
    #[error("certificate does not chain to a configured JPKI root")]
    Untrusted,
    /// It chains to a test root and the proxy runs in production mode.
    #[error("certificate chains to a test root; refused in production mode")]
    TestRootRefused,
    /// Outside its validity period.
    #[error("certificate {0}")]
    OutsideValidity(String),
    /// The signature does not verify.
    #[error("signature does not verify over the challenge")]
    BadSignature,
}

/// One root: its RSA public key (the `RSAPublicKey` DER ring takes) and whether it is a test
/// root.
#[derive(Debug)]
struct Root {
    key: Box<[u8]>,
    test: bool,
}

/// The trust roots, parsed.
#[derive(Clone, Debug)]
pub(crate) struct TrustStore {
    roots: Arc<[Root]>,
    production: bool,
}

/// Why the configured roots could not be used.
#[derive(Debug, thiserror::Error)]
#[error("JPKI trust roots: {0}")]
pub(crate) struct TrustError(pub(crate) String);

impl TrustStore {
    /// Parses `roots`; in `production`, a root in `roots` that looks like a test root
    /// (O=JPKI-TEST) is an error. Every PEM may hold several certificates; each must be an
    /// RSA certificate. A root in `test_roots`, or one whose subject has O=JPKI-TEST, is a
    /// test root. Roots are not checked for validity: an expired root (authca01) still
    /// vouches for certificates it issued while valid, whose own validity is checked.
    pub(crate) fn new(roots: &TrustRoots, production: bool) -> Result<Self, TrustError> {
        let listed = roots
            .roots
            .iter()
            .map(|p| (p, false))
            .chain(roots.test_roots.iter().map(|p| (p, true)));
        let mut parsed = Vec::new();
        for (n, (pem, listed_test)) in listed.enumerate() {
            let which = if listed_test { "test root" } else { "root" };
            let mut found = 0;
            for block in Pem::iter_from_buffer(pem.as_bytes()) {
                let block =
                    block.map_err(|e| TrustError(format!("{which} file {}: {e}", n + 1)))?;
                if block.label != "CERTIFICATE" {
                    continue;
                }
                found += 1;
                let cert = parse(&block.contents)
                    .map_err(|e| TrustError(format!("{which} file {}: {e}", n + 1)))?;
                let key = rsa_key(&cert)
                    .map_err(|e| TrustError(format!("{which} {}: {e}", cert.subject())))?;
                let looks_test = cert
                    .subject()
                    .iter_organization()
                    .any(|o| o.as_str() == Ok(TEST_ORGANIZATION));
                if production && looks_test && !listed_test {
                    return Err(TrustError(format!(
                        "root {} is a test root (O={TEST_ORGANIZATION}); refused in production mode",
                        cert.subject()
                    )));
                }
                parsed.push(Root {
                    key: key.into(),
                    test: listed_test || looks_test,
                });
            }
            if found == 0 {
                return Err(TrustError(format!(
                    "{which} file {} holds no PEM certificate",
                    n + 1
                )));
            }
        }
        Ok(Self {
            roots: parsed.into(),
            production,
        })
    }

    /// Verifies `der` at `now`.
    pub(crate) fn verify_certificate(
        &self,
        der: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<VerifiedCertificate, CardError> {
        let cert = parse(der)?;
        rsa_key(&cert)?;
        let algorithm = signature_algorithm(&cert)?;
        let tbs = cert.tbs_certificate.as_ref();
        let sig = &cert.signature_value.data;
        let root = self
            .roots
            .iter()
            .find(|r| {
                UnparsedPublicKey::new(algorithm, &r.key)
                    .verify(tbs, sig)
                    .is_ok()
            })
            .ok_or(CardError::Untrusted)?;
        if root.test && self.production {
            return Err(CardError::TestRootRefused);
        }
        let validity = cert.validity();
        let (not_before, not_after) = (
            validity.not_before.to_datetime(),
            validity.not_after.to_datetime(),
        );
        if now < not_before {
            return Err(CardError::OutsideValidity(format!(
                "not yet valid until {}",
                rfc3339(not_before)
            )));
        }
        if now > not_after {
            return Err(CardError::OutsideValidity(format!(
                "expired on {}",
                rfc3339(not_after)
            )));
        }
        Ok(VerifiedCertificate {
            serial_hex: serial_hex(cert.raw_serial()),
            test_root: root.test,
        })
    }
}

/// Verifies the card's `signature` over `challenge` with the key of `certificate_der`.
pub(crate) fn verify_signature(
    certificate_der: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> Result<(), CardError> {
    let cert = parse(certificate_der)?;
    let key = rsa_key(&cert)?;
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(challenge, signature)
        .map_err(|_| CardError::BadSignature)
}

/// Parses one DER certificate, refusing trailing bytes.
fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CardError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(CardError::Malformed(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        ))),
        Err(e) => Err(CardError::Malformed(e.to_string())),
    }
}

/// Returns the certificate's RSA public key as `RSAPublicKey` DER.
fn rsa_key<'a>(cert: &'a X509Certificate<'_>) -> Result<&'a [u8], CardError> {
    let spki = cert.public_key();
    if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
        return Err(CardError::Malformed("the key is not an RSA key".to_owned()));
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(_)) => Ok(&spki.subject_public_key.data),
        _ => Err(CardError::Malformed(
            "the RSA key does not parse".to_owned(),
        )),
    }
}

/// Returns ring's verification algorithm for the certificate's signature.
fn signature_algorithm(cert: &X509Certificate<'_>) -> Result<&'static RsaParameters, CardError> {
    let oid = &cert.signature_algorithm.algorithm;
    if *oid != cert.tbs_certificate.signature.algorithm {
        return Err(CardError::Malformed(
            "the signature algorithm differs from the signed one".to_owned(),
        ));
    }
    if *oid == OID_PKCS1_SHA256WITHRSA {
        Ok(&signature::RSA_PKCS1_2048_8192_SHA256)
    } else if *oid == OID_PKCS1_SHA384WITHRSA {
        Ok(&signature::RSA_PKCS1_2048_8192_SHA384)
    } else if *oid == OID_PKCS1_SHA512WITHRSA {
        Ok(&signature::RSA_PKCS1_2048_8192_SHA512)
    } else {
        Err(CardError::Malformed(format!(
            "unsupported signature algorithm {oid}"
        )))
    }
}

/// Returns the serial's lower-case hex without the DER sign byte.
fn serial_hex(raw: &[u8]) -> String {
    let trimmed = match raw {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => raw,
    };
    hex::encode(trimmed)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
