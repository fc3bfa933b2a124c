use super::*;
use mynafleet_kit::status::reason_of;
use tonic::{Code, Status};

const ACCOUNT: &str = "organizations/o/clinics/c/accounts/W0000001";

fn registered(account: &str, status: DeviceStatus) -> Known {
    Known::Registered {
        account: account.to_owned(),
        status,
    }
}

fn refusal(known: &Known) -> Option<(Code, String, String)> {
    admit(ACCOUNT, known).err().map(|e| {
        let s = Status::from(e);
        let domain = tonic_types::StatusExt::get_details_error_info(&s)
            .map(|i| i.domain)
            .unwrap_or_default();
        (s.code(), reason_of(&s).unwrap_or_default(), domain)
    })
}

#[test]
fn only_an_active_device_of_the_certificates_account_gets_through() {
    let denied = |reason: &str| {
        Some((
            Code::PermissionDenied,
            reason.to_owned(),
            "mynafleet.agent.v1".to_owned(),
        ))
    };
    let rows = [
        (registered(ACCOUNT, DeviceStatus::Active), None),
        (
            registered(ACCOUNT, DeviceStatus::Suspended),
            denied("DEVICE_SUSPENDED"),
        ),
        (
            registered(ACCOUNT, DeviceStatus::Revoked),
            denied("DEVICE_REVOKED"),
        ),
        (
            registered(ACCOUNT, DeviceStatus::Pending),
            denied("DEVICE_PENDING"),
        ),
        (Known::NotFound, denied("DEVICE_NOT_FOUND")),
        (
            registered(
                "organizations/o/clinics/c/accounts/W0000002",
                DeviceStatus::Active,
            ),
            denied("DEVICE_ACCOUNT_MISMATCH"),
        ),
    ];
    for (known, expect) in rows {
        assert_eq!(refusal(&known), expect, "{known:?}");
    }
}

#[test]
fn an_unreachable_activation_is_unavailable_without_its_text() {
    let s = Status::from(Error::StatusUnavailable(Status::unimplemented(
        "secret upstream detail",
    )));
    assert_eq!(s.code(), Code::Unavailable);
    assert_eq!(reason_of(&s).as_deref(), Some("DEVICE_STATUS_UNAVAILABLE"));
    assert!(!s.message().contains("secret"), "{s:?}");
}

#[test]
fn names_follow_the_certificate() {
    let id = DeviceIdentity {
        organization: "o".to_owned(),
        clinic: "c".to_owned(),
        account: "W0000001".to_owned(),
        device: "d".to_owned(),
    };
    assert_eq!(device_name(&id), "organizations/o/clinics/c/devices/d");
    assert_eq!(account_name(&id), ACCOUNT);
}

#[test]
fn only_pending_and_unknown_answers_are_rechecked_at_activation() {
    assert!(lags_behind_activation(&Known::NotFound));
    assert!(lags_behind_activation(&registered(
        ACCOUNT,
        DeviceStatus::Pending
    )));
    for settled in [
        DeviceStatus::Active,
        DeviceStatus::Suspended,
        DeviceStatus::Revoked,
    ] {
        assert!(!lags_behind_activation(&registered(ACCOUNT, settled)));
    }
}
