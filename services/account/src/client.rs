//! Outbound calls to the activation service: issuing the activation codes printed on the
//! ユーザ設定情報 sheets of accounts the account service just issued (DESIGN.md §3.1). The
//! only module besides `grpc/` that imports `mynafleet_proto`; callers pass and get domain
//! values. The channel is lazy, so the services may start in any order, and every call has
//! the peer's deadline. Codes are never logged.

use crate::config::ActivationPeer;
use crate::sheet::IssuedCodes;
use crate::store::credentials::DeviceScope;
use mynafleet_kit::client::{TracedChannel, retry_unavailable, traced_channel};
use mynafleet_kit::tls::ChannelError;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic;
use pb::activation_internal_service_client::ActivationInternalServiceClient;
use zeroize::Zeroizing;

/// Why no codes came back: the activation service failed, refused, timed out or does not
/// offer the call yet.
#[derive(Debug, thiserror::Error)]
#[error("activation service answered {code:?}: {message}")]
pub(crate) struct CodesNotIssued {
    /// The gRPC code.
    pub(crate) code: tonic::Code,
    /// The status message (never holds a code).
    pub(crate) message: String,
}

/// The activation service's internal API, reached over service mTLS.
#[derive(Clone, Debug)]
pub(crate) struct ActivationClient {
    internal: ActivationInternalServiceClient<TracedChannel>,
}

impl ActivationClient {
    /// Builds the client; nothing connects until the first call.
    pub(crate) fn new(peer: &ActivationPeer) -> Result<Self, ChannelError> {
        let channel = traced_channel(&peer.client_tls, &peer.url, peer.call_timeout)?;
        Ok(Self {
            internal: ActivationInternalServiceClient::new(channel),
        })
    }

    /// Asks for one code per account in `scopes` under `request_id` (a retry with the same
    /// id gets the first answer, whose codes the activation service no longer shows).
    /// Returns the codes it issued by account name, and how many accounts it gave none.
    pub(crate) async fn issue_codes(
        &self,
        scopes: &[DeviceScope],
        request_id: &str,
    ) -> Result<(IssuedCodes, usize), CodesNotIssued> {
        let request = pb::IssueActivationCodesRequest {
            accounts: scopes.iter().map(crate::grpc::scope_to_pb).collect(),
            request_id: request_id.to_owned(),
        };
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let r = request.clone();
            async move { c.issue_activation_codes(r).await }
        })
        .await
        .map_err(|s| CodesNotIssued {
            code: s.code(),
            message: s.message().to_owned(),
        })?;
        let mut codes = IssuedCodes::default();
        let mut refused = 0;
        for issued in answer.into_inner().codes {
            let code = Zeroizing::new(issued.activation_code.map(|c| c.code).unwrap_or_default());
            if !codes.insert(issued.account, &code) {
                refused += 1;
            }
        }
        Ok((codes, refused))
    }
}
