//! Pure builders of the command APDUs the agent sends, each citing the DOMAIN.md section it
//! implements. Builders never check the allow-list themselves: [`super::JpkiCard`] checks
//! every APDU, whoever built it.

/// AID of the 公的個人認証AP (JPKI AP), the only application the agent selects
/// (DOMAIN.md §1.2, §10 rule 1).
pub const JPKI_AP_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// Returns SELECT of the JPKI AP by DF name with no response data:
/// `00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01` (DOMAIN.md §1.5, first row). `9000` selects
/// it; `6A82` means the card is not a My Number card (§1.1).
pub fn select_jpki_ap() -> Vec<u8> {
    // CLA 00, INS A4 SELECT, P1 04 by DF name, P2 0C no FCI, Lc = AID length.
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, JPKI_AP_AID.len() as u8];
    apdu.extend_from_slice(&JPKI_AP_AID);
    apdu
}
