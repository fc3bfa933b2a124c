//! The allow-list every command APDU passes before it may reach a card (DOMAIN.md §10 rule 2).
//!
//! [`check`] reads the raw bytes, so it holds whoever built the APDU. Allowed, and nothing else:
//! SELECT of the JPKI AP by AID and of its EFs `0006`, `0008`, `000A`, `000B` (read), `0017`
//! (auth key) and `0018` (auth PIN); short READ BINARY (by offset, or by the SFI of a readable
//! EF); VERIFY of the auth PIN (tries-left query or a 4-byte PIN); GET RESPONSE; the JPKI
//! signature `80 2A 00 80` over a SHA-256 DigestInfo; and the iPhone token's `80 FC 00 00`
//! (DOMAIN.md §1.5, §1.8). So the other four applications, the signature certificate (`0001`),
//! the signature key and password (`001A`, `001B`) and any other instruction are refused
//! before they reach the transport. Refusals carry no APDU payload.

/// Elementary files of the JPKI AP the agent may select (DOMAIN.md §1.3, §10 rule 2).
const SELECTABLE_EFS: [u16; 6] = [0x0006, 0x0008, 0x000A, 0x000B, 0x0017, 0x0018];

/// Short file identifiers the agent may READ BINARY without a SELECT: the readable EFs.
const READABLE_SFIS: [u8; 4] = [0x06, 0x08, 0x0A, 0x0B];

/// The auth PIN `0018` addressed by SFI in VERIFY's P2 (`80 | 18`, DOMAIN.md §1.5).
const VERIFY_P2_AUTH_PIN_SFI: u8 = 0x98;

/// P2 `80` of VERIFY and the signature command: the currently selected PIN or key EF.
const P2_CURRENT_EF: u8 = 0x80;

/// Length of an auth PIN: 4 ASCII digits (DOMAIN.md §1.4).
const AUTH_PIN_LEN: usize = 4;

/// DigestInfo prefix for SHA-256 (DOMAIN.md §1.5), the only digest the agent signs (rule 6).
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA256_DIGEST_INFO_LEN: usize = SHA256_DIGEST_INFO_PREFIX.len() + 32;

/// Why a command APDU was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Shorter than a header, or length fields that do not match (extended forms included).
    #[error("malformed or extended-length command apdu")]
    Malformed,
    /// An instruction outside the allow-list.
    #[error("instruction {cla:02X} {ins:02X} is not on the allow-list")]
    Instruction {
        /// The class byte.
        cla: u8,
        /// The instruction byte.
        ins: u8,
    },
    /// SELECT of an application other than the JPKI AP.
    #[error("select of an application other than the jpki ap")]
    Application,
    /// SELECT (or READ BINARY by SFI, or VERIFY) of a file outside the allow-list.
    #[error("file {file:04X} is not on the allow-list")]
    File {
        /// The file id (or short file identifier).
        file: u16,
    },
    /// An allowed instruction with parameters outside the allow-list.
    #[error("parameters {p1:02X} {p2:02X} are not allowed for instruction {ins:02X}")]
    Parameters {
        /// The instruction byte.
        ins: u8,
        /// P1.
        p1: u8,
        /// P2.
        p2: u8,
    },
    /// An allowed instruction with a data or Le shape outside the allow-list.
    #[error("data or length not allowed for instruction {ins:02X}")]
    Body {
        /// The instruction byte.
        ins: u8,
    },
}

/// Returns `Ok` if `apdu` may be sent to the card, or why it may not.
pub fn check(apdu: &[u8]) -> Result<(), Refusal> {
    let Some((&[cla, ins, p1, p2], rest)) = apdu.split_first_chunk::<4>() else {
        return Err(Refusal::Malformed);
    };
    let body = Body::parse(rest).ok_or(Refusal::Malformed)?;
    let parameters = Refusal::Parameters { ins, p1, p2 };
    let wrong_body = Refusal::Body { ins };
    match (cla, ins) {
        // SELECT (DOMAIN.md §1.5 rows 1–2).
        (0x00, 0xA4) => match (p1, p2, body) {
            (0x04, 0x0C, Body::Data(aid)) if aid == super::JPKI_AP_AID => Ok(()),
            (0x04, 0x0C, Body::Data(_)) => Err(Refusal::Application),
            (0x02, 0x0C, Body::Data(&[hi, lo])) => {
                let file = u16::from_be_bytes([hi, lo]);
                if SELECTABLE_EFS.contains(&file) {
                    Ok(())
                } else {
                    Err(Refusal::File { file })
                }
            }
            (0x04 | 0x02, 0x0C, _) => Err(wrong_body),
            _ => Err(parameters),
        },
        // READ BINARY, short only (§1.5 read loop, rule 3): P1 bit 8 clear = 15-bit offset into
        // the current EF; set = SFI in P1's low 5 bits, 8-bit offset in P2.
        (0x00, 0xB0) => {
            let Body::Le = body else {
                return Err(wrong_body);
            };
            if p1 & 0x80 == 0 {
                Ok(())
            } else if p1 & 0x60 != 0 {
                Err(parameters)
            } else if READABLE_SFIS.contains(&(p1 & 0x1F)) {
                Ok(())
            } else {
                Err(Refusal::File {
                    file: u16::from(p1 & 0x1F),
                })
            }
        }
        // VERIFY of the auth PIN only: the current EF (selected `0018`) or SFI `18` (§1.5).
        (0x00, 0x20) => match (p1, p2) {
            (0x00, P2_CURRENT_EF | VERIFY_P2_AUTH_PIN_SFI) => match body {
                Body::None => Ok(()),
                Body::Data(pin) if pin.len() == AUTH_PIN_LEN => Ok(()),
                _ => Err(wrong_body),
            },
            (0x00, p2) if p2 & 0x80 != 0 => Err(Refusal::File {
                file: u16::from(p2 & 0x1F),
            }),
            _ => Err(parameters),
        },
        // GET RESPONSE after 61xx (§1.1).
        (0x00, 0xC0) => match (p1, p2, body) {
            (0x00, 0x00, Body::Le) => Ok(()),
            (0x00, 0x00, _) => Err(wrong_body),
            _ => Err(parameters),
        },
        // JPKI signature with the current key, scheme 00, over a SHA-256 DigestInfo, Le 00
        // (§1.5 signing, rule 6).
        (0x80, 0x2A) => match (p1, p2, body) {
            (0x00, P2_CURRENT_EF, Body::DataLe(digest_info, 0x00))
                if digest_info.len() == SHA256_DIGEST_INFO_LEN
                    && digest_info.starts_with(&SHA256_DIGEST_INFO_PREFIX) =>
            {
                Ok(())
            }
            (0x00, P2_CURRENT_EF, _) => Err(wrong_body),
            _ => Err(parameters),
        },
        // iPhone token's "last command" indicator (§1.8).
        (0x80, 0xFC) => match (p1, p2, body) {
            (0x00, 0x00, Body::None) => Ok(()),
            (0x00, 0x00, _) => Err(wrong_body),
            _ => Err(parameters),
        },
        _ => Err(Refusal::Instruction { cla, ins }),
    }
}

/// The body of a short command APDU after its 4-byte header (ISO/IEC 7816-3 cases 1–4).
#[derive(Clone, Copy)]
enum Body<'a> {
    /// Case 1: nothing.
    None,
    /// Case 2: Le only (any value: the card clamps reads at the end of the EF).
    Le,
    /// Case 3: Lc and data.
    Data(&'a [u8]),
    /// Case 4: Lc, data and Le.
    DataLe(&'a [u8], u8),
}

impl<'a> Body<'a> {
    /// Returns `None` for length fields that do not match, and for every extended form.
    fn parse(rest: &'a [u8]) -> Option<Self> {
        match rest {
            [] => Some(Body::None),
            [_le] => Some(Body::Le),
            // Lc 00 opens an extended length, which the agent never sends.
            [0x00, ..] => None,
            [lc, tail @ ..] => {
                let lc = usize::from(*lc);
                match tail.len().checked_sub(lc)? {
                    0 => Some(Body::Data(tail)),
                    1 => Some(Body::DataLe(&tail[..lc], tail[lc])),
                    _ => None,
                }
            }
        }
    }
}
