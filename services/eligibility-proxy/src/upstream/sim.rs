//! The OQS simulator adapter: `mynafleet.oqs.v1.OqsService` over service mTLS. It can do
//! every kind of check.

use super::{
    Answer, Capabilities, CardQuery, NumberQuery, Registration, RequeryQuery, Upstream,
    UpstreamError,
};
use mynafleet_kit::tls::ClientTls;
use mynafleet_proto::eligibility::v1 as pb;

/// oqs-sim over gRPC.
#[derive(Debug)]
pub(crate) struct SimUpstream {}

impl SimUpstream {
    /// Returns an adapter for the simulator at `url`; nothing connects until the first call.
    pub(crate) fn new(
        _url: &str,
        _client_tls: &ClientTls,
    ) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        Ok(Self {})
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

    async fn query_by_card(&self, _q: &CardQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::Unavailable("not built yet".to_owned()))
    }

    async fn query_by_numbers(&self, _q: &NumberQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::Unavailable("not built yet".to_owned()))
    }

    async fn requery(&self, _q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::Unavailable("not built yet".to_owned()))
    }

    async fn register_reference_number(
        &self,
        _r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        Err(UpstreamError::Unavailable("not built yet".to_owned()))
    }
}
