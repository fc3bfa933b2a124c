use super::*;
use mynafleet_proto::prost_types::Timestamp;

#[test]
fn list_parents_are_told_apart() {
    assert_eq!(parent_of(None), Parent::Organization);
    assert_eq!(parent_of(Some(" ")), Parent::Organization);
    assert_eq!(
        parent_of(Some("organizations/o/clinics/c")),
        Parent::Name("organizations/o/clinics/c")
    );
    assert_eq!(parent_of(Some("W0000012")), Parent::Account("W0000012"));
    assert_eq!(parent_of(Some("w0000012")), Parent::Account("w0000012"));
    assert_eq!(parent_of(Some("1312345675")), Parent::Clinic("1312345675"));
    assert_eq!(parent_of(Some("W12")), Parent::Clinic("W12"));
}

#[test]
fn endpoints_on_sheets_have_no_scheme() {
    assert_eq!(without_scheme("https://localhost:7502"), "localhost:7502");
    assert_eq!(
        without_scheme("https://a.example.jp:7502/"),
        "a.example.jp:7502"
    );
    assert_eq!(without_scheme("localhost:7502"), "localhost:7502");
}

#[test]
fn rows_show_state_lock_and_short_ids_in_japanese() {
    let code = pb::ActivationCode {
        name: "organizations/o/clinics/c/accounts/W0000001/activationCodes/abc".into(),
        account: "organizations/o/clinics/c/accounts/W0000001".into(),
        state: pb::ActivationCodeState::Used.into(),
        failed_attempts: 2,
        device: "organizations/o/clinics/c/devices/d1".into(),
        // 2026-04-01 00:00 UTC = 09:00 in Japan.
        account_locked_until: Some(Timestamp {
            seconds: 1_775_001_600,
            nanos: 0,
        }),
        ..Default::default()
    };
    let r = row(&code);
    assert_eq!(r[0], "W0000001");
    assert_eq!(r[1], "使用済");
    assert_eq!(r[5], "2");
    assert_eq!(r[6], "d1");
    assert_eq!(r[7], "2026-04-01 09:00:00まで");
    assert_eq!(r[8], "abc");
    let unlocked = pb::ActivationCode {
        state: pb::ActivationCodeState::Expired.into(),
        ..Default::default()
    };
    assert_eq!(row(&unlocked)[1], "期限切れ");
    assert_eq!(row(&unlocked)[7], "");
}

#[test]
fn json_shows_the_code_only_when_the_response_carried_it() {
    let mut code = pb::ActivationCode {
        state: pb::ActivationCodeState::Unused.into(),
        ..Default::default()
    };
    let listed = serde_json::to_value(CodeView::from(&code)).unwrap();
    assert!(listed.get("code").is_none());
    assert_eq!(listed["state"], "unused");
    code.code = "1234-5678-9012".into();
    let issued = serde_json::to_value(CodeView::from(&code)).unwrap();
    assert_eq!(issued["code"], "1234-5678-9012");
}
