//! The card's commands: SELECT, READ BINARY, VERIFY, GET RESPONSE and the JPKI signature
//! (DOMAIN.md §1.5, §1.6). Each takes a parsed command and returns a status word or a reply;
//! none panics on input.

use rsa::Pkcs1v15Sign;

use super::apdu::{Command, Reply, sw};
use super::files::{self, Access};
use super::{Application, Card, PinCounter};
use crate::card::spec::BlockedAnswer;

/// The largest input PKCS#1 v1.5 type-1 padding takes under a 2048-bit key (256 − 11).
const MAX_SIGN_INPUT: usize = 245;

/// EF `0018`, the 利用者証明用 PIN, and EF `0017`, the auth key (DOMAIN.md §1.3).
const JPKI_PIN: u16 = 0x0018;
const JPKI_AUTH_KEY: u16 = 0x0017;
const JPKI_SIGN_KEY: u16 = 0x001A;
/// EF `0011`, the 券面事項入力補助 PIN (DOMAIN.md §2).
const INFO_PIN: u16 = 0x0011;

impl Card {
    pub(super) fn select(&mut self, command: &Command<'_>) -> u16 {
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
                        // Selecting an application, the same one included, drops its
                        // verified PIN (DOMAIN.md §1.6).
                        self.current_application = Some(app);
                        self.current_file = None;
                        self.verified = None;
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
                if self.file_exists(id) {
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

    fn file_exists(&self, id: u16) -> bool {
        self.current_application
            .is_some_and(|app| files::lookup(app, id, self.jpki_files()).is_some())
    }

    fn jpki_files(&self) -> Option<&files::JpkiFiles> {
        self.jpki.as_deref().map(|jpki| &jpki.files)
    }

    /// READ BINARY `00 B0 P1 P2 Le`: P1 bit 8 clear = 15-bit offset in the current EF; set =
    /// SFI in the low 5 bits and an 8-bit offset in P2, which also makes that EF current.
    pub(super) fn read_binary(&mut self, command: &Command<'_>) -> Reply {
        let status = Reply::status;
        if !command.data.is_empty() || command.extended {
            return status(sw::WRONG_LENGTH);
        }
        let Some(le) = command.le else {
            return status(sw::WRONG_LENGTH);
        };
        let Some(app) = self.current_application else {
            return status(sw::NO_CURRENT_EF);
        };
        let (id, offset) = if command.p1 & 0x80 == 0 {
            let Some(id) = self.current_file else {
                return status(sw::NO_CURRENT_EF);
            };
            (
                id,
                usize::from(u16::from_be_bytes([command.p1, command.p2])),
            )
        } else {
            if command.p1 & 0x60 != 0 || command.p1 & 0x1F == 0 {
                return status(sw::INCORRECT_P1_P2);
            }
            (u16::from(command.p1 & 0x1F), usize::from(command.p2))
        };
        let verified = self.verified == Some(app);
        let wrong_le = self.quirks.wrong_le;
        let eof_6282 = self.quirks.eof_6282;
        let Some(ef) = files::lookup(app, id, self.jpki_files()) else {
            return status(sw::FILE_NOT_FOUND);
        };
        match ef.access {
            Access::Free => {}
            Access::AfterVerify if verified => {}
            Access::AfterVerify | Access::Never => return status(sw::SECURITY_STATUS),
            Access::NotBinary => return status(sw::INCOMPATIBLE_WITH_FILE),
        }
        let Some(rest) = ef.content.get(offset..).filter(|rest| !rest.is_empty()) else {
            return status(sw::WRONG_OFFSET);
        };
        let (data, end_sw) = if le > rest.len() {
            if wrong_le {
                return status(sw::wrong_le(rest.len()));
            }
            (
                rest.to_vec(),
                if eof_6282 { sw::END_OF_FILE } else { sw::OK },
            )
        } else {
            (rest.get(..le).unwrap_or(rest).to_vec(), sw::OK)
        };
        if command.p1 & 0x80 != 0 {
            self.current_file = Some(id);
        }
        self.deliver(data, end_sw)
    }

    /// Answers with `data` and `end_sw`, or holds the data for GET RESPONSE under the `61xx`
    /// quirk (the final status word is then `9000`).
    fn deliver(&mut self, data: Vec<u8>, end_sw: u16) -> Reply {
        if self.quirks.get_response && !data.is_empty() {
            let sw = sw::more_data(data.len());
            self.pending = Some(data);
            Reply::status(sw)
        } else {
            Reply::with_data(data, end_sw)
        }
    }

    /// GET RESPONSE `00 C0 00 00 Le`: hands out what a `61xx` answer held back.
    pub(super) fn get_response(&mut self, command: &Command<'_>) -> Reply {
        if command.p1 != 0 || command.p2 != 0 {
            return Reply::status(sw::INCORRECT_P1_P2);
        }
        let Some(mut data) = self.pending.take() else {
            return Reply::status(sw::CONDITIONS_OF_USE);
        };
        let le = command.le.unwrap_or(256);
        if le >= data.len() {
            return Reply::with_data(data, sw::OK);
        }
        let rest = data.split_off(le);
        let sw = sw::more_data(rest.len());
        self.pending = Some(rest);
        Reply::with_data(data, sw)
    }

    /// VERIFY `00 20 00 P2 [Lc PIN]`: P2 `80` = the current EF, `80 | SFI` = that EF.
    pub(super) fn verify(&mut self, command: &Command<'_>) -> u16 {
        if command.p1 != 0x00 {
            return sw::INCORRECT_P1_P2;
        }
        let Some(app) = self.current_application else {
            return sw::REFERENCE_NOT_FOUND;
        };
        let reference = match command.p2 {
            0x80 => self.current_file,
            p2 if p2 & 0xE0 == 0x80 => Some(u16::from(p2 & 0x1F)),
            _ => return sw::INCORRECT_P1_P2,
        };
        let Some((counter, pin)) = self.pin_for(app, reference) else {
            return sw::REFERENCE_NOT_FOUND;
        };
        if command.data.is_empty() {
            // The tries query: no try is spent (DOMAIN.md §1.5).
            return match (counter.tries_left(), self.quirks.blocked_answer) {
                (0, BlockedAnswer::Blocked) => sw::BLOCKED,
                (tries, _) => sw::tries_left(tries),
            };
        }
        if counter.is_blocked() {
            return sw::BLOCKED;
        }
        if command.data.len() != 4 {
            return sw::WRONG_LENGTH;
        }
        if pin.matches(command.data) {
            counter.restore();
            self.verified = Some(app);
            sw::OK
        } else {
            self.verified = None;
            sw::tries_left(counter.spend())
        }
    }

    /// Returns the counter and value of the PIN EF `reference` of `app`, when modelled.
    fn pin_for(
        &self,
        app: Application,
        reference: Option<u16>,
    ) -> Option<(PinCounter, super::Pin)> {
        let jpki = self.jpki.as_deref()?;
        match (app, reference?) {
            (Application::Jpki, JPKI_PIN) => Some((self.pin.clone(), jpki.pin.clone())),
            (Application::CardInfoInput, INFO_PIN) => {
                Some((self.info_pin.clone(), jpki.pin.clone()))
            }
            _ => None,
        }
    }

    /// The JPKI signature `80 2A 00 P2 Lc <DigestInfo> 00`: P2 `80` = the current key EF,
    /// `97` = the auth key by SFI, `9A` = the signature key (never usable here).
    pub(super) fn sign(&mut self, command: &Command<'_>) -> Reply {
        let status = Reply::status;
        if self.current_application != Some(Application::Jpki) {
            return status(sw::INS_NOT_SUPPORTED);
        }
        if command.p1 != 0x00 {
            return status(sw::INCORRECT_P1_P2);
        }
        let key_ef = match command.p2 {
            0x80 => self.current_file,
            0x97 => Some(JPKI_AUTH_KEY),
            0x9A => Some(JPKI_SIGN_KEY),
            _ => return status(sw::INCORRECT_P1_P2),
        };
        match key_ef {
            Some(JPKI_AUTH_KEY) => {}
            // The signature key needs the signature password, which is never presented.
            Some(JPKI_SIGN_KEY) => return status(sw::SECURITY_STATUS),
            _ => return status(sw::REFERENCE_NOT_FOUND),
        }
        if self.verified != Some(Application::Jpki) {
            return status(sw::SECURITY_STATUS);
        }
        if command.data.is_empty() || command.data.len() > MAX_SIGN_INPUT {
            return status(sw::CONDITIONS_OF_USE);
        }
        match command.le {
            None | Some(256) => {}
            Some(_) if self.quirks.wrong_le => return status(sw::wrong_le(256)),
            Some(_) => return status(sw::WRONG_LENGTH),
        }
        let Some(key) = self.jpki.as_deref().and_then(|jpki| jpki.key.as_ref()) else {
            return status(sw::REFERENCE_NOT_FOUND);
        };
        match key.sign(Pkcs1v15Sign::new_unprefixed(), command.data) {
            Ok(signature) => self.deliver(signature, sw::OK),
            Err(_) => status(sw::CONDITIONS_OF_USE),
        }
    }
}
