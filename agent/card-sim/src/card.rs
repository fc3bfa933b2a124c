//! The card itself: a state machine answering command APDUs with response APDUs.
//!
//! Modelled (DOMAIN.md §1): SELECT of the five My Number card applications by AID (§1.2)
//! and of their EFs by file id (§1.3, §1.5), with the SELECT MF quirks (§1.6); READ BINARY
//! by current EF (15-bit offset) and by SFI, with the card's end-of-file behaviour; VERIFY of
//! the 利用者証明用 PIN with its 3-try counter, the empty VERIFY that reports tries left, and
//! blocking; the JPKI signature `80 2A` (PKCS#1 v1.5 type 1 over the DigestInfo as given);
//! the phone tokens' differences (§1.8); GET RESPONSE for the `61xx` quirk; and the refusals
//! generic middleware meets (`6D00`, `6E00`, `6881`, `6882`). The other applications carry
//! made-up files (see `files`).
//!
//! Every command APDU received is recorded, PINs masked, in an [`ApduLog`] shared by handle.
//! The card never does IO, never sleeps and never panics on input; it never logs.

mod apdu;
mod commands;
mod counter;
mod files;
mod log;
mod profile;
mod spec;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rsa::{RsaPrivateKey, RsaPublicKey};

use self::apdu::{Command, Reply, sw};
use self::files::JpkiFiles;

pub use self::counter::PinCounter;
pub use self::files::FAKE_MY_NUMBER;
pub use self::log::{ApduLog, MASK};
pub use self::profile::ProfileError;
pub use self::spec::{BlockedAnswer, CardSpec, InvalidPin, Pin, Quirks, Token};

/// Contact ATR of a My Number card, the one entry in OpenSC's JPKI table (DOMAIN.md §1.1).
pub const MY_NUMBER_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// A minimal valid T=1 ATR for a card that is not a My Number card.
pub const FOREIGN_ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// An application on a My Number card, selectable by its AID (DOMAIN.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Application {
    /// 公的個人認証AP, the JPKI AP.
    Jpki,
    /// 券面事項入力補助AP (text AP; holds the 個人番号).
    CardInfoInput,
    /// 券面事項確認AP (card-face image).
    CardFace,
    /// 住基AP.
    Juki,
    /// 共通カードAP.
    Common,
}

impl Application {
    /// Every application a My Number card carries.
    pub const ALL: [Application; 5] = [
        Application::Jpki,
        Application::CardInfoInput,
        Application::CardFace,
        Application::Juki,
        Application::Common,
    ];

    /// Returns the application identifier (DOMAIN.md §1.2).
    pub fn aid(self) -> [u8; 10] {
        match self {
            Application::Jpki => [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
            Application::CardInfoInput => {
                [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08]
            }
            Application::CardFace => [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
            Application::Juki => [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01],
            Application::Common => [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00],
        }
    }
}

/// The card was pulled from the reader in the middle of a command (the
/// [`Quirks::remove_after_reads`] quirk): the command got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the card was removed before it answered")]
pub struct CardPulled;

/// The JPKI AP's immutable contents and its credentials.
struct Jpki {
    files: JpkiFiles,
    key: Option<RsaPrivateKey>,
    pin: Pin,
    token: Token,
}

impl fmt::Debug for Jpki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jpki")
            .field("token", &self.token)
            .field("has_key", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// A virtual smart card answering command APDUs.
///
/// Clones are the same physical card: they share the APDU log and the PIN counters, while
/// the volatile state (current application and EF, verified PIN) is per clone.
#[derive(Debug, Clone)]
pub struct Card {
    atr: Vec<u8>,
    applications: Vec<Application>,
    jpki: Option<Arc<Jpki>>,
    /// The 利用者証明用 PIN counter (JPKI EF `0018`).
    pin: PinCounter,
    /// The 券面事項入力補助 PIN counter (EF `0011`); same value as the JPKI PIN.
    info_pin: PinCounter,
    quirks: Quirks,
    log: ApduLog,
    /// The current DF: `None` is the MF, as after power-on or reset.
    current_application: Option<Application>,
    current_file: Option<u16>,
    /// The application whose PIN was verified since it was last selected.
    verified: Option<Application>,
    /// Data waiting for GET RESPONSE (the `61xx` quirk).
    pending: Option<Vec<u8>>,
    /// READ BINARY commands seen, for the removal quirk.
    reads: u32,
}

impl Card {
    /// Returns a physical My Number card carrying all five applications, loaded from the
    /// fixture profile compiled into the crate (PIN `1234`, 3 tries; see
    /// [`CardSpec::fixture`]).
    pub fn my_number() -> Self {
        match CardSpec::fixture() {
            Ok(spec) => Self::jpki(spec),
            // The fixture is compiled in and a unit test loads it; should it ever fail to
            // parse, the card still answers, with JPKI EFs missing and signing refused.
            Err(_) => Self::with_applications(MY_NUMBER_ATR.to_vec(), Application::ALL.to_vec()),
        }
    }

    /// Returns a card that is not a My Number card: every SELECT by AID answers `6A82`.
    pub fn foreign() -> Self {
        Self::with_applications(FOREIGN_ATR.to_vec(), Vec::new())
    }

    /// Returns a My Number card with all five applications and the JPKI material of `spec`.
    pub fn jpki(spec: CardSpec) -> Self {
        let mut card = Self::with_applications(MY_NUMBER_ATR.to_vec(), Application::ALL.to_vec());
        let label = spec.label().to_owned();
        let files = JpkiFiles::new(
            &label,
            spec.signature_cert,
            spec.auth_cert,
            spec.ca_cert,
            spec.token == Token::Android,
        );
        card.pin = PinCounter::new(spec.tries_left, spec.max_tries);
        card.jpki = Some(Arc::new(Jpki {
            files,
            key: Some(spec.key),
            pin: spec.pin,
            token: spec.token,
        }));
        card
    }

    /// Loads the card profile in `dir` (docs/card-profile.md) into a My Number card.
    pub fn from_profile_dir(dir: &Path) -> Result<Self, ProfileError> {
        CardSpec::from_profile_dir(dir).map(Self::jpki)
    }

    fn with_applications(atr: Vec<u8>, applications: Vec<Application>) -> Self {
        Self {
            atr,
            applications,
            jpki: None,
            pin: PinCounter::new(3, 3),
            info_pin: PinCounter::new(3, 3),
            quirks: Quirks::default(),
            log: ApduLog::new(),
            current_application: None,
            current_file: None,
            verified: None,
            pending: None,
            reads: 0,
        }
    }

    /// Returns the card with `quirks` switched on.
    pub fn with_quirks(mut self, quirks: Quirks) -> Self {
        self.quirks = quirks;
        self
    }

    /// Returns the quirks in effect.
    pub fn quirks(&self) -> &Quirks {
        &self.quirks
    }

    /// Returns the answer-to-reset the card presents.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Returns a copy of every command APDU received so far, oldest first, malformed ones
    /// included, PINs masked with [`MASK`].
    pub fn apdu_log(&self) -> Vec<Vec<u8>> {
        self.log.snapshot()
    }

    /// Returns a handle on the APDU record, readable while the card answers elsewhere.
    pub fn apdu_log_handle(&self) -> ApduLog {
        self.log.clone()
    }

    /// Returns the tries left on the 利用者証明用 PIN; 0 means blocked.
    pub fn tries_left(&self) -> u8 {
        self.pin.tries_left()
    }

    /// Returns a handle on the 利用者証明用 PIN counter, usable while the card answers
    /// elsewhere.
    pub fn pin_counter(&self) -> PinCounter {
        self.pin.clone()
    }

    /// Returns the token the card plays, or `None` for a card without the JPKI AP.
    pub fn token(&self) -> Option<Token> {
        self.jpki.as_ref().map(|jpki| jpki.token)
    }

    /// Returns the auth certificate (EF `000A`), DER.
    pub fn auth_certificate(&self) -> Option<&[u8]> {
        self.jpki
            .as_ref()
            .map(|jpki| jpki.files.auth_cert.as_slice())
    }

    /// Returns the public half of the auth key, to check signatures with.
    pub fn public_key(&self) -> Option<RsaPublicKey> {
        self.jpki
            .as_ref()
            .and_then(|jpki| jpki.key.as_ref())
            .map(RsaPublicKey::from)
    }

    /// Returns the currently selected application, if any.
    pub fn current_application(&self) -> Option<Application> {
        self.current_application
    }

    /// Returns the current EF, if any.
    pub fn current_file(&self) -> Option<u16> {
        self.current_file
    }

    /// Returns whether the 利用者証明用 PIN is verified in the current session.
    pub fn is_verified(&self) -> bool {
        self.verified == Some(Application::Jpki)
    }

    /// Models power-on: the card starts with the MF current.
    pub fn power_on(&mut self) {
        self.reset();
    }

    /// Models power-off; volatile state is lost, counters are kept.
    pub fn power_off(&mut self) {
        self.reset();
    }

    /// Models a warm reset: the MF becomes current, nothing is selected or verified.
    pub fn reset(&mut self) {
        self.current_application = None;
        self.current_file = None;
        self.verified = None;
        self.pending = None;
    }

    /// Records `apdu` and returns the response APDU (data, then SW1 SW2); an empty response
    /// if the card was pulled instead of answering (see [`Card::transmit`]).
    pub fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.transmit(apdu).unwrap_or_default()
    }

    /// Records `apdu` and returns the response APDU, or [`CardPulled`] when the removal
    /// quirk pulls the card on this command; the card is then powered off.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardPulled> {
        self.log.record(apdu);
        let command = Command::parse(apdu);
        if let Some(command) = &command
            && command.cla == 0x00
            && command.ins == 0xB0
        {
            self.reads = self.reads.saturating_add(1);
            if let Some(limit) = self.quirks.remove_after_reads
                && self.reads > limit
            {
                self.quirks.remove_after_reads = None;
                self.reads = 0;
                self.power_off();
                return Err(CardPulled);
            }
        }
        let reply = match command {
            Some(command) => {
                if command.ins != 0xC0 {
                    self.pending = None;
                }
                self.execute(&command)
            }
            None => Reply::status(sw::WRONG_LENGTH),
        };
        Ok(reply.into_bytes())
    }

    fn execute(&mut self, command: &Command<'_>) -> Reply {
        match (command.cla, command.ins) {
            (0x00, 0xA4) => Reply::status(self.select(command)),
            (0x00, 0xB0) => self.read_binary(command),
            (0x00, 0x20) => Reply::status(self.verify(command)),
            (0x00, 0xC0) => self.get_response(command),
            // INTERNAL AUTHENTICATE: JPKI keys refuse it (DOMAIN.md §1.5).
            (0x00, 0x88) if self.current_application == Some(Application::Jpki) => {
                Reply::status(sw::SECURITY_STATUS)
            }
            (0x80, 0x2A) => self.sign(command),
            // The iPhone token's last-command indicator (DOMAIN.md §1.8).
            (0x80, 0xFC) => Reply::status(if self.token() == Some(Token::Iphone) {
                sw::OK
            } else {
                sw::WRONG_LENGTH
            }),
            (0x00 | 0x80, _) => Reply::status(sw::INS_NOT_SUPPORTED),
            // First interindustry class: logical channel bits, then secure-messaging bits.
            (cla, _) if cla & 0xE0 == 0 && cla & 0x03 != 0 => {
                Reply::status(sw::CHANNEL_NOT_SUPPORTED)
            }
            (cla, _) if cla & 0xE0 == 0 && cla & 0x0C != 0 => {
                Reply::status(sw::SECURE_MESSAGING_NOT_SUPPORTED)
            }
            _ => Reply::status(sw::CLA_NOT_SUPPORTED),
        }
    }
}
