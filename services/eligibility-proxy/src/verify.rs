//! Card verification (DOMAIN.md §1.5, §1.7, §10.7): the RSA PKCS#1 v1.5 signature over the
//! SHA-256 DigestInfo of the challenge, as the card's `80 2A 00 80` produces it, verified with
//! the auth certificate's key; the certificate's chain to the configured JPKI roots (issuer
//! found by signature, not by name) and its validity period. Test (JPKI-TEST) roots are
//! accepted only outside production mode. Revocation is the upstream's job.

use crate::config::TrustRoots;

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

/// The trust roots, parsed.
#[derive(Clone, Debug)]
pub(crate) struct TrustStore {}

/// Why the configured roots could not be used.
#[derive(Debug, thiserror::Error)]
#[error("JPKI trust roots: {0}")]
pub(crate) struct TrustError(pub(crate) String);

impl TrustStore {
    /// Parses `roots`; in `production`, a root in `roots` that looks like a test root
    /// (O=JPKI-TEST) is an error.
    pub(crate) fn new(_roots: &TrustRoots, _production: bool) -> Result<Self, TrustError> {
        Ok(Self {})
    }

    /// Verifies `der` at `now`.
    pub(crate) fn verify_certificate(
        &self,
        _der: &[u8],
        _now: time::OffsetDateTime,
    ) -> Result<VerifiedCertificate, CardError> {
        Err(CardError::Untrusted)
    }
}

/// Verifies the card's `signature` over `challenge` with the key of `certificate_der`.
pub(crate) fn verify_signature(
    _certificate_der: &[u8],
    _challenge: &[u8],
    _signature: &[u8],
) -> Result<(), CardError> {
    Err(CardError::BadSignature)
}
