//! `ClinicService`: org_admins register clinics; operators read the clinics in their scope;
//! org_admins, and clinic_admins for their own clinics, update them (only an org_admin sets
//! the bank digits that a 利用開始申請 is checked against).

use super::device_accounts::{audited, hash_without_id, page_token};
use super::{Api, meta, reply, request_id, ts};
use crate::audit::{ActionCode, AuditEntry};
use crate::auth::{Permission, Role};
use crate::clinic::{self, BankDigits, Clinic, ClinicInput, ClinicKind, ClinicUpdate, NewClinic};
use crate::device_account::JapanDate;
use crate::error::{Error, Result};
use crate::names::ClinicName;
use crate::organization::{self, DisplayName, OrganizationId};
use crate::store::{Idempotent, clinics as store};
use mynafleet_kit::idempotency::RequestKey;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::clinic_service_server::ClinicService;
use uuid::Uuid;

const PAGE_TAG: &str = "clinic";

fn kind_to_pb(k: ClinicKind) -> pb::ClinicKind {
    match k {
        ClinicKind::Medical => pb::ClinicKind::Medical,
        ClinicKind::Dental => pb::ClinicKind::Dental,
        ClinicKind::Pharmacy => pb::ClinicKind::Pharmacy,
        ClinicKind::HomeNursing => pb::ClinicKind::HomeNursing,
        ClinicKind::Treatment => pb::ClinicKind::Practitioner,
        ClinicKind::Midwifery => pb::ClinicKind::Midwifery,
        ClinicKind::HealthCheckup => pb::ClinicKind::HealthCheckup,
    }
}

fn kind_from_pb(raw: i32) -> Result<Option<ClinicKind>> {
    Ok(match pb::ClinicKind::try_from(raw) {
        Ok(pb::ClinicKind::Unspecified) => None,
        Ok(pb::ClinicKind::Medical) => Some(ClinicKind::Medical),
        Ok(pb::ClinicKind::Dental) => Some(ClinicKind::Dental),
        Ok(pb::ClinicKind::Pharmacy) => Some(ClinicKind::Pharmacy),
        Ok(pb::ClinicKind::HomeNursing) => Some(ClinicKind::HomeNursing),
        Ok(pb::ClinicKind::Practitioner) => Some(ClinicKind::Treatment),
        Ok(pb::ClinicKind::Midwifery) => Some(ClinicKind::Midwifery),
        Ok(pb::ClinicKind::HealthCheckup) => Some(ClinicKind::HealthCheckup),
        Err(_) => return Err(Error::field("clinic.kind", format!("{raw} is not a kind"))),
    })
}

/// Returns the wire form of a clinic (bank digits are never part of it).
pub(super) fn to_pb(c: &Clinic) -> pb::Clinic {
    pb::Clinic {
        name: c.name.name(),
        kind: kind_to_pb(c.kind).into(),
        institution_code: c
            .institution_code
            .as_ref()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        registration_number: c
            .registration_number
            .as_ref()
            .map(|x| x.as_str().to_owned())
            .unwrap_or_default(),
        display_name: c.display_name.as_str().to_owned(),
        prefecture: i32::from(c.prefecture),
        home_visit_enabled: c.home_visit_enabled,
        operation_start_date: c.operation_start_date.clone().unwrap_or_default(),
        bank_account_last4: String::new(),
        bank_account_registered: c.bank_account_registered,
        warnings: c.warnings.clone(),
        create_time: Some(ts(c.create_time)),
        update_time: Some(ts(c.update_time)),
        etag: c.etag(),
    }
}

fn new_clinic(api: &Api, org: OrganizationId, c: &pb::Clinic) -> Result<NewClinic> {
    let input = ClinicInput {
        kind: kind_from_pb(c.kind)?,
        institution_code: &c.institution_code,
        registration_number: &c.registration_number,
        display_name: &c.display_name,
        prefecture: c.prefecture,
        home_visit_enabled: c.home_visit_enabled,
        operation_start_date: &c.operation_start_date,
        bank_account_last4: &c.bank_account_last4,
    };
    NewClinic::parse(
        org,
        &input,
        JapanDate::at(api.now()),
        &api.config.keys.reference,
    )
}

fn update_from(api: &Api, req: &pb::UpdateClinicRequest) -> Result<ClinicUpdate> {
    let c = req
        .clinic
        .as_ref()
        .ok_or_else(|| Error::field("clinic", "is required"))?;
    let name = ClinicName::parse(&c.name, "clinic.name")?;
    let paths: &[String] = req.update_mask.as_ref().map_or(&[], |m| &m.paths);
    if paths.is_empty() {
        return Err(Error::field(
            "update_mask",
            "must name the fields to change: display_name, home_visit_enabled, \
             operation_start_date, bank_account_last4",
        ));
    }
    let mut update = ClinicUpdate {
        name,
        display_name: None,
        home_visit_enabled: None,
        operation_start_date: None,
        bank: None,
        expected_revision: None,
    };
    for p in paths {
        match p.as_str() {
            "display_name" => {
                update.display_name =
                    Some(DisplayName::parse(&c.display_name, "clinic.display_name")?);
            }
            "home_visit_enabled" => update.home_visit_enabled = Some(c.home_visit_enabled),
            "operation_start_date" => {
                update.operation_start_date = Some(clinic::operation_start_date(
                    &c.operation_start_date,
                    JapanDate::at(api.now()),
                    "clinic.operation_start_date",
                )?);
            }
            "bank_account_last4" => {
                update.bank = Some(
                    BankDigits::parse(&c.bank_account_last4, "clinic.bank_account_last4")?
                        .keyed_hash(&api.config.keys.reference, name.organization),
                );
            }
            other => {
                return Err(Error::field(
                    "update_mask",
                    format!(
                        "{other:?} is not updatable (display_name, home_visit_enabled, \
                         operation_start_date, bank_account_last4)"
                    ),
                ));
            }
        }
    }
    if !c.etag.is_empty() {
        update.expected_revision =
            Some(Clinic::parse_etag(&c.etag).ok_or_else(|| {
                Error::field("clinic.etag", "is not an etag this server returned")
            })?);
    }
    Ok(update)
}

#[tonic::async_trait]
impl ClinicService for Api {
    async fn create_clinic(
        &self,
        req: Request<pb::CreateClinicRequest>,
    ) -> Result<Response<pb::CreateClinicResponse>, Status> {
        let actor = self.authorize(&req, Permission::CreateClinics).await?;
        let org = OrganizationId::parse_name(&req.get_ref().parent, "parent")?;
        self.in_scope(&req, &actor, actor.require_organization(org))
            .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "clinic.create",
            ActionCode::Create,
        )
        .organization(org);
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let clinic = msg
            .clinic
            .as_ref()
            .ok_or_else(|| Error::field("clinic", "is required"))?;
        let new = new_clinic(self, org, clinic)?;
        let caller = actor.key();
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method: "/mynafleet.account.v1.ClinicService/CreateClinic",
            request_id,
            request_hash: &hash,
        });
        let respond = |c: &Clinic| pb::CreateClinicResponse {
            clinic: Some(to_pb(c)),
        };
        let outcome = audited(
            self,
            &audit,
            store::create_clinic(
                &self.pool,
                self.now(),
                &new,
                audit.clone(),
                key.as_ref(),
                |c| respond(c).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(c) => {
                tracing::info!(clinic = %c.name.name(), "clinic registered");
                respond(&c)
            }
            Idempotent::Replayed(bytes) => {
                pb::CreateClinicResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn get_clinic(
        &self,
        req: Request<pb::GetClinicRequest>,
    ) -> Result<Response<pb::GetClinicResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadClinics).await?;
        let name = ClinicName::parse(&req.get_ref().name, "name")?;
        self.in_scope(
            &req,
            &actor,
            actor.require_clinic(name.organization, name.clinic),
        )
        .await?;
        let clinic = store::get_clinic(&self.pool, name).await?;
        Ok(Response::new(pb::GetClinicResponse {
            clinic: Some(to_pb(&clinic)),
        }))
    }

    async fn list_clinics(
        &self,
        req: Request<pb::ListClinicsRequest>,
    ) -> Result<Response<pb::ListClinicsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadClinics).await?;
        let msg = req.get_ref();
        let org = OrganizationId::parse_name(&msg.parent, "parent")?;
        self.in_scope(&req, &actor, actor.require_organization(org))
            .await?;
        let size = organization::page_size(msg.page_size)?;
        let after = page_token(PAGE_TAG, &msg.page_token, |s| Uuid::parse_str(s).ok())?;
        let (clinics, next) =
            store::list_clinics(&self.pool, org, actor.clinic_filter(), after, size).await?;
        Ok(Response::new(pb::ListClinicsResponse {
            clinics: clinics.iter().map(to_pb).collect(),
            next_page_token: next
                .map(|u| mynafleet_kit::page::encode_token(PAGE_TAG, &u.to_string()))
                .unwrap_or_default(),
        }))
    }

    async fn update_clinic(
        &self,
        req: Request<pb::UpdateClinicRequest>,
    ) -> Result<Response<pb::UpdateClinicResponse>, Status> {
        let actor = self.authorize(&req, Permission::UpdateClinics).await?;
        let update = update_from(self, req.get_ref())?;
        let name = update.name;
        self.in_scope(
            &req,
            &actor,
            actor.require_clinic(name.organization, name.clinic),
        )
        .await?;
        if update.bank.is_some()
            && actor
                .principal()
                .is_some_and(|p| p.role == Role::ClinicAdmin)
        {
            // The bank digits are what a 利用開始申請 is checked against, so the clinic's own
            // admin, who files that application, cannot set them.
            self.audit_denied(&req, &actor, "ROLE_REFUSED").await;
            return Err(Error::RoleRefused.into());
        }
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "clinic.update",
            ActionCode::Update,
        )
        .organization(name.organization)
        .clinic(name.name())
        .target(name.name());
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let caller = actor.key();
        let hash = hash_without_id(&msg, |m| m.request_id.clear());
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method: "/mynafleet.account.v1.ClinicService/UpdateClinic",
            request_id,
            request_hash: &hash,
        });
        let respond = |c: &Clinic| pb::UpdateClinicResponse {
            clinic: Some(to_pb(c)),
        };
        let outcome = audited(
            self,
            &audit,
            store::update_clinic(
                &self.pool,
                self.now(),
                &update,
                audit.clone(),
                key.as_ref(),
                |c| respond(c).encode_to_vec(),
            )
            .await,
        )
        .await?;
        Ok(Response::new(reply(outcome, |c| respond(&c))?))
    }
}
