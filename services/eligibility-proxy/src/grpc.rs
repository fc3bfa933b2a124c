//! The proxy's gRPC edge: access table and tonic trait impls.

use crate::config::Config;
use mynafleet_kit::auth::{AccessPolicy, Caller, CallerKind};
use mynafleet_kit::grpc::Frame;
use mynafleet_kit::status::{COMMON_DOMAIN, with_reason};
use mynafleet_proto::agent::v1 as pb;
use mynafleet_proto::tonic::{self, Code, Request, Response, Status};
use pb::agent_service_server::{AgentService, AgentServiceServer};

const AGENT_SERVICE: &str = "mynafleet.agent.v1.AgentService";

/// Returns the frame and routes of the proxy.
pub(crate) fn frame(config: Config) -> (Frame, tonic::service::Routes) {
    let policy = AccessPolicy::new().allow(&format!("/{AGENT_SERVICE}/*"), &[CallerKind::Device]);
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: config.tls,
        policy,
        health_names: &[AGENT_SERVICE],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    (
        frame,
        tonic::service::Routes::new(AgentServiceServer::new(Agents)),
    )
}

#[derive(Debug)]
struct Agents;

#[tonic::async_trait]
impl AgentService for Agents {
    type WatchDeviceStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchDeviceResponse, Status>>;

    async fn watch_device(
        &self,
        _req: Request<pb::WatchDeviceRequest>,
    ) -> Result<Response<Self::WatchDeviceStream>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn who_am_i(
        &self,
        req: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        match Caller::of(&req) {
            Some(Caller::Device(d)) => Ok(Response::new(pb::WhoAmIResponse {
                device: format!(
                    "organizations/{}/clinics/{}/devices/{}",
                    d.organization, d.clinic, d.device
                ),
                account: format!(
                    "organizations/{}/clinics/{}/accounts/{}",
                    d.organization, d.clinic, d.account
                ),
                status: mynafleet_proto::activation::v1::DeviceStatus::Unspecified.into(),
            })),
            // The access table admits only devices here.
            _ => Err(with_reason(
                Code::PermissionDenied,
                COMMON_DOMAIN,
                "CALLER_KIND_REFUSED",
                "only devices may call this method",
            )),
        }
    }
}
