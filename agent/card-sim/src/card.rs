//! The card itself: a state machine answering command APDUs with response APDUs.
//!
//! Modelled so far (DOMAIN.md §1): SELECT of the five My Number card applications by AID
//! (§1.2), SELECT of the JPKI AP's elementary files by file id (§1.3, §1.5), ISO SELECT MF
//! quirks (§1.6) and the class and instruction refusals generic middleware meets
//! (`6E00`, `6D00`, `6881`, `6882`). Not modelled yet, so answered `6D00`: READ BINARY,
//! VERIFY, GET RESPONSE and the JPKI signing command; the file maps of the APs other than
//! JPKI (their EFs answer `6A82`). Every command APDU received is kept in an ordered log so
//! tests can assert what a client sent. The card never does IO and never panics on input.

#[cfg(test)]
mod tests;

/// Status words this card answers (DOMAIN.md §1.6).
mod sw {
    pub(super) const OK: u16 = 0x9000;
    pub(super) const WRONG_LENGTH: u16 = 0x6700;
    pub(super) const CHANNEL_NOT_SUPPORTED: u16 = 0x6881;
    pub(super) const SECURE_MESSAGING_NOT_SUPPORTED: u16 = 0x6882;
    pub(super) const FILE_NOT_FOUND: u16 = 0x6A82;
    pub(super) const INCORRECT_P1_P2: u16 = 0x6A86;
    pub(super) const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub(super) const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// Contact ATR of a My Number card, the one entry in OpenSC's JPKI table (DOMAIN.md §1.1).
pub const MY_NUMBER_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// A minimal valid T=1 ATR for a card that is not a My Number card.
pub const FOREIGN_ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// Elementary files of the JPKI AP (DOMAIN.md §1.3).
const JPKI_EFS: [u16; 11] = [
    0x0001, 0x0002, 0x0006, 0x0008, 0x000A, 0x000B, 0x0016, 0x0017, 0x0018, 0x001A, 0x001B,
];

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

    /// Returns the elementary files this model knows inside the application.
    fn files(self) -> &'static [u16] {
        match self {
            Application::Jpki => &JPKI_EFS,
            Application::CardInfoInput
            | Application::CardFace
            | Application::Juki
            | Application::Common => &[],
        }
    }
}

/// A virtual smart card answering command APDUs.
#[derive(Debug, Clone)]
pub struct Card {
    atr: Vec<u8>,
    applications: Vec<Application>,
    /// The current DF: `None` is the MF, as after power-on or reset.
    current_application: Option<Application>,
    current_file: Option<u16>,
    apdu_log: Vec<Vec<u8>>,
}

impl Card {
    /// Returns a physical My Number card carrying all five applications.
    pub fn my_number() -> Self {
        Self::with_applications(MY_NUMBER_ATR.to_vec(), Application::ALL.to_vec())
    }

    /// Returns a card that is not a My Number card: every SELECT by AID answers `6A82`.
    pub fn foreign() -> Self {
        Self::with_applications(FOREIGN_ATR.to_vec(), Vec::new())
    }

    fn with_applications(atr: Vec<u8>, applications: Vec<Application>) -> Self {
        Self {
            atr,
            applications,
            current_application: None,
            current_file: None,
            apdu_log: Vec::new(),
        }
    }

    /// Returns the answer-to-reset the card presents.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// Returns every command APDU received so far, oldest first, malformed ones included.
    pub fn apdu_log(&self) -> &[Vec<u8>] {
        &self.apdu_log
    }

    /// Returns the currently selected application, if any.
    pub fn current_application(&self) -> Option<Application> {
        self.current_application
    }

    /// Models power-on: the card starts with the MF current.
    pub fn power_on(&mut self) {
        self.reset();
    }

    /// Models power-off; volatile state is lost.
    pub fn power_off(&mut self) {
        self.reset();
    }

    /// Models a warm reset: the MF becomes current and nothing is selected.
    pub fn reset(&mut self) {
        self.current_application = None;
        self.current_file = None;
    }

    /// Records `apdu` in the log and returns the response APDU (data, then SW1 SW2).
    pub fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdu_log.push(apdu.to_vec());
        let reply = match Command::parse(apdu) {
            Some(command) => self.execute(&command),
            None => Reply::status(sw::WRONG_LENGTH),
        };
        let mut out = reply.data;
        out.extend_from_slice(&reply.sw.to_be_bytes());
        out
    }

    fn execute(&mut self, command: &Command<'_>) -> Reply {
        match command.cla {
            0x00 => match command.ins {
                0xA4 => Reply::status(self.select(command)),
                _ => Reply::status(sw::INS_NOT_SUPPORTED),
            },
            // Proprietary class (JPKI signing, iPhone indicator): not modelled yet.
            0x80 => Reply::status(sw::INS_NOT_SUPPORTED),
            // First interindustry class: logical channel bits, then secure-messaging bits.
            cla if cla & 0xE0 == 0 && cla & 0x03 != 0 => Reply::status(sw::CHANNEL_NOT_SUPPORTED),
            cla if cla & 0xE0 == 0 && cla & 0x0C != 0 => {
                Reply::status(sw::SECURE_MESSAGING_NOT_SUPPORTED)
            }
            _ => Reply::status(sw::CLA_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, command: &Command<'_>) -> u16 {
        match (command.p1, command.p2) {
            // By DF name, no response data (DOMAIN.md §1.5).
            (0x04, 0x0C) => {
                if command.data.is_empty() || command.data.len() > 16 {
                    return sw::WRONG_LENGTH;
                }
                let found = self
                    .applications
                    .iter()
                    .copied()
                    .find(|app| app.aid().as_slice() == command.data);
                match found {
                    Some(app) => {
                        self.current_application = Some(app);
                        self.current_file = None;
                        sw::OK
                    }
                    None => sw::FILE_NOT_FOUND,
                }
            }
            // EF under the current DF by file id, no response data (DOMAIN.md §1.5).
            (0x02, 0x0C) => {
                let [hi, lo] = command.data else {
                    return sw::WRONG_LENGTH;
                };
                let id = u16::from_be_bytes([*hi, *lo]);
                let exists = self
                    .current_application
                    .is_some_and(|app| app.files().contains(&id));
                if exists {
                    self.current_file = Some(id);
                    sw::OK
                } else {
                    sw::FILE_NOT_FOUND
                }
            }
            // SELECT MF: answers 9000 without changing the current DF while an AP is current,
            // 6A86 straight after a reset; MF by file id 3F00 is not found (DOMAIN.md §1.6).
            (0x00, _) => {
                if !command.data.is_empty() {
                    sw::FILE_NOT_FOUND
                } else if self.current_application.is_some() {
                    sw::OK
                } else {
                    sw::INCORRECT_P1_P2
                }
            }
            // FCI/FCP-returning forms and other selection methods are not modelled.
            _ => sw::INCORRECT_P1_P2,
        }
    }
}

/// A response before serialisation.
struct Reply {
    data: Vec<u8>,
    sw: u16,
}

impl Reply {
    fn status(sw: u16) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }
}

/// A command APDU split into header, data and expected length (ISO/IEC 7816-3 cases 1–4,
/// short and extended).
struct Command<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    /// Le in bytes (a coded `00` already turned into 256 or 65536); unused until
    /// data-returning commands are modelled.
    #[expect(
        dead_code,
        reason = "parsed for length checks; READ BINARY will read it"
    )]
    le: Option<usize>,
}

impl<'a> Command<'a> {
    /// Returns `None` when the length fields do not match the APDU's size.
    fn parse(apdu: &'a [u8]) -> Option<Self> {
        let (&[cla, ins, p1, p2], body) = apdu.split_first_chunk::<4>()?;
        let (data, le) = match body {
            [] => (&[][..], None),
            [le] => (&[][..], Some(short_le(*le))),
            [0x00, rest @ ..] if rest.len() >= 2 => extended_body(rest)?,
            // Lc = 00 is not a short length (that byte opened the extended form above).
            [0x00, ..] => return None,
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc)? {
                    0 => (rest, None),
                    1 => (&rest[..lc], Some(short_le(rest[lc]))),
                    _ => return None,
                }
            }
        };
        Some(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        })
    }
}

fn short_le(le: u8) -> usize {
    if le == 0 { 256 } else { usize::from(le) }
}

/// Parses the body after an extended-length marker byte `00`.
fn extended_body(rest: &[u8]) -> Option<(&[u8], Option<usize>)> {
    let (&[hi, lo], tail) = rest.split_first_chunk::<2>()?;
    let n = usize::from(u16::from_be_bytes([hi, lo]));
    if tail.is_empty() {
        // Case 2E: the two bytes are Le.
        return Some((&[], Some(if n == 0 { 65536 } else { n })));
    }
    if n == 0 {
        return None;
    }
    match tail.len().checked_sub(n)? {
        0 => Some((tail, None)),
        2 => {
            let le = usize::from(u16::from_be_bytes([tail[n], tail[n + 1]]));
            Some((&tail[..n], Some(if le == 0 { 65536 } else { le })))
        }
        _ => None,
    }
}
