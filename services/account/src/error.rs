//! The account service's errors and the one place that turns them into gRPC statuses.

use mynafleet_kit::status::{self, COMMON_DOMAIN, FieldViolation};
use tonic::{Code, Status};

/// The error domain of account reasons.
pub(crate) const DOMAIN: &str = "mynafleet.account.v1";

/// What went wrong in the account service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Fields of the request failed validation.
    #[error("invalid request")]
    InvalidFields(Vec<FieldViolation>),
    /// A field held something that looks like a My Number.
    #[error("my number refused in {field}")]
    MyNumberRefused {
        /// The field.
        field: String,
    },
    /// Fields of the request failed validation with a reason of their own, for example
    /// `AUDIT_FILTER_INVALID` (INVALID_ARGUMENT).
    #[error("invalid request: {reason}")]
    InvalidWithReason {
        /// The stable reason.
        reason: &'static str,
        /// The fields and what is wrong with each.
        fields: Vec<FieldViolation>,
    },
    /// The page token was not one this server issued.
    #[error("invalid page token")]
    InvalidPageToken,
    /// The request id was used before with a different request.
    #[error("request id reused with a different request")]
    RequestIdReused,
    /// No organization has that name.
    #[error("organization not found")]
    OrganizationNotFound,
    /// The organization changed since its etag was read.
    #[error("etag mismatch")]
    EtagMismatch,
    /// A resource named in the request does not exist.
    #[error("{what} not found")]
    NotFound {
        /// The reason, for example `CLINIC_NOT_FOUND`.
        reason: &'static str,
        /// What was looked for, for the message.
        what: &'static str,
    },
    /// The state of a resource does not allow the request (FAILED_PRECONDITION).
    #[error("{message}")]
    Precondition {
        /// The stable reason, for example `ACCOUNT_STATE_CONFLICT`.
        reason: &'static str,
        /// What a person should know or do.
        message: String,
    },
    /// A unique value is already taken (ALREADY_EXISTS).
    #[error("{message}")]
    Taken {
        /// The stable reason, for example `INSTITUTION_CODE_TAKEN`.
        reason: &'static str,
        /// The field that holds the taken value.
        field: &'static str,
        /// What is taken.
        message: String,
    },
    /// Login id, password or TOTP code was wrong (never says which).
    #[error("login failed")]
    LoginFailed,
    /// The operator is locked by failed logins.
    #[error("operator locked")]
    OperatorLocked,
    /// The operator is disabled.
    #[error("operator disabled")]
    OperatorDisabled,
    /// The bearer token names no live session.
    #[error("session invalid")]
    SessionInvalid,
    /// The session passed its idle timeout or absolute lifetime.
    #[error("session expired")]
    SessionExpired,
    /// The operator must change the initial password first.
    #[error("password change required")]
    PasswordChangeRequired,
    /// A new password does not meet the policy.
    #[error("password too weak: {0}")]
    PasswordTooWeak(String),
    /// The caller's role does not allow the RPC.
    #[error("role refused")]
    RoleRefused,
    /// The resource is outside the caller's organization or clinics.
    #[error("out of scope")]
    OutOfScope,
    /// Device credentials were wrong (never says which part).
    #[error("credentials invalid")]
    CredentialsInvalid,
    /// The device account is locked by failed checks.
    #[error("device account locked")]
    DeviceAccountLocked,
    /// The resume token of an event stream was not one this server issued.
    #[error("invalid resume token")]
    ResumeTokenInvalid,
    /// Ingested audit records were malformed or not the calling service's own.
    #[error("invalid audit records")]
    AuditRecordInvalid(Vec<FieldViolation>),
    /// A secret could not be made, sealed or opened.
    #[error("secret handling: {0}")]
    Secret(String),
    /// The store failed.
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored response could not be decoded.
    #[error("decode stored response: {0}")]
    StoredResponse(#[from] prost::DecodeError),
}

/// The account service's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Returns an error for one invalid field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Error::InvalidFields(vec![FieldViolation::new(field, description)])
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidFields(v) => status::invalid_fields(&v),
            Error::MyNumberRefused { field } => status::invalid_argument(
                COMMON_DOMAIN,
                "MY_NUMBER_REFUSED",
                &[FieldViolation::new(
                    field,
                    "holds a 12-digit number with a valid My Number check digit; MynaFleet never \
                     stores My Numbers (if this is not one, change the digits or their grouping)",
                )],
            ),
            Error::InvalidWithReason { reason, fields } => {
                status::invalid_argument(DOMAIN, reason, &fields)
            }
            Error::InvalidPageToken => status::invalid_page_token(),
            Error::RequestIdReused => status::request_id_reused(),
            Error::OrganizationNotFound => status::with_reason(
                Code::NotFound,
                DOMAIN,
                "ORGANIZATION_NOT_FOUND",
                "no organization with that name",
            ),
            Error::EtagMismatch => status::with_reason(
                Code::Aborted,
                DOMAIN,
                "ETAG_MISMATCH",
                "the resource changed since it was read; read it again and retry",
            ),
            Error::NotFound { reason, what } => {
                status::with_reason(Code::NotFound, DOMAIN, reason, format!("no such {what}"))
            }
            Error::Precondition { reason, message } => {
                status::with_reason(Code::FailedPrecondition, DOMAIN, reason, message)
            }
            Error::Taken {
                reason,
                field,
                message,
            } => status::with_reason_and_fields(
                Code::AlreadyExists,
                DOMAIN,
                reason,
                &message,
                &[FieldViolation::new(field, message.clone())],
            ),
            Error::LoginFailed => status::with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "LOGIN_FAILED",
                "login id, password or TOTP code is wrong",
            ),
            Error::OperatorLocked => status::with_reason(
                Code::PermissionDenied,
                DOMAIN,
                "OPERATOR_LOCKED",
                "too many failed logins; an org_admin must unlock this operator",
            ),
            Error::OperatorDisabled => status::with_reason(
                Code::PermissionDenied,
                DOMAIN,
                "OPERATOR_DISABLED",
                "this operator is disabled",
            ),
            Error::SessionInvalid => status::with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "SESSION_INVALID",
                "the session token is not valid; log in again",
            ),
            Error::SessionExpired => status::with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "SESSION_EXPIRED",
                "the session expired; log in again",
            ),
            Error::PasswordChangeRequired => status::with_reason(
                Code::FailedPrecondition,
                DOMAIN,
                "PASSWORD_CHANGE_REQUIRED",
                "change the initial password first (mynafleet admin password)",
            ),
            Error::PasswordTooWeak(why) => status::with_reason_and_fields(
                Code::InvalidArgument,
                DOMAIN,
                "PASSWORD_TOO_WEAK",
                "the new password does not meet the policy",
                &[FieldViolation::new("new_password", why)],
            ),
            Error::RoleRefused => status::with_reason(
                Code::PermissionDenied,
                DOMAIN,
                "ROLE_REFUSED",
                "your role does not allow this",
            ),
            Error::OutOfScope => status::with_reason(
                Code::PermissionDenied,
                DOMAIN,
                "OUT_OF_SCOPE",
                "this resource is outside your organization or clinics",
            ),
            Error::CredentialsInvalid => status::with_reason(
                Code::Unauthenticated,
                DOMAIN,
                "CREDENTIALS_INVALID",
                "機関コード, account ID or password is wrong",
            ),
            Error::DeviceAccountLocked => status::with_reason(
                Code::PermissionDenied,
                DOMAIN,
                "DEVICE_ACCOUNT_LOCKED",
                "too many failed password checks; an operator must unlock this account",
            ),
            Error::ResumeTokenInvalid => status::with_reason_and_fields(
                Code::InvalidArgument,
                DOMAIN,
                "RESUME_TOKEN_INVALID",
                "the resume token was not issued by this server",
                &[FieldViolation::new(
                    "resume_token",
                    "is not a token this server issued; send it empty to start from the oldest event",
                )],
            ),
            Error::AuditRecordInvalid(v) => {
                status::invalid_argument(DOMAIN, "AUDIT_RECORD_INVALID", &v)
            }
            Error::Secret(e) => {
                tracing::error!(error = %e, "secret handling failed");
                status::internal()
            }
            Error::Db(e) => {
                tracing::error!(error = %e, "account store failed");
                status::internal()
            }
            Error::StoredResponse(e) => {
                tracing::error!(error = %e, "stored idempotent response does not decode");
                status::internal()
            }
        }
    }
}
