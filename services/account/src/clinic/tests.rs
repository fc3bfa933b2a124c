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

fn input<'a>(code: &'a str) -> ClinicInput<'a> {
    ClinicInput {
        kind: Some(ClinicKind::Medical),
        institution_code: code,
        display_name: "さくら内科クリニック",
        ..Default::default()
    }
}

fn today() -> JapanDate {
    JapanDate::from_ymd(2025, 6, 1).unwrap()
}

fn parse(i: &ClinicInput<'_>) -> Result<NewClinic> {
    NewClinic::parse(
        OrganizationId::new(),
        i,
        today(),
        &SecretKey::generate().unwrap(),
    )
}

#[test]
fn a_new_clinic_derives_its_prefecture_and_keys_by_its_code() {
    let c = parse(&input("3410712362")).unwrap();
    assert_eq!(c.prefecture, 34);
    assert!(c.warnings.is_empty());
    assert_eq!(c.institution().unwrap().key(), "3410712362");
    // The alternate numbers 51–97 fold back to the prefecture.
    assert_eq!(parse(&input("8410712362")).unwrap().prefecture, 34);
}

#[test]
fn a_check_digit_mismatch_is_registered_with_its_warning() {
    let c = parse(&input("3410712364")).unwrap();
    assert_eq!(
        c.warnings
            .iter()
            .map(CodeWarning::as_reason)
            .collect::<Vec<_>>(),
        vec!["CHECK_DIGIT_MISMATCH"]
    );
}

#[test]
fn a_malformed_code_is_a_violation_of_clinic_institution_code() {
    for bad in ["341071236", "4810712362", "3430712362", ""] {
        let v = violation(parse(&input(bad)).unwrap_err());
        assert_eq!(v.field, "clinic.institution_code", "{bad:?}");
    }
}

#[test]
fn a_prefecture_must_match_the_code_or_be_given_without_one() {
    let mut i = input("3410712362");
    i.prefecture = 34;
    assert_eq!(parse(&i).unwrap().prefecture, 34);
    i.prefecture = 13;
    assert_eq!(violation(parse(&i).unwrap_err()).field, "clinic.prefecture");

    let mut t = ClinicInput {
        kind: Some(ClinicKind::Treatment),
        registration_number: "契1234567-0-0",
        display_name: "みどり整骨院",
        ..Default::default()
    };
    assert_eq!(violation(parse(&t).unwrap_err()).field, "clinic.prefecture");
    t.prefecture = 48;
    assert_eq!(violation(parse(&t).unwrap_err()).field, "clinic.prefecture");
    t.prefecture = 13;
    let c = parse(&t).unwrap();
    assert_eq!(c.prefecture, 13);
    assert_eq!(c.institution().unwrap().key(), "R契123456700");
    assert_eq!(c.institution().unwrap().as_shown(), "契123456700");
}

#[test]
fn only_a_practitioner_may_register_by_registration_number() {
    let mut i = input("3410712362");
    i.registration_number = "契1234567-0-0";
    assert_eq!(
        violation(parse(&i).unwrap_err()).field,
        "clinic.registration_number"
    );
    let t = ClinicInput {
        kind: Some(ClinicKind::Treatment),
        display_name: "みどり整骨院",
        prefecture: 13,
        ..Default::default()
    };
    let v = violation(parse(&t).unwrap_err());
    assert_eq!(v.field, "clinic.institution_code");
    assert!(v.description.contains("registration_number"));
    let no_kind = ClinicInput {
        kind: None,
        ..input("3410712362")
    };
    assert_eq!(violation(parse(&no_kind).unwrap_err()).field, "clinic.kind");
}

#[test]
fn operation_start_dates_are_bounded() {
    let f = "clinic.operation_start_date";
    assert_eq!(operation_start_date("", today(), f).unwrap(), None);
    assert_eq!(
        operation_start_date("2021-01-01", today(), f)
            .unwrap()
            .unwrap()
            .to_string(),
        "2021-01-01"
    );
    assert!(operation_start_date("2026-06-01", today(), f).is_ok());
    for bad in ["2020-12-31", "2026-06-02", "2025-02-29", "2025/06/01"] {
        assert_eq!(
            violation(operation_start_date(bad, today(), f).unwrap_err()).field,
            f,
            "{bad}"
        );
    }
}

#[test]
fn bank_digits_are_four_digits_and_only_their_keyed_hash_is_kept() {
    let org = OrganizationId::new();
    let key = SecretKey::generate().unwrap();
    let h = BankDigits::parse("１２３４", "f")
        .unwrap()
        .keyed_hash(&key, org);
    assert_eq!(h.hash.len(), 64);
    // Keyed: another key gives another hash, so the four digits cannot be found by hashing
    // the 10,000 candidates. (A hex digest may contain "1234" by chance: about 1 in 1,000.)
    let other = SecretKey::generate().unwrap();
    assert_ne!(
        h.hash,
        BankDigits::parse("1234", "f")
            .unwrap()
            .keyed_hash(&other, org)
            .hash
    );
    assert_eq!(h.key_id, key.id());
    assert!(
        h.matches(
            &BankDigits::parse("1234", "f")
                .unwrap()
                .keyed_hash(&key, org)
                .hash
        )
    );
    assert!(
        !h.matches(
            &BankDigits::parse("1235", "f")
                .unwrap()
                .keyed_hash(&key, org)
                .hash
        )
    );
    assert!(!h.matches(""));
    assert_eq!(
        format!("{:?}", BankDigits::parse("1234", "f").unwrap()),
        "BankDigits(****)"
    );
    for bad in ["123", "12345", "abcd", ""] {
        assert_eq!(
            violation(BankDigits::parse(bad, "clinic.bank_account_last4").unwrap_err()).field,
            "clinic.bank_account_last4"
        );
    }
    let mut i = input("3410712362");
    i.bank_account_last4 = "12";
    assert_eq!(
        violation(parse(&i).unwrap_err()).field,
        "clinic.bank_account_last4"
    );
}

#[test]
fn display_names_refuse_my_numbers() {
    let mut i = input("3410712362");
    i.display_name = "クリニック 123456789018";
    assert!(matches!(
        parse(&i),
        Err(Error::MyNumberRefused { field }) if field == "clinic.display_name"
    ));
}
