//! `UnlockActivation`: an operator lifts the activation lock of an account, a source
//! address or both. The account service's own password lock is separate and lives there.

use super::{AccountRef, SERVICE};
use crate::audit::{self, ActionCode, AuditEntry};
use crate::auth::Permission;
use crate::error::{Error, Result};
use crate::grpc::{Actor, Api, CallKey, hash_without_id, meta};
use crate::store::{self, locks};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::Request;

impl Api {
    pub(super) async fn unlock(
        &self,
        req: &Request<pb::UnlockActivationRequest>,
    ) -> Result<pb::UnlockActivationResponse> {
        let actor = self.authorize(req, Permission::ManageCodes).await?;
        let r = req.get_ref();
        let mut scopes = Vec::new();
        let mut organization = match &actor {
            Actor::Operator(p) => p.info.organization_id.clone(),
            Actor::Service(_) => String::new(),
        };
        let mut clinic = String::new();
        let mut targets = Vec::new();
        if !r.account.is_empty() {
            let a = AccountRef::parse(&r.account, "account")?;
            self.in_scope(
                req,
                &actor,
                actor.require_clinic(&a.organization, &a.clinic),
            )
            .await?;
            // The lock is keyed by organization and account: make sure the account is in
            // the clinic the scope check passed (and use its id as the account service spells it).
            let scope = self.account.account_scope(&a.name()).await?;
            if scope.organization_id != a.organization || scope.clinic_id != a.clinic {
                return Err(Error::AccountNotFound);
            }
            scopes.push(locks::account_scope(
                &scope.organization_id,
                &scope.account_id,
            ));
            organization.clone_from(&a.organization);
            clinic = a.clinic_name();
            targets.push(a.name());
        }
        if !r.source_address.is_empty() {
            let ip: std::net::IpAddr = r.source_address.trim().parse().map_err(|_| {
                Error::field(
                    "source_address",
                    "must be an IP address, as in the audit log",
                )
            })?;
            scopes.push(locks::source_scope(&ip.to_string()));
            targets.push(locks::source_scope(&ip.to_string()));
        }
        if scopes.is_empty() {
            return Err(Error::field(
                "account",
                "name an account, a source_address, or both",
            ));
        }
        let call = CallKey::new(
            &actor,
            format!("{SERVICE}/UnlockActivation"),
            &r.request_id,
            hash_without_id(r, |m| m.request_id.clear()),
        )?;
        let key = call.key();
        let now = self.now();
        let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
        if let Some(bytes) = store::claim(&mut tx, key.as_ref(), now).await? {
            return Ok(pb::UnlockActivationResponse::decode(bytes.as_slice())?);
        }
        let mut was_locked = false;
        for scope in &scopes {
            was_locked |= locks::clear_on(&mut tx, scope, now).await?;
        }
        let entry = AuditEntry::new(
            actor.audit(),
            &meta(req, &r.request_id),
            now,
            "activation.unlock",
            ActionCode::Update,
        )
        .organization(organization)
        .clinic(clinic)
        .target(targets.join(" "));
        audit::append(&mut tx, &entry).await?;
        let reply = pb::UnlockActivationResponse { was_locked };
        store::finish(tx, key.as_ref(), &reply.encode_to_vec()).await?;
        Ok(reply)
    }
}
