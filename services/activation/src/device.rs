//! Devices (clinic terminals) as domain values: status, who set it, and what the registry
//! knows of each terminal.

use mynafleet_kit::auth::DeviceIdentity;

/// Where a device is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// A code was bound to its key; no certificate yet.
    Pending,
    /// It holds a valid certificate and may check eligibility.
    Active,
    /// Suspended by an operator or by its account's suspension; reversible.
    Suspended,
    /// Revoked for good.
    Revoked,
}

impl DeviceStatus {
    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Active => "active",
            DeviceStatus::Suspended => "suspended",
            DeviceStatus::Revoked => "revoked",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeviceStatus::Pending,
            "active" => DeviceStatus::Active,
            "suspended" => DeviceStatus::Suspended,
            "revoked" => DeviceStatus::Revoked,
            _ => return None,
        })
    }
}

/// Who set a device's status last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusCause {
    /// Activation or renewal.
    Activation,
    /// An operator.
    Operator,
    /// The device account's status in the account service.
    Account,
}

impl StatusCause {
    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            StatusCause::Activation => "activation",
            StatusCause::Operator => "operator",
            StatusCause::Account => "account",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "activation" => StatusCause::Activation,
            "operator" => StatusCause::Operator,
            "account" => StatusCause::Account,
            _ => return None,
        })
    }
}

/// What a terminal reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// Host name.
    pub hostname: String,
    /// Operating system.
    pub os: String,
    /// `mynafleet-agent` version.
    pub agent_version: String,
    /// PC/SC reader names.
    pub readers: Vec<String>,
}

impl DeviceFacts {
    /// The longest value kept for each fact, and the most readers kept.
    pub const MAX_LEN: usize = 200;
    /// The most readers kept.
    pub const MAX_READERS: usize = 16;

    /// Returns the facts with each value cut to [`Self::MAX_LEN`] characters, control
    /// characters removed and at most [`Self::MAX_READERS`] readers: a terminal's own report
    /// is informative, never trusted.
    pub fn bounded(self) -> Self {
        let clean = |s: String| -> String {
            s.chars()
                .filter(|c| !c.is_control())
                .take(Self::MAX_LEN)
                .collect()
        };
        Self {
            hostname: clean(self.hostname),
            os: clean(self.os),
            agent_version: clean(self.agent_version),
            readers: self
                .readers
                .into_iter()
                .take(Self::MAX_READERS)
                .map(clean)
                .filter(|r| !r.is_empty())
                .collect(),
        }
    }
}

/// A registered device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its id (UUIDv7).
    pub id: String,
    /// The organization id.
    pub organization_id: String,
    /// The clinic id.
    pub clinic_id: String,
    /// The device account (`W` + 7 digits).
    pub account_id: String,
    /// 機関コード of the clinic (as the account service reported it).
    pub institution_code: String,
    /// Its status.
    pub status: DeviceStatus,
    /// Who set the status last.
    pub status_cause: StatusCause,
    /// The operator's reason for the last suspend or revoke.
    pub status_reason: String,
    /// When the status was set, microseconds since the epoch.
    pub status_time: i64,
    /// SHA-256 of its public key, lowercase hex.
    pub key_fingerprint: String,
    /// The activation code it was activated with (code id).
    pub code_id: String,
    /// The current certificate's serial (hex), empty while pending.
    pub certificate_serial: String,
    /// The current certificate's end of validity, microseconds since the epoch.
    pub certificate_not_after: Option<i64>,
    /// The current certificate (PEM), returned again to a retried activation.
    pub certificate_pem: String,
    /// Creation time, microseconds since the epoch.
    pub create_time: i64,
    /// First certificate, microseconds since the epoch.
    pub first_seen_time: Option<i64>,
    /// Last contact, microseconds since the epoch.
    pub last_seen_time: Option<i64>,
    /// What it reported about itself.
    pub facts: DeviceFacts,
}

impl Device {
    /// Returns `organizations/{org}/clinics/{clinic}/devices/{id}`.
    pub fn name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/devices/{}",
            self.organization_id, self.clinic_id, self.id
        )
    }

    /// Returns the device account's resource name.
    pub fn account_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/accounts/{}",
            self.organization_id, self.clinic_id, self.account_id
        )
    }

    /// Returns the identity its certificates carry.
    pub fn identity(&self) -> DeviceIdentity {
        DeviceIdentity {
            organization: self.organization_id.clone(),
            clinic: self.clinic_id.clone(),
            account: self.account_id.clone(),
            device: self.id.clone(),
        }
    }
}
