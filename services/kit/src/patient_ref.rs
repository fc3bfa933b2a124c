//! Keyed patient references (DESIGN.md §3.7, DOMAIN.md §10.10 and §10.12): the one
//! definition the eligibility proxy uses when it writes a check's audit record and the
//! account service uses when an auditor searches for a patient, so both arrive at the same
//! HMAC for the same person however the numbers were typed.
//!
//! A patient reference is HMAC-SHA256 under the organization's patient-reference key (the
//! deployment's reference key derived with HKDF for [`PATIENT_LABEL`] and the organization
//! id) over 保険者番号, 記号, 番号 and 枝番, each normalised as for search and joined with a
//! unit separator (0x1F). The 照会番号 and the certificate serial are keyed the same way
//! under [`REFERENCE_NUMBER_LABEL`] and [`CERTIFICATE_LABEL`].
//!
//! Search normalisation ([`normalise`]): full-width ASCII (U+FF01–U+FF5E) becomes half-width;
//! all whitespace, U+3000 included, is removed; hyphen-like characters (U+2010–U+2015,
//! U+2212, U+FF0D) become `-`; the 保険者番号 keeps its digits only. Letters keep their case.
//!
//! Nothing here stores or logs a clear value; [`PatientKey`]'s `Debug` shows none.

use crate::keys::SecretKey;

/// HKDF label of the patient-reference key.
pub const PATIENT_LABEL: &str = "patient-ref";
/// HKDF label of the 照会番号 reference key.
pub const REFERENCE_NUMBER_LABEL: &str = "reference-number";
/// HKDF label of the certificate-serial reference key.
pub const CERTIFICATE_LABEL: &str = "certificate-serial";

/// A patient's insurance numbers, as typed or returned; only their HMAC is ever recorded.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientKey {
    /// 保険者番号.
    pub insurer: String,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
}

impl PatientKey {
    /// Returns the key of 保険者番号 `insurer`, 記号 `symbol`, 番号 `number` and 枝番 `branch`,
    /// as typed.
    pub fn new(insurer: &str, symbol: &str, number: &str, branch: &str) -> Self {
        Self {
            insurer: insurer.to_owned(),
            symbol: symbol.to_owned(),
            number: number.to_owned(),
            branch: branch.to_owned(),
        }
    }
}

impl std::fmt::Debug for PatientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientKey(..)")
    }
}

/// Normalises a value as for search (see the module doc).
pub fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' => '-',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// Returns the patient reference: HMAC under `key` (an organization's patient-reference
/// key) of the normalised 保険者番号 (digits only), 記号, 番号 and 枝番.
pub fn patient_ref(key: &SecretKey, p: &PatientKey) -> String {
    let insurer: String = normalise(&p.insurer)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    key.hmac_hex(&[
        &insurer,
        &normalise(&p.symbol),
        &normalise(&p.number),
        &normalise(&p.branch),
    ])
}

/// Returns the patient reference of `p` in the organization `org_id` (its id, without
/// `organizations/`) under the deployment's `reference` key, and the id of the key it was
/// made with (what a record's `patient_ref_key_id` holds).
pub fn for_organization(reference: &SecretKey, org_id: &str, p: &PatientKey) -> (String, String) {
    let key = reference.derive(PATIENT_LABEL, org_id);
    (patient_ref(&key, p), key.id().to_owned())
}

#[cfg(test)]
mod tests;
