use super::*;
use crate::organization::OrganizationId;
use mynafleet_kit::status::FieldViolation;

fn violation(e: Error) -> FieldViolation {
    match e {
        Error::InvalidFields(mut v) if v.len() == 1 => v.remove(0),
        other => panic!("expected one field violation, got {other:?}"),
    }
}

fn clinic() -> ClinicName {
    ClinicName {
        organization: OrganizationId::new(),
        clinic: Uuid::now_v7(),
    }
}

fn key() -> SecretKey {
    SecretKey::generate().unwrap()
}

fn account(c: ClinicName, n: u32) -> String {
    format!("{}/accounts/W{n:07}", c.name())
}

#[test]
fn a_start_keeps_only_the_keyed_hash_of_the_bank_digits() {
    let c = clinic();
    let k = key();
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Start),
        staff_count: 12,
        device_count: 3,
        bank_account_last4: "１２３４",
        ..Default::default()
    };
    let app = NewApplication::parse(c, &input, &k).unwrap();
    let ApplicationBody::Start {
        staff_count,
        device_count,
        bank,
        privilege,
    } = &app.body
    else {
        panic!("not a start: {app:?}");
    };
    assert_eq!((*staff_count, *device_count), (12, 3));
    assert_eq!(*privilege, Privilege::General);
    assert!(!bank.hash.contains("1234"));
    // The same digits hash alike for the clinic's own registration, ASCII or full-width.
    let same = BankDigits::parse("1234", "f")
        .unwrap()
        .keyed_hash(&k, c.organization);
    assert!(bank.matches(&same.hash));
    let other_org = BankDigits::parse("1234", "f")
        .unwrap()
        .keyed_hash(&k, OrganizationId::new());
    assert!(!bank.matches(&other_org.hash));
}

#[test]
fn counts_out_of_range_name_their_field() {
    let c = clinic();
    for (kind, staff, devices, field) in [
        (ApplicationKind::Start, 0, 1, "application.staff_count"),
        (ApplicationKind::Start, 10_000, 1, "application.staff_count"),
        (ApplicationKind::Start, 1, 0, "application.device_count"),
        (ApplicationKind::Start, 1, 101, "application.device_count"),
        (ApplicationKind::Addition, 0, 0, "application.device_count"),
        (
            ApplicationKind::Addition,
            0,
            101,
            "application.device_count",
        ),
        (ApplicationKind::Addition, 5, 1, "application.staff_count"),
    ] {
        let input = ApplicationInput {
            kind: Some(kind),
            staff_count: staff,
            device_count: devices,
            bank_account_last4: if kind == ApplicationKind::Start {
                "1234"
            } else {
                ""
            },
            ..Default::default()
        };
        let v = violation(NewApplication::parse(c, &input, &key()).unwrap_err());
        assert_eq!(v.field, field, "{kind:?} {staff} {devices}");
    }
    let no_kind = ApplicationInput::default();
    assert_eq!(
        violation(NewApplication::parse(c, &no_kind, &key()).unwrap_err()).field,
        "application.kind"
    );
}

#[test]
fn bank_digits_must_be_exactly_four() {
    for bad in ["123", "12345", "12a4", ""] {
        let input = ApplicationInput {
            kind: Some(ApplicationKind::Start),
            staff_count: 1,
            device_count: 1,
            bank_account_last4: bad,
            ..Default::default()
        };
        let v = violation(NewApplication::parse(clinic(), &input, &key()).unwrap_err());
        assert_eq!(v.field, "application.bank_account_last4", "{bad:?}");
    }
}

#[test]
fn a_release_names_accounts_of_its_own_clinic() {
    let c = clinic();
    let accounts = vec![account(c, 3), account(c, 1), account(c, 3)];
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        accounts: &accounts,
        ..Default::default()
    };
    let app = NewApplication::parse(c, &input, &key()).unwrap();
    assert_eq!(
        app.body,
        ApplicationBody::Release {
            accounts: vec![
                AccountId::parse("W0000001", "a").unwrap(),
                AccountId::parse("W0000003", "a").unwrap()
            ]
        }
    );

    let elsewhere = vec![account(c, 1), account(clinic(), 2)];
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        accounts: &elsewhere,
        ..Default::default()
    };
    let v = violation(NewApplication::parse(c, &input, &key()).unwrap_err());
    assert_eq!(v.field, "application.accounts[1]");

    let bad = vec![format!("{}/accounts/X1", c.name())];
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        accounts: &bad,
        ..Default::default()
    };
    assert_eq!(
        violation(NewApplication::parse(c, &input, &key()).unwrap_err()).field,
        "application.accounts[0]"
    );

    let none: Vec<String> = vec![];
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        accounts: &none,
        ..Default::default()
    };
    assert_eq!(
        violation(NewApplication::parse(c, &input, &key()).unwrap_err()).field,
        "application.accounts"
    );

    let too_many: Vec<String> = (1..=101).map(|n| account(c, n)).collect();
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        accounts: &too_many,
        ..Default::default()
    };
    assert_eq!(
        violation(NewApplication::parse(c, &input, &key()).unwrap_err()).field,
        "application.accounts"
    );
}

#[test]
fn fields_of_another_kind_are_refused() {
    let c = clinic();
    let accounts = vec![account(c, 1)];
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        device_count: 2,
        accounts: &accounts,
        ..Default::default()
    };
    assert_eq!(
        violation(NewApplication::parse(c, &input, &key()).unwrap_err()).field,
        "application.device_count"
    );
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Addition),
        device_count: 2,
        bank_account_last4: "1234",
        ..Default::default()
    };
    assert_eq!(
        violation(NewApplication::parse(c, &input, &key()).unwrap_err()).field,
        "application.bank_account_last4"
    );
}

#[test]
fn application_names_round_trip() {
    let c = clinic();
    let name = ApplicationName {
        clinic: c,
        id: Uuid::now_v7(),
    };
    assert_eq!(ApplicationName::parse(&name.name(), "name").unwrap(), name);
    assert_eq!(
        violation(
            ApplicationName::parse(&format!("{}/applications/nope", c.name()), "name").unwrap_err()
        )
        .field,
        "name"
    );
}

#[test]
fn reject_reasons_are_bounded() {
    assert_eq!(
        RejectReason::parse(" 口座番号が一致しません ", "reason")
            .unwrap()
            .as_str(),
        "口座番号が一致しません"
    );
    assert!(RejectReason::parse("一行目\n二行目", "reason").is_ok());
    assert!(RejectReason::parse(&"a".repeat(500), "reason").is_ok());
    for bad in ["", "   ", &"a".repeat(501)] {
        assert_eq!(
            violation(RejectReason::parse(bad, "reason").unwrap_err()).field,
            "reason"
        );
    }
    assert!(matches!(
        RejectReason::parse("番号 123456789018", "reason"),
        Err(Error::MyNumberRefused { .. })
    ));
}

#[test]
fn kinds_and_statuses_round_trip_through_storage() {
    for k in [
        ApplicationKind::Start,
        ApplicationKind::Addition,
        ApplicationKind::Release,
    ] {
        assert_eq!(ApplicationKind::from_stored(k.as_stored()), Some(k));
    }
    for s in [
        ApplicationStatus::Submitted,
        ApplicationStatus::Approved,
        ApplicationStatus::Completed,
        ApplicationStatus::Rejected,
    ] {
        assert_eq!(ApplicationStatus::from_stored(s.as_stored()), Some(s));
    }
}
