//! The activation service's errors and the one place that turns them into gRPC statuses.

use mynafleet_kit::status::{self, FieldViolation};
use mynafleet_proto::tonic::{self, Code, Status};

/// The error domain of activation reasons.
pub(crate) const DOMAIN: &str = "mynafleet.activation.v1";

/// What went wrong in the activation service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Fields of the request failed validation.
    #[error("invalid request")]
    InvalidFields(Vec<FieldViolation>),
    /// The activation code is not 12 digits.
    #[error("malformed activation code")]
    CodeMalformed(String),
    /// The CSR did not parse or verify.
    #[error("invalid csr: {0}")]
    CsrInvalid(String),
    /// The page token was not one this server issued.
    #[error("invalid page token")]
    InvalidPageToken,
    /// A request_id was sent again with another request.
    #[error("request id reused")]
    RequestIdReused,
    /// The resume token was not one this server issued.
    #[error("invalid resume token")]
    ResumeTokenInvalid,
    /// The account service knows no such organization.
    #[error("organization not found")]
    OrganizationNotFound,
    /// The account service knows no such device account.
    #[error("device account not found")]
    AccountNotFound,
    /// The account service could not answer in time.
    #[error("account service unavailable: {0}")]
    AccountUnavailable(tonic::Status),
    /// The account service refused the 機関コード, account or password.
    #[error("credentials invalid")]
    CredentialsInvalid,
    /// The account service locked the account's password checks.
    #[error("device account locked")]
    DeviceAccountLocked,
    /// The new password does not meet the policy (the account service's words).
    #[error("password too weak")]
    PasswordTooWeak(String),
    /// The generated password must be changed before a certificate is issued.
    #[error("password change required")]
    PasswordChangeRequired,
    /// 管理者 accounts are not for terminals.
    #[error("administrator account refused")]
    AccountRoleRefused,
    /// The device account is suspended or ended.
    #[error("account not available")]
    AccountNotAvailable,
    /// The code is not this account's.
    #[error("code mismatch")]
    CodeMismatch,
    /// The code expired.
    #[error("code expired")]
    CodeExpired,
    /// The code was revoked.
    #[error("code revoked")]
    CodeRevoked,
    /// The account has no code.
    #[error("no code issued")]
    CodeNotIssued,
    /// The code is bound to another key.
    #[error("code bound to another key")]
    CodeBoundToOtherKey,
    /// No such code.
    #[error("code not found")]
    CodeNotFound,
    /// Too many failed activations for the account or the address.
    #[error("activation locked")]
    ActivationLocked {
        /// Seconds until the cool-down ends.
        retry_after_secs: u64,
    },
    /// The account already has a device that is not revoked.
    #[error("account already has a device")]
    DeviceAlreadyActive,
    /// No such device.
    #[error("device not found")]
    DeviceNotFound,
    /// The device is suspended.
    #[error("device suspended")]
    DeviceSuspended,
    /// The device is revoked.
    #[error("device revoked")]
    DeviceRevoked,
    /// The device's state does not allow the change.
    #[error("device state conflict: {0}")]
    DeviceStateConflict(&'static str),
    /// The operator's session is unknown, expired or ended.
    #[error("session invalid")]
    SessionInvalid,
    /// The operator's role may not do this.
    #[error("role refused")]
    RoleRefused,
    /// The resource is outside the operator's organization or clinics.
    #[error("out of scope")]
    OutOfScope,
    /// The device CA could not sign.
    #[error("device ca: {0}")]
    Ca(String),
    /// The store failed.
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored row did not decode.
    #[error("stored row: {0}")]
    Corrupt(String),
    /// The system random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// Hashing or verifying a code failed (argon2, or its blocking task).
    #[error("code hash: {0}")]
    Hash(String),
    /// A stored idempotent response did not decode.
    #[error("decode stored response: {0}")]
    StoredResponse(#[from] mynafleet_proto::prost::DecodeError),
    /// The code was used already, so it can no longer be revoked.
    #[error("code already used")]
    CodeAlreadyUsed,
    /// A free-text field holds a 12-digit value with a valid My Number check digit.
    #[error("my number refused in {field}")]
    MyNumberRefused {
        /// The field at fault.
        field: &'static str,
    },
}

/// The activation service's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Returns an error for one invalid field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Error::InvalidFields(vec![FieldViolation::new(field, description)])
    }

    /// Returns the stable reason this error reaches clients with.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidFields(_) => "INVALID_FIELD",
            Error::CodeMalformed(_) => "CODE_MALFORMED",
            Error::CsrInvalid(_) => "CSR_INVALID",
            Error::InvalidPageToken => "INVALID_PAGE_TOKEN",
            Error::RequestIdReused => "REQUEST_ID_REUSED",
            Error::ResumeTokenInvalid => "RESUME_TOKEN_INVALID",
            Error::OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
            Error::AccountNotFound => "ACCOUNT_NOT_FOUND",
            Error::AccountUnavailable(_) => "ACCOUNT_UNAVAILABLE",
            Error::CredentialsInvalid => "CREDENTIALS_INVALID",
            Error::DeviceAccountLocked => "DEVICE_ACCOUNT_LOCKED",
            Error::PasswordTooWeak(_) => "PASSWORD_TOO_WEAK",
            Error::PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
            Error::AccountRoleRefused => "ACCOUNT_ROLE_REFUSED",
            Error::AccountNotAvailable => "ACCOUNT_NOT_AVAILABLE",
            Error::CodeMismatch => "CODE_MISMATCH",
            Error::CodeExpired => "CODE_EXPIRED",
            Error::CodeRevoked => "CODE_REVOKED",
            Error::CodeNotIssued => "CODE_NOT_ISSUED",
            Error::CodeBoundToOtherKey => "CODE_BOUND_TO_OTHER_KEY",
            Error::CodeNotFound => "CODE_NOT_FOUND",
            Error::ActivationLocked { .. } => "ACTIVATION_LOCKED",
            Error::DeviceAlreadyActive => "DEVICE_ALREADY_ACTIVE",
            Error::DeviceNotFound => "DEVICE_NOT_FOUND",
            Error::DeviceSuspended => "DEVICE_SUSPENDED",
            Error::DeviceRevoked => "DEVICE_REVOKED",
            Error::DeviceStateConflict(_) => "DEVICE_STATE_CONFLICT",
            Error::SessionInvalid => "SESSION_INVALID",
            Error::RoleRefused => "ROLE_REFUSED",
            Error::OutOfScope => "OUT_OF_SCOPE",
            Error::CodeAlreadyUsed => "CODE_ALREADY_USED",
            Error::MyNumberRefused { .. } => "MY_NUMBER_REFUSED",
            Error::Ca(_)
            | Error::Db(_)
            | Error::Corrupt(_)
            | Error::Random(_)
            | Error::Hash(_)
            | Error::StoredResponse(_) => "INTERNAL",
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let reason = e.reason();
        let r = |code: Code, message: &str| status::with_reason(code, DOMAIN, reason, message);
        match e {
            Error::InvalidFields(v) => status::invalid_fields(&v),
            Error::CodeMalformed(why) => status::invalid_argument(
                DOMAIN,
                reason,
                &[FieldViolation::new("activation_code", why)],
            ),
            Error::CsrInvalid(why) => {
                status::invalid_argument(DOMAIN, reason, &[FieldViolation::new("csr_der", why)])
            }
            Error::InvalidPageToken => status::invalid_page_token(),
            Error::RequestIdReused => status::request_id_reused(),
            Error::ResumeTokenInvalid => r(
                Code::InvalidArgument,
                "the resume token was not issued by this server; start again without one",
            ),
            Error::OrganizationNotFound => r(
                Code::NotFound,
                "the account service knows no organization with that name",
            ),
            Error::AccountNotFound => r(
                Code::NotFound,
                "the account service knows no device account with that name",
            ),
            Error::AccountUnavailable(s) => {
                tracing::warn!(code = ?s.code(), message = s.message(), "account service call failed");
                r(
                    Code::Unavailable,
                    "the account service could not be reached; try again",
                )
            }
            Error::CredentialsInvalid => r(
                Code::Unauthenticated,
                "the 機関コード, account ID or password is wrong",
            ),
            Error::DeviceAccountLocked => r(
                Code::PermissionDenied,
                "the device account is locked after too many wrong passwords; an operator unlocks it",
            ),
            Error::PasswordTooWeak(why) => status::invalid_argument(
                DOMAIN,
                reason,
                &[FieldViolation::new("new_password", why)],
            ),
            Error::PasswordChangeRequired => r(
                Code::FailedPrecondition,
                "the account's generated password must be changed first: send new_password",
            ),
            Error::AccountRoleRefused => r(
                Code::PermissionDenied,
                "管理者 (administrator) accounts cannot be used on terminals; use a 一般 or 医療情報閲覧 account",
            ),
            Error::AccountNotAvailable => r(
                Code::FailedPrecondition,
                "the device account is suspended or ended (not 利用可)",
            ),
            Error::CodeMismatch => r(
                Code::PermissionDenied,
                "the activation code is not the one issued to this account (another account's or clinic's code, or a typo)",
            ),
            Error::CodeExpired => r(
                Code::FailedPrecondition,
                "the activation code has expired; ask an operator for a new one",
            ),
            Error::CodeRevoked => r(
                Code::FailedPrecondition,
                "the activation code was revoked (a newer code replaced it); use the newest sheet",
            ),
            Error::CodeNotIssued => r(
                Code::FailedPrecondition,
                "no activation code was issued for this account; ask an operator to issue one",
            ),
            Error::CodeBoundToOtherKey => r(
                Code::FailedPrecondition,
                "the activation code was already used by another terminal; ask an operator for a new code",
            ),
            Error::CodeNotFound => r(Code::NotFound, "no activation code with that name"),
            Error::ActivationLocked { retry_after_secs } => {
                mynafleet_kit::status::with_reason_and_retry(
                    Code::PermissionDenied,
                    DOMAIN,
                    reason,
                    "too many failed activations; an operator can unlock, or try again after the cool-down",
                    std::time::Duration::from_secs(retry_after_secs),
                )
            }
            Error::DeviceAlreadyActive => r(
                Code::FailedPrecondition,
                "this account already has a terminal; revoke it first (mynafleet admin devices replace)",
            ),
            Error::DeviceNotFound => r(Code::NotFound, "no device with that name"),
            Error::DeviceSuspended => r(Code::PermissionDenied, "the device is suspended"),
            Error::DeviceRevoked => r(
                Code::PermissionDenied,
                "the device is revoked; activate the terminal again with a new code",
            ),
            Error::DeviceStateConflict(why) => r(Code::FailedPrecondition, why),
            Error::SessionInvalid => r(
                Code::Unauthenticated,
                "the session is unknown, expired or ended; log in again",
            ),
            Error::RoleRefused => r(Code::PermissionDenied, "your role may not do this"),
            Error::OutOfScope => r(
                Code::PermissionDenied,
                "the resource is outside your organization or clinics",
            ),
            Error::Ca(e) => {
                tracing::error!(error = %e, "device CA could not sign");
                status::internal()
            }
            Error::Db(e) => {
                tracing::error!(error = %e, "activation store failed");
                status::internal()
            }
            Error::Corrupt(what) => {
                tracing::error!(what, "activation store holds an unreadable row");
                status::internal()
            }
            Error::Random(e) => {
                tracing::error!(error = %e, "system random source failed");
                status::internal()
            }
            Error::Hash(e) => {
                tracing::error!(error = %e, "activation code hashing failed");
                status::internal()
            }
            Error::StoredResponse(e) => {
                tracing::error!(error = %e, "stored idempotent response does not decode");
                status::internal()
            }
            Error::CodeAlreadyUsed => r(
                Code::FailedPrecondition,
                "the activation code was already used by a terminal; revoke or replace the device instead",
            ),
            Error::MyNumberRefused { field } => status::invalid_argument(
                status::COMMON_DOMAIN,
                reason,
                &[FieldViolation::new(
                    field,
                    "holds a 12-digit number with a valid My Number check digit; MynaFleet never \
                     stores My Numbers (if this is not one, change the digits or their grouping)",
                )],
            ),
        }
    }
}
