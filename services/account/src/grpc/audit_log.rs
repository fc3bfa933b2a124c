//! `AuditLogService`: auditors and org_admins read their organization's audit records,
//! newest first. Every read is itself recorded before any record is returned, so a read
//! that cannot be audited returns nothing.

use super::{Api, meta, ts};
use crate::audit::{self, ActionCode, AuditEntry};
use crate::auth::Permission;
use crate::error::{Error, Result};
use crate::organization::{self, OrganizationId};
use crate::store::audit_log::{self, AuditPageToken, StoredRecord};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::audit_log_service_server::AuditLogService;

fn to_pb(r: StoredRecord) -> audit_pb::AuditRecord {
    let outcome = match r.outcome.as_str() {
        "success" => audit_pb::Outcome::Success,
        "failure" => audit_pb::Outcome::Failure,
        "denied" => audit_pb::Outcome::Denied,
        _ => audit_pb::Outcome::Unspecified,
    };
    audit_pb::AuditRecord {
        id: r.id,
        organization: r.organization.map(|o| o.name()).unwrap_or_default(),
        time: Some(ts(r.time)),
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: outcome.into(),
        reason: r.reason,
        patient_ref: r.patient_ref,
        patient_ref_key_id: r.patient_ref_key_id,
        traceparent: r.traceparent,
        producer: r.producer,
        actor_kind: r.actor_kind,
        actor_role: r.actor_role,
        clinic: r.clinic,
        source_address: r.source_address,
        request_id: r.request_id,
        action_code: r.action_code,
        auth_method: r.auth_method,
        session_ref: r.session_ref,
        detail: r.detail.into_iter().collect(),
    }
}

/// Validates the optional action filter (`noun.verb`).
fn action_filter(raw: &str) -> Result<Option<&str>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let ok = raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_');
    if !ok {
        return Err(Error::field(
            "action",
            "must be an action such as session.login (a-z, . and _, at most 64)",
        ));
    }
    Ok(Some(raw))
}

#[tonic::async_trait]
impl AuditLogService for Api {
    async fn list_audit_records(
        &self,
        req: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadAudit).await?;
        let msg = req.get_ref();
        let parent = OrganizationId::parse_name(&msg.parent, "parent")?;
        let size = organization::page_size(msg.page_size)?;
        let token = AuditPageToken::decode(&msg.page_token)?;
        let action = action_filter(&msg.action)?;
        self.in_scope(&req, &actor, actor.require_organization(parent))
            .await?;
        let entry = AuditEntry::new(
            &actor,
            &meta(&req, ""),
            self.now(),
            "audit.read",
            ActionCode::Read,
        )
        .organization(parent)
        .target(parent.name());
        audit::append_alone(&self.pool, &entry).await?;
        let (records, next) =
            audit_log::list(&self.pool, parent, action, token.as_ref(), size).await?;
        Ok(Response::new(pb::ListAuditRecordsResponse {
            records: records.into_iter().map(to_pb).collect(),
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        }))
    }

    async fn read_audit_chain(
        &self,
        _req: Request<pb::ReadAuditChainRequest>,
    ) -> Result<Response<pb::ReadAuditChainResponse>, Status> {
        Err(Status::unimplemented("ReadAuditChain arrives with #7"))
    }

    async fn create_checkpoint(
        &self,
        _req: Request<pb::CreateCheckpointRequest>,
    ) -> Result<Response<pb::CreateCheckpointResponse>, Status> {
        Err(Status::unimplemented("CreateCheckpoint arrives with #7"))
    }

    async fn list_signing_keys(
        &self,
        _req: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        Err(Status::unimplemented("ListSigningKeys arrives with #7"))
    }
}
