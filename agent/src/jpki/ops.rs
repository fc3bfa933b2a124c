//! The JPKI operations a scan performs, over [`JpkiCard`] (DOMAIN.md §1.5, §10 rules 3–6):
//! reading the token label, certificate availability, the auth certificate and the PIN
//! counter; verifying the PIN and signing a challenge with the auth key.
//!
//! SKELETON (issue #6): the types are the contract the session layer codes against; the
//! bodies are being written.

use std::fmt;

use zeroize::Zeroizing;

use super::card::{JpkiCard, JpkiError};
use crate::transport::CardTransport;

/// What the token label in EF `0006` says the card is (DOMAIN.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TokenKind {
    /// `JPKIAPICCTOKEN2`: a physical 個人番号カード.
    Card,
    /// `JPKIAPICCTOKEN`: an old 住基カード.
    JukiCard,
    /// `JPKIAPGPSETOKEN`: スマホ用電子証明書 on Android (PIN verified before EF `000A`).
    Android,
    /// `JPKIAPIOSTOKEN`: マイナンバーカード on iPhone (expects `80 FC 00 00` last).
    Iphone,
    /// Any other label.
    Other,
}

/// The auth PIN's counter as the empty VERIFY reports it (DOMAIN.md §1.4, §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCounter {
    /// `63Cx` with x ≥ 1 tries left.
    Tries(u8),
    /// `63C0` or `6984`: blocked; only a municipal office unblocks it.
    Blocked,
    /// `9000` (already verified) or no counter reported.
    Unknown,
}

/// What the read transaction of a scan learnt. `Debug` hides the certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    /// From EF `0006`.
    pub token: TokenKind,
    /// From EF `0008` (first byte `8F`).
    pub signature_certificate_available: bool,
    /// EF `000A`, DER; `None` on the Android token, which reads it after VERIFY.
    pub auth_certificate: Option<Vec<u8>>,
    /// The auth PIN counter.
    pub pin: PinCounter,
}

impl fmt::Debug for CardRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardRead")
            .field("token", &self.token)
            .field(
                "signature_certificate_available",
                &self.signature_certificate_available,
            )
            .field(
                "auth_certificate_len",
                &self.auth_certificate.as_ref().map(Vec::len),
            )
            .field("pin", &self.pin)
            .finish()
    }
}

/// A 4-digit auth PIN in a zeroizing buffer; `Debug` never shows it.
#[derive(Clone)]
pub struct Pin(Zeroizing<[u8; 4]>);

impl Pin {
    /// Parses 4 ASCII digits (full-width digits are not accepted: the card compares bytes).
    pub fn parse(text: &str) -> Result<Self, PinFormatError> {
        let bytes = text.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(PinFormatError);
        }
        let mut pin = Zeroizing::new([0u8; 4]);
        pin.copy_from_slice(bytes);
        Ok(Self(pin))
    }

    /// Returns the PIN bytes, for the VERIFY APDU only.
    pub(crate) fn bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// The PIN is not 4 ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pin must be exactly 4 digits")]
pub struct PinFormatError;

/// What the sign transaction produced. `Debug` hides the contents.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    /// The 256-byte PKCS#1 v1.5 signature over the SHA-256 DigestInfo of the challenge.
    pub signature: Vec<u8>,
    /// EF `000A`, read after VERIFY on the Android token; `None` otherwise.
    pub auth_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("signature_len", &self.signature.len())
            .finish_non_exhaustive()
    }
}

/// Why verifying and signing did not produce a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// One try left and the terminal did not confirm the warning; nothing was sent.
    #[error("one pin try left and the warning was not confirmed")]
    LastTryNotConfirmed,
    /// The counter says blocked; no VERIFY with a PIN was sent.
    #[error("the card's pin is blocked; only a municipal office can unblock it")]
    PinBlocked,
    /// The card rejected the PIN (`63Cx`, x ≥ 1); never retried.
    #[error("the card rejected the pin; {tries_left} tries left")]
    PinRejected {
        /// Tries left after this attempt.
        tries_left: u8,
    },
    /// The card failed otherwise.
    #[error(transparent)]
    Card(#[from] JpkiError),
}

impl<T: CardTransport> JpkiCard<T> {
    /// The read transaction's work: SELECT the JPKI AP, read EF `0006`, `0008`, `000A`
    /// (not on Android) and query the PIN counter.
    pub fn read_card(&mut self) -> Result<CardRead, JpkiError> {
        Err(JpkiError::MalformedResponse { len: 0 })
    }

    /// The sign transaction's work: re-SELECT the AP, query the counter, VERIFY `pin` (only
    /// when allowed), SELECT `0017` and sign the SHA-256 DigestInfo of `challenge`.
    pub fn verify_and_sign(
        &mut self,
        token: TokenKind,
        pin: &Pin,
        confirm_last_try: bool,
        challenge: &[u8],
    ) -> Result<Signed, SignError> {
        let _ = (token, pin.bytes(), confirm_last_try, challenge);
        Err(SignError::PinBlocked)
    }
}
