//! ReadAuditChain, CreateCheckpoint and ListSigningKeys: an organization's chain in seq order
//! with the checkpoints that cover it, sealing its head on request, and the public keys
//! checkpoints are signed with (the wire shapes come from kit's `audit_chain::wire`).
//!
//! A chain read is recorded (`audit.export`) before any entry is returned; pages continued
//! with a token (bound to the caller's session and the chain) are not recorded again.
//!
//! The `deployment` chain (records of no organization) belongs to whoever runs the
//! deployment: only a service identity of the internal CA reads or seals it, and a service
//! identity reads no organization's chain.

use super::{Api, read_record};
use crate::audit::{ActionCode, AuditEntry};
use crate::auth::Actor;
use crate::auth::Permission;
use crate::error::{Error, Result};
use crate::grpc::audit_log::token::Tokens;
use crate::organization::OrganizationId;
use crate::store::{audit_chain, audit_log};
use mynafleet_kit::audit_chain::wire::{checkpoint_to_pb, entry_to_pb, key_to_pb};
use mynafleet_kit::audit_chain::{DEPLOYMENT_CHAIN, ENCODING, origin};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::{Request, Response, Status};
use std::collections::BTreeMap;

/// The tag of chain page tokens.
const TOKEN_TAG: &str = "auditchain";
/// Entries per page when the request asks for 0.
const DEFAULT_PAGE: u32 = 500;
/// The most entries a page may hold.
const MAX_PAGE: i32 = 5_000;
/// The response metadata key that names the first retained seq on AUDIT_SEQ_PRUNED.
pub(crate) const FIRST_RETAINED_SEQ: &str = "mynafleet-first-retained-seq";

fn page_size(requested: i32) -> Result<u32> {
    match requested {
        0 => Ok(DEFAULT_PAGE),
        n if (1..=MAX_PAGE).contains(&n) => Ok(n.unsigned_abs()),
        _ => Err(Error::field(
            "page_size",
            format!("must be between 0 and {MAX_PAGE}"),
        )),
    }
}

/// Returns the AUDIT_SEQ_PRUNED refusal of a read after `after_seq` when retention removed
/// the entries up to `pruned_through`.
fn pruned(after_seq: i64, pruned_through: i64) -> Status {
    let first = pruned_through + 1;
    let mut status = Status::from(Error::Precondition {
        reason: "AUDIT_SEQ_PRUNED",
        message: format!(
            "entries up to seq {pruned_through} were removed by retention (asked for after \
             seq {after_seq}); the first retained seq is {first}: read with after_seq = \
             {pruned_through} or 0"
        ),
    });
    if let Ok(v) = first.to_string().parse() {
        status.metadata_mut().insert(FIRST_RETAINED_SEQ, v);
    }
    status
}

/// Returns the chain `parent` names (`organizations/{org}` or `deployment`) and its
/// organization, or OUT_OF_SCOPE when `actor` may not read it: operators read their own
/// organization's chain, service identities the deployment's only.
fn chain_of(actor: &Actor, parent: &str) -> Result<(Option<OrganizationId>, String)> {
    if parent == DEPLOYMENT_CHAIN {
        return match actor {
            Actor::Service(_) => Ok((None, DEPLOYMENT_CHAIN.to_owned())),
            Actor::Operator(_) => Err(Error::OutOfScope),
        };
    }
    let org = OrganizationId::parse_name(parent, "parent")?;
    match actor {
        Actor::Service(_) => Err(Error::OutOfScope),
        Actor::Operator(_) => actor
            .require_organization(org)
            .map(|()| (Some(org), org.name())),
    }
}

/// Returns `entry` about `chain`, filed under its organization when it has one.
fn about(entry: AuditEntry, org: Option<OrganizationId>, chain: &str) -> AuditEntry {
    let entry = entry.target(chain.to_owned());
    match org {
        Some(org) => entry.organization(org),
        None => entry,
    }
}

impl Api {
    /// Returns the chain `parent` names once `actor` may read it; a refusal is recorded.
    async fn readable_chain<T>(
        &self,
        req: &Request<T>,
        actor: &Actor,
        parent: &str,
    ) -> Result<(Option<OrganizationId>, String)> {
        self.in_scope(req, actor, chain_of(actor, parent)).await
    }

    /// ReadAuditChain.
    pub(super) async fn read_chain(
        &self,
        req: Request<pb::ReadAuditChainRequest>,
    ) -> Result<Response<pb::ReadAuditChainResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadAudit).await?;
        let msg = req.get_ref();
        let limit = page_size(msg.page_size)?;
        if msg.after_seq < 0 {
            return Err(Error::field("after_seq", "must not be negative").into());
        }
        if !(0..=MAX_PAGE).contains(&msg.last) {
            return Err(Error::field("last", format!("must be between 0 and {MAX_PAGE}")).into());
        }
        if msg.last > 0 && msg.after_seq > 0 {
            return Err(Error::field("last", "cannot be combined with after_seq").into());
        }
        let (org, chain) = self.readable_chain(&req, &actor, &msg.parent).await?;
        let tokens = Tokens::new(&self.config.keys.reference, &actor);
        let continued = tokens
            .open(TOKEN_TAG, &chain, &msg.page_token)?
            .map(|s| s.parse::<i64>().map_err(|_| Error::InvalidPageToken))
            .transpose()?;
        if continued.is_none() {
            let entry = AuditEntry::new(
                &actor,
                &super::meta(&req, ""),
                self.now(),
                "audit.export",
                ActionCode::Read,
            );
            let entry = about(entry, org, &chain);
            let detail = if msg.last > 0 {
                BTreeMap::from([("last".to_owned(), msg.last.to_string())])
            } else {
                BTreeMap::from([("after_seq".to_owned(), msg.after_seq.to_string())])
            };
            let record = read_record(entry, "R", (String::new(), String::new()), detail);
            audit_log::ingest(&self.pool, &[record]).await?;
        }
        let Some(head) = audit_chain::head(&self.pool, &chain).await? else {
            return Ok(Response::new(pb::ReadAuditChainResponse {
                next_page_token: tokens.seal(TOKEN_TAG, &chain, "0"),
                origin: origin(&chain),
                encoding: ENCODING.to_owned(),
                ..Default::default()
            }));
        };
        let asked = match continued {
            Some(seq) => seq,
            // The last entries: as far back as retention kept (0 reads from there).
            None if msg.last > 0 => (head.size - i64::from(msg.last)).max(head.pruned_through),
            None => msg.after_seq,
        };
        let after = if asked == 0 {
            head.pruned_through
        } else {
            asked
        };
        if after < head.pruned_through {
            return Err(pruned(after, head.pruned_through));
        }
        if after > head.size {
            return Err(Error::field(
                "after_seq",
                format!("lies past the chain's end (size {})", head.size),
            )
            .into());
        }
        let entries = audit_chain::read(&self.pool, &chain, after, limit).await?;
        let last = entries.last().map_or(after, |e| e.seq);
        let checkpoints = if last > after {
            audit_chain::checkpoints(&self.pool, &chain, after + 1, last).await?
        } else {
            Vec::new()
        };
        let anchor = if after > 0 && after == head.pruned_through {
            audit_chain::checkpoint_at(&self.pool, &chain, after).await?
        } else {
            None
        };
        Ok(Response::new(pb::ReadAuditChainResponse {
            entries: entries.into_iter().map(entry_to_pb).collect(),
            checkpoints: checkpoints.iter().map(checkpoint_to_pb).collect(),
            anchor: anchor.as_ref().map(checkpoint_to_pb),
            chain_size: head.size.max(last),
            next_page_token: tokens.seal(TOKEN_TAG, &chain, &last.to_string()),
            origin: origin(&chain),
            encoding: ENCODING.to_owned(),
        }))
    }

    /// CreateCheckpoint.
    pub(super) async fn create_chain_checkpoint(
        &self,
        req: Request<pb::CreateCheckpointRequest>,
    ) -> Result<Response<pb::CreateCheckpointResponse>, Status> {
        let actor = self.authorize(&req, Permission::ReadAudit).await?;
        let (org, chain) = self
            .readable_chain(&req, &actor, &req.get_ref().parent)
            .await?;
        let entry = AuditEntry::new(
            &actor,
            &super::meta(&req, ""),
            self.now(),
            "audit.checkpoint",
            ActionCode::Execute,
        );
        let entry = about(entry, org, &chain);
        let record = read_record(entry, "E", (String::new(), String::new()), BTreeMap::new());
        audit_log::ingest(&self.pool, &[record]).await?;
        let checkpoint = crate::audit_seal::seal_now(
            &self.pool,
            &self.config.keys.audit_signing,
            &self.config.clock,
            &chain,
        )
        .await?;
        Ok(Response::new(pb::CreateCheckpointResponse {
            checkpoint: Some(checkpoint_to_pb(&checkpoint)),
        }))
    }

    /// ListSigningKeys.
    pub(super) async fn signing_keys(
        &self,
        req: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        self.authorize(&req, Permission::ReadAudit).await?;
        let current = self.config.keys.audit_signing.public_key();
        let mut keys = audit_chain::keys(&self.pool).await?;
        if !keys.iter().any(|k| k.key_id == current.key_id) {
            keys.push(current.clone());
        }
        Ok(Response::new(pb::ListSigningKeysResponse {
            keys: keys
                .iter()
                .map(|k| key_to_pb(k, k.key_id == current.key_id))
                .collect(),
        }))
    }
}
