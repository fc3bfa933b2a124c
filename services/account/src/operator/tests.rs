use super::*;

#[test]
fn login_ids_are_lower_cased_and_bounded() {
    assert_eq!(
        LoginId::parse("  Yamada.Taro@Sakura ", "f")
            .unwrap()
            .as_str(),
        "yamada.taro@sakura"
    );
    assert!(LoginId::parse("a_b-c", "f").is_ok());
    assert!(LoginId::parse(&"a".repeat(64), "f").is_ok());
    for bad in ["ab", "", "   ", "yamada taro", "山田", "a/b", "a:b", "a+b"] {
        assert!(
            matches!(
                LoginId::parse(bad, "operator.login_id"),
                Err(Error::InvalidFields(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        LoginId::parse(&"a".repeat(65), "f"),
        Err(Error::InvalidFields(_))
    ));
}

fn new_operator(role: Role, clinics: Vec<Uuid>) -> Result<NewOperator> {
    NewOperator::new(
        OrganizationId::new(),
        LoginId::parse("yamada", "f").unwrap(),
        DisplayName::parse("山田 太郎", "f").unwrap(),
        role,
        clinics,
        "operator.clinics",
    )
}

#[test]
fn a_clinic_admin_needs_clinics_and_others_list_none() {
    let c = Uuid::now_v7();
    assert!(matches!(
        new_operator(Role::ClinicAdmin, vec![]),
        Err(Error::InvalidFields(_))
    ));
    assert_eq!(
        new_operator(Role::ClinicAdmin, vec![c, c]).unwrap().clinics,
        vec![c]
    );
    for role in [Role::OrgAdmin, Role::Auditor, Role::Viewer] {
        assert!(new_operator(role, vec![]).is_ok());
        assert!(matches!(
            new_operator(role, vec![c]),
            Err(Error::InvalidFields(_))
        ));
    }
}

#[test]
fn page_tokens_round_trip_and_refuse_other_lists() {
    let t = OperatorPageToken {
        after: Uuid::now_v7(),
    };
    assert_eq!(OperatorPageToken::decode(&t.encode()).unwrap(), Some(t));
    assert_eq!(OperatorPageToken::decode("").unwrap(), None);
    let org_token = crate::organization::PageToken {
        after: OrganizationId::new(),
    }
    .encode();
    assert!(matches!(
        OperatorPageToken::decode(&org_token),
        Err(Error::InvalidPageToken)
    ));
}
