use super::*;

fn clinic(name: &str, code: &str, registration: &str) -> pb::Clinic {
    pb::Clinic {
        name: name.into(),
        institution_code: code.into(),
        registration_number: registration.into(),
        ..Default::default()
    }
}

#[test]
fn clinics_are_found_by_code_in_any_width() {
    let clinics = [
        clinic("a", "1310112345", ""),
        clinic("b", "", "契1234567-0-0".replace('-', "").as_str()),
    ];
    assert_eq!(find(&clinics, "１３１０１１２３４５").unwrap().name, "a");
    assert_eq!(find(&clinics, "13-1-01-1234-5").unwrap().name, "a");
    assert_eq!(find(&clinics, "契1234567-0-0").unwrap().name, "b");
    assert!(find(&clinics, "1310199991").is_none());
    assert!(find(&clinics, "").is_none());
}

#[test]
fn kinds_read_japanese_and_english() {
    assert_eq!(parse_kind("医科"), Some(pb::ClinicKind::Medical));
    assert_eq!(
        parse_kind("home-nursing"),
        Some(pb::ClinicKind::HomeNursing)
    );
    assert_eq!(parse_kind("獣医"), None);
}
