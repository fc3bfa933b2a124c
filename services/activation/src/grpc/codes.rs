//! `ActivationCodeService` (stub until the #4 helper fills it in).

use super::Api;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};

#[tonic::async_trait]
impl pb::activation_code_service_server::ActivationCodeService for Api {
    async fn issue_activation_code(
        &self,
        _req: Request<pb::IssueActivationCodeRequest>,
    ) -> Result<Response<pb::IssueActivationCodeResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn list_activation_codes(
        &self,
        _req: Request<pb::ListActivationCodesRequest>,
    ) -> Result<Response<pb::ListActivationCodesResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn revoke_activation_code(
        &self,
        _req: Request<pb::RevokeActivationCodeRequest>,
    ) -> Result<Response<pb::RevokeActivationCodeResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn unlock_activation(
        &self,
        _req: Request<pb::UnlockActivationRequest>,
    ) -> Result<Response<pb::UnlockActivationResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }
}
