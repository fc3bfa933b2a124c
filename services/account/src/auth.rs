//! Who is calling and what they may do: operator sessions resolved from bearer tokens, the
//! role × permission table, and organization / clinic scope. Every account RPC asks
//! [`crate::grpc::Api::authorize`], which uses this module, before it touches the store.

use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use uuid::Uuid;

/// An operator's role (DESIGN.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything in the organization.
    OrgAdmin,
    /// The listed clinics: their accounts and applications.
    ClinicAdmin,
    /// Reads the audit log.
    Auditor,
    /// Reads clinics, accounts and applications.
    Viewer,
}

impl Role {
    /// Returns the stored (and audited) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::OrgAdmin => "org_admin",
            Role::ClinicAdmin => "clinic_admin",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "org_admin" => Role::OrgAdmin,
            "clinic_admin" => Role::ClinicAdmin,
            "auditor" => Role::Auditor,
            "viewer" => Role::Viewer,
            _ => return None,
        })
    }
}

/// What an RPC needs. Each RPC names exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read the caller's own organization.
    ReadOrganization,
    /// Change the organization's display name.
    WriteOrganization,
    /// Read clinics in scope.
    ReadClinics,
    /// Register clinics.
    CreateClinics,
    /// Update a clinic in scope.
    UpdateClinics,
    /// Create, list, disable and unlock operators.
    ManageOperators,
    /// Read device accounts in scope.
    ReadAccounts,
    /// Issue, edit, suspend, resume, reset and unlock device accounts in scope.
    WriteAccounts,
    /// Read applications in scope.
    ReadApplications,
    /// File applications for clinics in scope.
    SubmitApplications,
    /// Approve or reject applications.
    ReviewApplications,
    /// Read the audit log.
    ReadAudit,
    /// Own session: who am I, log out, change own password. Allowed with a pending
    /// password change.
    OwnSession,
}

/// Returns whether `role` grants `permission` (scope is checked separately).
pub fn role_allows(role: Role, permission: Permission) -> bool {
    use Permission as P;
    match role {
        Role::OrgAdmin => true,
        Role::ClinicAdmin => matches!(
            permission,
            P::ReadOrganization
                | P::ReadClinics
                | P::UpdateClinics
                | P::ReadAccounts
                | P::WriteAccounts
                | P::ReadApplications
                | P::SubmitApplications
                | P::OwnSession
        ),
        Role::Auditor => matches!(
            permission,
            P::ReadOrganization | P::ReadAudit | P::OwnSession
        ),
        Role::Viewer => matches!(
            permission,
            P::ReadOrganization
                | P::ReadClinics
                | P::ReadAccounts
                | P::ReadApplications
                | P::OwnSession
        ),
    }
}

/// An operator with a live session.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The operator's id.
    pub operator: Uuid,
    /// The operator's login id.
    pub login_id: String,
    /// The organization the operator belongs to.
    pub organization: OrganizationId,
    /// The operator's role.
    pub role: Role,
    /// For clinic_admin: the clinic ids in scope.
    pub clinics: Vec<Uuid>,
    /// The session's id (not the token), for audit references.
    pub session_id: String,
    /// Whether the initial password must still be changed.
    pub must_change_password: bool,
}

impl Principal {
    /// Returns the operator's resource name.
    pub fn name(&self) -> String {
        format!(
            "organizations/{}/operators/{}",
            self.organization.stored(),
            self.operator
        )
    }
}

/// Who is calling, once authenticated.
#[derive(Clone, Debug)]
pub enum Actor {
    /// An operator session.
    Operator(Principal),
    /// A MynaFleet service (internal CA certificate).
    Service(String),
}

impl Actor {
    /// Returns the key that scopes this caller's request ids.
    pub fn key(&self) -> String {
        match self {
            Actor::Operator(p) => format!("operator:{}", p.operator),
            Actor::Service(name) => format!("service:{name}"),
        }
    }

    /// Returns the operator, if the caller is one.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Actor::Operator(p) => Some(p),
            Actor::Service(_) => None,
        }
    }

    /// Refuses an operator of another organization (services reach every organization).
    pub fn require_organization(&self, org: OrganizationId) -> Result<()> {
        match self {
            Actor::Operator(p) if p.organization != org => Err(Error::OutOfScope),
            _ => Ok(()),
        }
    }

    /// Refuses a caller outside `org`, and a clinic_admin whose clinics do not include
    /// `clinic`.
    pub fn require_clinic(&self, org: OrganizationId, clinic: Uuid) -> Result<()> {
        self.require_organization(org)?;
        match self {
            Actor::Operator(p) if p.role == Role::ClinicAdmin && !p.clinics.contains(&clinic) => {
                Err(Error::OutOfScope)
            }
            _ => Ok(()),
        }
    }

    /// Returns the clinics a list may show: `None` for all of the organization, `Some` for
    /// a clinic_admin's own.
    pub fn clinic_filter(&self) -> Option<&[Uuid]> {
        match self {
            Actor::Operator(p) if p.role == Role::ClinicAdmin => Some(&p.clinics),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
