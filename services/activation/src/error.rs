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
    /// The page token was not one this server issued.
    #[error("invalid page token")]
    InvalidPageToken,
    /// The account service knows no such organization.
    #[error("organization not found")]
    OrganizationNotFound,
    /// The account service could not answer in time.
    #[error("account service unavailable: {0}")]
    AccountUnavailable(tonic::Status),
    /// The store failed.
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored row did not decode.
    #[error("stored row: {0}")]
    Corrupt(String),
}

/// The activation service's result type.
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
            Error::InvalidPageToken => status::invalid_page_token(),
            Error::OrganizationNotFound => status::with_reason(
                Code::NotFound,
                DOMAIN,
                "ORGANIZATION_NOT_FOUND",
                "the account service knows no organization with that name",
            ),
            Error::AccountUnavailable(s) => {
                tracing::warn!(code = ?s.code(), message = s.message(), "account service call failed");
                status::with_reason(
                    Code::Unavailable,
                    DOMAIN,
                    "ACCOUNT_UNAVAILABLE",
                    "the account service could not be reached; try again",
                )
            }
            Error::Db(e) => {
                tracing::error!(error = %e, "activation store failed");
                status::internal()
            }
            Error::Corrupt(what) => {
                tracing::error!(what, "activation store holds an unreadable row");
                status::internal()
            }
        }
    }
}
