use super::*;
use mynafleet_kit::status::{FieldViolation, with_reason, with_reason_and_fields};

#[test]
fn failures_name_the_service_that_could_not_be_reached() {
    let down = Failure::of(Status::unavailable(""), Service::Activation);
    assert_eq!(down.to_string(), "the activation service cannot be reached");
    let account = Failure::from(Status::unavailable("connection refused"));
    assert_eq!(
        account.to_string(),
        "the account service cannot be reached: connection refused"
    );
    let missing = Failure::of(Status::unimplemented("not yet"), Service::Activation);
    assert_eq!(
        missing.to_string(),
        "the activation service does not offer this yet"
    );
}

#[test]
fn activation_reasons_carry_their_next_step() {
    let locked = Failure::of(
        with_reason(
            Code::PermissionDenied,
            "mynafleet.activation.v1",
            "ACTIVATION_LOCKED",
            "too many failed activations",
        ),
        Service::Activation,
    );
    let text = locked.to_string();
    assert!(
        text.starts_with("too many failed activations (ACTIVATION_LOCKED)"),
        "{text}"
    );
    assert!(text.contains("codes unlock --account"), "{text}");
    let bad = Failure::of(
        with_reason_and_fields(
            Code::InvalidArgument,
            "mynafleet.activation.v1",
            "CODE_MALFORMED",
            "needs 12 digits, got 11",
            &[FieldViolation::new(
                "activation_code",
                "needs 12 digits, got 11",
            )],
        ),
        Service::Activation,
    );
    assert_eq!(
        bad.to_string(),
        "invalid request (CODE_MALFORMED)\n  activation_code: needs 12 digits, got 11"
    );
}
