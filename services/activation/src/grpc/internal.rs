//! `ActivationInternalService` (stub until the #4 helper fills it in).

use super::Api;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};

#[tonic::async_trait]
impl pb::activation_internal_service_server::ActivationInternalService for Api {
    async fn issue_activation_codes(
        &self,
        _req: Request<pb::IssueActivationCodesRequest>,
    ) -> Result<Response<pb::IssueActivationCodesResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn get_device_status(
        &self,
        _req: Request<pb::GetDeviceStatusRequest>,
    ) -> Result<Response<pb::GetDeviceStatusResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    type WatchDeviceStatusStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchDeviceStatusResponse, Status>>;

    async fn watch_device_status(
        &self,
        _req: Request<pb::WatchDeviceStatusRequest>,
    ) -> Result<Response<Self::WatchDeviceStatusStream>, Status> {
        Err(Status::unimplemented("not yet"))
    }
}
