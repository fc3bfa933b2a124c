//! `DeviceService`: the device registry for operators (list, get, suspend, resume, revoke,
//! replace) and for services (list and get); list and get show the presence proxies last
//! reported (`super::presence`). Each change locks the device row, asks
//! `crate::registry` whether it is allowed and writes it, its status event and its audit
//! record in one transaction. It never issues certificates or codes itself: `ReplaceDevice`
//! delegates to the code service's `replace_device`.

use super::presence::presence_to_pb;
use super::{Actor, Api, CallKey, canonical_uuid, hash_without_id, meta, ts};
use crate::audit::{self, ActionCode, AuditEntry, Outcome};
use crate::auth::Permission;
use crate::client::AccountStatus;
use crate::device::{Device, DeviceStatus, StatusCause};
use crate::error::{Error, Result};
use crate::registry::{self, Action, Current, Requester};
use crate::store::{self, devices::Clinics};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::prost::Message;
use mynafleet_proto::tonic::{self, Request, Response, Status};

/// The page-token tag of device listings.
const PAGE_TAG: &str = "dev";
/// The most characters an operator's reason may have.
const MAX_REASON_CHARS: usize = 200;

/// Returns the wire status of `s`.
pub(super) fn status_to_pb(s: DeviceStatus) -> pb::DeviceStatus {
    match s {
        DeviceStatus::Pending => pb::DeviceStatus::Pending,
        DeviceStatus::Active => pb::DeviceStatus::Active,
        DeviceStatus::Suspended => pb::DeviceStatus::Suspended,
        DeviceStatus::Revoked => pb::DeviceStatus::Revoked,
    }
}

/// Returns the wire cause of `c`.
pub(super) fn cause_to_pb(c: StatusCause) -> pb::StatusCause {
    match c {
        StatusCause::Activation => pb::StatusCause::Activation,
        StatusCause::Operator => pb::StatusCause::Operator,
        StatusCause::Account => pb::StatusCause::Account,
    }
}

/// Returns the wire form of a registered device (never its certificate PEM).
pub(super) fn device_to_pb(d: &Device) -> pb::Device {
    pb::Device {
        name: d.name(),
        account: d.account_name(),
        status: status_to_pb(d.status).into(),
        key_fingerprint: d.key_fingerprint.clone(),
        // Kept apart from the device row; listings and look-ups add it (`with_presence`).
        presence: None,
        create_time: Some(ts(d.create_time)),
        last_seen_time: d.last_seen_time.map(ts),
        certificate_serial: d.certificate_serial.clone(),
        certificate_expire_time: d.certificate_not_after.map(ts),
        first_seen_time: d.first_seen_time.map(ts),
        facts: Some(pb::DeviceFacts {
            hostname: d.facts.hostname.clone(),
            os: d.facts.os.clone(),
            agent_version: d.facts.agent_version.clone(),
            readers: d.facts.readers.clone(),
        }),
        status_cause: cause_to_pb(d.status_cause).into(),
        status_reason: d.status_reason.clone(),
        status_time: Some(ts(d.status_time)),
        activation_code: if d.code_id.is_empty() {
            String::new()
        } else {
            format!("{}/activationCodes/{}", d.account_name(), d.code_id)
        },
        institution_code: d.institution_code.clone(),
    }
}

/// Returns the wire form of `devices` with the presence each one's agent last reported.
async fn with_presence(pool: &sqlx::AnyPool, devices: &[Device]) -> Result<Vec<pb::Device>> {
    let ids: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
    let presences = store::presence::of_devices(pool, &ids).await?;
    Ok(devices
        .iter()
        .map(|d| pb::Device {
            presence: presences.get(&d.id).map(presence_to_pb),
            ..device_to_pb(d)
        })
        .collect())
}

/// A parsed device name, `organizations/{org}/clinics/{clinic}/devices/{id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DeviceName {
    pub(super) organization: String,
    pub(super) clinic: String,
    pub(super) id: String,
}

impl DeviceName {
    /// Parses the request field `field`; the ids are UUIDs, returned in canonical form.
    pub(super) fn parse(raw: &str, field: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                field,
                "must look like organizations/{org}/clinics/{clinic}/devices/{uuid}",
            )
        };
        let (org, clinic, id) = super::split_clinic_child(raw, "devices").ok_or_else(bad)?;
        Ok(Self {
            organization: canonical_uuid(org).ok_or_else(bad)?,
            clinic: canonical_uuid(clinic).ok_or_else(bad)?,
            id: canonical_uuid(id).ok_or_else(bad)?,
        })
    }

    /// Returns `organizations/{org}/clinics/{clinic}`.
    pub(super) fn clinic_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}",
            self.organization, self.clinic
        )
    }

    /// Returns the stored device this name names, `DeviceNotFound` when the device lives in
    /// another clinic (so a name with the wrong clinic reveals nothing).
    pub(super) fn check(&self, d: Device) -> Result<Device> {
        if d.clinic_id == self.clinic {
            Ok(d)
        } else {
            Err(Error::DeviceNotFound)
        }
    }
}

/// What a listing is under.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Parent {
    /// `organizations/{org}`.
    Organization(String),
    /// `organizations/{org}/clinics/{clinic}`.
    Clinic(String, String),
}

impl Parent {
    fn parse(raw: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                "parent",
                "must look like organizations/{org} or organizations/{org}/clinics/{clinic}",
            )
        };
        let parts: Vec<&str> = raw.split('/').collect();
        match parts.as_slice() {
            ["organizations", org] => {
                Ok(Parent::Organization(canonical_uuid(org).ok_or_else(bad)?))
            }
            ["organizations", org, "clinics", clinic] => Ok(Parent::Clinic(
                canonical_uuid(org).ok_or_else(bad)?,
                canonical_uuid(clinic).ok_or_else(bad)?,
            )),
            _ => Err(bad()),
        }
    }

    fn organization(&self) -> &str {
        match self {
            Parent::Organization(org) | Parent::Clinic(org, _) => org,
        }
    }
}

/// Validates an operator's free-text reason (trimmed; empty is allowed): bounded, no
/// control characters, never a My Number.
pub(super) fn status_reason(raw: &str) -> Result<String> {
    let v = raw.trim();
    if v.chars().count() > MAX_REASON_CHARS {
        return Err(Error::field(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::field(
            "reason",
            "must not contain control characters",
        ));
    }
    if mynafleet_kit::guard::text_contains_my_number(v) {
        return Err(Error::MyNumberRefused { field: "reason" });
    }
    Ok(v.to_owned())
}

/// What one change RPC asks for.
struct Change<'a> {
    action: Action,
    method: &'static str,
    audit_action: &'static str,
    audit_code: ActionCode,
    name: &'a str,
    reason: &'a str,
    request_id: &'a str,
    hash: Vec<u8>,
}

impl Api {
    /// Runs an operator's suspend, resume or revoke of the device `change.name`.
    async fn change_device<T>(&self, req: &Request<T>, change: Change<'_>) -> Result<pb::Device> {
        let actor = self.authorize(req, Permission::ManageDevices).await?;
        // Services read the registry; only operators change it.
        if let Actor::Service(_) = actor {
            return Err(Error::RoleRefused);
        }
        let name = DeviceName::parse(change.name, "name")?;
        self.in_scope(
            req,
            &actor,
            actor.require_clinic(&name.organization, &name.clinic),
        )
        .await?;
        let reason = status_reason(change.reason)?;
        let call = CallKey::new(&actor, change.method, change.request_id, change.hash)?;
        let key = call.key();
        let now = self.now();
        let record = AuditEntry::new(
            actor.audit(),
            &meta(req, change.request_id),
            now,
            change.audit_action,
            change.audit_code,
        )
        .organization(name.organization.clone())
        .clinic(name.clinic_name())
        .target(change.name);
        if change.action == Action::Resume {
            // Asked outside the transaction: no write lock is held across a network call.
            if let Err(e) = self.account_lets_resume(&name).await {
                if matches!(
                    e,
                    Error::DeviceStateConflict(_) | Error::AccountNotAvailable
                ) {
                    self.audit_refused(&record, &e).await;
                }
                return Err(e);
            }
        }

        let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
        if let Some(bytes) = store::claim(&mut tx, key.as_ref(), now).await? {
            return pb::SuspendDeviceResponse::decode(bytes.as_slice())?
                .device
                .ok_or_else(|| Error::Corrupt("stored device response without a device".into()));
        }
        let device = name
            .check(store::devices::lock_device_on(&mut tx, &name.organization, &name.id).await?)?;
        let device =
            match registry::transition(Current::of(&device), change.action, Requester::Operator) {
                Ok(Some(status)) => {
                    let d = store::devices::set_status_on(
                        &mut tx,
                        &name.organization,
                        &name.id,
                        status,
                        StatusCause::Operator,
                        &reason,
                        now,
                    )
                    .await?;
                    audit::append(&mut tx, &record).await?;
                    d
                }
                // Already there: nothing changes and nothing is recorded.
                Ok(None) => device,
                Err(refused) => {
                    tx.rollback().await?;
                    self.audit_refused(&record, &refused).await;
                    return Err(refused);
                }
            };
        let wire = device_to_pb(&device);
        let encoded = pb::SuspendDeviceResponse {
            device: Some(wire.clone()),
        }
        .encode_to_vec();
        store::finish(tx, key.as_ref(), &encoded).await?;
        Ok(wire)
    }

    /// Refuses to lift an operator's suspension while the device's account is not
    /// available: the device would be active under a suspended account, and the cascade
    /// corrects a device only on its account's next event. Other resumes need no answer
    /// from the account service (the registry's rules decide them).
    async fn account_lets_resume(&self, name: &DeviceName) -> Result<()> {
        let d = name
            .check(store::devices::get_device(&self.pool, &name.organization, &name.id).await?)?;
        if d.status != DeviceStatus::Suspended || d.status_cause == StatusCause::Account {
            return Ok(());
        }
        match self.account.account_scope(&d.account_name()).await?.status {
            AccountStatus::Available => Ok(()),
            AccountStatus::Suspended => Err(Error::DeviceStateConflict(
                "the device account is suspended; resume the account",
            )),
            AccountStatus::Ended => Err(Error::AccountNotAvailable),
        }
    }

    /// Records a change refused for the device's state (best effort: the refusal stands).
    async fn audit_refused(&self, audit: &AuditEntry, refused: &Error) {
        let entry = AuditEntry {
            id: uuid::Uuid::now_v7(),
            ..audit.clone()
        }
        .outcome(Outcome::Failure, refused.reason());
        if let Err(e) = audit::append_alone(&self.pool, &entry).await {
            tracing::error!(error = %e, "audit of a refused device change failed");
        }
    }
}

#[tonic::async_trait]
impl pb::device_service_server::DeviceService for Api {
    async fn list_devices(
        &self,
        req: Request<pb::ListDevicesRequest>,
    ) -> Result<Response<pb::ListDevicesResponse>, Status> {
        let actor = self.authorize(&req, Permission::Read).await?;
        let msg = req.get_ref();
        let parent = Parent::parse(&msg.parent)?;
        let scope = match &parent {
            Parent::Organization(org) => actor.require_organization(org),
            Parent::Clinic(org, clinic) => actor.require_clinic(org, clinic),
        };
        self.in_scope(&req, &actor, scope).await?;
        let size = mynafleet_kit::page::page_size(msg.page_size)
            .map_err(|d| Error::field("page_size", d))?;
        let after = mynafleet_kit::page::decode_token(PAGE_TAG, &msg.page_token)
            .map_err(|()| Error::InvalidPageToken)?;
        // A service learns the organization's name (and that it exists) from its owner.
        let display_name = match &actor {
            Actor::Service(_) => {
                let org = format!("organizations/{}", parent.organization());
                self.account.organization(&org).await?.display_name
            }
            Actor::Operator(_) => String::new(),
        };
        let one;
        let clinics = match (&parent, actor.clinic_filter()) {
            (Parent::Clinic(_, clinic), _) => {
                one = [clinic.clone()];
                Clinics::Only(&one)
            }
            (Parent::Organization(_), Some(ids)) => Clinics::Only(ids),
            (Parent::Organization(_), None) => Clinics::All,
        };
        let (devices, next) = store::devices::list_devices(
            &self.pool,
            parent.organization(),
            clinics,
            after.as_deref(),
            size,
        )
        .await?;
        Ok(Response::new(pb::ListDevicesResponse {
            devices: with_presence(&self.pool, &devices).await?,
            next_page_token: next
                .map(|last| mynafleet_kit::page::encode_token(PAGE_TAG, &last))
                .unwrap_or_default(),
            organization_display_name: display_name,
        }))
    }

    async fn get_device(
        &self,
        req: Request<pb::GetDeviceRequest>,
    ) -> Result<Response<pb::GetDeviceResponse>, Status> {
        let actor = self.authorize(&req, Permission::Read).await?;
        let name = DeviceName::parse(&req.get_ref().name, "name")?;
        self.in_scope(
            &req,
            &actor,
            actor.require_clinic(&name.organization, &name.clinic),
        )
        .await?;
        let device = name
            .check(store::devices::get_device(&self.pool, &name.organization, &name.id).await?)?;
        let presence = store::presence::get(&self.pool, &device.id).await?;
        Ok(Response::new(pb::GetDeviceResponse {
            device: Some(pb::Device {
                presence: presence.as_ref().map(presence_to_pb),
                ..device_to_pb(&device)
            }),
        }))
    }

    async fn suspend_device(
        &self,
        req: Request<pb::SuspendDeviceRequest>,
    ) -> Result<Response<pb::SuspendDeviceResponse>, Status> {
        let msg = req.get_ref();
        let change = Change {
            action: Action::Suspend,
            method: "/mynafleet.activation.v1.DeviceService/SuspendDevice",
            audit_action: "device.suspend",
            audit_code: ActionCode::Update,
            name: &msg.name,
            reason: &msg.reason,
            request_id: &msg.request_id,
            hash: hash_without_id(msg, |m| m.request_id.clear()),
        };
        let device = self.change_device(&req, change).await?;
        Ok(Response::new(pb::SuspendDeviceResponse {
            device: Some(device),
        }))
    }

    async fn resume_device(
        &self,
        req: Request<pb::ResumeDeviceRequest>,
    ) -> Result<Response<pb::ResumeDeviceResponse>, Status> {
        let msg = req.get_ref();
        let change = Change {
            action: Action::Resume,
            method: "/mynafleet.activation.v1.DeviceService/ResumeDevice",
            audit_action: "device.resume",
            audit_code: ActionCode::Update,
            name: &msg.name,
            reason: "",
            request_id: &msg.request_id,
            hash: hash_without_id(msg, |m| m.request_id.clear()),
        };
        let device = self.change_device(&req, change).await?;
        Ok(Response::new(pb::ResumeDeviceResponse {
            device: Some(device),
        }))
    }

    async fn revoke_device(
        &self,
        req: Request<pb::RevokeDeviceRequest>,
    ) -> Result<Response<pb::RevokeDeviceResponse>, Status> {
        let msg = req.get_ref();
        let change = Change {
            action: Action::Revoke,
            method: "/mynafleet.activation.v1.DeviceService/RevokeDevice",
            audit_action: "device.revoke",
            audit_code: ActionCode::Delete,
            name: &msg.name,
            reason: &msg.reason,
            request_id: &msg.request_id,
            hash: hash_without_id(msg, |m| m.request_id.clear()),
        };
        let device = self.change_device(&req, change).await?;
        Ok(Response::new(pb::RevokeDeviceResponse {
            device: Some(device),
        }))
    }

    async fn replace_device(
        &self,
        req: Request<pb::ReplaceDeviceRequest>,
    ) -> Result<Response<pb::ReplaceDeviceResponse>, Status> {
        super::codes::replace_device(self, req).await
    }
}

#[cfg(test)]
mod tests;
