//! The activation service's gRPC edge: access table, tonic trait impls and conversions.

use crate::client::AccountClient;
use crate::config::Config;
use crate::device::{Device, DeviceStatus};
use crate::error::{Error, Result};
use crate::store;
use mynafleet_kit::auth::{AccessPolicy, CallerKind};
use mynafleet_kit::clock::from_micros;
use mynafleet_kit::grpc::Frame;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::device_service_server::{DeviceService, DeviceServiceServer};
use sqlx::AnyPool;

const DEVICE_SERVICE: &str = "mynafleet.activation.v1.DeviceService";
const PAGE_TAG: &str = "dev";

/// Returns the frame and routes of the activation service.
pub(crate) fn frame(
    config: Config,
    pool: AnyPool,
    account: AccountClient,
) -> (Frame, tonic::service::Routes) {
    let policy = AccessPolicy::new().allow(
        // Operators arrive with sessions (#3, #4); until then only services read the registry.
        &format!("/{DEVICE_SERVICE}/*"),
        &[CallerKind::Service],
    );
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: config.tls,
        policy,
        health_names: &[DEVICE_SERVICE],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    let routes = tonic::service::Routes::new(DeviceServiceServer::new(Devices { pool, account }));
    (frame, routes)
}

#[derive(Debug)]
struct Devices {
    pool: AnyPool,
    account: AccountClient,
}

fn organization_id(parent: &str) -> Result<String> {
    let id = parent
        .strip_prefix("organizations/")
        .ok_or_else(|| Error::field("parent", "must look like organizations/{id}"))?;
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| Error::field("parent", "the id after organizations/ is not a UUID"))
}

fn to_pb(d: &Device) -> pb::Device {
    let ts = |micros: i64| {
        let t = from_micros(micros);
        mynafleet_proto::prost_types::Timestamp {
            seconds: t.unix_timestamp(),
            nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
        }
    };
    pb::Device {
        name: d.name(),
        account: d.account_name(),
        status: match d.status {
            DeviceStatus::Pending => pb::DeviceStatus::Pending,
            DeviceStatus::Active => pb::DeviceStatus::Active,
            DeviceStatus::Suspended => pb::DeviceStatus::Suspended,
            DeviceStatus::Revoked => pb::DeviceStatus::Revoked,
        }
        .into(),
        key_fingerprint: d.key_fingerprint.clone(),
        create_time: Some(ts(d.create_time)),
        last_seen_time: d.last_seen_time.map(ts),
    }
}

#[tonic::async_trait]
impl DeviceService for Devices {
    async fn list_devices(
        &self,
        req: Request<pb::ListDevicesRequest>,
    ) -> Result<Response<pb::ListDevicesResponse>, Status> {
        let msg = req.get_ref();
        let org = organization_id(&msg.parent)?;
        let size = mynafleet_kit::page::page_size(msg.page_size)
            .map_err(|d| Error::field("page_size", d))?;
        let after = mynafleet_kit::page::decode_token(PAGE_TAG, &msg.page_token)
            .map_err(|()| Error::InvalidPageToken)?;
        // The organization must exist where it lives: in the account service.
        let summary = self.account.organization(&msg.parent).await?;
        let (devices, next) = store::list_devices(&self.pool, &org, after.as_deref(), size).await?;
        Ok(Response::new(pb::ListDevicesResponse {
            devices: devices.iter().map(to_pb).collect(),
            next_page_token: next
                .map(|last| mynafleet_kit::page::encode_token(PAGE_TAG, &last))
                .unwrap_or_default(),
            organization_display_name: summary.display_name,
        }))
    }
}
