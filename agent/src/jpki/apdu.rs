//! Pure builders of the command APDUs the agent sends, each citing the DOMAIN.md section it
//! implements. Builders never check the allow-list themselves: [`super::JpkiCard`] checks
//! every APDU, whoever built it. They never log, and the one that carries a PIN returns a
//! zeroizing buffer.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::ops::Pin;

/// AID of the 公的個人認証AP (JPKI AP), the only application the agent selects
/// (DOMAIN.md §1.2, §10 rule 1).
pub const JPKI_AP_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// EF `0006`: token info, whose first 32 bytes are the token label (DOMAIN.md §1.3).
pub const EF_TOKEN_INFO: u16 = 0x0006;
/// EF `0008`: certificate availability, 3 bytes (DOMAIN.md §1.3).
pub const EF_CERT_AVAILABILITY: u16 = 0x0008;
/// EF `000A`: the 利用者証明用電子証明書 (auth certificate), DER (DOMAIN.md §1.3).
pub const EF_AUTH_CERTIFICATE: u16 = 0x000A;
/// EF `000B`: the CA certificate of the auth certificate (DOMAIN.md §1.3).
pub const EF_AUTH_CA_CERTIFICATE: u16 = 0x000B;
/// EF `0017`: the auth private key (DOMAIN.md §1.3).
pub const EF_AUTH_KEY: u16 = 0x0017;
/// EF `0018`: the 4-digit auth PIN with 3 tries (DOMAIN.md §1.3, §1.4).
pub const EF_AUTH_PIN: u16 = 0x0018;

/// DigestInfo prefix for SHA-256 (DOMAIN.md §1.5, signing table).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Length of a SHA-256 DigestInfo, the `Lc` of the signature command: 51 (DOMAIN.md §1.5).
pub const SHA256_DIGEST_INFO_LEN: usize = SHA256_DIGEST_INFO_PREFIX.len() + 32;

/// The largest READ BINARY Le: 256, encoded `00` (DOMAIN.md §1.5 read loop, step 3).
pub(super) const MAX_READ_LE: u16 = 256;

/// Returns SELECT of the JPKI AP by DF name with no response data:
/// `00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01` (DOMAIN.md §1.5, first row). `9000` selects
/// it; `6A82` means the card is not a My Number card (§1.1).
pub fn select_jpki_ap() -> Vec<u8> {
    // CLA 00, INS A4 SELECT, P1 04 by DF name, P2 0C no FCI, Lc = AID length.
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, JPKI_AP_AID.len() as u8];
    apdu.extend_from_slice(&JPKI_AP_AID);
    apdu
}

/// Returns SELECT of an elementary file of the current AP by file id, no response data:
/// `00 A4 02 0C 02 <EF hi> <EF lo>` (DOMAIN.md §1.5, second row).
pub fn select_ef(ef: u16) -> Vec<u8> {
    let [hi, lo] = ef.to_be_bytes();
    vec![0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]
}

/// Returns a short READ BINARY of the current EF: `00 B0 P1 P2 Le` with P1P2 = `offset`
/// (15 bits; P1 bit 8 stays clear, so a larger offset is cut to its low 15 bits) and
/// Le = `le` clamped to 1..=256, 256 encoded `00` (DOMAIN.md §1.5 read loop, steps 1 and 3).
pub fn read_binary(offset: u16, le: u16) -> Vec<u8> {
    let [p1, p2] = (offset & 0x7FFF).to_be_bytes();
    vec![0x00, 0xB0, p1, p2, encode_le(le)]
}

/// Returns the empty (case-1) VERIFY of the selected PIN EF, which reports the tries left and
/// spends none: `00 20 00 80` (DOMAIN.md §1.5, "Tries left" row).
pub fn verify_query() -> Vec<u8> {
    vec![0x00, 0x20, 0x00, 0x80]
}

/// Returns VERIFY of the selected auth PIN EF with `pin`: `00 20 00 80 04 3x 3x 3x 3x`
/// (DOMAIN.md §1.5, "VERIFY auth PIN" row), in a buffer zeroized when dropped whose `Debug`
/// shows the header only.
pub fn verify(pin: &Pin) -> SecretApdu {
    let digits = pin.bytes();
    let mut apdu = Zeroizing::new(Vec::with_capacity(5 + digits.len()));
    apdu.extend_from_slice(&[0x00, 0x20, 0x00, 0x80, digits.len() as u8]);
    apdu.extend_from_slice(digits);
    SecretApdu(apdu)
}

/// A command APDU carrying a secret (the VERIFY with a PIN): zeroized when dropped, masked in
/// `Debug` (DOMAIN.md §10 rule 4).
pub struct SecretApdu(Zeroizing<Vec<u8>>);

impl SecretApdu {
    /// Returns the APDU bytes, for the transport only.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Shows the 4-byte header and the body length, never the body.
impl fmt::Debug for SecretApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = self.0.get(..4).unwrap_or_default();
        write!(
            f,
            "SecretApdu({header:02X?}, {} bytes masked)",
            self.0.len().saturating_sub(4)
        )
    }
}

/// Returns the JPKI signature with the selected key, scheme `00` (PKCS#1 v1.5 over the data
/// as given): `80 2A 00 80 33 <DigestInfo> 00` (DOMAIN.md §1.5 signing; §10 rule 6).
pub fn sign(digest_info: &[u8; SHA256_DIGEST_INFO_LEN]) -> Vec<u8> {
    let mut apdu = Vec::with_capacity(6 + SHA256_DIGEST_INFO_LEN);
    apdu.extend_from_slice(&[0x80, 0x2A, 0x00, 0x80, SHA256_DIGEST_INFO_LEN as u8]);
    apdu.extend_from_slice(digest_info);
    apdu.push(0x00);
    apdu
}

/// Returns GET RESPONSE for the `n` bytes a `61xx` announced: `00 C0 00 00 xx`, 0 standing
/// for 256 (DOMAIN.md §1.1).
pub fn get_response(n: u8) -> Vec<u8> {
    vec![0x00, 0xC0, 0x00, 0x00, n]
}

/// Returns the iPhone token's "last command" indicator `80 FC 00 00` (DOMAIN.md §1.8).
pub fn last_command_indicator() -> Vec<u8> {
    vec![0x80, 0xFC, 0x00, 0x00]
}

/// Returns the SHA-256 DigestInfo of `data`: the prefix of DOMAIN.md §1.5 followed by the
/// 32-byte hash. The card pads it (PKCS#1 v1.5 type 1) and signs it as given.
pub fn digest_info_sha256(data: &[u8]) -> [u8; SHA256_DIGEST_INFO_LEN] {
    let mut digest_info = [0u8; SHA256_DIGEST_INFO_LEN];
    let (prefix, hash) = digest_info.split_at_mut(SHA256_DIGEST_INFO_PREFIX.len());
    prefix.copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    hash.copy_from_slice(&Sha256::digest(data));
    digest_info
}

/// Returns `apdu` resent with Le = `le` after a `6Cxx` (DOMAIN.md §1.1): the Le of a case-2
/// or case-4 command is replaced, a case-1 or case-3 command gets one. `None` for bytes that
/// are no short command APDU. The copy is zeroized when dropped, like the VERIFY it may be.
pub(super) fn with_le(apdu: &[u8], le: u8) -> Option<Zeroizing<Vec<u8>>> {
    let mut resent = Zeroizing::new(apdu.to_vec());
    match apdu.len() {
        0..4 => return None,
        4 => resent.push(le),
        5 => resent[4] = le,
        len => {
            let lc = usize::from(apdu[4]);
            if len == 5 + lc {
                resent.push(le);
            } else if len == 6 + lc {
                resent[len - 1] = le;
            } else {
                return None;
            }
        }
    }
    Some(resent)
}

/// Encodes a short Le: 256 (or more) as `00`, 0 as 1.
fn encode_le(le: u16) -> u8 {
    match le {
        0 => 1,
        1..=255 => le as u8,
        _ => 0x00,
    }
}
