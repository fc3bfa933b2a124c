use super::*;
use DeviceStatus::{Active, Pending, Revoked, Suspended};

fn at(status: DeviceStatus, cause: StatusCause, certified: bool) -> Current {
    Current {
        status,
        cause,
        certified,
    }
}

/// What a table row expects.
#[derive(Debug, PartialEq)]
enum Want {
    To(DeviceStatus),
    Stays,
    Refused(&'static str),
}

fn run(current: Current, action: Action, by: Requester) -> Want {
    match transition(current, action, by) {
        Ok(Some(s)) => Want::To(s),
        Ok(None) => Want::Stays,
        Err(e) => Want::Refused(e.reason()),
    }
}

#[test]
fn operators_suspend_resume_and_revoke() {
    use StatusCause::{Account, Activation, Operator};
    let table = [
        (
            at(Active, Activation, true),
            Action::Suspend,
            Want::To(Suspended),
        ),
        (
            at(Pending, Activation, false),
            Action::Suspend,
            Want::To(Suspended),
        ),
        (at(Suspended, Operator, true), Action::Suspend, Want::Stays),
        (at(Suspended, Account, true), Action::Suspend, Want::Stays),
        (
            at(Revoked, Operator, true),
            Action::Suspend,
            Want::Refused("DEVICE_REVOKED"),
        ),
        (
            at(Suspended, Operator, true),
            Action::Resume,
            Want::To(Active),
        ),
        (
            at(Suspended, Operator, false),
            Action::Resume,
            Want::To(Pending),
        ),
        (
            at(Suspended, Account, true),
            Action::Resume,
            Want::Refused("DEVICE_STATE_CONFLICT"),
        ),
        (at(Active, Activation, true), Action::Resume, Want::Stays),
        (at(Pending, Activation, false), Action::Resume, Want::Stays),
        (
            at(Revoked, Account, true),
            Action::Resume,
            Want::Refused("DEVICE_REVOKED"),
        ),
        (
            at(Active, Activation, true),
            Action::Revoke,
            Want::To(Revoked),
        ),
        (
            at(Pending, Activation, false),
            Action::Revoke,
            Want::To(Revoked),
        ),
        (
            at(Suspended, Account, true),
            Action::Revoke,
            Want::To(Revoked),
        ),
        (at(Revoked, Operator, true), Action::Revoke, Want::Stays),
    ];
    for (current, action, want) in table {
        assert_eq!(
            run(current, action, Requester::Operator),
            want,
            "{action:?} of {current:?}"
        );
    }
}

#[test]
fn the_account_status_cascades_but_never_lifts_an_operator_suspension() {
    use StatusCause::{Account, Activation, Operator};
    let table = [
        (
            at(Active, Activation, true),
            Action::Suspend,
            Want::To(Suspended),
        ),
        (
            at(Pending, Activation, false),
            Action::Suspend,
            Want::To(Suspended),
        ),
        (at(Suspended, Operator, true), Action::Suspend, Want::Stays),
        (at(Revoked, Operator, true), Action::Suspend, Want::Stays),
        (
            at(Suspended, Account, true),
            Action::Resume,
            Want::To(Active),
        ),
        (
            at(Suspended, Account, false),
            Action::Resume,
            Want::To(Pending),
        ),
        (at(Suspended, Operator, true), Action::Resume, Want::Stays),
        (at(Active, Activation, true), Action::Resume, Want::Stays),
        (at(Revoked, Account, true), Action::Resume, Want::Stays),
        (
            at(Active, Activation, true),
            Action::Revoke,
            Want::To(Revoked),
        ),
        (
            at(Suspended, Operator, true),
            Action::Revoke,
            Want::To(Revoked),
        ),
        (
            at(Pending, Activation, false),
            Action::Revoke,
            Want::To(Revoked),
        ),
        (at(Revoked, Operator, true), Action::Revoke, Want::Stays),
    ];
    for (current, action, want) in table {
        assert_eq!(
            run(current, action, Requester::Account),
            want,
            "{action:?} of {current:?}"
        );
    }
}

#[test]
fn a_device_without_a_certificate_is_not_certified() {
    let mut d = crate::device::Device {
        id: "d".into(),
        organization_id: "o".into(),
        clinic_id: "c".into(),
        account_id: "W0000001".into(),
        institution_code: String::new(),
        status: Pending,
        status_cause: StatusCause::Activation,
        status_reason: String::new(),
        status_time: 0,
        key_fingerprint: String::new(),
        code_id: String::new(),
        certificate_serial: String::new(),
        certificate_not_after: None,
        certificate_pem: String::new(),
        create_time: 0,
        first_seen_time: None,
        last_seen_time: None,
        facts: crate::device::DeviceFacts::default(),
    };
    assert!(!Current::of(&d).certified);
    d.certificate_serial = "01ab".into();
    assert!(Current::of(&d).certified);
}
