//! Devices (clinic terminals) as domain values. Only the registry's read side exists yet.

/// Where a device is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// A code was bound to its key; no certificate yet.
    Pending,
    /// It holds a valid certificate and may check eligibility.
    Active,
    /// An operator suspended it; reversible.
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
    /// Its status.
    pub status: DeviceStatus,
    /// SHA-256 of its public key, lowercase hex.
    pub key_fingerprint: String,
    /// Creation time, microseconds since the epoch.
    pub create_time: i64,
    /// Last contact, microseconds since the epoch.
    pub last_seen_time: Option<i64>,
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
}
