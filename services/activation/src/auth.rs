//! Operators on activation's operator RPCs: their bearer token is checked through the
//! account service's `CheckOperatorToken`, and an answer is cached for at most a second so
//! a logout or a disabled operator takes effect at once (DESIGN.md §5). Roles map to
//! permissions here; organization and clinic scope are checked against resource names.

use crate::client::{AccountClient, OperatorInfo, Role};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a checked token is trusted without asking again.
const MAX_AGE: Duration = Duration::from_secs(1);
/// The most tokens cached; past it the cache is cleared (it refills within a second).
const MAX_ENTRIES: usize = 10_000;

/// What an operator asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permission {
    /// List and get codes and devices.
    Read,
    /// Issue and revoke codes, unlock activation.
    ManageCodes,
    /// Suspend, resume, revoke, replace devices.
    ManageDevices,
}

/// Returns whether `role` grants `permission` (before scope).
pub(crate) fn role_allows(role: Role, permission: Permission) -> bool {
    match role {
        Role::OrgAdmin | Role::ClinicAdmin => true,
        Role::Auditor | Role::Viewer => permission == Permission::Read,
    }
}

/// A checked operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Principal {
    /// What the account service said.
    pub(crate) info: OperatorInfo,
}

impl Principal {
    /// Refuses a resource outside the operator's organization.
    pub(crate) fn require_organization(&self, organization_id: &str) -> Result<()> {
        if self.info.organization_id == organization_id {
            Ok(())
        } else {
            Err(Error::OutOfScope)
        }
    }

    /// Refuses a clinic outside the operator's scope (organization, and for clinic_admin
    /// the listed clinics).
    pub(crate) fn require_clinic(&self, organization_id: &str, clinic_id: &str) -> Result<()> {
        self.require_organization(organization_id)?;
        match self.info.role {
            Role::ClinicAdmin if !self.info.clinic_ids.iter().any(|c| c == clinic_id) => {
                Err(Error::OutOfScope)
            }
            _ => Ok(()),
        }
    }

    /// Returns the clinics a listing must stay within: `None` for the whole organization.
    pub(crate) fn clinic_filter(&self) -> Option<&[String]> {
        (self.info.role == Role::ClinicAdmin).then_some(self.info.clinic_ids.as_slice())
    }
}

/// Checked tokens by SHA-256, with when they were checked.
type TokenCache = HashMap<[u8; 32], (Instant, OperatorInfo)>;

/// Checks bearer tokens through the account service, with a cache of at most a second.
#[derive(Clone, Debug, Default)]
pub(crate) struct OperatorCheck {
    cache: Arc<Mutex<TokenCache>>,
}

impl OperatorCheck {
    /// Returns the operator behind `token`.
    pub(crate) async fn principal(
        &self,
        account: &AccountClient,
        token: &str,
    ) -> Result<Principal> {
        // The token itself is never kept, only its digest.
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(info) = self.cached(&key) {
            return Ok(Principal { info });
        }
        let info = account.check_operator(token).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), info.clone()));
        }
        Ok(Principal { info })
    }

    fn cached(&self, key: &[u8; 32]) -> Option<OperatorInfo> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(key) {
            Some((at, info)) if at.elapsed() < MAX_AGE => Some(info.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }
}
