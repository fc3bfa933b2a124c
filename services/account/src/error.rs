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
                "the organization changed since it was read; read it again and retry",
            ),
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
