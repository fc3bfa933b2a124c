//! Secret keys kept in 0600 files, never in a database (DESIGN.md §5): loading and creating
//! them, deriving per-scope subkeys with HKDF-SHA256, keyed hashes (HMAC-SHA256) and sealing
//! small secrets with ChaCha20-Poly1305. Also argon2id password hashing.
//!
//! Every key has an id (a short digest of the key) that records carry, so keys can rotate.
//! Key bytes never appear in `Debug` output or logs.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// What can go wrong with a key file or a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("{action} key file {path}: {source}")]
    Io {
        /// read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    #[error("key file {0} must hold 64 hex digits (32 random bytes)")]
    Malformed(PathBuf),
    /// The key file may be read by others.
    #[error("key file {0} must be readable by its owner only (chmod 600)")]
    TooOpen(PathBuf),
    /// A sealed value was changed, or sealed with another key.
    #[error("sealed value does not open with key {0}")]
    Unseal(String),
    /// The system random source failed.
    #[error("random source: {0}")]
    Random(String),
}

/// Reads a file that must be readable by its owner only (mode 0600 on Unix): a key file, a
/// CA key. A file others may read is refused with [`KeyError::TooOpen`].
pub fn read_private(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let io = |source| KeyError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen(path.to_owned()));
        }
    }
    Ok(Zeroizing::new(std::fs::read_to_string(path).map_err(io)?))
}

/// A 32-byte secret key and its id.
#[derive(Clone)]
pub struct SecretKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Fills `buf` from the operating system's random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), KeyError> {
    getrandom::fill(buf).map_err(|e| KeyError::Random(e.to_string()))
}

impl SecretKey {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        Self {
            id: hex::encode(&digest[..6]),
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Returns a new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        random_bytes(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    /// Returns the key's id: the first 12 hex digits of its SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads a key file (64 hex digits). On Unix the file must be readable by its owner only.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = read_private(path)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| KeyError::Malformed(path.to_owned()))?;
        Ok(Self::from_bytes(bytes))
    }

    /// Reads the key file at `path`, creating it (0600) with a new key when it is absent.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        if path.exists() {
            return Self::from_file(path);
        }
        let key = Self::generate()?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(*key.bytes)));
        crate::tls::dev::write_private(path, &text).map_err(|e| KeyError::Io {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(key)
    }

    /// Derives the subkey for `label` (what it is for) and `scope` (for example an
    /// organization) with HKDF-SHA256; its id names the parent key, the label and the scope.
    pub fn derive(&self, label: &str, scope: &str) -> SecretKey {
        let hk = hkdf::Hkdf::<Sha256>::new(None, self.bytes.as_ref());
        let mut out = [0u8; 32];
        let info = [label.as_bytes(), &[0u8], scope.as_bytes()].concat();
        // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expand cannot fail.
        if hk.expand(&info, &mut out).is_err() {
            unreachable!("hkdf output length is fixed at 32 bytes");
        }
        let mut key = Self::from_bytes(out);
        key.id = self.id.clone();
        key
    }

    /// Returns the hex HMAC-SHA256 of `parts`, joined with a unit separator (0x1F) so that
    /// ("ab", "c") and ("a", "bc") differ.
    pub fn hmac_hex(&self, parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.bytes.as_ref())
            .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"));
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(&[0x1f]);
            }
            mac.update(p.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encrypts `plaintext` bound to `context` (which must be given again to open it).
    /// The result is a random 12-byte nonce followed by the ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, KeyError> {
        let cipher = ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*self.bytes));
        let mut nonce = [0u8; 12];
        random_bytes(&mut nonce)?;
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| KeyError::Unseal(self.id.clone()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Decrypts what [`SecretKey::seal`] made with the same key and context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let err = || KeyError::Unseal(self.id.clone());
        if sealed.len() < 12 {
            return Err(err());
        }
        let (nonce, body) = sealed.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| err())?;
        let cipher = ChaCha20Poly1305::new(&chacha20poly1305::Key::from(*self.bytes));
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| err())
    }
}

/// argon2id password hashes in PHC string form.
pub mod password {
    use argon2::Argon2;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// Returns the argon2id PHC hash of `password` with a fresh salt.
    pub fn hash(password: &str) -> Result<String, String> {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Returns whether `password` matches `phc`; a malformed stored hash never matches.
    pub fn verify(password: &str, phc: &str) -> bool {
        let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// A hash of a password nobody knows, to verify against when the account does not exist,
    /// so an unknown login takes as long as a wrong password.
    pub fn decoy() -> &'static str {
        static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| hash("decoy password that never matches").unwrap_or_default())
    }
}

#[cfg(test)]
mod tests;
