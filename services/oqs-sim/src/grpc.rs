//! The simulator's gRPC edge: access table and tonic trait impls.

use crate::config::Config;
use mynafleet_kit::auth::{AccessPolicy, CallerKind};
use mynafleet_kit::grpc::Frame;
use mynafleet_proto::oqs::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::oqs_service_server::{OqsService, OqsServiceServer};

const OQS_SERVICE: &str = "mynafleet.oqs.v1.OqsService";

/// Returns the frame and routes of the simulator.
pub(crate) fn frame(config: Config) -> (Frame, tonic::service::Routes) {
    let policy = AccessPolicy::new().allow(&format!("/{OQS_SERVICE}/*"), &[CallerKind::Service]);
    let api = Simulator {
        seed: config.seed,
        population_size: config.population_size,
    };
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: config.tls,
        policy,
        health_names: &[OQS_SERVICE],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    (
        frame,
        tonic::service::Routes::new(OqsServiceServer::new(api)),
    )
}

#[derive(Debug)]
struct Simulator {
    seed: u64,
    population_size: u32,
}

#[tonic::async_trait]
impl OqsService for Simulator {
    async fn get_simulator_info(
        &self,
        _req: Request<pb::GetSimulatorInfoRequest>,
    ) -> Result<Response<pb::GetSimulatorInfoResponse>, Status> {
        Ok(Response::new(pb::GetSimulatorInfoResponse {
            seed: self.seed,
            population_size: self.population_size,
            test_ca_fingerprint: String::new(),
        }))
    }

    async fn query_by_card(
        &self,
        _req: Request<pb::QueryByCardRequest>,
    ) -> Result<Response<pb::QueryByCardResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }

    async fn query_by_numbers(
        &self,
        _req: Request<pb::QueryByNumbersRequest>,
    ) -> Result<Response<pb::QueryByNumbersResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }

    async fn requery(
        &self,
        _req: Request<pb::RequeryRequest>,
    ) -> Result<Response<pb::RequeryResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }

    async fn register_reference_number(
        &self,
        _req: Request<pb::RegisterReferenceNumberRequest>,
    ) -> Result<Response<pb::RegisterReferenceNumberResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }

    async fn get_person(
        &self,
        _req: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::GetPersonResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }

    async fn list_people(
        &self,
        _req: Request<pb::ListPeopleRequest>,
    ) -> Result<Response<pb::ListPeopleResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }

    async fn configure_faults(
        &self,
        _req: Request<pb::ConfigureFaultsRequest>,
    ) -> Result<Response<pb::ConfigureFaultsResponse>, Status> {
        Err(Status::unimplemented("not built yet"))
    }
}
