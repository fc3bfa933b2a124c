//! `ActivationService` (stub until the #4 helper fills it in).

use super::Api;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};

#[tonic::async_trait]
impl pb::activation_service_server::ActivationService for Api {
    async fn activate(
        &self,
        _req: Request<pb::ActivateRequest>,
    ) -> Result<Response<pb::ActivateResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn renew(
        &self,
        _req: Request<pb::RenewRequest>,
    ) -> Result<Response<pb::RenewResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }
}
