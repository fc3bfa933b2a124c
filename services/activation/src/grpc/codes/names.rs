//! Resource names the code service reads: device accounts, listing parents and codes.
//! Organization and clinic ids are UUIDs, returned in canonical form so scope checks
//! compare like with like.

use crate::error::{Error, Result};
use crate::grpc::canonical_uuid;

/// A device account named in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AccountRef {
    pub(super) organization: String,
    pub(super) clinic: String,
    pub(super) account: String,
}

impl AccountRef {
    /// Parses `organizations/{org}/clinics/{clinic}/accounts/{W…}` from the field `field`.
    pub(super) fn parse(raw: &str, field: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                field,
                "must look like organizations/{org}/clinics/{clinic}/accounts/{W0000001}",
            )
        };
        let (org, clinic, account) = crate::client::split_account_name(raw).ok_or_else(bad)?;
        if account.len() > 16 || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        Ok(Self {
            organization: canonical_uuid(org).ok_or_else(bad)?,
            clinic: canonical_uuid(clinic).ok_or_else(bad)?,
            account: account.to_owned(),
        })
    }

    pub(super) fn name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/accounts/{}",
            self.organization, self.clinic, self.account
        )
    }

    pub(super) fn clinic_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}",
            self.organization, self.clinic
        )
    }
}

/// What a code listing is under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Parent {
    Organization(String),
    Clinic(String, String),
    Account(AccountRef),
}

impl Parent {
    pub(super) fn parse(raw: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                "parent",
                "must be organizations/{org}, organizations/{org}/clinics/{clinic} or an \
                 account name",
            )
        };
        let parts: Vec<&str> = raw.split('/').collect();
        match parts.as_slice() {
            ["organizations", org] => {
                Ok(Parent::Organization(canonical_uuid(org).ok_or_else(bad)?))
            }
            ["organizations", org, "clinics", clinic] => Ok(Parent::Clinic(
                canonical_uuid(org).ok_or_else(bad)?,
                canonical_uuid(clinic).ok_or_else(bad)?,
            )),
            [_, _, _, _, "accounts", _] => Ok(Parent::Account(AccountRef::parse(raw, "parent")?)),
            _ => Err(bad()),
        }
    }
}

/// Parses `…/accounts/{W…}/activationCodes/{uuid}` into the account and the code id.
pub(super) fn parse_code_name(raw: &str) -> Result<(AccountRef, String)> {
    let bad = || {
        Error::field(
            "name",
            "must look like organizations/{org}/clinics/{clinic}/accounts/{W…}/activationCodes/{uuid}",
        )
    };
    let (account, id) = raw.rsplit_once("/activationCodes/").ok_or_else(bad)?;
    let account = AccountRef::parse(account, "name").map_err(|_| bad())?;
    Ok((account, canonical_uuid(id).ok_or_else(bad)?))
}
