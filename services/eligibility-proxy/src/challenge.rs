//! Card-check challenges (DESIGN.md §3.3): 32 bytes bound to one device, expiring after the
//! configured time, single use. A challenge id is authenticated with the challenge key, so
//! any replica sharing the key can open it without shared state; single use is enforced by
//! claiming the id in the database (`store::claim_challenge`) before the upstream is asked.
//!
//! An id is `base64url(version ‖ nonce ‖ expiry ‖ MAC₁ ‖ MAC₂)`: a 16-byte random nonce, the
//! expiry in microseconds (big-endian i64), MAC₁ = HMAC(nonce ‖ expiry) and MAC₂ = HMAC(nonce
//! ‖ device), both full HMAC-SHA256 tags compared in constant time by ring. MAC₁ failing
//! means the id is garbled or not ours; MAC₂ failing means another device holds it. The
//! challenge bytes are HMAC("bytes" ‖ nonce ‖ device), so they are never stored or sent twice
//! in the clear. This module never stores anything and never logs ids or bytes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mynafleet_kit::clock::{Clock, from_micros};
use mynafleet_kit::keys::{SecretKey, random_bytes};
use ring::hmac;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// The format version, the first byte of every id.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;
const ID_LEN: usize = 1 + NONCE_LEN + 8 + TAG_LEN + TAG_LEN;

/// Domain separation of the three HMACs computed with the one key.
const LABEL_ID: &[u8] = b"id";
const LABEL_DEVICE: &[u8] = b"device";
const LABEL_BYTES: &[u8] = b"bytes";

/// A challenge handed to a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issued {
    /// Opaque id the device sends back.
    pub(crate) id: String,
    /// The 32 bytes the card signs.
    pub(crate) bytes: [u8; 32],
    /// When it expires.
    pub(crate) expires: time::OffsetDateTime,
}

impl Issued {
    /// Returns the key under which single use is claimed: the id itself, which has exactly
    /// one spelling (unpadded base64url of a fixed-length value, no trailing bits).
    pub(crate) fn claim_key(&self) -> &str {
        &self.id
    }
}

/// Why a challenge id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChallengeError {
    /// Not issued by this deployment, or garbled.
    #[error("unknown challenge")]
    Unknown,
    /// Past its expiry.
    #[error("challenge expired")]
    Expired,
    /// Issued to another device.
    #[error("challenge issued to another device")]
    OtherDevice,
}

/// Issues and opens challenges.
#[derive(Clone, Debug)]
pub(crate) struct Challenges {
    mac: hmac::Key,
    ttl: Duration,
    clock: Clock,
}

impl Challenges {
    /// Returns the issuer.
    pub(crate) fn new(key: SecretKey, ttl: Duration, clock: Clock) -> Self {
        // The kit hands out keyed digests, not key bytes: the HMAC key is a keyed digest of a
        // subkey derived for challenges only, computed once here.
        let sub = key.derive("eligibility-proxy challenge", "v1");
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        if hex::decode_to_slice(sub.hmac_hex(&["challenge hmac key"]), raw.as_mut()).is_err() {
            unreachable!("hmac_hex returns 64 hex digits");
        }
        Self {
            mac: hmac::Key::new(hmac::HMAC_SHA256, raw.as_ref()),
            ttl,
            clock,
        }
    }

    /// Issues a challenge for `device` (its resource name).
    ///
    /// # Panics
    /// Panics only when the operating system's random source fails, as key generation does.
    pub(crate) fn issue(&self, device: &str) -> Issued {
        let mut nonce = [0u8; NONCE_LEN];
        if let Err(e) = random_bytes(&mut nonce) {
            panic!("operating system randomness: {e}");
        }
        let ttl = i64::try_from(self.ttl.as_micros()).unwrap_or(i64::MAX);
        let expiry = self.clock.now_micros().saturating_add(ttl);
        let mut id = [0u8; ID_LEN];
        id[0] = VERSION;
        id[1..1 + NONCE_LEN].copy_from_slice(&nonce);
        id[1 + NONCE_LEN..1 + NONCE_LEN + 8].copy_from_slice(&expiry.to_be_bytes());
        let (head, tags) = id.split_at_mut(1 + NONCE_LEN + 8);
        tags[..TAG_LEN].copy_from_slice(self.id_tag(head).as_ref());
        tags[TAG_LEN..].copy_from_slice(self.device_tag(&nonce, device).as_ref());
        Issued {
            id: URL_SAFE_NO_PAD.encode(id),
            bytes: self.bytes(&nonce, device),
            expires: from_micros(expiry),
        }
    }

    /// Opens `id` for `device`: the challenge bytes and expiry, or why it is refused.
    /// Single use is the caller's to enforce (claim the id).
    pub(crate) fn open(&self, id: &str, device: &str) -> Result<Issued, ChallengeError> {
        // Unpadded base64 of ID_LEN bytes; any other length is refused before decoding.
        if id.len() != (ID_LEN * 4).div_ceil(3) {
            return Err(ChallengeError::Unknown);
        }
        let mut raw = [0u8; ID_LEN];
        match URL_SAFE_NO_PAD.decode_slice(id, &mut raw) {
            Ok(ID_LEN) => {}
            _ => return Err(ChallengeError::Unknown),
        }
        if raw[0] != VERSION {
            return Err(ChallengeError::Unknown);
        }
        let (head, tags) = raw.split_at(1 + NONCE_LEN + 8);
        hmac::verify(&self.mac, &labelled(LABEL_ID, &[head]), &tags[..TAG_LEN])
            .map_err(|_| ChallengeError::Unknown)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&head[1..1 + NONCE_LEN]);
        hmac::verify(
            &self.mac,
            &labelled(LABEL_DEVICE, &[&nonce, device.as_bytes()]),
            &tags[TAG_LEN..],
        )
        .map_err(|_| ChallengeError::OtherDevice)?;
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&head[1 + NONCE_LEN..]);
        let expiry = i64::from_be_bytes(expiry);
        if self.clock.now_micros() >= expiry {
            return Err(ChallengeError::Expired);
        }
        Ok(Issued {
            id: id.to_owned(),
            bytes: self.bytes(&nonce, device),
            expires: from_micros(expiry),
        })
    }

    fn id_tag(&self, head: &[u8]) -> hmac::Tag {
        hmac::sign(&self.mac, &labelled(LABEL_ID, &[head]))
    }

    fn device_tag(&self, nonce: &[u8; NONCE_LEN], device: &str) -> hmac::Tag {
        hmac::sign(
            &self.mac,
            &labelled(LABEL_DEVICE, &[nonce, device.as_bytes()]),
        )
    }

    fn bytes(&self, nonce: &[u8; NONCE_LEN], device: &str) -> [u8; 32] {
        let tag = hmac::sign(
            &self.mac,
            &labelled(LABEL_BYTES, &[nonce, device.as_bytes()]),
        );
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Returns `label ‖ 0x00 ‖ parts…`: every label is distinct and free of NUL, and only the
/// last part varies in length, so no two inputs collide.
fn labelled(label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let len = label.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(label);
    out.push(0);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}
