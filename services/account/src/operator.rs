//! Operators (a clinic group's IT staff) as domain values: login ids, the operator to create
//! with its role and clinic scope, the stored operator and its state, and list page tokens.
//!
//! Nothing here holds a password or a TOTP secret; those live in `store::operators` only as
//! an argon2id hash and a sealed blob.

use crate::auth::Role;
use crate::error::{Error, Result};
use crate::organization::{DisplayName, OrganizationId};
use uuid::Uuid;

/// What an operator types to log in: 3 to 64 of `a-z 0-9 . _ @ -`, stored lower-cased.
/// Unique in the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginId(String);

impl LoginId {
    /// The fewest characters a login id may have.
    pub const MIN_CHARS: usize = 3;
    /// The most characters a login id may have.
    pub const MAX_CHARS: usize = 64;

    /// Validates `value` (trimmed, lower-cased) as the request field `field`.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let v = value.trim().to_ascii_lowercase();
        let len = v.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(Error::field(
                field,
                format!(
                    "must have {} to {} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        if !v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_@".contains(c))
        {
            return Err(Error::field(
                field,
                "may hold only a-z, 0-9 and the characters . _ @ -",
            ));
        }
        Ok(Self(v))
    }

    /// Returns a value read back from the store, which validated it on the way in.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// Returns the login id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An operator to create, validated: a clinic_admin lists at least one clinic, every other
/// role none (the store checks that the clinics exist in the organization).
#[derive(Clone, Debug)]
pub struct NewOperator {
    /// The organization the operator belongs to.
    pub organization: OrganizationId,
    /// The login id.
    pub login_id: LoginId,
    /// 氏名.
    pub display_name: DisplayName,
    /// The role.
    pub role: Role,
    /// For a clinic_admin: the clinics in scope, without duplicates.
    pub clinics: Vec<Uuid>,
}

impl NewOperator {
    /// Checks that `clinics` fit `role`; `field` names the request's clinics field.
    pub fn new(
        organization: OrganizationId,
        login_id: LoginId,
        display_name: DisplayName,
        role: Role,
        mut clinics: Vec<Uuid>,
        field: &str,
    ) -> Result<Self> {
        clinics.sort();
        clinics.dedup();
        match role {
            Role::ClinicAdmin if clinics.is_empty() => {
                return Err(Error::field(
                    field,
                    "a clinic_admin needs at least one clinic",
                ));
            }
            Role::OrgAdmin | Role::Auditor | Role::Viewer if !clinics.is_empty() => {
                return Err(Error::field(
                    field,
                    format!(
                        "only a clinic_admin lists clinics ({} sees the whole organization)",
                        role.as_str()
                    ),
                ));
            }
            _ => {}
        }
        Ok(Self {
            organization,
            login_id,
            display_name,
            role,
            clinics,
        })
    }
}

/// Whether an operator may log in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorState {
    /// May log in.
    Active,
    /// Locked by failed logins until an org_admin unlocks it.
    Locked,
    /// Disabled for good.
    Disabled,
}

/// A stored operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// Its id (UUIDv7).
    pub id: Uuid,
    /// Its organization.
    pub organization: OrganizationId,
    /// Its login id.
    pub login_id: LoginId,
    /// 氏名.
    pub display_name: DisplayName,
    /// Its role.
    pub role: Role,
    /// A clinic_admin's clinics, in id order.
    pub clinics: Vec<Uuid>,
    /// Whether it may log in.
    pub state: OperatorState,
    /// Whether the initial password must still be changed.
    pub must_change_password: bool,
    /// Whether a TOTP secret is enrolled.
    pub totp_enrolled: bool,
    /// Creation time, microseconds since the epoch.
    pub create_time: i64,
    /// Last successful login, microseconds since the epoch.
    pub last_login_time: Option<i64>,
}

impl Operator {
    /// Returns `organizations/{org}/operators/{id}`.
    pub fn name(&self) -> String {
        operator_name(self.organization, self.id)
    }
}

/// Returns the resource name of operator `id` of `org`.
pub fn operator_name(org: OrganizationId, id: Uuid) -> String {
    format!("organizations/{}/operators/{id}", org.stored())
}

/// Where the next page of operators starts: after this operator id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorPageToken {
    /// The last id returned.
    pub after: Uuid,
}

impl OperatorPageToken {
    const TAG: &'static str = "operator";

    /// Encodes the token for clients (opaque to them).
    pub fn encode(&self) -> String {
        mynafleet_kit::page::encode_token(Self::TAG, &self.after.to_string())
    }

    /// Decodes a client's token; an empty string means the first page.
    pub fn decode(token: &str) -> Result<Option<Self>> {
        match mynafleet_kit::page::decode_token(Self::TAG, token) {
            Ok(None) => Ok(None),
            Ok(Some(last)) => Uuid::parse_str(&last)
                .map(|after| Some(Self { after }))
                .map_err(|_| Error::InvalidPageToken),
            Err(()) => Err(Error::InvalidPageToken),
        }
    }
}

#[cfg(test)]
mod tests;
