//! gRPC failures as a person reads them: which service, the status message, the stable
//! reason and each field violation, with what to do for the session reasons and a hint for
//! the activation reasons that have a next step. Never echoes request values.

use mynafleet_proto::tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// Which service a call went to, for the words of its failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// The account service.
    Account,
    /// The activation service.
    Activation,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Account => "the account service",
            Service::Activation => "the activation service",
        }
    }
}

/// A failed call, decoded.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The service that answered (or did not).
    pub(crate) service: Service,
    /// The status code.
    pub(crate) code: Code,
    /// The status message.
    pub(crate) message: String,
    /// The `ErrorInfo.reason`, when the server sent one.
    pub(crate) reason: Option<String>,
    /// `(field, description)` of each field violation.
    pub(crate) fields: Vec<(String, String)>,
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Self::of(status, Service::Account)
    }
}

impl Failure {
    /// Decodes `status` from a call to `service`.
    pub(crate) fn of(status: Status, service: Service) -> Self {
        let reason = status.get_details_error_info().map(|i| i.reason);
        let fields = status
            .get_details_bad_request()
            .map(|b| {
                b.field_violations
                    .into_iter()
                    .map(|v| (v.field, v.description))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            service,
            code: status.code(),
            message: status.message().to_owned(),
            reason,
            fields,
        }
    }
}

impl Failure {
    /// Returns what the person should do, for reasons that have a fixed remedy.
    fn advice(&self) -> Option<&'static str> {
        match self.reason.as_deref()? {
            "SESSION_EXPIRED" | "SESSION_INVALID" => {
                Some("session expired; run `mynafleet admin login`")
            }
            "PASSWORD_CHANGE_REQUIRED" => {
                Some("the initial password must be changed first; run `mynafleet admin password`")
            }
            "OPERATOR_LOCKED" => {
                Some("the operator is locked after failed logins; an org_admin unlocks it")
            }
            _ => None,
        }
    }

    /// Returns a next step for reasons that have one, printed below the message.
    fn hint(&self) -> Option<&'static str> {
        match self.reason.as_deref()? {
            "ACTIVATION_LOCKED" => Some(
                "clear the lock with `mynafleet admin codes unlock --account ACCOUNT` (or \
                 --source ADDRESS), or wait for the cool-down",
            ),
            "DEVICE_ALREADY_ACTIVE" => Some(
                "the account already has a terminal; replace it with `mynafleet admin devices \
                 replace DEVICE --reason TEXT`",
            ),
            "ACCOUNT_ROLE_REFUSED" => Some("管理者 accounts are never used on a terminal"),
            "ACCOUNT_NOT_AVAILABLE" => {
                Some("resume the account first (`mynafleet admin accounts resume ACCOUNT`)")
            }
            "DEVICE_SUSPENDED" => Some("resume it with `mynafleet admin devices resume DEVICE`"),
            _ => None,
        }
    }

    /// Returns the message alone (one line), with the reason when there is one.
    pub(crate) fn summary(&self) -> String {
        if let Some(advice) = self.advice() {
            return advice.to_owned();
        }
        // A message that only repeats the field violations (listed below it) says nothing.
        let repeats_fields = !self.fields.is_empty()
            && self
                .fields
                .iter()
                .all(|(_, description)| self.message.contains(description.as_str()));
        let message = if self.message.is_empty() || repeats_fields {
            code_text(self.code, self.service)
        } else {
            self.message.clone()
        };
        match &self.reason {
            Some(r) => format!("{message} ({r})"),
            None if self.code == Code::Unavailable && !self.message.is_empty() => {
                format!("{} cannot be reached: {message}", self.service.name())
            }
            None if self.code == Code::Unimplemented => {
                format!("{} does not offer this yet", self.service.name())
            }
            None => message,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.summary())?;
        for (field, description) in &self.fields {
            write!(f, "\n  {field}: {description}")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

fn code_text(code: Code, service: Service) -> String {
    let service = service.name();
    match code {
        Code::Unauthenticated => "not authenticated".to_owned(),
        Code::PermissionDenied => "permission denied".to_owned(),
        Code::NotFound => "not found".to_owned(),
        Code::InvalidArgument => "invalid request".to_owned(),
        Code::AlreadyExists => "already exists".to_owned(),
        Code::FailedPrecondition => "not allowed in the current state".to_owned(),
        Code::DeadlineExceeded => format!("{service} did not answer in time"),
        Code::Unavailable => format!("{service} cannot be reached"),
        Code::Unimplemented => format!("{service} does not offer this yet"),
        _ => "the call failed".to_owned(),
    }
}

#[cfg(test)]
mod tests;
