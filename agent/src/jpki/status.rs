//! Status words (SW1 SW2) as the My Number card uses them (DOMAIN.md §1.6), decoded into an
//! enum with an explicit [`StatusWord::Unknown`] arm so an unexpected word is still a value.

use std::fmt;

/// A decoded status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// `9000`: success.
    Success,
    /// `61xx`: more response data, to fetch with GET RESPONSE; 0 stands for 256 bytes
    /// (DOMAIN.md §1.1).
    MoreData(u8),
    /// `6282`: end of file reached before Le bytes (§1.5, read loop step 4).
    EndOfFileBeforeLe,
    /// `6300`: VERIFY failed on a key with unlimited retries.
    VerifyFailedUnlimited,
    /// `63Cx`: x VERIFY tries left, after a failed VERIFY or a tries-left query; `63C0` is the
    /// attempt that blocked the PIN.
    TriesLeft(u8),
    /// `6700`: wrong length (Lc or Le).
    WrongLength,
    /// `6881`: logical channels other than 0 are not supported.
    LogicalChannelNotSupported,
    /// `6882`: secure messaging is not supported.
    SecureMessagingNotSupported,
    /// `6982`: security status not satisfied (for example signing before VERIFY).
    SecurityStatusNotSatisfied,
    /// `6984`: the referenced PIN is blocked ("referenced IEF locked").
    ReferenceBlocked,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `69FC`: this card's refusal of a secure-messaging class (§1.1).
    SecureMessagingRefused,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6A86`: incorrect P1-P2.
    IncorrectP1P2,
    /// `6B00`: offset at or beyond the end of the EF.
    WrongOffset,
    /// `6Cxx`: wrong Le; resend the command with Le = xx (§1.1).
    WrongLe(u8),
    /// `6D00`: instruction not supported.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// Any other status word, kept raw.
    Unknown(u8, u8),
}

impl StatusWord {
    /// Decodes SW1 SW2.
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        match (sw1, sw2) {
            (0x90, 0x00) => StatusWord::Success,
            (0x61, n) => StatusWord::MoreData(n),
            (0x62, 0x82) => StatusWord::EndOfFileBeforeLe,
            (0x63, 0x00) => StatusWord::VerifyFailedUnlimited,
            (0x63, x) if x & 0xF0 == 0xC0 => StatusWord::TriesLeft(x & 0x0F),
            (0x67, 0x00) => StatusWord::WrongLength,
            (0x68, 0x81) => StatusWord::LogicalChannelNotSupported,
            (0x68, 0x82) => StatusWord::SecureMessagingNotSupported,
            (0x69, 0x82) => StatusWord::SecurityStatusNotSatisfied,
            (0x69, 0x84) => StatusWord::ReferenceBlocked,
            (0x69, 0x85) => StatusWord::ConditionsNotSatisfied,
            (0x69, 0xFC) => StatusWord::SecureMessagingRefused,
            (0x6A, 0x82) => StatusWord::FileNotFound,
            (0x6A, 0x86) => StatusWord::IncorrectP1P2,
            (0x6B, 0x00) => StatusWord::WrongOffset,
            (0x6C, n) => StatusWord::WrongLe(n),
            (0x6D, 0x00) => StatusWord::InsNotSupported,
            (0x6E, 0x00) => StatusWord::ClaNotSupported,
            (sw1, sw2) => StatusWord::Unknown(sw1, sw2),
        }
    }

    /// Returns SW1 SW2; `from_bytes(sw.to_bytes())` gives `sw` back for every decoded word.
    pub fn to_bytes(self) -> (u8, u8) {
        match self {
            StatusWord::Success => (0x90, 0x00),
            StatusWord::MoreData(n) => (0x61, n),
            StatusWord::EndOfFileBeforeLe => (0x62, 0x82),
            StatusWord::VerifyFailedUnlimited => (0x63, 0x00),
            StatusWord::TriesLeft(x) => (0x63, 0xC0 | (x & 0x0F)),
            StatusWord::WrongLength => (0x67, 0x00),
            StatusWord::LogicalChannelNotSupported => (0x68, 0x81),
            StatusWord::SecureMessagingNotSupported => (0x68, 0x82),
            StatusWord::SecurityStatusNotSatisfied => (0x69, 0x82),
            StatusWord::ReferenceBlocked => (0x69, 0x84),
            StatusWord::ConditionsNotSatisfied => (0x69, 0x85),
            StatusWord::SecureMessagingRefused => (0x69, 0xFC),
            StatusWord::FileNotFound => (0x6A, 0x82),
            StatusWord::IncorrectP1P2 => (0x6A, 0x86),
            StatusWord::WrongOffset => (0x6B, 0x00),
            StatusWord::WrongLe(n) => (0x6C, n),
            StatusWord::InsNotSupported => (0x6D, 0x00),
            StatusWord::ClaNotSupported => (0x6E, 0x00),
            StatusWord::Unknown(sw1, sw2) => (sw1, sw2),
        }
    }

    /// Returns whether the command succeeded (`9000`).
    pub fn is_success(self) -> bool {
        self == StatusWord::Success
    }

    /// Returns whether the word says the PIN is blocked: `63C0` or `6984` (DOMAIN.md §1.5,
    /// §10 rule 4; which of the two a blocked card answers is unconfirmed, so both count).
    pub fn is_pin_blocked(self) -> bool {
        matches!(
            self,
            StatusWord::TriesLeft(0) | StatusWord::ReferenceBlocked
        )
    }
}

impl From<(u8, u8)> for StatusWord {
    fn from((sw1, sw2): (u8, u8)) -> Self {
        Self::from_bytes(sw1, sw2)
    }
}

/// Formats as four hex digits, the way DOMAIN.md and card logs write status words.
impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sw1, sw2) = self.to_bytes();
        write!(f, "{sw1:02X}{sw2:02X}")
    }
}
