//! `AuditLogService`: auditors and org_admins search their organization's audit records
//! (newest first, by time range, actor, action, clinic, device, outcome and patient), read
//! its hash chain in seq order with the checkpoints over it, seal its head on request, and
//! list the keys checkpoints are signed with.
//!
//! Every read is itself recorded before any record is returned, so a read that cannot be
//! audited returns nothing; pages continued with a token (bound to the session and the
//! search) are part of that recorded read. A patient is searched by the keyed reference the
//! server computes: the clear numbers are never stored or logged, and the record of the read
//! carries only that reference and the names of the filters used.

mod chain;
mod filter;
mod token;

use super::{Api, digest, meta};
use crate::audit::{self, ActionCode, AuditEntry};
use crate::auth::Permission;
use crate::error::Result;
use crate::organization::{self, OrganizationId};
use crate::store::audit_log::{self, AuditPageToken, StoredRecord};
use mynafleet_kit::audit_chain::wire;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::audit_log_service_server::AuditLogService;
use std::collections::BTreeMap;
use token::Tokens;

/// The tag of search page tokens.
const SEARCH_TAG: &str = "auditsearch";

fn stored_to_pb(r: StoredRecord) -> audit_pb::AuditRecord {
    let organization = r.organization.map(|o| o.name()).unwrap_or_default();
    let mut pb = wire::record_to_pb(r.to_chain_record());
    pb.organization = organization;
    pb
}

/// Returns the stored record of a read: `entry` with its FHIR `action_code`, the patient
/// reference and key id searched for (or empty), and `detail`.
fn read_record(
    e: AuditEntry,
    action_code: &str,
    (patient_ref, patient_ref_key_id): (String, String),
    detail: BTreeMap<String, String>,
) -> StoredRecord {
    StoredRecord {
        id: e.id.to_string(),
        organization: e.organization,
        time: e.time,
        producer: audit::PRODUCER.to_owned(),
        actor_kind: e.actor_kind.to_owned(),
        actor: e.actor,
        actor_role: e.actor_role,
        auth_method: e.auth_method.to_owned(),
        session_ref: e.session_ref,
        action: e.action.to_owned(),
        action_code: action_code.to_owned(),
        clinic: e.clinic,
        target: e.target,
        outcome: e.outcome.as_str().to_owned(),
        reason: e.reason,
        source_address: e.meta.source_address,
        request_id: e.meta.request_id,
        patient_ref,
        patient_ref_key_id,
        traceparent: e.meta.traceparent,
        detail,
    }
}

/// Returns what a search token is bound to besides the caller: the parent and every filter.
fn search_scope(msg: &pb::ListAuditRecordsRequest) -> String {
    let mut asked = msg.clone();
    asked.page_size = 0;
    asked.page_token.clear();
    hex::encode(digest(&asked))
}

impl Api {
    /// ListAuditRecords.
    async fn search(
        &self,
        req: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadAudit).await?;
        let msg = req.get_ref();
        let parent = OrganizationId::parse_name(&msg.parent, "parent")?;
        let size = organization::page_size(msg.page_size)?;
        let tokens = Tokens::new(&self.config.keys.reference, &actor);
        let scope = search_scope(msg);
        let after = tokens
            .open(SEARCH_TAG, &scope, &msg.page_token)?
            .map(|inner| AuditPageToken::decode(&inner))
            .transpose()?
            .flatten();
        let search = filter::parse(msg, parent, &self.config.keys.reference)?;
        self.in_scope(&req, &actor, actor.require_organization(parent))
            .await?;
        if msg.page_token.is_empty() {
            let entry = AuditEntry::new(
                &actor,
                &meta(&req, ""),
                self.now(),
                "audit.read",
                ActionCode::Read,
            )
            .organization(parent)
            .target(parent.name());
            let mut detail = BTreeMap::new();
            if !search.used.is_empty() {
                detail.insert("filters".to_owned(), search.used.join(","));
            }
            let patient = match &search.filter.patient_ref {
                Some(r) => (r.clone(), search.patient_ref_key_id.clone()),
                None => (String::new(), String::new()),
            };
            let record = read_record(entry, "R", patient, detail);
            audit_log::ingest(&self.pool, &[record]).await?;
        }
        let (records, next) =
            audit_log::search(&self.pool, parent, &search.filter, after.as_ref(), size).await?;
        Ok(Response::new(pb::ListAuditRecordsResponse {
            records: records.into_iter().map(stored_to_pb).collect(),
            next_page_token: next
                .map(|t| tokens.seal(SEARCH_TAG, &scope, &t.encode()))
                .unwrap_or_default(),
        }))
    }
}

#[tonic::async_trait]
impl AuditLogService for Api {
    async fn list_audit_records(
        &self,
        req: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        self.search(req).await
    }

    async fn read_audit_chain(
        &self,
        req: Request<pb::ReadAuditChainRequest>,
    ) -> Result<Response<pb::ReadAuditChainResponse>, Status> {
        self.read_chain(req).await
    }

    async fn create_checkpoint(
        &self,
        req: Request<pb::CreateCheckpointRequest>,
    ) -> Result<Response<pb::CreateCheckpointResponse>, Status> {
        self.create_chain_checkpoint(req).await
    }

    async fn list_signing_keys(
        &self,
        req: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        self.signing_keys(req).await
    }
}

#[cfg(test)]
mod tests;
