//! Outbound calls to the account service. The only module besides `grpc.rs` that imports
//! `mynafleet_proto`; callers get domain answers, never prost types.

use crate::config::Config;
use crate::error::{Error, Result};
use mynafleet_kit::client::{TracedChannel, retry_unavailable, traced_channel};
use mynafleet_proto::account::v1 as pb;
use pb::organization_service_client::OrganizationServiceClient;

/// What activation needs to know of an organization.
#[derive(Clone, Debug)]
pub(crate) struct OrganizationSummary {
    /// Its display name.
    pub(crate) display_name: String,
}

/// The account service, reached over service mTLS with a deadline on every call.
#[derive(Clone, Debug)]
pub(crate) struct AccountClient {
    organizations: OrganizationServiceClient<TracedChannel>,
}

impl AccountClient {
    /// Builds the client; nothing connects until the first call.
    pub(crate) fn new(config: &Config) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        let channel = traced_channel(&config.client_tls, &config.account_url, config.call_timeout)?;
        Ok(Self {
            organizations: OrganizationServiceClient::new(channel),
        })
    }

    /// Returns the organization named `name` (`organizations/{id}`).
    pub(crate) async fn organization(&self, name: &str) -> Result<OrganizationSummary> {
        let answer = retry_unavailable(|| {
            let mut c = self.organizations.clone();
            let req = pb::GetOrganizationRequest {
                name: name.to_owned(),
            };
            async move { c.get_organization(req).await }
        })
        .await;
        match answer {
            Ok(r) => Ok(OrganizationSummary {
                display_name: r
                    .into_inner()
                    .organization
                    .map(|o| o.display_name)
                    .unwrap_or_default(),
            }),
            Err(s) if s.code() == tonic::Code::NotFound => Err(Error::OrganizationNotFound),
            Err(s) => Err(Error::AccountUnavailable(s)),
        }
    }
}

use mynafleet_proto::tonic;
