//! Command APDU parsing and the status words the card answers (ISO/IEC 7816-3 and -4 as
//! DOMAIN.md §1.1, §1.5 and §1.6 describe them for the My Number card).
//!
//! Parsing never panics and never allocates: a command whose length fields do not match its
//! size parses to `None`, which the card answers with `6700`.

/// Status words this card answers (DOMAIN.md §1.6).
pub(super) mod sw {
    pub(crate) const OK: u16 = 0x9000;
    pub(crate) const END_OF_FILE: u16 = 0x6282;
    pub(crate) const WRONG_LENGTH: u16 = 0x6700;
    pub(crate) const CHANNEL_NOT_SUPPORTED: u16 = 0x6881;
    pub(crate) const SECURE_MESSAGING_NOT_SUPPORTED: u16 = 0x6882;
    pub(crate) const INCOMPATIBLE_WITH_FILE: u16 = 0x6981;
    pub(crate) const SECURITY_STATUS: u16 = 0x6982;
    pub(crate) const BLOCKED: u16 = 0x6984;
    pub(crate) const CONDITIONS_OF_USE: u16 = 0x6985;
    pub(crate) const NO_CURRENT_EF: u16 = 0x6986;
    pub(crate) const FILE_NOT_FOUND: u16 = 0x6A82;
    pub(crate) const INCORRECT_P1_P2: u16 = 0x6A86;
    pub(crate) const REFERENCE_NOT_FOUND: u16 = 0x6A88;
    pub(crate) const WRONG_OFFSET: u16 = 0x6B00;
    pub(crate) const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub(crate) const CLA_NOT_SUPPORTED: u16 = 0x6E00;

    /// `61xx`: `xx` more bytes wait for GET RESPONSE (`00` = 256 or more).
    pub(crate) fn more_data(len: usize) -> u16 {
        0x6100 | low_byte(len)
    }

    /// `6Cxx`: resend with Le = `xx`.
    pub(crate) fn wrong_le(len: usize) -> u16 {
        0x6C00 | low_byte(len)
    }

    /// `63Cx`: VERIFY failed or tries query, `x` tries left.
    pub(crate) fn tries_left(tries: u8) -> u16 {
        0x63C0 | u16::from(tries.min(0x0F))
    }

    fn low_byte(len: usize) -> u16 {
        u16::try_from(len.min(256)).unwrap_or(256) & 0x00FF
    }
}

/// A response before serialisation.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) data: Vec<u8>,
    pub(super) sw: u16,
}

impl Reply {
    pub(super) fn status(sw: u16) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    pub(super) fn with_data(data: Vec<u8>, sw: u16) -> Self {
        Self { data, sw }
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        let mut out = self.data;
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }
}

/// A command APDU split into header, data and expected length (ISO/IEC 7816-3 cases 1–4,
/// short and extended).
#[derive(Debug)]
pub(super) struct Command<'a> {
    pub(super) cla: u8,
    pub(super) ins: u8,
    pub(super) p1: u8,
    pub(super) p2: u8,
    pub(super) data: &'a [u8],
    /// Le in bytes, a coded `00` already turned into 256 (short) or 65536 (extended).
    pub(super) le: Option<usize>,
    /// Whether the lengths used the extended form.
    pub(super) extended: bool,
}

impl<'a> Command<'a> {
    /// Returns `None` when the length fields do not match the APDU's size.
    pub(super) fn parse(apdu: &'a [u8]) -> Option<Self> {
        let (&[cla, ins, p1, p2], body) = apdu.split_first_chunk::<4>()?;
        let (data, le, extended) = match body {
            [] => (&[][..], None, false),
            [le] => (&[][..], Some(short_le(*le)), false),
            [0x00, rest @ ..] if rest.len() >= 2 => {
                let (data, le) = extended_body(rest)?;
                (data, le, true)
            }
            // Lc = 00 is not a short length (that byte opened the extended form above).
            [0x00, ..] => return None,
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc)? {
                    0 => (rest, None, false),
                    1 => (rest.get(..lc)?, Some(short_le(*rest.get(lc)?)), false),
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
            extended,
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
            let (data, le) = tail.split_at(n);
            let le = usize::from(u16::from_be_bytes([*le.first()?, *le.get(1)?]));
            Some((data, Some(if le == 0 { 65536 } else { le })))
        }
        _ => None,
    }
}
