use super::*;

#[test]
fn demo_clinic_codes_have_valid_check_digits() {
    for (kind, code, name, _) in CLINICS {
        let kind = match kind {
            pb::ClinicKind::Medical => mynafleet_account::ClinicKind::Medical,
            pb::ClinicKind::Dental => mynafleet_account::ClinicKind::Dental,
            other => panic!("no demo clinic of kind {other:?}"),
        };
        let (_, warning) = mynafleet_account::FacilityCode::parse(code, kind, "code")
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(warning.is_none(), "{name}: {warning:?}");
    }
}

#[test]
fn dev_passwords_meet_the_operator_policy() {
    let p = generate_password().unwrap();
    assert_eq!(p.chars().count(), 19, "{}", p.as_str());
    assert!(p.chars().any(|c| c.is_ascii_uppercase()));
    assert!(p.chars().any(|c| c.is_ascii_lowercase()));
    assert!(p.chars().any(|c| c.is_ascii_digit()));
    assert!(!p.chars().any(|c| "0O1lI".contains(c)), "no look-alikes");
    assert_ne!(p.as_str(), generate_password().unwrap().as_str());
}
