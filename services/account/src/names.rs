//! Resource names (DESIGN.md §4): `organizations/{org}/clinics/{clinic}/accounts/{W0000001}`
//! and friends, parsed into ids with a field violation naming the request field.

use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use uuid::Uuid;

/// `organizations/{org}/clinics/{clinic}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClinicName {
    /// The organization.
    pub organization: OrganizationId,
    /// The clinic.
    pub clinic: Uuid,
}

/// `organizations/{org}/clinics/{clinic}` or, where a request allows it, `…/clinics/-` for
/// every clinic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClinicParent {
    /// The organization.
    pub organization: OrganizationId,
    /// The clinic, or `None` for `-`.
    pub clinic: Option<Uuid>,
}

/// `organizations/{org}/{collection}/{id}` with a UUID id (operators, clinics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildName {
    /// The organization.
    pub organization: OrganizationId,
    /// The child's id.
    pub id: Uuid,
}

fn uuid(s: &str, field: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::field(field, format!("the {what} id is not a UUID")))
}

fn org(s: &str, field: &str) -> Result<OrganizationId> {
    OrganizationId::parse_name(&format!("organizations/{s}"), field)
}

impl ClinicName {
    /// Parses `organizations/{org}/clinics/{clinic}`.
    pub fn parse(name: &str, field: &str) -> Result<Self> {
        match name.split('/').collect::<Vec<_>>().as_slice() {
            ["organizations", o, "clinics", c] => Ok(Self {
                organization: org(o, field)?,
                clinic: uuid(c, field, "clinic")?,
            }),
            _ => Err(Error::field(
                field,
                "must look like organizations/{org}/clinics/{clinic}",
            )),
        }
    }

    /// Returns the resource name.
    pub fn name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}",
            self.organization.stored(),
            self.clinic
        )
    }
}

impl ClinicParent {
    /// Parses `organizations/{org}/clinics/{clinic}` or `organizations/{org}/clinics/-`.
    pub fn parse(name: &str, field: &str) -> Result<Self> {
        match name.split('/').collect::<Vec<_>>().as_slice() {
            ["organizations", o, "clinics", "-"] => Ok(Self {
                organization: org(o, field)?,
                clinic: None,
            }),
            _ => ClinicName::parse(name, field).map(|c| Self {
                organization: c.organization,
                clinic: Some(c.clinic),
            }),
        }
    }
}

impl ChildName {
    /// Parses `organizations/{org}/{collection}/{uuid}`.
    pub fn parse(name: &str, collection: &str, field: &str) -> Result<Self> {
        match name.split('/').collect::<Vec<_>>().as_slice() {
            ["organizations", o, c, id] if *c == collection => Ok(Self {
                organization: org(o, field)?,
                id: uuid(id, field, collection.trim_end_matches('s'))?,
            }),
            _ => Err(Error::field(
                field,
                format!("must look like organizations/{{org}}/{collection}/{{id}}"),
            )),
        }
    }
}

/// `organizations/{org}/clinics/{clinic}/{collection}/{id}` (accounts, applications).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClinicChild {
    /// The clinic.
    pub clinic: ClinicName,
    /// The id after the collection, not yet validated.
    pub id: String,
}

impl ClinicChild {
    /// Parses `organizations/{org}/clinics/{clinic}/{collection}/{id}`.
    pub fn parse(name: &str, collection: &str, field: &str) -> Result<Self> {
        let err = || {
            Error::field(
                field,
                format!(
                    "must look like organizations/{{org}}/clinics/{{clinic}}/{collection}/{{id}}"
                ),
            )
        };
        let parts: Vec<&str> = name.split('/').collect();
        match parts.as_slice() {
            ["organizations", o, "clinics", c, coll, id]
                if *coll == collection && !id.is_empty() =>
            {
                Ok(Self {
                    clinic: ClinicName {
                        organization: org(o, field)?,
                        clinic: uuid(c, field, "clinic")?,
                    },
                    id: (*id).to_owned(),
                })
            }
            _ => Err(err()),
        }
    }
}
