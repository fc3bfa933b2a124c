//! The OQS simulator adapter: `mynafleet.oqs.v1.OqsService` over service mTLS. It can do
//! every kind of check.
//!
//! It maps the query structs to oqs.v1 requests and statuses to [`UpstreamError`]: an
//! unreachable or failing simulator (UNAVAILABLE, DEADLINE_EXCEEDED, a broken connection) is
//! `Unavailable`, which the guard retries; everything else is `Invalid`. An answer must echo
//! the request's 医療機関コード and ArbitraryFileIdentifier, so a result for another clinic or
//! request is never passed on. It never retries by itself and never logs results.

use super::{
    Answer, Capabilities, CardQuery, NumberQuery, QueryHeader, Registration, RequeryQuery,
    Upstream, UpstreamError,
};
use mynafleet_kit::client::{TracedChannel, traced_channel};
use mynafleet_kit::tls::ClientTls;
use mynafleet_proto::eligibility::v1 as pb;
use mynafleet_proto::oqs::v1 as oqs;
use oqs::oqs_service_client::OqsServiceClient;
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

#[cfg(test)]
mod tests;

/// The reason oqs-sim gives when a certificate names no simulated person.
const CERTIFICATE_UNKNOWN: &str = "CERTIFICATE_UNKNOWN";

/// oqs-sim over gRPC.
#[derive(Debug)]
pub(crate) struct SimUpstream {
    client: OqsServiceClient<TracedChannel>,
}

impl SimUpstream {
    /// Returns an adapter for the simulator at `url`; nothing connects until the first call.
    /// The guard bounds each try by `deadline`; the channel's own timeout is a second longer,
    /// so the guard's clearer `Timeout` is what callers see.
    pub(crate) fn new(
        url: &str,
        client_tls: &ClientTls,
        deadline: Duration,
    ) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        let channel = traced_channel(client_tls, url, deadline + Duration::from_secs(1))?;
        Ok(Self {
            client: OqsServiceClient::new(channel),
        })
    }
}

#[tonic::async_trait]
impl Upstream for SimUpstream {
    fn name(&self) -> &'static str {
        "oqs-sim"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            card: true,
            numbers: true,
            requery: true,
            register: true,
        }
    }

    async fn query_by_card(&self, q: &CardQuery) -> Result<Answer, UpstreamError> {
        let response = self
            .client
            .clone()
            .query_by_card(card_request(q))
            .await
            .map_err(from_status)?;
        answer(&q.header, response.into_inner().result)
    }

    async fn query_by_numbers(&self, q: &NumberQuery) -> Result<Answer, UpstreamError> {
        let response = self
            .client
            .clone()
            .query_by_numbers(numbers_request(q))
            .await
            .map_err(from_status)?;
        answer(&q.header, response.into_inner().result)
    }

    async fn requery(&self, q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        let response = self
            .client
            .clone()
            .requery(requery_request(q))
            .await
            .map_err(from_status)?;
        answer(&q.header, response.into_inner().result)
    }

    async fn register_reference_number(
        &self,
        r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        let response = self
            .client
            .clone()
            .register_reference_number(registration_request(r))
            .await
            .map_err(from_status)?
            .into_inner();
        Ok(pb::RegisterReferenceNumberResponse {
            processing_result_status: response.processing_result_status,
            processing_result_code: response.processing_result_code,
            processing_result_message: response.processing_result_message,
        })
    }
}

fn card_request(q: &CardQuery) -> oqs::QueryByCardRequest {
    oqs::QueryByCardRequest {
        medical_institution_code: q.header.institution_code.clone(),
        qualification_confirmation_date: q.header.confirmation_date.clone(),
        auth_certificate: q.certificate_der.clone(),
        consents: Some(q.consents),
        arbitrary_file_identifier: q.header.file_identifier.clone(),
    }
}

fn numbers_request(q: &NumberQuery) -> oqs::QueryByNumbersRequest {
    oqs::QueryByNumbersRequest {
        medical_institution_code: q.header.institution_code.clone(),
        qualification_confirmation_date: q.header.confirmation_date.clone(),
        insurer_number: q.insurer_number.clone(),
        insured_card_symbol: q.symbol.clone(),
        insured_identification_number: q.number.clone(),
        insured_branch_number: q.branch.clone(),
        birthdate: q.birthdate.clone(),
        limit_application_certificate_related_cons_flg: if q.limit_consent { "1" } else { "0" }
            .to_owned(),
        arbitrary_file_identifier: q.header.file_identifier.clone(),
    }
}

fn requery_request(q: &RequeryQuery) -> oqs::RequeryRequest {
    oqs::RequeryRequest {
        medical_institution_code: q.header.institution_code.clone(),
        qualification_confirmation_date: q.header.confirmation_date.clone(),
        reference_number: q.reference_number.clone(),
        arbitrary_file_identifier: q.header.file_identifier.clone(),
    }
}

fn registration_request(r: &Registration) -> oqs::RegisterReferenceNumberRequest {
    oqs::RegisterReferenceNumberRequest {
        medical_institution_code: r.header.institution_code.clone(),
        reference_number: r.reference_number.clone(),
        insurer_number: r.insurer_number.clone(),
        insured_card_symbol: r.symbol.clone(),
        insured_identification_number: r.number.clone(),
        insured_branch_number: r.branch.clone(),
    }
}

/// Accepts `result` only when it echoes the request's institution and file identifier.
fn answer(
    header: &QueryHeader,
    result: Option<pb::QualificationResult>,
) -> Result<Answer, UpstreamError> {
    let result =
        result.ok_or_else(|| UpstreamError::Invalid("the answer holds no result".to_owned()))?;
    let echoed = result.header.as_ref();
    if echoed.and_then(|h| h.medical_institution_code.as_deref())
        != Some(header.institution_code.as_str())
    {
        return Err(UpstreamError::Invalid(
            "the answer names another medical institution".to_owned(),
        ));
    }
    if echoed.and_then(|h| h.arbitrary_file_identifier.as_deref())
        != Some(header.file_identifier.as_str())
    {
        return Err(UpstreamError::Invalid(
            "the answer names another request".to_owned(),
        ));
    }
    Ok(Answer { result })
}

/// Maps a failed call: the simulator down or unreachable is `Unavailable`; a certificate it
/// does not know, and anything else, is `Invalid`.
fn from_status(status: Status) -> UpstreamError {
    // A status made locally from a transport failure (a reset stream, a dropped connection)
    // carries its cause; one the simulator sent does not.
    let transport = std::error::Error::source(&status).is_some();
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded => UpstreamError::Unavailable(describe(&status)),
        Code::Cancelled | Code::Unknown if transport => {
            UpstreamError::Unavailable(describe(&status))
        }
        Code::NotFound
            if status
                .get_details_error_info()
                .is_some_and(|i| i.reason == CERTIFICATE_UNKNOWN) =>
        {
            UpstreamError::Invalid("the upstream knows no person for this certificate".to_owned())
        }
        _ => UpstreamError::Invalid(describe(&status)),
    }
}

fn describe(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}
