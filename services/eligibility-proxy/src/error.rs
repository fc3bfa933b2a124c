//! The proxy's one error type and the only place that turns errors into gRPC status codes.
//! Activation's own error text never reaches a device: it is logged here and replaced.

use mynafleet_kit::status::{COMMON_DOMAIN, with_reason};
use tonic::{Code, Status};

/// `ErrorInfo.domain` of the agent API's reasons.
pub(crate) const AGENT_DOMAIN: &str = "mynafleet.agent.v1";

/// What went wrong while serving a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
}

/// The proxy's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
        }
    }
}
