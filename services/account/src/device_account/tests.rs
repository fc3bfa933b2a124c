use super::*;
use mynafleet_kit::status::FieldViolation;
use time::macros::datetime;

fn violation(e: Error) -> FieldViolation {
    match e {
        Error::InvalidFields(mut v) if v.len() == 1 => v.remove(0),
        other => panic!("expected one field violation, got {other:?}"),
    }
}

#[test]
fn account_ids_parse_and_format_as_w_and_seven_digits() {
    let id = AccountId::parse("W0000001", "id").unwrap();
    assert_eq!(id.number(), 1);
    assert_eq!(id.to_string(), "W0000001");
    assert_eq!(id.as_stored(), "W0000001");
    assert_eq!(
        AccountId::parse("W9999999", "id").unwrap().number(),
        9_999_999
    );
    assert_eq!(AccountId::from_counter(42).unwrap().to_string(), "W0000042");
    // Ids sort by number, as stored strings and as values.
    assert!(AccountId::parse("W0000010", "id").unwrap() > id);
}

#[test]
fn malformed_account_ids_are_refused_naming_the_field() {
    for bad in [
        "",
        "W",
        "W000001",
        "W00000001",
        "w0000001",
        "X0000001",
        "W0000000",
        "W00000a1",
        "W000000１",
        " W0000001",
        "W+000001",
    ] {
        let v = violation(AccountId::parse(bad, "device_account.name").unwrap_err());
        assert_eq!(v.field, "device_account.name", "{bad:?}");
        assert!(v.description.contains("W and 7 digits"), "{bad:?}");
    }
}

#[test]
fn the_counter_past_w9999999_is_exhausted() {
    assert!(AccountId::from_counter(9_999_999).is_ok());
    for n in [0, -1, 10_000_000] {
        assert!(matches!(
            AccountId::from_counter(n),
            Err(Error::Precondition {
                reason: "ACCOUNT_IDS_EXHAUSTED",
                ..
            })
        ));
    }
}

#[test]
fn account_names_round_trip() {
    let name = "organizations/01890a5d-ac96-774b-bcce-b302099a8057/clinics/01890a5d-ac96-774b-bcce-b302099a8058/accounts/W0000123";
    let parsed = AccountName::parse(name, "name").unwrap();
    assert_eq!(parsed.id.number(), 123);
    assert_eq!(parsed.name(), name);
    let v = violation(
        AccountName::parse(
            "organizations/01890a5d-ac96-774b-bcce-b302099a8057/clinics/01890a5d-ac96-774b-bcce-b302099a8058/accounts/123",
            "name",
        )
        .unwrap_err(),
    );
    assert_eq!(v.field, "name");
}

#[test]
fn dates_are_japan_dates_around_utc_midnight() {
    let micros = |t: time::OffsetDateTime| mynafleet_kit::clock::to_micros(t);
    // 14:59:59 UTC is 23:59:59 in Japan: still the same day.
    assert_eq!(
        JapanDate::at(micros(datetime!(2025-03-31 14:59:59 UTC))).to_string(),
        "2025-03-31"
    );
    // 15:00 UTC is midnight in Japan: the next day, while UTC is still on the 31st.
    assert_eq!(
        JapanDate::at(micros(datetime!(2025-03-31 15:00:00 UTC))).to_string(),
        "2025-04-01"
    );
    // Just after UTC midnight Japan is already at 09:00 of that day.
    assert_eq!(
        JapanDate::at(micros(datetime!(2025-12-31 23:59:59 UTC))).to_string(),
        "2026-01-01"
    );
}

#[test]
fn dates_parse_only_as_existing_yyyy_mm_dd() {
    assert_eq!(
        JapanDate::parse("2024-02-29", "d").unwrap(),
        JapanDate::from_ymd(2024, 2, 29).unwrap()
    );
    for bad in [
        "2023-02-29",
        "2024-13-01",
        "2024-1-01",
        "20240101",
        "2024/01/01",
        "abcd-ef-gh",
        "２０２４-01-01",
    ] {
        assert_eq!(
            violation(JapanDate::parse(bad, "clinic.operation_start_date").unwrap_err()).field,
            "clinic.operation_start_date",
            "{bad}"
        );
    }
    let leap = JapanDate::from_ymd(2024, 2, 29).unwrap();
    assert_eq!(leap.plus_years(1).to_string(), "2025-03-01");
    assert_eq!(
        JapanDate::from_ymd(2025, 6, 1)
            .unwrap()
            .plus_years(1)
            .to_string(),
        "2026-06-01"
    );
}

#[test]
fn notes_are_bounded_and_refuse_my_numbers() {
    assert_eq!(Note::parse("  受付1 ", "n").unwrap().as_str(), "受付1");
    assert_eq!(Note::parse("", "n").unwrap().as_str(), "");
    assert!(Note::parse(&"あ".repeat(100), "n").is_ok());
    assert_eq!(
        violation(Note::parse(&"あ".repeat(101), "device_account.note").unwrap_err()).field,
        "device_account.note"
    );
    assert!(Note::parse("a\u{7}b", "n").is_err());
    // 1234 5678 9018 has a valid My Number check digit.
    assert!(matches!(
        Note::parse("端末 1234 5678 9018", "device_account.note"),
        Err(Error::MyNumberRefused { field }) if field == "device_account.note"
    ));
}

#[test]
fn medical_info_needs_home_visit() {
    assert!(Privilege::General.check_clinic(false).is_ok());
    assert!(Privilege::Administrator.check_clinic(false).is_ok());
    assert!(Privilege::MedicalInfo.check_clinic(true).is_ok());
    assert!(matches!(
        Privilege::MedicalInfo.check_clinic(false),
        Err(Error::Precondition {
            reason: "HOME_VISIT_REQUIRED",
            ..
        })
    ));
}

#[test]
fn privileges_and_statuses_round_trip_through_storage() {
    for p in [
        Privilege::General,
        Privilege::MedicalInfo,
        Privilege::Administrator,
    ] {
        assert_eq!(Privilege::from_stored(p.as_stored()), Some(p));
    }
    for s in [
        AccountStatus::Available,
        AccountStatus::Suspended,
        AccountStatus::Ended,
    ] {
        assert_eq!(AccountStatus::from_stored(s.as_stored()), Some(s));
    }
    assert_eq!(Privilege::from_stored("admin"), None);
    assert_eq!(AccountStatus::from_stored("AVAILABLE"), None);
}

#[tokio::test]
async fn credentials_are_distinct_and_hashes_verify() {
    let creds = new_credentials(2).await.unwrap();
    assert_eq!(creds.len(), 2);
    assert_ne!(*creds[0].password, *creds[1].password);
    for c in &creds {
        assert!(crate::password::check_device(&c.password).is_ok());
        assert!(c.hash.starts_with("$argon2id$"));
        assert!(!c.hash.contains(c.password.as_str()));
        assert!(mynafleet_kit::keys::password::verify(&c.password, &c.hash));
    }
}
