//! Activation codes on sheets: their shape, who gets one, which sheets lack theirs.

use super::*;
use crate::device_account::{AccountId, AccountName, AccountStatus, Note};
use crate::names::ClinicName;
use crate::organization::OrganizationId;

fn account(n: u32, privilege: Privilege) -> DeviceAccount {
    DeviceAccount {
        name: AccountName {
            clinic: ClinicName {
                organization: OrganizationId::from_stored("0190a000-0000-7000-8000-000000000001")
                    .unwrap(),
                clinic: uuid::Uuid::parse_str("0190a000-0000-7000-8000-000000000002").unwrap(),
            },
            id: AccountId::from_counter(i64::from(n)).unwrap(),
        },
        privilege,
        status: AccountStatus::Available,
        start_date: "2026-04-01".into(),
        suspend_date: None,
        end_date: None,
        note: Note::default(),
        must_change_password: true,
        locked: false,
        institution_code: "1310112345".into(),
        revision: 1,
        create_time: 1,
        update_time: 1,
    }
}

#[test]
fn codes_show_in_groups_of_four_whatever_the_spelling() {
    for raw in ["123456789012", "1234-5678-9012", "1234 5678 9012"] {
        assert_eq!(
            display_code(raw).as_deref().map(String::as_str),
            Some("1234-5678-9012"),
            "{raw}"
        );
    }
    for bad in [
        "",
        "12345678901",
        "1234567890123",
        "1234-5678-901a",
        "１２３４５６７８９０１２",
    ] {
        assert!(display_code(bad).is_none(), "{bad}");
    }
}

#[test]
fn malformed_codes_are_not_kept_and_debug_never_shows_a_code() {
    let mut codes = IssuedCodes::default();
    assert!(codes.insert("a".into(), "123456789012"));
    assert!(!codes.insert("b".into(), "12345"));
    assert_eq!(codes.len(), 1);
    assert_eq!(codes.get("a"), Some("1234-5678-9012"));
    assert_eq!(codes.get("b"), None);
    let shown = format!("{codes:?}");
    assert!(shown.contains("\"a\""));
    assert!(!shown.contains("1234"), "{shown}");
}

#[test]
fn administrator_accounts_never_miss_a_code_the_others_do_until_issued() {
    let accounts = [
        account(1, Privilege::General),
        account(2, Privilege::Administrator),
        account(3, Privilege::MedicalInfo),
    ];
    let names: Vec<String> = accounts.iter().map(|a| a.name.name()).collect();
    assert_eq!(
        missing_codes(&accounts, None),
        vec![names[0].clone(), names[2].clone()]
    );
    let mut codes = IssuedCodes::default();
    codes.insert(names[0].clone(), "111122223333");
    assert_eq!(
        missing_codes(&accounts, Some(&codes)),
        vec![names[2].clone()]
    );
    codes.insert(names[2].clone(), "444455556666");
    assert!(missing_codes(&accounts, Some(&codes)).is_empty());
}

#[test]
fn a_sheet_carries_its_code_but_the_replay_copy_neither_code_nor_password() {
    let a = account(1, Privilege::General);
    let clinic = Clinic {
        name: a.name.clinic,
        kind: crate::clinic::ClinicKind::Medical,
        institution_code: None,
        registration_number: None,
        display_name: crate::organization::DisplayName::parse("さくら内科", "f").unwrap(),
        prefecture: 13,
        home_visit_enabled: false,
        operation_start_date: None,
        bank_account_registered: false,
        warnings: Vec::new(),
        revision: 1,
        create_time: 1,
        update_time: 1,
    };
    let mut codes = IssuedCodes::default();
    codes.insert(a.name.name(), "111122223333");
    let sheet = Sheet::new(
        &clinic,
        &a,
        Zeroizing::new("Secret#Pass123".into()),
        &SheetSettings::default(),
        1,
    )
    .with_code(&codes);
    assert_eq!(sheet.activation_code.as_str(), "1111-2222-3333");
    let replay = sheet.without_password();
    assert!(replay.activation_code.is_empty());
    assert!(replay.password.is_empty());
    assert_eq!(replay.account_id, "W0000001");
    let shown = format!("{sheet:?}");
    assert!(
        !shown.contains("1111") && !shown.contains("Secret"),
        "{shown}"
    );
}
