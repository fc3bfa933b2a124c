//! Operators' second factor: TOTP (RFC 6238; SHA-1, 6 digits, 30-second steps, one step of
//! skew either way) through the `totp-rs` crate.
//!
//! Codes are checked at the time the service's clock says, never the system time, so tests
//! move a manual clock. The accepted time step is returned so the caller can refuse a step
//! at or below the last one accepted (a code is good once, RFC 6238 §5.2). A secret is kept
//! only sealed with the TOTP key and bound to its operator's id; it never reaches a log,
//! and its `Debug` output is redacted.

use crate::error::{Error, Result};
use mynafleet_kit::keys::SecretKey;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The issuer authenticator apps show beside the login id.
pub const ISSUER: &str = "MynaFleet";
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps accepted either side of now, for clock drift.
pub const SKEW_STEPS: u16 = 1;
/// Bytes of a new secret (160 bits, RFC 4226 §4).
pub const SECRET_BYTES: usize = 20;

/// An operator's TOTP secret in clear (only ever in memory).
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

fn secret_error(e: impl std::fmt::Display) -> Error {
    Error::Secret(format!("totp: {e}"))
}

impl TotpSecret {
    /// Returns a new random secret from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        mynafleet_kit::keys::random_bytes(&mut bytes).map_err(secret_error)?;
        Ok(Self(bytes))
    }

    /// Wraps raw secret bytes (at least 128 bits).
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Result<Self> {
        if bytes.len() < 16 {
            return Err(secret_error("secret shorter than 128 bits"));
        }
        Ok(Self(bytes))
    }

    /// Returns the secret in base32 without padding, as authenticator apps take it.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(totp_rs::Secret::from(self.0.as_slice()).to_base32())
    }

    fn totp(&self, account: &str) -> Result<Totp> {
        let builder = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.as_slice())
            .with_issuer(Some(ISSUER));
        let builder = if account.is_empty() {
            builder
        } else {
            builder.with_account_name(account)
        };
        builder.build().map_err(secret_error)
    }

    /// Returns the `otpauth://totp/MynaFleet:{login_id}?secret=…&issuer=MynaFleet` URI that
    /// enrols the secret in an authenticator app (shown once).
    pub fn uri(&self, login_id: &str) -> Result<Zeroizing<String>> {
        self.totp(login_id)?
            .to_url()
            .map(Zeroizing::new)
            .map_err(secret_error)
    }

    /// Checks `code` at `now_micros` (the service clock) and returns the time step it
    /// belongs to, or `None` when it matches no step within the skew.
    pub fn verify(&self, code: &str, now_micros: i64) -> Result<Option<i64>> {
        let Ok(secs) = u64::try_from(now_micros / 1_000_000) else {
            return Ok(None);
        };
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(self
            .totp("")?
            .check(code, secs)
            .and_then(|step| i64::try_from(step).ok()))
    }

    /// Returns the code of the step that holds `now_micros` (tests and clients).
    pub fn code_at(&self, now_micros: i64) -> Result<Zeroizing<String>> {
        let secs = u64::try_from(now_micros / 1_000_000).map_err(secret_error)?;
        Ok(Zeroizing::new(self.totp("")?.generate(secs).to_string()))
    }

    /// Seals the secret with `key`, bound to `operator` (it opens for that operator only).
    pub fn seal(&self, key: &SecretKey, operator: Uuid) -> Result<Vec<u8>> {
        key.seal(&self.0, operator.to_string().as_bytes())
            .map_err(secret_error)
    }

    /// Opens what [`TotpSecret::seal`] made for `operator`.
    pub fn open(key: &SecretKey, sealed: &[u8], operator: Uuid) -> Result<Self> {
        let bytes = key
            .open(sealed, operator.to_string().as_bytes())
            .map_err(secret_error)?;
        Self::from_bytes(bytes)
    }
}

/// Returns the current code of an `otpauth://` URI at `now_micros`, or `None` when the URI
/// is not a TOTP URI. For tests and tools that stand in for an authenticator app.
pub fn code_from_uri(uri: &str, now_micros: i64) -> Option<String> {
    let totp = Totp::from_url(uri).ok()?;
    let secs = u64::try_from(now_micros / 1_000_000).ok()?;
    Some(totp.generate(secs).to_string())
}

#[cfg(test)]
mod tests;
