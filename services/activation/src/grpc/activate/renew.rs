//! `ActivationService.Renew`: an active device asks, over its current certificate, for a
//! new one (for the same key or a new one). Refused for suspended, revoked or pending
//! devices and for accounts that are not 利用可. Never changes a device's status.

use super::issued;
use super::request::facts_from_pb;
use crate::audit::{self, ActionCode, AuditActor, AuditEntry, Outcome};
use crate::client::{AccountStatus, Privilege};
use crate::device::{Device, DeviceStatus};
use crate::error::{Error, Result};
use crate::grpc::{Api, meta, ts};
use crate::store::{devices, enroll};
use mynafleet_kit::auth::{Caller, DeviceIdentity};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{Request, Response, Status};

/// Handles `Renew`, auditing the outcome.
pub(super) async fn renew(
    api: &Api,
    req: Request<pb::RenewRequest>,
) -> Result<Response<pb::RenewResponse>, Status> {
    let identity = match Caller::of(&req) {
        Some(Caller::Device(d)) => d.clone(),
        // The identity layer lets only devices call Renew.
        _ => return Err(Error::DeviceNotFound.into()),
    };
    let entry = AuditEntry::new(
        AuditActor {
            kind: "device",
            name: format!(
                "organizations/{}/clinics/{}/devices/{}",
                identity.organization, identity.clinic, identity.device
            ),
            role: String::new(),
            auth_method: "mtls",
        },
        &meta(&req, ""),
        api.now(),
        "device.renew",
        ActionCode::Update,
    )
    .organization(identity.organization.clone())
    .clinic(format!(
        "organizations/{}/clinics/{}",
        identity.organization, identity.clinic
    ))
    .target(format!(
        "organizations/{}/clinics/{}/devices/{}",
        identity.organization, identity.clinic, identity.device
    ));
    match run(api, &identity, req.into_inner(), &entry).await {
        Ok(reply) => Ok(Response::new(reply)),
        Err(e) => {
            let failed = AuditEntry {
                id: uuid::Uuid::now_v7(),
                time: api.now(),
                ..entry
            }
            .outcome(Outcome::Failure, e.reason());
            if let Err(err) = audit::append_alone(&api.pool, &failed).await {
                tracing::error!(error = %err, "audit of a failed renewal failed");
            }
            Err(e.into())
        }
    }
}

/// Loads the device the certificate names; its account and clinic must match too.
async fn device_of(api: &Api, identity: &DeviceIdentity) -> Result<Device> {
    let d = devices::get_device(&api.pool, &identity.organization, &identity.device).await?;
    if d.clinic_id != identity.clinic || d.account_id != identity.account {
        return Err(Error::DeviceNotFound);
    }
    Ok(d)
}

async fn run(
    api: &Api,
    identity: &DeviceIdentity,
    r: pb::RenewRequest,
    entry: &AuditEntry,
) -> Result<pb::RenewResponse> {
    if r.csr_der.is_empty() {
        return Err(Error::CsrInvalid(
            "is required: a PKCS#10 request made with the terminal's key".to_owned(),
        ));
    }
    let key_fingerprint = mynafleet_kit::tls::ca::csr_key_fingerprint(&r.csr_der)
        .map_err(|e| Error::CsrInvalid(e.to_string()))?;
    let device = device_of(api, identity).await?;
    if device.status != DeviceStatus::Active {
        return Err(enroll::refusal(device.status));
    }
    let scope = api.account.account_scope(&device.account_name()).await?;
    if scope.privilege == Privilege::Administrator {
        return Err(Error::AccountRoleRefused);
    }
    if scope.status != AccountStatus::Available {
        return Err(Error::AccountNotAvailable);
    }
    let cert = api
        .config
        .device_ca
        .certify(
            &r.csr_der,
            &device.identity(),
            time::OffsetDateTime::now_utc(),
            api.config.certificate_lifetime,
        )
        .map(issued)
        .map_err(|e| Error::Ca(e.to_string()))?;
    let facts = r.facts.map(|f| facts_from_pb(f).bounded());
    let now = api.now();
    let mut tx = mynafleet_kit::db::begin_write(&api.pool).await?;
    let device = enroll::renew_on(
        &mut tx,
        &device.organization_id,
        &device.id,
        &key_fingerprint,
        &cert,
        facts.as_ref(),
        now,
    )
    .await?;
    let mut done = entry.clone();
    done.actor.role = scope.privilege.as_str().to_owned();
    done.time = now;
    audit::append(&mut tx, &done).await?;
    tx.commit().await?;
    Ok(pb::RenewResponse {
        certificate_pem: device.certificate_pem.clone(),
        server_ca_pem: api.config.server_ca_pem.clone(),
        certificate_expire_time: device.certificate_not_after.map(ts),
        proxy_urls: api.config.proxy_urls.clone(),
    })
}
