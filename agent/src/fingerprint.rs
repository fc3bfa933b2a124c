//! SHA-256 certificate fingerprints as the ユーザ設定情報 sheet prints them.
//!
//! The sheet shows the fingerprint of the CA behind MynaFleet's server certificates as
//! upper-case hex pairs joined by `:`; people type it in any case, with or without the
//! colons. This module parses and prints that form and never touches the network.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

#[cfg(test)]
mod tests;

/// The SHA-256 digest of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

/// Why a typed fingerprint was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FingerprintError {
    /// Something other than hex digits, `:`, spaces or a `sha256:` prefix.
    #[error("ca fingerprint holds {0:?}, which is not a hex digit")]
    NotHex(char),
    /// Not 64 hex digits.
    #[error("ca fingerprint has {0} hex digits; a sha-256 fingerprint has 64")]
    WrongLength(usize),
}

impl Fingerprint {
    /// Returns the fingerprint of a certificate given as DER.
    pub fn of_der(der: &[u8]) -> Self {
        let digest = Sha256::digest(der);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&digest);
        Self(bytes)
    }

    /// Parses a fingerprint in any case, with or without `:` (or `-`, spaces) between pairs,
    /// optionally prefixed `sha256:` or `SHA256 Fingerprint=` as tools print it.
    pub fn parse(text: &str) -> Result<Self, FingerprintError> {
        let text = text.trim();
        let text = strip_prefix_ignore_case(text, "sha256 fingerprint=")
            .or_else(|| strip_prefix_ignore_case(text, "sha256:"))
            .unwrap_or(text);
        let mut digits = Vec::with_capacity(64);
        for c in text.chars() {
            match c {
                ':' | '-' | ' ' | '\t' => {}
                c if c.is_ascii_hexdigit() => digits.push(c as u8),
                c => return Err(FingerprintError::NotHex(c)),
            }
        }
        if digits.len() != 64 {
            return Err(FingerprintError::WrongLength(digits.len()));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digits, &mut bytes)
            .map_err(|_| FingerprintError::WrongLength(digits.len()))?;
        Ok(Self(bytes))
    }

    /// Returns the raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Prints upper-case hex pairs joined by `:`, as on the sheet.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}
