//! Reaching the services: the account endpoint and CA (flags, then the session, then the dev
//! data dir's endpoints.json), the activation endpoint likewise (same CA), TLS channels with
//! a deadline on every call, and clients that send the session token as
//! `authorization: Bearer` to both. Never prints or logs the token.

use super::GlobalArgs;
use super::errors::{Failure, Service};
use super::output::Format;
use super::session::Session;
use anyhow::{Context as _, bail};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::activation::v1 as activation_pb;
use mynafleet_proto::tonic::metadata::{Ascii, MetadataValue};
use mynafleet_proto::tonic::service::Interceptor;
use mynafleet_proto::tonic::service::interceptor::InterceptedService;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_proto::tonic::{Request, Status};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The deadline of every call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What every command runs with.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The global flags.
    pub(crate) global: GlobalArgs,
}

/// Where the account service is and which CA vouches for it.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// `https://host:port`.
    pub(crate) url: String,
    /// The CA file, absolute when it could be resolved.
    pub(crate) ca: PathBuf,
}

impl Ctx {
    /// Returns the context of one command.
    pub(crate) fn new(global: GlobalArgs) -> Self {
        Self { global }
    }

    /// How results are printed.
    pub(crate) fn format(&self) -> Format {
        self.global.output
    }

    /// Returns the directory of the session file.
    pub(crate) fn config_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.global.config_dir {
            Some(d) => Ok(d.clone()),
            None => dirs::config_dir()
                .map(|d| d.join("mynafleet"))
                .context("no config directory is known for this user; pass --config-dir"),
        }
    }

    /// Returns the endpoint for a new session: flags, then endpoints.json of `mynafleet dev`.
    pub(crate) fn endpoint(&self, session: Option<&Session>) -> anyhow::Result<Endpoint> {
        let dev = DevEndpoints::read(&self.global.dev_data_dir.join("endpoints.json"));
        let url = self
            .global
            .endpoint
            .clone()
            .or_else(|| session.map(|s| s.endpoint.clone()))
            .or_else(|| dev.as_ref().map(|d| d.account.clone()))
            .context(
                "no account endpoint: pass --endpoint https://HOST:PORT (or start `mynafleet dev` \
                 in this directory)",
            )?;
        let ca = self
            .global
            .ca
            .clone()
            .or_else(|| session.and_then(|s| s.ca.clone()))
            .or_else(|| dev.map(|d| PathBuf::from(d.ca_bundle)))
            .context("no CA certificate: pass --ca FILE (the PEM of the CA behind the service)")?;
        let ca = std::path::absolute(&ca).unwrap_or(ca);
        Ok(Endpoint {
            url: with_scheme(&url),
            ca,
        })
    }

    /// Returns the activation service's URL: flags (or env), then `session`'s, then
    /// endpoints.json of `mynafleet dev`; `None` when none of them names one.
    pub(crate) fn activation_url(&self, session: Option<&Session>) -> Option<String> {
        self.global
            .activation_url
            .clone()
            .or_else(|| session.and_then(|s| s.activation_url.clone()))
            .or_else(|| {
                DevEndpoints::read(&self.global.dev_data_dir.join("endpoints.json"))
                    .and_then(|d| d.activation)
            })
            .map(|u| with_scheme(&u))
    }

    /// Returns an unauthenticated channel to `endpoint`.
    pub(crate) fn channel(&self, endpoint: &Endpoint) -> anyhow::Result<Channel> {
        crate::pem::client_tls(&endpoint.ca, None)?
            .lazy_channel(&endpoint.url, CALL_TIMEOUT)
            .with_context(|| format!("connect to {}", endpoint.url))
    }

    /// Returns clients that act as the logged-in operator.
    pub(crate) fn api(&self) -> anyhow::Result<Api> {
        let session = Session::load(&self.config_dir()?)?;
        if session.expired() {
            bail!("session expired; run `mynafleet admin login`");
        }
        let endpoint = self.endpoint(Some(&session))?;
        let channel = self.channel(&endpoint)?;
        let bearer = Bearer::new(&session.token)?;
        let activation = match self.activation_url(Some(&session)) {
            Some(url) => {
                let endpoint = Endpoint {
                    url,
                    ca: endpoint.ca.clone(),
                };
                let channel = self.channel(&endpoint)?;
                Some((endpoint, InterceptedService::new(channel, bearer.clone())))
            }
            None => None,
        };
        Ok(Api {
            channel: InterceptedService::new(channel, bearer),
            organization: session.organization.clone(),
            activation,
        })
    }
}

/// A service certificate and key of the internal CA (`mynafleet deploy init` writes them to
/// `certs/{service}.pem` and `certs/{service}-key.pem`, `mynafleet dev` likewise in its data
/// dir).
#[derive(Clone, Debug)]
pub(crate) struct ServiceIdentity {
    /// The certificate chain (PEM).
    pub(crate) cert: PathBuf,
    /// Its private key (PEM).
    pub(crate) key: PathBuf,
}

impl Ctx {
    /// Returns the dev data dir's certificate of the account service, when `mynafleet dev`
    /// made one.
    pub(crate) fn dev_service_identity(&self) -> Option<ServiceIdentity> {
        let certs = self.global.dev_data_dir.join("certs");
        let id = ServiceIdentity {
            cert: certs.join("account.pem"),
            key: certs.join("account-key.pem"),
        };
        (id.cert.is_file() && id.key.is_file()).then_some(id)
    }

    /// Returns clients of the account service that act as the service `identity` names,
    /// for `parent` (no session; activation is not reached).
    pub(crate) fn service_api(
        &self,
        identity: &ServiceIdentity,
        parent: &str,
    ) -> anyhow::Result<Api> {
        let session = self.config_dir().and_then(|d| Session::load(&d)).ok();
        let endpoint = self.endpoint(session.as_ref())?;
        let channel = crate::pem::client_tls(&endpoint.ca, Some((&identity.cert, &identity.key)))?
            .lazy_channel(&endpoint.url, CALL_TIMEOUT)
            .with_context(|| format!("connect to {}", endpoint.url))?;
        Ok(Api {
            channel: InterceptedService::new(channel, Bearer::certificate()),
            organization: parent.to_owned(),
            activation: None,
        })
    }
}

/// Prefixes `https://` when the endpoint names only host and port (as endpoints.json does).
fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

/// The part of `mynafleet dev`'s endpoints.json the CLI reads.
#[derive(Debug, serde::Deserialize)]
struct DevEndpoints {
    account: String,
    #[serde(default)]
    activation: Option<String>,
    ca_bundle: String,
}

impl DevEndpoints {
    fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Adds `authorization: Bearer <token>` (marked sensitive) to every call; adds nothing for a
/// caller whose identity is its TLS client certificate.
#[derive(Clone, Debug)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// Returns the interceptor for `token`.
    pub(crate) fn new(token: &str) -> anyhow::Result<Self> {
        let mut value: MetadataValue<Ascii> = format!("Bearer {token}")
            .parse()
            .map_err(|_| anyhow::anyhow!("the stored session token is damaged; log in again"))?;
        value.set_sensitive(true);
        Ok(Self(Some(value)))
    }

    /// Returns the interceptor of a caller that presents a client certificate instead.
    fn certificate() -> Self {
        Self(None)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            req.metadata_mut().insert("authorization", value.clone());
        }
        Ok(req)
    }
}

/// A channel that carries the operator's token.
pub(crate) type Authed = InterceptedService<Channel, Bearer>;

/// Clients of the account service (and of the activation service, when its endpoint is
/// known) acting as the logged-in operator.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    channel: Authed,
    /// `organizations/{org}` of the operator (`deployment` for a service identity reading
    /// the deployment's audit chain).
    pub(crate) organization: String,
    /// The activation service's endpoint and channel.
    activation: Option<(Endpoint, Authed)>,
}

impl Api {
    fn activation_channel(&self) -> anyhow::Result<&(Endpoint, Authed)> {
        self.activation.as_ref().context(
            "no activation endpoint: pass --activation-url https://HOST:PORT (or start \
             `mynafleet dev` in this directory)",
        )
    }

    /// Returns the activation service's endpoint (its URL goes on code-only sheets).
    pub(crate) fn activation_endpoint(&self) -> anyhow::Result<&Endpoint> {
        Ok(&self.activation_channel()?.0)
    }

    pub(crate) fn codes(
        &self,
    ) -> anyhow::Result<
        activation_pb::activation_code_service_client::ActivationCodeServiceClient<Authed>,
    > {
        Ok(
            activation_pb::activation_code_service_client::ActivationCodeServiceClient::new(
                self.activation_channel()?.1.clone(),
            ),
        )
    }

    pub(crate) fn devices(
        &self,
    ) -> anyhow::Result<activation_pb::device_service_client::DeviceServiceClient<Authed>> {
        Ok(
            activation_pb::device_service_client::DeviceServiceClient::new(
                self.activation_channel()?.1.clone(),
            ),
        )
    }

    pub(crate) fn clinics(&self) -> pb::clinic_service_client::ClinicServiceClient<Authed> {
        pb::clinic_service_client::ClinicServiceClient::new(self.channel.clone())
    }

    pub(crate) fn accounts(
        &self,
    ) -> pb::device_account_service_client::DeviceAccountServiceClient<Authed> {
        pb::device_account_service_client::DeviceAccountServiceClient::new(self.channel.clone())
    }

    pub(crate) fn applications(
        &self,
    ) -> pb::application_service_client::ApplicationServiceClient<Authed> {
        pb::application_service_client::ApplicationServiceClient::new(self.channel.clone())
    }

    pub(crate) fn operators(&self) -> pb::operator_service_client::OperatorServiceClient<Authed> {
        pb::operator_service_client::OperatorServiceClient::new(self.channel.clone())
    }

    pub(crate) fn sessions(&self) -> pb::session_service_client::SessionServiceClient<Authed> {
        pb::session_service_client::SessionServiceClient::new(self.channel.clone())
    }

    pub(crate) fn audit(&self) -> pb::audit_log_service_client::AuditLogServiceClient<Authed> {
        pb::audit_log_service_client::AuditLogServiceClient::new(self.channel.clone())
    }

    /// `organizations/{org}/clinics/-`: every clinic the operator may see.
    pub(crate) fn all_clinics(&self) -> String {
        format!("{}/clinics/-", self.organization)
    }
}

/// Runs `call`, retrying while the service is UNAVAILABLE (mutations carry a request id, so a
/// retry cannot apply twice), and turns a failure into a readable error.
pub(crate) async fn call<T, F, Fut>(call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<mynafleet_proto::tonic::Response<T>, Status>>,
{
    try_call(call).await.map_err(|s| Failure::from(s).into())
}

/// Like [`call`] for a call to the activation service (its failures say so).
pub(crate) async fn call_activation<T, F, Fut>(call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<mynafleet_proto::tonic::Response<T>, Status>>,
{
    try_call(call)
        .await
        .map_err(|s| Failure::of(s, Service::Activation).into())
}

/// Like [`call`], keeping the status for callers that look at it (imports).
pub(crate) async fn try_call<T, F, Fut>(call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<mynafleet_proto::tonic::Response<T>, Status>>,
{
    mynafleet_kit::client::retry_unavailable(call)
        .await
        .map(mynafleet_proto::tonic::Response::into_inner)
}

/// Collects every page of a list call: `page(token)` returns the items and the next token.
pub(crate) async fn all_pages<T, F, Fut>(mut page: F) -> anyhow::Result<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = anyhow::Result<(Vec<T>, String)>>,
{
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next) = page(token).await?;
        out.extend(items);
        if next.is_empty() {
            return Ok(out);
        }
        token = next;
    }
}

/// A fresh request id for a single mutation (retries of this call reuse it).
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
