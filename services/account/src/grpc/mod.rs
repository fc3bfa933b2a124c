//! The account service's gRPC edge: the access table, authorization of every RPC, tonic
//! trait impls (one file per service) and conversions between wire and domain types. The
//! only module tree that imports `mynafleet_proto`, with `client.rs` (outbound calls).

mod applications;
mod audit_log;
mod clinics;
mod device_accounts;
mod internal;
mod operators;
mod organizations;
mod sheets;

#[cfg(test)]
mod fail_closed {
    mod tests;
}

pub(crate) use internal::scope_to_pb;

use crate::audit::{self, ActionCode, AuditEntry, Outcome, RequestMeta};
use crate::auth::{Actor, Permission, role_allows};
use crate::client::ActivationClient;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::sessions;
use mynafleet_kit::auth::{AccessPolicy, Caller, CallerKind};
use mynafleet_kit::clock::from_micros;
use mynafleet_kit::grpc::Frame;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request};
use pb::organization_service_server::OrganizationServiceServer;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const ORGANIZATION_SERVICE: &str = "mynafleet.account.v1.OrganizationService";
const CLINIC_SERVICE: &str = "mynafleet.account.v1.ClinicService";
const OPERATOR_SERVICE: &str = "mynafleet.account.v1.OperatorService";
const SESSION_SERVICE: &str = "mynafleet.account.v1.SessionService";
const DEVICE_ACCOUNT_SERVICE: &str = "mynafleet.account.v1.DeviceAccountService";
const APPLICATION_SERVICE: &str = "mynafleet.account.v1.ApplicationService";
const INTERNAL_SERVICE: &str = "mynafleet.account.v1.AccountInternalService";
const AUDIT_LOG_SERVICE: &str = "mynafleet.account.v1.AuditLogService";

/// Every gRPC service of the account service, for health and reflection.
const SERVICES: &[&str] = &[
    ORGANIZATION_SERVICE,
    CLINIC_SERVICE,
    OPERATOR_SERVICE,
    SESSION_SERVICE,
    DEVICE_ACCOUNT_SERVICE,
    APPLICATION_SERVICE,
    INTERNAL_SERVICE,
    AUDIT_LOG_SERVICE,
];

/// Returns the frame and routes of the account service; fails only when the activation
/// peer's URL or TLS settings are unusable (nothing connects yet).
pub(crate) fn frame(
    config: Config,
    pool: AnyPool,
    shutdown: CancellationToken,
) -> Result<(Frame, tonic::service::Routes), mynafleet_kit::tls::ChannelError> {
    use CallerKind::{Operator, Service};
    let all = |s: &str| format!("/{s}/*");
    let policy = AccessPolicy::new()
        .allow(&all(ORGANIZATION_SERVICE), &[Service, Operator])
        .allow(&all(CLINIC_SERVICE), &[Operator])
        .allow(&all(OPERATOR_SERVICE), &[Operator])
        .public(&format!("/{SESSION_SERVICE}/Login"))
        .allow(&all(SESSION_SERVICE), &[Operator])
        .allow(&all(DEVICE_ACCOUNT_SERVICE), &[Operator])
        .allow(&all(APPLICATION_SERVICE), &[Operator])
        .allow(&all(AUDIT_LOG_SERVICE), &[Operator])
        // The deployment's chain is read and sealed with a service identity (chain.rs).
        .allow(
            &format!("/{AUDIT_LOG_SERVICE}/ReadAuditChain"),
            &[Service, Operator],
        )
        .allow(
            &format!("/{AUDIT_LOG_SERVICE}/CreateCheckpoint"),
            &[Service, Operator],
        )
        .allow(
            &format!("/{AUDIT_LOG_SERVICE}/ListSigningKeys"),
            &[Service, Operator],
        )
        .allow(&all(INTERNAL_SERVICE), &[Service]);
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: config.tls.clone(),
        policy,
        health_names: SERVICES,
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    let activation = config
        .activation
        .as_ref()
        .map(ActivationClient::new)
        .transpose()?;
    let api = Api {
        pool,
        config: Arc::new(config),
        activation,
        shutdown,
    };
    let routes = tonic::service::Routes::new(OrganizationServiceServer::new(api.clone()))
        .add_service(pb::operator_service_server::OperatorServiceServer::new(
            api.clone(),
        ))
        .add_service(pb::session_service_server::SessionServiceServer::new(
            api.clone(),
        ))
        .add_service(
            pb::account_internal_service_server::AccountInternalServiceServer::new(api.clone()),
        )
        .add_service(pb::audit_log_service_server::AuditLogServiceServer::new(
            api.clone(),
        ))
        .add_service(pb::clinic_service_server::ClinicServiceServer::new(
            api.clone(),
        ))
        .add_service(
            pb::device_account_service_server::DeviceAccountServiceServer::new(api.clone()),
        )
        .add_service(pb::application_service_server::ApplicationServiceServer::new(api.clone()));
    Ok((frame, routes))
}

/// The state every RPC handler shares.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) pool: AnyPool,
    pub(crate) config: Arc<Config>,
    /// The activation service, for the codes on sheets; `None` when not configured.
    pub(crate) activation: Option<ActivationClient>,
    /// Cancelled when the server shuts down, so endless streams end and let it stop.
    pub(crate) shutdown: CancellationToken,
}

impl Api {
    /// Returns "now" in microseconds.
    pub(crate) fn now(&self) -> i64 {
        self.config.clock.now_micros()
    }

    /// Authenticates the caller of `req` and checks that it may use `permission`. Refusals
    /// of a known operator are audited.
    pub(crate) async fn authorize<T>(
        &self,
        req: &Request<T>,
        permission: Permission,
    ) -> Result<Actor> {
        let actor = match Caller::of(req) {
            Some(Caller::Service { name }) => return Ok(Actor::Service(name.clone())),
            Some(Caller::Operator(token)) => {
                let session = sessions::resolve(
                    &self.pool,
                    token.expose(),
                    self.now(),
                    &self.config.sessions,
                )
                .await?;
                Actor::Operator(session.principal)
            }
            // The identity layer lets no device and no anonymous caller reach these RPCs.
            Some(Caller::Device(_)) | None => return Err(Error::SessionInvalid),
        };
        let Some(p) = actor.principal() else {
            return Ok(actor);
        };
        if p.must_change_password && permission != Permission::OwnSession {
            return Err(Error::PasswordChangeRequired);
        }
        if !role_allows(p.role, permission) {
            self.audit_denied(req, &actor, "ROLE_REFUSED").await;
            return Err(Error::RoleRefused);
        }
        Ok(actor)
    }

    /// Records a refusal of `actor` (best effort: the refusal stands even if this fails).
    pub(crate) async fn audit_denied<T>(&self, req: &Request<T>, actor: &Actor, reason: &str) {
        let entry = AuditEntry::new(
            actor,
            &meta(req, ""),
            self.now(),
            "access.denied",
            ActionCode::Execute,
        )
        .target(req_path(req))
        .outcome(Outcome::Denied, reason);
        if let Err(e) = audit::append_alone(&self.pool, &entry).await {
            tracing::error!(error = %e, "audit of a refusal failed");
        }
    }

    /// Checks scope with `check`, auditing an OUT_OF_SCOPE refusal.
    pub(crate) async fn in_scope<T, R>(
        &self,
        req: &Request<T>,
        actor: &Actor,
        check: Result<R>,
    ) -> Result<R> {
        if let Err(Error::OutOfScope) = check {
            self.audit_denied(req, actor, "OUT_OF_SCOPE").await;
        }
        check
    }
}

impl Api {
    /// Like [`Api::in_scope`] once the request was consumed (no method path in the record).
    pub(crate) async fn in_scope_owned(&self, actor: &Actor, check: Result<()>) -> Result<()> {
        if let Err(Error::OutOfScope) = check {
            let entry = AuditEntry::new(
                actor,
                &RequestMeta::default(),
                self.now(),
                "access.denied",
                ActionCode::Execute,
            )
            .outcome(Outcome::Denied, "OUT_OF_SCOPE");
            if let Err(e) = audit::append_alone(&self.pool, &entry).await {
                tracing::error!(error = %e, "audit of a refusal failed");
            }
        }
        check
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
        source_address: req.remote_addr().map(|a| a.to_string()).unwrap_or_default(),
        request_id: request_id.to_owned(),
        traceparent: mynafleet_kit::telemetry::current_traceparent(),
    }
}

/// Returns the idempotency key of a request that carries `rid`, or `None` without one.
pub(crate) fn request_key<'a>(
    caller: &'a str,
    method: &'a str,
    rid: Option<&'a str>,
    hash: &'a [u8],
) -> Option<mynafleet_kit::idempotency::RequestKey<'a>> {
    rid.map(|request_id| mynafleet_kit::idempotency::RequestKey {
        caller,
        method,
        request_id,
        request_hash: hash,
    })
}

/// Returns the response of an idempotent mutation: `done` builds it from a fresh result; a
/// replay decodes the stored first response.
pub(crate) fn reply<T, R: Message + Default>(
    outcome: crate::store::Idempotent<T>,
    done: impl FnOnce(T) -> R,
) -> Result<R> {
    match outcome {
        crate::store::Idempotent::Done(v) => Ok(done(v)),
        crate::store::Idempotent::Replayed(bytes) => Ok(R::decode(bytes.as_slice())?),
    }
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

/// Returns a protobuf timestamp for microseconds since the epoch.
pub(crate) fn ts(micros: i64) -> mynafleet_proto::prost_types::Timestamp {
    let t = from_micros(micros);
    mynafleet_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}
