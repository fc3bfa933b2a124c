//! The device registry's rules: which status a suspend, resume or revoke leads to, given
//! where the device is and who asks (an operator, or the device account's status in the
//! account service). Pure functions: the store applies what they decide and never decides
//! itself, and nothing here touches the database or the wire.

use crate::device::{Device, DeviceStatus, StatusCause};
use crate::error::{Error, Result};

/// A change someone asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Stop the device's calls and renewals, reversibly.
    Suspend,
    /// Undo a suspension.
    Resume,
    /// End the device for good.
    Revoke,
}

/// Who asks for a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Requester {
    /// An operator (`SuspendDevice`, `ResumeDevice`, `RevokeDevice`, `ReplaceDevice`).
    Operator,
    /// The device account's status in the account service (the cascade).
    Account,
}

/// What the rules need to know of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Current {
    /// Its status.
    pub(crate) status: DeviceStatus,
    /// Who set it.
    pub(crate) cause: StatusCause,
    /// Whether it ever received a certificate (a resumed device without one is PENDING).
    pub(crate) certified: bool,
}

impl Current {
    /// Returns what the rules need to know of `d`.
    pub(crate) fn of(d: &Device) -> Self {
        Self {
            status: d.status,
            cause: d.status_cause,
            certified: !d.certificate_serial.is_empty(),
        }
    }

    /// Returns the status a resumed device goes back to.
    fn resumed(self) -> DeviceStatus {
        if self.certified {
            DeviceStatus::Active
        } else {
            DeviceStatus::Pending
        }
    }
}

/// Returns the status `action` asked by `by` leads to from `current`: `Ok(None)` when the
/// device stays as it is (already there, or not the requester's to change), an error when
/// an operator asks for something the device's state refuses.
///
/// An operator's suspension outlives the account's: an account resume brings back only a
/// device the account suspended, and an operator cannot resume a device whose account is
/// suspended. Revoked is final for everyone.
pub(crate) fn transition(
    current: Current,
    action: Action,
    by: Requester,
) -> Result<Option<DeviceStatus>> {
    use DeviceStatus::{Active, Pending, Revoked, Suspended};
    let refused = |e: Error| match by {
        Requester::Operator => Err(e),
        // The account's status is a fact to follow, not a request to refuse.
        Requester::Account => Ok(None),
    };
    match (current.status, action) {
        (Revoked, Action::Revoke) => Ok(None),
        (Revoked, Action::Suspend | Action::Resume) => refused(Error::DeviceRevoked),
        (Pending | Active | Suspended, Action::Revoke) => Ok(Some(Revoked)),
        (Pending | Active, Action::Suspend) => Ok(Some(Suspended)),
        (Suspended, Action::Suspend) | (Pending | Active, Action::Resume) => Ok(None),
        (Suspended, Action::Resume) => match (current.cause, by) {
            (StatusCause::Account, Requester::Account) => Ok(Some(current.resumed())),
            (StatusCause::Account, Requester::Operator) => refused(Error::DeviceStateConflict(
                "the device account is suspended; resume the account",
            )),
            (StatusCause::Operator | StatusCause::Activation, Requester::Operator) => {
                Ok(Some(current.resumed()))
            }
            // An operator's suspension stays until an operator lifts it.
            (StatusCause::Operator | StatusCause::Activation, Requester::Account) => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests;
