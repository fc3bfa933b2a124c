//! The proxy's one error type and the only place that turns errors into gRPC status codes.
//! Activation's own error text never reaches a device: it is logged here and replaced.

use crate::challenge::ChallengeError;
use crate::scope::ScopeError;
use crate::upstream::UpstreamError;
use crate::verify::CardError;
use mynafleet_kit::status::{
    COMMON_DOMAIN, FieldViolation, invalid_argument, with_reason, with_reason_and_fields,
};
use tonic::{Code, Status};

/// `ErrorInfo.domain` of the agent API's reasons.
pub(crate) const AGENT_DOMAIN: &str = "mynafleet.agent.v1";
/// `ErrorInfo.domain` of the eligibility API's reasons.
pub(crate) const ELIGIBILITY_DOMAIN: &str = "mynafleet.eligibility.v1";

/// What went wrong while serving a call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The caller is not a device (the access table should have refused it already).
    #[error("only devices may call this method")]
    NotADevice,
    /// Activation could not tell the device's status in time, and no fresh entry exists.
    #[error("device status unavailable: {0}")]
    StatusUnavailable(#[source] tonic::Status),
    /// The device is suspended.
    #[error("device suspended")]
    DeviceSuspended,
    /// The device is revoked for good.
    #[error("device revoked")]
    DeviceRevoked,
    /// The device has no certificate yet.
    #[error("device pending")]
    DevicePending,
    /// Activation has no record of the certificate's device.
    #[error("device not registered")]
    DeviceNotFound,
    /// The certificate names another account than the device's record.
    #[error("device registered to another account")]
    AccountMismatch,
    /// The proxy is shutting down.
    #[error("proxy shutting down")]
    ShuttingDown,
    /// Fields failed validation.
    #[error("invalid fields")]
    Fields(Vec<FieldViolation>),
    /// A field holds a 12-digit value with a valid My Number check digit.
    #[error("field {0} holds a My Number")]
    MyNumber(String),
    /// A 照会番号 is empty or too long.
    #[error("{0}")]
    ReferenceNumber(String),
    /// The challenge id was refused.
    #[error(transparent)]
    Challenge(ChallengeError),
    /// The challenge was used before.
    #[error("challenge already used")]
    ChallengeReplayed,
    /// The card or its certificate was refused.
    #[error(transparent)]
    Card(CardError),
    /// VISUAL without the attesting staff member.
    #[error("visual check without attesting staff")]
    StaffRequired,
    /// VISUAL with a signature.
    #[error("visual check with a signature")]
    SignatureNotExpected,
    /// The account's scope could not be had.
    #[error(transparent)]
    Scope(ScopeError),
    /// The device account is not 利用可.
    #[error("device account not available")]
    AccountNotAvailable,
    /// The upstream failed.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// The proxy's database failed (the audit record could not be written: fail closed).
    #[error("store: {0}")]
    Store(String),
    /// The first message of an event stream was not a hello.
    #[error("event stream opened without a hello")]
    StreamHelloRequired,
    /// An event (or message) of an event stream is malformed; the stream ends.
    #[error("malformed event: {0}")]
    EventMalformed(String),
    /// Events could not be written durably; the agent keeps and resends them.
    #[error("event store unavailable: {0}")]
    EventStoreUnavailable(String),
}

impl Error {
    /// A single field violation.
    pub(crate) fn field(field: &str, description: &str) -> Self {
        Error::Fields(vec![FieldViolation::new(field, description)])
    }

    /// The ErrorInfo reason the device sees (also the audit record's reason).
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Error::NotADevice => "CALLER_KIND_REFUSED",
            Error::StatusUnavailable(_) => "DEVICE_STATUS_UNAVAILABLE",
            Error::DeviceSuspended => "DEVICE_SUSPENDED",
            Error::DeviceRevoked => "DEVICE_REVOKED",
            Error::DevicePending => "DEVICE_PENDING",
            Error::DeviceNotFound => "DEVICE_NOT_FOUND",
            Error::AccountMismatch => "DEVICE_ACCOUNT_MISMATCH",
            Error::ShuttingDown => "PROXY_SHUTTING_DOWN",
            Error::Fields(_) => "INVALID_FIELD",
            Error::MyNumber(_) => "MY_NUMBER_REFUSED",
            Error::ReferenceNumber(_) => "REFERENCE_NUMBER_INVALID",
            Error::Challenge(ChallengeError::Unknown) => "CHALLENGE_UNKNOWN",
            Error::Challenge(ChallengeError::Expired) => "CHALLENGE_EXPIRED",
            Error::Challenge(ChallengeError::OtherDevice) => "CHALLENGE_DEVICE_MISMATCH",
            Error::ChallengeReplayed => "CHALLENGE_REPLAYED",
            Error::Card(CardError::Malformed(_)) => "CERTIFICATE_MALFORMED",
            Error::Card(CardError::Untrusted) => "CERTIFICATE_UNTRUSTED",
            Error::Card(CardError::TestRootRefused) => "CERTIFICATE_TEST_ROOT_REFUSED",
            Error::Card(CardError::OutsideValidity(_)) => "CERTIFICATE_EXPIRED",
            Error::Card(CardError::BadSignature) => "SIGNATURE_INVALID",
            Error::StaffRequired => "STAFF_ATTESTATION_REQUIRED",
            Error::SignatureNotExpected => "SIGNATURE_NOT_EXPECTED",
            Error::Scope(ScopeError::Unavailable(_)) => "ACCOUNT_SCOPE_UNAVAILABLE",
            Error::Scope(ScopeError::NotFound) | Error::AccountNotAvailable => {
                "ACCOUNT_NOT_AVAILABLE"
            }
            Error::Upstream(UpstreamError::NotCapable { .. }) => "UPSTREAM_NOT_CAPABLE",
            Error::Upstream(UpstreamError::Unavailable(_)) => "UPSTREAM_UNAVAILABLE",
            Error::Upstream(UpstreamError::Timeout(_)) => "UPSTREAM_TIMEOUT",
            Error::Upstream(UpstreamError::CircuitOpen { .. }) => "UPSTREAM_CIRCUIT_OPEN",
            Error::Upstream(UpstreamError::Rejected(_)) => "UPSTREAM_REQUEST_REJECTED",
            Error::Upstream(UpstreamError::Invalid(_)) => "UPSTREAM_ANSWER_INVALID",
            Error::Store(_) => "INTERNAL",
            Error::StreamHelloRequired => "STREAM_HELLO_REQUIRED",
            Error::EventMalformed(_) => "EVENT_MALFORMED",
            Error::EventStoreUnavailable(_) => "EVENT_STORE_UNAVAILABLE",
        }
    }

    /// Whether the refusal is access control (audited as denied) rather than a failure.
    pub(crate) fn is_denial(&self) -> bool {
        matches!(
            self,
            Error::Challenge(_)
                | Error::ChallengeReplayed
                | Error::Card(_)
                | Error::AccountNotAvailable
                | Error::Scope(ScopeError::NotFound)
                | Error::DeviceSuspended
                | Error::DeviceRevoked
                | Error::DevicePending
                | Error::DeviceNotFound
                | Error::AccountMismatch
        )
    }
}

/// The proxy's result type.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let agent = |code, reason, message: &str| with_reason(code, AGENT_DOMAIN, reason, message);
        match e {
            Error::NotADevice => with_reason(
                Code::PermissionDenied,
                COMMON_DOMAIN,
                "CALLER_KIND_REFUSED",
                "only devices may call this method",
            ),
            Error::StatusUnavailable(cause) => {
                tracing::warn!(code = ?cause.code(), error = %cause.message(), "device status unavailable");
                agent(
                    Code::Unavailable,
                    "DEVICE_STATUS_UNAVAILABLE",
                    "the device's status could not be confirmed with activation; try again",
                )
            }
            Error::DeviceSuspended => agent(
                Code::PermissionDenied,
                "DEVICE_SUSPENDED",
                "this device is suspended; ask an operator to resume it",
            ),
            Error::DeviceRevoked => agent(
                Code::PermissionDenied,
                "DEVICE_REVOKED",
                "this device is revoked; activate it again with a new code",
            ),
            Error::DevicePending => agent(
                Code::PermissionDenied,
                "DEVICE_PENDING",
                "this device has no certificate yet; finish its activation",
            ),
            Error::DeviceNotFound => agent(
                Code::PermissionDenied,
                "DEVICE_NOT_FOUND",
                "activation has no record of this device; activate it again with a new code",
            ),
            Error::AccountMismatch => agent(
                Code::PermissionDenied,
                "DEVICE_ACCOUNT_MISMATCH",
                "this device is registered to another account than its certificate names",
            ),
            Error::ShuttingDown => agent(
                Code::Unavailable,
                "PROXY_SHUTTING_DOWN",
                "the proxy is shutting down; reconnect",
            ),
            Error::StreamHelloRequired => agent(
                Code::InvalidArgument,
                "STREAM_HELLO_REQUIRED",
                "the first message of the event stream must be a hello",
            ),
            Error::EventMalformed(what) => agent(
                Code::InvalidArgument,
                "EVENT_MALFORMED",
                &format!("{what}; the stream ends and nothing after it is stored"),
            ),
            Error::EventStoreUnavailable(cause) => {
                tracing::warn!(error = %cause, "agent events not stored; the agent resends them");
                agent(
                    Code::Unavailable,
                    "EVENT_STORE_UNAVAILABLE",
                    "the proxy could not store events durably; send them again",
                )
            }
            e @ (Error::Fields(_)
            | Error::MyNumber(_)
            | Error::ReferenceNumber(_)
            | Error::Challenge(_)
            | Error::ChallengeReplayed
            | Error::Card(_)
            | Error::StaffRequired
            | Error::SignatureNotExpected
            | Error::Scope(_)
            | Error::AccountNotAvailable
            | Error::Upstream(_)
            | Error::Store(_)) => eligibility_status(e),
        }
    }
}

/// The status of an eligibility error.
fn eligibility_status(e: Error) -> Status {
    let reason = e.reason();
    let el = |code, message: &str| with_reason(code, ELIGIBILITY_DOMAIN, reason, message);
    match e {
        Error::Fields(violations) => invalid_argument(COMMON_DOMAIN, reason, &violations),
        Error::MyNumber(field) => with_reason_and_fields(
            Code::InvalidArgument,
            COMMON_DOMAIN,
            reason,
            "this looks like a 12-digit My Number, which MynaFleet never accepts; \
             if it is another number that happens to pass the My Number check, it cannot be \
             used here",
            &[FieldViolation::new(field, "holds a My Number")],
        ),
        Error::ReferenceNumber(message) => with_reason_and_fields(
            Code::InvalidArgument,
            ELIGIBILITY_DOMAIN,
            reason,
            &message,
            &[FieldViolation::new("reference_number", message.clone())],
        ),
        Error::Challenge(ChallengeError::Unknown) => el(
            Code::InvalidArgument,
            "this challenge was not issued here; begin a new check",
        ),
        Error::Challenge(ChallengeError::Expired) => el(
            Code::FailedPrecondition,
            "the challenge expired; begin a new check",
        ),
        Error::Challenge(ChallengeError::OtherDevice) => el(
            Code::PermissionDenied,
            "the challenge was issued to another terminal; begin a new check",
        ),
        Error::ChallengeReplayed => el(
            Code::FailedPrecondition,
            "the challenge was already used; begin a new check",
        ),
        Error::Card(card) => {
            let code = match card {
                CardError::Malformed(_) => Code::InvalidArgument,
                CardError::Untrusted | CardError::TestRootRefused | CardError::BadSignature => {
                    Code::PermissionDenied
                }
                CardError::OutsideValidity(_) => Code::FailedPrecondition,
            };
            el(code, &card.to_string())
        }
        Error::StaffRequired => with_reason_and_fields(
            Code::InvalidArgument,
            ELIGIBILITY_DOMAIN,
            reason,
            "目視確認 needs the staff member who compared the photo",
            &[FieldViolation::new(
                "attesting_staff",
                "required for VISUAL",
            )],
        ),
        Error::SignatureNotExpected => with_reason_and_fields(
            Code::InvalidArgument,
            ELIGIBILITY_DOMAIN,
            reason,
            "a VISUAL check carries no signature",
            &[FieldViolation::new("signature", "must be empty for VISUAL")],
        ),
        Error::Scope(ScopeError::Unavailable(cause)) => {
            tracing::warn!(error = %cause, "account scope unavailable");
            el(
                Code::Unavailable,
                "the account service could not be asked for this account's scope; try again",
            )
        }
        Error::Scope(ScopeError::NotFound) | Error::AccountNotAvailable => el(
            Code::PermissionDenied,
            "this device account is not 利用可 (suspended or ended)",
        ),
        Error::Upstream(up) => {
            let code = match &up {
                UpstreamError::NotCapable { .. }
                | UpstreamError::Rejected(_)
                | UpstreamError::Invalid(_) => Code::FailedPrecondition,
                UpstreamError::Unavailable(_)
                | UpstreamError::Timeout(_)
                | UpstreamError::CircuitOpen { .. } => Code::Unavailable,
            };
            match up {
                UpstreamError::CircuitOpen { retry_after } => {
                    mynafleet_kit::status::with_reason_and_retry(
                        code,
                        ELIGIBILITY_DOMAIN,
                        reason,
                        "the upstream failed repeatedly; checks fail fast until it answers again",
                        retry_after,
                    )
                }
                UpstreamError::NotCapable { .. }
                | UpstreamError::Unavailable(_)
                | UpstreamError::Timeout(_)
                | UpstreamError::Rejected(_)
                | UpstreamError::Invalid(_) => el(code, &up.to_string()),
            }
        }
        Error::Store(cause) => {
            tracing::error!(error = %cause, "proxy store failed; check refused (audit fails closed)");
            mynafleet_kit::status::internal()
        }
        Error::NotADevice
        | Error::StatusUnavailable(_)
        | Error::DeviceSuspended
        | Error::DeviceRevoked
        | Error::DevicePending
        | Error::DeviceNotFound
        | Error::AccountMismatch
        | Error::ShuttingDown
        | Error::StreamHelloRequired
        | Error::EventMalformed(_)
        | Error::EventStoreUnavailable(_) => mynafleet_kit::status::internal(),
    }
}
