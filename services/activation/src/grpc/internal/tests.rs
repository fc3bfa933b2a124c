use super::*;
use crate::device::{DeviceStatus, StatusCause};

#[test]
fn resume_tokens_round_trip_and_foreign_ones_are_refused() {
    assert_eq!(parse_resume_token("").unwrap(), None);
    assert_eq!(parse_resume_token(&resume_token(0)).unwrap(), Some(0));
    assert_eq!(parse_resume_token(&resume_token(42)).unwrap(), Some(42));
    let account_token = mynafleet_kit::page::encode_token("account_events", "42");
    let negative = mynafleet_kit::page::encode_token(RESUME_TAG, "-1");
    let garbage = mynafleet_kit::page::encode_token(RESUME_TAG, "x");
    for bad in [account_token.as_str(), &negative, &garbage, "%%%"] {
        assert!(
            matches!(parse_resume_token(bad), Err(Error::ResumeTokenInvalid)),
            "{bad}"
        );
    }
}

#[test]
fn a_logged_change_names_device_and_account() {
    let e = StatusEvent {
        seq: 7,
        device_id: "d".to_owned(),
        organization_id: "o".to_owned(),
        clinic_id: "c".to_owned(),
        account_id: "W0000001".to_owned(),
        status: DeviceStatus::Revoked,
        cause: StatusCause::Account,
        time: 2_500_000,
    };
    let w = change_to_pb(&e);
    assert_eq!(w.device, "organizations/o/clinics/c/devices/d");
    assert_eq!(w.account, "organizations/o/clinics/c/accounts/W0000001");
    assert_eq!(w.status, pb::DeviceStatus::Revoked as i32);
    assert_eq!(w.cause, pb::StatusCause::Account as i32);
    assert_eq!(w.time.map(|t| (t.seconds, t.nanos)), Some((2, 500_000_000)));
}
