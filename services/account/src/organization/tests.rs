use super::*;

#[test]
fn display_names_are_trimmed_and_bounded() {
    assert_eq!(
        DisplayName::parse("  さくら医療グループ ", "f")
            .unwrap()
            .as_str(),
        "さくら医療グループ"
    );
    assert!(matches!(
        DisplayName::parse("   ", "f"),
        Err(Error::InvalidFields(_))
    ));
    let long: String = "あ".repeat(101);
    assert!(matches!(
        DisplayName::parse(&long, "f"),
        Err(Error::InvalidFields(_))
    ));
    assert!(DisplayName::parse(&"あ".repeat(100), "f").is_ok());
    assert!(matches!(
        DisplayName::parse("a\u{7}b", "f"),
        Err(Error::InvalidFields(_))
    ));
}

#[test]
fn a_display_name_holding_a_my_number_is_refused() {
    assert!(matches!(
        DisplayName::parse("グループ 1234 5678 9018", "organization.display_name"),
        Err(Error::MyNumberRefused { field }) if field == "organization.display_name"
    ));
}

#[test]
fn page_tokens_round_trip_and_refuse_forgeries() {
    let t = PageToken {
        after: OrganizationId::new(),
    };
    assert_eq!(PageToken::decode(&t.encode()).unwrap(), Some(t));
    assert_eq!(PageToken::decode("").unwrap(), None);
    assert!(matches!(
        PageToken::decode("not-base64!"),
        Err(Error::InvalidPageToken)
    ));
    assert!(matches!(
        PageToken::decode(&mynafleet_kit::page::encode_token("dev", "123")),
        Err(Error::InvalidPageToken)
    ));
}

#[test]
fn names_must_be_organizations_slash_uuid() {
    let id = OrganizationId::new();
    assert_eq!(OrganizationId::parse_name(&id.name(), "name").unwrap(), id);
    for bad in [
        "",
        "organizations/",
        "organizations/42",
        "clinics/0190f0d2-0000-7000-8000-000000000000",
    ] {
        assert!(OrganizationId::parse_name(bad, "name").is_err(), "{bad}");
    }
}

#[test]
fn an_out_of_range_page_size_names_the_field() {
    assert!(matches!(page_size(1001), Err(Error::InvalidFields(v)) if v[0].field == "page_size"));
}
