//! `EligibilityService`: every handler passes the device gate, validates its input, hands the
//! check to [`crate::check::Checker`] and maps the answer. Nothing here decides a refusal.

use super::device;
use crate::check::{Asker, CardInput, Checked, Checker, input};
use crate::error::Error;
use crate::gate::Gate;
use mynafleet_proto::eligibility::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::eligibility_service_server::EligibilityService;
use std::sync::Arc;

/// The eligibility API.
#[derive(Debug, Clone)]
pub(crate) struct Eligibility {
    gate: Gate,
    checker: Arc<Checker>,
}

impl Eligibility {
    /// Returns the API over `gate` and `checker`.
    pub(crate) fn new(gate: Gate, checker: Arc<Checker>) -> Self {
        Self { gate, checker }
    }

    /// The admitted device behind `req`.
    async fn asker<T>(&self, req: &Request<T>) -> Result<Asker, Error> {
        let id = device(req)?;
        let admitted = self.gate.check(&id).await?;
        Ok(Asker {
            device: admitted.device,
            account: admitted.account,
            source_address: mynafleet_kit::grpc::source_address(req),
            traceparent: mynafleet_kit::telemetry::current_traceparent(),
        })
    }
}

fn timestamp(t: time::OffsetDateTime) -> mynafleet_proto::prost_types::Timestamp {
    mynafleet_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

fn to_pb(c: Checked) -> pb::CheckResult {
    let copy_text = crate::handoff::copy_text(&c.result);
    pb::CheckResult {
        copy_text,
        check_id: c.check_id,
        verdict: c.reading.verdict.into(),
        validity: c.reading.validity.into(),
        processing_result_message: c.reading.message,
        needs_staff_action: c.reading.needs_staff_action,
        scope: c.scope.into(),
        result: Some(c.result),
        handoff_files: c.handoff_files,
        handoff_error: c.handoff_error,
    }
}

#[tonic::async_trait]
impl EligibilityService for Eligibility {
    async fn begin_card_check(
        &self,
        req: Request<pb::BeginCardCheckRequest>,
    ) -> Result<Response<pb::BeginCardCheckResponse>, Status> {
        let asker = self.asker(&req).await?;
        let issued = self.checker.begin(&asker);
        Ok(Response::new(pb::BeginCardCheckResponse {
            challenge_id: issued.id,
            challenge: issued.bytes.to_vec(),
            expire_time: Some(timestamp(issued.expires)),
        }))
    }

    async fn complete_card_check(
        &self,
        req: Request<pb::CompleteCardCheckRequest>,
    ) -> Result<Response<pb::CompleteCardCheckResponse>, Status> {
        let asker = self.asker(&req).await?;
        let r = req.into_inner();
        let method = r.identity_method();
        let input = CardInput {
            method,
            challenge_id: r.challenge_id,
            certificate_der: r.auth_certificate,
            signature: r.signature,
            attesting_staff: r.attesting_staff,
            consents: r.consents.unwrap_or_default(),
        };
        let checked = self.checker.card(&asker, input).await?;
        Ok(Response::new(pb::CompleteCardCheckResponse {
            check: Some(to_pb(checked)),
        }))
    }

    async fn check_by_numbers(
        &self,
        req: Request<pb::CheckByNumbersRequest>,
    ) -> Result<Response<pb::CheckByNumbersResponse>, Status> {
        let asker = self.asker(&req).await?;
        let r = req.into_inner();
        let numbers = input::numbers(input::RawNumbers {
            insurer_number: &r.insurer_number,
            symbol: &r.insured_card_symbol,
            number: &r.insured_identification_number,
            branch: &r.insured_branch_number,
            birthdate: Some(&r.birthdate),
        })?;
        let checked = self
            .checker
            .numbers(&asker, numbers, r.limit_application_consent)
            .await?;
        Ok(Response::new(pb::CheckByNumbersResponse {
            check: Some(to_pb(checked)),
        }))
    }

    async fn requery(
        &self,
        req: Request<pb::RequeryRequest>,
    ) -> Result<Response<pb::RequeryResponse>, Status> {
        let asker = self.asker(&req).await?;
        let r = req.into_inner();
        let reference = input::reference_number("reference_number", &r.reference_number)?;
        let checked = self.checker.requery(&asker, reference).await?;
        Ok(Response::new(pb::RequeryResponse {
            check: Some(to_pb(checked)),
        }))
    }

    async fn register_reference_number(
        &self,
        req: Request<pb::RegisterReferenceNumberRequest>,
    ) -> Result<Response<pb::RegisterReferenceNumberResponse>, Status> {
        let asker = self.asker(&req).await?;
        let r = req.into_inner();
        let reference = input::reference_number("reference_number", &r.reference_number)?;
        let numbers = input::numbers(input::RawNumbers {
            insurer_number: &r.insurer_number,
            symbol: &r.insured_card_symbol,
            number: &r.insured_identification_number,
            branch: &r.insured_branch_number,
            birthdate: None,
        })?;
        let answer = self.checker.register(&asker, reference, numbers).await?;
        Ok(Response::new(answer))
    }
}
