//! Reads a card profile directory as `mynafleet-oqs-sim issue-card` writes it
//! (docs/card-profile.md: `auth-cert.der`, `auth-ca.der`, `auth-key.pk8`, `profile.toml`).
//!
//! An independent reader of that documented layout: it never imports oqs-sim. Errors name the
//! file and what was wrong, never a value from it: a TOML error reports only its line, since
//! the parser's own message can quote the PIN.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::spec::{CardSpec, Pin, Token};

/// The profile layout version this reader understands.
const PROFILE_VERSION: u32 = 1;

/// The fixture profile compiled into the crate (`fixtures/profile`, PIN `1234`).
const FIXTURE_TOML: &str = include_str!("../../fixtures/profile/profile.toml");
const FIXTURE_CERT: &[u8] = include_bytes!("../../fixtures/profile/auth-cert.der");
const FIXTURE_CA: &[u8] = include_bytes!("../../fixtures/profile/auth-ca.der");
const FIXTURE_KEY: &[u8] = include_bytes!("../../fixtures/profile/auth-key.pk8");

/// Why a card profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A profile file could not be read.
    #[error("could not read card profile file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `profile.toml` is not TOML of the documented shape.
    #[error("{path} is not a valid card profile (line {line})")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the error, 0 when unknown.
        line: usize,
    },
    /// The profile's `version` is not one this reader knows.
    #[error("card profile version {version} is not supported (expected {PROFILE_VERSION})")]
    Version {
        /// The version found.
        version: u32,
    },
    /// The PIN is not 4 ASCII digits.
    #[error("the card profile's pin is not 4 ascii digits")]
    Pin,
    /// `tries_left` exceeds `max_tries`, or `max_tries` is 0 or above 15.
    #[error("the card profile's tries ({tries_left} of {max_tries}) are out of range")]
    Tries {
        /// Tries left.
        tries_left: u8,
        /// Maximum tries.
        max_tries: u8,
    },
    /// `token` is not `card`, `android` or `iphone`.
    #[error("unknown token {token:?} in the card profile")]
    Token {
        /// The name found.
        token: String,
    },
    /// `auth-key.pk8` is not a PKCS#8 DER RSA private key.
    #[error("{path} is not a pkcs#8 der rsa private key")]
    Key {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: rsa::pkcs8::Error,
    },
    /// The key is not RSA-2048, so its signatures would not be 256 bytes.
    #[error("the card profile's key has {bits} bits, not 2048")]
    KeySize {
        /// The key's modulus size.
        bits: usize,
    },
}

/// The fields of `profile.toml` the card uses; other keys are ignored.
#[derive(Deserialize)]
struct ProfileToml {
    version: u32,
    pin: String,
    tries_left: u8,
    #[serde(default = "default_max_tries")]
    max_tries: u8,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    token_label: Option<String>,
}

fn default_max_tries() -> u8 {
    3
}

impl CardSpec {
    /// Loads the card profile in `dir` (docs/card-profile.md).
    pub fn from_profile_dir(dir: &Path) -> Result<Self, ProfileError> {
        let read = |name: &str| {
            let path = dir.join(name);
            fs::read(&path)
                .map(Zeroizing::new)
                .map_err(|source| ProfileError::Read { path, source })
        };
        let toml = read("profile.toml")?;
        let cert = read("auth-cert.der")?;
        let ca = read("auth-ca.der")?;
        let key = read("auth-key.pk8")?;
        parse(
            &dir.join("profile.toml"),
            &toml,
            &dir.join("auth-key.pk8"),
            &key,
            cert.to_vec(),
            ca.to_vec(),
        )
    }

    /// Returns the fixture profile compiled into the crate: a physical card with PIN `1234`,
    /// 3 tries, and a certificate chaining to a throwaway `O=JPKI-TEST` CA
    /// (`agent/card-sim/fixtures/`).
    pub fn fixture() -> Result<Self, ProfileError> {
        parse(
            Path::new("fixtures/profile/profile.toml"),
            FIXTURE_TOML.as_bytes(),
            Path::new("fixtures/profile/auth-key.pk8"),
            FIXTURE_KEY,
            FIXTURE_CERT.to_vec(),
            FIXTURE_CA.to_vec(),
        )
    }
}

fn parse(
    toml_path: &Path,
    toml_bytes: &[u8],
    key_path: &Path,
    key_der: &[u8],
    auth_cert: Vec<u8>,
    ca_cert: Vec<u8>,
) -> Result<CardSpec, ProfileError> {
    let syntax = |line| ProfileError::Syntax {
        path: toml_path.to_path_buf(),
        line,
    };
    let text = std::str::from_utf8(toml_bytes).map_err(|_| syntax(0))?;
    let profile: ProfileToml = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| {
                text.get(..span.start)
                    .map_or(0, |s| s.matches('\n').count() + 1)
            })
            .unwrap_or(0);
        syntax(line)
    })?;
    let ProfileToml {
        version,
        pin,
        tries_left,
        max_tries,
        token,
        token_label,
    } = profile;
    let pin = Pin::new(pin).map_err(|_| ProfileError::Pin)?;
    if version != PROFILE_VERSION {
        return Err(ProfileError::Version { version });
    }
    if max_tries == 0 || max_tries > 15 || tries_left > max_tries {
        return Err(ProfileError::Tries {
            tries_left,
            max_tries,
        });
    }
    let token = match token {
        None => Token::Card,
        Some(name) => Token::from_name(&name).ok_or(ProfileError::Token { token: name })?,
    };
    let key = RsaPrivateKey::from_pkcs8_der(key_der).map_err(|source| ProfileError::Key {
        path: key_path.to_path_buf(),
        source,
    })?;
    if key.size() != 256 {
        return Err(ProfileError::KeySize {
            bits: key.size() * 8,
        });
    }
    let mut spec = CardSpec::new(auth_cert, ca_cert, key, pin);
    spec.tries_left = tries_left;
    spec.max_tries = max_tries;
    spec.token = token;
    spec.token_label = token_label.filter(|label| label != token.label());
    Ok(spec)
}
