//! The agent's outbound gRPC edge: `ActivationService.Activate` / `Renew` and
//! `AgentService.WatchDevice`. The only module of the identity side that imports
//! `mynafleet_proto`; it turns wire messages into the agent's own values and statuses into
//! [`CallError`]. It builds no channels (see [`crate::identity`]) and logs nothing, so the
//! password and activation code it puts on the wire never reach a log.

use std::time::Duration;

use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::activation::v1::activation_service_client::ActivationServiceClient;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::agent::v1::agent_service_client::AgentServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};
use tonic_types::StatusExt;

use crate::facts::DeviceFacts;
use crate::watch::DeviceStatus;

/// The deadline of every unary call.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A call that ended with a status other than OK.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub(crate) struct CallError {
    pub(crate) code: Code,
    /// The `ErrorInfo` reason, when the server sent one.
    pub(crate) reason: Option<String>,
    pub(crate) message: String,
    /// The server's `RetryInfo`, when it sent one (ACTIVATION_LOCKED).
    pub(crate) retry_after: Option<Duration>,
}

impl CallError {
    pub(crate) fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or("")
    }
}

impl From<Status> for CallError {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        // A transport failure says only "transport error"; its sources say what failed
        // (refused connection, untrusted certificate).
        let mut message = status.message().to_owned();
        let mut source = std::error::Error::source(&status);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self {
            code: status.code(),
            reason: details.error_info().map(|info| info.reason.clone()),
            message,
            retry_after: details.retry_info().and_then(|info| info.retry_delay),
        }
    }
}

/// What Activate asks for. Borrowed, so the secrets stay in the caller's zeroizing buffers
/// until the request is encoded.
#[derive(Debug)]
pub(crate) struct ActivateCall<'a> {
    pub(crate) institution_code: &'a str,
    pub(crate) account_id: &'a str,
    pub(crate) password: &'a str,
    pub(crate) activation_code: &'a str,
    pub(crate) new_password: Option<&'a str>,
    pub(crate) csr_der: Vec<u8>,
    pub(crate) facts: &'a DeviceFacts,
}

/// A certificate issued by Activate (its expiry is read from the certificate itself).
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) device: String,
    pub(crate) account: String,
    pub(crate) certificate_pem: String,
    pub(crate) server_ca_pem: String,
    pub(crate) proxy_urls: Vec<String>,
    pub(crate) institution_code: String,
    pub(crate) institution_name: String,
}

/// A certificate issued by Renew.
#[derive(Debug)]
pub(crate) struct Renewed {
    pub(crate) certificate_pem: String,
    pub(crate) server_ca_pem: String,
    pub(crate) proxy_urls: Vec<String>,
}

/// Calls `ActivationService.Activate` (no client certificate).
pub(crate) async fn activate(
    channel: Channel,
    call: ActivateCall<'_>,
) -> Result<Issued, CallError> {
    let mut request = Request::new(pb::ActivateRequest {
        institution_code: call.institution_code.to_owned(),
        account_id: call.account_id.to_owned(),
        password: call.password.to_owned(),
        activation_code: call.activation_code.to_owned(),
        csr_der: call.csr_der,
        facts: Some(facts(call.facts)),
        request_id: String::new(),
        new_password: call.new_password.unwrap_or_default().to_owned(),
    });
    request.set_timeout(CALL_TIMEOUT);
    let reply = ActivationServiceClient::new(channel)
        .activate(request)
        .await?
        .into_inner();
    Ok(Issued {
        device: reply.device,
        account: reply.account,
        certificate_pem: reply.certificate_pem,
        server_ca_pem: reply.server_ca_pem,
        proxy_urls: reply.proxy_urls,
        institution_code: reply.institution_code,
        institution_name: reply.institution_name,
    })
}

/// Calls `ActivationService.Renew` over the channel's device identity.
pub(crate) async fn renew(
    channel: Channel,
    csr_der: Vec<u8>,
    device_facts: &DeviceFacts,
) -> Result<Renewed, CallError> {
    let mut request = Request::new(pb::RenewRequest {
        csr_der,
        facts: Some(facts(device_facts)),
    });
    request.set_timeout(CALL_TIMEOUT);
    let reply = ActivationServiceClient::new(channel)
        .renew(request)
        .await?
        .into_inner();
    Ok(Renewed {
        certificate_pem: reply.certificate_pem,
        server_ca_pem: reply.server_ca_pem,
        proxy_urls: reply.proxy_urls,
    })
}

/// An open `AgentService.WatchDevice` stream.
#[derive(Debug)]
pub(crate) struct DeviceWatch(Streaming<agent_pb::WatchDeviceResponse>);

impl DeviceWatch {
    /// Returns the next status the proxy reports, or `None` when the stream ends cleanly.
    pub(crate) async fn next(&mut self) -> Result<Option<DeviceStatus>, CallError> {
        Ok(self.0.message().await?.map(|m| device_status(m.status)))
    }
}

/// Opens `AgentService.WatchDevice` (no deadline: the stream lives while the device works;
/// HTTP/2 keep-alives on the channel notice a dead peer).
pub(crate) async fn watch_device(channel: Channel) -> Result<DeviceWatch, CallError> {
    let stream = AgentServiceClient::new(channel)
        .watch_device(agent_pb::WatchDeviceRequest {})
        .await?
        .into_inner();
    Ok(DeviceWatch(stream))
}

fn device_status(status: i32) -> DeviceStatus {
    match pb::DeviceStatus::try_from(status) {
        Ok(pb::DeviceStatus::Pending) => DeviceStatus::Pending,
        Ok(pb::DeviceStatus::Active) => DeviceStatus::Active,
        Ok(pb::DeviceStatus::Suspended) => DeviceStatus::Suspended,
        Ok(pb::DeviceStatus::Revoked) => DeviceStatus::Revoked,
        Ok(pb::DeviceStatus::Unspecified) | Err(_) => DeviceStatus::Unknown(status),
    }
}

fn facts(facts: &DeviceFacts) -> pb::DeviceFacts {
    pb::DeviceFacts {
        hostname: facts.hostname.clone(),
        os: facts.os.clone(),
        agent_version: facts.agent_version.clone(),
        readers: facts.readers.clone(),
    }
}
