//! `OrganizationService`: services create and list organizations; operators read their own
//! and org_admins rename it.

use super::{Api, digest, meta, reply, request_id, ts};
use crate::audit::{ActionCode, AuditEntry};
use crate::auth::Permission;
use crate::error::{Error, Result};
use crate::organization::{
    self, DisplayName, NewOrganization, Organization, OrganizationId, PageToken,
};
use crate::store::{self, Idempotent, OrganizationUpdate};
use mynafleet_kit::idempotency::RequestKey;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::organization_service_server::OrganizationService;

fn to_pb(o: &Organization) -> pb::Organization {
    pb::Organization {
        name: o.id.name(),
        display_name: o.display_name.as_str().to_owned(),
        create_time: Some(ts(o.create_time)),
        update_time: Some(ts(o.update_time)),
        etag: o.etag(),
    }
}

impl TryFrom<&pb::CreateOrganizationRequest> for NewOrganization {
    type Error = Error;

    fn try_from(req: &pb::CreateOrganizationRequest) -> Result<Self> {
        let org = req
            .organization
            .as_ref()
            .ok_or_else(|| Error::field("organization", "is required"))?;
        Ok(NewOrganization {
            display_name: DisplayName::parse(&org.display_name, "organization.display_name")?,
        })
    }
}

fn update_from(req: &pb::UpdateOrganizationRequest) -> Result<OrganizationUpdate> {
    let org = req
        .organization
        .as_ref()
        .ok_or_else(|| Error::field("organization", "is required"))?;
    let id = OrganizationId::parse_name(&org.name, "organization.name")?;
    let paths: Vec<&str> = match &req.update_mask {
        Some(m) if !m.paths.is_empty() => m.paths.iter().map(String::as_str).collect(),
        _ => vec!["display_name"],
    };
    let mut display_name = None;
    for p in paths {
        match p {
            "display_name" => {
                display_name = Some(DisplayName::parse(
                    &org.display_name,
                    "organization.display_name",
                )?);
            }
            other => {
                return Err(Error::field(
                    "update_mask",
                    format!("{other:?} is not an updatable field (only display_name)"),
                ));
            }
        }
    }
    let expected_revision = if org.etag.is_empty() {
        None
    } else {
        Some(Organization::parse_etag(&org.etag).ok_or_else(|| {
            Error::field("organization.etag", "is not an etag this server returned")
        })?)
    };
    Ok(OrganizationUpdate {
        id,
        display_name,
        expected_revision,
    })
}

#[tonic::async_trait]
impl OrganizationService for Api {
    async fn create_organization(
        &self,
        req: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadOrganization).await?;
        if actor.principal().is_some() {
            // Creating an organization is a deployment act (DESIGN.md §3.1).
            self.audit_denied(&req, &actor, "ROLE_REFUSED").await;
            return Err(Error::RoleRefused.into());
        }
        let caller = actor.key();
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "organization.create",
            ActionCode::Create,
        );
        let msg = req.into_inner();
        let new = NewOrganization::try_from(&msg)?;
        let rid = request_id(&msg.request_id)?;
        let hash = digest(&pb::CreateOrganizationRequest {
            request_id: String::new(),
            ..msg.clone()
        });
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method: "/mynafleet.account.v1.OrganizationService/CreateOrganization",
            request_id,
            request_hash: &hash,
        });
        let respond = |o: &Organization| pb::CreateOrganizationResponse {
            organization: Some(to_pb(o)),
        };
        let outcome =
            store::create_organization(&self.pool, self.now(), &new, audit, key.as_ref(), |o| {
                respond(o).encode_to_vec()
            })
            .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(o) => {
                tracing::info!(organization = %o.id.name(), "organization created");
                respond(&o)
            }
            Idempotent::Replayed(bytes) => {
                pb::CreateOrganizationResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn get_organization(
        &self,
        req: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadOrganization).await?;
        let id = OrganizationId::parse_name(&req.get_ref().name, "name")?;
        self.in_scope(&req, &actor, actor.require_organization(id))
            .await?;
        let org = store::get_organization(&self.pool, id).await?;
        Ok(Response::new(pb::GetOrganizationResponse {
            organization: Some(to_pb(&org)),
        }))
    }

    async fn list_organizations(
        &self,
        req: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadOrganization).await?;
        let msg = req.get_ref();
        let size = organization::page_size(msg.page_size)?;
        let token = PageToken::decode(&msg.page_token)?;
        if let Some(p) = actor.principal() {
            // An operator belongs to one organization and sees only that one.
            let own = store::get_organization(&self.pool, p.organization).await?;
            let first_page = token.is_none();
            return Ok(Response::new(pb::ListOrganizationsResponse {
                organizations: if first_page {
                    vec![to_pb(&own)]
                } else {
                    vec![]
                },
                next_page_token: String::new(),
            }));
        }
        let (orgs, next) = store::list_organizations(&self.pool, token, size).await?;
        Ok(Response::new(pb::ListOrganizationsResponse {
            organizations: orgs.iter().map(to_pb).collect(),
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        }))
    }

    async fn update_organization(
        &self,
        req: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        let actor = self.authorize(&req, Permission::WriteOrganization).await?;
        let caller = actor.key();
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "organization.update",
            ActionCode::Update,
        );
        let msg = req.into_inner();
        let update = update_from(&msg)?;
        self.in_scope_owned(&actor, actor.require_organization(update.id))
            .await?;
        let rid = request_id(&msg.request_id)?;
        let hash = digest(&pb::UpdateOrganizationRequest {
            request_id: String::new(),
            ..msg.clone()
        });
        let key = rid.as_deref().map(|request_id| RequestKey {
            caller: &caller,
            method: "/mynafleet.account.v1.OrganizationService/UpdateOrganization",
            request_id,
            request_hash: &hash,
        });
        let respond = |o: &Organization| pb::UpdateOrganizationResponse {
            organization: Some(to_pb(o)),
        };
        let outcome =
            store::update_organization(&self.pool, self.now(), &update, audit, key.as_ref(), |o| {
                respond(o).encode_to_vec()
            })
            .await?;
        Ok(Response::new(reply(outcome, |o| respond(&o))?))
    }
}
