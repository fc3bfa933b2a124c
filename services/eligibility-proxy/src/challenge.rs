//! Card-check challenges (DESIGN.md §3.3): 32 bytes bound to one device, expiring after the
//! configured time, single use. A challenge id is authenticated with the challenge key, so
//! any replica sharing the key can open it without shared state; single use is enforced by
//! claiming the id in the database (`store::claim_challenge`) before the upstream is asked.

use mynafleet_kit::clock::Clock;
use mynafleet_kit::keys::SecretKey;
use std::time::Duration;

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
    #[allow(dead_code, reason = "skeleton")]
    key: SecretKey,
    #[allow(dead_code, reason = "skeleton")]
    ttl: Duration,
    #[allow(dead_code, reason = "skeleton")]
    clock: Clock,
}

impl Challenges {
    /// Returns the issuer.
    pub(crate) fn new(key: SecretKey, ttl: Duration, clock: Clock) -> Self {
        Self { key, ttl, clock }
    }

    /// Issues a challenge for `device` (its resource name).
    pub(crate) fn issue(&self, _device: &str) -> Issued {
        Issued {
            id: String::new(),
            bytes: [0; 32],
            expires: self.clock.now(),
        }
    }

    /// Opens `id` for `device`: the challenge bytes and expiry, or why it is refused.
    /// Single use is the caller's to enforce (claim the id).
    pub(crate) fn open(&self, _id: &str, _device: &str) -> Result<Issued, ChallengeError> {
        Err(ChallengeError::Unknown)
    }
}
