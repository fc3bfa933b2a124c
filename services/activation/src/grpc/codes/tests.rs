use super::*;
use crate::store::codes::CodeState;

const ORG: &str = "0190a000-0000-7000-8000-000000000001";
const CLINIC: &str = "0190a000-0000-7000-8000-000000000002";
const CODE: &str = "0190a000-0000-7000-8000-000000000003";

fn stored(state: CodeState) -> StoredCode {
    StoredCode {
        id: CODE.to_owned(),
        organization_id: ORG.to_owned(),
        clinic_id: CLINIC.to_owned(),
        account_id: "W0000001".to_owned(),
        code_hash: "$argon2id$secret-hash".to_owned(),
        state,
        issued_by: "services/account".to_owned(),
        create_time: 1_000_000,
        expire_time: 2_000_000,
        use_time: None,
        revoke_time: None,
        device_id: None,
        key_fingerprint: None,
        last_attempt_time: Some(1_500_000),
        failed_attempts: 3,
    }
}

#[test]
fn account_names_parse_into_canonical_ids() {
    let upper = format!(
        "organizations/{}/clinics/{CLINIC}/accounts/W0000001",
        ORG.to_uppercase()
    );
    let a = AccountRef::parse(&upper, "account").unwrap();
    assert_eq!(a.organization, ORG);
    assert_eq!(
        a.name(),
        format!("organizations/{ORG}/clinics/{CLINIC}/accounts/W0000001")
    );
    assert_eq!(
        a.clinic_name(),
        format!("organizations/{ORG}/clinics/{CLINIC}")
    );
    for bad in [
        "",
        "organizations/x/clinics/y/accounts/W0000001",
        &format!("organizations/{ORG}/clinics/{CLINIC}/accounts/"),
        &format!("organizations/{ORG}/clinics/{CLINIC}/accounts/W 01"),
        &format!("organizations/{ORG}/clinics/{CLINIC}/devices/W0000001"),
    ] {
        assert!(
            matches!(
                AccountRef::parse(bad, "account"),
                Err(Error::InvalidFields(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn listing_parents_are_an_organization_a_clinic_or_an_account() {
    assert_eq!(
        Parent::parse(&format!("organizations/{ORG}")).unwrap(),
        Parent::Organization(ORG.to_owned())
    );
    assert_eq!(
        Parent::parse(&format!("organizations/{ORG}/clinics/{CLINIC}")).unwrap(),
        Parent::Clinic(ORG.to_owned(), CLINIC.to_owned())
    );
    assert!(matches!(
        Parent::parse(&format!(
            "organizations/{ORG}/clinics/{CLINIC}/accounts/W0000001"
        )),
        Ok(Parent::Account(_))
    ));
    for bad in ["", "organizations", &format!("organizations/{ORG}/devices")] {
        assert!(Parent::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn code_names_round_trip() {
    let c = stored(CodeState::Live);
    let (account, id) = parse_code_name(&c.name()).unwrap();
    assert_eq!(account.name(), c.account_name());
    assert_eq!(id, CODE);
    assert!(parse_code_name(&c.account_name()).is_err());
    assert!(parse_code_name(&format!("{}/activationCodes/x", c.account_name())).is_err());
}

#[test]
fn codes_reach_the_wire_with_their_state_and_never_their_hash() {
    let live = code_to_pb(&stored(CodeState::Live), 1_500_000, Some(9_000_000));
    assert_eq!(live.state, pb::ActivationCodeState::Unused as i32);
    assert_eq!(live.failed_attempts, 3);
    assert!(live.account_locked_until.is_some());
    assert!(live.code.is_empty() && live.device.is_empty());
    assert!(!format!("{live:?}").contains("secret-hash"));
    let expired = code_to_pb(&stored(CodeState::Live), 2_000_000, None);
    assert_eq!(expired.state, pb::ActivationCodeState::Expired as i32);
    let mut used = stored(CodeState::Used);
    used.device_id = Some("dev-1".to_owned());
    let used = code_to_pb(&used, 1_500_000, None);
    assert_eq!(used.state, pb::ActivationCodeState::Used as i32);
    assert_eq!(
        used.device,
        format!("organizations/{ORG}/clinics/{CLINIC}/devices/dev-1")
    );
    let revoked = code_to_pb(&stored(CodeState::Revoked), 1_500_000, None);
    assert_eq!(revoked.state, pb::ActivationCodeState::Revoked as i32);
}
