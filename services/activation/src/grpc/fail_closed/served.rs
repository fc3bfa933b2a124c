//! Activation served for the fail-closed tests: the real server (frame, access table, TLS)
//! on a test pool, beside an account stand-in that knows one organization administrator and
//! one available device account. It never starts the cascade or the audit forwarder, so
//! what the outbox holds stays there for the tests to count.

use crate::config::Config;
use crate::grpc::{Api, frame};
use mynafleet_kit::auth::{AccessPolicy, CallerKind};
use mynafleet_kit::tls::dev::DevPki;
use mynafleet_kit::tls::{ClientTls, TlsIdentity};
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use sqlx::AnyPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(super) const ORG: &str = "0190a000-0000-7000-8000-0000000000a1";
const CLINIC: &str = "0190a000-0000-7000-8000-0000000000c1";
pub(super) const ACCOUNT_ID: &str = "W0000001";
const INSTITUTION: &str = "3410712362";
const PASSWORD: &str = "Uketsuke-Tanmatsu-2026";
const TOKEN: &str = "operator-session-token";

fn account_name() -> String {
    format!("organizations/{ORG}/clinics/{CLINIC}/accounts/{ACCOUNT_ID}")
}

fn scope() -> account_pb::DeviceAccountScope {
    account_pb::DeviceAccountScope {
        account: account_name(),
        organization: format!("organizations/{ORG}"),
        clinic: format!("organizations/{ORG}/clinics/{CLINIC}"),
        institution_code: INSTITUTION.into(),
        institution_name: "さくら内科".into(),
        privilege: account_pb::Privilege::General.into(),
        status: account_pb::DeviceAccountStatus::Available.into(),
        must_change_password: false,
        home_visit_enabled: false,
    }
}

/// The account service as far as activation asks it: one organization administrator, one
/// available device account whose password is [`PASSWORD`].
#[derive(Clone)]
struct AccountStandIn;

#[tonic::async_trait]
impl account_pb::account_internal_service_server::AccountInternalService for AccountStandIn {
    async fn verify_device_credentials(
        &self,
        req: Request<account_pb::VerifyDeviceCredentialsRequest>,
    ) -> Result<Response<account_pb::VerifyDeviceCredentialsResponse>, Status> {
        if req.get_ref().password != PASSWORD {
            return Err(Status::unauthenticated("credentials invalid"));
        }
        Ok(Response::new(account_pb::VerifyDeviceCredentialsResponse {
            scope: Some(scope()),
        }))
    }

    async fn change_device_password(
        &self,
        _req: Request<account_pb::ChangeDevicePasswordRequest>,
    ) -> Result<Response<account_pb::ChangeDevicePasswordResponse>, Status> {
        Err(Status::unimplemented("not in this stand-in"))
    }

    type WatchAccountEventsStream =
        tokio_stream::Empty<Result<account_pb::WatchAccountEventsResponse, Status>>;

    async fn watch_account_events(
        &self,
        _req: Request<account_pb::WatchAccountEventsRequest>,
    ) -> Result<Response<Self::WatchAccountEventsStream>, Status> {
        Err(Status::unimplemented("not in this stand-in"))
    }

    async fn check_operator_token(
        &self,
        req: Request<account_pb::CheckOperatorTokenRequest>,
    ) -> Result<Response<account_pb::CheckOperatorTokenResponse>, Status> {
        if req.get_ref().session_token != TOKEN {
            return Err(Status::unauthenticated("session invalid"));
        }
        Ok(Response::new(account_pb::CheckOperatorTokenResponse {
            operator: Some(account_pb::Operator {
                name: format!("organizations/{ORG}/operators/0190a000-0000-7000-8000-0000000000f1"),
                login_id: "sakura-admin".into(),
                role: account_pb::Role::OrgAdmin.into(),
                ..Default::default()
            }),
            organization: format!("organizations/{ORG}"),
            max_age_millis: 1000,
        }))
    }

    async fn get_device_account_scope(
        &self,
        _req: Request<account_pb::GetDeviceAccountScopeRequest>,
    ) -> Result<Response<account_pb::GetDeviceAccountScopeResponse>, Status> {
        Ok(Response::new(account_pb::GetDeviceAccountScopeResponse {
            scope: Some(scope()),
        }))
    }

    async fn ingest_audit_records(
        &self,
        _req: Request<account_pb::IngestAuditRecordsRequest>,
    ) -> Result<Response<account_pb::IngestAuditRecordsResponse>, Status> {
        Err(Status::unimplemented("not in this stand-in"))
    }
}

/// Adds the stand-in operator's session token to every call.
#[derive(Clone, Copy)]
pub(super) struct Bearer;

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let value = format!("Bearer {TOKEN}")
            .parse()
            .map_err(|_| Status::internal("header"))?;
        req.metadata_mut().insert("authorization", value);
        Ok(req)
    }
}

/// A channel that calls as the stand-in operator.
pub(super) type Authed = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

/// Activation served over TLS on a test pool, with the account stand-in beside it.
pub(super) struct Served {
    pki: DevPki,
    url: String,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}", l.local_addr().unwrap().port());
    (l, url)
}

pub(super) async fn serve(pool: AnyPool) -> Served {
    let pki = DevPki::in_memory().unwrap();
    let stop = CancellationToken::new();
    let (account_listener, account_url) = listener().await;
    let account_frame = mynafleet_kit::grpc::Frame {
        service: "account",
        tls: pki.server_tls(pki.service_identity("account").unwrap(), None),
        policy: AccessPolicy::new().allow(
            "/mynafleet.account.v1.AccountInternalService/*",
            &[CallerKind::Service],
        ),
        health_names: &["mynafleet.account.v1.AccountInternalService"],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    let routes = tonic::service::Routes::new(
        account_pb::account_internal_service_server::AccountInternalServiceServer::new(
            AccountStandIn,
        ),
    );
    let stopped = stop.clone();
    tokio::spawn(async move {
        mynafleet_kit::grpc::serve(account_frame, routes, account_listener, async move {
            stopped.cancelled().await;
        })
        .await
    });

    let (activation_listener, url) = listener().await;
    let identity = pki.service_identity("activation").unwrap();
    let mut config = Config::for_tests(
        "sqlite::memory:".into(),
        pki.server_tls(identity.clone(), None),
        pki.client_tls(Some(identity.clone())),
        account_url,
    );
    let device_ca = config.device_ca.cert_pem().to_owned();
    config.tls = pki.server_tls(identity, Some(device_ca));
    let account = crate::client::AccountClient::new(&config).unwrap();
    let api = Api::new(config, pool.clone(), account, stop.clone());
    let (frame, routes) = frame(api);
    let stopped = stop.clone();
    tokio::spawn(async move {
        mynafleet_kit::grpc::serve(frame, routes, activation_listener, async move {
            stopped.cancelled().await;
        })
        .await
    });
    Served { pki, url, stop }
}

impl Served {
    pub(super) fn channel(&self, identity: Option<TlsIdentity>) -> Channel {
        ClientTls {
            server_ca_pem: self.pki.ca().cert_pem().to_owned(),
            identity,
        }
        .lazy_channel(&self.url, Duration::from_secs(10))
        .unwrap()
    }

    fn as_service(
        &self,
    ) -> pb::activation_internal_service_client::ActivationInternalServiceClient<Channel> {
        let id = self.pki.service_identity("account").unwrap();
        pb::activation_internal_service_client::ActivationInternalServiceClient::new(
            self.channel(Some(id)),
        )
    }

    pub(super) fn as_operator(&self) -> pb::device_service_client::DeviceServiceClient<Authed> {
        pb::device_service_client::DeviceServiceClient::with_interceptor(self.channel(None), Bearer)
    }

    pub(super) fn activation(
        &self,
        identity: Option<TlsIdentity>,
    ) -> pb::activation_service_client::ActivationServiceClient<Channel> {
        pb::activation_service_client::ActivationServiceClient::new(self.channel(identity))
    }

    /// Issues one code for the stand-in's account, as the account service does for sheets.
    pub(super) async fn issue_code(
        &self,
        request_id: &str,
    ) -> Result<pb::IssueActivationCodesResponse, Status> {
        self.as_service()
            .issue_activation_codes(pb::IssueActivationCodesRequest {
                accounts: vec![scope()],
                request_id: request_id.into(),
            })
            .await
            .map(Response::into_inner)
    }

    /// Activates the stand-in's account with `code` and a fresh key.
    pub(super) async fn activate(
        &self,
        code: &str,
        key: &rcgen::KeyPair,
    ) -> Result<pb::ActivateResponse, Status> {
        self.activation(None)
            .activate(pb::ActivateRequest {
                institution_code: INSTITUTION.into(),
                account_id: ACCOUNT_ID.into(),
                password: PASSWORD.into(),
                activation_code: code.into(),
                csr_der: csr(key),
                facts: None,
                request_id: uuid::Uuid::new_v4().to_string(),
                new_password: String::new(),
            })
            .await
            .map(Response::into_inner)
    }

    /// Activates a device and returns its name, key, and certificate.
    pub(super) async fn activated(&self) -> (String, rcgen::KeyPair, String) {
        let code = self
            .issue_code(&uuid::Uuid::new_v4().to_string())
            .await
            .unwrap();
        let code = code.codes[0].activation_code.clone().unwrap().code;
        let key = rcgen::KeyPair::generate().unwrap();
        let reply = self.activate(&code, &key).await.unwrap();
        (reply.device, key, reply.certificate_pem)
    }
}

pub(super) fn csr(key: &rcgen::KeyPair) -> Vec<u8> {
    rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(key)
        .unwrap()
        .der()
        .to_vec()
}
