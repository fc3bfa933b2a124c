//! The simulator's errors and the one place that turns them into gRPC statuses.

use mynafleet_kit::status::{self, FieldViolation};
use tonic::{Code, Status};

/// The error domain of simulator reasons.
pub(crate) const DOMAIN: &str = "mynafleet.oqs.v1";

/// What went wrong in a simulator call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// QueryByCard: the certificate is not one the test CA issued to a simulated person.
    #[error("certificate unknown: {0}")]
    CertificateUnknown(&'static str),
    /// GetPerson: no such index.
    #[error("person {0} not found")]
    PersonNotFound(u32),
    /// An outage window or the outage knob is on.
    #[error("simulated outage")]
    SimulatedOutage,
    /// The configured error rate struck.
    #[error("simulated error")]
    SimulatedError,
    /// A request field is unusable.
    #[error("{field}: {description}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        description: String,
    },
    /// A page token this list never issued.
    #[error("invalid page token")]
    InvalidPageToken,
}

/// The simulator's result type.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::CertificateUnknown(why) => status::with_reason(
                Code::NotFound,
                DOMAIN,
                "CERTIFICATE_UNKNOWN",
                format!("the certificate names no simulated person: {why}"),
            ),
            Error::PersonNotFound(index) => status::with_reason(
                Code::NotFound,
                DOMAIN,
                "PERSON_NOT_FOUND",
                format!("no simulated person {index}"),
            ),
            Error::SimulatedOutage => status::with_reason(
                Code::Unavailable,
                DOMAIN,
                "SIMULATED_OUTAGE",
                "simulated outage",
            ),
            Error::SimulatedError => status::with_reason(
                Code::Unavailable,
                DOMAIN,
                "SIMULATED_ERROR",
                "simulated error",
            ),
            Error::InvalidField { field, description } => {
                status::invalid_fields(&[FieldViolation::new(field, description)])
            }
            Error::InvalidPageToken => status::invalid_page_token(),
        }
    }
}
