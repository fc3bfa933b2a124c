//! The agent's outbound gRPC edge: `ActivationService.Activate` / `Renew`,
//! `AgentService.WatchDevice` and `EligibilityService.BeginCardCheck` / `CompleteCardCheck`.
//! The only module of the identity and scan side that imports `mynafleet_proto`; it turns
//! wire messages into the agent's own values ([`CheckAnswer`] keeps the proxy's result as
//! received, for the terminal API) and statuses into [`CallError`]. It builds no channels
//! (see [`crate::identity`]) and logs nothing, so the password, activation code, certificate
//! and signature it puts on the wire never reach a log.

use std::time::Duration;

use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::activation::v1::activation_service_client::ActivationServiceClient;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::agent::v1::agent_service_client::AgentServiceClient;
use mynafleet_proto::eligibility::v1 as elig_pb;
use mynafleet_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};
use tonic_types::StatusExt;

use crate::facts::DeviceFacts;
use crate::session::Method;
use crate::watch::DeviceStatus;

/// The deadline of every unary call.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The deadline of the check calls: the proxy's own upstream deadline plus headroom.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Returns a request for `message` carrying the current span's W3C `traceparent`.
fn traced<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    crate::telemetry::inject(request.metadata_mut());
    request
}

/// Calls `ActivationService.Activate` (no client certificate).
pub(crate) async fn activate(
    channel: Channel,
    call: ActivateCall<'_>,
) -> Result<Issued, CallError> {
    let mut request = traced(pb::ActivateRequest {
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
    let mut request = traced(pb::RenewRequest {
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
        .watch_device(traced(agent_pb::WatchDeviceRequest {}))
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

/// A challenge the proxy issued for a card check. `Debug` hides the bytes.
#[derive(Clone)]
pub struct Challenge {
    /// Opaque; sent back with the check.
    pub id: String,
    /// The 32 bytes the card signs.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge").finish_non_exhaustive()
    }
}

/// The proxy's reading of a result (DOMAIN.md §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 有効.
    Eligible,
    /// 無効 or 該当資格なし.
    NotEligible,
    /// Staff must look (無効（新しい資格あり）, 複数該当, several results).
    NeedsStaffAction,
    /// The upstream reported an error.
    UpstreamError,
    /// A verdict this agent does not know.
    Unknown,
}

impl Verdict {
    /// Returns the verdict's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Eligible => "ELIGIBLE",
            Verdict::NotEligible => "NOT_ELIGIBLE",
            Verdict::NeedsStaffAction => "NEEDS_STAFF_ACTION",
            Verdict::UpstreamError => "UPSTREAM_ERROR",
            Verdict::Unknown => "UNKNOWN",
        }
    }

    fn from_wire(value: i32) -> Self {
        match elig_pb::Verdict::try_from(value) {
            Ok(elig_pb::Verdict::Eligible) => Verdict::Eligible,
            Ok(elig_pb::Verdict::NotEligible) => Verdict::NotEligible,
            Ok(elig_pb::Verdict::NeedsStaffAction) => Verdict::NeedsStaffAction,
            Ok(elig_pb::Verdict::UpstreamError) => Verdict::UpstreamError,
            Ok(elig_pb::Verdict::Unspecified) | Err(_) => Verdict::Unknown,
        }
    }

    fn to_wire(self) -> elig_pb::Verdict {
        match self {
            Verdict::Eligible => elig_pb::Verdict::Eligible,
            Verdict::NotEligible => elig_pb::Verdict::NotEligible,
            Verdict::NeedsStaffAction => elig_pb::Verdict::NeedsStaffAction,
            Verdict::UpstreamError => elig_pb::Verdict::UpstreamError,
            Verdict::Unknown => elig_pb::Verdict::Unspecified,
        }
    }
}

/// The patient's consent answers given at the terminal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consents {
    /// 限度額適用認定証の提供に同意する.
    pub limit_application_certificate: bool,
    /// 閲覧同意: 特定健診.
    pub specific_health_checkups: bool,
    /// 閲覧同意: 薬剤.
    pub pharmacists: bool,
    /// 閲覧同意: 診療.
    pub diagnosis: bool,
    /// 閲覧同意: 手術.
    pub operation: bool,
}

impl Consents {
    pub(crate) fn from_wire(c: Option<elig_pb::ConsentAnswers>) -> Self {
        let c = c.unwrap_or_default();
        Self {
            limit_application_certificate: c.limit_application_certificate,
            specific_health_checkups: c.specific_health_checkups,
            pharmacists: c.pharmacists,
            diagnosis: c.diagnosis,
            operation: c.operation,
        }
    }

    pub(crate) fn to_wire(self) -> elig_pb::ConsentAnswers {
        elig_pb::ConsentAnswers {
            limit_application_certificate: self.limit_application_certificate,
            specific_health_checkups: self.specific_health_checkups,
            pharmacists: self.pharmacists,
            diagnosis: self.diagnosis,
            operation: self.operation,
        }
    }
}

/// The proxy's answer to a card check, kept as received for the terminal API. `Debug`
/// shows the check id and verdict only: the result carries names and birth dates.
#[derive(Clone, PartialEq)]
pub struct CheckAnswer(elig_pb::CheckResult);

impl std::fmt::Debug for CheckAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckAnswer")
            .field("check_id", &self.0.check_id)
            .field("verdict", &self.verdict())
            .finish_non_exhaustive()
    }
}

impl CheckAnswer {
    /// Returns an answer with no result body (for tests and fakes).
    pub fn new(check_id: &str, verdict: Verdict, validity_code: &str, copy_text: &str) -> Self {
        let validity = match validity_code {
            "1" => elig_pb::QualificationValidity::Valid,
            "2" => elig_pb::QualificationValidity::Invalid,
            "3" => elig_pb::QualificationValidity::InvalidNewerExists,
            "4" => elig_pb::QualificationValidity::NotFound,
            "5" => elig_pb::QualificationValidity::Multiple,
            "6" => elig_pb::QualificationValidity::ValidUnregistered,
            "" => elig_pb::QualificationValidity::Unspecified,
            _ => elig_pb::QualificationValidity::Other,
        };
        Self(elig_pb::CheckResult {
            check_id: check_id.to_owned(),
            verdict: verdict.to_wire().into(),
            validity: validity.into(),
            needs_staff_action: verdict == Verdict::NeedsStaffAction,
            copy_text: copy_text.to_owned(),
            ..Default::default()
        })
    }

    /// Returns the proxy's check id.
    pub fn check_id(&self) -> &str {
        &self.0.check_id
    }

    /// Returns the verdict.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_wire(self.0.verdict)
    }

    /// Returns the 資格有効性 code (`1`–`6`), the raw value for one this agent does not
    /// know, or empty.
    pub fn validity_code(&self) -> String {
        match elig_pb::QualificationValidity::try_from(self.0.validity) {
            Ok(elig_pb::QualificationValidity::Valid) => "1".into(),
            Ok(elig_pb::QualificationValidity::Invalid) => "2".into(),
            Ok(elig_pb::QualificationValidity::InvalidNewerExists) => "3".into(),
            Ok(elig_pb::QualificationValidity::NotFound) => "4".into(),
            Ok(elig_pb::QualificationValidity::Multiple) => "5".into(),
            Ok(elig_pb::QualificationValidity::ValidUnregistered) => "6".into(),
            Ok(
                elig_pb::QualificationValidity::Other | elig_pb::QualificationValidity::Unspecified,
            )
            | Err(_) => self
                .0
                .result
                .as_ref()
                .and_then(|r| r.qualification_validity.clone())
                .unwrap_or_default(),
        }
    }

    /// Returns the result in the app's copy format (TSV lines, CRLF), as the proxy rendered it.
    pub fn copy_text(&self) -> &str {
        &self.0.copy_text
    }

    /// Returns the proxy's processing message, always shown to staff.
    pub fn processing_result_message(&self) -> &str {
        &self.0.processing_result_message
    }

    pub(crate) fn to_wire(&self) -> elig_pb::CheckResult {
        self.0.clone()
    }

    pub(crate) fn from_wire(result: elig_pb::CheckResult) -> Self {
        Self(result)
    }
}

/// What `CompleteCardCheck` sends.
#[derive(Clone)]
pub struct CompleteCall {
    /// From the challenge.
    pub challenge_id: String,
    /// EF `000A`, DER.
    pub auth_certificate: Vec<u8>,
    /// PIN: the card's signature; visual: empty.
    pub signature: Vec<u8>,
    /// How the identity was confirmed.
    pub method: Method,
    /// Visual: who attested.
    pub attesting_staff: String,
    /// The patient's answers.
    pub consents: Consents,
}

impl std::fmt::Debug for CompleteCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompleteCall")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// Calls `EligibilityService.BeginCardCheck`.
pub(crate) async fn begin_card_check(channel: Channel) -> Result<Challenge, CallError> {
    let mut request = traced(elig_pb::BeginCardCheckRequest {});
    request.set_timeout(CHECK_TIMEOUT);
    let reply = EligibilityServiceClient::new(channel)
        .begin_card_check(request)
        .await?
        .into_inner();
    Ok(Challenge {
        id: reply.challenge_id,
        bytes: reply.challenge,
    })
}

/// Calls `EligibilityService.CompleteCardCheck`.
pub(crate) async fn complete_card_check(
    channel: Channel,
    call: CompleteCall,
) -> Result<CheckAnswer, CallError> {
    let method = match call.method {
        Method::Pin => elig_pb::IdentityMethod::Pin,
        Method::Visual => elig_pb::IdentityMethod::Visual,
    };
    let mut request = traced(elig_pb::CompleteCardCheckRequest {
        challenge_id: call.challenge_id,
        auth_certificate: call.auth_certificate,
        signature: call.signature,
        identity_method: method.into(),
        attesting_staff: call.attesting_staff,
        consents: Some(call.consents.to_wire()),
    });
    request.set_timeout(CHECK_TIMEOUT);
    let reply = EligibilityServiceClient::new(channel)
        .complete_card_check(request)
        .await?
        .into_inner();
    Ok(CheckAnswer(reply.check.unwrap_or_default()))
}
