//! `DeviceAccountService`: issue, read, list and change the device accounts of the clinics
//! in the caller's scope. Generated passwords and activation codes appear once, on the
//! ユーザ設定情報 sheet of the response that made them; the copy kept for request-id replays
//! has them blank.

use super::sheets::{self, Secrets};
use super::{Api, digest, meta, reply, request_id, request_key as key, ts};
use crate::audit::{self, ActionCode, AuditEntry, Outcome};
use crate::auth::{Actor, Permission};
use crate::device_account::{
    self, AccountId, AccountName, AccountStatus, DeviceAccount, Note, Privilege,
};
use crate::error::{Error, Result};
use crate::names::{ClinicName, ClinicParent};
use crate::organization;
use crate::store::Idempotent;
use crate::store::device_accounts::{self as store, AccountListing, Issued};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::device_account_service_server::DeviceAccountService;

const PAGE_TAG: &str = "account";

/// Passes `result` through; a refusal for the state of things (a precondition, a taken
/// value) is recorded as a failed attempt of `audit`'s action, since its transaction wrote
/// nothing.
pub(super) async fn audited<T>(api: &Api, audit: &AuditEntry, result: Result<T>) -> Result<T> {
    let reason = match &result {
        Err(Error::Precondition { reason, .. } | Error::Taken { reason, .. }) => *reason,
        _ => return result,
    };
    let entry = AuditEntry {
        id: uuid::Uuid::now_v7(),
        ..audit.clone()
    }
    .outcome(Outcome::Failure, reason);
    if let Err(e) = audit::append_alone(&api.pool, &entry).await {
        tracing::error!(error = %e, "audit of a refused change failed");
    }
    result
}

/// Decodes a page token of the list tagged `tag` with `parse`; empty for the first page.
pub(super) fn page_token<T>(
    tag: &str,
    token: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>> {
    match mynafleet_kit::page::decode_token(tag, token) {
        Ok(None) => Ok(None),
        Ok(Some(last)) => parse(&last).map(Some).ok_or(Error::InvalidPageToken),
        Err(()) => Err(Error::InvalidPageToken),
    }
}

/// Returns the request hash of `msg` without its request id.
pub(super) fn hash_without_id<M: Message + Clone>(msg: &M, clear: impl FnOnce(&mut M)) -> Vec<u8> {
    let mut m = msg.clone();
    clear(&mut m);
    digest(&m)
}

pub(super) fn privilege_to_pb(p: Privilege) -> pb::Privilege {
    match p {
        Privilege::General => pb::Privilege::General,
        Privilege::MedicalInfo => pb::Privilege::MedicalInfo,
        Privilege::Administrator => pb::Privilege::Administrator,
    }
}

/// Parses a wire 権限区分; `None` when unspecified.
pub(super) fn privilege_from_pb(raw: i32, field: &str) -> Result<Option<Privilege>> {
    Ok(match pb::Privilege::try_from(raw) {
        Ok(pb::Privilege::Unspecified) => None,
        Ok(pb::Privilege::General) => Some(Privilege::General),
        Ok(pb::Privilege::MedicalInfo) => Some(Privilege::MedicalInfo),
        Ok(pb::Privilege::Administrator) => Some(Privilege::Administrator),
        Err(_) => return Err(Error::field(field, format!("{raw} is not a 権限区分"))),
    })
}

fn status_to_pb(s: AccountStatus) -> pb::DeviceAccountStatus {
    match s {
        AccountStatus::Available => pb::DeviceAccountStatus::Available,
        AccountStatus::Suspended => pb::DeviceAccountStatus::Suspended,
        AccountStatus::Ended => pb::DeviceAccountStatus::Ended,
    }
}

fn status_from_pb(raw: i32) -> Result<Option<AccountStatus>> {
    Ok(match pb::DeviceAccountStatus::try_from(raw) {
        Ok(pb::DeviceAccountStatus::Unspecified) => None,
        Ok(pb::DeviceAccountStatus::Available) => Some(AccountStatus::Available),
        Ok(pb::DeviceAccountStatus::Suspended) => Some(AccountStatus::Suspended),
        Ok(pb::DeviceAccountStatus::Ended) => Some(AccountStatus::Ended),
        Err(_) => return Err(Error::field("status", format!("{raw} is not a status"))),
    })
}

/// Returns the wire form of an account.
pub(super) fn account_to_pb(a: &DeviceAccount) -> pb::DeviceAccount {
    pb::DeviceAccount {
        name: a.name.name(),
        account_id: a.name.id.to_string(),
        privilege: privilege_to_pb(a.privilege).into(),
        status: status_to_pb(a.status).into(),
        start_date: a.start_date.clone(),
        suspend_date: a.suspend_date.clone().unwrap_or_default(),
        end_date: a.end_date.clone().unwrap_or_default(),
        note: a.note.as_str().to_owned(),
        must_change_password: a.must_change_password,
        institution_code: a.institution_code.clone(),
        create_time: Some(ts(a.create_time)),
        update_time: Some(ts(a.update_time)),
        etag: a.etag(),
        locked: a.locked,
    }
}

impl Api {
    /// Authorizes a request on account `name` (parsed from `raw` as `field`): permission,
    /// then clinic scope.
    async fn account_scope<T>(
        &self,
        req: &Request<T>,
        permission: Permission,
        raw: &str,
        field: &str,
    ) -> Result<(Actor, AccountName)> {
        let actor = self.authorize(req, permission).await?;
        let name = AccountName::parse(raw, field)?;
        self.in_scope(
            req,
            &actor,
            actor.require_clinic(name.clinic.organization, name.clinic.clinic),
        )
        .await?;
        Ok((actor, name))
    }

    /// Starts the audit record of `action` on account `name`.
    fn account_audit<T>(
        &self,
        req: &Request<T>,
        actor: &Actor,
        request_id: &str,
        action: &'static str,
        code: ActionCode,
        name: &AccountName,
    ) -> AuditEntry {
        AuditEntry::new(actor, &meta(req, request_id), self.now(), action, code)
            .organization(name.clinic.organization)
            .clinic(name.clinic.name())
            .target(name.name())
    }
}

/// Which simple change an RPC makes.
#[derive(Clone, Copy)]
enum Simple {
    Suspend,
    Resume,
    Unlock,
}

impl Api {
    /// Runs suspend, resume or unlock for the account `name` named in `req`.
    async fn simple_change<T: Message + Clone>(
        &self,
        req: Request<T>,
        which: Simple,
        name_of: impl Fn(&T) -> (&str, &str),
        clear_id: impl FnOnce(&mut T),
    ) -> Result<Idempotent<DeviceAccount>> {
        let (raw_name, raw_rid) = name_of(req.get_ref());
        let (raw_name, raw_rid) = (raw_name.to_owned(), raw_rid.to_owned());
        let (actor, name) = self
            .account_scope(&req, Permission::WriteAccounts, &raw_name, "name")
            .await?;
        let (action, code, method) = match which {
            Simple::Suspend => (
                "device_account.suspend",
                ActionCode::Update,
                "/mynafleet.account.v1.DeviceAccountService/SuspendDeviceAccount",
            ),
            Simple::Resume => (
                "device_account.resume",
                ActionCode::Update,
                "/mynafleet.account.v1.DeviceAccountService/ResumeDeviceAccount",
            ),
            Simple::Unlock => (
                "device_account.unlock",
                ActionCode::Update,
                "/mynafleet.account.v1.DeviceAccountService/UnlockDeviceAccount",
            ),
        };
        let audit = self.account_audit(&req, &actor, &raw_rid, action, code, &name);
        let rid = request_id(&raw_rid)?;
        let hash = hash_without_id(req.get_ref(), clear_id);
        let caller = actor.key();
        let key = key(&caller, method, rid.as_deref(), &hash);
        let encode = |a: &DeviceAccount| -> Vec<u8> {
            // Suspend, resume and unlock responses share one shape.
            pb::SuspendDeviceAccountResponse {
                device_account: Some(account_to_pb(a)),
            }
            .encode_to_vec()
        };
        let now = self.now();
        let result = match which {
            Simple::Suspend => {
                store::suspend_device_account(
                    &self.pool,
                    now,
                    name,
                    audit.clone(),
                    key.as_ref(),
                    encode,
                )
                .await
            }
            Simple::Resume => {
                store::resume_device_account(
                    &self.pool,
                    now,
                    name,
                    audit.clone(),
                    key.as_ref(),
                    encode,
                )
                .await
            }
            Simple::Unlock => {
                store::unlock_device_account(
                    &self.pool,
                    now,
                    name,
                    audit.clone(),
                    key.as_ref(),
                    encode,
                )
                .await
            }
        };
        audited(self, &audit, result).await
    }
}

/// Returns the account of a simple change's outcome (a replay decodes the stored response,
/// which all simple changes encode alike).
fn simple_account(outcome: Idempotent<DeviceAccount>) -> Result<Option<pb::DeviceAccount>> {
    Ok(match outcome {
        Idempotent::Done(a) => Some(account_to_pb(&a)),
        Idempotent::Replayed(bytes) => {
            pb::SuspendDeviceAccountResponse::decode(bytes.as_slice())?.device_account
        }
    })
}

#[tonic::async_trait]
impl DeviceAccountService for Api {
    async fn create_device_account(
        &self,
        req: Request<pb::CreateDeviceAccountRequest>,
    ) -> Result<Response<pb::CreateDeviceAccountResponse>, Status> {
        let actor = self.authorize(&req, Permission::WriteAccounts).await?;
        let clinic = ClinicName::parse(&req.get_ref().parent, "parent")?;
        self.in_scope(
            &req,
            &actor,
            actor.require_clinic(clinic.organization, clinic.clinic),
        )
        .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "device_account.issue",
            ActionCode::Create,
        )
        .organization(clinic.organization)
        .clinic(clinic.name());
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let (privilege, note) = match &msg.device_account {
            Some(a) => (
                privilege_from_pb(a.privilege, "device_account.privilege")?
                    .unwrap_or(Privilege::General),
                Note::parse(&a.note, "device_account.note")?,
            ),
            None => (Privilege::General, Note::default()),
        };
        let mut creds = device_account::new_credentials(1).await?;
        let cred = creds
            .pop()
            .ok_or_else(|| Error::Secret("no credential".into()))?;
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let caller = actor.key();
        let method = "/mynafleet.account.v1.DeviceAccountService/CreateDeviceAccount";
        let key = key(&caller, method, rid.as_deref(), &hash);
        let respond = |i: &Issued, secrets: Option<Secrets<'_>>| pb::CreateDeviceAccountResponse {
            device_account: i.accounts.first().map(account_to_pb),
            sheet: sheets::sheets(self, &i.clinic, &i.accounts, secrets)
                .into_iter()
                .next(),
            sheets_missing_code: sheets::missing(&i.accounts, secrets),
        };
        let outcome = audited(
            self,
            &audit,
            store::create_device_account(
                &self.pool,
                self.now(),
                clinic,
                privilege,
                &note,
                cred.hash,
                audit.clone(),
                key.as_ref(),
                |i| respond(i, None).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(i) => {
                tracing::info!(clinic = %clinic.name(), "device account issued");
                let code_rid = sheets::code_request_id(&caller, method, rid.as_deref());
                let codes = self.issue_codes(&i.clinic, &i.accounts, &code_rid).await;
                respond(
                    &i,
                    Some(Secrets {
                        passwords: std::slice::from_ref(&cred.password),
                        codes: &codes,
                    }),
                )
            }
            Idempotent::Replayed(bytes) => {
                pb::CreateDeviceAccountResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn get_device_account(
        &self,
        req: Request<pb::GetDeviceAccountRequest>,
    ) -> Result<Response<pb::GetDeviceAccountResponse>, Status> {
        let raw = req.get_ref().name.clone();
        let (_, name) = self
            .account_scope(&req, Permission::ReadAccounts, &raw, "name")
            .await?;
        let account = store::get_device_account(&self.pool, name).await?;
        Ok(Response::new(pb::GetDeviceAccountResponse {
            device_account: Some(account_to_pb(&account)),
        }))
    }

    async fn list_device_accounts(
        &self,
        req: Request<pb::ListDeviceAccountsRequest>,
    ) -> Result<Response<pb::ListDeviceAccountsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadAccounts).await?;
        let msg = req.get_ref();
        let parent = ClinicParent::parse(&msg.parent, "parent")?;
        let scope = match parent.clinic {
            Some(c) => actor.require_clinic(parent.organization, c),
            None => actor.require_organization(parent.organization),
        };
        self.in_scope(&req, &actor, scope).await?;
        let size = organization::page_size(msg.page_size)?;
        let after = page_token(PAGE_TAG, &msg.page_token, |s| {
            AccountId::parse(s, "page_token").ok()
        })?;
        let listing = AccountListing {
            organization: parent.organization,
            clinic: parent.clinic,
            only: actor.clinic_filter(),
            status: status_from_pb(msg.status)?,
        };
        let (accounts, next) =
            store::list_device_accounts(&self.pool, &listing, after, size).await?;
        Ok(Response::new(pb::ListDeviceAccountsResponse {
            device_accounts: accounts.iter().map(account_to_pb).collect(),
            next_page_token: next
                .map(|id| mynafleet_kit::page::encode_token(PAGE_TAG, &id.as_stored()))
                .unwrap_or_default(),
        }))
    }

    async fn update_device_account(
        &self,
        req: Request<pb::UpdateDeviceAccountRequest>,
    ) -> Result<Response<pb::UpdateDeviceAccountResponse>, Status> {
        let msg = req.get_ref();
        let a = msg
            .device_account
            .as_ref()
            .ok_or_else(|| Error::field("device_account", "is required"))?;
        let raw = a.name.clone();
        let (actor, name) = self
            .account_scope(&req, Permission::WriteAccounts, &raw, "device_account.name")
            .await?;
        let msg = req.get_ref();
        let a = msg
            .device_account
            .as_ref()
            .ok_or_else(|| Error::field("device_account", "is required"))?;
        let paths: &[String] = msg.update_mask.as_ref().map_or(&[], |m| &m.paths);
        if let Some(other) = paths.iter().find(|p| p.as_str() != "note") {
            return Err(Error::field(
                "update_mask",
                format!("{other:?} is not updatable (only note)"),
            )
            .into());
        }
        let note = Note::parse(&a.note, "device_account.note")?;
        let expected_revision = if a.etag.is_empty() {
            None
        } else {
            Some(DeviceAccount::parse_etag(&a.etag).ok_or_else(|| {
                Error::field("device_account.etag", "is not an etag this server returned")
            })?)
        };
        let audit = self.account_audit(
            &req,
            &actor,
            &msg.request_id,
            "device_account.update",
            ActionCode::Update,
            &name,
        );
        let rid = request_id(&msg.request_id)?;
        let hash = hash_without_id(msg, |m| m.request_id.clear());
        let caller = actor.key();
        let key = key(
            &caller,
            "/mynafleet.account.v1.DeviceAccountService/UpdateDeviceAccount",
            rid.as_deref(),
            &hash,
        );
        let respond = |a: &DeviceAccount| pb::UpdateDeviceAccountResponse {
            device_account: Some(account_to_pb(a)),
        };
        let outcome = store::update_device_account(
            &self.pool,
            self.now(),
            name,
            &note,
            expected_revision,
            audit,
            key.as_ref(),
            |a| respond(a).encode_to_vec(),
        )
        .await?;
        Ok(Response::new(reply(outcome, |a| respond(&a))?))
    }

    async fn suspend_device_account(
        &self,
        req: Request<pb::SuspendDeviceAccountRequest>,
    ) -> Result<Response<pb::SuspendDeviceAccountResponse>, Status> {
        let outcome = self
            .simple_change(
                req,
                Simple::Suspend,
                |m| (&m.name, &m.request_id),
                |m| m.request_id.clear(),
            )
            .await?;
        Ok(Response::new(pb::SuspendDeviceAccountResponse {
            device_account: simple_account(outcome)?,
        }))
    }

    async fn resume_device_account(
        &self,
        req: Request<pb::ResumeDeviceAccountRequest>,
    ) -> Result<Response<pb::ResumeDeviceAccountResponse>, Status> {
        let outcome = self
            .simple_change(
                req,
                Simple::Resume,
                |m| (&m.name, &m.request_id),
                |m| m.request_id.clear(),
            )
            .await?;
        Ok(Response::new(pb::ResumeDeviceAccountResponse {
            device_account: simple_account(outcome)?,
        }))
    }

    async fn reset_device_account_password(
        &self,
        req: Request<pb::ResetDeviceAccountPasswordRequest>,
    ) -> Result<Response<pb::ResetDeviceAccountPasswordResponse>, Status> {
        let raw = req.get_ref().name.clone();
        let (actor, name) = self
            .account_scope(&req, Permission::WriteAccounts, &raw, "name")
            .await?;
        let audit = self.account_audit(
            &req,
            &actor,
            &req.get_ref().request_id,
            "device_account.reset_password",
            ActionCode::Update,
            &name,
        );
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let mut creds = device_account::new_credentials(1).await?;
        let cred = creds
            .pop()
            .ok_or_else(|| Error::Secret("no credential".into()))?;
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let caller = actor.key();
        let method = "/mynafleet.account.v1.DeviceAccountService/ResetDeviceAccountPassword";
        let key = key(&caller, method, rid.as_deref(), &hash);
        let respond =
            |i: &Issued, secrets: Option<Secrets<'_>>| pb::ResetDeviceAccountPasswordResponse {
                device_account: i.accounts.first().map(account_to_pb),
                sheet: sheets::sheets(self, &i.clinic, &i.accounts, secrets)
                    .into_iter()
                    .next(),
                sheets_missing_code: sheets::missing(&i.accounts, secrets),
            };
        let outcome = audited(
            self,
            &audit,
            store::reset_device_account_password(
                &self.pool,
                self.now(),
                name,
                cred.hash,
                audit.clone(),
                key.as_ref(),
                |i| respond(i, None).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(i) => {
                let code_rid = sheets::code_request_id(&caller, method, rid.as_deref());
                let codes = self.issue_codes(&i.clinic, &i.accounts, &code_rid).await;
                respond(
                    &i,
                    Some(Secrets {
                        passwords: std::slice::from_ref(&cred.password),
                        codes: &codes,
                    }),
                )
            }
            Idempotent::Replayed(bytes) => {
                pb::ResetDeviceAccountPasswordResponse::decode(bytes.as_slice())
                    .map_err(Error::from)?
            }
        }))
    }

    async fn unlock_device_account(
        &self,
        req: Request<pb::UnlockDeviceAccountRequest>,
    ) -> Result<Response<pb::UnlockDeviceAccountResponse>, Status> {
        let outcome = self
            .simple_change(
                req,
                Simple::Unlock,
                |m| (&m.name, &m.request_id),
                |m| m.request_id.clear(),
            )
            .await?;
        Ok(Response::new(pb::UnlockDeviceAccountResponse {
            device_account: simple_account(outcome)?,
        }))
    }
}
