//! `DeviceService` (stub until the #4 helper fills it in).

use super::Api;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};

#[tonic::async_trait]
impl pb::device_service_server::DeviceService for Api {
    async fn list_devices(
        &self,
        _req: Request<pb::ListDevicesRequest>,
    ) -> Result<Response<pb::ListDevicesResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn get_device(
        &self,
        _req: Request<pb::GetDeviceRequest>,
    ) -> Result<Response<pb::GetDeviceResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn suspend_device(
        &self,
        _req: Request<pb::SuspendDeviceRequest>,
    ) -> Result<Response<pb::SuspendDeviceResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn resume_device(
        &self,
        _req: Request<pb::ResumeDeviceRequest>,
    ) -> Result<Response<pb::ResumeDeviceResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn revoke_device(
        &self,
        _req: Request<pb::RevokeDeviceRequest>,
    ) -> Result<Response<pb::RevokeDeviceResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn replace_device(
        &self,
        _req: Request<pb::ReplaceDeviceRequest>,
    ) -> Result<Response<pb::ReplaceDeviceResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }
}
