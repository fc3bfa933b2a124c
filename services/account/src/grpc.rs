//! The account service's gRPC edge: access table, tonic trait impls, and conversions between
//! wire and domain types. The only module that imports `mynafleet_proto`.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::organization::{
    self, DisplayName, NewOrganization, Organization, OrganizationId, PageToken,
};
use crate::store::{self, Idempotent, OrganizationUpdate};
use mynafleet_kit::auth::{AccessPolicy, Caller, CallerKind};
use mynafleet_kit::clock::{Clock, from_micros};
use mynafleet_kit::grpc::Frame;
use mynafleet_kit::idempotency::RequestKey;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::organization_service_server::{OrganizationService, OrganizationServiceServer};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

const ORGANIZATION_SERVICE: &str = "mynafleet.account.v1.OrganizationService";

/// Returns the frame and routes of the account service.
pub(crate) fn frame(config: Config, pool: AnyPool) -> (Frame, tonic::service::Routes) {
    let policy = AccessPolicy::new().allow(
        // Operators arrive with sessions (#3); until then only services manage organizations.
        &format!("/{ORGANIZATION_SERVICE}/*"),
        &[CallerKind::Service],
    );
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: config.tls,
        policy,
        health_names: &[ORGANIZATION_SERVICE],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    let api = Organizations {
        pool,
        clock: config.clock,
    };
    let routes = tonic::service::Routes::new(OrganizationServiceServer::new(api));
    (frame, routes)
}

#[derive(Debug)]
struct Organizations {
    pool: AnyPool,
    clock: Clock,
}

fn caller_key<T>(req: &Request<T>) -> String {
    // The identity layer admits no request without a caller; an absent one would be a
    // wiring bug, and it must not share another caller's idempotency keys.
    Caller::of(req).map_or_else(|| "unknown".to_owned(), Caller::key)
}

fn request_id(raw: &str) -> Result<Option<String>> {
    if raw.is_empty() {
        return Ok(None);
    }
    uuid::Uuid::parse_str(raw)
        .map(|u| Some(u.to_string()))
        .map_err(|_| Error::field("request_id", "must be a UUID (or empty)"))
}

fn digest(msg: &impl Message) -> Vec<u8> {
    Sha256::digest(msg.encode_to_vec()).to_vec()
}

fn to_pb(o: &Organization) -> pb::Organization {
    let ts = |micros: i64| {
        let t = from_micros(micros);
        mynafleet_proto::prost_types::Timestamp {
            seconds: t.unix_timestamp(),
            nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
        }
    };
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
impl OrganizationService for Organizations {
    async fn create_organization(
        &self,
        req: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let caller = caller_key(&req);
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
        let outcome = store::create_organization(
            &self.pool,
            self.clock.now_micros(),
            &new,
            key.as_ref(),
            |o| respond(o).encode_to_vec(),
        )
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
        let id = OrganizationId::parse_name(&req.get_ref().name, "name")?;
        let org = store::get_organization(&self.pool, id).await?;
        Ok(Response::new(pb::GetOrganizationResponse {
            organization: Some(to_pb(&org)),
        }))
    }

    async fn list_organizations(
        &self,
        req: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        let msg = req.get_ref();
        let size = organization::page_size(msg.page_size)?;
        let token = PageToken::decode(&msg.page_token)?;
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
        let caller = caller_key(&req);
        let msg = req.into_inner();
        let update = update_from(&msg)?;
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
        let outcome = store::update_organization(
            &self.pool,
            self.clock.now_micros(),
            &update,
            key.as_ref(),
            |o| respond(o).encode_to_vec(),
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(o) => respond(&o),
            Idempotent::Replayed(bytes) => {
                pb::UpdateOrganizationResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }
}
