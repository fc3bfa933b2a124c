//! A software My Number card for whole-suite tests (issue #5 plays the terminal this way
//! until the agent's card path exists): the auth certificate and key of a card profile
//! written by oqs-sim, signing exactly as the card's `80 2A 00 80` does — PKCS#1 v1.5 over
//! the SHA-256 DigestInfo of what it is given.

use rsa::pkcs8::DecodePrivateKey as _;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest as _, Sha256};
use std::path::Path;

/// SHA-256 DigestInfo prefix (DOMAIN.md §1.5).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// A card: its auth certificate and key.
#[derive(Clone, Debug)]
pub struct SoftwareCard {
    /// EF 000A: the 利用者証明用電子証明書 (DER).
    pub certificate_der: Vec<u8>,
    key: RsaPrivateKey,
}

impl SoftwareCard {
    /// Reads a card profile directory (`auth-cert.der`, `auth-key.pk8`).
    pub fn from_profile(dir: &Path) -> Self {
        let certificate_der = std::fs::read(dir.join("auth-cert.der"))
            .unwrap_or_else(|e| panic!("read {}/auth-cert.der: {e}", dir.display()));
        let key_der = std::fs::read(dir.join("auth-key.pk8"))
            .unwrap_or_else(|e| panic!("read {}/auth-key.pk8: {e}", dir.display()));
        let key = RsaPrivateKey::from_pkcs8_der(&key_der).expect("PKCS#8 RSA key");
        Self {
            certificate_der,
            key,
        }
    }

    /// Signs `challenge` the way the card does after a successful VERIFY.
    pub fn sign(&self, challenge: &[u8]) -> Vec<u8> {
        let mut digest_info = SHA256_DIGEST_INFO.to_vec();
        digest_info.extend_from_slice(&Sha256::digest(challenge));
        self.key
            .sign(Pkcs1v15Sign::new_unprefixed(), &digest_info)
            .expect("RSA signature")
    }
}
