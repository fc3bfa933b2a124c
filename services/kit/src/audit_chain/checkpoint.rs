//! Signed checkpoints of a chain's head (docs/audit.md "Checkpoints") and the Ed25519 keys
//! that sign and verify them.
//!
//! The signed text (the note) is, with `\n` line ends:
//! ```text
//! mynafleet-audit-checkpoint-v1
//! origin <origin>
//! size <size>
//! head <64 hex digits>
//! time <microseconds since the epoch>
//! key <key id>
//! ```
//! A key's id is the first 8 bytes of SHA-256 over its raw 32-byte public key, in hex.

use super::{Hash, hash_hex};
use crate::keys::KeyError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The first line of every checkpoint note.
const NOTE_TAG: &str = "mynafleet-audit-checkpoint-v1";

/// The word that opens a public key line (`mynafleet-audit-key <id> ed25519 <base64>`).
const KEY_LINE_TAG: &str = "mynafleet-audit-key";

/// Why a checkpoint does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// No trusted key has its key id.
    #[error("signed with key {0}, which is not a trusted key")]
    UnknownKey(String),
    /// The signature does not match the note under the named key.
    #[error("signature does not verify under key {0}")]
    BadSignature(String),
    /// The signature is not base64 of 64 bytes.
    #[error("signature is malformed")]
    MalformedSignature,
}

/// A signed statement about a chain's head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The chain's origin.
    pub origin: String,
    /// Number of entries covered.
    pub size: i64,
    /// Hash of entry `size` ([`super::ZERO_HASH`] when 0).
    pub head: Hash,
    /// When it was signed, microseconds since the epoch.
    pub time: i64,
    /// The signing key's id.
    pub key_id: String,
    /// Ed25519 signature over [`Checkpoint::note`].
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// Returns the signed text.
    pub fn note(&self) -> String {
        note(&self.origin, self.size, &self.head, self.time, &self.key_id)
    }

    /// Returns the signature in base64.
    pub fn signature_b64(&self) -> String {
        B64.encode(&self.signature)
    }

    /// Decodes a base64 signature.
    pub fn decode_signature(text: &str) -> Result<Vec<u8>, CheckpointError> {
        let bytes = B64
            .decode(text)
            .map_err(|_| CheckpointError::MalformedSignature)?;
        if bytes.len() != 64 {
            return Err(CheckpointError::MalformedSignature);
        }
        Ok(bytes)
    }

    /// Checks the signature against the trusted `keys`.
    pub fn verify(&self, keys: &KeyRing) -> Result<(), CheckpointError> {
        let key = keys
            .get(&self.key_id)
            .ok_or_else(|| CheckpointError::UnknownKey(self.key_id.clone()))?;
        UnparsedPublicKey::new(&ED25519, key.bytes)
            .verify(self.note().as_bytes(), &self.signature)
            .map_err(|_| CheckpointError::BadSignature(self.key_id.clone()))
    }
}

fn note(origin: &str, size: i64, head: &Hash, time: i64, key_id: &str) -> String {
    format!(
        "{NOTE_TAG}\norigin {origin}\nsize {size}\nhead {}\ntime {time}\nkey {key_id}\n",
        hash_hex(head)
    )
}

fn key_id_of(public: &[u8]) -> String {
    hex::encode(&Sha256::digest(public)[..8])
}

/// An Ed25519 public key and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// First 8 bytes of SHA-256 of the key, hex.
    pub key_id: String,
    /// The raw key.
    pub bytes: [u8; 32],
}

impl PublicKey {
    /// Returns the key for raw `bytes`.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            key_id: key_id_of(&bytes),
            bytes,
        }
    }

    /// Returns the raw key in base64.
    pub fn b64(&self) -> String {
        B64.encode(self.bytes)
    }

    /// Parses a raw key in base64.
    pub fn from_b64(text: &str) -> Option<Self> {
        let bytes: [u8; 32] = B64.decode(text.trim()).ok()?.try_into().ok()?;
        Some(Self::from_bytes(bytes))
    }

    /// Returns the key as one line of a key file: `mynafleet-audit-key <id> ed25519 <base64>`.
    pub fn to_line(&self) -> String {
        format!("{KEY_LINE_TAG} {} ed25519 {}", self.key_id, self.b64())
    }

    /// Parses one key file line; the id must match the key.
    pub fn parse_line(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        if words.next()? != KEY_LINE_TAG {
            return None;
        }
        let id = words.next()?;
        if words.next()? != "ed25519" {
            return None;
        }
        let key = Self::from_b64(words.next()?)?;
        (words.next().is_none() && key.key_id == id).then_some(key)
    }
}

/// The keys whose signatures are trusted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRing(pub Vec<PublicKey>);

impl KeyRing {
    /// Returns the key with `key_id`.
    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.0.iter().find(|k| k.key_id == key_id)
    }

    /// Parses a key file: one [`PublicKey::to_line`] per line; blank lines and `#` comments
    /// are skipped. Returns the 1-based number of the first line that is neither.
    pub fn parse(text: &str) -> Result<Self, usize> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(PublicKey::parse_line(line).ok_or(n + 1)?);
        }
        Ok(Self(keys))
    }

    /// Returns the key file text.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|k| k.to_line() + "\n").collect()
    }
}

/// The Ed25519 key that signs checkpoints, read from a 0600 PKCS#8 PEM file.
pub struct Signer {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

fn malformed(path: &Path) -> KeyError {
    KeyError::Io {
        action: "read",
        path: path.to_owned(),
        source: std::io::Error::other(
            "not an Ed25519 PKCS#8 PEM private key (openssl genpkey -algorithm ed25519)",
        ),
    }
}

impl Signer {
    /// Returns a fresh key (tests, and [`Signer::load_or_create`]) with its PKCS#8 DER.
    pub fn generate() -> Result<(Self, Vec<u8>), KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let der = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| KeyError::Random("Ed25519 key generation".into()))?;
        let der = der.as_ref().to_vec();
        let signer = Self::from_pkcs8(&der).ok_or_else(|| KeyError::Random("Ed25519".into()))?;
        Ok((signer, der))
    }

    /// Reads a key from PKCS#8 DER (v1 as openssl writes it, or v2).
    pub fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).ok()?;
        let bytes: [u8; 32] = pair.public_key().as_ref().try_into().ok()?;
        Some(Self {
            pair,
            public: PublicKey::from_bytes(bytes),
        })
    }

    /// Reads the key file at `path` (must be 0600).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = crate::keys::read_private(path)?;
        let block = pem::parse(text.as_bytes()).map_err(|_| malformed(path))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(malformed(path));
        }
        Self::from_pkcs8(block.contents()).ok_or_else(|| malformed(path))
    }

    /// Reads the key file at `path`, creating it (0600) with a fresh key when missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        if path.exists() {
            return Self::from_file(path);
        }
        let (signer, der) = Self::generate()?;
        let text = zeroize::Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", der)));
        crate::tls::dev::write_private(path, &text).map_err(|e| KeyError::Io {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(signer)
    }

    /// Returns the public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs a checkpoint of `origin` at `size` entries ending in `head`, at `time`.
    pub fn sign(&self, origin: &str, size: i64, head: Hash, time: i64) -> Checkpoint {
        let key_id = self.public.key_id.clone();
        let text = note(origin, size, &head, time, &key_id);
        let signature = self.pair.sign(text.as_bytes()).as_ref().to_vec();
        Checkpoint {
            origin: origin.to_owned(),
            size,
            head,
            time,
            key_id,
            signature,
        }
    }
}
