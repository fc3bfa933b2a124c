//! The activation service's gRPC edge: the access table, operator authorization, tonic
//! trait impls (one file per service) and conversions between wire and domain types. With
//! `client.rs`, the only module tree that imports `mynafleet_proto`.

mod activate;
mod codes;
mod devices;
mod internal;
mod presence;

#[cfg(test)]
mod fail_closed {
    mod served;
    mod tests;
}

use crate::audit::{self, ActionCode, AuditActor, AuditEntry, Outcome, RequestMeta};
use crate::auth::{OperatorCheck, Permission, Principal, role_allows};
use crate::client::AccountClient;
use crate::config::Config;
use crate::error::{Error, Result};
use mynafleet_kit::auth::{AccessPolicy, Caller, CallerKind};
use mynafleet_kit::clock::from_micros;
use mynafleet_kit::grpc::Frame;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const ACTIVATION_SERVICE: &str = "mynafleet.activation.v1.ActivationService";
const CODE_SERVICE: &str = "mynafleet.activation.v1.ActivationCodeService";
const DEVICE_SERVICE: &str = "mynafleet.activation.v1.DeviceService";
const INTERNAL_SERVICE: &str = "mynafleet.activation.v1.ActivationInternalService";

/// Every gRPC service of activation, for health and reflection.
const SERVICES: &[&str] = &[
    ACTIVATION_SERVICE,
    CODE_SERVICE,
    DEVICE_SERVICE,
    INTERNAL_SERVICE,
];

/// Returns the frame and routes of the activation service.
pub(crate) fn frame(api: Api) -> (Frame, tonic::service::Routes) {
    use CallerKind::{Device, Operator, Service};
    let all = |s: &str| format!("/{s}/*");
    let policy = AccessPolicy::new()
        // A terminal that is not activated yet has no certificate: the four items are its
        // credentials, checked by the handler.
        .public(&format!("/{ACTIVATION_SERVICE}/Activate"))
        .allow(&format!("/{ACTIVATION_SERVICE}/Renew"), &[Device])
        .allow(&all(CODE_SERVICE), &[Operator])
        .allow(&all(DEVICE_SERVICE), &[Operator, Service])
        .allow(&all(INTERNAL_SERVICE), &[Service]);
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: api.config.tls.clone(),
        policy,
        health_names: SERVICES,
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    let routes = tonic::service::Routes::new(
        pb::activation_service_server::ActivationServiceServer::new(api.clone()),
    )
    .add_service(pb::activation_code_service_server::ActivationCodeServiceServer::new(api.clone()))
    .add_service(pb::device_service_server::DeviceServiceServer::new(
        api.clone(),
    ))
    .add_service(pb::activation_internal_service_server::ActivationInternalServiceServer::new(api));
    (frame, routes)
}

/// The state every RPC handler shares.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) pool: AnyPool,
    pub(crate) config: Arc<Config>,
    pub(crate) account: AccountClient,
    pub(crate) operators: OperatorCheck,
    /// Cancelled when the server shuts down, so endless streams end and let it stop.
    pub(crate) shutdown: CancellationToken,
}

/// Who called an operator or service RPC.
#[derive(Clone, Debug)]
pub(crate) enum Actor {
    /// A checked operator.
    Operator(Principal),
    /// A MynaFleet service.
    Service(String),
}

impl Actor {
    /// Returns how audit records name this actor.
    pub(crate) fn audit(&self) -> AuditActor {
        match self {
            Actor::Operator(p) => AuditActor {
                kind: "operator",
                name: p.info.name.clone(),
                role: p.info.role.as_str().to_owned(),
                auth_method: "session",
            },
            Actor::Service(name) => AuditActor {
                kind: "service",
                name: format!("services/{name}"),
                role: String::new(),
                auth_method: "mtls",
            },
        }
    }

    /// Refuses a clinic outside an operator's scope; services see everything.
    pub(crate) fn require_clinic(&self, organization_id: &str, clinic_id: &str) -> Result<()> {
        match self {
            Actor::Operator(p) => p.require_clinic(organization_id, clinic_id),
            Actor::Service(_) => Ok(()),
        }
    }

    /// Refuses an organization other than an operator's own; services see everything.
    pub(crate) fn require_organization(&self, organization_id: &str) -> Result<()> {
        match self {
            Actor::Operator(p) => p.require_organization(organization_id),
            Actor::Service(_) => Ok(()),
        }
    }

    /// Returns the clinics a listing must stay within: `None` for all.
    pub(crate) fn clinic_filter(&self) -> Option<&[String]> {
        match self {
            Actor::Operator(p) => p.clinic_filter(),
            Actor::Service(_) => None,
        }
    }

    /// Returns the stable key idempotency records are kept under.
    pub(crate) fn key(&self) -> String {
        match self {
            Actor::Operator(p) => format!("operator:{}", p.info.name),
            Actor::Service(name) => format!("service:{name}"),
        }
    }
}

impl Api {
    /// Builds the handlers' shared state.
    pub(crate) fn new(
        config: Config,
        pool: AnyPool,
        account: AccountClient,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            pool,
            config: Arc::new(config),
            account,
            operators: OperatorCheck::default(),
            shutdown,
        }
    }

    /// Returns "now" in microseconds.
    pub(crate) fn now(&self) -> i64 {
        self.config.clock.now_micros()
    }

    /// Authenticates the operator (or service) calling `req` and checks that it may use
    /// `permission`. Refusals of a known operator are audited.
    pub(crate) async fn authorize<T>(
        &self,
        req: &Request<T>,
        permission: Permission,
    ) -> Result<Actor> {
        let principal = match Caller::of(req) {
            Some(Caller::Service { name }) => return Ok(Actor::Service(name.clone())),
            Some(Caller::Operator(token)) => {
                self.operators
                    .principal(&self.account, token.expose())
                    .await?
            }
            // The identity layer lets no device and no anonymous caller reach these RPCs.
            Some(Caller::Device(_)) | None => return Err(Error::SessionInvalid),
        };
        let actor = Actor::Operator(principal.clone());
        if !role_allows(principal.info.role, permission) {
            self.audit_denied(req, &actor, "ROLE_REFUSED").await;
            return Err(Error::RoleRefused);
        }
        Ok(actor)
    }

    /// Checks scope with `check`, auditing an OUT_OF_SCOPE refusal.
    pub(crate) async fn in_scope<T>(
        &self,
        req: &Request<T>,
        actor: &Actor,
        check: Result<()>,
    ) -> Result<()> {
        if let Err(Error::OutOfScope) = check {
            self.audit_denied(req, actor, "OUT_OF_SCOPE").await;
        }
        check
    }

    /// Records a refusal of `actor` (best effort: the refusal stands even if this fails).
    pub(crate) async fn audit_denied<T>(&self, req: &Request<T>, actor: &Actor, reason: &str) {
        let org = match actor {
            Actor::Operator(p) => p.info.organization_id.clone(),
            Actor::Service(_) => String::new(),
        };
        let entry = AuditEntry::new(
            actor.audit(),
            &meta(req, ""),
            self.now(),
            "access.denied",
            ActionCode::Execute,
        )
        .organization(org)
        .target(req_path(req))
        .outcome(Outcome::Denied, reason);
        if let Err(e) = audit::append_alone(&self.pool, &entry).await {
            tracing::error!(error = %e, "audit of a refusal failed");
        }
    }
}

fn req_path<T>(req: &Request<T>) -> String {
    req.extensions()
        .get::<tonic::GrpcMethod<'_>>()
        .map(|m| format!("/{}/{}", m.service(), m.method()))
        .unwrap_or_default()
}

/// Returns the audit facts of `req` (`request_id` as the client sent it).
pub(crate) fn meta<T>(req: &Request<T>, request_id: &str) -> RequestMeta {
    RequestMeta {
        source_address: source_address(req),
        request_id: request_id.to_owned(),
        traceparent: mynafleet_kit::telemetry::current_traceparent(),
    }
}

/// Returns the caller's IP address (without the port: the activation lock counts per
/// address).
pub(crate) fn source_address<T>(req: &Request<T>) -> String {
    mynafleet_kit::grpc::source_address(req)
}

/// Parses an optional `request_id` (a UUID, or empty for none).
pub(crate) fn request_id(raw: &str) -> Result<Option<String>> {
    if raw.is_empty() {
        return Ok(None);
    }
    uuid::Uuid::parse_str(raw)
        .map(|u| Some(u.to_string()))
        .map_err(|_| Error::field("request_id", "must be a UUID (or empty)"))
}

/// Returns the digest that tells two requests under one request id apart.
pub(crate) fn digest(msg: &impl Message) -> Vec<u8> {
    Sha256::digest(msg.encode_to_vec()).to_vec()
}

/// Returns the request digest of `msg` with its request id cleared by `clear`.
pub(crate) fn hash_without_id<M: Message + Clone>(msg: &M, clear: impl FnOnce(&mut M)) -> Vec<u8> {
    let mut m = msg.clone();
    clear(&mut m);
    digest(&m)
}

/// The idempotency facts of one mutating call: who called which RPC, its `request_id` (if
/// it sent one) and the digest of the rest of the request.
#[derive(Debug)]
pub(crate) struct CallKey {
    caller: String,
    method: String,
    request_id: Option<String>,
    hash: Vec<u8>,
}

impl CallKey {
    /// Validates `raw_request_id` (a UUID or empty) and keeps the call's facts.
    pub(crate) fn new(
        actor: &Actor,
        method: impl Into<String>,
        raw_request_id: &str,
        hash: Vec<u8>,
    ) -> Result<Self> {
        Ok(Self {
            caller: actor.key(),
            method: method.into(),
            request_id: request_id(raw_request_id)?,
            hash,
        })
    }

    /// Returns the key to claim, or `None` for a call without a request id.
    pub(crate) fn key(&self) -> Option<mynafleet_kit::idempotency::RequestKey<'_>> {
        self.request_id
            .as_deref()
            .map(|request_id| mynafleet_kit::idempotency::RequestKey {
                caller: &self.caller,
                method: &self.method,
                request_id,
                request_hash: &self.hash,
            })
    }
}

/// Returns a protobuf timestamp for microseconds since the epoch.
pub(crate) fn ts(micros: i64) -> mynafleet_proto::prost_types::Timestamp {
    let t = from_micros(micros);
    mynafleet_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

/// Returns `s` as a canonical UUID string, if it is one (so scope checks compare like with
/// like).
pub(crate) fn canonical_uuid(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s).ok().map(|u| u.to_string())
}

/// Parses `organizations/{org}/clinics/{clinic}/{collection}/{id}` into (org, clinic, id).
pub(crate) fn split_clinic_child<'a>(
    name: &'a str,
    collection: &str,
) -> Option<(&'a str, &'a str, &'a str)> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["organizations", org, "clinics", clinic, c, id]
            if *c == collection && !org.is_empty() && !clinic.is_empty() && !id.is_empty() =>
        {
            Some((org, clinic, id))
        }
        _ => None,
    }
}
