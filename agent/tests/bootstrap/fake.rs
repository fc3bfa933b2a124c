//! A stand-in for the activation service and the proxy's AgentService on one TLS port, with
//! just enough behaviour to drive the agent's bootstrap: the four items, temporary
//! passwords, code-to-key binding, short-lived device certificates, Renew over mTLS and a
//! WatchDevice stream. It is an independent reading of activation.proto and agent.proto; the
//! real services are exercised by the suite's e2e tests.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::activation::v1::activation_service_server::{
    ActivationService, ActivationServiceServer,
};
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::agent::v1::agent_service_server::{AgentService, AgentServiceServer};
use mynafleet_proto::tonic::{self, Code, Request, Response, Status};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use rustls::pki_types::CertificateSigningRequestDer;
use time::OffsetDateTime;
use tokio_stream::Stream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_types::{ErrorDetails, StatusExt};
use x509_parser::prelude::FromDer;

pub(crate) const INSTITUTION: &str = "1312345678";
pub(crate) const ACCOUNT: &str = "W0000001";
pub(crate) const PASSWORD: &str = "Temp-Pass-1234";
pub(crate) const CODE: &str = "1234-5678-9012";
pub(crate) const EXPIRED_CODE: &str = "0000-0000-0000";
pub(crate) const DEVICE: &str = "organizations/o1/clinics/c1/devices/d1";
pub(crate) const ACCOUNT_NAME: &str = "organizations/o1/clinics/c1/accounts/W0000001";

/// What the fake saw and how it behaves; tests read and tweak it.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) password: String,
    pub(crate) must_change_password: bool,
    pub(crate) lifetime: Duration,
    pub(crate) activate_calls: usize,
    pub(crate) bound_key: Option<Vec<u8>>,
    pub(crate) issued: Option<String>,
    pub(crate) renewals: usize,
    pub(crate) refuse_renewal: Option<&'static str>,
    pub(crate) watch_opens: usize,
    /// Refuse WatchDevice with this reason (PERMISSION_DENIED).
    pub(crate) refuse_watch: Option<&'static str>,
    /// Proxy URLs to hand out instead of this fake's own.
    pub(crate) proxy_urls: Option<Vec<String>>,
    pub(crate) who_am_i_serials: Vec<String>,
    next_serial: u64,
}

pub(crate) struct Fake {
    pub(crate) addr: SocketAddr,
    pub(crate) server_ca_pem: String,
    pub(crate) server_ca_der: Vec<u8>,
    pub(crate) world: Arc<Mutex<World>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct Pki {
    server_ca_pem: String,
    device_ca: CertifiedIssuer<'static, KeyPair>,
}

#[derive(Clone)]
struct Api {
    world: Arc<Mutex<World>>,
    pki: Arc<Pki>,
    proxy_url: String,
}

impl Fake {
    pub(crate) fn activation_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub(crate) fn proxy_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// Starts the fake on a port of its own; it stops when dropped.
    pub(crate) async fn start(lifetime: Duration) -> Fake {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fake mynafleet internal ca");
        let server_ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &server_ca)
            .unwrap();

        let device_key = KeyPair::generate().unwrap();
        let mut device_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        device_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        device_params
            .distinguished_name
            .push(DnType::CommonName, "fake mynafleet device ca");
        let device_ca = CertifiedIssuer::self_signed(device_params, device_key).unwrap();

        let tls = ServerTlsConfig::new()
            // Leaf and CA, as dev servers send them, so a pin can find the CA in the chain.
            .identity(Identity::from_pem(
                format!("{}{}", server_cert.pem(), server_ca.pem()),
                server_key.serialize_pem(),
            ))
            .client_ca_root(Certificate::from_pem(device_ca.pem()))
            .client_auth_optional(true);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let world = Arc::new(Mutex::new(World {
            password: PASSWORD.into(),
            must_change_password: false,
            lifetime,
            activate_calls: 0,
            bound_key: None,
            issued: None,
            renewals: 0,
            refuse_renewal: None,
            watch_opens: 0,
            refuse_watch: None,
            proxy_urls: None,
            who_am_i_serials: Vec::new(),
            next_serial: 1,
        }));
        let server_ca_pem = server_ca.pem();
        let server_ca_der = server_ca.der().to_vec();
        let api = Api {
            world: world.clone(),
            pki: Arc::new(Pki {
                server_ca_pem: server_ca_pem.clone(),
                device_ca,
            }),
            proxy_url: format!("https://127.0.0.1:{}", addr.port()),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(ActivationServiceServer::new(api.clone()))
            .add_service(AgentServiceServer::new(api));
        tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Fake {
            addr,
            server_ca_pem,
            server_ca_der,
            world,
            _stop: stop,
        }
    }
}

fn refuse(code: Code, reason: &str) -> Status {
    let details = ErrorDetails::with_error_info(reason, "mynafleet.activation.v1", []);
    Status::with_error_details(code, format!("refused: {reason}"), details)
}

fn spki_of_csr(csr_der: &[u8]) -> Result<Vec<u8>, Status> {
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
        .map_err(|_| refuse(Code::InvalidArgument, "CSR_INVALID"))?;
    Ok(csr.certification_request_info.subject_pki.raw.to_vec())
}

impl Api {
    fn proxy_urls(&self) -> Vec<String> {
        let world = self.world.lock().unwrap();
        world
            .proxy_urls
            .clone()
            .unwrap_or_else(|| vec![self.proxy_url.clone()])
    }

    fn issue(&self, csr_der: &[u8]) -> Result<String, Status> {
        let der = CertificateSigningRequestDer::from(csr_der.to_vec());
        let mut request = CertificateSigningRequestParams::from_der(&der)
            .map_err(|_| refuse(Code::InvalidArgument, "CSR_INVALID"))?;
        let mut world = self.world.lock().unwrap();
        let now = OffsetDateTime::now_utc();
        let params = &mut request.params;
        params.serial_number = Some(world.next_serial.into());
        world.next_serial += 1;
        params.not_before = now - time::Duration::seconds(1);
        params.not_after = now + world.lifetime;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.subject_alt_names = vec![SanType::URI(
            format!("spiffe://mynafleet/{ACCOUNT_NAME}/devices/d1")
                .try_into()
                .unwrap(),
        )];
        Ok(request.signed_by(&self.pki.device_ca).unwrap().pem())
    }
}

fn serial_of(peer: &[rustls::pki_types::CertificateDer<'static>]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(&peer[0]).unwrap();
    hex::encode_upper(cert.raw_serial())
}

#[tonic::async_trait]
impl ActivationService for Api {
    async fn activate(
        &self,
        request: Request<pb::ActivateRequest>,
    ) -> Result<Response<pb::ActivateResponse>, Status> {
        let r = request.into_inner();
        let spki = spki_of_csr(&r.csr_der)?;
        {
            let mut world = self.world.lock().unwrap();
            world.activate_calls += 1;
            if r.institution_code != INSTITUTION
                || r.account_id != ACCOUNT
                || r.password != world.password
            {
                return Err(refuse(Code::Unauthenticated, "CREDENTIALS_INVALID"));
            }
            match r.activation_code.as_str() {
                CODE => {}
                EXPIRED_CODE => return Err(refuse(Code::FailedPrecondition, "CODE_EXPIRED")),
                _ => return Err(refuse(Code::InvalidArgument, "CODE_MISMATCH")),
            }
            match &world.bound_key {
                Some(bound) if *bound != spki => {
                    return Err(refuse(Code::FailedPrecondition, "CODE_BOUND_TO_OTHER_KEY"));
                }
                Some(_) => {}
                None => world.bound_key = Some(spki),
            }
            if world.must_change_password {
                if r.new_password.is_empty() {
                    return Err(refuse(Code::FailedPrecondition, "PASSWORD_CHANGE_REQUIRED"));
                }
                world.password = r.new_password.clone();
                world.must_change_password = false;
            }
        }
        let existing = self.world.lock().unwrap().issued.clone();
        let certificate_pem = match existing {
            Some(pem) => pem,
            None => {
                let pem = self.issue(&r.csr_der)?;
                self.world.lock().unwrap().issued = Some(pem.clone());
                pem
            }
        };
        Ok(Response::new(pb::ActivateResponse {
            device: DEVICE.into(),
            account: ACCOUNT_NAME.into(),
            certificate_pem,
            server_ca_pem: self.pki.server_ca_pem.clone(),
            certificate_expire_time: None,
            proxy_urls: self.proxy_urls(),
            institution_code: INSTITUTION.into(),
            institution_name: "みなと診療所".into(),
        }))
    }

    async fn renew(
        &self,
        request: Request<pb::RenewRequest>,
    ) -> Result<Response<pb::RenewResponse>, Status> {
        if request.peer_certs().is_none() {
            return Err(refuse(Code::Unauthenticated, "CALLER_UNKNOWN"));
        }
        if let Some(reason) = self.world.lock().unwrap().refuse_renewal {
            return Err(refuse(Code::PermissionDenied, reason));
        }
        let certificate_pem = self.issue(&request.into_inner().csr_der)?;
        self.world.lock().unwrap().renewals += 1;
        Ok(Response::new(pb::RenewResponse {
            certificate_pem,
            server_ca_pem: self.pki.server_ca_pem.clone(),
            certificate_expire_time: None,
            proxy_urls: self.proxy_urls(),
        }))
    }
}

type WatchStream =
    Pin<Box<dyn Stream<Item = Result<agent_pb::WatchDeviceResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for Api {
    async fn who_am_i(
        &self,
        request: Request<agent_pb::WhoAmIRequest>,
    ) -> Result<Response<agent_pb::WhoAmIResponse>, Status> {
        let peer = request
            .peer_certs()
            .ok_or_else(|| refuse(Code::Unauthenticated, "CALLER_UNKNOWN"))?;
        self.world
            .lock()
            .unwrap()
            .who_am_i_serials
            .push(serial_of(&peer));
        Ok(Response::new(agent_pb::WhoAmIResponse {
            device: DEVICE.into(),
            account: ACCOUNT_NAME.into(),
            status: pb::DeviceStatus::Active as i32,
        }))
    }

    type WatchDeviceStream = WatchStream;
    type StreamEventsStream =
        Pin<Box<dyn Stream<Item = Result<agent_pb::StreamEventsResponse, Status>> + Send>>;

    async fn stream_events(
        &self,
        _request: Request<tonic::Streaming<agent_pb::StreamEventsRequest>>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        // The bootstrap tests never open the event stream.
        Err(Status::unimplemented("not part of the bootstrap fake"))
    }

    async fn watch_device(
        &self,
        request: Request<agent_pb::WatchDeviceRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        if request.peer_certs().is_none() {
            return Err(refuse(Code::Unauthenticated, "CALLER_UNKNOWN"));
        }
        if let Some(reason) = self.world.lock().unwrap().refuse_watch {
            let details = ErrorDetails::with_error_info(reason, "mynafleet.agent.v1", []);
            return Err(Status::with_error_details(
                Code::PermissionDenied,
                "refused",
                details,
            ));
        }
        self.world.lock().unwrap().watch_opens += 1;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let beat = agent_pb::WatchDeviceResponse {
                    status: pb::DeviceStatus::Active as i32,
                    time: None,
                };
                if tx.send(Ok(beat)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
