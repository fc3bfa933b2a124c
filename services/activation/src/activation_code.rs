//! Activation codes as values: the 12 digits a terminal types (printed `1234-5678-9012` on
//! the ユーザ設定情報 sheet), drawn from the OS CSPRNG so that they always FAIL the My Number
//! check (DOMAIN.md §2), parsed leniently (hyphens, spaces, full-width digits), and hashed
//! with argon2id on a blocking thread.
//!
//! A code never appears in `Debug` output, logs or records; its buffer is zeroized on drop.
//! Only its hash is stored (see `store::codes`).

use crate::error::{Error, Result};
use mynafleet_kit::guard::{looks_like_my_number, normalize_digits};
use mynafleet_kit::keys::{self, password};
use zeroize::Zeroizing;

/// How many digits a code has.
pub const DIGITS: usize = 12;

/// The characters a typed code may hold besides digits (ASCII and full-width).
const SEPARATORS: &[char] = &[' ', '\u{3000}', '\t', '-', '‐', '−', '－', 'ー'];

/// A 12-digit activation code in the clear, for as long as it takes to show or check it.
pub struct ActivationCode(Zeroizing<String>);

impl std::fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActivationCode(<redacted>)")
    }
}

impl ActivationCode {
    /// Parses a typed code: 12 digits, with or without hyphens and spaces (ASCII or
    /// full-width), full-width digits folded. The error says what is wrong in words a person
    /// at the terminal can act on.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.chars().all(|c| SEPARATORS.contains(&c)) {
            return Err(Error::CodeMalformed(
                "is empty: enter the 12-digit activation code from the sheet".to_owned(),
            ));
        }
        if raw
            .chars()
            .any(|c| !(c.is_ascii_digit() || ('０'..='９').contains(&c) || SEPARATORS.contains(&c)))
        {
            return Err(Error::CodeMalformed(
                "only digits, spaces and hyphens are allowed".to_owned(),
            ));
        }
        let digits = Zeroizing::new(normalize_digits(raw));
        if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            let n = digits.chars().filter(char::is_ascii_digit).count();
            return Err(Error::CodeMalformed(format!(
                "needs {DIGITS} digits, got {n}"
            )));
        }
        Ok(Self(digits))
    }

    /// Draws a new code from the OS random source: each digit unbiased (bytes of 250 and
    /// above are redrawn), the whole redrawn until it fails the My Number check digit.
    pub fn generate() -> Result<Self> {
        loop {
            let mut digits = Zeroizing::new(String::with_capacity(DIGITS));
            let mut buf = Zeroizing::new([0u8; 32]);
            while digits.len() < DIGITS {
                keys::random_bytes(buf.as_mut_slice()).map_err(|e| Error::Random(e.to_string()))?;
                for b in buf.iter().filter(|b| **b < 250) {
                    if digits.len() == DIGITS {
                        break;
                    }
                    digits.push(char::from(b'0' + b % 10));
                }
            }
            if !looks_like_my_number(&digits) {
                return Ok(Self(digits));
            }
        }
    }

    /// Returns the 12 digits (for hashing and verifying only; never log them).
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Returns the code as printed: `1234-5678-9012`.
    pub fn display(&self) -> String {
        let d = self.0.as_str();
        format!("{}-{}-{}", &d[..4], &d[4..8], &d[8..])
    }

    /// Returns the argon2id hash of the code (computed on a blocking thread).
    pub async fn hash(&self) -> Result<String> {
        let digits = self.0.clone();
        tokio::task::spawn_blocking(move || password::hash(&digits))
            .await
            .map_err(|e| Error::Hash(e.to_string()))?
            .map_err(Error::Hash)
    }

    /// Returns the index of the first of `hashes` the code matches, if any (argon2id,
    /// on a blocking thread; a malformed stored hash never matches).
    pub async fn find_match(&self, hashes: Vec<String>) -> Result<Option<usize>> {
        let digits = self.0.clone();
        tokio::task::spawn_blocking(move || {
            hashes.iter().position(|h| password::verify(&digits, h))
        })
        .await
        .map_err(|e| Error::Hash(e.to_string()))
    }
}

#[cfg(test)]
mod tests;
