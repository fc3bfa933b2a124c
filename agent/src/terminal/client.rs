//! A client of a running agent's terminal API, for `mynafleet-agent check`: watches the
//! state, submits the PIN or chooses visual mode, and turns the wire scan into
//! [`RemoteScan`]. It sends the bearer token on every call and never logs it or the PIN.

use std::time::Duration;

use mynafleet_proto::eligibility::v1 as elig_pb;
use mynafleet_proto::terminal::v1 as pb;
use mynafleet_proto::terminal::v1::terminal_service_client::TerminalServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Streaming};
use zeroize::Zeroizing;

use super::Token;
use crate::client::{CallError, Consents, Verdict};
use crate::jpki::Pin;

/// A scan as the running agent reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteScan {
    /// The scan id.
    pub(crate) scan_id: String,
    /// The reader.
    pub(crate) reader: String,
    /// Where the scan is.
    pub(crate) phase: RemotePhase,
    /// Tries left, when the card reported them (0 = blocked).
    pub(crate) tries_left: Option<u32>,
    /// The PIN is blocked.
    pub(crate) pin_blocked: bool,
    /// One try left: the submit needs confirmation.
    pub(crate) last_try: bool,
    /// The last PIN was rejected.
    pub(crate) pin_rejected: bool,
    /// FAILED: the reason and what to do.
    pub(crate) failure_reason: String,
    /// FAILED: what to do.
    pub(crate) failure_message: String,
    /// DONE: the verdict.
    pub(crate) verdict: Option<Verdict>,
    /// DONE: the result in the app's copy format.
    pub(crate) copy_text: String,
    /// DONE: the proxy's processing message.
    pub(crate) processing_result_message: String,
    /// DONE: the check id.
    pub(crate) check_id: String,
}

/// A scan phase as the wire says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemotePhase {
    /// Reading the card.
    Reading,
    /// Waiting for the PIN or visual mode.
    AwaitingIdentity,
    /// Signing.
    Signing,
    /// Asking the proxy.
    Checking,
    /// Done.
    Done,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Unknown to this agent.
    Unknown,
}

/// The agent's state as the terminal API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteState {
    /// Attached readers.
    pub(crate) readers: Vec<String>,
    /// The current or last scan.
    pub(crate) scan: Option<RemoteScan>,
    /// Whether pcscd is reachable.
    pub(crate) pcsc_available: bool,
}

/// A connection to the terminal API.
#[derive(Debug, Clone)]
pub(crate) struct TerminalClient {
    client: TerminalServiceClient<Channel>,
    token: Option<Token>,
}

/// An open `WatchState` stream.
#[derive(Debug)]
pub(crate) struct StateWatch(Streaming<pb::WatchStateResponse>);

impl StateWatch {
    /// Returns the next state, or `None` when the agent ended the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<RemoteState>, CallError> {
        Ok(self
            .0
            .message()
            .await?
            .map(|m| state_from_wire(m.state.unwrap_or_default())))
    }
}

impl TerminalClient {
    /// Connects to `url` (`http://127.0.0.1:7510`), sending `token` with every call.
    pub(crate) async fn connect(url: &str, token: Option<Token>) -> Result<Self, CallError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| local_error(format!("terminal url {url:?}: {e}")))?
            .connect_timeout(Duration::from_secs(5));
        let channel = endpoint.connect().await.map_err(|e| {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                cause.push_str(": ");
                cause.push_str(&inner.to_string());
                source = inner.source();
            }
            local_error(format!(
                "cannot reach the agent's terminal api at {url} ({cause}); is `mynafleet-agent run` running?"
            ))
        })?;
        Ok(Self {
            client: TerminalServiceClient::new(channel),
            token,
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(token) = &self.token {
            let header = Zeroizing::new(format!("Bearer {}", token.expose()));
            if let Ok(value) = MetadataValue::try_from(header.as_str()) {
                request.metadata_mut().insert("authorization", value);
            }
        }
        request
    }

    /// Opens `WatchState`: the current state at once, then every change.
    pub(crate) async fn watch(&mut self) -> Result<StateWatch, CallError> {
        let request = self.request(pb::WatchStateRequest {});
        Ok(StateWatch(
            self.client.watch_state(request).await?.into_inner(),
        ))
    }

    /// Submits `pin` for scan `scan_id`.
    pub(crate) async fn submit_pin(
        &mut self,
        scan_id: &str,
        pin: &Pin,
        confirm_last_try: bool,
        consents: Consents,
    ) -> Result<RemoteScan, CallError> {
        let text = Zeroizing::new(String::from_utf8_lossy(pin.bytes()).into_owned());
        let request = self.request(pb::SubmitPinRequest {
            scan_id: scan_id.to_owned(),
            pin: text.to_string(),
            confirm_last_try,
            consents: Some(consents.to_wire()),
        });
        let reply = self.client.submit_pin(request).await?.into_inner();
        Ok(scan_from_wire(reply.scan.unwrap_or_default()))
    }

    /// Runs scan `scan_id`'s check in visual mode, attested by `staff`.
    pub(crate) async fn choose_visual(
        &mut self,
        scan_id: &str,
        staff: &str,
        consents: Consents,
    ) -> Result<RemoteScan, CallError> {
        let request = self.request(pb::ChooseVisualRequest {
            scan_id: scan_id.to_owned(),
            attesting_staff: staff.to_owned(),
            consents: Some(consents.to_wire()),
        });
        let reply = self.client.choose_visual(request).await?.into_inner();
        Ok(scan_from_wire(reply.scan.unwrap_or_default()))
    }
}

fn local_error(message: String) -> CallError {
    CallError {
        code: tonic::Code::Unavailable,
        reason: None,
        message,
        retry_after: None,
    }
}

fn state_from_wire(state: pb::TerminalState) -> RemoteState {
    RemoteState {
        readers: state.readers.into_iter().map(|r| r.name).collect(),
        scan: state.scan.map(scan_from_wire),
        pcsc_available: state.pcsc_available,
    }
}

fn scan_from_wire(scan: pb::Scan) -> RemoteScan {
    let phase = match pb::ScanPhase::try_from(scan.phase) {
        Ok(pb::ScanPhase::Reading) => RemotePhase::Reading,
        Ok(pb::ScanPhase::AwaitingIdentity) => RemotePhase::AwaitingIdentity,
        Ok(pb::ScanPhase::Signing) => RemotePhase::Signing,
        Ok(pb::ScanPhase::Checking) => RemotePhase::Checking,
        Ok(pb::ScanPhase::Done) => RemotePhase::Done,
        Ok(pb::ScanPhase::Failed) => RemotePhase::Failed,
        Ok(pb::ScanPhase::Cancelled) => RemotePhase::Cancelled,
        Ok(pb::ScanPhase::Unspecified) | Err(_) => RemotePhase::Unknown,
    };
    let pin_status = pb::PinStatus::try_from(scan.pin_status).unwrap_or_default();
    let result: Option<elig_pb::CheckResult> = scan.result;
    let answer = result.map(crate::client::CheckAnswer::from_wire);
    RemoteScan {
        scan_id: scan.scan_id,
        reader: scan.reader,
        phase,
        tries_left: scan.tries_left,
        pin_blocked: pin_status == pb::PinStatus::Blocked,
        last_try: pin_status == pb::PinStatus::LastTry,
        pin_rejected: scan.pin_rejected,
        failure_reason: scan.failure_reason,
        failure_message: scan.failure_message,
        verdict: answer.as_ref().map(|a| a.verdict()),
        copy_text: answer
            .as_ref()
            .map(|a| a.copy_text().to_owned())
            .unwrap_or_default(),
        processing_result_message: answer
            .as_ref()
            .map(|a| a.processing_result_message().to_owned())
            .unwrap_or_default(),
        check_id: answer
            .as_ref()
            .map(|a| a.check_id().to_owned())
            .unwrap_or_default(),
    }
}
