//! What a simulated card is made of: its JPKI material ([`CardSpec`]), the PIN ([`Pin`]),
//! which token it plays ([`Token`]) and the optional misbehaviour of real cards and readers
//! ([`Quirks`]).
//!
//! Plain data with no IO. A PIN never appears in `Debug` output, and a spec's `Debug` shows
//! neither the PIN nor the private key.

use std::fmt;
use std::time::Duration;

use rsa::RsaPrivateKey;
use zeroize::{Zeroize, Zeroizing};

/// Which JPKI token the card plays (DOMAIN.md §1.3, §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Token {
    /// A physical 個人番号カード: EF `000A` is free, `80 FC` answers `6700`.
    #[default]
    Card,
    /// スマホ用電子証明書 on Android: EF `000A` reads only after VERIFY (`6982` before).
    Android,
    /// マイナンバーカード on iPhone: the `80 FC 00 00` last-command indicator answers `9000`.
    Iphone,
}

impl Token {
    /// Returns the token label EF `0006` starts with.
    pub fn label(self) -> &'static str {
        match self {
            Token::Card => "JPKIAPICCTOKEN2",
            Token::Android => "JPKIAPGPSETOKEN",
            Token::Iphone => "JPKIAPIOSTOKEN",
        }
    }

    /// Returns the name a card profile uses (`card`, `android`, `iphone`).
    pub fn name(self) -> &'static str {
        match self {
            Token::Card => "card",
            Token::Android => "android",
            Token::Iphone => "iphone",
        }
    }

    /// Returns the token a profile name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        [Token::Card, Token::Android, Token::Iphone]
            .into_iter()
            .find(|token| token.name() == name)
    }
}

/// A 4-digit 利用者証明用 PIN, zeroised on drop and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(Zeroizing<Vec<u8>>);

/// The PIN is not 4 ASCII digits (the value is deliberately not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a pin must be 4 ascii digits")]
pub struct InvalidPin;

impl Pin {
    /// Returns the PIN when `pin` is 4 ASCII digits; the given string is zeroised either way.
    pub fn new(pin: impl Into<String>) -> Result<Self, InvalidPin> {
        let mut pin: String = pin.into();
        if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            pin.zeroize();
            return Err(InvalidPin);
        }
        Ok(Self(Zeroizing::new(pin.into_bytes())))
    }

    /// Returns whether the VERIFY data field `data` equals the PIN, comparing every byte.
    pub(super) fn matches(&self, data: &[u8]) -> bool {
        data.len() == self.0.len()
            && data
                .iter()
                .zip(self.0.iter())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// Everything a JPKI card holds: certificates, the auth key, the PIN and its counter, and
/// which token it plays. Build one with [`CardSpec::new`] or load it from a card profile
/// (`CardSpec::from_profile_dir`), adjust the public fields, then `Card::jpki(spec)`.
#[derive(Clone)]
pub struct CardSpec {
    /// 利用者証明用電子証明書 (EF `000A`), DER.
    pub auth_cert: Vec<u8>,
    /// Its CA certificate (EF `000B`), DER.
    pub ca_cert: Vec<u8>,
    /// The auth private key (EF `0017`), RSA-2048.
    pub key: RsaPrivateKey,
    /// The 利用者証明用 PIN (EF `0018`).
    pub pin: Pin,
    /// Tries left on the PIN; 0 = blocked.
    pub tries_left: u8,
    /// Tries a successful VERIFY restores (3 on a real card).
    pub max_tries: u8,
    /// Which token the card plays.
    pub token: Token,
    /// The EF `0006` label; `None` uses the token's label.
    pub token_label: Option<String>,
    /// Whether the card carries a signature certificate (EF `0008` = `8F 8F 00`; without it
    /// `00 8F 00`, as on an under-15's card).
    pub signature_cert: bool,
}

impl CardSpec {
    /// Returns a physical card with 3 of 3 tries left and a signature certificate.
    pub fn new(auth_cert: Vec<u8>, ca_cert: Vec<u8>, key: RsaPrivateKey, pin: Pin) -> Self {
        Self {
            auth_cert,
            ca_cert,
            key,
            pin,
            tries_left: 3,
            max_tries: 3,
            token: Token::Card,
            token_label: None,
            signature_cert: true,
        }
    }

    /// Returns the label EF `0006` starts with.
    pub fn label(&self) -> &str {
        self.token_label
            .as_deref()
            .unwrap_or_else(|| self.token.label())
    }
}

impl fmt::Debug for CardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardSpec")
            .field("auth_cert_len", &self.auth_cert.len())
            .field("ca_cert_len", &self.ca_cert.len())
            .field("tries_left", &self.tries_left)
            .field("max_tries", &self.max_tries)
            .field("token", &self.token)
            .field("token_label", &self.label())
            .field("signature_cert", &self.signature_cert)
            .finish_non_exhaustive()
    }
}

/// Misbehaviour seen on real cards, readers and phones, each off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks {
    /// READ BINARY and the signature answer `61xx`; the data comes with GET RESPONSE
    /// `00 C0 00 00 xx` (DOMAIN.md §1.1).
    pub get_response: bool,
    /// A READ BINARY whose Le runs past the end of the file answers `6Cxx` (`xx` = bytes
    /// left) instead of a short read; a signature with an Le other than `00` answers `6C00`.
    pub wrong_le: bool,
    /// A short read at the end of a file ends with `6282` instead of `9000`.
    pub eof_6282: bool,
    /// Waits this long before each answer. Applied by the vpcd loop; `Card::respond` itself
    /// never sleeps.
    pub delay: Option<Duration>,
    /// The card is pulled on the READ BINARY that follows this many: that command is
    /// recorded but never answered, and a vpcd session closes its connection. One-shot: the
    /// same card works when inserted again.
    pub remove_after_reads: Option<u32>,
    /// How an empty VERIFY on a blocked PIN is answered.
    pub blocked_answer: BlockedAnswer,
}

/// The answer to an empty VERIFY on a blocked PIN, which differs between sources
/// (DOMAIN.md §1.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BlockedAnswer {
    /// `63C0`: zero tries left.
    #[default]
    TriesZero,
    /// `6984`: referenced data blocked.
    Blocked,
}
