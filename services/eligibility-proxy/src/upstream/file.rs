//! The OQS file interface adapter (DOMAIN.md §3.1–3.2): writes `OQSsiquc01req_<12 digits>.xml`
//! into the request folder (temporary name, then rename), waits for the matching
//! `OQSsiquc01res_….xml` or `.err` in the result folder until the deadline, and parses it.
//! It can do card-number checks only.

use super::{
    Answer, Capabilities, CardQuery, NumberQuery, Registration, RequeryQuery, Upstream,
    UpstreamError,
};
use crate::config::FileInterfaceConfig;
use mynafleet_proto::eligibility::v1 as pb;
use std::time::Duration;

/// The OQS file interface of one 資格確認端末.
#[derive(Debug)]
pub(crate) struct FileUpstream {
    #[allow(dead_code, reason = "skeleton")]
    config: FileInterfaceConfig,
    #[allow(dead_code, reason = "skeleton")]
    deadline: Duration,
}

impl FileUpstream {
    /// Returns the adapter; `deadline` bounds the wait for a result.
    pub(crate) fn new(config: FileInterfaceConfig, deadline: Duration) -> Self {
        Self { config, deadline }
    }
}

#[tonic::async_trait]
impl Upstream for FileUpstream {
    fn name(&self) -> &'static str {
        "oqs-file"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            numbers: true,
            ..Capabilities::default()
        }
    }

    async fn query_by_card(&self, _q: &CardQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::NotCapable {
            adapter: self.name(),
            what: "card checks",
        })
    }

    async fn query_by_numbers(&self, _q: &NumberQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::Unavailable("not built yet".to_owned()))
    }

    async fn requery(&self, _q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::NotCapable {
            adapter: self.name(),
            what: "再照会",
        })
    }

    async fn register_reference_number(
        &self,
        _r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        Err(UpstreamError::NotCapable {
            adapter: self.name(),
            what: "照会番号 registration",
        })
    }
}
