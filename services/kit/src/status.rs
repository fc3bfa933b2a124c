//! Builders for `tonic::Status` with a stable `google.rpc.ErrorInfo` reason and, for bad
//! input, `BadRequest` field violations. Every service's `Error → Status` match uses these,
//! so clients see one shape everywhere.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The error domain of reasons shared by every service.
pub const COMMON_DOMAIN: &str = "mynafleet.common.v1";

/// One field that failed validation, as `BadRequest.FieldViolation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, for example `organization.display_name`.
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub description: String,
}

impl FieldViolation {
    /// Returns a violation of `field` described by `description`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Returns a status with `code`, a human message and an `ErrorInfo` naming `domain`/`reason`.
pub fn with_reason(code: Code, domain: &str, reason: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, domain, []);
    Status::with_error_details(code, message, details)
}

/// Returns a status with `code`, `ErrorInfo` and a `RetryInfo` saying when to try again.
pub fn with_reason_and_retry(
    code: Code,
    domain: &str,
    reason: &str,
    message: &str,
    retry_after: std::time::Duration,
) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, domain, []);
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(code, message, details)
}

/// Returns a status with `code`, `ErrorInfo` and a `BadRequest` naming the fields at fault.
pub fn with_reason_and_fields(
    code: Code,
    domain: &str,
    reason: &str,
    message: &str,
    violations: &[FieldViolation],
) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, domain, []);
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(code, message, details)
}

/// Returns INVALID_ARGUMENT with `ErrorInfo` and a `BadRequest` listing every violation.
pub fn invalid_argument(domain: &str, reason: &str, violations: &[FieldViolation]) -> Status {
    let mut details = ErrorDetails::with_error_info(reason, domain, []);
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    let message = match violations {
        [] => "invalid request".to_owned(),
        [one] => format!("{}: {}", one.field, one.description),
        [first, rest @ ..] => format!(
            "{}: {} (and {} more)",
            first.field,
            first.description,
            rest.len()
        ),
    };
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// Returns INVALID_ARGUMENT (`INVALID_FIELD`) listing every violation.
pub fn invalid_fields(violations: &[FieldViolation]) -> Status {
    invalid_argument(COMMON_DOMAIN, "INVALID_FIELD", violations)
}

/// Returns INVALID_ARGUMENT (`INVALID_PAGE_TOKEN`) for a token this list never issued.
pub fn invalid_page_token() -> Status {
    invalid_argument(
        COMMON_DOMAIN,
        "INVALID_PAGE_TOKEN",
        &[FieldViolation::new(
            "page_token",
            "not a token from a previous response of this list",
        )],
    )
}

/// Returns INVALID_ARGUMENT (`REQUEST_ID_REUSED`) for a request id sent with another request.
pub fn request_id_reused() -> Status {
    invalid_argument(
        COMMON_DOMAIN,
        "REQUEST_ID_REUSED",
        &[FieldViolation::new(
            "request_id",
            "was already used with a different request; send a new UUID",
        )],
    )
}

/// Returns the INTERNAL status clients see; the cause stays in the server log.
pub fn internal() -> Status {
    with_reason(Code::Internal, COMMON_DOMAIN, "INTERNAL", "internal error")
}

/// Returns the `ErrorInfo.reason` of a status, if it carries one.
pub fn reason_of(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|i| i.reason)
}

/// Returns the fields named by a status's `BadRequest` violations.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
