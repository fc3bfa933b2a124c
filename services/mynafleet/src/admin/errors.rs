//! gRPC failures as a person reads them: the status message, the stable reason and each
//! field violation, with what to do for the session reasons. Never echoes request values.

use mynafleet_proto::tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// A failed call, decoded.
#[derive(Debug)]
pub(crate) struct Failure {
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
            code_text(self.code).to_owned()
        } else {
            self.message.clone()
        };
        match &self.reason {
            Some(r) => format!("{message} ({r})"),
            None if self.code == Code::Unavailable => {
                format!("the account service cannot be reached: {message}")
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
        Ok(())
    }
}

impl std::error::Error for Failure {}

fn code_text(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "not authenticated",
        Code::PermissionDenied => "permission denied",
        Code::NotFound => "not found",
        Code::InvalidArgument => "invalid request",
        Code::AlreadyExists => "already exists",
        Code::FailedPrecondition => "not allowed in the current state",
        Code::DeadlineExceeded => "the account service did not answer in time",
        Code::Unavailable => "the account service cannot be reached",
        Code::Unimplemented => "the account service does not offer this yet",
        _ => "the call failed",
    }
}
