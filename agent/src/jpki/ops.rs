//! The JPKI operations a scan performs, over [`JpkiCard`] (DOMAIN.md §1.5, §10 rules 3–6):
//! reading the token label, certificate availability, the auth certificate and the PIN
//! counter; verifying the PIN and signing a challenge with the auth key.
//!
//! PIN safety lives here (DOMAIN.md §10 rule 4): the counter is queried before every VERIFY,
//! a blocked PIN never sees a VERIFY with data, the last try needs the terminal's
//! confirmation, and a VERIFY is sent once and never retried. The PIN stays in zeroizing
//! buffers and is never logged; nothing read from the card is logged either.

use std::fmt;

use zeroize::Zeroizing;

use super::apdu::{
    EF_AUTH_CERTIFICATE, EF_AUTH_KEY, EF_AUTH_PIN, EF_CERT_AVAILABILITY, EF_TOKEN_INFO,
    digest_info_sha256, last_command_indicator, sign, verify, verify_query,
};
use super::card::{CardKind, JpkiCard, JpkiError, Resend};
use super::status::StatusWord;
use crate::transport::CardTransport;

/// Length of the token label at the start of EF `0006` (DOMAIN.md §1.3).
const TOKEN_LABEL_LEN: u16 = 32;

/// Length of EF `0008` (DOMAIN.md §1.3).
const CERT_AVAILABILITY_LEN: u16 = 3;

/// First byte of EF `0008` when the signature certificate exists (DOMAIN.md §1.3).
const SIGNATURE_CERT_PRESENT: u8 = 0x8F;

/// Length of an RSA-2048 signature (DOMAIN.md §1.5 signing).
const SIGNATURE_LEN: usize = 256;

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

impl TokenKind {
    /// Returns the kind a token label names, trailing spaces and NULs ignored
    /// (DOMAIN.md §1.3).
    pub fn from_label(label: &[u8]) -> Self {
        let end = label
            .iter()
            .rposition(|&b| b != b' ' && b != 0)
            .map_or(0, |i| i + 1);
        match &label[..end] {
            b"JPKIAPICCTOKEN2" => TokenKind::Card,
            b"JPKIAPICCTOKEN" => TokenKind::JukiCard,
            b"JPKIAPGPSETOKEN" => TokenKind::Android,
            b"JPKIAPIOSTOKEN" => TokenKind::Iphone,
            _ => TokenKind::Other,
        }
    }
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

impl PinCounter {
    /// Decodes the answer to the empty VERIFY (DOMAIN.md §1.5, §1.6); `None` for a status
    /// word that is no counter.
    pub fn from_status(status: StatusWord) -> Option<Self> {
        match status {
            StatusWord::TriesLeft(0) | StatusWord::ReferenceBlocked => Some(PinCounter::Blocked),
            StatusWord::TriesLeft(x) => Some(PinCounter::Tries(x)),
            StatusWord::Success | StatusWord::VerifyFailedUnlimited => Some(PinCounter::Unknown),
            _ => None,
        }
    }
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

impl SignError {
    /// Returns the machine-readable failure class a scan event carries.
    pub fn class(&self) -> &'static str {
        match self {
            SignError::LastTryNotConfirmed => "LAST_TRY_NOT_CONFIRMED",
            SignError::PinBlocked => "PIN_BLOCKED",
            SignError::PinRejected { .. } => "PIN_REJECTED",
            SignError::Card(e) => e.class(),
        }
    }
}

impl<T: CardTransport> JpkiCard<T> {
    /// The read transaction's work (DOMAIN.md §1.5, §1.8): SELECT the JPKI AP (anything but
    /// `9000` is [`JpkiError::NotMyNumberCard`]), read the token label from EF `0006`, the
    /// certificate availability from EF `0008`, the auth certificate from EF `000A` (not on
    /// the Android token, which reads it after VERIFY) and query the PIN counter.
    pub fn read_card(&mut self) -> Result<CardRead, JpkiError> {
        self.select_ap()?;
        let token = self.read_token()?;
        let signature_certificate_available = self.read_availability()?;
        let auth_certificate = match token {
            TokenKind::Android => None,
            _ => Some(self.read_auth_certificate()?),
        };
        let pin = self.query_pin()?;
        Ok(CardRead {
            token,
            signature_certificate_available,
            auth_certificate,
            pin,
        })
    }

    /// Reads the token label from EF `0006` of the selected JPKI AP (DOMAIN.md §1.3).
    pub fn read_token(&mut self) -> Result<TokenKind, JpkiError> {
        self.select_file(EF_TOKEN_INFO, "select ef 0006")?;
        let label = self.read_prefix(TOKEN_LABEL_LEN, "read ef 0006")?;
        Ok(TokenKind::from_label(&label))
    }

    /// Reads EF `0008` of the selected JPKI AP: whether the signature certificate exists
    /// (first byte `8F`, DOMAIN.md §1.3).
    pub fn read_availability(&mut self) -> Result<bool, JpkiError> {
        self.select_file(EF_CERT_AVAILABILITY, "select ef 0008")?;
        let availability = self.read_prefix(CERT_AVAILABILITY_LEN, "read ef 0008")?;
        Ok(availability.first() == Some(&SIGNATURE_CERT_PRESENT))
    }

    /// Reads the auth certificate (EF `000A`, DER) of the selected JPKI AP.
    pub fn read_auth_certificate(&mut self) -> Result<Vec<u8>, JpkiError> {
        self.read_der_file(EF_AUTH_CERTIFICATE, "select ef 000A", "read ef 000A")
    }

    /// Selects EF `0018` and asks its counter with the empty VERIFY, which spends no try
    /// (DOMAIN.md §1.5): `63Cx` → tries, `63C0` / `6984` → blocked, `9000` → unknown.
    pub fn query_pin(&mut self) -> Result<PinCounter, JpkiError> {
        self.select_file(EF_AUTH_PIN, "select ef 0018")?;
        let step = "query pin counter";
        let response = self.exchange(&verify_query(), step, Resend::Never)?;
        PinCounter::from_status(response.status()).ok_or(JpkiError::Unexpected {
            step,
            status: response.status(),
        })
    }

    /// The sign transaction's work, with PIN safety (DOMAIN.md §10 rule 4): re-SELECT the AP,
    /// query the counter; a blocked PIN fails with [`SignError::PinBlocked`] and one try left
    /// without `confirm_last_try` with [`SignError::LastTryNotConfirmed`], in both cases
    /// without a VERIFY carrying the PIN. Otherwise VERIFY `pin` once (never retried), read
    /// EF `000A` on the Android token, SELECT `0017` and sign the SHA-256 DigestInfo of
    /// `challenge` with `80 2A 00 80` (rule 6). The iPhone token gets `80 FC 00 00` last.
    pub fn verify_and_sign(
        &mut self,
        token: TokenKind,
        pin: &Pin,
        confirm_last_try: bool,
        challenge: &[u8],
    ) -> Result<Signed, SignError> {
        self.select_ap()?;
        match self.query_pin()? {
            PinCounter::Blocked => return Err(SignError::PinBlocked),
            PinCounter::Tries(1) if !confirm_last_try => {
                return Err(SignError::LastTryNotConfirmed);
            }
            PinCounter::Tries(_) | PinCounter::Unknown => {}
        }
        self.verify_pin(pin)?;
        let auth_certificate = match token {
            TokenKind::Android => Some(self.read_auth_certificate()?),
            _ => None,
        };
        let signature = self.sign_challenge(challenge)?;
        if token == TokenKind::Iphone {
            // Physical cards answer 6700 (DOMAIN.md §1.8); the signature is already in hand,
            // so neither the answer nor a transport failure here changes the outcome.
            let _ = self.exchange(&last_command_indicator(), "end session", Resend::Never);
        }
        Ok(Signed {
            signature,
            auth_certificate,
        })
    }

    /// Sends VERIFY with `pin` to the selected EF `0018`, exactly once.
    fn verify_pin(&mut self, pin: &Pin) -> Result<(), SignError> {
        let step = "verify pin";
        let apdu = verify(pin);
        let response = self.exchange(apdu.as_bytes(), step, Resend::Never)?;
        match response.status() {
            StatusWord::Success => Ok(()),
            status if status.is_pin_blocked() => Err(SignError::PinBlocked),
            StatusWord::TriesLeft(tries_left) => Err(SignError::PinRejected { tries_left }),
            status => Err(JpkiError::Unexpected { step, status }.into()),
        }
    }

    /// Selects the auth key and signs the SHA-256 DigestInfo of `challenge`: 256 bytes with
    /// `9000` (DOMAIN.md §1.5 signing).
    fn sign_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, JpkiError> {
        self.select_file(EF_AUTH_KEY, "sign: select ef 0017")?;
        let step = "sign challenge";
        let response =
            self.exchange(&sign(&digest_info_sha256(challenge)), step, Resend::Allowed)?;
        match response.status() {
            StatusWord::Success if response.data().len() == SIGNATURE_LEN => {
                Ok(response.data().to_vec())
            }
            StatusWord::Success => Err(JpkiError::SignatureLength {
                len: response.data().len(),
            }),
            status => Err(JpkiError::Unexpected { step, status }),
        }
    }

    /// Selects the JPKI AP; anything but `9000` is [`JpkiError::NotMyNumberCard`].
    fn select_ap(&mut self) -> Result<(), JpkiError> {
        match self.identify()? {
            CardKind::MyNumber => Ok(()),
            CardKind::NotMyNumber(status) => Err(JpkiError::NotMyNumberCard(status)),
        }
    }
}
