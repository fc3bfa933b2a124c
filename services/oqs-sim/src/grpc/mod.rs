//! The simulator's gRPC edge: access table, tonic trait impls and the conversions between
//! wire messages and the engine's plain values. Only services may call.

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::error::Error;
use crate::sim::{Consents, Header, Knobs, SearchEcho, Sim};
use mynafleet_kit::auth::{AccessPolicy, CallerKind};
use mynafleet_kit::grpc::Frame;
use mynafleet_kit::page;
use mynafleet_proto::eligibility::v1 as el;
use mynafleet_proto::oqs::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::oqs_service_server::{OqsService, OqsServiceServer};
use std::sync::Arc;

const OQS_SERVICE: &str = "mynafleet.oqs.v1.OqsService";
const PEOPLE_PAGE_TAG: &str = "people";
const MAX_PEOPLE_PAGE: i32 = 500;

/// Returns the frame and routes of the simulator.
pub(crate) fn frame(config: Config, sim: Arc<Sim>) -> (Frame, tonic::service::Routes) {
    let policy = AccessPolicy::new().allow(&format!("/{OQS_SERVICE}/*"), &[CallerKind::Service]);
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls: config.tls,
        policy,
        health_names: &[OQS_SERVICE],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    (
        frame,
        tonic::service::Routes::new(OqsServiceServer::new(Simulator { sim })),
    )
}

#[derive(Debug)]
pub(crate) struct Simulator {
    pub(crate) sim: Arc<Sim>,
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn consents(c: Option<el::ConsentAnswers>) -> Consents {
    let c = c.unwrap_or_default();
    Consents {
        limit: c.limit_application_certificate,
        checkups: c.specific_health_checkups,
        pharmacists: c.pharmacists,
        diagnosis: c.diagnosis,
        operation: c.operation,
    }
}

fn person_message(p: &crate::population::Person) -> pb::Person {
    pb::Person {
        index: p.index,
        insurer_number: p.card.insurer_number.clone(),
        insured_card_symbol: p.card.symbol.clone(),
        insured_identification_number: p.card.number.clone(),
        insured_branch_number: p.card.branch.clone(),
        birthdate: p.card.birthdate.clone(),
        qualification_validity: p.validity.to_owned(),
        certificate_subject: p.certificate_subject.clone(),
    }
}

#[tonic::async_trait]
impl OqsService for Simulator {
    async fn get_simulator_info(
        &self,
        _req: Request<pb::GetSimulatorInfoRequest>,
    ) -> Result<Response<pb::GetSimulatorInfoResponse>, Status> {
        Ok(Response::new(pb::GetSimulatorInfoResponse {
            seed: self.sim.people().seed(),
            population_size: self.sim.people().len(),
            test_ca_fingerprint: self.sim.ca().fingerprint(),
        }))
    }

    async fn query_by_card(
        &self,
        req: Request<pb::QueryByCardRequest>,
    ) -> Result<Response<pb::QueryByCardResponse>, Status> {
        self.sim.gate().await?;
        let r = req.into_inner();
        let header = Header {
            date: r.qualification_confirmation_date,
            institution: r.medical_institution_code,
            file_id: r.arbitrary_file_identifier,
        };
        let result = self
            .sim
            .by_card(&header, &r.auth_certificate, consents(r.consents))?;
        Ok(Response::new(pb::QueryByCardResponse {
            result: Some(result),
        }))
    }

    async fn query_by_numbers(
        &self,
        req: Request<pb::QueryByNumbersRequest>,
    ) -> Result<Response<pb::QueryByNumbersResponse>, Status> {
        self.sim.gate().await?;
        let r = req.into_inner();
        let header = Header {
            date: r.qualification_confirmation_date,
            institution: r.medical_institution_code,
            file_id: r.arbitrary_file_identifier,
        };
        let search = SearchEcho {
            insurer_number: opt(r.insurer_number),
            symbol: opt(r.insured_card_symbol),
            number: opt(r.insured_identification_number),
            branch: opt(r.insured_branch_number),
            birthdate: opt(r.birthdate),
            limit_flag: opt(r.limit_application_certificate_related_cons_flg),
            arbitrary_identifier: None,
        };
        let result = self.sim.by_numbers(&header, &search, "0");
        Ok(Response::new(pb::QueryByNumbersResponse {
            result: Some(result),
        }))
    }

    async fn requery(
        &self,
        req: Request<pb::RequeryRequest>,
    ) -> Result<Response<pb::RequeryResponse>, Status> {
        self.sim.gate().await?;
        let r = req.into_inner();
        let header = Header {
            date: r.qualification_confirmation_date,
            institution: r.medical_institution_code,
            file_id: r.arbitrary_file_identifier,
        };
        let result = self.sim.requery(&header, &r.reference_number)?;
        Ok(Response::new(pb::RequeryResponse {
            result: Some(result),
        }))
    }

    async fn register_reference_number(
        &self,
        req: Request<pb::RegisterReferenceNumberRequest>,
    ) -> Result<Response<pb::RegisterReferenceNumberResponse>, Status> {
        self.sim.gate().await?;
        let r = req.into_inner();
        let done = self.sim.register(
            &r.medical_institution_code,
            &r.reference_number,
            [
                &r.insurer_number,
                &r.insured_card_symbol,
                &r.insured_identification_number,
                &r.insured_branch_number,
            ],
        )?;
        Ok(Response::new(pb::RegisterReferenceNumberResponse {
            processing_result_status: Some(done.status.to_owned()),
            processing_result_code: done.code.map(str::to_owned),
            processing_result_message: done.message.map(str::to_owned),
        }))
    }

    async fn get_person(
        &self,
        req: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::GetPersonResponse>, Status> {
        let p = self.sim.person(req.into_inner().index)?;
        Ok(Response::new(pb::GetPersonResponse {
            person: Some(person_message(p)),
        }))
    }

    async fn list_people(
        &self,
        req: Request<pb::ListPeopleRequest>,
    ) -> Result<Response<pb::ListPeopleResponse>, Status> {
        let r = req.into_inner();
        let size = if r.page_size > MAX_PEOPLE_PAGE {
            Err(format!("must be between 0 and {MAX_PEOPLE_PAGE}"))
        } else {
            page::page_size(r.page_size)
        }
        .map_err(|description| Error::InvalidField {
            field: "page_size",
            description,
        })?;
        let after: Option<u32> = match page::decode_token(PEOPLE_PAGE_TAG, &r.page_token) {
            Ok(None) => None,
            Ok(Some(last)) => Some(last.parse().map_err(|_| Error::InvalidPageToken)?),
            Err(()) => return Err(Error::InvalidPageToken.into()),
        };
        let start = after.map_or(0, |a| a as usize + 1);
        let matching = self.sim.people().all().iter().skip(start).filter(|p| {
            r.qualification_validity.is_empty() || p.validity == r.qualification_validity
        });
        let mut people: Vec<pb::Person> = Vec::new();
        let mut more = false;
        for p in matching {
            if people.len() == size as usize {
                more = true;
                break;
            }
            people.push(person_message(p));
        }
        let next_page_token = match (more, people.last()) {
            (true, Some(last)) => page::encode_token(PEOPLE_PAGE_TAG, &last.index.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListPeopleResponse {
            people,
            next_page_token,
        }))
    }

    async fn configure_faults(
        &self,
        req: Request<pb::ConfigureFaultsRequest>,
    ) -> Result<Response<pb::ConfigureFaultsResponse>, Status> {
        let r = req.into_inner();
        if !(0.0..=1.0).contains(&r.error_rate) {
            return Err(Error::InvalidField {
                field: "error_rate",
                description: "must be between 0.0 and 1.0".into(),
            }
            .into());
        }
        let delay = match r.delay {
            None => std::time::Duration::ZERO,
            Some(d) => std::time::Duration::try_from(d).map_err(|_| Error::InvalidField {
                field: "delay",
                description: "must not be negative".into(),
            })?,
        };
        self.sim.configure(Knobs {
            delay,
            error_rate: r.error_rate,
            outage: r.outage,
            inject_consent_fields: r.inject_consent_fields,
        });
        Ok(Response::new(pb::ConfigureFaultsResponse {}))
    }
}
