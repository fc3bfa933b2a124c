//! `ApplicationService`: 利用開始申請 / 追加申請 / 解除申請, 申請状況 and review. Approval
//! returns the issued accounts' ユーザ設定情報 sheets once, each with its activation code
//! from the activation service; sheets that could not get one are listed as missing it.

use super::device_accounts::{
    account_to_pb, audited, hash_without_id, page_token, privilege_from_pb, privilege_to_pb,
};
use super::sheets::{self, Secrets};
use super::{Api, meta, reply, request_id, ts};
use crate::application::{
    Application, ApplicationFilter, ApplicationInput, ApplicationKind, ApplicationName,
    ApplicationStatus, NewApplication, RejectReason,
};
use crate::audit::{ActionCode, AuditEntry};
use crate::auth::{Actor, Permission};
use crate::device_account;
use crate::error::{Error, Result};
use crate::names::{ClinicName, ClinicParent};
use crate::organization;
use crate::store::Idempotent;
use crate::store::applications::{self as store, ApplicationListing, Approved};
use mynafleet_kit::idempotency::RequestKey;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::application_service_server::ApplicationService;
use uuid::Uuid;

const PAGE_TAG: &str = "application";

fn kind_to_pb(k: ApplicationKind) -> pb::ApplicationKind {
    match k {
        ApplicationKind::Start => pb::ApplicationKind::Start,
        ApplicationKind::Addition => pb::ApplicationKind::Addition,
        ApplicationKind::Release => pb::ApplicationKind::Release,
    }
}

fn kind_from_pb(raw: i32, field: &str) -> Result<Option<ApplicationKind>> {
    Ok(match pb::ApplicationKind::try_from(raw) {
        Ok(pb::ApplicationKind::Unspecified) => None,
        Ok(pb::ApplicationKind::Start) => Some(ApplicationKind::Start),
        Ok(pb::ApplicationKind::Addition) => Some(ApplicationKind::Addition),
        Ok(pb::ApplicationKind::Release) => Some(ApplicationKind::Release),
        Err(_) => return Err(Error::field(field, format!("{raw} is not a kind"))),
    })
}

fn status_to_pb(s: ApplicationStatus) -> pb::ApplicationStatus {
    match s {
        ApplicationStatus::Submitted => pb::ApplicationStatus::Submitted,
        ApplicationStatus::Approved => pb::ApplicationStatus::Approved,
        ApplicationStatus::Completed => pb::ApplicationStatus::Completed,
        ApplicationStatus::Rejected => pb::ApplicationStatus::Rejected,
    }
}

fn status_from_pb(raw: i32) -> Result<Option<ApplicationStatus>> {
    Ok(match pb::ApplicationStatus::try_from(raw) {
        Ok(pb::ApplicationStatus::Unspecified) => None,
        Ok(pb::ApplicationStatus::Submitted) => Some(ApplicationStatus::Submitted),
        Ok(pb::ApplicationStatus::Approved) => Some(ApplicationStatus::Approved),
        Ok(pb::ApplicationStatus::Completed) => Some(ApplicationStatus::Completed),
        Ok(pb::ApplicationStatus::Rejected) => Some(ApplicationStatus::Rejected),
        Err(_) => return Err(Error::field("status", format!("{raw} is not a status"))),
    })
}

/// Returns the wire form of an application (the bank digits are never part of it).
fn to_pb(a: &Application) -> pb::Application {
    pb::Application {
        name: a.name.name(),
        kind: kind_to_pb(a.kind).into(),
        status: status_to_pb(a.status).into(),
        staff_count: a.staff_count.unwrap_or(0),
        device_count: a.device_count.unwrap_or(0),
        bank_account_last4: String::new(),
        privilege: a
            .privilege
            .map(|p| privilege_to_pb(p).into())
            .unwrap_or_default(),
        accounts: a.account_names(&a.accounts),
        result_accounts: a.account_names(&a.result_accounts),
        reject_reason: a.reject_reason.clone().unwrap_or_default(),
        submitter: a.submitter.clone(),
        reviewer: a.reviewer.clone().unwrap_or_default(),
        submit_time: Some(ts(a.submit_time)),
        review_time: a.review_time.map(ts),
        complete_time: a.complete_time.map(ts),
        institution_code: a.institution_code.clone(),
    }
}

/// Returns whether approving `a` issued accounts (START, ADDITION) rather than ending them.
fn issues_accounts(a: &Approved) -> bool {
    a.application.kind != ApplicationKind::Release
}

impl Api {
    /// Authorizes a request on application `raw` (parsed as `field`): permission, then
    /// clinic scope.
    async fn application_scope<T>(
        &self,
        req: &Request<T>,
        permission: Permission,
        raw: &str,
        field: &str,
    ) -> Result<(Actor, ApplicationName)> {
        let actor = self.authorize(req, permission).await?;
        let name = ApplicationName::parse(raw, field)?;
        self.in_scope(
            req,
            &actor,
            actor.require_clinic(name.clinic.organization, name.clinic.clinic),
        )
        .await?;
        Ok((actor, name))
    }

    /// Returns the approval response: sheets (with the passwords and codes of `secrets`
    /// for the issued accounts, or blank ones for the stored replay) only when accounts were
    /// issued.
    fn approved_to_pb(
        &self,
        a: &Approved,
        secrets: Option<Secrets<'_>>,
    ) -> pb::ApproveApplicationResponse {
        let issued = issues_accounts(a);
        pb::ApproveApplicationResponse {
            application: Some(to_pb(&a.application)),
            device_accounts: a.accounts.iter().map(account_to_pb).collect(),
            sheets: if issued {
                sheets::sheets(self, &a.clinic, &a.accounts, secrets)
            } else {
                Vec::new()
            },
            sheets_missing_code: if issued {
                sheets::missing(&a.accounts, secrets)
            } else {
                Vec::new()
            },
        }
    }
}

#[tonic::async_trait]
impl ApplicationService for Api {
    async fn submit_application(
        &self,
        req: Request<pb::SubmitApplicationRequest>,
    ) -> Result<Response<pb::SubmitApplicationResponse>, Status> {
        let actor = self.authorize(&req, Permission::SubmitApplications).await?;
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
            "application.submit",
            ActionCode::Create,
        )
        .organization(clinic.organization)
        .clinic(clinic.name());
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let a = msg
            .application
            .as_ref()
            .ok_or_else(|| Error::field("application", "is required"))?;
        let input = ApplicationInput {
            kind: kind_from_pb(a.kind, "application.kind")?,
            staff_count: a.staff_count,
            device_count: a.device_count,
            bank_account_last4: &a.bank_account_last4,
            privilege: privilege_from_pb(a.privilege, "application.privilege")?,
            accounts: &a.accounts,
        };
        let new = NewApplication::parse(clinic, &input, &self.config.keys.reference)?;
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let caller = actor.key();
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method: "/mynafleet.account.v1.ApplicationService/SubmitApplication",
            request_id,
            request_hash: &hash,
        });
        let respond = |a: &Application| pb::SubmitApplicationResponse {
            application: Some(to_pb(a)),
        };
        let outcome = audited(
            self,
            &audit,
            store::submit_application(
                &self.pool,
                self.now(),
                &new,
                audit.clone(),
                key.as_ref(),
                |a| respond(a).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(a) => {
                tracing::info!(application = %a.name.name(), kind = a.kind.as_stored(), "application submitted");
                respond(&a)
            }
            Idempotent::Replayed(bytes) => {
                pb::SubmitApplicationResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn get_application(
        &self,
        req: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::GetApplicationResponse>, Status> {
        let raw = req.get_ref().name.clone();
        let (_, name) = self
            .application_scope(&req, Permission::ReadApplications, &raw, "name")
            .await?;
        let app = store::get_application(&self.pool, name).await?;
        Ok(Response::new(pb::GetApplicationResponse {
            application: Some(to_pb(&app)),
        }))
    }

    async fn list_applications(
        &self,
        req: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadApplications).await?;
        let msg = req.get_ref();
        let parent = ClinicParent::parse(&msg.parent, "parent")?;
        let scope = match parent.clinic {
            Some(c) => actor.require_clinic(parent.organization, c),
            None => actor.require_organization(parent.organization),
        };
        self.in_scope(&req, &actor, scope).await?;
        let size = organization::page_size(msg.page_size)?;
        let before = page_token(PAGE_TAG, &msg.page_token, |s| Uuid::parse_str(s).ok())?;
        let filter = ApplicationFilter {
            kind: kind_from_pb(msg.kind, "kind")?,
            status: status_from_pb(msg.status)?,
        };
        let listing = ApplicationListing {
            organization: parent.organization,
            clinic: parent.clinic,
            only: actor.clinic_filter(),
            filter: &filter,
        };
        let (apps, next) = store::list_applications(&self.pool, &listing, before, size).await?;
        Ok(Response::new(pb::ListApplicationsResponse {
            applications: apps.iter().map(to_pb).collect(),
            next_page_token: next
                .map(|u| mynafleet_kit::page::encode_token(PAGE_TAG, &u.to_string()))
                .unwrap_or_default(),
        }))
    }

    async fn approve_application(
        &self,
        req: Request<pb::ApproveApplicationRequest>,
    ) -> Result<Response<pb::ApproveApplicationResponse>, Status> {
        let raw = req.get_ref().name.clone();
        let (actor, name) = self
            .application_scope(&req, Permission::ReviewApplications, &raw, "name")
            .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "application.approve",
            ActionCode::Update,
        )
        .organization(name.clinic.organization)
        .clinic(name.clinic.name())
        .target(name.name());
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        // Passwords are made (and hashed, off the async threads) before the transaction, for
        // as many accounts as a still-pending application asks; a repeat or a refusal gets
        // none.
        let current = store::get_application(&self.pool, name).await?;
        let creds = if current.status == ApplicationStatus::Submitted {
            device_account::new_credentials(current.accounts_to_issue()).await?
        } else {
            Vec::new()
        };
        let (passwords, hashes): (Vec<_>, Vec<_>) =
            creds.into_iter().map(|c| (c.password, c.hash)).unzip();
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let caller = actor.key();
        let method = "/mynafleet.account.v1.ApplicationService/ApproveApplication";
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method,
            request_id,
            request_hash: &hash,
        });
        let outcome = audited(
            self,
            &audit,
            store::approve_application(
                &self.pool,
                self.now(),
                name,
                &hashes,
                audit.clone(),
                key.as_ref(),
                |a| self.approved_to_pb(a, None).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(a) => {
                tracing::info!(
                    application = %a.application.name.name(),
                    accounts = a.accounts.len(),
                    "application approved"
                );
                let codes = if issues_accounts(&a) {
                    let code_rid = sheets::code_request_id(&caller, method, rid.as_deref());
                    self.issue_codes(&a.clinic, &a.accounts, &code_rid).await
                } else {
                    Default::default()
                };
                self.approved_to_pb(
                    &a,
                    Some(Secrets {
                        passwords: &passwords,
                        codes: &codes,
                    }),
                )
            }
            Idempotent::Replayed(bytes) => {
                pb::ApproveApplicationResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn reject_application(
        &self,
        req: Request<pb::RejectApplicationRequest>,
    ) -> Result<Response<pb::RejectApplicationResponse>, Status> {
        let raw = req.get_ref().name.clone();
        let (actor, name) = self
            .application_scope(&req, Permission::ReviewApplications, &raw, "name")
            .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "application.reject",
            ActionCode::Update,
        )
        .organization(name.clinic.organization)
        .clinic(name.clinic.name())
        .target(name.name());
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let reason = RejectReason::parse(&msg.reason, "reason")?;
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let caller = actor.key();
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method: "/mynafleet.account.v1.ApplicationService/RejectApplication",
            request_id,
            request_hash: &hash,
        });
        let respond = |a: &Application| pb::RejectApplicationResponse {
            application: Some(to_pb(a)),
        };
        let outcome = audited(
            self,
            &audit,
            store::reject_application(
                &self.pool,
                self.now(),
                name,
                &reason,
                audit.clone(),
                key.as_ref(),
                |a| respond(a).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(reply(outcome, |a| respond(&a))?))
    }
}
