//! `OperatorService` (an org_admin manages the organization's operators) and
//! `SessionService` (login with password + TOTP, logout, the current session, changing the
//! own password). Generated passwords and TOTP URIs leave only in the response that made
//! them; the stored replay of a create has them blank.

use super::{Api, digest, meta, reply, request_id, request_key as key, ts};
use crate::audit::{ActionCode, AuditEntry};
use crate::auth::{Permission, Principal, Role};
use crate::error::{Error, Result};
use crate::names::{ChildName, ClinicName};
use crate::operator::{LoginId, NewOperator, Operator, OperatorPageToken, OperatorState};
use crate::organization::{self, DisplayName, OrganizationId};
use crate::store::Idempotent;
use crate::store::operators::{self, Credentials};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::operator_service_server::OperatorService;
use pb::session_service_server::SessionService;
use zeroize::Zeroizing;

fn role_from_pb(raw: i32, field: &str) -> Result<Role> {
    match pb::Role::try_from(raw) {
        Ok(pb::Role::OrgAdmin) => Ok(Role::OrgAdmin),
        Ok(pb::Role::ClinicAdmin) => Ok(Role::ClinicAdmin),
        Ok(pb::Role::Auditor) => Ok(Role::Auditor),
        Ok(pb::Role::Viewer) => Ok(Role::Viewer),
        Ok(pb::Role::Unspecified) | Err(_) => Err(Error::field(
            field,
            "must be ROLE_ORG_ADMIN, ROLE_CLINIC_ADMIN, ROLE_AUDITOR or ROLE_VIEWER",
        )),
    }
}

fn role_to_pb(role: Role) -> pb::Role {
    match role {
        Role::OrgAdmin => pb::Role::OrgAdmin,
        Role::ClinicAdmin => pb::Role::ClinicAdmin,
        Role::Auditor => pb::Role::Auditor,
        Role::Viewer => pb::Role::Viewer,
    }
}

fn to_pb(op: &Operator) -> pb::Operator {
    pb::Operator {
        name: op.name(),
        login_id: op.login_id.as_str().to_owned(),
        display_name: op.display_name.as_str().to_owned(),
        role: role_to_pb(op.role).into(),
        clinics: op
            .clinics
            .iter()
            .map(|c| {
                ClinicName {
                    organization: op.organization,
                    clinic: *c,
                }
                .name()
            })
            .collect(),
        state: match op.state {
            OperatorState::Active => pb::OperatorState::Active,
            OperatorState::Locked => pb::OperatorState::Locked,
            OperatorState::Disabled => pb::OperatorState::Disabled,
        }
        .into(),
        must_change_password: op.must_change_password,
        totp_enrolled: op.totp_enrolled,
        create_time: Some(ts(op.create_time)),
        last_login_time: op.last_login_time.map(ts),
    }
}

/// Parses the operator of a create request under `parent`.
fn new_operator(msg: &pb::CreateOperatorRequest, parent: OrganizationId) -> Result<NewOperator> {
    let op = msg
        .operator
        .as_ref()
        .ok_or_else(|| Error::field("operator", "is required"))?;
    let login_id = LoginId::parse(&op.login_id, "operator.login_id")?;
    let display_name = DisplayName::parse(&op.display_name, "operator.display_name")?;
    let role = role_from_pb(op.role, "operator.role")?;
    let clinics = op
        .clinics
        .iter()
        .map(|c| {
            let name = ClinicName::parse(c, "operator.clinics")?;
            if name.organization != parent {
                return Err(Error::field(
                    "operator.clinics",
                    "names a clinic of another organization",
                ));
            }
            Ok(name.clinic)
        })
        .collect::<Result<Vec<_>>>()?;
    NewOperator::new(
        parent,
        login_id,
        display_name,
        role,
        clinics,
        "operator.clinics",
    )
}

#[tonic::async_trait]
impl OperatorService for Api {
    async fn create_operator(
        &self,
        req: Request<pb::CreateOperatorRequest>,
    ) -> Result<Response<pb::CreateOperatorResponse>, Status> {
        let actor = self.authorize(&req, Permission::ManageOperators).await?;
        let parent = OrganizationId::parse_name(&req.get_ref().parent, "parent")?;
        self.in_scope(&req, &actor, actor.require_organization(parent))
            .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "operator.create",
            ActionCode::Create,
        );
        let msg = req.into_inner();
        let new = new_operator(&msg, parent)?;
        let rid = request_id(&msg.request_id)?;
        let hash = digest(&pb::CreateOperatorRequest {
            request_id: String::new(),
            ..msg.clone()
        });
        let caller = actor.key();
        let key = key(
            &caller,
            "/mynafleet.account.v1.OperatorService/CreateOperator",
            rid.as_deref(),
            &hash,
        );
        let outcome = operators::create(
            &self.pool,
            self.now(),
            &new,
            self.config.sessions.require_totp,
            &self.config.keys.totp,
            audit,
            key.as_ref(),
            // What a repeat gets back: the operator, never the secrets.
            |op| {
                pb::CreateOperatorResponse {
                    operator: Some(to_pb(op)),
                    initial_password: String::new(),
                    totp_uri: String::new(),
                }
                .encode_to_vec()
            },
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(created) => {
                tracing::info!(operator = %created.operator.name(), "operator created");
                let totp_uri = created.totp_uri()?;
                pb::CreateOperatorResponse {
                    operator: Some(to_pb(&created.operator)),
                    initial_password: created.password.as_str().to_owned(),
                    totp_uri: totp_uri.as_str().to_owned(),
                }
            }
            Idempotent::Replayed(bytes) => {
                pb::CreateOperatorResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn get_operator(
        &self,
        req: Request<pb::GetOperatorRequest>,
    ) -> Result<Response<pb::GetOperatorResponse>, Status> {
        let actor = self.authorize(&req, Permission::ManageOperators).await?;
        let name = ChildName::parse(&req.get_ref().name, "operators", "name")?;
        self.in_scope(&req, &actor, actor.require_organization(name.organization))
            .await?;
        let op = operators::get(&self.pool, name.organization, name.id).await?;
        Ok(Response::new(pb::GetOperatorResponse {
            operator: Some(to_pb(&op)),
        }))
    }

    async fn list_operators(
        &self,
        req: Request<pb::ListOperatorsRequest>,
    ) -> Result<Response<pb::ListOperatorsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ManageOperators).await?;
        let msg = req.get_ref();
        let parent = OrganizationId::parse_name(&msg.parent, "parent")?;
        let size = organization::page_size(msg.page_size)?;
        let token = OperatorPageToken::decode(&msg.page_token)?;
        self.in_scope(&req, &actor, actor.require_organization(parent))
            .await?;
        let (ops, next) = operators::list(&self.pool, parent, token.map(|t| t.after), size).await?;
        Ok(Response::new(pb::ListOperatorsResponse {
            operators: ops.iter().map(to_pb).collect(),
            next_page_token: next
                .map(|after| OperatorPageToken { after }.encode())
                .unwrap_or_default(),
        }))
    }

    async fn disable_operator(
        &self,
        req: Request<pb::DisableOperatorRequest>,
    ) -> Result<Response<pb::DisableOperatorResponse>, Status> {
        let actor = self.authorize(&req, Permission::ManageOperators).await?;
        let name = ChildName::parse(&req.get_ref().name, "operators", "name")?;
        self.in_scope(&req, &actor, actor.require_organization(name.organization))
            .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "operator.disable",
            ActionCode::Delete,
        );
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let hash = digest(&pb::DisableOperatorRequest {
            request_id: String::new(),
            ..msg.clone()
        });
        let caller = actor.key();
        let key = key(
            &caller,
            "/mynafleet.account.v1.OperatorService/DisableOperator",
            rid.as_deref(),
            &hash,
        );
        let respond = |op: &Operator| pb::DisableOperatorResponse {
            operator: Some(to_pb(op)),
        };
        let outcome = operators::disable(
            &self.pool,
            self.now(),
            name.organization,
            name.id,
            actor.principal().map(|p| p.operator),
            audit,
            key.as_ref(),
            |op| respond(op).encode_to_vec(),
        )
        .await?;
        Ok(Response::new(match outcome {
            Idempotent::Done(op) => {
                tracing::info!(operator = %op.name(), "operator disabled");
                respond(&op)
            }
            Idempotent::Replayed(bytes) => {
                pb::DisableOperatorResponse::decode(bytes.as_slice()).map_err(Error::from)?
            }
        }))
    }

    async fn unlock_operator(
        &self,
        req: Request<pb::UnlockOperatorRequest>,
    ) -> Result<Response<pb::UnlockOperatorResponse>, Status> {
        let actor = self.authorize(&req, Permission::ManageOperators).await?;
        let name = ChildName::parse(&req.get_ref().name, "operators", "name")?;
        self.in_scope(&req, &actor, actor.require_organization(name.organization))
            .await?;
        let audit = AuditEntry::new(
            &actor,
            &meta(&req, &req.get_ref().request_id),
            self.now(),
            "operator.unlock",
            ActionCode::Update,
        );
        let msg = req.into_inner();
        let rid = request_id(&msg.request_id)?;
        let hash = digest(&pb::UnlockOperatorRequest {
            request_id: String::new(),
            ..msg.clone()
        });
        let caller = actor.key();
        let key = key(
            &caller,
            "/mynafleet.account.v1.OperatorService/UnlockOperator",
            rid.as_deref(),
            &hash,
        );
        let respond = |op: &Operator| pb::UnlockOperatorResponse {
            operator: Some(to_pb(op)),
        };
        let outcome = operators::unlock(
            &self.pool,
            self.now(),
            name.organization,
            name.id,
            audit,
            key.as_ref(),
            |op| respond(op).encode_to_vec(),
        )
        .await?;
        Ok(Response::new(reply(outcome, |op| respond(&op))?))
    }
}

impl Api {
    /// Returns the operator behind an `OwnSession` call.
    async fn session_principal<T>(&self, req: &Request<T>) -> Result<Principal> {
        let actor = self.authorize(req, Permission::OwnSession).await?;
        // The access table admits only operators to SessionService.
        actor.principal().cloned().ok_or(Error::SessionInvalid)
    }
}

#[tonic::async_trait]
impl SessionService for Api {
    async fn login(
        &self,
        req: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let meta = meta(&req, "");
        let msg = req.into_inner();
        let password = Zeroizing::new(msg.password);
        let totp_code = Zeroizing::new(msg.totp_code);
        let creds = Credentials {
            login_id: &msg.login_id,
            password: &password,
            totp_code: &totp_code,
        };
        let done = operators::login(
            &self.pool,
            self.now(),
            &self.config.sessions,
            &self.config.keys.totp,
            &meta,
            creds,
        )
        .await?;
        tracing::info!(operator = %done.operator.name(), "operator logged in");
        Ok(Response::new(pb::LoginResponse {
            session_token: done.token.as_str().to_owned(),
            operator: Some(to_pb(&done.operator)),
            idle_timeout_seconds: i64::try_from(self.config.sessions.idle_timeout.as_secs())
                .unwrap_or(i64::MAX),
            expire_time: Some(ts(done.expire_time)),
        }))
    }

    async fn logout(
        &self,
        req: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let principal = self.session_principal(&req).await?;
        let audit = AuditEntry::new(
            &crate::auth::Actor::Operator(principal.clone()),
            &meta(&req, ""),
            self.now(),
            "session.logout",
            ActionCode::Execute,
        );
        operators::logout(&self.pool, &principal, audit).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn get_current_session(
        &self,
        req: Request<pb::GetCurrentSessionRequest>,
    ) -> Result<Response<pb::GetCurrentSessionResponse>, Status> {
        let principal = self.session_principal(&req).await?;
        let op = operators::get(&self.pool, principal.organization, principal.operator).await?;
        let (login_time, expire_time) =
            operators::session_times(&self.pool, &principal.session_id).await?;
        Ok(Response::new(pb::GetCurrentSessionResponse {
            operator: Some(to_pb(&op)),
            login_time: Some(ts(login_time)),
            expire_time: Some(ts(expire_time)),
        }))
    }

    async fn change_password(
        &self,
        req: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordResponse>, Status> {
        let principal = self.session_principal(&req).await?;
        let audit = AuditEntry::new(
            &crate::auth::Actor::Operator(principal.clone()),
            &meta(&req, ""),
            self.now(),
            "operator.password_change",
            ActionCode::Update,
        );
        let msg = req.into_inner();
        operators::change_password(
            &self.pool,
            self.now(),
            &self.config.sessions,
            &principal,
            Zeroizing::new(msg.current_password),
            Zeroizing::new(msg.new_password),
            audit,
        )
        .await?;
        tracing::info!(operator = %principal.name(), "operator changed password");
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }
}
