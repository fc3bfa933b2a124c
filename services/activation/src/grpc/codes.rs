//! `ActivationCodeService`: operators issue, list and revoke activation codes and lift
//! activation locks; `issue_for_accounts` (the account service's `IssueActivationCodes`)
//! and `replace_device` (`DeviceService.ReplaceDevice`) live in `issue.rs`.
//!
//! A code in the clear appears only in the response that issued it: the copy kept for
//! request-id replays has it blank, and no record or log ever holds it.

mod issue;
mod names;
mod unlock;

pub(super) use issue::{issue_for_accounts, replace_device};
use names::AccountRef;
use names::{Parent, parse_code_name};

use super::{Api, CallKey, hash_without_id, meta, ts};
use crate::activation_code::ActivationCode;
use crate::audit::{self, ActionCode, AuditEntry, Outcome};
use crate::auth::Permission;
use crate::client::{AccountScope, AccountStatus, Privilege};
use crate::error::{Error, Result};
use crate::store::codes::{self as store_codes, CodeCursor, CodeListing, NewCode, ShownState};
use crate::store::{self, codes::StoredCode, locks};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use std::collections::HashMap;

/// The page-token tag of code listings.
const PAGE_TAG: &str = "codes";
const SERVICE: &str = "/mynafleet.activation.v1.ActivationCodeService";

/// Returns the wire form of a stored code at `now` (without the code itself).
pub(super) fn code_to_pb(
    c: &StoredCode,
    now: i64,
    locked_until: Option<i64>,
) -> pb::ActivationCode {
    let state = match c.shown_state(now) {
        ShownState::Unused => pb::ActivationCodeState::Unused,
        ShownState::Used => pb::ActivationCodeState::Used,
        ShownState::Expired => pb::ActivationCodeState::Expired,
        ShownState::Revoked => pb::ActivationCodeState::Revoked,
    };
    pb::ActivationCode {
        name: c.name(),
        account: c.account_name(),
        state: state.into(),
        create_time: Some(ts(c.create_time)),
        expire_time: Some(ts(c.expire_time)),
        use_time: c.use_time.map(ts),
        last_attempt_time: c.last_attempt_time.map(ts),
        failed_attempts: i32::try_from(c.failed_attempts).unwrap_or(i32::MAX),
        device: c
            .device_id
            .as_ref()
            .map(|d| {
                format!(
                    "organizations/{}/clinics/{}/devices/{d}",
                    c.organization_id, c.clinic_id
                )
            })
            .unwrap_or_default(),
        issued_by: c.issued_by.clone(),
        code: String::new(),
        account_locked_until: locked_until.map(ts),
    }
}

/// Refuses an account that may not have a code: 管理者, or not 利用可.
pub(super) fn eligible(scope: &AccountScope) -> Result<()> {
    if scope.privilege == Privilege::Administrator {
        return Err(Error::AccountRoleRefused);
    }
    if scope.status != AccountStatus::Available {
        return Err(Error::AccountNotAvailable);
    }
    Ok(())
}

/// A new code and what storing it needs, made before the transaction (hashing is slow).
pub(super) struct Fresh {
    pub(super) code: ActivationCode,
    pub(super) id: String,
    pub(super) hash: String,
}

impl Fresh {
    pub(super) async fn make() -> Result<Self> {
        let code = ActivationCode::generate()?;
        let hash = code.hash().await?;
        Ok(Self {
            code,
            id: uuid::Uuid::now_v7().to_string(),
            hash,
        })
    }

    /// Returns what issuing it for `scope` at `now` stores.
    pub(super) fn for_account(
        &self,
        api: &Api,
        scope: &AccountScope,
        issued_by: &str,
        now: i64,
    ) -> NewCode {
        NewCode {
            id: self.id.clone(),
            organization_id: scope.organization_id.clone(),
            clinic_id: scope.clinic_id.clone(),
            account_id: scope.account_id.clone(),
            code_hash: self.hash.clone(),
            issued_by: issued_by.to_owned(),
            create_time: now,
            expire_time: api.expiry(now),
        }
    }
}

/// Records `result`'s refusal for the state of things (best effort: the refusal stands).
pub(super) async fn audited<T>(api: &Api, entry: &AuditEntry, result: Result<T>) -> Result<T> {
    let Err(e) = &result else { return result };
    let recorded = matches!(
        e,
        Error::AccountRoleRefused
            | Error::AccountNotAvailable
            | Error::AccountNotFound
            | Error::CodeNotFound
            | Error::CodeAlreadyUsed
            | Error::DeviceNotFound
            | Error::DeviceRevoked
            | Error::RequestIdReused
    );
    if recorded {
        let failed = AuditEntry {
            id: uuid::Uuid::now_v7(),
            ..entry.clone()
        }
        .outcome(Outcome::Failure, e.reason());
        if let Err(err) = audit::append_alone(&api.pool, &failed).await {
            tracing::error!(error = %err, "audit of a refused code change failed");
        }
    }
    result
}

impl Api {
    /// Returns when a code issued at `now` expires.
    pub(super) fn expiry(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.config.code_lifetime.as_micros()).unwrap_or(i64::MAX))
    }

    async fn issue_one(
        &self,
        req: &Request<pb::IssueActivationCodeRequest>,
    ) -> Result<pb::IssueActivationCodeResponse> {
        let actor = self.authorize(req, Permission::ManageCodes).await?;
        let r = req.get_ref();
        let account = AccountRef::parse(&r.account, "account")?;
        self.in_scope(
            req,
            &actor,
            actor.require_clinic(&account.organization, &account.clinic),
        )
        .await?;
        let call = CallKey::new(
            &actor,
            format!("{SERVICE}/IssueActivationCode"),
            &r.request_id,
            hash_without_id(r, |m| m.request_id.clear()),
        )?;
        let key = call.key();
        let now = self.now();
        let entry = AuditEntry::new(
            actor.audit(),
            &meta(req, &r.request_id),
            now,
            "activation_code.issue",
            ActionCode::Create,
        )
        .organization(account.organization.clone())
        .clinic(account.clinic_name())
        .target(account.name());
        let work = async {
            let scope = self.account.account_scope(&account.name()).await?;
            // The scope was checked on the name; the account must be where the name says.
            if scope.organization_id != account.organization || scope.clinic_id != account.clinic {
                return Err(Error::AccountNotFound);
            }
            eligible(&scope)?;
            let fresh = Fresh::make().await?;
            let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
            if let Some(bytes) = store::claim(&mut tx, key.as_ref(), now).await? {
                return Ok(pb::IssueActivationCodeResponse::decode(bytes.as_slice())?);
            }
            let issued_by = actor.audit().name;
            let stored =
                store_codes::issue_on(&mut tx, &fresh.for_account(self, &scope, &issued_by, now))
                    .await?;
            audit::append(&mut tx, &entry.clone().target(stored.name())).await?;
            let mut shown = code_to_pb(&stored, now, None);
            let kept = pb::IssueActivationCodeResponse {
                activation_code: Some(shown.clone()),
            };
            store::finish(tx, key.as_ref(), &kept.encode_to_vec()).await?;
            shown.code = fresh.code.display();
            Ok(pb::IssueActivationCodeResponse {
                activation_code: Some(shown),
            })
        };
        audited(self, &entry, work.await).await
    }

    async fn list(
        &self,
        req: &Request<pb::ListActivationCodesRequest>,
    ) -> Result<pb::ListActivationCodesResponse> {
        let actor = self.authorize(req, Permission::Read).await?;
        let r = req.get_ref();
        let parent = Parent::parse(&r.parent)?;
        let check = match &parent {
            Parent::Organization(org) => actor.require_organization(org),
            Parent::Clinic(org, clinic) => actor.require_clinic(org, clinic),
            Parent::Account(a) => actor.require_clinic(&a.organization, &a.clinic),
        };
        self.in_scope(req, &actor, check).await?;
        let size = mynafleet_kit::page::page_size(r.page_size)
            .map_err(|d| Error::field("page_size", d))?;
        let after = match mynafleet_kit::page::decode_token(PAGE_TAG, &r.page_token) {
            Ok(None) => None,
            Ok(Some(last)) => Some(CodeCursor::decode(&last).ok_or(Error::InvalidPageToken)?),
            Err(()) => return Err(Error::InvalidPageToken),
        };
        let listing = match &parent {
            Parent::Organization(org) => CodeListing {
                organization_id: org,
                clinic_id: None,
                account_id: None,
                only_clinics: actor.clinic_filter(),
            },
            Parent::Clinic(org, clinic) => CodeListing {
                organization_id: org,
                clinic_id: Some(clinic),
                account_id: None,
                only_clinics: None,
            },
            Parent::Account(a) => CodeListing {
                organization_id: &a.organization,
                clinic_id: Some(&a.clinic),
                account_id: Some(&a.account),
                only_clinics: None,
            },
        };
        let (found, next) =
            store_codes::list_codes(&self.pool, &listing, after.as_ref(), size).await?;
        let now = self.now();
        let mut conn = self.pool.acquire().await?;
        let mut locked: HashMap<String, Option<i64>> = HashMap::new();
        let mut out = Vec::with_capacity(found.len());
        for c in &found {
            let scope = locks::account_scope(&c.organization_id, &c.account_id);
            let until = match locked.get(&scope) {
                Some(u) => *u,
                None => {
                    let u = locks::locked_until_on(&mut conn, &scope, now).await?;
                    locked.insert(scope, u);
                    u
                }
            };
            out.push(code_to_pb(c, now, until));
        }
        Ok(pb::ListActivationCodesResponse {
            activation_codes: out,
            next_page_token: next
                .map(|c| mynafleet_kit::page::encode_token(PAGE_TAG, &c.encode()))
                .unwrap_or_default(),
        })
    }

    async fn revoke(
        &self,
        req: &Request<pb::RevokeActivationCodeRequest>,
    ) -> Result<pb::RevokeActivationCodeResponse> {
        let actor = self.authorize(req, Permission::ManageCodes).await?;
        let r = req.get_ref();
        let (account, id) = parse_code_name(&r.name)?;
        self.in_scope(
            req,
            &actor,
            actor.require_clinic(&account.organization, &account.clinic),
        )
        .await?;
        let call = CallKey::new(
            &actor,
            format!("{SERVICE}/RevokeActivationCode"),
            &r.request_id,
            hash_without_id(r, |m| m.request_id.clear()),
        )?;
        let key = call.key();
        let now = self.now();
        let entry = AuditEntry::new(
            actor.audit(),
            &meta(req, &r.request_id),
            now,
            "activation_code.revoke",
            ActionCode::Delete,
        )
        .organization(account.organization.clone())
        .clinic(account.clinic_name())
        .target(r.name.clone());
        let work = async {
            let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
            if let Some(bytes) = store::claim(&mut tx, key.as_ref(), now).await? {
                return Ok(pb::RevokeActivationCodeResponse::decode(bytes.as_slice())?);
            }
            let found = store_codes::code_on(&mut tx, &account.organization, &id).await?;
            if found.clinic_id != account.clinic || found.account_id != account.account {
                return Err(Error::CodeNotFound);
            }
            let was = found.state;
            let revoked = store_codes::revoke_on(&mut tx, &account.organization, &id, now).await?;
            if was != revoked.state {
                audit::append(&mut tx, &entry).await?;
            }
            let reply = pb::RevokeActivationCodeResponse {
                activation_code: Some(code_to_pb(&revoked, now, None)),
            };
            store::finish(tx, key.as_ref(), &reply.encode_to_vec()).await?;
            Ok(reply)
        };
        audited(self, &entry, work.await).await
    }
}

#[tonic::async_trait]
impl pb::activation_code_service_server::ActivationCodeService for Api {
    async fn issue_activation_code(
        &self,
        req: Request<pb::IssueActivationCodeRequest>,
    ) -> Result<Response<pb::IssueActivationCodeResponse>, Status> {
        Ok(Response::new(self.issue_one(&req).await?))
    }

    async fn list_activation_codes(
        &self,
        req: Request<pb::ListActivationCodesRequest>,
    ) -> Result<Response<pb::ListActivationCodesResponse>, Status> {
        Ok(Response::new(self.list(&req).await?))
    }

    async fn revoke_activation_code(
        &self,
        req: Request<pb::RevokeActivationCodeRequest>,
    ) -> Result<Response<pb::RevokeActivationCodeResponse>, Status> {
        Ok(Response::new(self.revoke(&req).await?))
    }

    async fn unlock_activation(
        &self,
        req: Request<pb::UnlockActivationRequest>,
    ) -> Result<Response<pb::UnlockActivationResponse>, Status> {
        Ok(Response::new(self.unlock(&req).await?))
    }
}

#[cfg(test)]
mod tests;
