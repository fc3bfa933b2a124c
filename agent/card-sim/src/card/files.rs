//! The elementary files of each application and who may read them (DOMAIN.md §1.3, §2).
//!
//! The JPKI AP holds the profile's certificates and a token-info file built from its label.
//! The other four applications exist so an agent's allow-list is really exercised: their EFs
//! answer SELECT and READ BINARY as a real card would, with made-up contents. The 12-digit
//! value in the 券面事項入力補助AP's EF `0001` deliberately fails the My Number check digit,
//! so it can never be mistaken for a real 個人番号 (and no filter ever has to hide it).

use super::Application;

/// Who may READ BINARY an EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Anyone.
    Free,
    /// After a successful VERIFY of the application's PIN since it was selected (`6982`
    /// before).
    AfterVerify,
    /// Never in this model (`6982`): it needs a credential the card does not model.
    Never,
    /// Not a transparent EF: a key or PIN (`6981`).
    NotBinary,
}

/// One EF as READ BINARY sees it.
#[derive(Debug)]
pub(super) struct Ef<'a> {
    pub(super) content: &'a [u8],
    pub(super) access: Access,
}

impl<'a> Ef<'a> {
    fn new(content: &'a [u8], access: Access) -> Self {
        Self { content, access }
    }
}

/// The made-up 12-digit value in the 券面事項入力補助AP's EF `0001`: the My Number check
/// digit of `12345678901` is 8, so the final 0 fails it.
pub const FAKE_MY_NUMBER: &[u8; 12] = b"123456789010";

/// EF `0001` of the 券面事項入力補助AP: the fake number and filler, 17 bytes.
const CARD_INFO_NUMBER: [u8; 17] = {
    let mut ef = [0xFF; 17];
    let mut i = 0;
    while i < FAKE_MY_NUMBER.len() {
        ef[i] = FAKE_MY_NUMBER[i];
        i += 1;
    }
    ef
};
const CARD_INFO_ATTRIBUTES: &[u8] = b"MYNAFLEET CARD-SIM DUMMY ATTRIBUTES";
const CARD_FACE_IMAGE: &[u8] = b"MYNAFLEET CARD-SIM DUMMY CARD FACE";
const JUKI_DATA: &[u8] = b"MYNAFLEET CARD-SIM DUMMY JUKI";
/// 15-digit card serial, 5-digit municipality code, expiry: all zeros, not a real card.
const COMMON_DATA: &[u8] = b"00000000000000000000020360101";

/// The JPKI AP's contents, fixed when the card is built.
#[derive(Debug, Clone)]
pub(super) struct JpkiFiles {
    pub(super) token_info: [u8; 160],
    pub(super) availability: [u8; 3],
    pub(super) auth_cert: Vec<u8>,
    pub(super) ca_cert: Vec<u8>,
    /// The Android token reads EF `000A` only after VERIFY (DOMAIN.md §1.8).
    pub(super) cert_after_verify: bool,
}

impl JpkiFiles {
    pub(super) fn new(
        label: &str,
        signature_cert: bool,
        auth_cert: Vec<u8>,
        ca_cert: Vec<u8>,
        cert_after_verify: bool,
    ) -> Self {
        let availability = if signature_cert {
            [0x8F, 0x8F, 0x00]
        } else {
            [0x00, 0x8F, 0x00]
        };
        Self {
            token_info: token_info(label),
            availability,
            auth_cert,
            ca_cert,
            cert_after_verify,
        }
    }
}

/// Returns EF `id` of `app`, or `None` when the application has no such file.
pub(super) fn lookup(app: Application, id: u16, jpki: Option<&JpkiFiles>) -> Option<Ef<'_>> {
    use Access::{AfterVerify, Free, Never, NotBinary};
    let ef = match (app, id) {
        (Application::Jpki, _) => {
            let jpki = jpki?;
            match id {
                // The signature certificate needs the signature password, never presented.
                0x0001 => Ef::new(&[], Never),
                0x0002 => Ef::new(&jpki.ca_cert, Free),
                0x0006 => Ef::new(&jpki.token_info, Free),
                0x0008 => Ef::new(&jpki.availability, Free),
                0x000A if jpki.cert_after_verify => Ef::new(&jpki.auth_cert, AfterVerify),
                0x000A => Ef::new(&jpki.auth_cert, Free),
                0x000B => Ef::new(&jpki.ca_cert, Free),
                0x0016 | 0x0017 | 0x0018 | 0x001A | 0x001B => Ef::new(&[], NotBinary),
                _ => return None,
            }
        }
        (Application::CardInfoInput, 0x0001) => Ef::new(&CARD_INFO_NUMBER, AfterVerify),
        (Application::CardInfoInput, 0x0002) => Ef::new(CARD_INFO_ATTRIBUTES, AfterVerify),
        (Application::CardInfoInput, 0x0011 | 0x0014 | 0x0015) => Ef::new(&[], NotBinary),
        (Application::CardFace, 0x0001 | 0x0002) => Ef::new(CARD_FACE_IMAGE, Never),
        (Application::CardFace, 0x0012 | 0x0013) => Ef::new(&[], NotBinary),
        (Application::Juki, 0x0001 | 0x0002) => Ef::new(JUKI_DATA, Never),
        (Application::Common, 0x0001) => Ef::new(COMMON_DATA, Free),
        _ => return None,
    };
    Some(ef)
}

/// Builds the 160-byte EF `0006`: a PKCS#11 `CK_TOKEN_INFO` with `CK_ULONG`s as 4 bytes
/// big-endian and no filler (DOMAIN.md §1.3). Only the label is read by clients; the other
/// fields are plausible made-up values.
fn token_info(label: &str) -> [u8; 160] {
    let mut info = [b' '; 160];
    let mut put = |at: usize, bytes: &[u8], width: usize| {
        let n = bytes.len().min(width);
        if let (Some(dst), Some(src)) = (info.get_mut(at..at + n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
    };
    put(0, label.as_bytes(), 32); // label
    put(32, b"MynaFleet card-sim", 32); // manufacturerID
    put(64, b"JPKI-TEST", 16); // model
    put(80, b"0000000000000000", 16); // serialNumber
    // CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED.
    let flags: u32 = 0x0000_040D;
    const UNAVAILABLE: u32 = u32::MAX;
    let ulongs: [u32; 11] = [
        flags,
        0,           // ulMaxSessionCount
        0,           // ulSessionCount
        0,           // ulMaxRwSessionCount
        0,           // ulRwSessionCount
        4,           // ulMaxPinLen
        4,           // ulMinPinLen
        UNAVAILABLE, // ulTotalPublicMemory
        UNAVAILABLE, // ulFreePublicMemory
        UNAVAILABLE, // ulTotalPrivateMemory
        UNAVAILABLE, // ulFreePrivateMemory
    ];
    for (i, value) in ulongs.iter().enumerate() {
        put(96 + 4 * i, &value.to_be_bytes(), 4);
    }
    put(140, &[1, 0, 1, 0], 4); // hardwareVersion, firmwareVersion
    put(144, &[b'0'; 16], 16); // utcTime
    info
}
