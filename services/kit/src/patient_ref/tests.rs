//! Patient references: one reference per patient however the numbers are typed, a different
//! one per organization, and parts that cannot slide into each other.

use super::*;

#[test]
fn normalisation_folds_full_width_spaces_and_hyphens() {
    assert_eq!(normalise("１２３４　ＡＢ－５"), "1234AB-5");
    assert_eq!(normalise(" 12 34\t‐5−6―7 "), "1234-5-6-7");
    assert_eq!(normalise("あいう"), "あいう");
    assert_eq!(normalise("ａｂＣ"), "abC");
}

#[test]
fn the_same_patient_typed_full_width_or_half_width_has_one_reference() {
    let k = SecretKey::generate().unwrap();
    let half = patient_ref(&k, &PatientKey::new("06139995", "12-34", "5678", "01"));
    let full = patient_ref(
        &k,
        &PatientKey::new("０６１３９９９５", "１２－３４", "５６７８　", "０１"),
    );
    assert_eq!(half.len(), 64);
    assert_eq!(half, full);
    // The 保険者番号 keeps its digits only.
    assert_eq!(
        half,
        patient_ref(&k, &PatientKey::new("06-13 9995", "12-34", "5678", "01"))
    );
    assert_ne!(
        half,
        patient_ref(&k, &PatientKey::new("06139995", "12-34", "5679", "01"))
    );
    // Parts cannot slide into each other.
    assert_ne!(
        half,
        patient_ref(&k, &PatientKey::new("06139995", "12-345", "678", "01"))
    );
}

#[test]
fn the_reference_is_the_hmac_of_the_normalised_parts_under_the_organization_key() {
    let reference = SecretKey::generate().unwrap();
    let p = PatientKey::new("０６１３９９９５", "ｱｲｳ", "１２３", "");
    let (r, key_id) = for_organization(&reference, "org-1", &p);
    let key = reference.derive(PATIENT_LABEL, "org-1");
    assert_eq!(r, key.hmac_hex(&["06139995", "ｱｲｳ", "123", ""]));
    assert_eq!(key_id, reference.id());
    let (elsewhere, _) = for_organization(&reference, "org-2", &p);
    assert_ne!(r, elsewhere);
}

#[test]
fn debug_shows_no_number() {
    let text = format!("{:?}", PatientKey::new("06139995", "1234", "5678", "01"));
    assert_eq!(text, "PatientKey(..)");
}
