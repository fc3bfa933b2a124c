use super::*;

fn violation(e: Error) -> FieldViolation {
    match e {
        Error::InvalidFields(mut v) if v.len() == 1 => v.remove(0),
        other => panic!("expected one field violation, got {other:?}"),
    }
}

#[test]
fn the_mhlw_worked_example_is_accepted_without_warning() {
    let (code, warning) = FacilityCode::parse("3410712362", ClinicKind::Medical, "code").unwrap();
    assert_eq!(code.as_str(), "3410712362");
    assert_eq!(warning, None);
    assert_eq!(code.prefecture(), 34);
}

#[test]
fn a_check_digit_mismatch_is_kept_with_a_warning() {
    // The portal manuals' placeholder codes fail the check digit (DOMAIN.md §4.2).
    let (code, warning) = FacilityCode::parse("0110000001", ClinicKind::Medical, "code").unwrap();
    assert_eq!(code.as_str(), "0110000001");
    assert!(matches!(
        warning,
        Some(CodeWarning::CheckDigitMismatch { .. })
    ));
    let (_, w) = FacilityCode::parse("3410712364", ClinicKind::Medical, "code").unwrap();
    assert_eq!(w, Some(CodeWarning::CheckDigitMismatch { expected: 2 }));
}

#[test]
fn spellings_with_full_width_digits_and_hyphens_normalise() {
    let (code, _) =
        FacilityCode::parse("３４-１-０７-１２３６-２", ClinicKind::Medical, "code").unwrap();
    assert_eq!(code.as_str(), "3410712362");
}

#[test]
fn alternate_prefecture_numbers_fold_back() {
    let (code, _) = FacilityCode::parse("8410712362", ClinicKind::Medical, "code").unwrap();
    assert_eq!(code.prefecture(), 34);
}

#[test]
fn malformed_codes_are_refused_naming_the_field() {
    for (input, kind, says) in [
        ("341071236", ClinicKind::Medical, "10 digits"),
        ("34107123621", ClinicKind::Medical, "10 digits"),
        ("34107A2362", ClinicKind::Medical, "10 digits"),
        ("4810712362", ClinicKind::Medical, "prefecture number 48"),
        ("0010712362", ClinicKind::Medical, "prefecture number 00"),
        ("9810712362", ClinicKind::Medical, "prefecture number 98"),
        ("3410712362", ClinicKind::Dental, "点数表番号"),
        ("3430712362", ClinicKind::Pharmacy, "点数表番号"),
    ] {
        let v = violation(FacilityCode::parse(input, kind, "clinic.facility_code").unwrap_err());
        assert_eq!(v.field, "clinic.facility_code", "{input}");
        assert!(v.description.contains(says), "{input}: {}", v.description);
    }
}

#[test]
fn kinds_without_a_known_fee_schedule_digit_accept_any() {
    // The portal's 柔整 placeholder code carries 8 in the third place.
    assert!(FacilityCode::parse("1180123456", ClinicKind::Treatment, "code").is_ok());
    assert!(FacilityCode::parse("1190123456", ClinicKind::Midwifery, "code").is_ok());
}

#[test]
fn registration_numbers_drop_separators_and_refuse_symbols() {
    assert_eq!(
        RegistrationNumber::parse("契1234567-0-0", "r")
            .unwrap()
            .as_str(),
        "契123456700"
    );
    assert_eq!(
        RegistrationNumber::parse("ab-12 34", "r").unwrap().as_str(),
        "AB1234"
    );
    assert!(RegistrationNumber::parse("契1234/567", "r").is_err());
    assert!(RegistrationNumber::parse("", "r").is_err());
    assert!(RegistrationNumber::parse(&"1".repeat(21), "r").is_err());
}

#[test]
fn kinds_round_trip_through_storage() {
    for k in [
        ClinicKind::Medical,
        ClinicKind::Dental,
        ClinicKind::Pharmacy,
        ClinicKind::HomeNursing,
        ClinicKind::Treatment,
        ClinicKind::Midwifery,
        ClinicKind::HealthCheckup,
    ] {
        assert_eq!(ClinicKind::from_stored(k.as_stored()), Some(k));
    }
    assert_eq!(ClinicKind::from_stored("hospital"), None);
}
