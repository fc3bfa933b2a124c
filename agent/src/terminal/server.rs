//! The `TerminalService` server: the scan service's commands and state over gRPC, the bearer
//! check on TCP, and the conversions between the scan service's values and the wire.
//!
//! `SubmitPin`'s PIN is parsed into a zeroizing [`Pin`] at once and the request's copy is
//! wiped; it is never logged. Errors map to statuses with the `ErrorInfo` reasons of
//! `terminal.proto` in one exhaustive match.

use std::future::Future;
use std::pin::Pin as StdPin;

use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::eligibility::v1 as elig_pb;
use mynafleet_proto::prost_types::Timestamp;
use mynafleet_proto::terminal::v1 as pb;
use mynafleet_proto::terminal::v1::terminal_service_server::{
    TerminalService, TerminalServiceServer,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::info;
use zeroize::Zeroize;

use super::{Listen, Token};
use crate::client::Consents;
use crate::jpki::{Pin, PinCounter, TokenKind};
use crate::scan::{ScanService, ScanView, TerminalError, TerminalState};
use crate::session::{Method, Phase, Refusal};

const DOMAIN: &str = "mynafleet.terminal.v1";

/// Why the terminal API could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding or preparing the listener failed.
    #[error("terminal api on {listen}: {source}")]
    Bind {
        /// Where.
        listen: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed.
    #[error("terminal api: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves the terminal API for `service` on `listen` until `shutdown` completes. Over TCP
/// every call must carry `token`.
pub async fn serve(
    listen: &Listen,
    service: ScanService,
    token: Token,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let bind = |source| ServeError::Bind {
        listen: listen.to_string(),
        source,
    };
    let api = Api { service };
    match listen {
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind)?;
            info!(listen = %listener.local_addr().map_err(bind)?, "terminal api listening");
            serve_tcp(listener, api.service, token, shutdown).await
        }
        Listen::Unix(path) => {
            let listener = bind_unix(path).map_err(bind)?;
            info!(listen = %listen, "terminal api listening");
            Server::builder()
                .add_service(TerminalServiceServer::new(api))
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::UnixListenerStream::new(listener),
                    shutdown,
                )
                .await?;
            let _ = std::fs::remove_file(path);
            Ok(())
        }
    }
}

/// Serves on an already bound loopback `listener` (tests bind port 0).
pub(crate) async fn serve_tcp(
    listener: tokio::net::TcpListener,
    service: ScanService,
    token: Token,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let check = move |request: Request<()>| {
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        match presented {
            Some(presented) if token.matches(presented) => Ok(request),
            _ => Err(error(
                Code::Unauthenticated,
                "TERMINAL_TOKEN_INVALID",
                "the bearer token is missing or wrong; it is in terminal.token in the agent's state dir",
            )),
        }
    };
    Server::builder()
        .add_service(TerminalServiceServer::with_interceptor(
            Api { service },
            check,
        ))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await?;
    Ok(())
}

fn bind_unix(path: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(listener)
}

struct Api {
    service: ScanService,
}

fn error(code: Code, reason: &str, message: &str) -> Status {
    let details = ErrorDetails::with_error_info(reason, DOMAIN, []);
    Status::with_error_details(code, message, details)
}

impl From<TerminalError> for Status {
    fn from(e: TerminalError) -> Self {
        let message = e.to_string();
        let (code, reason) = match e {
            TerminalError::Refused(Refusal::NoScanWaiting) => {
                (Code::FailedPrecondition, "NO_SCAN_WAITING")
            }
            TerminalError::Refused(Refusal::ScanMismatch) => {
                (Code::FailedPrecondition, "SCAN_MISMATCH")
            }
            TerminalError::Refused(Refusal::LastTryNotConfirmed) => {
                (Code::FailedPrecondition, "LAST_TRY_NOT_CONFIRMED")
            }
            TerminalError::Refused(Refusal::PinBlocked) => {
                (Code::FailedPrecondition, "PIN_BLOCKED")
            }
            TerminalError::Refused(Refusal::ScanBusy) => (Code::FailedPrecondition, "SCAN_BUSY"),
            TerminalError::PinMalformed => (Code::InvalidArgument, "PIN_MALFORMED"),
            TerminalError::StaffIdRequired => (Code::InvalidArgument, "STAFF_ID_REQUIRED"),
            TerminalError::Stopped => return Status::unavailable(message),
        };
        error(code, reason, &message)
    }
}

type StateStream = StdPin<Box<dyn Stream<Item = Result<pb::WatchStateResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TerminalService for Api {
    async fn get_state(
        &self,
        _request: Request<pb::GetStateRequest>,
    ) -> Result<Response<pb::GetStateResponse>, Status> {
        let state = state_to_wire(&self.service.state().borrow());
        Ok(Response::new(pb::GetStateResponse { state: Some(state) }))
    }

    type WatchStateStream = StateStream;

    async fn watch_state(
        &self,
        _request: Request<pb::WatchStateRequest>,
    ) -> Result<Response<Self::WatchStateStream>, Status> {
        let mut state = self.service.state();
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            loop {
                let wire = state_to_wire(&state.borrow_and_update());
                let message = pb::WatchStateResponse { state: Some(wire) };
                if tx.send(Ok(message)).await.is_err() {
                    return;
                }
                tokio::select! {
                    changed = state.changed() => if changed.is_err() { return },
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn submit_pin(
        &self,
        request: Request<pb::SubmitPinRequest>,
    ) -> Result<Response<pb::SubmitPinResponse>, Status> {
        let mut request = request.into_inner();
        let pin = Pin::parse(&request.pin);
        request.pin.zeroize();
        let pin = pin.map_err(|_| Status::from(TerminalError::PinMalformed))?;
        let view = self
            .service
            .submit_pin(
                &request.scan_id,
                pin,
                request.confirm_last_try,
                Consents::from_wire(request.consents),
            )
            .await?;
        Ok(Response::new(pb::SubmitPinResponse {
            scan: Some(scan_to_wire(&view)),
        }))
    }

    async fn choose_visual(
        &self,
        request: Request<pb::ChooseVisualRequest>,
    ) -> Result<Response<pb::ChooseVisualResponse>, Status> {
        let request = request.into_inner();
        let view = self
            .service
            .choose_visual(
                &request.scan_id,
                &request.attesting_staff,
                Consents::from_wire(request.consents),
            )
            .await?;
        Ok(Response::new(pb::ChooseVisualResponse {
            scan: Some(scan_to_wire(&view)),
        }))
    }

    async fn cancel_scan(
        &self,
        request: Request<pb::CancelScanRequest>,
    ) -> Result<Response<pb::CancelScanResponse>, Status> {
        let view = self.service.cancel(&request.into_inner().scan_id).await?;
        Ok(Response::new(pb::CancelScanResponse {
            scan: Some(scan_to_wire(&view)),
        }))
    }

    async fn get_last_result(
        &self,
        _request: Request<pb::GetLastResultRequest>,
    ) -> Result<Response<pb::GetLastResultResponse>, Status> {
        let scan = self
            .service
            .state()
            .borrow()
            .last_finished
            .as_ref()
            .map(scan_to_wire);
        Ok(Response::new(pb::GetLastResultResponse { scan }))
    }
}

fn state_to_wire(state: &TerminalState) -> pb::TerminalState {
    pb::TerminalState {
        version: state.version,
        readers: state
            .readers
            .iter()
            .map(|r| pb::Reader {
                name: r.name.clone(),
                card_present: r.card_present,
            })
            .collect(),
        scan: state.scan.as_ref().map(scan_to_wire),
        pcsc_available: state.pcsc_available,
        uplink_connected: state.uplink_connected,
        outbox_pending: state.outbox_pending,
    }
}

fn scan_to_wire(view: &ScanView) -> pb::Scan {
    let scan = &view.scan;
    let phase = match scan.phase {
        Phase::Reading => pb::ScanPhase::Reading,
        Phase::AwaitingIdentity => pb::ScanPhase::AwaitingIdentity,
        Phase::Signing => pb::ScanPhase::Signing,
        Phase::Checking => pb::ScanPhase::Checking,
        Phase::Done => pb::ScanPhase::Done,
        Phase::Failed => pb::ScanPhase::Failed,
        Phase::Cancelled => pb::ScanPhase::Cancelled,
    };
    let (pin_status, tries_left) = match scan.pin {
        None => (pb::PinStatus::Unspecified, None),
        Some(PinCounter::Tries(1)) => (pb::PinStatus::LastTry, Some(1)),
        Some(PinCounter::Tries(n)) => (pb::PinStatus::Available, Some(u32::from(n))),
        Some(PinCounter::Blocked) => (pb::PinStatus::Blocked, Some(0)),
        Some(PinCounter::Unknown) => (pb::PinStatus::Unknown, None),
    };
    let failure = scan
        .failure
        .clone()
        .unwrap_or_else(|| crate::session::Failure::new(String::new(), String::new()));
    pb::Scan {
        scan_id: scan.id.clone(),
        reader: scan.reader.clone(),
        phase: phase.into(),
        token: token_to_wire(scan.token).into(),
        pin_status: pin_status.into(),
        tries_left,
        pin_rejected: scan.pin_rejected,
        failure_reason: failure.reason,
        failure_message: failure.message,
        result: view.result.as_ref().map(|r| r.to_wire()),
        start_time: Some(timestamp(scan.start_time)),
        end_time: scan.end_time.map(timestamp),
        identity_method: match scan.method {
            None => elig_pb::IdentityMethod::Unspecified,
            Some(Method::Pin) => elig_pb::IdentityMethod::Pin,
            Some(Method::Visual) => elig_pb::IdentityMethod::Visual,
        }
        .into(),
    }
}

fn token_to_wire(token: Option<TokenKind>) -> agent_pb::TokenType {
    match token {
        None => agent_pb::TokenType::Unspecified,
        Some(TokenKind::Card) => agent_pb::TokenType::Card,
        Some(TokenKind::JukiCard) => agent_pb::TokenType::JukiCard,
        Some(TokenKind::Android) => agent_pb::TokenType::Android,
        Some(TokenKind::Iphone) => agent_pb::TokenType::Iphone,
        Some(TokenKind::Other) => agent_pb::TokenType::Other,
    }
}

fn timestamp(time: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: time.unix_timestamp(),
        nanos: i32::try_from(time.nanosecond()).unwrap_or(0),
    }
}
