//! Codes issued on behalf of others: one per account for the account service (printed on
//! the accounts' ユーザ設定情報 sheets), and the new code of a replaced terminal (revoking
//! the old device in the same transaction). Replays return the first response without the
//! codes.

use super::{AccountRef, Fresh, audited, code_to_pb, eligible};
use crate::audit::{self, ActionCode, AuditEntry};
use crate::auth::Permission;
use crate::client::{AccountScope, scope_from_pb, split_account_name};
use crate::error::{Error, Result};
use crate::grpc::devices::{DeviceName, device_to_pb, status_reason};
use crate::grpc::{Api, CallKey, hash_without_id, meta};
use crate::store::enroll::{self, ReplacementCode};
use crate::store::{self, codes as store_codes, devices};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{Request, Response, Status};

const ISSUE_METHOD: &str =
    "/mynafleet.activation.v1.ActivationInternalService/IssueActivationCodes";
const REPLACE_METHOD: &str = "/mynafleet.activation.v1.DeviceService/ReplaceDevice";

/// Issues one code per account for the account service (`IssueActivationCodes`): 管理者
/// accounts and accounts that are not 利用可 get a reason instead of a code.
pub(in crate::grpc) async fn issue_for_accounts(
    api: &Api,
    req: Request<pb::IssueActivationCodesRequest>,
) -> Result<Response<pb::IssueActivationCodesResponse>, Status> {
    Ok(Response::new(issue_batch(api, &req).await?))
}

/// One account of a batch: its scope, and the new code when it may have one.
struct Planned {
    account: String,
    scope: AccountScope,
    fresh: std::result::Result<Fresh, Error>,
}

async fn issue_batch(
    api: &Api,
    req: &Request<pb::IssueActivationCodesRequest>,
) -> Result<pb::IssueActivationCodesResponse> {
    let actor = api.authorize(req, Permission::ManageCodes).await?;
    let r = req.get_ref();
    let mut planned = Vec::with_capacity(r.accounts.len());
    for (i, s) in r.accounts.iter().enumerate() {
        if split_account_name(&s.account).is_none() {
            return Err(Error::field(
                &format!("accounts[{i}].account"),
                "must look like organizations/{org}/clinics/{clinic}/accounts/{W0000001}",
            ));
        }
        let scope = scope_from_pb(Some(s.clone()))?;
        let fresh = match eligible(&scope) {
            Ok(()) => Ok(Fresh::make().await?),
            Err(e) => Err(e),
        };
        planned.push(Planned {
            account: s.account.clone(),
            scope,
            fresh,
        });
    }
    let call = CallKey::new(
        &actor,
        ISSUE_METHOD,
        &r.request_id,
        hash_without_id(r, |m| m.request_id.clear()),
    )?;
    let key = call.key();
    let now = api.now();
    let issued_by = actor.audit().name;
    let mut tx = mynafleet_kit::db::begin_write(&api.pool).await?;
    if let Some(bytes) = store::claim(&mut tx, key.as_ref(), now).await? {
        return Ok(pb::IssueActivationCodesResponse::decode(bytes.as_slice())?);
    }
    let mut kept = Vec::with_capacity(planned.len());
    let mut shown = Vec::with_capacity(planned.len());
    for p in &planned {
        let fresh = match &p.fresh {
            Ok(f) => f,
            Err(e) => {
                let refused = pb::IssuedActivationCode {
                    account: p.account.clone(),
                    activation_code: None,
                    reason: e.reason().to_owned(),
                };
                kept.push(refused.clone());
                shown.push(refused);
                continue;
            }
        };
        let stored =
            store_codes::issue_on(&mut tx, &fresh.for_account(api, &p.scope, &issued_by, now))
                .await?;
        let entry = AuditEntry::new(
            actor.audit(),
            &meta(req, &r.request_id),
            now,
            "activation_code.issue",
            ActionCode::Create,
        )
        .organization(p.scope.organization_id.clone())
        .clinic(p.scope.clinic_name())
        .target(stored.name());
        audit::append(&mut tx, &entry).await?;
        let mut wire = code_to_pb(&stored, now, None);
        kept.push(pb::IssuedActivationCode {
            account: p.account.clone(),
            activation_code: Some(wire.clone()),
            reason: String::new(),
        });
        wire.code = fresh.code.display();
        shown.push(pb::IssuedActivationCode {
            account: p.account.clone(),
            activation_code: Some(wire),
            reason: String::new(),
        });
    }
    let kept = pb::IssueActivationCodesResponse { codes: kept };
    store::finish(tx, key.as_ref(), &kept.encode_to_vec()).await?;
    Ok(pb::IssueActivationCodesResponse { codes: shown })
}

/// Replaces a terminal (`DeviceService.ReplaceDevice`): revokes the device and issues its
/// account a new code, in one transaction.
pub(in crate::grpc) async fn replace_device(
    api: &Api,
    req: Request<pb::ReplaceDeviceRequest>,
) -> Result<Response<pb::ReplaceDeviceResponse>, Status> {
    Ok(Response::new(replace(api, &req).await?))
}

async fn replace(
    api: &Api,
    req: &Request<pb::ReplaceDeviceRequest>,
) -> Result<pb::ReplaceDeviceResponse> {
    let actor = api.authorize(req, Permission::ManageDevices).await?;
    let r = req.get_ref();
    let name = DeviceName::parse(&r.name, "name")?;
    api.in_scope(
        req,
        &actor,
        actor.require_clinic(&name.organization, &name.clinic),
    )
    .await?;
    let reason = status_reason(&r.reason)?;
    let call = CallKey::new(
        &actor,
        REPLACE_METHOD,
        &r.request_id,
        hash_without_id(r, |m| m.request_id.clear()),
    )?;
    let key = call.key();
    let now = api.now();
    let entry = AuditEntry::new(
        actor.audit(),
        &meta(req, &r.request_id),
        now,
        "device.replace",
        ActionCode::Update,
    )
    .organization(name.organization.clone())
    .clinic(name.clinic_name())
    .target(r.name.clone());
    let work = async {
        let device =
            name.check(devices::get_device(&api.pool, &name.organization, &name.id).await?)?;
        let account = AccountRef {
            organization: device.organization_id.clone(),
            clinic: device.clinic_id.clone(),
            account: device.account_id.clone(),
        };
        let scope = api.account.account_scope(&account.name()).await?;
        eligible(&scope)?;
        let fresh = Fresh::make().await?;
        let mut tx = mynafleet_kit::db::begin_write(&api.pool).await?;
        if let Some(bytes) = store::claim(&mut tx, key.as_ref(), now).await? {
            return Ok(pb::ReplaceDeviceResponse::decode(bytes.as_slice())?);
        }
        let issued_by = actor.audit().name;
        let code = ReplacementCode {
            id: fresh.id.clone(),
            code_hash: fresh.hash.clone(),
            issued_by,
            expire_time: api.expiry(now),
        };
        let (revoked, stored) =
            enroll::replace_on(&mut tx, &name.organization, &name.id, &reason, &code, now).await?;
        audit::append(&mut tx, &entry).await?;
        let issue = AuditEntry {
            id: uuid::Uuid::now_v7(),
            action: "activation_code.issue",
            action_code: ActionCode::Create,
            ..entry.clone()
        }
        .target(stored.name());
        audit::append(&mut tx, &issue).await?;
        let mut wire = code_to_pb(&stored, now, None);
        let kept = pb::ReplaceDeviceResponse {
            device: Some(device_to_pb(&revoked)),
            activation_code: Some(wire.clone()),
        };
        store::finish(tx, key.as_ref(), &kept.encode_to_vec()).await?;
        wire.code = fresh.code.display();
        Ok(pb::ReplaceDeviceResponse {
            activation_code: Some(wire),
            ..kept
        })
    };
    audited(api, &entry, work.await).await
}
